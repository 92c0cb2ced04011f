/*
 * shim.h - libkmm-malloc.so: the malloc family on top of libkmm's public API.
 *
 * 1. OVERVIEW
 *
 * A program started with LD_PRELOAD=libkmm-malloc.so (kmm-run) finds malloc,
 * free, calloc, realloc and the rest of glibc's malloc interface here.  They
 * are built only from libkmm's public kernel API:
 *
 *   request <= malloc.slab_max   a size class: one kmem_cache per class.  The
 *                                kmalloc caches (kmalloc-16 .. kmalloc-8k,
 *                                never kmalloc-8: it is only 8-aligned) serve
 *                                their sizes; with malloc.classes=fine (the
 *                                default) caches the shim creates with
 *                                kmem_cache_create() fill the gaps between
 *                                them, as jemalloc's classes do (48, 80, 96,
 *                                112, 160, 192 ... 7168, then 10k .. 64k), so
 *                                that the rounding waste stays under 25%.
 *   larger                       vmalloc (__vmalloc with __GFP_NOWARN);
 *                                realloc grows and shrinks it with vrealloc().
 *                                A freed block stays warm in vmalloc's lazy
 *                                ranges (frames, ptes and host pages kept)
 *                                and the next large malloc reuses it without
 *                                a page fault: lib/vmalloc.c, section 4.  Its
 *                                usable size is its mapped pages
 *                                (get_vm_area_size), and vrealloc keeps all
 *                                of them; nothing is stored in freed memory.
 *   alignment > PAGE_SIZE        a class whose objects are aligned, else an
 *                                aligned vmalloc area (__vmalloc_node): the
 *                                alignment costs address space, not frames.
 *   above malloc.glibc_above     (1 GiB) glibc's malloc: see section 5.
 *
 * 2. OWNERSHIP
 *
 * Ownership is decided by address, exactly and in O(1): a pointer in the
 * direct map (virt_addr_valid) belongs to a slab or a page block, found
 * through virt_to_head_page(); a pointer in the vmalloc range
 * (is_vmalloc_addr) to a vmalloc area.  Anything else is glibc's: memory
 * malloc()ed before the shim took over, by the booting thread while libkmm
 * itself boots (section 3), or by an RTLD_DEEPBIND library; it goes back to
 * __libc_free / __libc_realloc, and its usable size comes from glibc's own
 * malloc_usable_size.
 *
 * Inside our ranges, a pointer that is not the start of a live allocation
 * stops the program with a message naming the pointer, the cache and what is
 * wrong, as glibc does ("free(): invalid pointer"): never silent corruption.
 *   - slab: the object offset in its slab must be a multiple of the cache's
 *     object size (an exact multiply by the modular inverse, no division),
 *     and the cache must be one of the malloc classes;
 *   - double free: free() writes TAG(p) = secret ^ p into the object's
 *     first word, and refuses to free an object whose first word already
 *     holds it; malloc() clears that word (one store).  The secret comes from
 *     AT_RANDOM, so a program cannot forge it by accident (chance 2^-64).
 *     The first word survives while the object is free: the slab layer
 *     keeps its free pointer at object_size / 2 (word aligned: 8 or more
 *     for every malloc class) or after the object, and its magazines hold
 *     pointers outside the object.  (slub_debug=P poisons free objects, the
 *     tag with them; its F checks then catch the double free instead.)
 *   - with slub_debug= set, the slots of a cache are wider than
 *     kmem_cache_size() (red zones, tracking) and start after a left red
 *     zone, and the public API does not give the stride: the shim then
 *     leaves object-start checks to the slab layer's F checks;
 *   - any other pointer of the direct map: a free frame or a page that
 *     malloc never handed out (every direct-map malloc block is a slab
 *     object);
 *   - vmalloc: the pointer must be the start of a live area (find_vm_area);
 *   - a free page frame of the direct map (page_count 0): invalid.
 *
 * 3. BOOT AND ITS RACES (bootstrap.c)
 *
 * The first malloc() of a process may come from the dynamic loader or from
 * libc, before main and before the shim's constructor.  Whichever comes
 * first, the constructor or the first allocation, boots: under boot_lock it
 * reads the shim's settings from KMM_CONF (without allocating), calls
 * kmm_init(NULL), creates the class caches and only then publishes
 * `shim.slab_max`, the one word the fast path reads.  While it runs:
 *   - the booting thread may re-enter malloc (libkmm registers
 *     pthread_atfork and atexit handlers, dlsym may allocate): those
 *     requests are served by __libc_malloc, and later freed to glibc by
 *     address;
 *   - other threads wait on boot_lock, then go on with the booted shim.
 * Booting from the constructor too makes sure libkmm's atfork handlers are
 * registered before the program can fork.
 *
 * 4. FAST PATHS
 *
 * malloc: one acquire load of slab_max (0 before boot, so the same compare
 * sends early calls to the slow path), one size_cache[] load, the magazine
 * pop of lib/slab.h inline (kmem_cache_alloc's own fast path), one store to
 * clear the tag word: a leaf function, a miss is a tail call.  free: the
 * range check, the object's own struct page (PG_slab and slab_cache are in
 * every page of a slab), the cache's shim_owner record (one probe almost
 * always), the tag check, the offset in the slab (phys & slab_mask, slabs
 * being naturally aligned buddy blocks; checked per class at boot), the
 * tag store and the magazine push inline.  malloc_usable_size() has the
 * same checks inline.  A pointer outside libkmm's ranges (glibc's) is one
 * range check more on the slow path.
 *
 * 5. SETTINGS (KMM_CONF, the "malloc." namespace; libkmm skips these names)
 *
 *   malloc.slab_max=SIZE     largest request served by slab classes
 *                            (default 64k; 16 .. 128k); larger ones: vmalloc.
 *                            Measured (bench/run-programs.sh, peak RSS
 *                            against jemalloc): 16k left git at 1.26x,
 *                            because zlib's 64 KiB buffers went to vmalloc,
 *                            whose freed ranges stay resident until the
 *                            lazy purge (16 MiB on 2 CPUs); 64k: 0.85x;
 *                            128k put gcc at 1.14x (slabs of 80k..128k
 *                            objects sit partly empty).
 *   malloc.glibc_above=SIZE  requests above SIZE go to glibc's malloc
 *                            (default 1G; 0: never).  vmalloc backs every
 *                            page with a frame at once, and each frame
 *                            costs its struct page and pte (1.8% of the
 *                            size) touched or not; sort(1) asks for 1/8 of
 *                            the RAM (3.4 GB here) and touches 120 MB:
 *                            under vmalloc that was 60 MB of struct pages
 *                            and page tables (1.44x jemalloc's RSS).
 *                            glibc's mmap'ed block is demand paged.
 *   malloc.guard=0|1         1: the page after each large block faults
 *                            when touched (vmalloc's guard page); 0, the
 *                            default: it is a gap of the address space
 *                            (VM_NO_GUARD), as glibc's mmapped chunks have
 *                            none.  A guard costs two mprotect calls when a
 *                            block is reused at another size, and each
 *                            splits a host mapping: bench_large churn ran
 *                            1.7x as long (2.8 s against 4.8-5.3 s).
 *   malloc.reporting=0|1     1 (default): the shim starts libkmm's
 *                            page-reporting worker (lib/reporting.c) once
 *                            the program has threads of its own, so that
 *                            memory it freed goes back to the host even
 *                            when it frees nothing more (it sleeps, waits
 *                            for input); a single-threaded program keeps
 *                            glibc's lock-free fork() instead (see
 *                            bootstrap.c) and relies on the free paths
 *                            and malloc_trim; 0: never.
 *   malloc.classes=fine|kmalloc
 *                            fine (default): the extra size classes above;
 *                            kmalloc: the kmalloc caches only (power-of-two
 *                            and 96/192 sizes) and, above 8k, 16k .. 128k
 *
 * 6. OBSERVING IT
 *
 * KMM_CONF=verbose prints libkmm's banner and "libkmm-malloc: active" at
 * boot; KMM_CONF=stats prints libkmm's dumps at exit; malloc_stats() prints
 * buddyinfo, slabinfo, vmallocinfo and meminfo on stderr on demand.
 */
