/*
 * page_alloc.h - the page allocator's parts as seen by each other:
 * buddy.c (free_area of one zone), pcp.c (per-CPU page lists) and
 * page_alloc.c (zonelists, watermarks, GFP, the public entry points).
 */
#ifndef KMM_LIB_PAGE_ALLOC_H
#define KMM_LIB_PAGE_ALLOC_H

#include "internal.h"

/* buddy.c: under zone->lock unless said otherwise */
void buddy_free_locked(struct zone *zone, unsigned long pfn, unsigned int order,
		       bool reported);
struct page *buddy_alloc_locked(struct zone *zone, unsigned int order, int mt);
int buddy_check_zone_locked(struct zone *zone);
void buddy_release_tick(struct zone *zone);           /* no lock held */
unsigned long buddy_release_all(struct zone *zone);   /* no lock held */

/* pcp.c */
unsigned int pcp_detect_nr_cpus(void);
int pcp_init(void);
void pcp_setup_zone(struct zone *zone);
struct page *pcp_alloc(struct zone *zone, unsigned int order, int mt);
void pcp_free(struct zone *zone, struct page *page, unsigned long pfn,
	      unsigned int order);
void pcp_drain_zone(struct zone *zone);
unsigned long pcp_count_zone(const struct zone *zone);
void pcp_stats_zone(const struct zone *zone, unsigned long *allocs,
		    unsigned long *frees);
int pcp_check(void);
void pcp_lock_all(void);
void pcp_unlock_all(void);

/* page_alloc.c */
unsigned long zone_free_frames(const struct zone *zone);

#endif /* KMM_LIB_PAGE_ALLOC_H */
