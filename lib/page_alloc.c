/*
 * page_alloc.c - the page allocator's entry points: zones and zonelists,
 * watermarks and lowmem_reserve, GFP flags, compound pages, reference
 * counts, and the failure warning.
 *
 * ALLOCATION
 *
 * alloc_pages(gfp, order) walks the zonelist of the highest zone gfp
 * allows, from that zone down: __GFP_HIGHMEM starts at HighMem, a plain
 * request at Normal, __GFP_DMA32 at DMA32, __GFP_DMA at DMA.  A zone is
 * used when its free frames stay above a watermark plus the zone's
 * lowmem_reserve against the request's highest zone, which keeps the lower
 * zones for the callers that can use nothing else.
 *
 *   fast path   get_page_from_freelist() with the low watermark.  Orders
 *               0..3 come from the per-CPU lists (pcp.c; order 0 first
 *               from the CPU's rseq stack, alloc_pages()), larger ones from
 *               the buddy allocator under the zone lock.  A zone below its
 *               low watermark that still has offline sections brings one
 *               online (memory hot-add) before the walk moves down.
 *   slow path   __alloc_pages_slowpath(): the min watermark, lowered for
 *               __GFP_HIGH (by half) and for GFP_ATOMIC (by a further
 *               quarter); then every CPU's lists are drained and the walk is
 *               tried again, then once more after the registered reclaim
 *               hook (vmalloc's warm lazy areas, the one shrinker) has
 *               given back what it holds; __GFP_NOFAIL finally ignores
 *               watermarks and waits for frames to be freed.  Beyond that
 *               hook there is no reclaim: failure returns NULL and
 *               prints the kernel's warning, rate-limited (10 per 5 s),
 *               unless __GFP_NOWARN.
 *
 * Both paths count: pgalloc_* in vmstat for successes, the failure count
 * in allocstall_fail.
 *
 * ACCOUNTING (the kernel's definitions)
 *
 *   spanned    the zone's PFN range, from mem= and lowmem=, fixed at boot.
 *   present    frames of the zone's sections that are online: memory not
 *              online yet is shown as the kernel shows memory not yet
 *              hot-added, spanned but neither present nor managed.
 *   managed    frames handed to the buddy allocator; equal to present
 *              (libkmm reserves no frames at boot).
 *   free       NR_FREE_PAGES: frames on the buddy free lists, the sum of
 *              free_area[o].nr_free << o (zone->nr_free_pages).  Frames on
 *              the per-CPU lists and stacks are not free: as in the
 *              kernel's rmqueue_bulk(), they leave the count when a list
 *              is refilled and come back when it is drained.  Nor are
 *              frames isolated while they are given back to the host.
 * nr_free_pages(), zoneinfo's "pages free" and nr_free_pages, meminfo's
 * MemFree and vmstat's nr_free_pages all read zone_free_frames(), and
 * kmm_check() verifies that they agree and that free <= managed.  A caller
 * comparing free counts calls drain_all_pages(NULL) first, as the
 * kernel's users do.  Watermarks, lowmem_reserve and the pcp batch are set
 * once at boot from the spanned size, as if every section were online
 * (the kernel recomputes them at each hot-add): a zone with offline
 * sections brings one online when it runs below its low watermark.
 *
 * FREEING
 *
 * __free_pages() drops a reference and frees the block on the last one:
 * orders 0..3 to the CPU's list, larger ones to the buddy allocator.  A
 * reference count that would go below zero, or a block that is already
 * free, is reported as the kernel's "Bad page state" and left alone.
 *
 * LOCKING: pcp->lock, then hotplug_lock, then zone->lock; no lock is held
 * while printing.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "page_alloc.h"

#define ALLOC_WMARK_MIN     WMARK_MIN
#define ALLOC_WMARK_LOW     WMARK_LOW
#define ALLOC_WMARK_MASK    0x03
#define ALLOC_NO_WATERMARKS 0x04
#define ALLOC_HIGH          0x08       /* __GFP_HIGH: half the min reserve */
#define ALLOC_HARDER        0x10       /* atomic: a further quarter */

static const char *const zone_names[MAX_NR_ZONES] = { "DMA", "DMA32", "Normal", "HighMem" };
/* The kernel's sysctl_lowmem_reserve_ratio. */
static const unsigned long lowmem_reserve_ratio[MAX_NR_ZONES] = { 256, 256, 32, 0 };

int gfp_migratetype(gfp_t gfp)
{
	return gfp_migratetype_fast(gfp);
}

static inline enum zone_type gfp_zone(gfp_t gfp)
{
	if (gfp & __GFP_DMA)
		return ZONE_DMA;
	if (gfp & __GFP_DMA32)
		return ZONE_DMA32;
	if (gfp & __GFP_HIGHMEM)
		return ZONE_HIGHMEM;
	return ZONE_NORMAL;
}

/* ------------------------------------------------------------------ */
/* Zones                                                               */

