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
 * __GFP_DIRECT_RECLAIM still means "the caller may sleep": fault injection
 * skips such requests by default (ignore_gfp_wait, kmm.conf(5)), as the
 * kernel's fail_page_alloc and failslab do.  __GFP_ACCOUNT (charge to the
 * memory cgroup) is accepted and recorded; there are no cgroups here.
 *
 * The combinations, as Linux 6.18's include/linux/gfp_types.h:
 *   GFP_KERNEL      the usual one for kernel-internal allocations: may
 *                   sleep (direct reclaim), may start I/O and call into
 *                   the filesystem.
 *   GFP_KERNEL_ACCOUNT  GFP_KERNEL, charged to the memory cgroup of the
 *                   caller (for memory a user can make the kernel hold).
 *   GFP_ATOMIC      the caller cannot sleep and must not fail: may use the
 *                   reserves below the min watermark.
 *   GFP_NOWAIT      the caller cannot sleep and copes with failure; since
 *                   6.18 it includes __GFP_NOWARN, so a failure prints no
 *                   warning (add nothing to get one back; use GFP_ATOMIC
 *                   when failing is not an option).
 *   GFP_NOIO, GFP_NOFS  may reclaim, but not start I/O / call into the
 *                   filesystem (prefer the memalloc_no*_save() scopes).
 *   GFP_USER        for user-space memory the kernel also touches.
 *   GFP_DMA, GFP_DMA32  the zone modifiers above, for old devices.
 *   GFP_HIGHUSER, GFP_HIGHUSER_MOVABLE  user-space pages that may live in
 *                   HighMem (and be migrated): map them with kmap().
 *   GFP_TRANSHUGE_LIGHT  transparent huge pages without reclaim or
 *                   compaction: a compound page, no warning, no reserves.
 *   GFP_TRANSHUGE   the same, allowed direct reclaim (may sleep).
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
#define GFP_KERNEL_ACCOUNT    (GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_NOWAIT            (__GFP_KSWAPD_RECLAIM | __GFP_NOWARN)
#define GFP_NOIO              (__GFP_RECLAIM)
#define GFP_NOFS              (__GFP_RECLAIM | __GFP_IO)
#define GFP_USER              (__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL)
#define GFP_DMA               (__GFP_DMA)
#define GFP_DMA32             (__GFP_DMA32)
#define GFP_HIGHUSER          (GFP_USER | __GFP_HIGHMEM)
#define GFP_HIGHUSER_MOVABLE  (GFP_HIGHUSER | __GFP_MOVABLE)
#define GFP_TRANSHUGE_LIGHT   ((GFP_HIGHUSER_MOVABLE | __GFP_COMP | \
				__GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM)
#define GFP_TRANSHUGE         (GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM)

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
