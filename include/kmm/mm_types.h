/*
 * kmm/mm_types.h - struct page, the descriptor of one 4 KiB page frame.
 *
 * Every frame of emulated physical memory has one struct page in mem_map,
 * indexed by PFN.  A struct page that was never written (all zeroes) is a
 * valid state: not free, not in use, reference count 0.  That lets sections
 * come online without touching their mem_map, as the kernel's deferred
 * struct page initialisation does.
 *
 * The union holds what the page's current owner keeps in it:
 *   - a free buddy block's head (PG_buddy): lru on the zone's free list,
 *     private = the block's order;
 *   - a page on a per-CPU list (PG_pcp): lru, private = order;
 *   - a slab's head page (PG_slab): the slab descriptor fields;
 *   - a tail page of a compound page: compound_head = head | 1.  Bit 0 of
 *     the first word is set only in a live tail page, never elsewhere;
 *   - every page of a slab, head and tails, has PG_slab and slab_cache
 *     (the second word: a tail keeps compound_head in the first), so
 *     kfree() finds an object's cache from its own struct page, without
 *     the compound_head step.
 * The compound order of a head page (PG_head) is kept in flags.
 */
#ifndef KMM_MM_TYPES_H
#define KMM_MM_TYPES_H

#include <kmm/types.h>

struct kmem_cache;

struct page {
	unsigned long flags;            /* PG_* bits, compound order (head) */
	union {
		struct {                    /* free block, per-CPU list, plain use */
			struct list_head lru;
			unsigned long private;  /* order of a free block */
		};
		struct {                    /* slab head page (struct slab) */
			void *freelist;         /* first free object; in a tail
			                           page this word is compound_head */
			struct kmem_cache *slab_cache;  /* in every page of the slab */
			struct list_head slab_list;  /* on the cache's partial list */
			unsigned int inuse;     /* objects handed out */
			unsigned int objects;   /* objects in the slab */
		};
		struct {                    /* tail page of a compound page */
			unsigned long compound_head;  /* head page | 1 */
		};
	};
	unsigned int _refcount;         /* page_count(); atomic */
	int _mapcount;                  /* kmap() nesting of a HighMem page */
	void *virtual;                  /* kmap() address of a HighMem page */
};

/*
 * Page flags.  PG_buddy and PG_pcp are page types in the kernel; here they
 * are bits, with the same meaning.
 */
enum pageflags {
	PG_locked,
	PG_referenced,
	PG_uptodate,
	PG_dirty,
	PG_lru,
	PG_head,        /* head page of a compound page */
	PG_reserved,    /* never handed to the buddy allocator */
	PG_private,
	PG_slab,        /* a page of a slab (head and tails) */
	PG_buddy,       /* head of a free block in a zone's free_area */
	PG_pcp,         /* on a per-CPU page list */
	PG_reported,    /* free block given back to the host: reads as zeroes */
	PG_vmalloc,     /* frame backing a vmalloc area */
	__NR_PAGEFLAGS
};

#define PAGE_ORDER_SHIFT 24             /* compound order lives in flags */
#define PAGE_ORDER_MASK  (0xfful << PAGE_ORDER_SHIFT)
/* An allocated page records its zone + 1 in flags (0: not recorded). */
#define PAGE_ZONE_SHIFT  56
#define PAGE_ZONE_MASK   (0x7ul << PAGE_ZONE_SHIFT)
/* ... and the pcp migrate type it was allocated from. */
#define PAGE_MT_SHIFT    52
#define PAGE_MT_MASK     (0x3ul << PAGE_MT_SHIFT)

#endif /* KMM_MM_TYPES_H */
