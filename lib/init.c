/*
 * init.c - boot, kmm_init(), fork, kmm_check() and the exit-time dumps.
 *
 * BOOT
 *
 * The machine boots once, on the first call into the library (or an
 * explicit kmm_init()), layer by layer, bottom up, from the table
 * `layers[]`: configuration, physical memory and zones, then each upper
 * layer's init.  The first call may be a malloc() made by the dynamic
 * loader or by libc while the shim is starting, so boot allocates nothing
 * with malloc, reads KMM_CONF with secure_getenv() (which does not
 * allocate, and returns NULL in a secure-execution process: a setuid or
 * setcap program ignores KMM_CONF, as glibc ignores its tunables) and
 * reports with write(2).  Boot runs under boot_lock; a layer's init may call
 * back into the API (a slab cache allocating its first page): such nested
 * calls from the booting thread see the layers below already up and go on.
 * Other threads wait for boot to finish.
 *
 * FORK
 *
 * pthread_atfork() handlers take every allocator lock in the lock order of
 * internal.h before fork() and release them in the parent and the child, so
 * the child finds the allocator consistent and can allocate at once.
 *
 * CHECK
 *
 * kmm_check() runs every layer's invariant walker and adds up the problems.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <unistd.h>
#include "page_alloc.h"
#include "vmap.h"

struct kmm_machine machine = {
	.boot_lock = PTHREAD_MUTEX_INITIALIZER,
};

static pthread_t boot_owner;
static AO_t boot_in_progress;

struct layer {
	const char *name;
	int (*init)(void);
	int (*check)(void);
	void (*lock_all)(void);
	void (*unlock_all)(void);
	int lock_rank;                 /* its outermost lock in internal.h's order */
};

/*
 * Bottom up: init and check in this order.  Fork takes the locks by
 * lock_rank, not in table order: vmap_area_lock (#5) ranks above the page
 * allocator's locks (#6..#8) although vmalloc sits on top of it.
 */
static const struct layer layers[] = {
	{ "memory", memory_init, NULL, NULL, NULL, 0 },
	{ "page_alloc", page_alloc_init, page_alloc_check,
	  page_alloc_lock_all, page_alloc_unlock_all, 6 },
	{ "slab", slab_init, slab_check, slab_lock_all, slab_unlock_all, 2 },
	{ "kmalloc", kmalloc_init, NULL, NULL, NULL, 0 },
	{ "vmalloc", vmalloc_init, vmalloc_check,
	  vmalloc_lock_all, vmalloc_unlock_all, 5 },
	{ "highmem", highmem_init, NULL, highmem_lock_all, highmem_unlock_all, 5 },
};

#define MAX_LOCK_RANK 8

/*
 * fork() from a signal handler (tst-mallocfork2): the handler may have
 * interrupted this very thread inside the allocator, holding a lock that
 * the prepare handler would wait for forever.  As glibc does, a process
 * that has only ever had one thread takes no lock: no other thread can be
 * in the middle of a change, and the child gets the state as it is.  So
 * does one whose only other thread is libkmm's page-reporting worker, once
 * the worker is held off (kmm_reporting_quiesce).
 */
static bool fork_skipped_locks, fork_quiesced_worker;

static void fork_prepare(void)
{
	fork_quiesced_worker = false;
	fork_skipped_locks = __libc_single_threaded;
	if (!fork_skipped_locks && kmm_reporting_quiesce())
		fork_skipped_locks = fork_quiesced_worker = true;  /* ours is the other */
	if (fork_skipped_locks)
		return;
	for (int rank = 0; rank <= MAX_LOCK_RANK; rank++)
		for (size_t i = 0; i < ARRAY_SIZE(layers); i++)
			if (layers[i].lock_all && layers[i].lock_rank == rank)
				layers[i].lock_all();
}

static void fork_release(void);

static void fork_child(void)
{
	fork_release();
	kmm_publish_fork_child();
	kmm_reporting_fork_child();
}

static void fork_release(void)
{
	if (fork_skipped_locks) {
		if (fork_quiesced_worker)
			kmm_reporting_resume();
		return;
	}
	for (int rank = MAX_LOCK_RANK; rank >= 0; rank--)
		for (size_t i = ARRAY_SIZE(layers); i-- > 0;)
			if (layers[i].unlock_all && layers[i].lock_rank == rank)
				layers[i].unlock_all();
}


