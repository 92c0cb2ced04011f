/*
 * kmm/mmzone.h - zones, free areas and the node.
 *
 * Memory is one node (node 0) of up to four zones, by PFN as on x86-64:
 *   ZONE_DMA      PFN 0 .. 16 MiB
 *   ZONE_DMA32    16 MiB .. 4 GiB
 *   ZONE_NORMAL   4 GiB .. mem= (or .. lowmem= when HighMem is configured)
 *   ZONE_HIGHMEM  lowmem= .. mem=, frames without a direct-map address
 * A zone that spans no memory is absent (spanned_pages == 0).
 *
 * Each zone runs its own buddy allocator: free_area[order] holds the free
 * blocks of 2^order frames, one list per migrate type.  A zone spans its
 * whole PFN range from boot (spanned_pages), but its 128 MiB sections come
 * online on demand, as memory hot-add: only then are their frames present
 * and managed (handed to the buddy allocator).  The counts are the
 * kernel's: nr_free_pages is NR_FREE_PAGES, the frames in free_area (the
 * sum of free_area[o].nr_free << o), never more than managed_pages; frames
 * on the per-CPU lists and of sections not online yet are not free pages.
 */
#ifndef KMM_MMZONE_H
#define KMM_MMZONE_H

#include <pthread.h>
#include <kmm/types.h>

#define MAX_PAGE_ORDER 10
#define NR_PAGE_ORDERS (MAX_PAGE_ORDER + 1)
#define pageblock_order 9
#define pageblock_nr_pages (1UL << pageblock_order)
#define PAGE_ALLOC_COSTLY_ORDER 3

enum migratetype {
	MIGRATE_UNMOVABLE,
	MIGRATE_MOVABLE,
	MIGRATE_RECLAIMABLE,
	MIGRATE_PCPTYPES,               /* the number of types on pcp lists */
	MIGRATE_HIGHATOMIC = MIGRATE_PCPTYPES,
	MIGRATE_TYPES
};

enum zone_type { ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_HIGHMEM, MAX_NR_ZONES };

enum zone_watermarks { WMARK_MIN, WMARK_LOW, WMARK_HIGH, NR_WMARK };

struct free_area {
	struct list_head free_list[MIGRATE_TYPES];
	unsigned long nr_free;          /* blocks of this order, all types */
};

struct zone {
	/* Read-mostly: set at boot, grown only by section hot-add. */
	const char *name;               /* "DMA" "DMA32" "Normal" "HighMem" */
	unsigned long zone_start_pfn;
	unsigned long spanned_pages;    /* PFN span given by mem= / lowmem= */
	unsigned long present_pages;    /* frames of the sections online */
	unsigned long managed_pages;    /* frames handed to the buddy allocator:
	                                   those of sections already online */
	unsigned long _watermark[NR_WMARK];
	long lowmem_reserve[MAX_NR_ZONES];  /* kept free for lower-zone users */
	void *per_cpu_pageset;          /* this zone's per-CPU page lists */
	unsigned long page_zone_flags;  /* flags of a page allocated here (its
	                                   zone for the free fast path; 0 when
	                                   hardening needs the slow paths) */

	/* Protected by lock. */
	pthread_mutex_t lock;
	struct free_area free_area[NR_PAGE_ORDERS];
	unsigned long nr_free_pages;    /* NR_FREE_PAGES: frames in free_area */
	unsigned long nr_dirty_free;    /* free frames in blocks >= pageblock
	                                   order still resident (not reported) */
	unsigned long nr_reported;      /* free frames given back to the host */
	unsigned long nr_isolated;      /* free frames off the lists while being
	                                   given back to the host */
	long last_release_ns;           /* when the release was last checked */
	unsigned long nr_sections_online;

	/* Statistics, updated with relaxed atomics. */
	unsigned long stat_alloc;       /* successful allocations */
	unsigned long stat_alloc_fail;  /* failed allocations */
	unsigned long stat_free;        /* frees */
	enum zone_type idx;
};

typedef struct pglist_data {
	struct zone node_zones[MAX_NR_ZONES];
	int nr_zones;                   /* highest populated zone + 1 */
	unsigned long node_start_pfn;
	unsigned long node_present_pages;  /* frames of the sections online */
	unsigned long node_spanned_pages;
	int node_id;
} pg_data_t;

pg_data_t *NODE_DATA(int nid);

static inline unsigned long zone_end_pfn(const struct zone *zone)
{
	return zone->zone_start_pfn + zone->spanned_pages;
}

static inline bool populated_zone(const struct zone *zone)
{
	return zone->present_pages != 0;
}

#endif /* KMM_MMZONE_H */
