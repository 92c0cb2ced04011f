/*
 * page_alloc.h - the page allocator's parts as seen by each other:
 * buddy.c (free_area of one zone), pcp.c (per-CPU page lists) and
 * page_alloc.c (zonelists, watermarks, GFP, the public entry points) and
 * show.c (the dumps).
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
int pcp_init(void);
void pcp_setup_zone(struct zone *zone);
bool pcp_refill(struct zone *zone, struct per_cpu_pages *pcp, unsigned int order,
		int mt);
void pcp_free_drain_unlock(struct zone *zone, struct per_cpu_pages *pcp);
void pcp_drain_zone(struct zone *zone);
unsigned long pcp_count_zone(const struct zone *zone);
unsigned long pcp_count_cpu(const struct zone *zone, unsigned int cpu);
void pcp_stats_zone(const struct zone *zone, unsigned long *allocs,
		    unsigned long *frees);
int pcp_check_locked(void);
struct page *pcp_alloc_stack_miss(struct zone *zone, int mt);
void pcp_free_stack_miss(struct zone *zone, struct page *page, int mt);
void pcp_lock_all(void);
void pcp_unlock_all(void);

/* Take the first block off a non-empty list; pcp->lock held. */
static inline struct page *pcp_list_pop(struct per_cpu_pages *pcp, struct list_head *list,
					unsigned int order)
{
	struct page *page = list_first_entry(list, struct page, lru);
	list->next = page->lru.next;
	page->lru.next->prev = list;
	WRITE_ONCE(pcp->count, pcp->count - (1 << order));
	return page;
}

/* Put a block at the head of a list; pcp->lock held. */
static inline void pcp_list_push(struct per_cpu_pages *pcp, struct page *page,
				 struct list_head *list, unsigned int order)
{
	page->flags = 1UL << PG_pcp;
	page->private = order;
	list_add(&page->lru, list);
	WRITE_ONCE(pcp->count, pcp->count + (1 << order));
	ADD_ONCE(pcp->stat_free, 1UL << order);
}

/*
 * The fast path: pop from / push onto the running CPU's list.  About 25
 * instructions each with rseq, a few more with the cached CPU hint.
 */
static inline struct page *pcp_alloc(struct zone *zone, unsigned int order, int mt)
{
	struct per_cpu_pages *pcp = zone_pcp(zone, raw_smp_processor_id());
	struct list_head *list = &pcp->lists[order][mt];
	struct page *page;

	kmm_spin_lock(&pcp->lock);
	if (unlikely(list_empty(list)) && !pcp_refill(zone, pcp, order, mt)) {
		kmm_spin_unlock(&pcp->lock);
		return NULL;
	}
	page = pcp_list_pop(pcp, list, order);
	kmm_spin_unlock(&pcp->lock);
	return page;
}

static inline int pcp_migratetype(unsigned long pfn)
{
	int mt = pageblock_migratetype(pfn);
	return mt < MIGRATE_PCPTYPES ? mt : MIGRATE_MOVABLE;
}

static inline void pcp_free(struct zone *zone, struct page *page, unsigned long pfn,
			    unsigned int order)
{
	struct per_cpu_pages *pcp = zone_pcp(zone, raw_smp_processor_id());

	kmm_spin_lock(&pcp->lock);
	pcp_list_push(pcp, page, &pcp->lists[order][pcp_migratetype(pfn)], order);
	if (unlikely(pcp->count >= pcp->high)) {
		pcp_free_drain_unlock(zone, pcp);
		return;
	}
	kmm_spin_unlock(&pcp->lock);
}

/*
 * The order-0 fast path (pcp.c: THE STACKS): pop from or push onto
 * stacks[mt] of the running CPU's per_cpu_pages in the zone's array `pcps`,
 * or jump to the caller's label `miss` (empty or full, lock held, rseq off,
 * preempted).  On x86-64: 14 instructions, no lock, no atomic; the commit
 * is the increment of pops or pushes, the last instruction.  Elsewhere the
 * fast path is the miss.
 */
#ifdef KMM_RSEQ_ASM
_Static_assert(sizeof(AO_TS_t) == 1, "the page fast path tests the lock as a byte");