static void zone_init(struct zone *zone, enum zone_type idx, unsigned long start,
		      unsigned long end)
{
	zone->name = zone_names[idx];
	zone->idx = idx;
	pthread_mutex_init(&zone->lock, NULL);
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		for (int t = 0; t < MIGRATE_TYPES; t++)
			INIT_LIST_HEAD(&zone->free_area[o].free_list[t]);
	zone->zone_start_pfn = start;
	zone->spanned_pages = end > start ? end - start : 0;
	zone->present_pages = 0;        /* grows as sections come online */
	if (!zone->spanned_pages)
		zone->zone_start_pfn = 0;
}

/*
 * As the kernel's __setup_per_zone_wmarks(): min_free_kbytes =
 * sqrt(lowmem KiB * 16), clamped to 128 KiB .. 256 MiB, shared among the
 * lowmem zones by size; HighMem gets a small fixed min.  low and high sit a
 * quarter and a half of min above it, or 0.1 % of the zone when larger
 * (watermark_scale_factor = 10).
 */
/* The integer square root, as the kernel's int_sqrt(): one bit at a time. */
static unsigned long int_sqrt(unsigned long x)
{
	unsigned long root = 0, bit = 1UL << (sizeof(x) * 8 - 2);
	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= root + bit) {
			x -= root + bit;
			root = (root >> 1) + bit;
		} else {
			root >>= 1;
		}
		bit >>= 2;
	}
	return root;
}

static void setup_watermarks(void)
{
	pg_data_t *node = &machine.node;
	unsigned long lowmem_pages = 0;
	for (int z = 0; z < ZONE_HIGHMEM; z++)
		lowmem_pages += node->node_zones[z].spanned_pages;
	/* As the kernel's calculate_min_free_kbytes(): sqrt(lowmem_kbytes * 16). */
	unsigned long kbytes = lowmem_pages * (PAGE_SIZE / 1024) * 16;
	unsigned long min_kb = int_sqrt(kbytes);
	if (min_kb < 128)
		min_kb = 128;
	if (min_kb > 262144)
		min_kb = 262144;
	unsigned long min_pages = min_kb / (PAGE_SIZE / 1024);

	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &node->node_zones[z];
		unsigned long min;
		if (!zone->spanned_pages)
			continue;
		if (z == ZONE_HIGHMEM) {
			min = zone->spanned_pages / 1024;
			min = min < 32 ? 32 : min > 128 ? 128 : min;
		} else {
			min = min_pages * zone->spanned_pages / lowmem_pages;
		}
		unsigned long step = min / 4;
		unsigned long scale = zone->spanned_pages * 10 / 10000;
		if (scale > step)
			step = scale;
		zone->_watermark[WMARK_MIN] = min;
		zone->_watermark[WMARK_LOW] = min + step;
		zone->_watermark[WMARK_HIGH] = min + 2 * step;
	}
}

/* lowmem_reserve[j] of zone i: the frames of zones i+1..j over ratio[i]. */
static void setup_lowmem_reserve(void)
{
	pg_data_t *node = &machine.node;
	for (int i = 0; i < MAX_NR_ZONES; i++) {
		struct zone *zone = &node->node_zones[i];
		unsigned long above = 0;
		for (int j = i + 1; j < MAX_NR_ZONES; j++) {
			above += node->node_zones[j].spanned_pages;
			zone->lowmem_reserve[j] = lowmem_reserve_ratio[i] ?
				(long)(above / lowmem_reserve_ratio[i]) : 0;
		}
	}
}