#ifndef KMM_SHIM_H
#define KMM_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/single_threaded.h>
#include <kmm/kmm.h>
/*
 * The one layering exception: libkmm-malloc.so links libkmm's core into
 * the same module, and malloc/free use the slab layer's inline magazine
 * fast paths (mag_alloc/mag_free of lib/slab.h: what kmem_cache_alloc()
 * and kmem_cache_free() are made of, minus the call) and the cache's
 * slab order, on caches the shim got from the public API.  Everything
 * else - creating caches, their slow paths, vmalloc, ownership of what is
 * not a slab object - goes through the public API.
 */
#include "../lib/slab.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Every malloc pointer is aligned to this (glibc's MALLOC_ALIGNMENT). */
#define SHIM_ALIGN 16
/* The largest malloc.slab_max accepted. */
#define SHIM_SLAB_LIMIT (128u << 10)
#define SHIM_SLAB_DEFAULT (64u << 10)
#define SHIM_GLIBC_ABOVE_DEFAULT (1UL << 30)
#define SHIM_MAX_CLASSES 64


/* One size class: a cache and the arithmetic to validate object starts. */
struct shim_class {
	struct kmem_cache *cache;
	unsigned int size;             /* usable bytes = kmem_cache_size() */
	unsigned int shift;            /* size = odd << shift */
	uint64_t inv;                  /* odd^-1 mod 2^64 */
	uint64_t limit;                /* UINT64_MAX / odd */
};

