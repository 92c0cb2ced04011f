/*
 * internal.h - libkmm's private interfaces: the machine, its configuration,
 * locking and the calls one layer makes into the next.
 *
 * THE MACHINE
 *
 * All global state lives in one object, `machine`: the configuration, the
 * emulated physical memory (direct map, mem_map, sections), the node and its
 * zones, the per-CPU page lists, the slab caches and the vmalloc area.  Each
 * layer owns its part and reaches the others only through the kernel's
 * interfaces (alloc_pages, kmem_cache_alloc, ...) or the few calls below.
 *
 * LOCK ORDER (outermost first; a lock may be taken while holding any lock
 * above it, never one below it):
 *
 *   1. boot_lock            boot, once
 *   2. slab_mutex           the list of caches, cache create/destroy
 *   2a. CPU magazine pair   per cache and CPU: loaded/previous magazine
 *                           (owned by swapping in MAG_LOCKED, magazine.c)
 *   3. depot lock           per cache: full and empty magazines
 *   4. cache node lock      per cache: partial slabs
 *   5. vmap_purge_lock      one lazy purge at a time (lib/vmalloc.c)
 *      vmap_area_lock       vmalloc area tree, page tables, lazy purge;
 *                           the slab allocator is never called under it
 *      kmap_lock            pkmap slots, kmap counts (lib/highmem.c); a
 *                           leaf, never held with vmap_area_lock
 *   6. pcp lock             per zone and CPU: per-CPU page lists, and
 *                           the order-0 stacks' slow path; several are
 *                           taken in array order (drain, check, fork)
 *   7. hotplug_lock         bringing sections online
 *   8. zone->lock           per zone: free_area, counters
 *
 * No lock is held across a call that may print through stdio or call
 * malloc: dumps copy what they need, drop the locks, then print.
 * fork(): kmm_fork_prepare() takes every lock in this order, the parent and
 * child handlers release them (lib/init.c).
 */
#ifndef KMM_LIB_INTERNAL_H
#define KMM_LIB_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <atomic_ops.h>

#include <kmm/kmm.h>
#include "list.h"
#include "percpu.h"

/*
 * Every declaration below is of a symbol inside libkmm.so: hidden, so that
 * the code reaches variables PC-relative rather than through the GOT (the
 * definitions are hidden anyway, by -fvisibility=hidden).
 */
#pragma GCC visibility push(hidden)

#define KMM_EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define noinline __attribute__((noinline))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Counters written under a lock and read without it (watermark checks,
 * dumps, nr_free_pages()) are the races the design allows on purpose, as
 * the kernel's READ_ONCE/WRITE_ONCE: relaxed atomics, plain moves on x86,
 * and ThreadSanitizer knows them for what they are.
 */
#define KMM_STR_(x) #x
#define KMM_STR(x) KMM_STR_(x)        /* a macro's value as a string */

#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define ADD_ONCE(x, v) WRITE_ONCE(x, READ_ONCE(x) + (v))

/*
 * A function that reads state owned by someone else on purpose, such as
 * the buddy allocator looking at the struct page next door, which may be
 * in use.  Only bits that are written under the reader's lock decide
 * anything; the kernel marks the same reads with data_race().
 */
#if defined(__SANITIZE_THREAD__)
#define __data_racy __attribute__((no_sanitize_thread, __noinline__))
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define __data_racy __attribute__((no_sanitize("thread"), __noinline__))
#endif
#endif
#ifndef __data_racy
#define __data_racy
#endif
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define SZ_1M (1UL << 20)
#define SZ_1G (1UL << 30)

/* config_debug: --enable-debug turns on internal assertions. */
#ifdef KMM_DEBUG
static const bool config_debug = true;
#else
static const bool config_debug = false;
#endif

/* ------------------------------------------------------------------ */
/* Configuration (lib/config.c)                                        */

