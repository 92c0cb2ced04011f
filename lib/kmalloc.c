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
 * counted as NR_KMALLOC_LARGE; larger requests fail (NULL).
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
 * kfree(): the ZERO_OR_NULL_PTR test, the object's own struct page (every
 * page of a slab has PG_slab and slab_cache, so there is no compound_head
 * step), the PG_slab test, the magazine push: 22 instructions on a hit.
 * A non-slab page is a kmalloc_large() block and goes back with
 * __free_pages(compound order).
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
static size_t kmalloc_fast_limit;       /* 0 until boot has made the caches */

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
	for (size_t i = 0; i < KMALLOC_TABLE_SIZE; i++)
		kmalloc_table[i] = kmalloc_caches[KMALLOC_NORMAL][kmalloc_index(i * 8 + 1)];
	/* Released: a fast path that sees the limit sees the table. */
	__atomic_store_n(&kmalloc_fast_limit, KMALLOC_MAX_CACHE_SIZE, __ATOMIC_RELEASE);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Large allocations                                                   */

static void *kmalloc_large(size_t size, gfp_t gfp)
{
	unsigned int order = get_order_large(size);
	if (order > MAX_PAGE_ORDER)
		return NULL;
	struct page *page = alloc_pages((gfp & ~__GFP_HIGHMEM) | __GFP_COMP, order);
	if (!page)
		return NULL;
	kmm_stat_add(NR_KMALLOC_LARGE, 1L << order);
	return page_address(page);
}

static noinline void kfree_large(struct page *page, const void *p)
{
	unsigned int order = page_test_flag(page, PG_head) ? page_head_order(page) : 0;
	if (unlikely(p != page_address(page) || !page_test_flag(page, PG_head) ||
		     page_count(page) <= 0)) {
		kmm_printk("BUG: kfree(%p): not an object of kmalloc (page pfn %#lx, "
			   "refcount %d)\n", p, pfn_of(page), (int)page->_refcount);
		return;
	}
	kmm_stat_add(NR_KMALLOC_LARGE, -(1L << order));
	__free_pages(page, order);
}

/* ------------------------------------------------------------------ */
/* kmalloc and kfree                                                   */

static noinline void *kmalloc_slow(size_t size, gfp_t gfp, unsigned long caller)
{
	kmm_ensure_booted();
	if (size == 0)
		return ZERO_SIZE_PTR;
	if (size > KMALLOC_MAX_CACHE_SIZE)
		return kmalloc_large(size, gfp);
	struct kmem_cache *s = kmalloc_caches[(gfp & __GFP_DMA) ? KMALLOC_DMA :
					      KMALLOC_NORMAL][kmalloc_index(size)];
	if (!s)
		return NULL;                   /* boot failed */
	void *obj = mag_alloc_caller(s, gfp, caller);
	if ((gfp & __GFP_ZERO) && obj && !slab_hook_zeroed(s, gfp))
		memset(obj, 0, s->object_size);
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
	if (unlikely(size - 1 >= kmalloc_limit() || (gfp & (__GFP_DMA | __GFP_ZERO))))
		return kmalloc_slow(size, gfp, _RET_IP_);
	kmalloc_limit_acquired();
	return mag_alloc(kmalloc_table[(size - 1) >> 3], gfp);
}

KMM_EXPORT void kfree(const void *p)
{
	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return;
	struct page *page = obj_to_page(p);
	if (unlikely(!page_test_flag(page, PG_slab))) {
		kfree_large(page, p);
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
	if (ZERO_OR_NULL_PTR(p))
		return 0;
	struct page *page = obj_to_page(p);
	if (page_test_flag(page, PG_slab))
		return page->slab_cache->object_size;
	page = obj_to_head_page(p);
	return PAGE_SIZE << (page_test_flag(page, PG_head) ? page_head_order(page) : 0);
}

KMM_EXPORT size_t kmalloc_size_roundup(size_t size)
{
	if (size && size <= KMALLOC_MAX_CACHE_SIZE)
		return kmalloc_size_of(kmalloc_index(size));
	if (size && size <= KMALLOC_MAX_SIZE)
		return PAGE_SIZE << get_order_large(size);
	return size;
}

KMM_EXPORT void *krealloc(const void *p, size_t new_size, gfp_t gfp)
{
	if (unlikely(!new_size)) {
		kfree(p);
		return ZERO_SIZE_PTR;
	}
	if (ZERO_OR_NULL_PTR(p))
		return kmalloc(new_size, gfp);
	size_t ks = ksize(p);
	if (new_size <= ks) {
		/* In place, growing or shrinking; __GFP_ZERO clears the tail. */
		if (gfp & __GFP_ZERO)
			memset((char *)p + new_size, 0, ks - new_size);
		return (void *)p;
	}
	void *ret = kmalloc(new_size, gfp);
	if (!ret)
		return NULL;
	memcpy(ret, p, ks);
	kfree(p);
	return ret;
}

KMM_EXPORT void kfree_sensitive(const void *p)
{
	size_t ks = ksize(p);
	if (ks) {
		memset((void *)p, 0, ks);
		__asm__ __volatile__("" : : "r"(p) : "memory");
	}
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
