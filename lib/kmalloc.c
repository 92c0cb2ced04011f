/*
 * kmalloc.c - the kmalloc family: size classes on kmem_caches, and large
 * allocations straight from the page allocator.
 *
 * SIZE CLASSES
 *
 * As the kernel's: kmalloc-8 16 32 64 96 128 192 256 512 1k 2k 4k 8k
 * (index = log2 of the size, 1 for 96, 2 for 192), and the same again as
 * dma-kmalloc-* with slabs in ZONE_DMA for __GFP_DMA.  Sizes up to 192 are
 * mapped through the kernel's size_index table (so 72..96 go to kmalloc-96
 * and 136..192 to kmalloc-192), larger ones through fls(size - 1).
 * Power-of-two classes are naturally aligned (kmalloc-64 objects are 64
 * aligned; the kernel guarantees it since 5.4), 96 and 192 are 8 aligned.
 * Above KMALLOC_MAX_CACHE_SIZE (8 KiB), kmalloc_large() takes a compound
 * page of the order that fits, up to KMALLOC_MAX_SIZE (order 10, 4 MiB),
 * marked PG_large_kmalloc (the kernel's large_kmalloc page type, 6.17)
 * and counted, as Linux 6.18 counts it, in NR_SLAB_UNRECLAIMABLE (meminfo's
 * Slab and SUnreclaim), and in NR_KMALLOC_LARGE (libkmm's KmallocLarge
 * line).  A larger request fails (NULL) with a warning, once, unless
 * __GFP_NOWARN (the page allocator's WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER)).
 *
 * GFP FLAGS.  kmalloc serves ZONE_NORMAL and, with __GFP_DMA, ZONE_DMA.
 * __GFP_HIGHMEM (GFP_HIGHUSER) and __GFP_DMA32 are the kernel's
 * GFP_SLAB_BUG_MASK: "Unexpected gfp: %#x (%pGg). Fixing up to gfp: %#x
 * (%pGg). Fix your code!" with a stack dump, then the allocation goes on
 * without them (kmalloc_fix_flags(); the kernel says it when it makes a
 * new slab, libkmm on every such kmalloc, rate limited; slab.c).
 *
 * MISUSE.  kfree(), ksize(), krealloc() and kfree_sensitive() of a pointer
 * no allocator handed out - outside the direct map (the stack, a static
 * buffer, glibc's heap, the vmalloc area), or in the direct map but neither
 * a slab page nor a large kmalloc block - report it and do nothing (ksize
 * says 0, krealloc NULL): "kfree of a pointer not allocated by libkmm:
 * 0x...", or for a page of libkmm's that kmalloc did not hand out, 6.18's
 * "Not a kmalloc allocation" dump_page().  ksize, krealloc and
 * kfree_sensitive also refuse a pointer inside a slab object; kfree takes
 * a slab pointer as it comes, as the kernel does (slub_debug=F checks it).
 *
 * FAST PATH
 *
 * kmalloc() and kfree() are leaf functions: no stack frame, no register
 * saved, and their only calls are tail calls of the slow paths.
 * kmalloc(): one range test (size - 1 < kmalloc_fast_limit: 8 KiB once
 * booted, 0 before, so that the first call boots), one flags test
 * (__GFP_DMA, __GFP_ZERO), one load from kmalloc_table[(size - 1) / 8],
 * the magazine pop of slab.h: 21 instructions on a hit.  Everything else
 * - size 0, large sizes, DMA, zeroing, boot, a magazine miss - is one
 * unlikely branch to a noinline path.
 * kfree(): the direct-map range test (which also sends NULL and
 * ZERO_SIZE_PTR away), the object's own struct page (every page of a slab
 * has PG_slab and slab_cache, so there is no compound_head step), the
 * PG_slab test, the magazine push with its double-free compare: 25
 * instructions on a hit.  A non-slab page should be a kmalloc_large()
 * block, which goes back with __free_pages(compound order).
 *
 * ZERO_SIZE_PTR: kmalloc(0) returns (void *)16, which kfree() and ksize()
 * accept and which faults when dereferenced.
 *
 * LOCKING: none of its own; the caches and the page allocator lock.
 */
