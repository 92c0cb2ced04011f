/*
 * kmm/slab.h - object caches (kmem_cache) and the kmalloc family.
 *
 * A kmem_cache hands out objects of one size from slabs (compound pages)
 * through per-CPU magazines.  kmalloc() serves sizes up to
 * KMALLOC_MAX_CACHE_SIZE from the caches kmalloc-8 .. kmalloc-8k and larger
 * ones, up to KMALLOC_MAX_SIZE, straight from the page allocator.
 *
 * Cache flags:
 *   SLAB_HWCACHE_ALIGN      align objects to the cache line (64 bytes).
 *   SLAB_CACHE_DMA(32)      slabs come from ZONE_DMA (ZONE_DMA32).
 *   SLAB_RECLAIM_ACCOUNT    counted as SReclaimable in meminfo.
 *   SLAB_PANIC              abort() when the cache cannot be created.
 *   SLAB_CONSISTENCY_CHECKS, SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER
 *                           the debug options of slub_debug= F, Z, P, U.
 */
#ifndef KMM_SLAB_H
#define KMM_SLAB_H

#include <kmm/types.h>
#include <kmm/gfp.h>
#include <kmm/mm.h>

typedef unsigned int slab_flags_t;

#define SLAB_CONSISTENCY_CHECKS  0x00000100u
#define SLAB_RED_ZONE            0x00000400u
#define SLAB_POISON              0x00000800u
#define SLAB_KMALLOC             0x00001000u
#define SLAB_HWCACHE_ALIGN       0x00002000u
#define SLAB_CACHE_DMA           0x00004000u
#define SLAB_CACHE_DMA32         0x00008000u
#define SLAB_STORE_USER          0x00010000u
#define SLAB_RECLAIM_ACCOUNT     0x00020000u
#define SLAB_PANIC               0x00040000u
#define SLAB_TYPESAFE_BY_RCU     0x00080000u
#define SLAB_ACCOUNT             0x04000000u

/* kmalloc(0) returns this: not NULL, but never to be dereferenced. */
#define ZERO_SIZE_PTR ((void *)16)
#define ZERO_OR_NULL_PTR(x) ((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

#define KMALLOC_SHIFT_LOW        3
#define KMALLOC_SHIFT_HIGH       13
#define KMALLOC_MIN_SIZE         (1UL << KMALLOC_SHIFT_LOW)
#define KMALLOC_MAX_CACHE_SIZE   (1UL << KMALLOC_SHIFT_HIGH)
#define KMALLOC_MAX_SIZE         (1UL << (MAX_PAGE_ORDER + PAGE_SHIFT))
#define ARCH_KMALLOC_MINALIGN    8

struct kmem_cache;
struct list_lru;

/* "Any node": libkmm has one node, node 0 (NODE_DATA(0)); the *_node()
 * calls take any node and allocate from it, as a kernel built without
 * CONFIG_NUMA does. */
#ifndef NUMA_NO_NODE
#define NUMA_NO_NODE (-1)
#endif

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
		unsigned int align, slab_flags_t flags, void (*ctor)(void *));
void kmem_cache_destroy(struct kmem_cache *s);
void *kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp);
void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t gfp);
void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t gfp, int node);
/* The kernel charges the object to a list_lru's memcg; libkmm has no
 * memcg, so lru is not used: kmem_cache_alloc(s, gfp). */
void *kmem_cache_alloc_lru(struct kmem_cache *s, struct list_lru *lru, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *s, void *obj);
int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t n, void **p);
void kmem_cache_free_bulk(struct kmem_cache *s, size_t n, void **p);
int kmem_cache_shrink(struct kmem_cache *s);
unsigned int kmem_cache_size(struct kmem_cache *s);
const char *kmem_cache_name(struct kmem_cache *s);

void *kmalloc(size_t size, gfp_t gfp);
void *kmalloc_node(size_t size, gfp_t gfp, int node);
void *kzalloc(size_t size, gfp_t gfp);
void *kcalloc(size_t n, size_t size, gfp_t gfp);
void *kmalloc_array(size_t n, size_t size, gfp_t gfp);
void *krealloc(const void *p, size_t new_size, gfp_t gfp);
void kfree(const void *p);
void kfree_sensitive(const void *p);
size_t ksize(const void *p);
size_t kmalloc_size_roundup(size_t size);
char *kstrdup(const char *s, gfp_t gfp);
char *kstrndup(const char *s, size_t max, gfp_t gfp);
void *kmemdup(const void *src, size_t len, gfp_t gfp);

void *kvmalloc(size_t size, gfp_t gfp);
void *kvmalloc_node(size_t size, gfp_t gfp, int node);
void *kvzalloc(size_t size, gfp_t gfp);
void *kvcalloc(size_t n, size_t size, gfp_t gfp);
void *kvrealloc(const void *p, size_t size, gfp_t gfp);
void kvfree(const void *p);

#endif /* KMM_SLAB_H */
