/*
 * pcp.c - per-CPU page lists and stacks, the page allocator's fast path.
 *
 * Each zone has, for every CPU, lists of free blocks of order 0 ..
 * PAGE_ALLOC_COSTLY_ORDER (3), one per pcp migrate type, under the CPU's
 * pcp->lock, and in front of the order-0 lists a stack of up to
 * PCP_STACK_SLOTS frames per migrate type (struct pcp_stack) that the
 * running CPU changes without a lock.  The zone lock is taken once per
 * `batch` frames, to refill an empty list from the buddy allocator or to
 * give `batch` frames back when the CPU's lists hold more than `high`.
 *
 * Blocks on a list or a stack have PG_pcp and their order in page->private.
 * They are not free pages: as in the kernel (rmqueue_bulk() takes them off
 * the free lists, and so out of NR_FREE_PAGES, free_pcppages_bulk() puts
 * them back), neither the zone's free_area nor nr_free_pages() counts
 * them, show_mem() shows them as free_pcp and zoneinfo as each CPU's count.
 * That is why a failing allocation drains every CPU's lists and stacks
 * before it gives up, and why a caller comparing free counts drains first.
 *
 * THE STACKS (the order-0 fast path, page_alloc.h: pcp_stack_pop/push)
 * A pop or a push is one restartable sequence (percpu.h) on the stack of
 * the CPU the thread runs on: read cpu_id, find its per_cpu_pages, miss if
 * its lock is held, read the height (pushes - pops), move one frame, and
 * commit by incrementing pops or pushes, the last instruction.  Preempted,
 * migrated or signalled inside, the thread is sent to the miss, having
 * changed nothing but a slot above the top.  No lock, no atomic: about 14
 * instructions.  A miss (empty, full, lock held, rseq off) takes pcp->lock
 * and does the work, moving half a stack between the stack and its list.
 *
 * OWNING A STACK: code other than the fast path changes a stack only while
 * it holds pcp->lock AND no fast path can still commit on it, which is
 * true when (pcp_stacks_owned)
 *   - the sequences cannot commit on real stacks (rseq off: every fast
 *     path indexes entry -1 of the zone's array, a guard whose lock is
 *     held for ever, and misses); or
 *   - the holder runs on that CPU after taking the lock: a fast path there
 *     that began before the lock was taken has been preempted since, so it
 *     restarts and sees the lock; or
 *   - the holder fenced (kmm_rseq_fence) after taking the lock, as the
 *     walkers of every CPU do (drain, check, fork).
 * A miss handler that finds it has migrated uses the lists only.
 *
 * INVARIANTS
 *   - 0 <= pushes - pops <= PCP_STACK_SLOTS; slots below the top are free
 *     order-0 frames of this zone, PG_pcp, refcount 0, private 0.
 *   - count is the frames on the lists; stack frames are counted by the
 *     stacks' heights.
 *   - Statistics: frames freed = stat_free + (sum of pushes - stack_in);
 *     frames allocated = stat_refill + frees - stat_drain - frames held.
 *
 * LOCKING: pcp->lock, then zone->lock (refill and drain).  Walkers take
 * the pcp locks of every CPU in array order.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "page_alloc.h"

int pcp_init(void)
{
	/* Per zone, a guard entry before CPU 0: the fast path's cpu_id -1. */
	size_t per_zone = (size_t)nr_cpu_ids + 1;
	size_t size = ALIGN_UP(MAX_NR_ZONES * per_zone * sizeof(struct per_cpu_pages),
			       PAGE_SIZE);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	machine.pa.pcp = p;
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &machine.node.node_zones[z];
		struct per_cpu_pages *guard = &machine.pa.pcp[(size_t)z * per_zone];
		zone->per_cpu_pageset = guard + 1;
		machine.pa.zone_pcps[z + 1] = guard + 1;
		AO_test_and_set_full(&guard->lock.locked);
		if (!zone->spanned_pages)
			continue;
		for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
			struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
			AO_CLEAR(&pcp->lock.locked);
			for (int o = 0; o < NR_PCP_ORDERS; o++)
				for (int t = 0; t < MIGRATE_PCPTYPES; t++)
					INIT_LIST_HEAD(&pcp->lists[o][t]);
		}
	}
	return 0;
}

/* As the kernel's zone_batchsize(): about a quarter of a thousandth of the
 * zone, at most 63 frames, a power of two less one.  Set at boot from the
 * zone's span, as if all its sections were online (page_alloc.c:
 * ACCOUNTING). */