#define SECTION_SIZE_BITS 27                 /* 128 MiB, as on x86-64 */
#define PAGES_PER_SECTION (1UL << (SECTION_SIZE_BITS - PAGE_SHIFT))
#define MAX_ORDER_NR_PAGES (1UL << MAX_PAGE_ORDER)
#define KMM_MEM_MIN (16UL << 20)
#define KMM_MEM_MAX (1UL << 40)              /* 1 TiB */

struct kmm_config {
	unsigned long mem;             /* mem=: bytes of physical memory */
	unsigned long mem_default;     /* the host's RAM: mem= when not set */
	unsigned long lowmem;          /* lowmem=: HighMem above it; 0 = none */
	bool phys_memfd;               /* phys=memfd: coherent aliases */
	bool verbose;                  /* print a banner at boot */
	bool stats;                    /* print the dumps at exit */
	bool stats_publish;            /* stats.publish=1: kmmstat(1) can read */
	int stats_signal;              /* stats.signal=SIG: dump on the signal */
	bool reporting_worker;         /* page_reporting.worker=1: the worker
	                                  thread of lib/reporting.c */
	bool thp;                      /* thp=1: MADV_HUGEPAGE on the direct map */
	unsigned long release_reserve; /* page_reporting.reserve=: resident free
	                                  bytes kept per zone */
	unsigned long release_delay_ms;/* page_reporting.delay=: idle time before
	                                  free memory goes back to the host */
	char slub_debug[256];          /* slub_debug=, parsed by the slab layer */
	unsigned long slab_rseq;       /* slab_rseq=: 1 rseq magazines (default),
	                                  0 per-CPU lock fallback, 2 emulated
	                                  rseq for single-threaded instruction
	                                  counting under valgrind */
	bool init_on_alloc;            /* init_on_alloc=1: zero every allocation */
	bool init_on_free;             /* init_on_free=1: zero memory when freed */
	bool slab_freelist_hardened;   /* slab_freelist_hardened=1: obfuscated
	                                  free pointers (CONFIG_SLAB_FREELIST_HARDENED) */
	bool slab_freelist_random;     /* slab_freelist_random=1: new slabs in
	                                  random order (CONFIG_SLAB_FREELIST_RANDOM) */
	bool shuffle;                  /* page_alloc.shuffle=1: random free lists */
	struct fault_config {          /* fail_page_alloc=, failslab= */
		char spec[64];         /* kernel form: interval,probability,space,times */
		unsigned long probability; /* percent of calls that fail */
		unsigned long interval;    /* only every interval-th call may fail */
		unsigned long space;       /* bytes let through before failing */
		unsigned long min_order;   /* fail_page_alloc: lower orders pass */
		long times;                /* failures in all; -1: no limit */
		bool ignore_gfp_wait;      /* calls that may sleep pass (default) */
		bool ignore_gfp_highmem;   /* fail_page_alloc: __GFP_HIGHMEM passes */
	} fail_page_alloc, failslab;
	char failslab_caches[256];     /* failslab.caches=: only these caches */
	int nr_errors;                 /* settings reported and ignored */
};

/*
 * Parse a KMM_CONF-style string into conf.  Unknown or malformed settings
 * are reported on stderr (each once) and skipped; the return value is the
 * number of such settings.  Never allocates.
 */
int kmm_config_parse(struct kmm_config *conf, const char *text);
void kmm_config_defaults(struct kmm_config *conf);
/* Parse "64M", "2G", "4096" into bytes; false when malformed. */
bool kmm_parse_size(const char *s, size_t len, unsigned long *out);

/* ------------------------------------------------------------------ */
/* Fault injection (lib/fault_inject.c), as the kernel's fault_attr        */

struct fault_attr {
	bool enabled;
	bool ignore_gfp_reclaim, ignore_gfp_highmem;  /* ignore-gfp-wait, -highmem */
	unsigned long probability, interval, min_order;
	AO_t calls;                    /* calls seen, for interval */
	AO_t space_left;               /* bytes still let through */
	AO_t times_left;               /* failures left (ignored if unlimited) */
	bool unlimited;
	AO_t failures;                 /* failures injected so far */
	AO_t rng;                      /* random state */
};

