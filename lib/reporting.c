/*
 * reporting.c - giving free memory back to the host when the program has
 * stopped freeing: kmm_trim() on demand (malloc_trim) and the
 * page-reporting worker, the user-space analogue of the kernel's free page
 * reporting thread.
 *
 * WHY A THREAD
 *
 * Every release policy below this layer runs on the paths that free
 * memory: the buddy allocator's dirty blocks go back after
 * page_reporting.delay when a later free ticks it (buddy.c), and vmalloc's
 * warm lazy ranges decay on the next vfree (vmalloc.c).  A program that
 * frees half a gigabyte and then sleeps, or waits for input, frees nothing
 * more, and the memory would stay resident until it exits.  The worker
 * wakes every page_reporting.delay (1 s) and, when the program has been
 * idle for a whole period (no page was allocated - the zones' allocation
 * counts did not move - and its threads used under 2 % of a CPU: it
 * sleeps or waits), does what those paths would have done, and again
 * after 2, 4 ... 64 idle periods (object frees move no page counter, so a
 * program still freeing after the first trim is caught by a later one): it drains
 * the per-CPU page lists, shrinks the slab caches (their empty slabs and
 * idle magazines go back to the page allocator), gives every lazy vmalloc
 * range back, and releases the free blocks of pageblock order and up.  A
 * busy program is left alone: its free memory is about to be reused, and
 * the paths above release what sits unused.
 *
 * WHO RUNS IT
 *
 * Off in a program linked with libkmm (page_reporting.worker=1 starts it,
 * or kmm_start_page_reporting()); the malloc shim starts it from its
 * constructor (malloc.reporting=0 stops that), never from inside a malloc
 * that boots the library, where creating a thread could recurse.  A forked
 * child has no worker.  Cost: a wake-up and a few loads per period while
 * the program allocates; the drain and shrink only after an idle period.
 *
 * LOCKING: none of its own; it calls the layers' entry points, which lock.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"
#include "slab.h"

static AO_t worker_started;
/* Held by the worker while it trims; fork() takes it to know that the
 * worker holds no allocator lock (kmm_reporting_quiesce). */
static pthread_mutex_t worker_lock = PTHREAD_MUTEX_INITIALIZER;

KMM_EXPORT unsigned long kmm_trim(void)
{
	if (!kmm_ensure_up())
		return 0;
	slab_shrink_all();
	vm_unmap_aliases();
	return page_alloc_release_all();        /* drains the per-CPU lists */
}

/* CPU time of the program's threads, the worker's own left out: a
 * program that runs at all is not idle, whether it allocates or not. */
static long program_cpu_ns(void)
{
	struct timespec all, self;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &all) != 0 ||
	    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &self) != 0)
		return 0;
	return (all.tv_sec - self.tv_sec) * 1000000000L + (all.tv_nsec - self.tv_nsec);
}

/* Pages allocated so far, in every zone: the worker's sign of activity. */
static unsigned long allocations(void)
{
	unsigned long n = 0;
	for (int z = 0; z < MAX_NR_ZONES; z++)
		n += READ_ONCE(machine.node.node_zones[z].stat_alloc);
	return n;
}

static void *worker_main(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);        /* signals are the program's */
	unsigned long seen = allocations(), wait = 1, idle = 0;
	long cpu = program_cpu_ns();
	for (;;) {
		unsigned long ms = machine.conf.release_delay_ms ? machine.conf.release_delay_ms : 1000;
		struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		unsigned long now = allocations();
		long cpu_now = program_cpu_ns();
		bool ran = cpu_now - cpu > (long)ms * 1000000L / 50;   /* 2 % of a CPU */
		cpu = cpu_now;
		if (now != seen || ran) {
			seen = now;             /* busy: the free paths release */
			wait = 1;
			idle = 0;
			continue;
		}
		/* Idle: trim after one period, then after 2, 4 ... 64 more
		 * (frees of objects move no page counter: a program still
		 * freeing after the first trim is caught by the next). */
		if (++idle < wait)
			continue;
		pthread_mutex_lock(&worker_lock);
		kmm_trim();
		pthread_mutex_unlock(&worker_lock);
		seen = allocations();           /* the trim's own allocations */
		idle = 0;
		if (wait < 64)
			wait *= 2;
	}
	return NULL;
}

KMM_EXPORT int kmm_start_page_reporting(void)
{
	if (!kmm_ensure_up())
		return -ENOMEM;
	if (AO_fetch_compare_and_swap(&worker_started, 0, 1) != 0)
		return 0;
	pthread_t t;
	if (pthread_create(&t, NULL, worker_main, NULL) != 0) {
		AO_store(&worker_started, 0);
		kmm_printk("libkmm: cannot start the page-reporting worker\n");
		return -EAGAIN;
	}
	pthread_detach(t);
	return 0;
}

/* The number of threads of the process, from /proc/self/status (read
 * with system calls only: this may run in a signal handler); 0 unknown. */
static long thread_count(void)
{
	char buf[2048];
	if (kmm_read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return 0;
	const char *t = strstr(buf, "\nThreads:");
	return t ? strtol(t + 9, NULL, 10) : 0;
}

/*
 * fork(): is the worker the process's only other thread, and idle?  Then
 * the forking thread may skip the allocator's locks as a single-threaded
 * process does (init.c): nobody else can be in the middle of a change.
 * On true the worker is held off until kmm_reporting_resume().  It waits
 * at most a second for a trim in progress (which may itself wait for a
 * lock that a signal handler's interrupted frame holds).
 */
bool kmm_reporting_quiesce(void)
{
	if (!AO_load(&worker_started) || thread_count() != 2)
		return false;
	for (int i = 0; i < 1000; i++) {
		if (pthread_mutex_trylock(&worker_lock) == 0)
			return true;
		struct timespec ms = { 0, 1000000L };
		nanosleep(&ms, NULL);
	}
	return false;
}

void kmm_reporting_resume(void)
{
	pthread_mutex_unlock(&worker_lock);
}

/* A forked child has no worker: it may start its own. */
void kmm_reporting_fork_child(void)
{
	AO_store(&worker_started, 0);
}