void page_alloc_add_range(struct zone *zone, unsigned long start_pfn,
			  unsigned long nr_pages)
{
	unsigned long nr_blocks = nr_pages / MAX_ORDER_NR_PAGES;
	unsigned char order[PAGES_PER_SECTION / MAX_ORDER_NR_PAGES];
	/* page_alloc.shuffle: hand the blocks over in random order, as the
	 * kernel's shuffle_free_memory(). */
	for (unsigned long i = 0; i < nr_blocks; i++)
		order[i] = (unsigned char)i;
	if (machine.conf.shuffle) {
		for (unsigned long i = nr_blocks; i > 1; i--) {
			unsigned long j = kmm_random(&machine.pa.shuffle_rng) % i;
			unsigned char t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
	}
	pthread_mutex_lock(&zone->lock);
	for (unsigned long i = 0; i < nr_blocks; i++)
		buddy_free_locked(zone, start_pfn + order[i] * MAX_ORDER_NR_PAGES,
				  MAX_PAGE_ORDER, true);
	/* Hot-added: the frames are present and managed from now on. */
	ADD_ONCE(zone->present_pages, nr_pages);
	ADD_ONCE(zone->managed_pages, nr_pages);
	ADD_ONCE(machine.node.node_present_pages, nr_pages);
	/* Fresh memory has never been touched: it is not dirty. */
	pthread_mutex_unlock(&zone->lock);
}

int page_alloc_init(void)
{
	struct phys_memory *m = &machine.mem;
	pg_data_t *node = &machine.node;
	unsigned long low = m->lowmem_pfn, max = m->max_pfn;
	unsigned long dma_end = (16UL << 20) >> PAGE_SHIFT;
	unsigned long dma32_end = (4UL << 30) >> PAGE_SHIFT;
	int ret;

	machine.pa.warn_ratelimit = (struct ratelimit_state)RATELIMIT_STATE_INIT(5, 10);
	node->node_id = 0;
	node->node_start_pfn = 0;
	node->node_spanned_pages = max;
	node->node_present_pages = 0;   /* grows as sections come online */
	zone_init(&node->node_zones[ZONE_DMA], ZONE_DMA, 0, dma_end < low ? dma_end : low);
	zone_init(&node->node_zones[ZONE_DMA32], ZONE_DMA32, dma_end,
		  dma32_end < low ? dma32_end : low);
	zone_init(&node->node_zones[ZONE_NORMAL], ZONE_NORMAL, dma32_end, low);
	zone_init(&node->node_zones[ZONE_HIGHMEM], ZONE_HIGHMEM, low, max);
	node->nr_zones = 0;
	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (node->node_zones[z].spanned_pages)
			node->nr_zones = z + 1;

	AO_store(&machine.pa.shuffle_rng, (AO_t)kmm_now_ns());
	ret = pcp_init();
	if (ret)
		return ret;
	setup_watermarks();
	setup_lowmem_reserve();
	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (node->node_zones[z].spanned_pages)
			pcp_setup_zone(&node->node_zones[z]);
	/* The first section (DMA and the start of DMA32) is online at boot. */
	memory_online_section(&node->node_zones[ZONE_DMA]);
	/* Hardening and fault injection run on the slow paths only: the fast
	 * paths are switched off by an empty preferred-zone table (alloc) and
	 * pages without a recorded zone (free). */
	const struct kmm_config *c = &machine.conf;
	fault_attr_init(&machine.pa.fail_page_alloc, &c->fail_page_alloc);
	machine.pa.hardened = machine.pa.fail_page_alloc.enabled || c->init_on_alloc ||
			      c->init_on_free || c->shuffle;
	for (unsigned int bits = 0; bits <= GFP_ZONEMASK; bits++) {
		int z = (int)gfp_zone(bits);
		while (z >= 0 && !node->node_zones[z].spanned_pages)
			z--;
		machine.pa.preferred_zone[bits] =
			z >= 0 && !machine.pa.hardened ? &node->node_zones[z] : NULL;
	}
	for (int z = 0; z < MAX_NR_ZONES; z++)
		node->node_zones[z].page_zone_flags = machine.pa.hardened ? 0 :
			((unsigned long)z + 1) << PAGE_ZONE_SHIFT;
	return 0;
}

KMM_EXPORT pg_data_t *NODE_DATA(int nid)
{
	kmm_ensure_booted();
	return nid == 0 ? &machine.node : NULL;
}

/* ------------------------------------------------------------------ */
/* Allocation                                                          */

static inline bool zone_watermark_ok(const struct zone *zone, unsigned int order,
				     enum zone_type highest, int alloc_flags)
{
	long free = (long)READ_ONCE(zone->nr_free_pages);
	long min;

	if (alloc_flags & ALLOC_NO_WATERMARKS)
		return free >= (1L << order);
	min = (long)zone->_watermark[alloc_flags & ALLOC_WMARK_MASK];
	if (alloc_flags & ALLOC_HIGH)
		min -= min / 2;
	if (alloc_flags & ALLOC_HARDER)
		min -= min / 4;
	free -= (1L << order) - 1;
	if (free <= min + zone->lowmem_reserve[highest])
		return false;
	if (order == 0)
		return true;
	for (unsigned int o = order; o <= MAX_PAGE_ORDER; o++)
		if (READ_ONCE(zone->free_area[o].nr_free))
			return true;
	return false;
}

/* The tails first, PG_head last: a concurrent kmm_check() that sees the
 * head flag finds every tail pointing at it. */
static void prep_compound_page(struct page *head, unsigned int order)
{
	unsigned long nr = 1UL << order;
	for (unsigned long i = 1; i < nr; i++)
		WRITE_ONCE(head[i].compound_head, (unsigned long)head | 1);
	unsigned long flags = (head->flags & ~PAGE_ORDER_MASK) | (1UL << PG_head) |
			      ((unsigned long)order << PAGE_ORDER_SHIFT);
	__atomic_store_n(&head->flags, flags, __ATOMIC_RELEASE);
}

static noinline struct page *prep_new_page_slow(struct page *page, unsigned int order,
					       gfp_t gfp, unsigned long flags)
{
	bool zeroed = page_test_flag(page, PG_reported);
	page->flags = flags;
	page->private = 0;
	page->_refcount = 1;
	if ((gfp & __GFP_ZERO) && !zeroed)
		memset(pfn_to_kaddr_raw(pfn_of(page)), 0, PAGE_SIZE << order);
	if ((gfp & __GFP_COMP) && order)
		prep_compound_page(page, order);
	return page;
}

/* Make a block taken off a free list an allocated page; returns it. */
static inline struct page *prep_new_page(struct zone *zone, struct page *page,
					 unsigned int order, gfp_t gfp, int mt)
{
	/* Remember the zone and the list it came from, for __free_pages(). */
	unsigned long flags = zone->page_zone_flags | (unsigned long)mt << PAGE_MT_SHIFT;
	if (unlikely(gfp & (__GFP_ZERO | __GFP_COMP)))
		return prep_new_page_slow(page, order, gfp, flags);
	page->flags = flags;
	page->private = 0;
	page->_refcount = 1;
	return page;
}

static inline struct page *rmqueue(struct zone *zone, unsigned int order, int mt)
{
	struct page *page;
	if (likely(order <= PAGE_ALLOC_COSTLY_ORDER)) {
		page = pcp_alloc(zone, order, mt);
		if (likely(page))
			return page;
	}
	pthread_mutex_lock(&zone->lock);
	page = buddy_alloc_locked(zone, order, mt);
	if (page)
		ADD_ONCE(zone->stat_alloc, 1UL << order);
	pthread_mutex_unlock(&zone->lock);
	return page;
}

static struct page *get_page_from_freelist(gfp_t gfp, unsigned int order,
					   int alloc_flags)
{
	enum zone_type highest = gfp_zone(gfp);
	int mt = gfp_migratetype_fast(gfp);
	pg_data_t *node = &machine.node;

	for (int z = (int)highest; z >= 0; z--) {
		struct zone *zone = &node->node_zones[z];
		if (!zone->spanned_pages)
			continue;
		while (!zone_watermark_ok(zone, order, highest, alloc_flags)) {
			/* Below the mark: first take back what an upper layer
			 * holds for reuse (vmalloc's warm lazy ranges: their frames,
			 * and their resident memory on the host), then bring more
			 * of this zone online, rather than grow with it held. */
			if (machine.pa.reclaim && memory_zone_has_offline(zone) &&
			    machine.pa.reclaim())
				continue;
			if (!memory_zone_has_offline(zone) || !memory_online_section(zone))
				goto next_zone;
		}
		struct page *page = rmqueue(zone, order, mt);
		if (likely(page))
			return prep_new_page(zone, page, order, gfp,
					     mt < MIGRATE_PCPTYPES ? mt : MIGRATE_MOVABLE);
next_zone:;
	}
	return NULL;
}

static void warn_alloc(gfp_t gfp, unsigned int order)
{
	char mode[256];
	AO_fetch_and_add1(&machine.pa.alloc_fail_count);
	if ((gfp & __GFP_NOWARN) || !kmm_ratelimit(&machine.pa.warn_ratelimit))
		return;
	kmm_format_gfp(mode, sizeof(mode), gfp);
	kmm_printk("%s: page allocation failure: order:%u, mode:%#x(%s), "
		   "nodemask=(null)\n", program_invocation_short_name, order, gfp, mode);
	show_mem();
}

static noinline struct page *alloc_pages_slowpath(gfp_t gfp, unsigned int order)
{
	int alloc_flags = ALLOC_WMARK_MIN;
	struct page *page;

	if (gfp & __GFP_HIGH)
		alloc_flags |= ALLOC_HIGH;
	if ((gfp & __GFP_HIGH) && !(gfp & __GFP_DIRECT_RECLAIM))
		alloc_flags |= ALLOC_HARDER;

	page = get_page_from_freelist(gfp, order, alloc_flags);
	if (page)
		return page;
	/* Frames may sit on other CPUs' lists: give them back and retry. */
	drain_all_pages(NULL);
	page = get_page_from_freelist(gfp, order, alloc_flags);
	if (page)
		return page;
	/* Frames held for reuse by an upper layer (the shrinker). */
	if (machine.pa.reclaim && machine.pa.reclaim()) {
		drain_all_pages(NULL);
		page = get_page_from_freelist(gfp, order, alloc_flags);
		if (page)
			return page;
	}
	if (gfp & __GFP_NOFAIL) {
		for (int tries = 0; ; tries++) {
			page = get_page_from_freelist(gfp, order, ALLOC_NO_WATERMARKS);
			if (page)
				return page;
			if (tries % 1000 == 999 && kmm_ratelimit(&machine.pa.warn_ratelimit))
				kmm_printk("%s: __GFP_NOFAIL allocation of order %u waiting "
					   "for memory\n", program_invocation_short_name, order);
			sched_yield();
			drain_all_pages(NULL);
		}
	}
	warn_alloc(gfp, order);
	return NULL;
}

static noinline struct page *alloc_pages_noprof_slow(gfp_t gfp, unsigned int order)
{
	struct page *page;
	if (!kmm_ensure_up())
		return NULL;            /* boot could not get memory */
	if (unlikely(order > MAX_PAGE_ORDER)) {
		/* As the kernel: a warning unless __GFP_NOWARN, then NULL. */
		warn_alloc(gfp, order);
		return NULL;
	}
	if (unlikely(machine.pa.hardened)) {
		if (should_fail_alloc_page(gfp, order)) {
			AO_fetch_and_add1(&machine.pa.alloc_fail_count);
			return NULL;
		}
		if (machine.conf.init_on_alloc)
			gfp |= __GFP_ZERO;
	}
	page = get_page_from_freelist(gfp, order, ALLOC_WMARK_LOW);
	if (likely(page))
		return page;
	return alloc_pages_slowpath(gfp, order);
}

/* The order-0 stack missed: its list, else the zonelist walk. */
static noinline struct page *alloc_page_stack_miss(struct zone *zone, gfp_t gfp, int mt)
{
	struct page *page = pcp_alloc_stack_miss(zone, mt);
	if (likely(page))
		return prep_new_page(zone, page, 0, gfp, mt);
	return alloc_pages_noprof_slow(gfp, 0);
}

/* Orders 1 .. PAGE_ALLOC_COSTLY_ORDER from the running CPU's list if it is
 * free and not empty; anything else through the zonelist walk. */
static noinline struct page *alloc_pages_small(struct zone *zone, gfp_t gfp,
					       unsigned int order)
{
	if (likely(order <= PAGE_ALLOC_COSTLY_ORDER && zone != NULL)) {
		int mt = gfp_migratetype_fast(gfp);
		unsigned int cpu = smp_processor_id_fast();
		struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
		if (likely(cpu < nr_cpu_ids && kmm_spin_trylock(&pcp->lock))) {
			struct list_head *list = &pcp->lists[order][mt];
			if (likely(!list_empty(list))) {
				struct page *page = pcp_list_pop(pcp, list, order);
				kmm_spin_unlock(&pcp->lock);
				return prep_new_page(zone, page, order, gfp, mt);
			}
			kmm_spin_unlock(&pcp->lock);
		}
	}
	return alloc_pages_noprof_slow(gfp, order);
}

/*
 * The fast path: an order-0 frame from the running CPU's stack (pcp.c), or
 * a small block from its list, of the first zone the request may use.  The
 * watermarks were checked when the list was filled (a CPU holds at most
 * pcp->high frames on its lists, and a stack's worth per migrate type).
 * It makes no calls but tail calls, so it needs no stack frame.  Anything
 * else - an empty list, a contended list, a large order, boot - goes
 * through the zonelist walk above.
 */
KMM_EXPORT struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
	struct zone *zone = machine.pa.preferred_zone[gfp & GFP_ZONEMASK];
	if (likely(order == 0 && zone != NULL)) {
		int mt = gfp_migratetype_fast(gfp);
		struct page *page;
		pcp_stack_pop(zone->per_cpu_pageset, mt, page, stack_miss);
		return prep_new_page(zone, page, 0, gfp, mt);
stack_miss:
		return alloc_page_stack_miss(zone, gfp, mt);
	}
	return alloc_pages_small(zone, gfp, order);
}

