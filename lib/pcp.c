/*
 * pcp.c - per-CPU page lists, the page allocator's fast path.
 *
 * Each zone has, for every CPU, lists of free blocks of order 0 ..
 * PAGE_ALLOC_COSTLY_ORDER (3), one per pcp migrate type.  Allocating and
 * freeing such a block touches only the CPU's lists; the zone lock is taken
 * once per `batch` frames, to refill an empty list from the buddy allocator
 * or to give `batch` frames back when the CPU holds more than `high`.
 *
 * Blocks on a pcp list have PG_pcp and their order in page->private; they
 * count as free for nr_free_pages() but not for the zone's free_area (as in
 * the kernel), which is why a failing allocation drains every CPU's lists
 * before it gives up.
 *
 * CPU MODEL: the list used is that of the CPU the thread runs on
 * (percpu.h).  The thread may migrate between reading the CPU number and
 * taking the lock; that only means it uses another CPU's lists for one
 * operation, which is correct because every list has its own lock.
 * The lock is a spinlock (kmm_spinlock_t) that yields after a short spin,
 * uncontended in the common case: about 10 instructions.
 *
 * LOCKING: pcp->lock, then zone->lock (refill and drain).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "page_alloc.h"

int pcp_init(void)
{
	size_t n = (size_t)MAX_NR_ZONES * nr_cpu_ids;
	size_t size = ALIGN_UP(n * sizeof(struct per_cpu_pages), PAGE_SIZE);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	machine.pa.pcp = p;
	for (int z = 0; z < MAX_NR_ZONES; z++)
		machine.node.node_zones[z].per_cpu_pageset = &machine.pa.pcp[(size_t)z * nr_cpu_ids];
	for (size_t i = 0; i < n; i++) {
		struct per_cpu_pages *pcp = &machine.pa.pcp[i];
		AO_CLEAR(&pcp->lock.locked);
		for (int o = 0; o < NR_PCP_ORDERS; o++)
			for (int t = 0; t < MIGRATE_PCPTYPES; t++)
				INIT_LIST_HEAD(&pcp->lists[o][t]);
	}
	return 0;
}

/* As the kernel's zone_batchsize(): about a quarter of a thousandth of the
 * zone, at most 63 frames, a power of two less one. */
void pcp_setup_zone(struct zone *zone)
{
	unsigned long b = zone->present_pages >> 10;
	if (b > 256)
		b = 256;
	b /= 4;
	if (b < 1)
		b = 1;
	unsigned long r = 1;
	while (r * 2 <= b + b / 2)
		r *= 2;
	int batch = r > 1 ? (int)r - 1 : 1;
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
		pcp->batch = batch;
		pcp->high = 6 * batch;
	}
}

/* Give `count` frames of the CPU's lists back to the buddy allocator,
 * oldest first, round robin over the lists.  pcp->lock held. */
static void free_pcppages_bulk(struct zone *zone, struct per_cpu_pages *pcp, int count)
{
	int idx = 0;
	pthread_mutex_lock(&zone->lock);
	while (count > 0 && pcp->count > 0) {
		struct list_head *list = &pcp->lists[idx / MIGRATE_PCPTYPES]
						[idx % MIGRATE_PCPTYPES];
		idx = (idx + 1) % (NR_PCP_ORDERS * MIGRATE_PCPTYPES);
		if (list_empty(list))
			continue;
		struct page *page = list_last_entry(list, struct page, lru);
		unsigned int order = (unsigned int)page->private;
		bool reported = page_test_flag(page, PG_reported);
		list_del(&page->lru);
		page->flags = 0;
		page->private = 0;
		WRITE_ONCE(pcp->count, pcp->count - (1 << order));
		ADD_ONCE(pcp->stat_drain, 1UL << order);
		count -= 1 << order;
		buddy_free_locked(zone, pfn_of(page), order, reported);
	}
	pthread_mutex_unlock(&zone->lock);
}

