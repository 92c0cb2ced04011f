/*
 * slab.h - the slab allocator's parts as seen by each other: slab.c (caches,
 * slabs, partial lists), magazine.c (per-CPU magazines and the depot),
 * slub_debug.c (F Z P U) and kmalloc.c (size classes).
 *
 * GLOSSARY
 *
 *   kmem_cache   a pool of objects of one size; fields grouped by layer below.
 *   slab         a compound page whose head struct page is the descriptor:
 *                PG_slab, slab_cache, freelist, inuse, objects, slab_list.
 *   object       `size` bytes of a slab ("slot"); the caller's pointer is
 *                slot + red_left_pad and owns object_size bytes.
 *   free pointer the link of a slab's freelist, at object + offset.
 *   magazine     an array of up to `size` object pointers (Bonwick 2001).
 *   mag_cpu      a CPU's loaded and previous magazine for one cache.
 *   depot        a cache's stacks of full and of empty magazines.
 *
 * The fast paths (mag_alloc, mag_free) are inline here, so that kmalloc()
 * and kmem_cache_alloc() are one function each with no call on a hit.
 *
 * MISUSE (slab_harden.c reports it, kmalloc.c and slab.c sort it out):
 * a pointer outside the direct map, or in a page that is neither a slab
 * nor a large kmalloc block, is reported and never freed; a free into the
 * wrong cache is reported and goes to the right one; a naive double free
 * (the object freed last, or its slab's first free object) is refused.
 */
#ifndef KMM_LIB_SLAB_H
#define KMM_LIB_SLAB_H

#include <string.h>
#include "internal.h"

#pragma GCC visibility push(hidden)     /* as in internal.h */

/* Internal cache flags (kernel-unused bits). */
#define SLAB_NOMAG         0x80000000u  /* no magazines: boot and debug caches */
#define SLAB_BOOT          0x40000000u  /* static boot cache: keeps no empty slab */
#define SLAB_HOOKS         0x20000000u  /* slow-path hooks: init_on_alloc/free,
					   failslab, valgrind (slab_harden.c) */
#define SLAB_FREELIST_HARDENED 0x10000000u  /* obfuscated free pointers */
#define SLAB_FREELIST_RANDOM   0x08000000u  /* new slabs in random order */

/* kmem_cache.hooks: the work of a SLAB_HOOKS cache's slow path. */
#define SLAB_HOOK_INIT_ALLOC  0x1u      /* init_on_alloc=1: zero on allocation */
#define SLAB_HOOK_INIT_FREE   0x2u      /* init_on_free=1: zero on free */
#define SLAB_HOOK_FAILSLAB    0x4u      /* failslab= may fail its allocations */
#define SLAB_HOOK_VALGRIND    0x8u      /* memcheck client requests */
#define SLAB_HOOKS_ALLOC (SLAB_HOOK_INIT_ALLOC | SLAB_HOOK_FAILSLAB | SLAB_HOOK_VALGRIND)
#define SLAB_HOOKS_FREE  (SLAB_HOOK_INIT_FREE | SLAB_HOOK_VALGRIND)
#define SLAB_DEBUG_FLAGS   (SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | \
			    SLAB_POISON | SLAB_STORE_USER)

#define KMEM_CACHE_NAME_MAX 48
#define MAG_NR_SIZES 5                  /* magazine caches: 6 14 30 62 126 */

/*
 * The head page of a kmalloc_large() block, as the kernel's
 * PGTY_large_kmalloc page type (6.17): kfree() and ksize() trust a
 * non-slab page only with it.  A private bit above the public page flags,
 * set and cleared by kmalloc.c only.
 */
#define PG_large_kmalloc __NR_PAGEFLAGS
_Static_assert(PG_large_kmalloc < PAGE_ORDER_SHIFT, "PG_large_kmalloc overlaps the order");