KMM_EXPORT struct page *alloc_page(gfp_t gfp)
{
	return alloc_pages(gfp, 0);
}

KMM_EXPORT unsigned long __get_free_pages(gfp_t gfp, unsigned int order)
{
	struct page *page = alloc_pages(gfp & ~__GFP_HIGHMEM, order);
	return page ? (unsigned long)page_address(page) : 0;
}

KMM_EXPORT unsigned long __get_free_page(gfp_t gfp)
{
	return __get_free_pages(gfp, 0);
}

KMM_EXPORT unsigned long get_zeroed_page(gfp_t gfp)
{
	return __get_free_pages(gfp | __GFP_ZERO, 0);
}

/* ------------------------------------------------------------------ */
/* Freeing                                                             */

static noinline void bad_page(struct page *page, const char *reason)
{
	AO_fetch_and_add1(&machine.pa.bad_page_count);
	kmm_printk("BUG: Bad page state in process %s  pfn:%05lx\n"
		   "page:%p refcount:%d flags:%#lx order:%lu\n"
		   "page dumped because: %s\n",
		   program_invocation_short_name, pfn_of(page), (void *)page,
		   (int)page->_refcount, page->flags, page->private, reason);
}

static inline bool addr_is_page(const struct page *page)
{
	return (unsigned long)((const char *)page - (const char *)machine.mem.mem_map) <
	       machine.mem.mem_map_bytes;
}