bool pcp_refill(struct zone *zone, struct per_cpu_pages *pcp, unsigned int order,
		int mt)
{
	struct list_head *list = &pcp->lists[order][mt];
	int want = pcp->batch >> order;
	int got = 0;
	if (want < 1)
		want = 1;
	pthread_mutex_lock(&zone->lock);
	for (; got < want; got++) {
		struct page *page = buddy_alloc_locked(zone, order, mt);
		if (!page)
			break;
		page->flags |= 1UL << PG_pcp;
		page->private = order;
		list_add_tail(&page->lru, list);
	}
	pthread_mutex_unlock(&zone->lock);
	WRITE_ONCE(pcp->count, pcp->count + (got << order));
	ADD_ONCE(pcp->stat_refill, (unsigned long)got << order);
	return got > 0;
}

/* The CPU holds more than pcp->high frames: give a batch back.  Called with
 * pcp->lock held; releases it. */
void pcp_free_drain_unlock(struct zone *zone, struct per_cpu_pages *pcp)
{
	free_pcppages_bulk(zone, pcp, pcp->batch);
	kmm_spin_unlock(&pcp->lock);
	buddy_release_tick(zone);
}

void pcp_drain_zone(struct zone *zone)
{
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
		kmm_spin_lock(&pcp->lock);
		if (pcp->count)
			free_pcppages_bulk(zone, pcp, pcp->count);
		kmm_spin_unlock(&pcp->lock);
	}
}

unsigned long pcp_count_zone(const struct zone *zone)
{
	unsigned long n = 0;
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
		n += (unsigned long)READ_ONCE(zone_pcp(zone, cpu)->count);
	return n;
}

void pcp_stats_zone(const struct zone *zone, unsigned long *allocs,
		    unsigned long *frees)
{
	*allocs = *frees = 0;
	/* Frames handed out = frames that came in (refills, frees) less those
	 * that left (drains) and those still on the lists. */
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
		unsigned long in = READ_ONCE(pcp->stat_refill) +
				   READ_ONCE(pcp->stat_free);
		unsigned long out = READ_ONCE(pcp->stat_drain) +
				    (unsigned long)READ_ONCE(pcp->count);
		*allocs += in > out ? in - out : 0;
		*frees += READ_ONCE(pcp->stat_free);
	}
}

int pcp_check(void)
{
	int problems = 0;
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &machine.node.node_zones[z];
		if (!zone->spanned_pages)
			continue;
		for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
			struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
			int count = 0;
			kmm_spin_lock(&pcp->lock);
			for (unsigned int o = 0; o < NR_PCP_ORDERS; o++) {
				for (int t = 0; t < MIGRATE_PCPTYPES; t++) {
					struct list_head *pos;
					list_for_each(pos, &pcp->lists[o][t]) {
						struct page *page = list_entry(pos, struct page, lru);
						unsigned long pfn = pfn_of(page);
						count += 1 << o;
						if (!page_test_flag(page, PG_pcp) || page->private != o ||
						    pfn_zonenum(pfn) != (enum zone_type)z ||
						    !IS_ALIGNED(pfn, 1UL << o) || page->_refcount) {
							kmm_printk("kmm_check: cpu %u zone %s: pfn %#lx on "
								   "the order-%u pcp list is not a free "
								   "block of that order there\n",
								   cpu, zone->name, pfn, o);
							problems++;
						}
					}
				}
			}
			if (count != pcp->count) {
				kmm_printk("kmm_check: cpu %u zone %s: pcp count %d, lists "
					   "hold %d frames\n", cpu, zone->name, pcp->count, count);
				problems++;
			}
			kmm_spin_unlock(&pcp->lock);
		}
	}
	return problems;
}

void pcp_lock_all(void)
{
	for (size_t i = 0; i < (size_t)MAX_NR_ZONES * nr_cpu_ids; i++)
		kmm_spin_lock(&machine.pa.pcp[i].lock);
}

void pcp_unlock_all(void)
{
	for (size_t i = 0; i < (size_t)MAX_NR_ZONES * nr_cpu_ids; i++)
		kmm_spin_unlock(&machine.pa.pcp[i].lock);
}