#include "config.h"
#include <string.h>
#include "slab.h"

enum kmalloc_cache_type { KMALLOC_NORMAL, KMALLOC_DMA, NR_KMALLOC_TYPES };

static struct kmem_cache *kmalloc_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1];

/* The fast path's view: the KMALLOC_NORMAL cache of each size, by
 * (size - 1) / 8, and the bound below which size - 1 may use it. */
#define KMALLOC_TABLE_SIZE (KMALLOC_MAX_CACHE_SIZE / 8)
static struct kmem_cache *kmalloc_table[KMALLOC_TABLE_SIZE];
static size_t kmalloc_fast_limit;       /* 0 until boot has made the caches,
					   and for good when a cache keeps the
					   kmalloc redzone (it needs the size) */


/* The kernel's size_index[]: index of the cache for (size - 1) / 8. */
static const unsigned char size_index[24] = {
	3, 4, 5, 5, 6, 6, 6, 6,         /* 8 16 24 32 40 48 56 64 */
	1, 1, 1, 1, 7, 7, 7, 7,         /* 72 80 88 96 104 112 120 128 */
	2, 2, 2, 2, 2, 2, 2, 2,         /* 136 .. 192 */
};

static const char *const kmalloc_names[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1] = {
	{ NULL, "kmalloc-96", "kmalloc-192", "kmalloc-8", "kmalloc-16", "kmalloc-32",
	  "kmalloc-64", "kmalloc-128", "kmalloc-256", "kmalloc-512", "kmalloc-1k",
	  "kmalloc-2k", "kmalloc-4k", "kmalloc-8k" },
	{ NULL, "dma-kmalloc-96", "dma-kmalloc-192", "dma-kmalloc-8", "dma-kmalloc-16",
	  "dma-kmalloc-32", "dma-kmalloc-64", "dma-kmalloc-128", "dma-kmalloc-256",
	  "dma-kmalloc-512", "dma-kmalloc-1k", "dma-kmalloc-2k", "dma-kmalloc-4k",
	  "dma-kmalloc-8k" },
};

static inline unsigned int kmalloc_size_of(unsigned int idx)
{
	return idx == 1 ? 96 : idx == 2 ? 192 : 1u << idx;
}

/* 1 <= size <= KMALLOC_MAX_CACHE_SIZE. */
static inline unsigned int kmalloc_index(size_t size)
{
	if (size <= 192)
		return size_index[(size - 1) / 8];
	return 32 - (unsigned int)__builtin_clz((unsigned int)(size - 1));
}

static inline unsigned int get_order_large(size_t size)
{
	return size <= PAGE_SIZE ? 0 :
	       (unsigned int)(64 - __builtin_clzl((size - 1) >> PAGE_SHIFT));
}