/* Drop a reference; true when it was the last. */
static inline bool put_page_testzero(struct page *page)
{
	unsigned int old = AO_int_fetch_and_sub1(&page->_refcount);
	if (likely(old == 1))
		return true;
	if (unlikely(old == 0)) {
		AO_int_store(&page->_refcount, 0);
		bad_page(page, "freeing a page whose refcount is already 0 (double free?)");
	}
	return false;
}

static noinline void free_the_page(struct page *page, unsigned int order)
{
	unsigned long pfn = pfn_of(page);
	const unsigned long busy = (1UL << PG_buddy) | (1UL << PG_pcp) | (1UL << PG_slab);

	if (unlikely(page->flags & busy)) {
		bad_page(page, page_test_flag(page, PG_slab) ?
			 "freeing a slab page with __free_pages" : "page is already free");
		return;
	}
	if (page_test_flag(page, PG_head)) {
		unsigned int corder = page_head_order(page);
		if (unlikely(corder != order)) {
			bad_page(page, "freeing a compound page with the wrong order");
			return;
		}
		for (unsigned long i = 1; i < (1UL << order); i++)
			page[i].compound_head = 0;
	} else if (unlikely(page->compound_head & 1)) {
		bad_page(page, "freeing a tail page");
		return;
	}
	page->flags = 0;
	if (unlikely(machine.conf.init_on_free))
		memset(pfn_to_kaddr_raw(pfn), 0, PAGE_SIZE << order);

	struct zone *zone = &machine.node.node_zones[pfn_zonenum(pfn)];
	if (likely(order <= PAGE_ALLOC_COSTLY_ORDER)) {
		pcp_free(zone, page, pfn, order);
		return;
	}
	pthread_mutex_lock(&zone->lock);
	buddy_free_locked(zone, pfn, order, false);
	ADD_ONCE(zone->stat_free, 1UL << order);
	pthread_mutex_unlock(&zone->lock);
	buddy_release_tick(zone);
}

