/*
 * publish.c - the allocator's state for someone outside the process:
 * kmm_show_stats(), the statistics at exit, a signal that dumps them, and
 * the shared-memory page that the kmmstat(1) tool reads.
 *
 * WHAT IS SHOWN
 *
 * kmm_show_stats() prints every dump - buddyinfo, slabinfo, vmallocinfo,
 * meminfo, vmstat - each under a "--- /proc/NAME" line.  KMM_CONF=stats
 * prints it to stderr at exit; malloc_stats() of the shim prints it too.
 *
 * LIVE VIEW (stats.publish=1, stats.signal=SIG)
 *
 * Nothing here runs unless asked for.  When either setting is given, a
 * reporter thread is started (from the library's constructor, or at the
 * end of kmm_init(): never from inside a malloc() that boots the library,
 * where creating a thread could recurse).  It sleeps on a futex in a small
 * header:
 *
 *   struct kmm_stats_page {  magic, version, pid,
 *                            request   (bumped by a reader or the signal),
 *                            done      (set to request once answered),
 *                            to_stderr (requests that want stderr),
 *                            len, text[] }
 *
 * With stats.publish=1 the header lives in a POSIX shared-memory object,
 * /dev/shm/kmm-stats.PID, created exclusively (O_EXCL; never a file that
 * someone else made), mode 0600, its blocks allocated at creation (a full
 * /dev/shm is an error at start, never a SIGBUS later), removed at exit,
 * and, when a process was killed before that, by the next one to start;
 * the text of the dumps is written after it; kmmstat PID bumps `request`, wakes the futex
 * and waits for `done`.  With stats.signal=SIG the signal handler does the
 * same on the header (only async-signal-safe operations: an atomic add
 * and a futex wake), and the thread prints the dumps to stderr.  The thread
 * takes the allocator's locks like any other caller.
 */
#include "config.h"
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "internal.h"

#define KMM_STATS_MAGIC 0x6b6d6d73u            /* "kmms" */
#define KMM_STATS_VERSION 1
#define KMM_STATS_SIZE (4UL << 20)

struct kmm_stats_page {
	unsigned int magic, version;
	int pid;
	unsigned int request;          /* futex word: bumped to ask */
	unsigned int done;             /* futex word: set to request when done */
	unsigned int to_stderr;        /* requests that print to stderr */
	unsigned long len;             /* bytes of text */
	char text[];
};

static struct kmm_stats_page *stats_page;
static size_t stats_page_size;
static char stats_path[64];
static pthread_t reporter;
static AO_t reporter_started;

KMM_EXPORT void kmm_show_stats(FILE *f)
{
	static const struct { const char *name; void (*show)(FILE *); } dumps[] = {
		{ "buddyinfo", kmm_show_buddyinfo },
		{ "slabinfo", kmm_show_slabinfo },
		{ "vmallocinfo", kmm_show_vmallocinfo },
		{ "meminfo", kmm_show_meminfo },
		{ "vmstat", kmm_show_vmstat },
	};
	for (size_t i = 0; i < ARRAY_SIZE(dumps); i++) {
		fprintf(f, "--- /proc/%s\n", dumps[i].name);
		dumps[i].show(f);
	}
	fflush(f);
}

/*
 * The dumps at exit go to a copy of stderr taken at boot: many programs
 * (coreutils among them) close stderr in their own exit handlers, which run
 * before ours.
 */
static int stats_fd = -1;

void kmm_stats_prepare(void)
{
	stats_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
}

static void stats_print(FILE *f)
{
	fprintf(f, "--- libkmm statistics (pid %d)\n", (int)getpid());
	kmm_show_stats(f);
}

void kmm_stats_at_exit(void)
{
	fflush(stdout);
	FILE *f = stats_fd >= 0 ? fdopen(stats_fd, "w") : NULL;
	if (f) {
		stats_print(f);
		fclose(f);
		stats_fd = -1;
	} else {
		stats_print(stderr);
	}
}

static long futex(unsigned int *word, int op, unsigned int val, const struct timespec *t)
{
	return syscall(SYS_futex, word, op, val, t, NULL, 0);
}

static void answer(struct kmm_stats_page *page, unsigned int seq, bool to_stderr)
{
	if (to_stderr)
		stats_print(stderr);
	if (stats_path[0]) {
		size_t room = stats_page_size - sizeof(*page);
		FILE *f = fmemopen(page->text, room, "w");
		if (f) {
			setvbuf(f, NULL, _IONBF, 0);
			fprintf(f, "--- libkmm statistics (pid %d)\n", (int)getpid());
			kmm_show_stats(f);
			long n = ftell(f);
			fclose(f);
			WRITE_ONCE(page->len, n < 0 ? 0 : (unsigned long)n);
		}
	}
	__atomic_store_n(&page->done, seq, __ATOMIC_RELEASE);
	futex(&page->done, FUTEX_WAKE, INT32_MAX, NULL);
}

static void *reporter_main(void *arg)
{
	struct kmm_stats_page *page = arg;
	unsigned int stderr_seen = 0;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);    /* the signal is for others */
	for (;;) {
		unsigned int req = __atomic_load_n(&page->request, __ATOMIC_ACQUIRE);
		if (req == READ_ONCE(page->done)) {
			futex(&page->request, FUTEX_WAIT, req, NULL);
			continue;
		}
		unsigned int err = __atomic_load_n(&page->to_stderr, __ATOMIC_ACQUIRE);
		answer(page, req, err != stderr_seen);
		stderr_seen = err;
	}
	return NULL;
}

