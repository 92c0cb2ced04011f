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
 */
#ifndef KMM_LIB_SLAB_H
#define KMM_LIB_SLAB_H

#include <string.h>
#include "internal.h"

/* Internal cache flags (kernel-unused bits). */
#define SLAB_NOMAG         0x80000000u  /* no magazines: boot and debug caches */
#define SLAB_BOOT          0x40000000u  /* static boot cache: keeps no empty slab */
#define SLAB_DEBUG_FLAGS   (SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | \
			    SLAB_POISON | SLAB_STORE_USER)

#define KMEM_CACHE_NAME_MAX 48
#define MAG_NR_SIZES 5                  /* magazine caches: 6 14 30 62 126 */

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
	struct mag_cpu *cpu;            /* [nr_cpu_ids]; mag_cpu_none for NOMAG */
	slab_flags_t flags;
	unsigned int object_size;       /* what the caller asked for */

	/* Slab layer geometry: set at creation. */
	unsigned int size;              /* stride of the slots */
	unsigned int offset;            /* free pointer, from the object */
	unsigned int inuse;             /* object_size, word aligned (+ right red zone) */
	unsigned int red_left_pad;      /* left red zone before each object */
	unsigned int track_offset;      /* struct kmm_track[2] (U), from the object */
	unsigned int align;
	unsigned int order;             /* of each slab */
	unsigned int objects;           /* per slab */
	gfp_t allocflags;               /* GFP_DMA, GFP_DMA32, __GFP_RECLAIMABLE */
	void (*ctor)(void *);
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
extern bool mag_rseq;                   /* fast path uses rseq */
extern long mag_rseq_off;               /* __rseq_offset, copied at boot */
extern struct kmem_cache *mag_caches[MAG_NR_SIZES];

/* slab.c */
int slab_create_boot(struct kmem_cache *s, const char *name, unsigned int size,
		     unsigned int align, slab_flags_t flags, void (*ctor)(void *));
void *slab_alloc(struct kmem_cache *s, gfp_t gfp, unsigned long caller);
void slab_free(struct kmem_cache *s, void *obj, unsigned long caller);
/* n objects from / to the slabs under one node lock; returns how many. */
size_t slab_alloc_batch(struct kmem_cache *s, gfp_t gfp, size_t n, void **p);
void slab_free_batch(struct kmem_cache *s, size_t n, void **p);
bool slab_contains_object(struct kmem_cache *s, const void *obj);
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

static inline void **freeptr_addr(const struct kmem_cache *s, void *obj)
{
	return (void **)(void *)((char *)obj + s->offset);
}

/* magazine.c */
int mag_init(void);
int mag_cache_init(struct kmem_cache *s);
void mag_cache_release(struct kmem_cache *s);
/* Give every object of the magazines and the depot back to the slabs. */
void mag_flush_all(struct kmem_cache *s);
void *mag_alloc_slow(struct kmem_cache *s, gfp_t gfp, unsigned long caller);
void mag_free_slow(struct kmem_cache *s, void *obj, unsigned long caller);
void mag_lock_cpus(struct kmem_cache *s);
void mag_unlock_cpus(struct kmem_cache *s);
/* Under mag_lock_cpus + depot lock: the objects held, for check and dumps. */
unsigned long mag_count_objects_locked(struct kmem_cache *s);
int mag_check_locked(struct kmem_cache *s);
void mag_lock_all_caches(void);           /* slab_mutex held */
void mag_depot_lock(struct kmem_cache *s);
void mag_depot_unlock(struct kmem_cache *s);
unsigned int mag_rounds_of(unsigned int idx);
bool slab_object_allocated_locked(struct kmem_cache *s, const void *obj,
				  const char **why);
void slab_shrink_all(void);
unsigned int debug_track_size(void);
void mag_unlock_all_caches(void);

/* slub_debug.c */
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
void debug_report_wrong_cache(struct kmem_cache *s, const void *obj,
			      struct kmem_cache *owner);
void debug_report_not_slab(struct kmem_cache *s, const void *obj);

/*
 * THE FAST PATH
 *
 * mag_alloc: pop the loaded magazine of the CPU the thread runs on; miss
 * (empty, locked, no magazines, rseq abort) -> mag_alloc_slow().
 * On x86-64 with rseq: 11 instructions, no lock, no atomic.  Fallback: a
 * compare-and-swap on the CPU's `loaded` word, the pop, a release store.
 */