static noinline void free_pages_slow(struct page *page, unsigned int order)
{
	if (unlikely(!page))
		return;
	if (unlikely(!addr_is_page(page) || order > MAX_PAGE_ORDER)) {
		kmm_printk("BUG: __free_pages(%p, %u): not a page of libkmm\n",
			   (void *)page, order);
		return;
	}
	bool head = page_test_flag(page, PG_head);
	if (likely(put_page_testzero(page)))
		free_the_page(page, order);
	else if (!head)
		/* Someone holds the first page: free the rest, as the kernel. */
		while (order-- > 0)
			free_the_page(page + (1UL << order), order);
}

/*
 * May a free skip free_pages_slow()'s checks?  A plain block (not free, not
 * a slab, not compound, not a tail) whose zone was recorded at allocation
 * (zone bits zid = zone + 1; 0 when hardening needs the slow paths), and
 * whose caller holds the only reference: no one else may touch the count.
 */
static inline bool page_free_fast_ok(const struct page *page, unsigned long flags,
				     unsigned long zid)
{
	const unsigned long special = (1UL << PG_buddy) | (1UL << PG_pcp) |
				      (1UL << PG_slab) | (1UL << PG_head);
	return !(flags & special) && zid - 1 < MAX_NR_ZONES &&
	       !(page->compound_head & 1) && page->_refcount == 1;
}

/* Orders 1 .. PAGE_ALLOC_COSTLY_ORDER: the last reference to a plain block
 * whose zone was recorded goes onto the running CPU's list if it is free;
 * anything else through the checks of free_pages_slow(). */
static noinline void free_pages_small(struct page *page, unsigned int order)
{
	if (likely(order != 0 && order <= PAGE_ALLOC_COSTLY_ORDER && addr_is_page(page))) {
		unsigned long flags = page->flags;
		unsigned long zid = flags >> PAGE_ZONE_SHIFT;
		if (likely(page_free_fast_ok(page, flags, zid))) {
			struct zone *zone = &machine.node.node_zones[zid - 1];
			unsigned int cpu = smp_processor_id_fast();
			struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
			if (likely(cpu < nr_cpu_ids && kmm_spin_trylock(&pcp->lock))) {
				unsigned int mt = (unsigned int)(flags >> PAGE_MT_SHIFT) & 3;
				page->_refcount = 0;
				pcp_list_push(pcp, page, &pcp->lists[order][mt], order);
				if (unlikely(pcp->count >= pcp->high))
					return pcp_free_drain_unlock(zone, pcp);
				kmm_spin_unlock(&pcp->lock);
				return;
			}
		}
	}
	free_pages_slow(page, order);
}

/*
 * The fast path: the last reference to a plain small block whose zone was
 * recorded at allocation goes straight onto the CPU's stack (order 0) or
 * list, with no stack frame.  Compound pages, shared references, bad
 * pages, large orders and a contended list take the checks of
 * free_pages_slow().
 */
KMM_EXPORT void __free_pages(struct page *page, unsigned int order)
{
	if (likely(order == 0 && addr_is_page(page))) {
		unsigned long flags = page->flags;
		unsigned long zid = flags >> PAGE_ZONE_SHIFT;
		if (likely(page_free_fast_ok(page, flags, zid))) {
			unsigned int mt = (unsigned int)(flags >> PAGE_MT_SHIFT) & 3;
			/* A free frame from here on, whichever way it goes;
			 * PG_pcp last, for a concurrent kmm_check(). */
			WRITE_ONCE(page->private, 0);
			WRITE_ONCE(page->_refcount, 0);
			WRITE_ONCE(page->flags, 1UL << PG_pcp);
			pcp_stack_push(machine.pa.zone_pcps[zid], mt, page, stack_miss);
			return;
stack_miss:
			pcp_free_stack_miss(&machine.node.node_zones[zid - 1], page, (int)mt);
			return;
		}
	}
	free_pages_small(page, order);
}

KMM_EXPORT void __free_page(struct page *page)
{
	__free_pages(page, 0);
}