struct magazine {
	unsigned int rounds;            /* objects held: objs[0 .. rounds) */
	unsigned int size;              /* capacity; 0 only for mag_none */
	struct magazine *next;          /* link on a depot stack */
	void *objs[];                   /* at offset 16: the asm relies on it */
};

/*
 * One CPU's magazines for one cache, one cache line.  `loaded` is what the
 * fast path pops from and pushes to; MAG_LOCKED (== &mag_none, a magazine
 * of capacity 0) while a slow path or a remote walker owns the pair, which
 * makes every fast path miss without a separate lock test.
 */
struct mag_cpu {
	struct magazine *loaded;        /* fast path; MAG_LOCKED when owned */
	struct magazine *prev;          /* owner only */
	struct magazine *held;          /* owner only: loaded while owned */
	unsigned long alloc_slow;       /* owner only: misses of alloc */
	unsigned long free_slow;        /* owner only: misses of free */
	unsigned long pad[3];
} __attribute__((aligned(64)));

extern struct magazine mag_none;       /* "no magazine": capacity 0 */
extern struct magazine mag_locked;     /* the owned mark: capacity 0 too */
#define MAG_LOCKED (&mag_locked)

struct depot {
	kmm_spinlock_t lock;
	struct magazine *full;          /* stack of full magazines */
	struct magazine *empty;         /* stack of empty magazines */
	unsigned long nr_full, nr_empty;
	unsigned long min_full, min_empty;  /* least since the last trim */
	unsigned long ops;              /* exchanges, for the trim clock */
	unsigned long contended;        /* lock found taken (grows mag_size) */
	long last_trim_ns;
};

struct kmem_cache_node {
	pthread_mutex_t lock;
	struct list_head partial;       /* 0 < inuse < objects */
	struct list_head full;          /* inuse == objects */
	struct list_head empty;         /* inuse == 0, kept for reuse */
	unsigned long nr_partial, nr_full, nr_empty;
	unsigned long nr_slabs;         /* all three lists */
	unsigned long total_objects;    /* objects in those slabs */
	unsigned long inuse;            /* objects not on a freelist */
};

struct kmem_cache {
	/* Per-CPU layer: read by the fast path. */
	struct mag_cpu *cpu_alloc;      /* what the alloc fast path indexes: cpu,
	                                   or mag_cpu_none to send every
	                                   allocation to the slow path (hooks) */
	struct mag_cpu *cpu_free;       /* the same for the free fast path */
	struct mag_cpu *cpu;            /* [nr_cpu_ids], [-1] is MAG_LOCKED;
	                                   mag_cpu_none for NOMAG */
	slab_flags_t flags;
	unsigned int object_size;       /* what the caller asked for */

	/* Slab layer geometry: set at creation. */
	unsigned int size;              /* stride of the slots */
	unsigned int offset;            /* free pointer, from the object */
	unsigned int inuse;             /* object_size, word aligned (+ right red zone) */
	unsigned int red_left_pad;      /* left red zone before each object */
	unsigned int track_offset;      /* struct kmm_track[2] (U), from the object */
	unsigned int orig_size_offset;  /* kmalloc redzone (Z on a kmalloc cache):
	                                   the size asked for, an unsigned long
	                                   from the object; 0 = not kept */
	unsigned int align;
	unsigned int order;             /* of each slab */
	unsigned int objects;           /* per slab */
	gfp_t allocflags;               /* GFP_DMA, GFP_DMA32, __GFP_RECLAIMABLE */
	void (*ctor)(void *);

	/* Hardening (slab_harden.c): set at creation. */
	unsigned int hooks;             /* SLAB_HOOK_*: what the slow path does */
	unsigned long random;           /* SLAB_FREELIST_HARDENED secret */
	unsigned short *random_seq;     /* SLAB_FREELIST_RANDOM: slot order */
	char name[KMEM_CACHE_NAME_MAX];

	/* Under slab_mutex. */
	struct list_head list;          /* on slab_caches */

	/* Depot layer. */
	unsigned int mag_idx;           /* size class of new magazines */
	unsigned int mag_idx_max;
	struct depot depot;