static void stats_signal_handler(int sig)
{
	(void)sig;
	if (!stats_page)
		return;
	int saved = errno;
	__atomic_fetch_add(&stats_page->to_stderr, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&stats_page->request, 1, __ATOMIC_RELEASE);
	futex(&stats_page->request, FUTEX_WAKE, 1, NULL);
	errno = saved;
}

static void stats_unlink(void)
{
	if (stats_path[0] && stats_page && stats_page->pid == getpid())
		shm_unlink(stats_path + strlen("/dev/shm"));
}

/*
 * The shared page, created exclusively: never a file someone else made
 * (another user could read the heap's layout through it, truncate it under
 * us to kill us with SIGBUS, or keep it).  A leftover with our PID that is
 * ours (a process that died without its exit handlers) is removed first;
 * anything else is refused.  Its blocks are allocated up front, so that a
 * full /dev/shm fails here, not with SIGBUS at the first write.
 */
static void *stats_shm_create(const char *name, size_t size)
{
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		struct stat st;
		int old = shm_open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
		bool ours = old >= 0 && fstat(old, &st) == 0 && S_ISREG(st.st_mode) &&
			    st.st_uid == geteuid();
		if (old >= 0)
			close(old);
		if (!ours) {
			kmm_printk("libkmm: stats.publish: /dev/shm%s exists and is not ours; "
				   "not published\n", name);
			return MAP_FAILED;
		}
		shm_unlink(name);
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		kmm_printk("libkmm: stats.publish: cannot create /dev/shm%s (%s)\n", name,
			   strerror(errno));
		return MAP_FAILED;
	}
	void *mem = MAP_FAILED;
	int err = fchmod(fd, 0600) == 0 ? posix_fallocate(fd, 0, (off_t)size) : errno;
	if (err == 0)
		mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	else
		errno = err;
	if (mem == MAP_FAILED) {
		kmm_printk("libkmm: stats.publish: cannot create /dev/shm%s (%s)\n", name,
			   strerror(errno));
		shm_unlink(name);
	}
	close(fd);
	return mem;
}

/* Pages of ours left by processes that are gone (killed before their
 * exit handlers ran): removed when the next one starts. */
static void remove_stale_pages(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		int pid;
		char tail;
		struct stat st;
		if (sscanf(e->d_name, "kmm-stats.%d%c", &pid, &tail) != 1 || pid <= 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (kill(pid, 0) != 0 && errno == ESRCH)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* Start the reporter if a setting asks for it.  Only from a context that
 * may create threads: the constructor or kmm_init(). */
void kmm_publish_start(void)
{
	const struct kmm_config *c = &machine.conf;
	if (c->reporting_worker)
		kmm_start_page_reporting();
	if (!c->stats_publish && !c->stats_signal)
		return;
	if (AO_fetch_compare_and_swap(&reporter_started, 0, 1) != 0)
		return;
	void *mem = MAP_FAILED;
	size_t size = c->stats_publish ? KMM_STATS_SIZE : sizeof(struct kmm_stats_page);
	if (c->stats_publish) {
		snprintf(stats_path, sizeof(stats_path), "/dev/shm/kmm-stats.%d", (int)getpid());
		remove_stale_pages();
		mem = stats_shm_create(stats_path + strlen("/dev/shm"), size);
		if (mem == MAP_FAILED)
			stats_path[0] = '\0';
	}
	if (mem == MAP_FAILED) {
		size = sizeof(struct kmm_stats_page);
		mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return;
	}
	stats_page = mem;
	stats_page_size = size;
	stats_page->magic = KMM_STATS_MAGIC;
	stats_page->version = KMM_STATS_VERSION;
	stats_page->pid = (int)getpid();
	if (pthread_create(&reporter, NULL, reporter_main, stats_page) != 0) {
		kmm_printk("libkmm: cannot start the statistics reporter\n");
		return;
	}
	pthread_detach(reporter);
	if (stats_path[0])
		atexit(stats_unlink);
	if (c->stats_signal) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = stats_signal_handler;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(c->stats_signal, &sa, NULL);
	}
}

/* A forked child has no reporter thread: it may start its own. */
void kmm_publish_fork_child(void)
{
	AO_store(&reporter_started, 0);
	stats_page = NULL;
	stats_path[0] = '\0';
}

/*
 * One allocator per process: a program linked with -lkmm and started under
 * kmm-run loads libkmm.so beside libkmm-malloc.so, which exports the same
 * API and, preloaded, comes first in the lookup order, so the program's
 * calls all reach the shim's instance.  This module's copy is then idle,
 * and its constructor must not boot it.  Shadowed: the first kmm_init in
 * the global scope is not this module's.
 */
static bool instance_shadowed(void)
{
	Dl_info self, first;
	void *sym = dlsym(RTLD_DEFAULT, "kmm_init");
	return sym && dladdr((void *)instance_shadowed, &self) && dladdr(sym, &first) &&
	       self.dli_fbase != first.dli_fbase;
}

/* After the C library is up, boot (reading KMM_CONF) if a live view is
 * asked for, and start it. */
__attribute__((constructor)) static void kmm_publish_ctor(void)
{
	const char *env = secure_getenv("KMM_CONF");
	if (!env || (!strstr(env, "stats.publish") && !strstr(env, "stats.signal") &&
		     !strstr(env, "page_reporting.worker")))
		return;
	if (instance_shadowed())
		return;
	kmm_ensure_booted();
	kmm_publish_start();
}