int kmalloc_init(void)
{
	for (int type = 0; type < NR_KMALLOC_TYPES; type++) {
		for (unsigned int idx = 1; idx <= KMALLOC_SHIFT_HIGH; idx++) {
			if (!kmalloc_names[type][idx])
				continue;
			unsigned int size = kmalloc_size_of(idx);
			unsigned int align = (size & (size - 1)) ? ARCH_KMALLOC_MINALIGN :
					     size < PAGE_SIZE ? size : PAGE_SIZE;
			slab_flags_t flags = SLAB_KMALLOC |
					     (type == KMALLOC_DMA ? SLAB_CACHE_DMA : 0);
			struct kmem_cache *s = kmem_cache_create_flags(kmalloc_names[type][idx],
								      size, align, flags, NULL);
			if (!s)
				return -12;    /* -ENOMEM */
			kmalloc_caches[type][idx] = s;
		}
	}
	bool redzoned = false;
	for (size_t i = 0; i < KMALLOC_TABLE_SIZE; i++) {
		kmalloc_table[i] = kmalloc_caches[KMALLOC_NORMAL][kmalloc_index(i * 8 + 1)];
		redzoned |= kmalloc_table[i]->orig_size_offset != 0;
	}
	/* Released: a fast path that sees the limit sees the table. */
	if (!redzoned)
		__atomic_store_n(&kmalloc_fast_limit, KMALLOC_MAX_CACHE_SIZE, __ATOMIC_RELEASE);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Flags, large allocations, misuse                                    */

static void *kmalloc_large(size_t size, gfp_t gfp, unsigned long caller)
{
	static AO_t warned;
	unsigned int order = get_order_large(size);
	if (order > MAX_PAGE_ORDER) {
		if (!(gfp & __GFP_NOWARN) && !AO_fetch_and_add1(&warned))
			slab_warn(caller, "kmalloc(%zu): above KMALLOC_MAX_SIZE (%lu bytes): "
				  "order %u > MAX_PAGE_ORDER (%d)\n", size, KMALLOC_MAX_SIZE,
				  order, MAX_PAGE_ORDER);
		return NULL;
	}
	struct page *page = alloc_pages((gfp & ~__GFP_HIGHMEM) | __GFP_COMP, order);
	if (!page)
		return NULL;
	page_set_flag(page, PG_large_kmalloc);
	kmm_stat_add(NR_SLAB_UNRECLAIMABLE, 1L << order);
	kmm_stat_add(NR_KMALLOC_LARGE, 1L << order);
	return page_address(page);
}

/* A block of kmalloc_large() starts at p, whose own page is page. */
static inline bool is_large_kmalloc(const struct page *page, const void *p)
{
	return page_test_flag(page, PG_large_kmalloc) &&
	       p == pfn_to_kaddr_raw(pfn_of(page));
}

/* p is in the direct map, its page neither a slab nor a large block. */
static noinline void report_not_kmalloc(const char *who, const struct page *page,
					const void *p, unsigned long caller)
{
	slab_report_bad_pointer(who, "kmalloc", p, caller);
	slab_dump_page(page, "Not a kmalloc allocation");
}

static noinline void kfree_large(struct page *page, const void *p, unsigned long caller)
{
	if (unlikely(!is_large_kmalloc(page, p))) {
		report_not_kmalloc("kfree", page, p, caller);
		return;
	}
	unsigned int order = page_head_order(page);
	page_clear_flag(page, PG_large_kmalloc);
	kmm_stat_add(NR_SLAB_UNRECLAIMABLE, -(1L << order));
	kmm_stat_add(NR_KMALLOC_LARGE, -(1L << order));
	__free_pages(page, order);
}

/* Outside the direct map: NULL and ZERO_SIZE_PTR are fine, the rest not. */
static noinline void kfree_outside(const void *p, unsigned long caller)
{
	if (!ZERO_OR_NULL_PTR(p))
		slab_report_bad_pointer("kfree", "libkmm", p, caller);
}

/*
 * The object p starts, for ksize(), krealloc() and kfree_sensitive(): its
 * cache (*sp, NULL for a large block) and usable size, or 0 after a report
 * of what p is not.  p is not NULL nor ZERO_SIZE_PTR.
 */
static noinline size_t kmalloc_object(const void *p, const char *who, unsigned long caller,
				      struct kmem_cache **sp)
{
	unsigned long pfn = slab_dm_pfn(p);
	*sp = NULL;
	if (pfn >= slab_dm_pfns) {
		slab_report_bad_pointer(who, "libkmm", p, caller);
		return 0;
	}
	struct page *page = &slab_mem_map[pfn];
	if (page_test_flag(page, PG_slab)) {
		struct kmem_cache *s = page->slab_cache;
		if (!slab_is_object_start(s, obj_to_head_page(p), p)) {
			slab_warn(caller, "%s of a pointer inside an object of %s: 0x%lx\n",
				  who, s->name, (unsigned long)p);
			return 0;
		}
		*sp = s;
		return s->object_size;
	}
	if (is_large_kmalloc(page, p))
		return PAGE_SIZE << page_head_order(page);
	report_not_kmalloc(who, page, p, caller);
	return 0;
}

size_t kmalloc_object_size(const void *p, const char *who, unsigned long caller)
{
	struct kmem_cache *s;
	return kmalloc_object(p, who, caller, &s);
}

/* ------------------------------------------------------------------ */
/* kmalloc and kfree                                                   */

static noinline void *kmalloc_slow(size_t size, gfp_t gfp, unsigned long caller)
{
	if (!kmm_ensure_up())
		return NULL;            /* boot could not get memory */
	if (size == 0)
		return ZERO_SIZE_PTR;
	if (unlikely(gfp & GFP_SLAB_BUG_MASK))
		gfp = kmalloc_fix_flags(gfp, caller);
	if (size > KMALLOC_MAX_CACHE_SIZE)
		return kmalloc_large(size, gfp, caller);
	struct kmem_cache *s = kmalloc_caches[(gfp & __GFP_DMA) ? KMALLOC_DMA :
					      KMALLOC_NORMAL][kmalloc_index(size)];
	if (!s)
		return NULL;                   /* boot failed */
	void *obj = mag_alloc_caller(s, gfp, caller);
	if (unlikely(!obj))
		return NULL;
	if ((gfp & __GFP_ZERO) && !slab_hook_zeroed(s, gfp))
		memset(obj, 0, s->object_size);
	if (unlikely(s->orig_size_offset))
		debug_set_orig_size(s, obj, size);   /* the kmalloc redzone */
	return obj;
}

/*
 * The limit is written once, at boot, after the table (a release store).
 * On x86-64 every load is an acquire load (TSO): a plain load, which the
 * compiler folds into the compare, then a compiler barrier before the
 * table load do what an acquire load does, for no instruction.
 * ThreadSanitizer and other machines get the atomic load.
 */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define kmalloc_limit() (kmalloc_fast_limit)
#define kmalloc_limit_acquired() __atomic_signal_fence(__ATOMIC_ACQUIRE)
#else
#define kmalloc_limit() __atomic_load_n(&kmalloc_fast_limit, __ATOMIC_ACQUIRE)
#define kmalloc_limit_acquired() do { } while (0)
#endif

KMM_EXPORT void *kmalloc(size_t size, gfp_t gfp)
{
	if (unlikely(size - 1 >= kmalloc_limit() ||
		     (gfp & (__GFP_DMA | __GFP_ZERO | GFP_SLAB_BUG_MASK))))
		return kmalloc_slow(size, gfp, _RET_IP_);
	kmalloc_limit_acquired();
	return mag_alloc(kmalloc_table[(size - 1) >> 3], gfp);
}

/* One node (NUMA_NO_NODE or any other: node 0), as without CONFIG_NUMA. */
KMM_EXPORT void *kmalloc_node(size_t size, gfp_t gfp, int node)
{
	(void)node;
	if (unlikely(size - 1 >= kmalloc_limit() ||
		     (gfp & (__GFP_DMA | __GFP_ZERO | GFP_SLAB_BUG_MASK))))
		return kmalloc_slow(size, gfp, _RET_IP_);
	kmalloc_limit_acquired();
	return mag_alloc(kmalloc_table[(size - 1) >> 3], gfp);
}

KMM_EXPORT void kfree(const void *p)
{
	unsigned long pfn = slab_dm_pfn(p);
	if (unlikely(pfn >= slab_dm_pfns)) {
		kfree_outside(p, _RET_IP_);
		return;
	}
	struct page *page = &slab_mem_map[pfn];
	if (unlikely(!page_test_flag(page, PG_slab))) {
		kfree_large(page, p, _RET_IP_);
		return;
	}
	mag_free(page->slab_cache, (void *)p);
}

KMM_EXPORT void *kzalloc(size_t size, gfp_t gfp)
{
	return kmalloc(size, gfp | __GFP_ZERO);
}

KMM_EXPORT void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return kmalloc(bytes, gfp);
}