	/* Slab layer. */
	struct kmem_cache_node node;

	unsigned long stat_slabs_alloc; /* slabs taken from the page allocator */
	unsigned long stat_slabs_free;  /* slabs given back */
};

extern pthread_mutex_t slab_mutex;
extern struct list_head slab_caches;
extern struct mag_cpu *mag_cpu_none;    /* all MAG_LOCKED, never owned */
extern struct kmem_cache *mag_caches[MAG_NR_SIZES];

/* The zone modifiers slabs cannot serve, as the kernel's GFP_SLAB_BUG_MASK. */
#define GFP_SLAB_BUG_MASK (__GFP_DMA32 | __GFP_HIGHMEM)

/* slab.c */
/* kmalloc_fix_flags(): "Unexpected gfp: ... Fix your code!" and a stack
 * dump (rate limited), and gfp without GFP_SLAB_BUG_MASK. */
gfp_t kmalloc_fix_flags(gfp_t gfp, unsigned long caller);
/*
 * The direct map as the free fast paths see it: frames [0, slab_dm_pfns)
 * at slab_dm_base, lowmem only, 0 frames before boot.  A pointer outside
 * (NULL, ZERO_SIZE_PTR, the stack, glibc's heap, the vmalloc area, a wild
 * value) is sent to a slow path that reports it; only a pointer inside has
 * its struct page read.  One subtract and compare, which also stand for
 * the ZERO_OR_NULL_PTR() test.
 */
extern unsigned long slab_dm_base, slab_dm_pfns;
extern struct page *slab_mem_map;

static inline unsigned long slab_dm_pfn(const void *p)
{
	return ((unsigned long)p - slab_dm_base) >> PAGE_SHIFT;
}

int slab_create_boot(struct kmem_cache *s, const char *name, unsigned int size,
		     unsigned int align, slab_flags_t flags, void (*ctor)(void *));
void *slab_alloc(struct kmem_cache *s, gfp_t gfp, unsigned long caller);
void slab_free(struct kmem_cache *s, void *obj, unsigned long caller);
/* n objects from / to the slabs under one node lock; returns how many. */
size_t slab_alloc_batch(struct kmem_cache *s, gfp_t gfp, size_t n, void **p);
void slab_free_batch(struct kmem_cache *s, size_t n, void **p);
bool slab_contains_object(struct kmem_cache *s, const void *obj);
/* kmem_cache_free()'s miss: NULL, a pointer outside the direct map, not in
 * a slab, or in a slab of another cache (freed there, with a warning). */
void slab_cache_free_slow(struct kmem_cache *s, void *obj, unsigned long caller);
/* Is obj the start of an object of its slab (head page given)? */
bool slab_is_object_start(const struct kmem_cache *s, const struct page *slab,
			  const void *obj);
struct kmem_cache *kmem_cache_create_flags(const char *name, unsigned int size,
		unsigned int align, slab_flags_t flags, void (*ctor)(void *));

static inline void *slab_base(const struct page *slab)
{
	return pfn_to_kaddr_raw(pfn_of(slab));
}

static inline struct page *obj_to_head_page(const void *obj)
{
	struct page *page = page_of((unsigned long)((const char *)obj -
				    machine.mem.direct_map) >> PAGE_SHIFT);
	unsigned long head = page->compound_head;
	if (head & 1)
		page = (struct page *)(head - 1);
	return page;
}

/*
 * The object's own page: PG_slab and slab_cache are in every page of a
 * slab.  slab_vmemmap is mem_map - (direct_map >> PAGE_SHIFT), as the
 * kernel's vmemmap, so the lookup is a shift and an add (set at boot).
 */
extern unsigned long slab_vmemmap;

static inline struct page *obj_to_page(const void *obj)
{
	return (struct page *)(slab_vmemmap +
			       ((unsigned long)obj >> PAGE_SHIFT) * sizeof(struct page));
}