void pcp_setup_zone(struct zone *zone)
{
	unsigned long b = zone->spanned_pages >> 10;
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

/* The CPU holds more than pcp->high frames: give a batch back, and more
 * when a stack spill has put more than a batch above high (a small zone's
 * batch is 1, a spill half a stack).  Called with pcp->lock held;
 * releases it. */
void pcp_free_drain_unlock(struct zone *zone, struct per_cpu_pages *pcp)
{
	int excess = pcp->count - pcp->high + pcp->batch;
	free_pcppages_bulk(zone, pcp, excess > pcp->batch ? excess : pcp->batch);
	kmm_spin_unlock(&pcp->lock);
	buddy_release_tick(zone);
}

/* ------------------------------------------------------------------ */
/* The order-0 stacks, as their owner (see OWNING A STACK above)       */

static inline unsigned int stack_height(const struct pcp_stack *st)
{
	return (unsigned int)(st->pushes - st->pops);
}

static inline void stack_push_owned(struct per_cpu_pages *pcp, struct pcp_stack *st,
				    struct page *page)
{
	st->slots[stack_height(st)] = page;
	WRITE_ONCE(st->pushes, st->pushes + 1);
	ADD_ONCE(pcp->stack_in, 1);
}

static inline struct page *stack_pop_owned(struct per_cpu_pages *pcp, struct pcp_stack *st)
{
	struct page *page = st->slots[stack_height(st) - 1];
	WRITE_ONCE(st->pops, st->pops + 1);
	ADD_ONCE(pcp->stack_out, 1);
	return page;
}

/* Move the oldest n frames of stacks[mt] to the head of the order-0 list. */
static void stack_spill_owned(struct per_cpu_pages *pcp, int mt, unsigned int n)
{
	struct pcp_stack *st = &pcp->stacks[mt];
	unsigned int height = stack_height(st);
	if (n > height)
		n = height;
	for (unsigned int i = 0; i < n; i++)
		list_add(&st->slots[i]->lru, &pcp->lists[0][mt]);
	memmove(st->slots, st->slots + n, (height - n) * sizeof(st->slots[0]));
	WRITE_ONCE(pcp->count, pcp->count + (int)n);
	WRITE_ONCE(st->pops, st->pops + n);
	ADD_ONCE(pcp->stack_out, n);
}

/* The CPU whose stacks the calling thread's fast path uses, when it has
 * one (rseq), else the CPU it runs on. */
static inline unsigned int stack_cpu(void)
{
	int cpu = kmm_rseq_cpu();
	return kmm_rseq_on && cpu >= 0 && (unsigned int)cpu < nr_cpu_ids ?
	       (unsigned int)cpu : raw_smp_processor_id();
}

/* pcp->lock of `cpu` held: may the caller change its stacks? */
static inline bool pcp_stacks_owned(unsigned int cpu)
{
	return !kmm_rseq_on || kmm_rseq_cpu() == (int)cpu;
}

/*
 * The order-0 allocation fast path missed (empty stack, lock held, rseq
 * off): take a frame from the CPU's stack or list, after moving half a
 * stack from the list.  NULL when the list is empty too: the caller then
 * goes through the zonelist, which checks the watermarks before it
 * refills a list from the buddy allocator.
 */
struct page *pcp_alloc_stack_miss(struct zone *zone, int mt)
{
	unsigned int cpu = stack_cpu();
	struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
	struct list_head *list = &pcp->lists[0][mt];
	struct page *page = NULL;

	kmm_spin_lock(&pcp->lock);
	if (pcp_stacks_owned(cpu)) {
		struct pcp_stack *st = &pcp->stacks[mt];
		while (stack_height(st) < PCP_STACK_SLOTS / 2 && !list_empty(list))
			stack_push_owned(pcp, st, pcp_list_pop(pcp, list, 0));
		if (stack_height(st))
			page = stack_pop_owned(pcp, st);
	} else if (!list_empty(list)) {
		page = pcp_list_pop(pcp, list, 0);
	}
	kmm_spin_unlock(&pcp->lock);
	return page;
}

/*
 * The order-0 free fast path missed (full stack, lock held, rseq off).
 * The page is already a free frame (PG_pcp, refcount 0, private 0): put it
 * on the stack after moving half the stack to the list, or on the list.
 */
void pcp_free_stack_miss(struct zone *zone, struct page *page, int mt)
{
	unsigned int cpu = stack_cpu();
	struct per_cpu_pages *pcp = zone_pcp(zone, cpu);

	kmm_spin_lock(&pcp->lock);
	if (pcp_stacks_owned(cpu)) {
		struct pcp_stack *st = &pcp->stacks[mt];
		if (stack_height(st) == PCP_STACK_SLOTS)
			stack_spill_owned(pcp, mt, PCP_STACK_SLOTS / 2);
		stack_push_owned(pcp, st, page);
		ADD_ONCE(pcp->stat_free, 1);
	} else {
		pcp_list_push(pcp, page, &pcp->lists[0][mt], 0);
	}
	if (unlikely(pcp->count >= pcp->high)) {
		pcp_free_drain_unlock(zone, pcp);
		return;
	}
	kmm_spin_unlock(&pcp->lock);
}

/* ------------------------------------------------------------------ */
/* Walkers of every CPU                                                */

/* Hold the pcp locks of every CPU of a zone and own their stacks. */
static void lock_zone_cpus(const struct zone *zone)
{
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
		kmm_spin_lock(&zone_pcp(zone, cpu)->lock);
}

static void unlock_zone_cpus(const struct zone *zone)
{
	for (unsigned int cpu = nr_cpu_ids; cpu-- > 0;)
		kmm_spin_unlock(&zone_pcp(zone, cpu)->lock);
}

void pcp_drain_zone(struct zone *zone)
{
	lock_zone_cpus(zone);
	kmm_rseq_fence();
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
		for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
			stack_spill_owned(pcp, mt, PCP_STACK_SLOTS);
		if (pcp->count)
			free_pcppages_bulk(zone, pcp, pcp->count);
	}
	unlock_zone_cpus(zone);
}