void fault_attr_init(struct fault_attr *attr, const struct fault_config *conf);
/* True when this call should fail; `size` is bytes asked for. */
bool should_fail(struct fault_attr *attr, unsigned long size);
/* The kernel's should_fail_alloc_page() and __should_failslab() (less the
 * cache filter): the gfp and order rules, then should_fail(). */
bool should_fail_alloc_page(gfp_t gfp, unsigned int order);
bool should_failslab(gfp_t gfp, unsigned long size);
/* A random number from an atomic state (splitmix64); thread-safe. */
unsigned long kmm_random(AO_t *state);

/* ------------------------------------------------------------------ */
/* Messages (lib/printk.c): formatted into a stack buffer, then write(2). */

void kmm_printk(const char *fmt, ...) __printf(1, 2);
void kmm_vprintk(const char *fmt, va_list ap);
/* Format GFP flags the way the kernel's %pGg does: "GFP_KERNEL|__GFP_ZERO". */
void kmm_format_gfp(char *buf, size_t size, gfp_t gfp);

struct ratelimit_state {
	AO_t lock;
	long interval_ns, burst;
	long begin_ns, printed, missed;
};
#define RATELIMIT_STATE_INIT(interval_s, burst_n) \
	{ 0, (interval_s) * 1000000000L, (burst_n), 0, 0, 0 }
bool kmm_ratelimit(struct ratelimit_state *rs);
/* Read a small file (/proc) into buf, NUL-terminated, with system calls
 * only (no malloc, safe in a signal handler); bytes read, or -1. */
ssize_t kmm_read_file(const char *path, char *buf, size_t size);
long kmm_now_ns(void);

/* ------------------------------------------------------------------ */
/* Spinlocks for short per-CPU critical sections.                      */

typedef struct { AO_TS_t locked; } kmm_spinlock_t;
#define KMM_SPINLOCK_INIT { AO_TS_INITIALIZER }
void kmm_spin_lock_slow(kmm_spinlock_t *lock);
/* Bounded spinning: aborts with a report after 10 s of waiting (see
 * printk.c); *since starts at 0. */
void kmm_spin_wait_check(long *since, const char *what);

static inline void kmm_spin_lock(kmm_spinlock_t *lock)
{
	if (unlikely(AO_test_and_set_acquire(&lock->locked) == AO_TS_SET))
		kmm_spin_lock_slow(lock);
}

static inline bool kmm_spin_trylock(kmm_spinlock_t *lock)
{
	return AO_test_and_set_acquire(&lock->locked) == AO_TS_CLEAR;
}

static inline void kmm_spin_unlock(kmm_spinlock_t *lock)
{
	AO_CLEAR(&lock->locked);
}

/* ------------------------------------------------------------------ */
/* Emulated physical memory (lib/memory.c)                            */

struct phys_memory {
	char *direct_map;              /* base of the frames, 1 GiB aligned
	                                  (4 MiB under a tight RLIMIT_AS) */
	struct page *mem_map;          /* one struct page per PFN */
	unsigned long mem_map_bytes;   /* its size: max_pfn struct pages */
	unsigned long max_pfn;         /* frames in all: mem= / PAGE_SIZE */
	unsigned long lowmem_pfn;      /* first HighMem frame, or max_pfn */
	unsigned long nr_sections;
	unsigned char *section_online; /* per section: 1 once online */
	unsigned char *pageblock_mt;   /* per pageblock: its migratetype */
	unsigned long online_pages;    /* frames of online sections */
	int memfd;                     /* phys=memfd backing, else -1 */
	pthread_mutex_t hotplug_lock;
	/* The vmalloc area's reservation, made here with the others (so that
	 * every reservation that can fail is made before anything is built);
	 * lib/vmalloc.c owns it and makes it writable as it is used. */
	char *vmalloc_base;
	unsigned long vmalloc_size;
	AO_t vmalloc_writable;         /* bytes of it made writable (anon) */
	unsigned long reserved_bytes;  /* address space of every reservation */
};