static inline void **freeptr_addr(const struct kmem_cache *s, void *obj)
{
	return (void **)(void *)((char *)obj + s->offset);
}

/*
 * The free pointer as stored: with SLAB_FREELIST_HARDENED, as the kernel's
 * freelist_ptr_encode(), ptr ^ s->random ^ swab(address of the pointer),
 * so that a leaked or overwritten free pointer means nothing without the
 * cache's secret.  Under valgrind the word is made addressable around the
 * access (the object of a SLAB_HOOK_VALGRIND cache is NOACCESS while free).
 */
extern bool slab_on_valgrind;
void slab_vg_access(const void *addr, size_t len, bool open);

static inline unsigned long freeptr_mix(const struct kmem_cache *s, void **addr)
{
	return s->random ^ __builtin_bswap64((unsigned long)addr);
}

static inline void *get_freepointer(const struct kmem_cache *s, void *obj)
{
	void **addr = freeptr_addr(s, obj);
	if (unlikely(s->hooks & SLAB_HOOK_VALGRIND))
		slab_vg_access(addr, sizeof(void *), true);
	unsigned long v = (unsigned long)*addr;
	if (unlikely(s->hooks & SLAB_HOOK_VALGRIND))
		slab_vg_access(addr, sizeof(void *), false);
	if (s->flags & SLAB_FREELIST_HARDENED)
		v ^= freeptr_mix(s, addr);
	return (void *)v;
}

static inline void set_freepointer(const struct kmem_cache *s, void *obj, void *fp)
{
	void **addr = freeptr_addr(s, obj);
	unsigned long v = (unsigned long)fp;
	if (s->flags & SLAB_FREELIST_HARDENED)
		v ^= freeptr_mix(s, addr);
	if (unlikely(s->hooks & SLAB_HOOK_VALGRIND))
		slab_vg_access(addr, sizeof(void *), true);
	*addr = (void *)v;
	if (unlikely(s->hooks & SLAB_HOOK_VALGRIND))
		slab_vg_access(addr, sizeof(void *), false);
}

/* magazine.c */
int mag_init(void);
int mag_cache_init(struct kmem_cache *s);
void mag_cache_release(struct kmem_cache *s);
/* Give every object of the magazines and the depot back to the slabs. */
void mag_flush_all(struct kmem_cache *s);
void *mag_alloc_slow(struct kmem_cache *s, gfp_t gfp, unsigned long caller);
void mag_free_slow(struct kmem_cache *s, void *obj, unsigned long caller);
/* The miss paths proper (the pair owned), without the hooks. */
void *mag_alloc_refill(struct kmem_cache *s, gfp_t gfp, unsigned long caller);
void mag_free_refill(struct kmem_cache *s, void *obj, unsigned long caller);
void mag_lock_cpus(struct kmem_cache *s);
void mag_unlock_cpus(struct kmem_cache *s);
/* Under mag_lock_cpus + depot lock: the objects held, for check and dumps. */
unsigned long mag_count_objects_locked(struct kmem_cache *s);
int mag_check_locked(struct kmem_cache *s);
void mag_lock_all_caches(void);           /* slab_mutex held */
void mag_depot_lock(struct kmem_cache *s);
void mag_depot_unlock(struct kmem_cache *s);
bool slab_object_allocated_locked(struct kmem_cache *s, const void *obj,
				  const char **why);
void slab_shrink_all(void);
unsigned int debug_track_size(void);
void mag_unlock_all_caches(void);

/* slab_harden.c: hardening, init_on_alloc/free, failslab, valgrind */
void slab_harden_init(void);
/* Decide the hooks of a new cache: SLAB_HOOKS, SLAB_FREELIST_*. */
slab_flags_t slab_harden_flags(const char *name, slab_flags_t flags, void (*ctor)(void *));
int slab_harden_cache_init(struct kmem_cache *s);
void slab_harden_cache_release(struct kmem_cache *s);
/* A new slab's objects, linked in random order; returns the first. */
void *slab_shuffle_freelist(struct kmem_cache *s, struct page *page);
/* SLAB_FREELIST_HARDENED: is fp (decoded) NULL or an object of the slab? */
bool slab_freeptr_valid(const struct kmem_cache *s, const struct page *page, const void *fp);
void slab_report_freechain(struct kmem_cache *s, struct page *page, void *obj, void *fp);
/* A naive double free (obj is the last object freed to its magazine, or its
 * slab's first free object), refused; caller 0 when not known. */