#define pcp_stack_pop(pcps_, mt_, out_, miss)                                \
	do {                                                                 \
		unsigned long tmp_, n_ = PCP_STACK_OFFSET(mt_);              \
		__asm__ __volatile__ goto(                                   \
			KMM_RSEQ_CS_BEGIN(#miss)                             \
			"movslq %%fs:4(%[off]), %[tmp]\n\t" /* cpu_id */     \
			"shlq $" KMM_STR(PCP_SIZE_SHIFT) ", %[tmp]\n\t"      \
			"addq %[pcps], %[tmp]\n\t"          /* its pcp */    \
			"cmpb $0, " KMM_STR(PCP_LOCK_OFFSET) "(%[tmp])\n\t" /* locked? */ \
			"jne %l[" #miss "]\n\t"                              \
			"addq %[n], %[tmp]\n\t"             /* stacks[mt] */ \
			"movq (%[tmp]), %[n]\n\t"                            \
			"subq 8(%[tmp]), %[n]\n\t"          /* height */     \
			"jz %l[" #miss "]\n\t"                               \
			"movq 8(%[tmp],%[n],8), %[o]\n\t"   /* slots[n-1] */ \
			"incq 8(%[tmp])\n\t"                /* commit pops */\
			"2:\n\t"                                             \
			: [o] "=&r"(out_), [tmp] "=&r"(tmp_), [n] "+&r"(n_)  \
			: [off] "r"(kmm_rseq_off), [pcps] "r"(pcps_)         \
			: "memory", "cc"                                     \
			: miss);                                             \
	} while (0)

#define pcp_stack_push(pcps_, mt_, in_, miss)                                \
	do {                                                                 \
		unsigned long tmp_, n_ = PCP_STACK_OFFSET(mt_);              \
		__asm__ __volatile__ goto(                                   \
			KMM_RSEQ_CS_BEGIN(#miss)                             \
			"movslq %%fs:4(%[off]), %[tmp]\n\t"                  \
			"shlq $" KMM_STR(PCP_SIZE_SHIFT) ", %[tmp]\n\t"      \
			"addq %[pcps], %[tmp]\n\t"                           \
			"cmpb $0, " KMM_STR(PCP_LOCK_OFFSET) "(%[tmp])\n\t"  \
			"jne %l[" #miss "]\n\t"                              \
			"addq %[n], %[tmp]\n\t"                              \
			"movq (%[tmp]), %[n]\n\t"                            \
			"subq 8(%[tmp]), %[n]\n\t"                           \
			"cmpq $" KMM_STR(PCP_STACK_SLOTS) ", %[n]\n\t"       \
			"jae %l[" #miss "]\n\t"             /* full */       \
			"movq %[i], 16(%[tmp],%[n],8)\n\t"  /* slots[n] */   \
			"incq (%[tmp])\n\t"                 /* commit pushes */\
			"2:\n\t"                                             \
			: [tmp] "=&r"(tmp_), [n] "+&r"(n_)                   \
			: [off] "r"(kmm_rseq_off), [pcps] "r"(pcps_),        \
			  [i] "r"(in_)                                       \
			: "memory", "cc"                                     \
			: miss);                                             \
	} while (0)
#else
#define pcp_stack_pop(pcps, mt, out, miss) \
	do { (void)(pcps); (void)(mt); out = NULL; goto miss; } while (0)
#define pcp_stack_push(pcps, mt, in, miss) \
	do { (void)(pcps); (void)(mt); (void)(in); goto miss; } while (0)
#endif

/* page_alloc.c: NR_FREE_PAGES of a zone, the frames in its free_area */
unsigned long zone_free_frames(const struct zone *zone);

/* show.c: the free counts the dumps print, each computed as its dump
 * computes it, for kmm_check(); reads counters only, takes no lock. */
struct free_counts {
	unsigned long zoneinfo[MAX_NR_ZONES]; /* "pages free" of each zone */
	unsigned long meminfo_kb;             /* MemFree */
	unsigned long vmstat;                 /* nr_free_pages */
};
void show_free_counts(struct free_counts *counts);

#endif /* KMM_LIB_PAGE_ALLOC_H */
