/*
 * buddy.c - the binary buddy allocator of one zone, and the release of its
 * free memory to the host.
 *
 * THE BUDDY ALGORITHM
 *
 * A zone's free frames are kept as naturally aligned blocks of 2^order
 * frames, order 0 .. MAX_PAGE_ORDER, on free_area[order].free_list[mt].
 * The head struct page of a free block has PG_buddy set and its order in
 * page->private; no other page of the block has PG_buddy.
 *
 * The buddy of the block at `pfn` of order `o` is the block at
 * pfn ^ (1 << o): the other half of the block of order o + 1 that contains
 * both.  Freeing a block looks at its buddy: if the buddy is a free block
 * of the same order, the two are unlinked and merged, and the merged block
 * looks at its own buddy, up to MAX_PAGE_ORDER.  Allocating order `o` takes
 * the smallest free block of order >= o and splits it, giving the upper
 * halves back to the lists one order lower each time (expand()).
 *
 * Zones, sections and mem= are all multiples of a MAX_PAGE_ORDER block, so
 * a buddy always lies in the same zone and the same (online) section: the
 * PageBuddy + order test alone decides whether two blocks merge.
 *
 * MIGRATE TYPES
 *
 * Every pageblock (2 MiB) has a migrate type (mem.pageblock_mt).  A free
 * block sits on the list of its head pageblock's type.  An allocation takes
 * from its own type's lists first; when they are empty it falls back to the
 * largest block of another type and, when that block covers whole
 * pageblocks, claims them for its own type (as the kernel's steal).
 *
 * RELEASE TO THE HOST (the kernel's free page reporting)
 *
 * A free block of pageblock order or more is "dirty" until its memory has
 * been given back with madvise, after which PG_reported marks it as reading
 * zeroes.  Dirty blocks are kept at the head of their list, reported ones at
 * the tail, so allocations reuse resident memory first.  Releasing costs a
 * page fault per 4 KiB when the memory is touched again (about 18 us here),
 * so it must not hit memory about to be reused.  A dirty block records
 * when it became free (in page->virtual, unused while a block is free);
 * blocks that have sat free longer than page_reporting.delay (1 s) are
 * released, oldest first, as long as more than page_reporting.reserve
 * (16 MiB) of dirty free memory remains.  The check runs on the paths that
 * give frames back to the zone (a drain of a CPU's list, a large free), at
 * most four times per delay.  The blocks are taken off the lists
 * (nr_isolated) while the zone lock is dropped for madvise, then freed back
 * with PG_reported, and merge as usual.  Split and merged blocks keep
 * PG_reported only when all their parts had it.
 *
 * Measured with bench/bench_release (10 rounds of touching and freeing
 * 256 MiB): releasing at once costs 91 ms a round against 1.8 ms with the
 * delay, 31 ms with transparent huge pages (thp=1), so releasing at once is
 * never the default; thp=1 is left off because a huge page makes every
 * first touch fault in 2 MiB, against the start-up RSS target.
 *
 * LOCKING: every function here named _locked runs under zone->lock.
 */
#include "config.h"
#include <string.h>
#include "internal.h"
#include "page_alloc.h"

static inline void account_free_block(struct zone *zone, unsigned int order,
				      bool reported, long sign)
{
	long nr = (long)(1UL << order) * sign;
	ADD_ONCE(zone->nr_free_pages, (unsigned long)nr);
	ADD_ONCE(zone->free_area[order].nr_free, (unsigned long)sign);
	if (reported)
		ADD_ONCE(zone->nr_reported, (unsigned long)nr);
	else if (order >= pageblock_order)
		ADD_ONCE(zone->nr_dirty_free, (unsigned long)nr);
}

static inline void add_to_free_list(struct zone *zone, struct page *page,
				    unsigned long pfn, unsigned int order,
				    bool reported)
{
	int mt = pageblock_migratetype(pfn);
	page->flags = (1UL << PG_buddy) | (reported ? 1UL << PG_reported : 0);
	page->private = order;
	if (!reported && order >= pageblock_order)
		page->virtual = (void *)kmm_now_ns();   /* when it became free */
	/* page_alloc.shuffle: a freed top-order block goes to a random end, as
	 * the kernel's shuffle_pick_tail(). */
	if (reported || (unlikely(machine.conf.shuffle) && order == MAX_PAGE_ORDER &&
			 (kmm_random(&machine.pa.shuffle_rng) & 1)))
		list_add_tail(&page->lru, &zone->free_area[order].free_list[mt]);
	else
		list_add(&page->lru, &zone->free_area[order].free_list[mt]);
	account_free_block(zone, order, reported, 1);
}

static inline void del_from_free_list(struct zone *zone, struct page *page,
				      unsigned int order)
{
	bool reported = page_test_flag(page, PG_reported);
	list_del(&page->lru);
	page->flags = 0;
	page->private = 0;
	page->virtual = NULL;
	account_free_block(zone, order, reported, -1);
}