int memory_init(void);
/* Unmap every reservation: a boot that failed before anything used them. */
void memory_unreserve(void);
/* Make [addr, addr + len) of a read-only reservation writable, if the
 * process's limits allow it (RLIMIT_AS as if the reservation were not
 * there, RLIMIT_DATA, the overcommit policy); 0 or -ENOMEM. */
int memory_commit(void *addr, unsigned long len);
/* Bring the next offline section of the zone online; false when none is. */
bool memory_online_section(struct zone *zone);
bool memory_zone_has_offline(const struct zone *zone);
/* Give a free block back to the host; it will read as zeroes. */
void memory_release_range(unsigned long pfn, unsigned long nr_pages);
/* The direct-map address of a frame, HighMem included (for kmap). */
static inline void *pfn_to_kaddr_raw(unsigned long pfn);
bool kmm_is_direct_map_addr(const void *addr);

/* ------------------------------------------------------------------ */
/* Page allocator (lib/buddy.c, lib/pcp.c, lib/page_alloc.c)           */

#define NR_PCP_ORDERS (PAGE_ALLOC_COSTLY_ORDER + 1)

/*
 * One CPU's stack of free order-0 frames of one zone and migrate type: the
 * page allocator's rseq fast path (pcp.c).  Its height is pushes - pops;
 * slots[0 .. height) hold the frames, the newest on top.  Both counters
 * only grow, so each fast-path operation commits with one increment.
 * The assembly of page_alloc.h relies on the layout: pushes at 0, pops at
 * 8, slots at 16, 256 bytes, and stacks[mt] at mt * 256 in the CPU's
 * per_cpu_pages, its lock at 768.
 */
#define PCP_STACK_SLOTS 30

struct pcp_stack {
	unsigned long pushes;          /* frames ever put on the stack */
	unsigned long pops;            /* frames ever taken off it */
	struct page *slots[PCP_STACK_SLOTS];
};

struct per_cpu_pages {
	struct pcp_stack stacks[MIGRATE_PCPTYPES]; /* at 0: the fast path's */
	kmm_spinlock_t lock;           /* at 768; the fast path misses while
	                                  it is held */
	int count;                     /* frames on the lists (not the stacks) */
	int high;                      /* drain down to this - batch when above */
	int batch;                     /* frames moved to/from the buddy at once */
	unsigned long stat_free;       /* frames freed by the locked paths */
	unsigned long stat_refill;     /* frames moved here from the buddy */
	unsigned long stat_drain;      /* frames moved back to the buddy */
	unsigned long stack_in;        /* frames the lock holder pushed on stacks */
	unsigned long stack_out;       /* frames the lock holder took off them */
	struct list_head lists[NR_PCP_ORDERS][MIGRATE_PCPTYPES];
} __attribute__((aligned(1024)));

#define PCP_SIZE_SHIFT 10              /* sizeof(struct per_cpu_pages) */
#define PCP_LOCK_OFFSET 768            /* offsetof(struct per_cpu_pages, lock) */
#define PCP_STACK_OFFSET(mt) ((unsigned long)(unsigned int)(mt) << 8)
_Static_assert(sizeof(struct per_cpu_pages) == 1UL << PCP_SIZE_SHIFT,
	       "the page fast path indexes per-CPU lists by shifting");
_Static_assert(offsetof(struct per_cpu_pages, lock) == PCP_LOCK_OFFSET &&
	       sizeof(struct pcp_stack) == 256 && offsetof(struct pcp_stack, slots) == 16,
	       "the page fast path addresses stacks[mt] as mt << 8");

