/*
 * kmm-bridge.c - libkmm's side of the kernel-test adapter: thin calls into
 * the public API (<kmm/kmm.h>) under names the kernel's headers do not use.
 * See kmm-bridge.h for why the adapter cannot call libkmm directly.
 */
#include <kmm/kmm.h>

#include "kmm-bridge.h"

_Static_assert(KMMB_GFP_HIGH == __GFP_HIGH, "gfp bits");
_Static_assert(KMMB_GFP_IO == __GFP_IO, "gfp bits");
_Static_assert(KMMB_GFP_FS == __GFP_FS, "gfp bits");
_Static_assert(KMMB_GFP_ZERO == __GFP_ZERO, "gfp bits");
_Static_assert(KMMB_GFP_DIRECT_RECLAIM == __GFP_DIRECT_RECLAIM, "gfp bits");
_Static_assert(KMMB_GFP_KSWAPD_RECLAIM == __GFP_KSWAPD_RECLAIM, "gfp bits");
_Static_assert(KMMB_GFP_NOWARN == __GFP_NOWARN, "gfp bits");
_Static_assert(KMMB_GFP_RETRY_MAYFAIL == __GFP_RETRY_MAYFAIL, "gfp bits");
_Static_assert(KMMB_GFP_NOFAIL == __GFP_NOFAIL, "gfp bits");
_Static_assert(KMMB_GFP_NORETRY == __GFP_NORETRY, "gfp bits");
_Static_assert(KMMB_GFP_ACCOUNT == __GFP_ACCOUNT, "gfp bits");

void *kmmb_cache_create(const char *name, unsigned int size, unsigned int align,
			void (*ctor)(void *))
{
	return kmem_cache_create(name, size, align, SLAB_PANIC, ctor);
}

void *kmmb_cache_alloc(void *cache, unsigned int gfp)
{
	return kmem_cache_alloc(cache, gfp);
}

void kmmb_cache_free(void *cache, void *obj)
{
	kmem_cache_free(cache, obj);
}

int kmmb_cache_alloc_bulk(void *cache, unsigned int gfp, size_t n, void **p)
{
	return kmem_cache_alloc_bulk(cache, gfp, n, p);
}

void kmmb_cache_free_bulk(void *cache, size_t n, void **p)
{
	kmem_cache_free_bulk(cache, n, p);
}

void kmmb_cache_shrink(void *cache)
{
	kmem_cache_shrink(cache);
}

void *kmmb_kmalloc(size_t size, unsigned int gfp)
{
	return kmalloc(size, gfp);
}

void kmmb_kfree(const void *p)
{
	kfree(p);
}

int kmmb_check(void)
{
	return kmm_check();
}