#if defined(__x86_64__) && defined(KMM_HAVE_RSEQ)
#define MAG_RSEQ_ASM 1
#define RSEQ_SIG_X86 "0x53053053"

/* The critical-section descriptor (struct rseq_cs) and, in its own
 * section, the abort handler: the 4-byte signature, then a jump to C. */
#define MAG_RSEQ_CS_BEGIN(abort_label)                                   \
	".pushsection __rseq_cs, \"aw\"\n\t"                             \
	".balign 32\n\t"                                                 \
	"3:\n\t"                                                         \
	".long 0, 0\n\t"                                                 \
	".quad 1f, 2f - 1f, 4f\n\t"                                      \
	".popsection\n\t"                                                \
	".pushsection __rseq_failure, \"ax\"\n\t"                        \
	".byte 0x0f, 0xb9, 0x3d\n\t"                                     \
	".long " RSEQ_SIG_X86 "\n\t"                                     \
	"4:\n\t"                                                         \
	"jmp %l[" abort_label "]\n\t"                                    \
	".popsection\n\t"                                                \
	"leaq 3b(%%rip), %[tmp]\n\t"                                     \
	"movq %[tmp], %%fs:8(%[off])\n\t"                                \
	"1:\n\t"
#endif

static inline void *mag_alloc(struct kmem_cache *s, gfp_t gfp, unsigned long caller)
{
#ifdef MAG_RSEQ_ASM
	if (likely(mag_rseq)) {
		void *obj;
		unsigned long tmp, n;
		struct magazine *mag;
		__asm__ __volatile__ goto(
			MAG_RSEQ_CS_BEGIN("miss")
			"movl %%fs:4(%[off]), %k[tmp]\n\t"   /* rseq->cpu_id */
			"shlq $6, %[tmp]\n\t"
			"movq (%[cpus],%[tmp]), %[mag]\n\t"  /* ->loaded */
			"movl (%[mag]), %k[n]\n\t"           /* ->rounds */
			"testl %k[n], %k[n]\n\t"
			"jz %l[miss]\n\t"
			"movq 8(%[mag],%[n],8), %[obj]\n\t"  /* objs[n - 1] */
			"decl %k[n]\n\t"
			"movl %k[n], (%[mag])\n\t"           /* commit */
			"2:\n\t"
			: [obj] "=&r"(obj), [tmp] "=&r"(tmp), [n] "=&r"(n), [mag] "=&r"(mag)
			: [off] "r"(mag_rseq_off), [cpus] "r"(s->cpu)
			: "memory", "cc"
			: miss);
		return obj;
miss:
		return mag_alloc_slow(s, gfp, caller);
	}
#endif
	return mag_alloc_slow(s, gfp, caller);
}

static inline void mag_free(struct kmem_cache *s, void *obj, unsigned long caller)
{
#ifdef MAG_RSEQ_ASM
	if (likely(mag_rseq)) {
		unsigned long tmp, n;
		struct magazine *mag;
		__asm__ __volatile__ goto(
			MAG_RSEQ_CS_BEGIN("miss")
			"movl %%fs:4(%[off]), %k[tmp]\n\t"
			"shlq $6, %[tmp]\n\t"
			"movq (%[cpus],%[tmp]), %[mag]\n\t"
			"movl (%[mag]), %k[n]\n\t"
			"cmpl 4(%[mag]), %k[n]\n\t"          /* rounds >= size? */
			"jae %l[miss]\n\t"
			"movq %[obj], 16(%[mag],%[n],8)\n\t" /* objs[n] = obj */
			"incl %k[n]\n\t"
			"movl %k[n], (%[mag])\n\t"           /* commit */
			"2:\n\t"
			: [tmp] "=&r"(tmp), [n] "=&r"(n), [mag] "=&r"(mag)
			: [off] "r"(mag_rseq_off), [cpus] "r"(s->cpu), [obj] "r"(obj)
			: "memory", "cc"
			: miss);
		return;
miss:
		mag_free_slow(s, obj, caller);
		return;
	}
#endif
	mag_free_slow(s, obj, caller);
}

#endif /* KMM_LIB_SLAB_H */