KMM_EXPORT void free_pages(unsigned long addr, unsigned int order)
{
	if (addr != 0)
		__free_pages(virt_to_page((void *)addr), order);
}

KMM_EXPORT void free_page(unsigned long addr)
{
	free_pages(addr, 0);
}

KMM_EXPORT void get_page(struct page *page)
{
	AO_int_fetch_and_add1(&compound_head(page)->_refcount);
}

KMM_EXPORT void put_page(struct page *page)
{
	struct page *head = compound_head(page);
	if (put_page_testzero(head))
		free_the_page(head, compound_order(head));
}

/* split_page(): make each frame of a non-compound block its own page. */
static void split_page(struct page *page, unsigned int order)
{
	for (unsigned long i = 1; i < (1UL << order); i++) {
		page[i]._refcount = 1;
		page[i].flags = page->flags & (PAGE_ZONE_MASK | PAGE_MT_MASK);
	}
}

KMM_EXPORT void *alloc_pages_exact(size_t size, gfp_t gfp)
{
	unsigned int order = 0;
	if (size == 0 || size > KMALLOC_MAX_SIZE) {
		if (size && !(gfp & __GFP_NOWARN))
			warn_alloc(gfp, MAX_PAGE_ORDER + 1);
		return NULL;
	}
	/* As 6.18: WARN_ON_ONCE on __GFP_COMP or __GFP_HIGHMEM, which an
	 * exact allocation cannot honour; they are dropped. */
	static AO_t warned_exact;
	if (unlikely(gfp & (__GFP_COMP | __GFP_HIGHMEM)) && !AO_fetch_and_add1(&warned_exact)) {
		char mode[160];
		kmm_format_gfp(mode, sizeof(mode), gfp);
		kmm_printk("------------[ cut here ]------------\n"
			   "WARNING: CPU: %u PID: %d at alloc_pages_exact: gfp %#x(%s) has "
			   "__GFP_COMP or __GFP_HIGHMEM; ignored\n"
			   "---[ end trace 0000000000000000 ]---\n", raw_smp_processor_id(),
			   (int)getpid(), gfp, mode);
	}
	while ((PAGE_SIZE << order) < size)
		order++;
	struct page *page = alloc_pages(gfp & ~(__GFP_COMP | __GFP_HIGHMEM), order);
	if (!page)
		return NULL;
	split_page(page, order);
	unsigned long used = PAGE_ALIGN(size) >> PAGE_SHIFT;
	for (unsigned long i = used; i < (1UL << order); i++)
		__free_pages(page + i, 0);
	return page_address(page);
}

KMM_EXPORT void free_pages_exact(void *virt, size_t size)
{
	char *p = virt;
	if (!virt)
		return;
	for (size_t off = 0; off < size; off += PAGE_SIZE)
		free_page((unsigned long)(p + off));
}

KMM_EXPORT void drain_all_pages(struct zone *zone)
{
	if (!kmm_ensure_up())
		return;
	if (zone) {
		pcp_drain_zone(zone);
		return;
	}
	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (machine.node.node_zones[z].spanned_pages)
			pcp_drain_zone(&machine.node.node_zones[z]);
}

/* NR_FREE_PAGES of a zone: the frames on its buddy free lists (ACCOUNTING
 * above).  Every dump and nr_free_pages() read it. */
unsigned long zone_free_frames(const struct zone *zone)
{
	return READ_ONCE(zone->nr_free_pages);
}

KMM_EXPORT unsigned long nr_free_pages(void)
{
	unsigned long n = 0;
	kmm_ensure_booted();
	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (machine.node.node_zones[z].spanned_pages)
			n += zone_free_frames(&machine.node.node_zones[z]);
	return n;
}

unsigned long page_alloc_release_all(void)
{
	unsigned long frames = 0;
	drain_all_pages(NULL);
	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (machine.node.node_zones[z].spanned_pages)
			frames += buddy_release_all(&machine.node.node_zones[z]);
	return frames << PAGE_SHIFT;
}

/* ------------------------------------------------------------------ */
/* Invariants and fork                                                 */

/* Walk a zone's online frames: no frame is in two free blocks, free blocks
 * hold no referenced page, compound tails point at their head.  Every lock
 * of the page allocator is held, but the struct pages of frames just taken
 * off (or about to go onto) a per-CPU list or stack belong to the thread
 * doing it, which may be writing them: a race allowed on purpose.  The
 * writers order their stores (flags last) so that what is read here is
 * either the old state or the new. */
