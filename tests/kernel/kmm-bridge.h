/*
 * kmm-bridge.h - the libkmm calls that the kernel-test adapter (kmm-linux.c)
 * makes, in plain C types only.
 *
 * The adapter is compiled against the kernel's tools/include headers, which
 * define gfp_t, struct kmem_cache, kmalloc() and the rest their own way, so it
 * cannot include the <kmm/...> headers.  It calls these functions instead; kmm-bridge.c
 * implements them on <kmm/kmm.h>.  scripts/kernel-tests.sh links the bridge
 * and libkmm into one relocatable object whose only global symbols are the
 * kmmb_* names, so the harness's own kmem_cache_create(), kmalloc(), ...
 * (the adapter's) never meet libkmm's.
 *
 * The gfp bits below are libkmm's (<kmm/gfp.h>); kmm-bridge.c checks that at
 * compile time, and the adapter translates the kernel's bits to these.
 */
#ifndef KMM_BRIDGE_H
#define KMM_BRIDGE_H

#include <stddef.h>

#define KMMB_GFP_HIGH            0x20u
#define KMMB_GFP_IO              0x40u
#define KMMB_GFP_FS              0x80u
#define KMMB_GFP_ZERO            0x100u
#define KMMB_GFP_DIRECT_RECLAIM  0x400u
#define KMMB_GFP_KSWAPD_RECLAIM  0x800u
#define KMMB_GFP_NOWARN          0x2000u
#define KMMB_GFP_RETRY_MAYFAIL   0x4000u
#define KMMB_GFP_NOFAIL          0x8000u
#define KMMB_GFP_NORETRY         0x10000u
#define KMMB_GFP_ACCOUNT         0x400000u

void *kmmb_cache_create(const char *name, unsigned int size, unsigned int align,
			void (*ctor)(void *));
void *kmmb_cache_alloc(void *cache, unsigned int gfp);
void kmmb_cache_free(void *cache, void *obj);
int kmmb_cache_alloc_bulk(void *cache, unsigned int gfp, size_t n, void **p);
void kmmb_cache_free_bulk(void *cache, size_t n, void **p);
void kmmb_cache_shrink(void *cache);
void *kmmb_kmalloc(size_t size, unsigned int gfp);
void kmmb_kfree(const void *p);
/* kmm_check(): 0 when every invariant holds. */
int kmmb_check(void);

#endif /* KMM_BRIDGE_H */