/*
 * Is the block at `buddy` a free block of `order`?  PG_buddy and its order
 * are written only under zone->lock, which the caller holds; the page may
 * be in use by someone else, who writes its other fields without the lock.
 */
static __data_racy bool page_is_buddy(const struct page *buddy, unsigned int order)
{
	return (buddy->flags & (1UL << PG_buddy)) && buddy->private == order;
}

/*
 * __free_one_page(): give the block [pfn, pfn + 2^order) to the zone,
 * merging it with its buddies as far as they are free.
 */
void buddy_free_locked(struct zone *zone, unsigned long pfn, unsigned int order,
		       bool reported)
{
	while (order < MAX_PAGE_ORDER) {
		unsigned long buddy_pfn = pfn ^ (1UL << order);
		struct page *buddy = page_of(buddy_pfn);
		if (!page_is_buddy(buddy, order))
			break;
		reported = reported && page_test_flag(buddy, PG_reported);
		del_from_free_list(zone, buddy, order);
		pfn &= buddy_pfn;
		order++;
	}
	add_to_free_list(zone, page_of(pfn), pfn, order, reported);
}

/* Split a block of order `high` at pfn down to `low`, freeing upper halves. */
static void expand(struct zone *zone, unsigned long pfn, unsigned int low,
		   unsigned int high, bool reported)
{
	while (high > low) {
		high--;
		unsigned long half = pfn + (1UL << high);
		add_to_free_list(zone, page_of(half), half, high, reported);
	}
}

static struct page *take_block(struct zone *zone, struct page *page,
			       unsigned int current_order, unsigned int order)
{
	unsigned long pfn = pfn_of(page);
	bool reported = page_test_flag(page, PG_reported);
	del_from_free_list(zone, page, current_order);
	expand(zone, pfn, order, current_order, reported);
	if (reported)
		page_set_flag(page, PG_reported);   /* tells prep: reads zero */
	return page;
}

static struct page *rmqueue_smallest(struct zone *zone, unsigned int order, int mt)
{
	for (unsigned int o = order; o <= MAX_PAGE_ORDER; o++) {
		struct list_head *list = &zone->free_area[o].free_list[mt];
		if (!list_empty(list))
			return take_block(zone, list_first_entry(list, struct page, lru), o, order);
	}
	return NULL;
}

static const int fallbacks[MIGRATE_TYPES][MIGRATE_TYPES - 1] = {
	[MIGRATE_UNMOVABLE]   = { MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE, MIGRATE_HIGHATOMIC },
	[MIGRATE_MOVABLE]     = { MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE, MIGRATE_HIGHATOMIC },
	[MIGRATE_RECLAIMABLE] = { MIGRATE_UNMOVABLE, MIGRATE_MOVABLE, MIGRATE_HIGHATOMIC },
	[MIGRATE_HIGHATOMIC]  = { MIGRATE_UNMOVABLE, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE },
};

/* __rmqueue_fallback(): steal the largest block of another type. */
static struct page *rmqueue_fallback(struct zone *zone, unsigned int order, int mt)
{
	for (int o = MAX_PAGE_ORDER; o >= (int)order; o--) {
		for (int i = 0; i < MIGRATE_TYPES - 1; i++) {
			struct list_head *list = &zone->free_area[o].free_list[fallbacks[mt][i]];
			if (list_empty(list))
				continue;
			struct page *page = list_first_entry(list, struct page, lru);
			if (o >= pageblock_order) {
				/* Claim the whole pageblocks; remainders follow. */
				unsigned long pfn = pfn_of(page);
				for (unsigned long b = 0; b < (1UL << o); b += pageblock_nr_pages)
					machine.mem.pageblock_mt[(pfn + b) >> pageblock_order] =
						(unsigned char)mt;
			}
			return take_block(zone, page, (unsigned int)o, order);
		}
	}
	return NULL;
}

struct page *buddy_alloc_locked(struct zone *zone, unsigned int order, int mt)
{
	struct page *page = rmqueue_smallest(zone, order, mt);
	if (unlikely(!page))
		page = rmqueue_fallback(zone, order, mt);
	return page;
}

/* ------------------------------------------------------------------ */
/* Release to the host                                                 */

#define RELEASE_BATCH 64                 /* blocks isolated per lock hold */

/*
 * Release up to `target` frames of dirty free blocks (order >= pageblock
 * order) that became free before `cutoff_ns`, oldest first.  Returns the
 * frames released.
 */