static void print_banner(void)
{
	const struct kmm_config *c = &machine.conf;
	char zones[256];
	size_t used = 0;
	zones[0] = '\0';
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &machine.node.node_zones[z];
		if (zone->spanned_pages && used < sizeof(zones))
			used += (size_t)snprintf(zones + used, sizeof(zones) - used, "%s%s %luM",
						 used ? ", " : "", zone->name,
						 zone->spanned_pages >> (20 - PAGE_SHIFT));
	}
	kmm_printk("libkmm %s: pid %d, mem=%luM (%s), phys=%s, %u CPUs%s\n",
		   KMM_VERSION, (int)getpid(), (machine.mem.max_pfn << PAGE_SHIFT) >> 20,
		   zones, c->phys_memfd ? "memfd" : "anon", nr_cpu_ids,
		   c->slub_debug[0] ? ", slub_debug on" : "");
}

/* Boot with `conf` (NULL: KMM_CONF).  boot_lock held. */
static void boot_locked(const char *conf)
{
	kmm_config_defaults(&machine.conf);
	if (!conf)
		conf = secure_getenv("KMM_CONF");   /* NULL in setuid programs */
	kmm_config_parse(&machine.conf, conf);
	nr_cpu_ids = kmm_detect_nr_cpus();
	kmm_cpu_detect();

	boot_owner = pthread_self();
	AO_store_release(&boot_in_progress, 1);
	for (size_t i = 0; i < ARRAY_SIZE(layers); i++) {
		int ret = layers[i].init();
		/* The page allocator is up only with its first section online. */
		if (!ret && layers[i].init == page_alloc_init && !machine.mem.online_pages)
			ret = -ENOMEM;
		if (ret) {
			kmm_printk("libkmm: boot: %s failed (%s); every allocation will "
				   "fail\n", layers[i].name, strerror(-ret));
			/* Nothing above the page allocator holds memory yet: give the
			 * reservations back.  A later failure leaves what is built in
			 * place (callers may hold pointers into it) but unused. */
			if (layers[i].init == memory_init || layers[i].init == page_alloc_init)
				memory_unreserve();
			AO_store_release(&machine.boot_failed, 1);
			break;
		}
	}
	/* A failed machine is never used again: nothing to lock at fork. */
	if (!AO_load(&machine.boot_failed))
		pthread_atfork(fork_prepare, fork_release, fork_child);
	AO_store_release(&boot_in_progress, 0);
	AO_store_release(&machine.booted, 1);
	if (machine.conf.verbose)
		print_banner();
	if (machine.conf.stats) {
		kmm_stats_prepare();
		atexit(kmm_stats_at_exit);
	}
}

void kmm_boot_slow(void)
{
	/* A nested call from the booting thread: the layers it needs are up. */
	if (AO_load_acquire(&boot_in_progress) && pthread_equal(boot_owner, pthread_self()))
		return;
	pthread_mutex_lock(&machine.boot_lock);
	if (!AO_load(&machine.booted))
		boot_locked(NULL);
	pthread_mutex_unlock(&machine.boot_lock);
}

KMM_EXPORT int kmm_init(const char *conf)
{
	int ret = 0;
	pthread_mutex_lock(&machine.boot_lock);
	if (AO_load(&machine.booted)) {
		ret = AO_load(&machine.boot_failed) ? -ENOMEM : -EBUSY;
	} else {
		/* Refuse a configuration with bad settings as a whole. */
		struct kmm_config trial;
		kmm_config_defaults(&trial);
		if (conf && kmm_config_parse(&trial, conf) > 0)
			ret = -EINVAL;
		else
			boot_locked(conf);
		if (!ret && AO_load(&machine.boot_failed))
			ret = -ENOMEM;
	}
	pthread_mutex_unlock(&machine.boot_lock);
	if (ret == 0)
		kmm_publish_start();    /* a normal context: it may start a thread */
	return ret;
}

KMM_EXPORT int kmm_check(void)
{
	int problems = 0;
	if (!kmm_ensure_up())
		return 0;               /* nothing was built: nothing to check */
	for (size_t i = 0; i < ARRAY_SIZE(layers); i++)
		if (layers[i].check)
			problems += layers[i].check();
	return problems;
}