void slab_report_double_free(struct kmem_cache *s, const void *obj, unsigned long caller);
/* A free of a pointer that no allocator of this kind handed out: `who` is
 * the entry point ("kfree"), `what` what it is not ("libkmm", "kmalloc"). */
void slab_report_bad_pointer(const char *who, const char *what, const void *p,
			     unsigned long caller);
/* kmem_cache_free(s, obj) with obj in a slab of owner != s. */
void slab_report_wrong_cache(struct kmem_cache *s, const void *obj,
			     struct kmem_cache *owner, unsigned long caller);
void *slab_alloc_hooked(struct kmem_cache *s, gfp_t gfp, unsigned long caller);
void slab_vg_quiet(bool quiet);
void slab_vg_new_slab(struct kmem_cache *s, struct page *page);
void slab_vg_discard_slab(struct kmem_cache *s, struct page *page);
void slab_free_hooked(struct kmem_cache *s, void *obj, unsigned long caller);
/* init_on_alloc zeroes the objects of s: a __GFP_ZERO memset is not needed. */
bool slab_hook_zeroed(const struct kmem_cache *s, gfp_t gfp);

/* kmalloc.c: the usable size of the kmalloc object p starts, or 0 after a
 * report of what p is not (`who` names the caller's entry point). */
size_t kmalloc_object_size(const void *p, const char *who, unsigned long caller);

/* slub_debug.c */
/*
 * The kernel's WARN(): a cut-here line, the message, "WARNING: CPU: c PID: p
 * at" the caller (as %pS: symbol+offset/size), the end-of-trace line.
 */
void slab_warn(unsigned long caller, const char *fmt, ...) __printf(2, 3);
/* The caller as the kernel's %pS prints it, into buf. */
void slab_format_ip(char *buf, size_t size, unsigned long ip);
/* The kernel's dump_stack() of a warning: CPU, PID, command, the caller. */
void slab_dump_stack(unsigned long caller);
/* The kernel's dump_page(): refcount, pfn, flags and why. */
void slab_dump_page(const struct page *page, const char *reason);
void slub_debug_parse(void);
slab_flags_t slub_debug_flags(const char *name, slab_flags_t flags);
void debug_init_object(struct kmem_cache *s, void *obj, bool active);
void debug_new_object(struct kmem_cache *s, void *obj);
/* Checks before handing out / taking back: false = leave the object alone. */
bool debug_alloc_check(struct kmem_cache *s, struct page *slab, void *obj,
		       unsigned long caller);
bool debug_free_check(struct kmem_cache *s, struct page *slab, void *obj,
		      unsigned long caller);
int debug_check_slab_locked(struct kmem_cache *s, struct page *slab);
void debug_report_not_slab(struct kmem_cache *s, const void *obj);
void debug_print_tracking(struct kmem_cache *s, void *obj);
/* kmalloc redzone: the size asked for, kept per object (s->orig_size_offset). */
void debug_set_orig_size(struct kmem_cache *s, void *obj, size_t size);
size_t debug_get_orig_size(struct kmem_cache *s, const void *obj);