static unsigned long release_dirty(struct zone *zone, unsigned long target, long cutoff_ns)
{
	unsigned long released = 0;
	while (released < target) {
		unsigned long pfns[RELEASE_BATCH];
		unsigned int orders[RELEASE_BATCH];
		unsigned long taken = 0, want = target - released;
		int n = 0;

		pthread_mutex_lock(&zone->lock);
		for (int o = MAX_PAGE_ORDER; o >= pageblock_order; o--) {
			for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
				struct list_head *list = &zone->free_area[o].free_list[mt];
				/* Dirty blocks sit before reported ones, newest first:
				 * find the end of the dirty run, then take from there
				 * backwards while they are old enough. */
				struct list_head *pos = list->next;
				while (pos != list &&
				       !page_test_flag(list_entry(pos, struct page, lru), PG_reported))
					pos = pos->next;
				pos = pos->prev;
				while (pos != list && n < RELEASE_BATCH && taken < want) {
					struct page *page = list_entry(pos, struct page, lru);
					if ((long)page->virtual > cutoff_ns)
						break;
					pos = pos->prev;
					pfns[n] = pfn_of(page);
					orders[n] = (unsigned int)o;
					del_from_free_list(zone, page, (unsigned int)o);
					ADD_ONCE(zone->nr_isolated, 1UL << o);
					taken += 1UL << o;
					n++;
				}
			}
		}
		pthread_mutex_unlock(&zone->lock);
		if (n == 0)
			break;

		for (int i = 0; i < n; i++)
			memory_release_range(pfns[i], 1UL << orders[i]);

		pthread_mutex_lock(&zone->lock);
		for (int i = 0; i < n; i++) {
			ADD_ONCE(zone->nr_isolated, -(1UL << orders[i]));
			buddy_free_locked(zone, pfns[i], orders[i], true);
		}
		pthread_mutex_unlock(&zone->lock);
		released += taken;
	}
	return released;
}

/*
 * Called without locks from the paths that give frames back to the zone.
 * Cheap unless a release may be due: one compare, then a clock read.
 */
void buddy_release_tick(struct zone *zone)
{
	unsigned long reserve = machine.conf.release_reserve >> PAGE_SHIFT;
	if (likely(READ_ONCE(zone->nr_dirty_free) <= reserve))
		return;
	long now = kmm_now_ns();
	long delay = (long)machine.conf.release_delay_ms * 1000000L;
	unsigned long target = 0;

	pthread_mutex_lock(&zone->lock);
	if (now - zone->last_release_ns >= delay / 4 && zone->nr_dirty_free > reserve) {
		zone->last_release_ns = now;
		target = zone->nr_dirty_free - reserve;
	}
	pthread_mutex_unlock(&zone->lock);
	if (target)
		release_dirty(zone, target, now - delay);
}

unsigned long buddy_release_all(struct zone *zone)
{
	return release_dirty(zone, ~0UL >> 1, (long)(~0UL >> 1));
}

/* ------------------------------------------------------------------ */
/* Invariants                                                          */

int buddy_check_zone_locked(struct zone *zone)
{
	int problems = 0;
	unsigned long total = 0, dirty = 0, reported = 0;
	for (unsigned int o = 0; o <= MAX_PAGE_ORDER; o++) {
		unsigned long blocks = 0;
		for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
			struct list_head *pos;
			list_for_each(pos, &zone->free_area[o].free_list[mt]) {
				struct page *page = list_entry(pos, struct page, lru);
				unsigned long pfn = pfn_of(page);
				blocks++;
				if (!page_test_flag(page, PG_buddy) || page->private != o) {
					kmm_printk("kmm_check: zone %s: pfn %#lx on free_area[%u] "
						   "is not a free block of that order\n",
						   zone->name, pfn, o);
					problems++;
				}
				if (!IS_ALIGNED(pfn, 1UL << o) || pfn < zone->zone_start_pfn ||
				    pfn + (1UL << o) > zone_end_pfn(zone)) {
					kmm_printk("kmm_check: zone %s: free block pfn %#lx order %u "
						   "misaligned or outside the zone\n", zone->name, pfn, o);
					problems++;
				}
				if (pageblock_migratetype(pfn) != mt) {
					kmm_printk("kmm_check: zone %s: free block pfn %#lx on the "
						   "list of migratetype %d, its pageblock is %d\n",
						   zone->name, pfn, mt, pageblock_migratetype(pfn));
					problems++;
				}
				if (page->_refcount != 0) {
					kmm_printk("kmm_check: zone %s: free block pfn %#lx has "
						   "refcount %u\n", zone->name, pfn, page->_refcount);
					problems++;
				}
				if (page_test_flag(page, PG_reported))
					reported += 1UL << o;
				else if (o >= pageblock_order)
					dirty += 1UL << o;
				total += 1UL << o;
			}
		}
		if (blocks != zone->free_area[o].nr_free) {
			kmm_printk("kmm_check: zone %s: free_area[%u].nr_free is %lu, "
				   "its lists hold %lu blocks\n", zone->name, o,
				   zone->free_area[o].nr_free, blocks);
			problems++;
		}
	}
	if (total != zone->nr_free_pages || dirty != zone->nr_dirty_free ||
	    reported != zone->nr_reported) {
		kmm_printk("kmm_check: zone %s: counters free/dirty/reported %lu/%lu/%lu, "
			   "lists hold %lu/%lu/%lu\n", zone->name, zone->nr_free_pages,
			   zone->nr_dirty_free, zone->nr_reported, total, dirty, reported);
		problems++;
	}
	return problems;
}