static __data_racy int check_mem_map_zone(struct zone *zone)
{
	int problems = 0;
	unsigned long pfn = zone->zone_start_pfn, end = zone_end_pfn(zone);
	while (pfn < end) {
		if (!machine.mem.section_online[pfn / PAGES_PER_SECTION]) {
			pfn = ALIGN_DOWN(pfn, PAGES_PER_SECTION) + PAGES_PER_SECTION;
			continue;
		}
		struct page *page = page_of(pfn);
		unsigned long nr = 1;
		if (page->flags & ((1UL << PG_buddy) | (1UL << PG_pcp))) {
			nr = 1UL << page->private;
			for (unsigned long i = 1; i < nr; i++) {
				struct page *p = page + i;
				if (p->flags & ((1UL << PG_buddy) | (1UL << PG_pcp)) ||
				    p->_refcount || (p->compound_head & 1)) {
					kmm_printk("kmm_check: pfn %#lx lies in the free block at "
						   "%#lx but is in use or free again\n", pfn + i, pfn);
					problems++;
					break;
				}
			}
		} else if (page_test_flag(page, PG_head)) {
			nr = 1UL << page_head_order(page);
			for (unsigned long i = 1; i < nr; i++) {
				if (page[i].compound_head != ((unsigned long)page | 1)) {
					kmm_printk("kmm_check: pfn %#lx: tail of the compound page at "
						   "%#lx does not point at its head\n", pfn + i, pfn);
					problems++;
					break;
				}
			}
		}
		pfn += nr;
	}
	return problems;
}

/* Frames of the zone's sections that are online; hotplug_lock held. */
static unsigned long zone_online_frames(const struct zone *zone)
{
	unsigned long n = 0, pfn = zone->zone_start_pfn, end = zone_end_pfn(zone);
	while (pfn < end) {
		unsigned long next = ALIGN_DOWN(pfn, PAGES_PER_SECTION) + PAGES_PER_SECTION;
		if (next > end)
			next = end;
		if (machine.mem.section_online[pfn / PAGES_PER_SECTION])
			n += next - pfn;
		pfn = next;
	}
	return n;
}

/* spanned >= present == managed == frames of online sections >= free;
 * every lock of the page allocator held. */
static int check_zone_counts_locked(const struct zone *zone)
{
	unsigned long online = zone_online_frames(zone);
	if (zone->present_pages != online || zone->managed_pages != zone->present_pages ||
	    zone->present_pages > zone->spanned_pages) {
		kmm_printk("kmm_check: zone %s: spanned %lu present %lu managed %lu, "
			   "its online sections hold %lu frames\n", zone->name,
			   zone->spanned_pages, zone->present_pages, zone->managed_pages, online);
		return 1;
	}
	if (zone_free_frames(zone) > zone->managed_pages) {
		kmm_printk("kmm_check: zone %s: %lu frames free of %lu managed\n",
			   zone->name, zone_free_frames(zone), zone->managed_pages);
		return 1;
	}
	return 0;
}

/* The free counts of every dump are NR_FREE_PAGES: nr_free_pages() = the
 * sum of free_area = zoneinfo's "pages free" = meminfo's MemFree = vmstat's
 * nr_free_pages.  Every zone lock held, so that none of them moves. */
static int check_free_counts_locked(void)
{
	struct free_counts dumps;
	unsigned long areas = 0, zones = 0, api = nr_free_pages();
	int problems = 0;
	show_free_counts(&dumps);
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &machine.node.node_zones[z];
		unsigned long area = 0;
		if (!zone->spanned_pages)
			continue;
		for (unsigned int o = 0; o <= MAX_PAGE_ORDER; o++)
			area += zone->free_area[o].nr_free << o;
		if (area != zone_free_frames(zone) || dumps.zoneinfo[z] != area) {
			kmm_printk("kmm_check: zone %s: free_area holds %lu frames, "
				   "nr_free_pages %lu, zoneinfo says %lu\n", zone->name, area,
				   zone_free_frames(zone), dumps.zoneinfo[z]);
			problems++;
		}
		areas += area;
		zones += zone_free_frames(zone);
	}
	if (api != areas || zones != areas || dumps.meminfo_kb != areas << (PAGE_SHIFT - 10) ||
	    dumps.vmstat != areas) {
		kmm_printk("kmm_check: free pages disagree: nr_free_pages() %lu, free_area "
			   "%lu, zones %lu, meminfo MemFree %lu kB, vmstat nr_free_pages %lu\n",
			   api, areas, zones, dumps.meminfo_kb, dumps.vmstat);
		problems++;
	}
	return problems;
}

int page_alloc_check(void)
{
	page_alloc_lock_all();
	int problems = pcp_check_locked();
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &machine.node.node_zones[z];
		if (!zone->spanned_pages)
			continue;
		problems += buddy_check_zone_locked(zone);
		problems += check_mem_map_zone(zone);
		problems += check_zone_counts_locked(zone);
	}
	problems += check_free_counts_locked();
	page_alloc_unlock_all();
	return problems;
}

void page_alloc_lock_all(void)
{
	pcp_lock_all();
	pthread_mutex_lock(&machine.mem.hotplug_lock);
	for (int z = 0; z < MAX_NR_ZONES; z++)
		pthread_mutex_lock(&machine.node.node_zones[z].lock);
}

void page_alloc_unlock_all(void)
{
	for (int z = MAX_NR_ZONES - 1; z >= 0; z--)
		pthread_mutex_unlock(&machine.node.node_zones[z].lock);
	pthread_mutex_unlock(&machine.mem.hotplug_lock);
	pcp_unlock_all();
}