/*
 * THE FAST PATH
 *
 * mag_pop / mag_push: pop or push the loaded magazine of the CPU the thread
 * runs on, in the cpus[] array given (s->cpu_alloc / s->cpu_free for
 * callers, s->cpu for the hooks of slab_harden.c); a miss (empty or full, locked, no
 * magazines, rseq abort) jumps to the label the caller gives, whose code
 * is a tail call of its slow path.  On x86-64: 10 instructions, no lock,
 * no atomic, no branch but the miss; the commit is the store of the new
 * `rounds` (pop) or a single `incl` of it (push), the last instruction.
 * The library's frees use mag_push_checked (12: the double-free compare);
 * the shim's free, which has its own double-free tag, uses mag_push.
 *
 * What the free fast paths check first (no read of memory that may not
 * exist): kfree() that the pointer is in the direct map (slab_dm_pfn),
 * kmem_cache_free() that too and that its page names the cache (6.18's
 * cache_from_obj() under CONFIG_SLAB_FREELIST_HARDENED).  Measured with
 * callgrind (bench/bench_slab, slab_rseq=2): a kmalloc+kfree pair went
 * from 69 to 72 instructions, a kmem_cache_alloc+free pair from 58 to 67.
 *
 * There is no "is rseq on" test: kmm_rseq_off is the offset, from the
 * thread pointer, of glibc's registered rseq area when rseq is on, or of
 * kmm_rseq_dummy (percpu.c: a thread-local struct rseq whose cpu_id is
 * -1) when it is off.  cpu_id is loaded sign-extended, and every cpus[] array has a pair
 * at index -1 whose loaded magazine is MAG_LOCKED: with rseq off the same
 * instructions always miss, and the slow path takes its CPU's pair by
 * compare-and-swap.  (Writing rseq_cs into the dummy is harmless.)
 */
#ifdef KMM_RSEQ_ASM
/* obj = pop(cpus[cpu].loaded), or goto miss.  A statement, not a function:
 * the miss label belongs to the caller, so that the miss is a tail call. */
