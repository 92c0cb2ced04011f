/*
 * fragment.h - white-box test helper: leave no free block of order 1 or
 * more anywhere, with half of memory free as single frames:
 *
 *   pfn   0 1 2 3 4 5 6 7 ...
 *         . x . x . x . x      (. free, x allocated)
 *
 * fragment_memory() takes every frame (what the watermarks keep back too,
 * straight from the buddy allocator), then frees those of even PFN.
 * unfragment_memory() frees the rest.  Needs lib/internal.h and
 * lib/page_alloc.h, so only tests linked with the core library use it.
 */
#ifndef KMM_TESTS_FRAGMENT_H
#define KMM_TESTS_FRAGMENT_H

#include <stdlib.h>

struct fragmentation {
	struct page **held;            /* the odd frames, by pfn */
	unsigned long nr;
};

static int fragment_cmp_page(const void *a, const void *b)
{
	unsigned long x = (unsigned long)*(struct page *const *)a;
	unsigned long y = (unsigned long)*(struct page *const *)b;
	return x < y ? -1 : x > y;
}

static inline struct fragmentation fragment_memory(void)
{
	unsigned long max = totalram_pages(), n = 0;
	struct page **all = calloc(max, sizeof(*all));
	struct page *pg;
	while ((pg = alloc_page(GFP_ATOMIC | __GFP_NOWARN)) != NULL)
		all[n++] = pg;
	drain_all_pages(NULL);
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &NODE_DATA(0)->node_zones[z];
		if (!zone->spanned_pages)
			continue;
		pthread_mutex_lock(&zone->lock);
		while ((pg = buddy_alloc_locked(zone, 0, MIGRATE_MOVABLE)) != NULL) {
			pg->flags = 0;
			pg->private = 0;
			set_page_count(pg, 1);
			all[n++] = pg;
		}
		pthread_mutex_unlock(&zone->lock);
	}
	ck_assert_uint_eq(nr_free_pages(), 0);
	qsort(all, n, sizeof(*all), fragment_cmp_page);     /* pfn order */
	unsigned long kept = 0;
	for (unsigned long i = 0; i < n; i++) {
		if (page_to_pfn(all[i]) % 2 == 0)
			__free_page(all[i]);
		else
			all[kept++] = all[i];
	}
	drain_all_pages(NULL);
	for (int z = 0; z < MAX_NR_ZONES; z++)
		for (int o = 1; o < NR_PAGE_ORDERS; o++)
			ck_assert_msg(NODE_DATA(0)->node_zones[z].free_area[o].nr_free == 0,
				      "zone %d has a free block of order %d", z, o);
	return (struct fragmentation){ all, kept };
}

static inline void unfragment_memory(struct fragmentation *f)
{
	for (unsigned long i = 0; i < f->nr; i++)
		__free_page(f->held[i]);
	free(f->held);
	f->held = NULL;
	f->nr = 0;
}

#endif /* KMM_TESTS_FRAGMENT_H */