/* Frames held by a stack, read without its owner: pops first, so that the
 * answer is never negative. */
static unsigned long stack_height_racy(const struct pcp_stack *st)
{
	unsigned long pops = READ_ONCE(st->pops);
	return READ_ONCE(st->pushes) - pops;
}

/* Frames on one CPU's lists and stacks of the zone (zoneinfo's count). */
unsigned long pcp_count_cpu(const struct zone *zone, unsigned int cpu)
{
	const struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
	unsigned long n = (unsigned long)READ_ONCE(pcp->count);
	for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
		n += stack_height_racy(&pcp->stacks[mt]);
	return n;
}

/* Frames on every CPU's lists and stacks of the zone (show_mem's free_pcp);
 * they are not free pages (NR_FREE_PAGES), as in the kernel. */
unsigned long pcp_count_zone(const struct zone *zone)
{
	unsigned long n = 0;
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
		n += pcp_count_cpu(zone, cpu);
	return n;
}

void pcp_stats_zone(const struct zone *zone, unsigned long *allocs,
		    unsigned long *frees)
{
	*allocs = *frees = 0;
	/* Frames handed out = frames that came in (refills, frees) less those
	 * that left (drains) and those still held (the INVARIANTS above). */
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		const struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
		unsigned long held = (unsigned long)READ_ONCE(pcp->count);
		unsigned long pushes = 0;
		for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
			held += stack_height_racy(&pcp->stacks[mt]);
			pushes += READ_ONCE(pcp->stacks[mt].pushes);
		}
		unsigned long stack_in = READ_ONCE(pcp->stack_in);
		unsigned long freed = READ_ONCE(pcp->stat_free) +
				      (pushes > stack_in ? pushes - stack_in : 0);
		unsigned long in = READ_ONCE(pcp->stat_refill) + freed;
		unsigned long out = READ_ONCE(pcp->stat_drain) + held;
		*allocs += in > out ? in - out : 0;
		*frees += freed;
	}
}

static int check_frame(unsigned int cpu, const struct zone *zone, struct page *page,
		       unsigned int order, const char *where)
{
	unsigned long pfn = pfn_of(page);
	if (page_test_flag(page, PG_pcp) && page->private == order &&
	    pfn_zonenum(pfn) == zone->idx && IS_ALIGNED(pfn, 1UL << order) &&
	    !page->_refcount)
		return 0;
	kmm_printk("kmm_check: cpu %u zone %s: pfn %#lx on the order-%u pcp %s is "
		   "not a free block of that order there\n", cpu, zone->name, pfn,
		   order, where);
	return 1;
}

/* Every CPU's lists and stacks; pcp_lock_all() held. */
int pcp_check_locked(void)
{
	int problems = 0;
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &machine.node.node_zones[z];
		if (!zone->spanned_pages)
			continue;
		for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
			struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
			int count = 0;
			for (unsigned int o = 0; o < NR_PCP_ORDERS; o++) {
				for (int t = 0; t < MIGRATE_PCPTYPES; t++) {
					struct list_head *pos;
					list_for_each(pos, &pcp->lists[o][t]) {
						count += 1 << o;
						problems += check_frame(cpu, zone,
							list_entry(pos, struct page, lru), o, "list");
					}
				}
			}
			if (count != pcp->count) {
				kmm_printk("kmm_check: cpu %u zone %s: pcp count %d, lists "
					   "hold %d frames\n", cpu, zone->name, pcp->count, count);
				problems++;
			}
			for (int t = 0; t < MIGRATE_PCPTYPES; t++) {
				struct pcp_stack *st = &pcp->stacks[t];
				unsigned long height = st->pushes - st->pops;
				if (height > PCP_STACK_SLOTS) {
					kmm_printk("kmm_check: cpu %u zone %s: pcp stack %d holds "
						   "%ld frames of %d\n", cpu, zone->name, t,
						   (long)height, PCP_STACK_SLOTS);
					problems++;
					continue;
				}
				for (unsigned long i = 0; i < height; i++)
					problems += check_frame(cpu, zone, st->slots[i], 0, "stack");
			}
		}
	}
	return problems;
}

/* Every pcp lock, in array order, and every stack owned (fork, check). */
void pcp_lock_all(void)
{
	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (machine.node.node_zones[z].spanned_pages)
			lock_zone_cpus(&machine.node.node_zones[z]);
	kmm_rseq_fence();
}

void pcp_unlock_all(void)
{
	for (int z = MAX_NR_ZONES - 1; z >= 0; z--)
		if (machine.node.node_zones[z].spanned_pages)
			unlock_zone_cpus(&machine.node.node_zones[z]);
}