/*
 * free()'s view of a class, found by its cache (shim_owner_of): 32 bytes.
 * off, the offset of a pointer in its slab, is the start of an object when
 * it is a multiple of size = odd << shift; as compilers test divisibility
 * by a constant, that is rotr32(off * inv, shift) <= limit, with inv the
 * inverse of odd mod 2^32 and limit = UINT32_MAX / size (off < 2^32: a
 * slab is at most MAX_PAGE_ORDER).  Under slub_debug (strides unknown)
 * inv = 0 and limit = UINT32_MAX: every offset passes, and the slab
 * layer's F checks judge.
 */
struct shim_owner {
	struct kmem_cache *cache;
	uint32_t inv;
	uint32_t limit;
	uint32_t slab_mask;            /* bytes of a slab - 1: slabs are buddy
					  blocks, aligned to their size */
	uint32_t shift;
	uint32_t size;                 /* usable bytes */
	uint32_t cls;
};

struct shim_state {
	/* Written once at boot, read-only afterwards. */
	size_t slab_max;               /* 0 until booted; the fast path's gate */
	uint64_t secret;               /* double-free tag secret */
	unsigned int nr_classes;
	struct shim_class classes[SHIM_MAX_CLASSES];
	/* (size + 15) / 16 -> class, for size 0 .. slab_max */
	uint8_t size_index[SHIM_SLAB_LIMIT / SHIM_ALIGN + 1];
	/* (size + 15) / 16 -> the class's cache: malloc's one load */
	struct kmem_cache *size_cache[SHIM_SLAB_LIMIT / SHIM_ALIGN + 1];
	/* cache -> what free() checks, open addressing (cache NULL: empty) */
	struct shim_owner by_cache[128];
	uintptr_t dm_base;             /* the direct map: page_address(pfn 0) */
	size_t dm_size;                /* its bytes with an address (lowmem) */
	struct page *mem_map;          /* pfn_to_page(0) */
	size_t glibc_above;            /* malloc.glibc_above: 0 = never */
	size_t (*libc_usable_size)(void *);
	bool fine_classes;             /* malloc.classes=fine */
	bool large_guard;              /* malloc.guard=1: large blocks' guard
					  pages fault */
	bool reporting;                /* malloc.reporting: start libkmm's
					  page-reporting worker */
	bool reporting_pending;        /* ... once the program has threads */
	bool verbose;                  /* KMM_CONF has verbose */
	bool disabled;                 /* libkmm did not boot: all to glibc */
	bool slab_debug;               /* KMM_CONF has slub_debug: strides unknown */
};

extern struct shim_state shim;

/* glibc's own allocator (exported by libc.so.6 since GLIBC_2.2.5). */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);
void *__libc_memalign(size_t align, size_t size);

/* bootstrap.c */
/* Boot if needed: true when libkmm may serve the caller, false when the
 * caller must use glibc (recursion from the booting thread, or disabled). */
