/*
 * kvmalloc.c - kvmalloc() and friends: physically contiguous memory when it
 * is cheap to get, virtually contiguous memory otherwise.
 *
 * As the kernel's mm/util.c: kmalloc is tried first; for a request larger
 * than a page it is told not to warn and not to retry hard (__GFP_NOWARN,
 * __GFP_NORETRY unless the caller asked for __GFP_RETRY_MAYFAIL, never
 * __GFP_NOFAIL), since vmalloc is a good answer for it.  A request of a
 * page or less that kmalloc cannot meet fails: vmalloc would not do better.
 * A request above INT_MAX fails, with a warning the first time unless
 * __GFP_NOWARN (the kernel's WARN_ON_ONCE).  kvfree() tells the two apart
 * with is_vmalloc_addr(); kvrealloc() of a pointer neither allocator
 * handed out reports it (as krealloc does) and returns NULL.
 */
#include "config.h"
#include <string.h>
#include "slab.h"

static gfp_t kmalloc_gfp_adjust(gfp_t gfp, size_t size)
{
	if (size > PAGE_SIZE) {
		gfp |= __GFP_NOWARN;
		if (!(gfp & __GFP_RETRY_MAYFAIL))
			gfp |= __GFP_NORETRY;
		gfp &= ~__GFP_NOFAIL;
	}
	return gfp;
}

KMM_EXPORT void *kvmalloc(size_t size, gfp_t gfp)
{
	void *p = kmalloc(size, kmalloc_gfp_adjust(gfp, size));
	if (p || size <= PAGE_SIZE)
		return p;
	if (size > (size_t)__INT_MAX__) {
		static AO_t warned;
		if (!(gfp & __GFP_NOWARN) && !AO_fetch_and_add1(&warned))
			slab_warn(_RET_IP_, "kvmalloc(%zu): more than INT_MAX bytes\n", size);
		return NULL;
	}
	return __vmalloc(size, gfp);
}

/* One node (NUMA_NO_NODE or any other: node 0), as without CONFIG_NUMA. */
KMM_EXPORT void *kvmalloc_node(size_t size, gfp_t gfp, int node)
{
	(void)node;
	return kvmalloc(size, gfp);
}

KMM_EXPORT void *kvzalloc(size_t size, gfp_t gfp)
{
	return kvmalloc(size, gfp | __GFP_ZERO);
}

KMM_EXPORT void *kvcalloc(size_t n, size_t size, gfp_t gfp)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return kvmalloc(bytes, gfp | __GFP_ZERO);
}

KMM_EXPORT void *kvrealloc(const void *p, size_t size, gfp_t gfp)
{
	void *n;
	if (is_vmalloc_addr(p))
		return vrealloc(p, size, gfp);
	if (!ZERO_OR_NULL_PTR(p) && !kmalloc_object_size(p, "kvrealloc", _RET_IP_))
		return NULL;                    /* reported: not kmalloc's */
	n = krealloc(p, size, kmalloc_gfp_adjust(gfp, size));
	if (!n && size) {
		/* kmalloc could not: fall back to kvmalloc(), and copy. */
		n = kvmalloc(size, gfp);
		if (!n)
			return NULL;
		if (!ZERO_OR_NULL_PTR(p)) {
			size_t old = ksize(p);
			memcpy(n, p, old < size ? old : size);
			kfree(p);
		}
	}
	return n;
}

KMM_EXPORT void kvfree(const void *p)
{
	if (is_vmalloc_addr(p))
		vfree(p);
	else
		kfree(p);
}
