/*
 * kmm/gfp.h - "get free pages" flags and the page allocator's entry points.
 *
 * The bit values are the kernel's, so a mode printed by libkmm
 * ("mode:0xcc0(GFP_KERNEL)") reads the same as one printed by Linux.
 *
 * Zone modifiers pick where memory may come from:
 *   __GFP_DMA       only ZONE_DMA (below 16 MiB).
 *   __GFP_DMA32     ZONE_DMA32, then ZONE_DMA (below 4 GiB).
 *   __GFP_HIGHMEM   ZONE_HIGHMEM first when it exists; the page may have no
 *                   direct-map address (use kmap()).
 *   (none)          ZONE_NORMAL, then DMA32, then DMA.
 *
 * Watermark modifiers:
 *   __GFP_HIGH      the caller is important: may dig below the min watermark
 *                   (GFP_ATOMIC sets it).  Use for allocations that cannot
 *                   wait and must not fail often, never by default.
 *
 * Action modifiers:
 *   __GFP_ZERO      the memory is zeroed (free when it is known to be zero).
 *   __GFP_COMP      a compound page: head and tails, compound_order() answers.
 *   __GFP_NOWARN    no "page allocation failure" warning on failure.
 *   __GFP_NORETRY, __GFP_RETRY_MAYFAIL
 *                   fail fast; libkmm never loops, so these only suppress
 *                   the memory hot-add that a plain request may trigger.
 *   __GFP_NOFAIL    the caller cannot handle failure; libkmm retries (and
 *                   brings sections online) until memory is found, and
 *                   warns when it has to wait.  Avoid it.
 *
 * Reclaim modifiers (__GFP_DIRECT_RECLAIM, __GFP_KSWAPD_RECLAIM, __GFP_IO,
 * __GFP_FS) are accepted and recorded; there is no reclaim in user space.
 */
#ifndef KMM_GFP_H
#define KMM_GFP_H

#include <kmm/types.h>

typedef unsigned int gfp_t;

#define __GFP_DMA             0x01u
#define __GFP_HIGHMEM         0x02u
#define __GFP_DMA32           0x04u
#define __GFP_MOVABLE         0x08u
#define __GFP_RECLAIMABLE     0x10u
#define __GFP_HIGH            0x20u
#define __GFP_IO              0x40u
#define __GFP_FS              0x80u
#define __GFP_ZERO            0x100u
#define __GFP_DIRECT_RECLAIM  0x400u
#define __GFP_KSWAPD_RECLAIM  0x800u
#define __GFP_WRITE           0x1000u
#define __GFP_NOWARN          0x2000u
#define __GFP_RETRY_MAYFAIL   0x4000u
#define __GFP_NOFAIL          0x8000u
#define __GFP_NORETRY         0x10000u
#define __GFP_MEMALLOC        0x20000u
#define __GFP_COMP            0x40000u
#define __GFP_NOMEMALLOC      0x80000u
#define __GFP_HARDWALL        0x100000u
#define __GFP_THISNODE        0x200000u
#define __GFP_ACCOUNT         0x400000u

/* Older name of __GFP_DIRECT_RECLAIM. */
#define __GFP_WAIT            __GFP_DIRECT_RECLAIM
#define __GFP_RECLAIM         (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)

#define GFP_ATOMIC            (__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL            (__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_NOWAIT            (__GFP_KSWAPD_RECLAIM)
#define GFP_NOIO              (__GFP_RECLAIM)
#define GFP_NOFS              (__GFP_RECLAIM | __GFP_IO)
#define GFP_USER              (__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL)
#define GFP_DMA               (__GFP_DMA)
#define GFP_DMA32             (__GFP_DMA32)
#define GFP_HIGHUSER          (GFP_USER | __GFP_HIGHMEM)
#define GFP_HIGHUSER_MOVABLE  (GFP_HIGHUSER | __GFP_MOVABLE)

struct page;
struct zone;

struct page *alloc_pages(gfp_t gfp, unsigned int order);
struct page *alloc_page(gfp_t gfp);
void __free_pages(struct page *page, unsigned int order);
void __free_page(struct page *page);
unsigned long __get_free_pages(gfp_t gfp, unsigned int order);
unsigned long __get_free_page(gfp_t gfp);
unsigned long get_zeroed_page(gfp_t gfp);
void free_pages(unsigned long addr, unsigned int order);
void free_page(unsigned long addr);
void *alloc_pages_exact(size_t size, gfp_t gfp);
void free_pages_exact(void *virt, size_t size);
void drain_all_pages(struct zone *zone);

#endif /* KMM_GFP_H */