KMM_EXPORT void *kcalloc(size_t n, size_t size, gfp_t gfp)
{
	return kmalloc_array(n, size, gfp | __GFP_ZERO);
}

KMM_EXPORT size_t ksize(const void *p)
{
	struct kmem_cache *s;
	if (ZERO_OR_NULL_PTR(p))
		return 0;
	size_t ks = kmalloc_object(p, "ksize", _RET_IP_, &s);
	if (s && s->orig_size_offset)
		debug_set_orig_size(s, (void *)p, ks);   /* all of it is the caller's now */
	return ks;
}

KMM_EXPORT size_t kmalloc_size_roundup(size_t size)
{
	if (size && size <= KMALLOC_MAX_CACHE_SIZE)
		return kmalloc_size_of(kmalloc_index(size));
	if (size && size <= KMALLOC_MAX_SIZE)
		return PAGE_SIZE << get_order_large(size);
	return size;
}

/*
 * As 6.18's __do_krealloc(): in place when the object holds new_size (its
 * kmalloc redzone, if kept, moved to new_size), else a new object and a
 * copy of what the caller had (the size asked for, if kept).  __GFP_ZERO
 * clears what lies beyond the old contents.
 */
KMM_EXPORT void *krealloc(const void *p, size_t new_size, gfp_t gfp)
{
	struct kmem_cache *s;
	if (unlikely(!new_size)) {
		kfree(p);
		return ZERO_SIZE_PTR;
	}
	if (ZERO_OR_NULL_PTR(p))
		return kmalloc(new_size, gfp);
	size_t ks = kmalloc_object(p, "krealloc", _RET_IP_, &s);
	if (!ks)
		return NULL;
	size_t orig = (s && s->orig_size_offset) ? debug_get_orig_size(s, p) : 0;
	if (new_size <= ks) {
		if (gfp & __GFP_ZERO) {
			if (orig && orig < new_size)
				memset((char *)p + orig, 0, new_size - orig);
			else if (!orig)
				memset((char *)p + new_size, 0, ks - new_size);
		}
		if (orig)
			debug_set_orig_size(s, (void *)p, new_size);
		return (void *)p;
	}
	void *ret = kmalloc(new_size, gfp);
	if (!ret)
		return NULL;
	memcpy(ret, p, orig ? orig : ks);
	kfree(p);
	return ret;
}

KMM_EXPORT void kfree_sensitive(const void *p)
{
	struct kmem_cache *s;
	if (ZERO_OR_NULL_PTR(p))
		return;
	size_t ks = kmalloc_object(p, "kfree_sensitive", _RET_IP_, &s);
	if (!ks)
		return;                        /* reported: not ours to clear */
	if (s && s->orig_size_offset)
		debug_set_orig_size(s, (void *)p, ks);   /* as ksize(): all of it */
	memset((void *)p, 0, ks);
	__asm__ __volatile__("" : : "r"(p) : "memory");
	kfree(p);
}

KMM_EXPORT void *kmemdup(const void *src, size_t len, gfp_t gfp)
{
	void *p = kmalloc(len, gfp);
	if (p && !ZERO_OR_NULL_PTR(p))
		memcpy(p, src, len);
	return p;
}

KMM_EXPORT char *kstrdup(const char *s, gfp_t gfp)
{
	if (!s)
		return NULL;
	return kmemdup(s, strlen(s) + 1, gfp);
}

KMM_EXPORT char *kstrndup(const char *s, size_t max, gfp_t gfp)
{
	if (!s)
		return NULL;
	size_t len = strnlen(s, max);
	char *p = kmalloc(len + 1, gfp);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}