#define mag_pop(pairs, out, miss)                                          \
	do {                                                               \
		unsigned long tmp_, n_;                                    \
		struct magazine *mag_;                                     \
		__asm__ __volatile__ goto(                                 \
			KMM_RSEQ_CS_BEGIN(#miss)                           \
			"movslq %%fs:4(%[off]), %[tmp]\n\t" /* cpu_id */   \
			"shlq $6, %[tmp]\n\t"                              \
			"movq (%[cpus],%[tmp]), %[mag]\n\t" /* ->loaded */ \
			"movl (%[mag]), %k[n]\n\t"          /* ->rounds */ \
			"subl $1, %k[n]\n\t"               /* n = rounds-1 */\
			"jb %l[" #miss "]\n\t"             /* was empty */ \
			"movq 16(%[mag],%[n],8), %[obj]\n\t" /* objs[n] */ \
			"movl %k[n], (%[mag])\n\t"          /* commit */   \
			"2:\n\t"                                           \
			: [obj] "=&a"(out), [tmp] "=&r"(tmp_), [n] "=&r"(n_), \
			  [mag] "=&r"(mag_)                                \
			: [off] "r"(kmm_rseq_off), [cpus] "r"(pairs)       \
			: "memory", "cc"                                   \
			: miss);                                           \
	} while (0)

/* push(cpus[cpu].loaded, obj), or goto miss. */
#define mag_push(pairs, in, miss)                                          \
	do {                                                               \
		unsigned long tmp_, n_;                                    \
		struct magazine *mag_;                                     \
		__asm__ __volatile__ goto(                                 \
			KMM_RSEQ_CS_BEGIN(#miss)                           \
			"movslq %%fs:4(%[off]), %[tmp]\n\t"                \
			"shlq $6, %[tmp]\n\t"                              \
			"movq (%[cpus],%[tmp]), %[mag]\n\t"                \
			"movl (%[mag]), %k[n]\n\t"                         \
			"cmpl 4(%[mag]), %k[n]\n\t"  /* rounds >= size? */ \
			"jae %l[" #miss "]\n\t"                            \
			"movq %[o], 16(%[mag],%[n],8)\n\t" /* objs[n] */   \
			"incl (%[mag])\n\t"                 /* commit */   \
			"2:\n\t"                                           \
			: [tmp] "=&r"(tmp_), [n] "=&r"(n_), [mag] "=&r"(mag_) \
			: [off] "r"(kmm_rseq_off), [cpus] "r"(pairs),      \
			  [o] "r"(in)                                      \
			: "memory", "cc"                                   \
			: miss);                                           \
	} while (0)
/*
 * mag_push, but a miss too when `in` is already the loaded magazine's last
 * object: a naive double free (kfree(p); kfree(p)), which the slow path
 * refuses and reports, as CONFIG_SLAB_FREELIST_HARDENED's "object == the
 * freelist head" check does in the kernel.  One compare and branch more
 * (12 instructions).  objs[-1] of an empty magazine is its `next` link,
 * NULL in a pair; mag_none and MAG_LOCKED miss on their capacity first.
 */
#define mag_push_checked(pairs, in, miss)                                  \
	do {                                                               \
		unsigned long tmp_, n_;                                    \
		struct magazine *mag_;                                     \
		__asm__ __volatile__ goto(                                 \
			KMM_RSEQ_CS_BEGIN(#miss)                           \
			"movslq %%fs:4(%[off]), %[tmp]\n\t"                \
			"shlq $6, %[tmp]\n\t"                              \
			"movq (%[cpus],%[tmp]), %[mag]\n\t"                \
			"movl (%[mag]), %k[n]\n\t"                         \
			"cmpl 4(%[mag]), %k[n]\n\t"  /* rounds >= size? */ \
			"jae %l[" #miss "]\n\t"                            \
			"cmpq %[o], 8(%[mag],%[n],8)\n\t" /* objs[n-1] */  \
			"je %l[" #miss "]\n\t"                             \
			"movq %[o], 16(%[mag],%[n],8)\n\t" /* objs[n] */   \
			"incl (%[mag])\n\t"                 /* commit */   \
			"2:\n\t"                                           \
			: [tmp] "=&r"(tmp_), [n] "=&r"(n_), [mag] "=&r"(mag_) \
			: [off] "r"(kmm_rseq_off), [cpus] "r"(pairs),      \
			  [o] "r"(in)                                      \
			: "memory", "cc"                                   \
			: miss);                                           \
	} while (0)
#else
#define mag_pop(pairs, out, miss) do { (void)(pairs); out = NULL; goto miss; } while (0)
#define mag_push(pairs, in, miss) do { (void)(pairs); (void)(in); goto miss; } while (0)
#define mag_push_checked(pairs, in, miss) mag_push(pairs, in, miss)
#endif

/* The caller of the allocator, as the kernel's _RET_IP_; in an inline
 * fast path, the caller of the exported function. */
#define _RET_IP_ ((unsigned long)__builtin_return_address(0))
#define kmm_always_inline inline __attribute__((always_inline))

/* With the caller given (slow paths, bulk calls). */
static inline void *mag_alloc_caller(struct kmem_cache *s, gfp_t gfp, unsigned long caller)
{
	void *obj;
	mag_pop(s->cpu_alloc, obj, miss);
	return obj;
miss:
	return mag_alloc_slow(s, gfp, caller);
}

static inline void mag_free_caller(struct kmem_cache *s, void *obj, unsigned long caller)
{
	mag_push_checked(s->cpu_free, obj, miss);
	return;
miss:
	mag_free_slow(s, obj, caller);
}

/* In an exported function: the caller is read on a miss only. */
static kmm_always_inline void *mag_alloc(struct kmem_cache *s, gfp_t gfp)
{
	void *obj;
	mag_pop(s->cpu_alloc, obj, miss);
	return obj;
miss:
	return mag_alloc_slow(s, gfp, _RET_IP_);
}

static kmm_always_inline void mag_free(struct kmem_cache *s, void *obj)
{
	mag_push_checked(s->cpu_free, obj, miss);
	return;
miss:
	mag_free_slow(s, obj, _RET_IP_);
}

#pragma GCC visibility pop

#endif /* KMM_LIB_SLAB_H */