bool shim_boot_slow(void);
void shim_reporting_start(void);
/* Start the worker if it is wanted and the program has threads of its own
 * (__libc_single_threaded is false).  Never while holding a lock. */
static inline void shim_reporting_check(void)
{
	if (unlikely(shim.reporting_pending) && !__libc_single_threaded)
		shim_reporting_start();
}
/* Print "<func>: <what> <ptr> ..." on stderr and abort(). */
__attribute__((noreturn, format(printf, 1, 2)))
void shim_fatal(const char *fmt, ...);
void shim_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Build the class table for requests up to *slab_max (lowered to the
 * largest class); 0, or -1 when libkmm cannot create caches. */
int shim_classes_init(size_t *slab_max);

static inline size_t shim_slab_max(void)
{
	return __atomic_load_n(&shim.slab_max, __ATOMIC_ACQUIRE);
}

static inline bool shim_ready(void)
{
	return shim_slab_max() != 0 || shim.disabled;
}

static inline uintptr_t shim_tag(const void *p)
{
	return (uintptr_t)p ^ shim.secret;
}

/*
 * The direct map, as <kmm/mm.h> and <kmm/mm_types.h> define it: virtual
 * address = base + physical address, mem_map indexed by PFN, a tail page's
 * compound_head = head | 1.  The kernel's virt_to_head_page() and
 * page_address() are inline arithmetic on that layout; libkmm's are calls.
 * The shim reads the bases once at boot through the API (page_address,
 * pfn_to_page, virt_addr_valid), checks its arithmetic against the calls
 * (shim_classes_init), and does the same arithmetic inline on free's fast
 * path.  Before boot dm_size is 0: no pointer is in the direct map.
 */
static inline bool shim_in_direct_map(const void *p)
{
	return (uintptr_t)p - shim.dm_base < shim.dm_size;
}

static inline struct page *shim_virt_to_head_page(const void *p)
{
	struct page *page = shim.mem_map + (((uintptr_t)p - shim.dm_base) >> PAGE_SHIFT);
	unsigned long head = page->compound_head;
	return head & 1 ? (struct page *)(head - 1) : page;
}

static inline uintptr_t shim_page_address(const struct page *page)
{
	return shim.dm_base + ((uintptr_t)(page - shim.mem_map) << PAGE_SHIFT);
}

/* The class of a cache, or NULL when the cache is not one of ours. */
static inline const struct shim_owner *shim_owner_of(const struct kmem_cache *s);
static inline const struct shim_class *shim_class_of(const struct kmem_cache *s)
{
	const struct shim_owner *o = shim_owner_of(s);
	return o ? &shim.classes[o->cls] : NULL;
}

static inline unsigned int shim_cache_hash(const struct kmem_cache *s)
{
	uintptr_t k = (uintptr_t)s;
	return (unsigned int)((k >> 6) ^ (k >> 14)) & 127;
}

/* free()'s record of a cache, or NULL when the cache is not one of ours. */
static inline const struct shim_owner *shim_owner_of(const struct kmem_cache *s)
{
	unsigned int i = shim_cache_hash(s);
	for (;;) {
		const struct shim_owner *o = &shim.by_cache[i];
		if (likely(o->cache == s))
			return o;
		if (!o->cache)
			return NULL;
		i = (i + 1) & 127;
	}
}

/*
 * Is p (phys = its offset in the direct map) the start of an object of
 * o's cache?  The offset in the slab is phys & slab_mask (a slab is a
 * buddy block, naturally aligned), then the divisibility test above.
 */
static inline bool shim_owner_multiple(const struct shim_owner *o, uintptr_t phys)
{
	uint32_t x = ((uint32_t)phys & o->slab_mask) * o->inv;
	uint32_t r = (x >> o->shift) | (x << (-o->shift & 31));   /* ror */
	return r <= o->limit;
}
/* Is off a multiple of the class's object size? (exact, no division) */
static inline bool shim_class_multiple(const struct shim_class *c, uintptr_t off)
{
	if (unlikely(shim.slab_debug))
		return true;
	if (off & ((1UL << c->shift) - 1))
		return false;
	return (uint64_t)(off >> c->shift) * c->inv <= c->limit;
}

#endif /* KMM_SHIM_H */