#define GFP_ZONEMASK (__GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32)

struct page_alloc_state {
	struct per_cpu_pages *zone_pcps[MAX_NR_ZONES + 1]; /* by a page's zone
	                                  bits (zone + 1): the zone's CPU array */
	struct zone *preferred_zone[GFP_ZONEMASK + 1]; /* first populated zone
	                                  of the zonelist, by gfp zone bits */
	struct per_cpu_pages *pcp;     /* [zone * nr_cpu_ids + cpu] */
	struct fault_attr fail_page_alloc;
	AO_t shuffle_rng;              /* page_alloc.shuffle random state */
	bool hardened;                 /* a setting that needs the slow paths */
	AO_t alloc_fail_count;         /* allocations that returned NULL */
	AO_t bad_page_count;           /* frees refused as bad page state */
	struct ratelimit_state warn_ratelimit;
	/* Reclaim: called by the slow path before it fails, so that frames
	 * an upper layer holds for reuse (vmalloc's warm lazy areas) come
	 * back; returns the frames freed.  Set once at boot by that layer, as
	 * the kernel registers a shrinker; must not block (trylocks only). */
	unsigned long (*reclaim)(void);
};

/* Global counters of the upper layers, for meminfo and vmstat (frames). */
enum kmm_stat_item {
	NR_SLAB_RECLAIMABLE,           /* frames in SLAB_RECLAIM_ACCOUNT slabs */
	NR_SLAB_UNRECLAIMABLE,         /* frames in other slabs */
	NR_KMALLOC_LARGE,              /* frames of kmalloc_large() */
	NR_VMALLOC,                    /* frames mapped by vmalloc() */
	NR_VMALLOC_PAGETABLE,          /* frames of vmalloc page tables */
	NR_KMM_STAT_ITEMS
};
static inline void kmm_stat_add(enum kmm_stat_item item, long delta);

int page_alloc_init(void);
/* Add a range of new frames to their zone's free lists (hot-add). */
void page_alloc_add_range(struct zone *zone, unsigned long start_pfn,
			  unsigned long nr_pages);
int page_alloc_check(void);
void page_alloc_lock_all(void);
void page_alloc_unlock_all(void);
/* Give resident free memory back to the host now; bytes released. */
unsigned long page_alloc_release_all(void);
int gfp_migratetype(gfp_t gfp);

/* As the kernel's gfp_migratetype(): __GFP_MOVABLE is 1 << 3, RECLAIMABLE
 * 1 << 4; both at once (invalid) counts as movable. */
static inline int gfp_migratetype_fast(gfp_t gfp)
{
	int mt = (int)((gfp & (__GFP_MOVABLE | __GFP_RECLAIMABLE)) >> 3);
	return mt == 3 ? MIGRATE_MOVABLE : mt;
}

static inline struct per_cpu_pages *zone_pcp(const struct zone *zone,
					     unsigned int cpu);

/* ------------------------------------------------------------------ */
/* The machine                                                        */

struct kmm_machine {
	AO_t booted;                   /* 1 once boot has completed */
	AO_t boot_failed;              /* 1 when it could not get memory: every
	                                  allocation returns NULL */
	pthread_mutex_t boot_lock;
	struct kmm_config conf;
	struct phys_memory mem;
	pg_data_t node;
	struct page_alloc_state pa;
	struct slab_harden_state {     /* lib/slab_harden.c */
		struct fault_attr failslab;
		AO_t rng;              /* secrets and slot orders */
		AO_t freechain_corrupt;/* corrupted free pointers found */
		AO_t double_free;      /* double frees refused */
	} slab;
	AO_t stat[NR_KMM_STAT_ITEMS];
};

extern struct kmm_machine machine;

static inline void kmm_stat_add(enum kmm_stat_item item, long delta)
{
	AO_fetch_and_add(&machine.stat[item], (AO_t)delta);
}

void kmm_boot_slow(void);

/* lib/publish.c */
void kmm_stats_prepare(void);
void kmm_stats_at_exit(void);
void kmm_publish_start(void);
void kmm_publish_fork_child(void);
/* lib/reporting.c */
void kmm_reporting_fork_child(void);
bool kmm_reporting_quiesce(void);
void kmm_reporting_resume(void);

/* Boot on first use; cheap once booted (one load and a branch). */
static inline void kmm_ensure_booted(void)
{
	if (unlikely(AO_load_acquire(&machine.booted) == 0))
		kmm_boot_slow();
}

/* Boot on first use, and tell whether the machine is usable: false after a
 * boot that could not get memory (the caller returns NULL or does
 * nothing).  For slow paths only. */
static inline bool kmm_ensure_up(void)
{
	kmm_ensure_booted();
	return likely(!AO_load(&machine.boot_failed));
}

/* ------------------------------------------------------------------ */
/* Inline conversions (the hot ones)                                  */

static inline unsigned long pfn_of(const struct page *page)
{
	return (unsigned long)(page - machine.mem.mem_map);
}

static inline struct page *page_of(unsigned long pfn)
{
	return machine.mem.mem_map + pfn;
}

static inline void *pfn_to_kaddr_raw(unsigned long pfn)
{
	return machine.mem.direct_map + (pfn << PAGE_SHIFT);
}

static inline bool addr_in_direct_map(const void *addr)
{
	unsigned long off = (unsigned long)((const char *)addr - machine.mem.direct_map);
	return machine.mem.direct_map != NULL &&
	       off < (machine.mem.lowmem_pfn << PAGE_SHIFT);
}

static inline struct per_cpu_pages *zone_pcp(const struct zone *zone,
					     unsigned int cpu)
{
	return (struct per_cpu_pages *)zone->per_cpu_pageset + cpu;
}

static inline enum zone_type pfn_zonenum(unsigned long pfn)
{
	pg_data_t *node = &machine.node;
	if (pfn >= machine.mem.lowmem_pfn)
		return ZONE_HIGHMEM;
	if (pfn >= node->node_zones[ZONE_NORMAL].zone_start_pfn &&
	    node->node_zones[ZONE_NORMAL].spanned_pages)
		return ZONE_NORMAL;
	if (pfn >= node->node_zones[ZONE_DMA32].zone_start_pfn)
		return ZONE_DMA32;
	return ZONE_DMA;
}

static inline void page_set_flag(struct page *page, int flag)
{
	page->flags |= 1UL << flag;
}

static inline void page_clear_flag(struct page *page, int flag)
{
	page->flags &= ~(1UL << flag);
}

static inline bool page_test_flag(const struct page *page, int flag)
{
	return (page->flags >> flag) & 1;
}

static inline unsigned int page_head_order(const struct page *page)
{
	return (unsigned int)((page->flags & PAGE_ORDER_MASK) >> PAGE_ORDER_SHIFT);
}

static inline void page_set_head_order(struct page *page, unsigned int order)
{
	page->flags = (page->flags & ~PAGE_ORDER_MASK) |
		      ((unsigned long)order << PAGE_ORDER_SHIFT);
}

static inline int pageblock_migratetype(unsigned long pfn)
{
	return machine.mem.pageblock_mt[pfn >> pageblock_order];
}

/* ------------------------------------------------------------------ */
/* Boot, fork and check hooks of the upper layers                      */

/* Each returns 0 or a negative errno; called once, in layer order. */
int slab_init(void);
int kmalloc_init(void);
int vmalloc_init(void);
/* Invariant walkers: the number of problems found. */
int slab_check(void);
int vmalloc_check(void);
void slab_lock_all(void);
void slab_unlock_all(void);
void vmalloc_lock_all(void);
void vmalloc_unlock_all(void);

#pragma GCC visibility pop

#endif /* KMM_LIB_INTERNAL_H */
