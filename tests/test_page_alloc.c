/*
 * test_page_alloc.c - white-box tests of emulated memory, zones, the buddy
 * allocator, the per-CPU lists and the order-0 stacks.  Each test boots its own machine (Check
 * forks a child per test) and ends with kmm_check().
 */
#include "config.h"
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "capture.h"
#include "../lib/internal.h"
#include "../lib/page_alloc.h"

static unsigned long order10_blocks(void)
{
	unsigned long n = 0;
	for (int z = 0; z < MAX_NR_ZONES; z++)
		n += NODE_DATA(0)->node_zones[z].free_area[MAX_PAGE_ORDER].nr_free;
	return n;
}

/* Every order gives naturally aligned, writable blocks; conversions agree. */
START_TEST(test_orders_aligned_and_writable)
{
	kmm_test_boot("mem=256M");
	for (unsigned int order = 0; order <= MAX_PAGE_ORDER; order++) {
		struct page *page = alloc_pages(GFP_KERNEL, order);
		ck_assert_ptr_nonnull(page);
		unsigned long pfn = page_to_pfn(page);
		char *addr = page_address(page);
		ck_assert_uint_eq(pfn & ((1UL << order) - 1), 0);
		ck_assert_uint_eq((unsigned long)addr & ((PAGE_SIZE << order) - 1), 0);
		memset(addr, 0xa5, PAGE_SIZE << order);
		ck_assert_int_eq(addr[(PAGE_SIZE << order) - 1], (char)0xa5);
		ck_assert_ptr_eq(pfn_to_page(pfn), page);
		ck_assert_ptr_eq(virt_to_page(addr), page);
		ck_assert_ptr_eq(virt_to_page(addr + (PAGE_SIZE << order) - 1), page + (1UL << order) - 1);
		ck_assert_uint_eq(virt_to_phys(addr), (phys_addr_t)pfn << PAGE_SHIFT);
		ck_assert_ptr_eq(phys_to_virt(virt_to_phys(addr)), addr);
		ck_assert_int_eq(page_count(page), 1);
		__free_pages(page, order);
	}
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_direct_map_aligned_to_1g)
{
	kmm_test_boot("mem=64M");
	struct page *page = pfn_to_page(0);
	ck_assert_uint_eq((unsigned long)page_address(page) & ((1UL << 30) - 1), 0);
}
END_TEST

/* The classic ASCII-art case: split an order-10 block and merge it back.
 *
 *   order 10  [...............................................]
 *   alloc 0   [x][ ][  ][    ][        ] ... (one free block per order 0..9)
 *   free 0    [...............................................]  merged
 */
START_TEST(test_split_and_merge)
{
	kmm_test_boot("mem=64M");
	drain_all_pages(NULL);
	unsigned long blocks = order10_blocks();
	struct zone *zone = &NODE_DATA(0)->node_zones[ZONE_DMA32];
	unsigned long before[NR_PAGE_ORDERS];
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		before[o] = zone->free_area[o].nr_free;

	pthread_mutex_lock(&zone->lock);
	struct page *page = buddy_alloc_locked(zone, 0, MIGRATE_MOVABLE);
	ck_assert_ptr_nonnull(page);
	for (int o = 0; o < MAX_PAGE_ORDER; o++)
		ck_assert_uint_eq(zone->free_area[o].nr_free, before[o] + 1);
	ck_assert_uint_eq(zone->free_area[MAX_PAGE_ORDER].nr_free, before[MAX_PAGE_ORDER] - 1);
	buddy_free_locked(zone, page_to_pfn(page), 0, false);
	pthread_mutex_unlock(&zone->lock);
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		ck_assert_uint_eq(zone->free_area[o].nr_free, before[o]);
	ck_assert_uint_eq(order10_blocks(), blocks);
	ck_assert_kmm_clean();
}
END_TEST

struct model_block {
	struct page *page;
	unsigned int order;
	unsigned char tag;
};

static bool block_intact(const struct model_block *b)
{
	const unsigned char *p = page_address(b->page);
	size_t len = PAGE_SIZE << b->order;
	/* First, last and one middle byte of every page carry the tag. */
	for (size_t off = 0; off < len; off += PAGE_SIZE)
		if (p[off] != b->tag || p[off + PAGE_SIZE - 1] != b->tag ||
		    p[off + 2048] != b->tag)
			return false;
	return true;
}

/* A long random mix against a model: contents intact, counts restored,
 * buddies merged back. */
START_TEST(test_random_mix_against_model)
{
	enum { SLOTS = 512, STEPS = 60000 };
	static struct model_block blocks[SLOTS];
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	kmm_test_boot("mem=256M");
	drain_all_pages(NULL);
	unsigned long free_before = nr_free_pages();
	unsigned long o10_before = order10_blocks();

	for (int step = 0; step < STEPS; step++) {
		int i = (int)(test_rand(&rng) % SLOTS);
		struct model_block *b = &blocks[i];
		if (b->page) {
			ck_assert_msg(block_intact(b), "block %d (order %u) corrupted", i, b->order);
			__free_pages(b->page, b->order);
			b->page = NULL;
		} else {
			uint64_t r = test_rand(&rng);
			/* Mostly small orders, sometimes large ones. */
			unsigned int order = (r & 7) ? (unsigned int)(r >> 8) % 4
						     : (unsigned int)(r >> 8) % NR_PAGE_ORDERS;
			gfp_t gfp = (r >> 20) & 1 ? GFP_KERNEL : GFP_KERNEL | __GFP_COMP;
			b->page = alloc_pages(gfp, order);
			ck_assert_ptr_nonnull(b->page);
			b->order = order;
			b->tag = (unsigned char)(r >> 32);
			unsigned char *p = page_address(b->page);
			for (size_t off = 0; off < (PAGE_SIZE << order); off += PAGE_SIZE) {
				p[off] = b->tag;
				p[off + 2048] = b->tag;
				p[off + PAGE_SIZE - 1] = b->tag;
			}
		}
		if (step % 10000 == 0)
			ck_assert_kmm_clean();
	}
	for (int i = 0; i < SLOTS; i++) {
		if (blocks[i].page) {
			ck_assert(block_intact(&blocks[i]));
			__free_pages(blocks[i].page, blocks[i].order);
		}
	}
	drain_all_pages(NULL);
	ck_assert_uint_eq(nr_free_pages(), free_before);
	ck_assert_uint_eq(order10_blocks(), o10_before);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_gfp_zones)
{
	/* 5G: DMA, DMA32 and Normal all exist. */
	kmm_test_boot("mem=5G");
	pg_data_t *node = NODE_DATA(0);
	ck_assert_str_eq(node->node_zones[ZONE_DMA].name, "DMA");
	ck_assert_str_eq(node->node_zones[ZONE_DMA32].name, "DMA32");
	ck_assert_str_eq(node->node_zones[ZONE_NORMAL].name, "Normal");
	ck_assert_uint_eq(node->node_zones[ZONE_HIGHMEM].spanned_pages, 0);

	struct page *p = alloc_pages(GFP_DMA, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(page_zonenum(p), ZONE_DMA);
	ck_assert_uint_lt(page_to_pfn(p), (16UL << 20) >> PAGE_SHIFT);
	__free_pages(p, 0);

	p = alloc_pages(GFP_DMA32, 2);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(page_zonenum(p), ZONE_DMA32);
	__free_pages(p, 2);

	p = alloc_pages(GFP_KERNEL, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(page_zonenum(p), ZONE_NORMAL);
	ck_assert_ptr_eq(page_zone(p), &node->node_zones[ZONE_NORMAL]);
	__free_pages(p, 0);

	/* No HighMem: GFP_HIGHUSER falls back to Normal. */
	p = alloc_pages(GFP_HIGHUSER, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(page_zonenum(p), ZONE_NORMAL);
	ck_assert(!PageHighMem(p));
	__free_pages(p, 0);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_highmem_zone)
{
	kmm_test_boot("mem=2G lowmem=896M");
	pg_data_t *node = NODE_DATA(0);
	ck_assert_str_eq(node->node_zones[ZONE_HIGHMEM].name, "HighMem");
	ck_assert_uint_eq(node->node_zones[ZONE_HIGHMEM].zone_start_pfn, (896UL << 20) >> PAGE_SHIFT);
	ck_assert_uint_eq(node->node_zones[ZONE_NORMAL].spanned_pages, 0);
	struct page *p = alloc_pages(GFP_HIGHUSER, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(page_zonenum(p), ZONE_HIGHMEM);
	ck_assert(PageHighMem(p));
	ck_assert_ptr_null(page_address(p));
	__free_pages(p, 0);
	/* GFP_KERNEL never gets HighMem. */
	p = alloc_pages(GFP_KERNEL, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert(!PageHighMem(p));
	ck_assert_ptr_nonnull(page_address(p));
	__free_pages(p, 0);
	ck_assert_kmm_clean();
}
END_TEST

/* Fill memory with GFP_KERNEL: lowmem_reserve keeps DMA for GFP_DMA. */
START_TEST(test_lowmem_reserve)
{
	enum { MAX = 70000 };
	static struct page *pages[MAX];
	int n = 0;
	kmm_test_boot("mem=256M");
	while (n < MAX && (pages[n] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0)) != NULL) {
		ck_assert_int_ne(page_zonenum(pages[n]), ZONE_DMA + 100);
		n++;
	}
	ck_assert_int_lt(n, MAX);
	/* GFP_KERNEL stopped short of DMA's reserve against Normal requests. */
	struct zone *dma_zone = &NODE_DATA(0)->node_zones[ZONE_DMA];
	ck_assert_int_gt(dma_zone->lowmem_reserve[ZONE_NORMAL], 0);
	ck_assert_uint_ge(dma_zone->nr_free_pages + pcp_count_zone(dma_zone),
			  (unsigned long)dma_zone->lowmem_reserve[ZONE_NORMAL]);
	struct page *dma = alloc_pages(GFP_DMA, 0);
	ck_assert_ptr_nonnull(dma);
	ck_assert_int_eq(page_zonenum(dma), ZONE_DMA);
	__free_pages(dma, 0);
	for (int i = 0; i < n; i++)
		__free_pages(pages[i], 0);
	ck_assert_kmm_clean();
}
END_TEST

static int count_lines(const char *path, const char *needle)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* Exhaustion returns NULL, warns at most at the rate limit, and freeing
 * everything restores the counts. */
START_TEST(test_exhaustion_under_64m)
{
	enum { MAX = 20000 };
	static struct page *pages[MAX];
	char path[] = "/tmp/kmm-test-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);

	kmm_test_boot("mem=64M");
	unsigned long free_before = nr_free_pages();
	int n = 0;
	while (n < MAX && (pages[n] = alloc_pages(GFP_KERNEL, 0)) != NULL)
		n++;
	ck_assert_int_lt(n, MAX);
	/* 50 more failures in a burst: at most 10 warnings (10 per 5 s). */
	for (int i = 0; i < 50; i++)
		ck_assert_ptr_null(alloc_pages(GFP_KERNEL, 0));
	ck_assert_ptr_null(alloc_pages(GFP_KERNEL, 3));
	for (int i = 0; i < n; i++)
		__free_pages(pages[i], 0);
	drain_all_pages(NULL);

	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	int warnings = count_lines(path, "page allocation failure: order:");
	unlink(path);
	ck_assert_int_ge(warnings, 1);
	ck_assert_int_le(warnings, 10);
	ck_assert_uint_eq(nr_free_pages(), free_before);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_warning_format_and_nowarn)
{
	char path[] = "/tmp/kmm-test-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	kmm_test_boot("mem=64M");
	ck_assert_ptr_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN, MAX_PAGE_ORDER + 1));
	ck_assert_ptr_null(alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER + 1));
	dup2(saved, STDERR_FILENO);
	close(fd);
	ck_assert_int_eq(count_lines(path, "page allocation failure: order:11, mode:0xcc0(GFP_KERNEL)"), 1);
	ck_assert_int_eq(count_lines(path, "Mem-Info:"), 1);
	unlink(path);
}
END_TEST

/* Linux 6.18's combinations: their values, their names in the failure
 * warning (the kernel's %pGg order), and GFP_NOWAIT warns no more. */
START_TEST(test_gfp_618_semantics)
{
	static const struct { gfp_t gfp; const char *name; } names[] = {
		{ GFP_KERNEL, "GFP_KERNEL" },
		{ GFP_KERNEL_ACCOUNT, "GFP_KERNEL_ACCOUNT" },
		{ GFP_NOWAIT, "GFP_NOWAIT" },
		{ GFP_NOWAIT & ~__GFP_NOWARN, "__GFP_KSWAPD_RECLAIM" },
		{ GFP_ATOMIC | __GFP_NOWARN, "GFP_ATOMIC|__GFP_NOWARN" },
		{ GFP_TRANSHUGE, "GFP_TRANSHUGE" },
		{ GFP_TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT" },
		{ GFP_TRANSHUGE | __GFP_THISNODE, "GFP_TRANSHUGE|__GFP_THISNODE" },
		{ GFP_HIGHUSER_MOVABLE | __GFP_ZERO, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO" },
		{ GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN | __GFP_COMP,
		  "GFP_KERNEL|__GFP_ZERO|__GFP_NOWARN|__GFP_COMP" },
		{ GFP_DMA32 | __GFP_RECLAIM, "GFP_NOIO|GFP_DMA32" },
		{ __GFP_HIGHMEM | __GFP_MOVABLE | __GFP_IO, "__GFP_HIGHMEM|__GFP_MOVABLE|__GFP_IO" },
		{ 0, "none" },
		{ GFP_KERNEL | 0x200u, "GFP_KERNEL|0x200" },
	};
	char buf[256];
	ck_assert_uint_eq(GFP_NOWAIT, 0x2800);
	ck_assert_uint_eq(GFP_KERNEL_ACCOUNT, 0x400cc0);
	ck_assert_uint_eq(GFP_TRANSHUGE_LIGHT, 0x1c20ca);
	ck_assert_uint_eq(GFP_TRANSHUGE, 0x1c24ca);
	ck_assert(!(GFP_TRANSHUGE_LIGHT & __GFP_RECLAIM));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		kmm_format_gfp(buf, sizeof(buf), names[i].gfp);
		ck_assert_str_eq(buf, names[i].name);
	}

	char path[] = "/tmp/kmm-test-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	kmm_test_boot("mem=64M");
	ck_assert_ptr_null(alloc_pages(GFP_NOWAIT, MAX_PAGE_ORDER + 1));      /* silent */
	ck_assert_ptr_null(alloc_pages(GFP_TRANSHUGE, MAX_PAGE_ORDER + 1));   /* silent */
	ck_assert_ptr_null(alloc_pages(GFP_KERNEL_ACCOUNT, MAX_PAGE_ORDER + 1));
	/* A GFP_NOWAIT request is served when memory is there. */
	struct page *p = alloc_pages(GFP_NOWAIT, 0);
	ck_assert_ptr_nonnull(p);
	__free_pages(p, 0);
	p = alloc_pages(GFP_TRANSHUGE_LIGHT, pageblock_order);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(compound_order(p), pageblock_order);
	__free_pages(p, pageblock_order);
	dup2(saved, STDERR_FILENO);
	close(fd);
	ck_assert_int_eq(count_lines(path, "page allocation failure"), 1);
	ck_assert_int_eq(count_lines(path, "order:11, mode:0x400cc0(GFP_KERNEL_ACCOUNT)"), 1);
	unlink(path);
	ck_assert_kmm_clean();
}
END_TEST

/* __GFP_ZERO reads zero even when an earlier user dirtied the frames. */
START_TEST(test_gfp_zero_after_dirty)
{
	kmm_test_boot("mem=128M");
	for (unsigned int order = 0; order <= MAX_PAGE_ORDER; order += 3) {
		struct page *p = alloc_pages(GFP_KERNEL, order);
		memset(page_address(p), 0xff, PAGE_SIZE << order);
		__free_pages(p, order);
		p = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);
		const unsigned char *c = page_address(p);
		for (size_t i = 0; i < (PAGE_SIZE << order); i++)
			ck_assert_msg(c[i] == 0, "order %u byte %zu not zero", order, i);
		__free_pages(p, order);
	}
	unsigned long addr = get_zeroed_page(GFP_KERNEL);
	ck_assert_uint_ne(addr, 0);
	for (size_t i = 0; i < PAGE_SIZE; i++)
		ck_assert_int_eq(((char *)addr)[i], 0);
	free_page(addr);
	ck_assert_kmm_clean();
}
END_TEST

/* Free memory of pageblock order goes back to the host and reads zero. */
START_TEST(test_release_to_host)
{
	kmm_test_boot("mem=256M page_reporting.reserve=0 page_reporting.delay=0");
	struct page *p = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
	char *addr = page_address(p);
	memset(addr, 0x5a, PAGE_SIZE << MAX_PAGE_ORDER);
	unsigned char vec[1024];
	ck_assert_int_eq(mincore(addr, PAGE_SIZE << MAX_PAGE_ORDER, vec), 0);
	ck_assert_int_eq(vec[0] & 1, 1);
	__free_pages(p, MAX_PAGE_ORDER);
	/* The release is due at once (delay 0); force it in any case. */
	page_alloc_release_all();
	ck_assert_int_eq(mincore(addr, PAGE_SIZE << MAX_PAGE_ORDER, vec), 0);
	int resident = 0;
	for (int i = 0; i < 1024; i++)
		resident += vec[i] & 1;
	ck_assert_int_eq(resident, 0);
	struct zone *zone = page_zone(p);
	ck_assert_uint_ge(zone->nr_reported, 1UL << MAX_PAGE_ORDER);
	ck_assert_uint_eq(zone->nr_dirty_free, 0);
	/* Known-zero memory: __GFP_ZERO skips the memset, contents are zero. */
	p = alloc_pages(GFP_KERNEL | __GFP_ZERO, MAX_PAGE_ORDER);
	const unsigned char *c = page_address(p);
	for (size_t i = 0; i < (PAGE_SIZE << MAX_PAGE_ORDER); i += 512)
		ck_assert_int_eq(c[i], 0);
	__free_pages(p, MAX_PAGE_ORDER);
	ck_assert_kmm_clean();
}
END_TEST

static int resident_pages(void *addr, size_t len)
{
	unsigned char vec[4096];
	int n = 0;
	ck_assert_int_eq(mincore(addr, len, vec), 0);
	for (size_t i = 0; i < len / PAGE_SIZE; i++)
		n += vec[i] & 1;
	return n;
}

/* Free memory is kept while it may be reused, released once it sat idle. */
START_TEST(test_release_is_delayed)
{
	kmm_test_boot("mem=256M page_reporting.reserve=0 page_reporting.delay=200");
	struct page *p = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
	struct page *q = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
	char *addr = page_address(p), *qaddr = page_address(q);
	size_t len = PAGE_SIZE << MAX_PAGE_ORDER;
	memset(addr, 1, len);
	memset(qaddr, 1, len);
	__free_pages(p, MAX_PAGE_ORDER);
	ck_assert_int_eq(resident_pages(addr, len), 1024);   /* not at once */
	usleep(300 * 1000);
	/* The next large free in the zone notices that the idle block is due;
	 * the block just freed is not. */
	__free_pages(q, MAX_PAGE_ORDER);
	ck_assert_int_eq(resident_pages(addr, len), 0);
	ck_assert_int_eq(resident_pages(qaddr, len), 1024);
	ck_assert_kmm_clean();
}
END_TEST

/* Sections come online on demand, as memory hot-add: spanned is fixed,
 * present and managed grow by a section, and so does the free count.
 *
 *   DMA32   16M                 128M                        1G
 *   boot    [present = managed ][ spanned only .......... ]
 *   400M    [present = managed .......... ][ spanned .... ]
 */
START_TEST(test_sections_online_on_demand)
{
	kmm_test_boot("mem=1G");
	struct zone *dma32 = &NODE_DATA(0)->node_zones[ZONE_DMA32];
	unsigned long managed = dma32->managed_pages;
	drain_all_pages(NULL);
	unsigned long free_before = nr_free_pages();
	ck_assert_uint_eq(dma32->spanned_pages, ((1UL << 30) - (16UL << 20)) >> PAGE_SHIFT);
	ck_assert_uint_eq(managed, ((128UL - 16) << 20) >> PAGE_SHIFT);
	ck_assert_uint_eq(dma32->present_pages, managed);
	ck_assert_uint_eq(NODE_DATA(0)->node_present_pages, (128UL << 20) >> PAGE_SHIFT);
	enum { N = 100 };
	struct page *blocks[N];
	for (int i = 0; i < N; i++) {   /* 400 MiB */
		blocks[i] = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
		ck_assert_ptr_nonnull(blocks[i]);
	}
	unsigned long added = dma32->managed_pages - managed;
	ck_assert_uint_gt(added, 0);
	ck_assert_uint_eq(added % PAGES_PER_SECTION, 0);
	ck_assert_uint_eq(dma32->present_pages, dma32->managed_pages);
	ck_assert_uint_lt(dma32->present_pages, dma32->spanned_pages);
	ck_assert_uint_le(nr_free_pages(), dma32->managed_pages + 4096);
	ck_assert_kmm_clean();
	for (int i = 0; i < N; i++)
		__free_pages(blocks[i], MAX_PAGE_ORDER);
	drain_all_pages(NULL);
	ck_assert_uint_eq(nr_free_pages(), free_before + added);
	ck_assert_kmm_clean();
}
END_TEST

/* ------------------------------------------------------------------ */
/* The free counts of every dump add up (page_alloc.c: ACCOUNTING)     */

static char *dump_of(void (*show)(FILE *))
{
	static char buf[1 << 20];
	buf[0] = '\0';
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	show(f);
	fclose(f);
	return buf;
}

static int zone_index(const char *name)
{
	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (NODE_DATA(0)->node_zones[z].spanned_pages &&
		    strcmp(NODE_DATA(0)->node_zones[z].name, name) == 0)
			return z;
	ck_abort_msg("no zone %s", name);
	return -1;
}

/* What the dumps say, read back from their text. */
struct dumped {
	unsigned long buddyinfo[MAX_NR_ZONES];     /* sum of nr_free << order */
	unsigned long pages_free[MAX_NR_ZONES];    /* zoneinfo "pages free" */
	unsigned long nr_free[MAX_NR_ZONES];       /* zoneinfo nr_free_pages */
	unsigned long spanned[MAX_NR_ZONES], present[MAX_NR_ZONES], managed[MAX_NR_ZONES];
	unsigned long memtotal_kb, memfree_kb, vmstat_free;
};

static void read_dumps(struct dumped *d)
{
	char name[16], *line, *save;
	int z = -1;
	memset(d, 0, sizeof(*d));
	for (line = strtok_r(dump_of(kmm_show_buddyinfo), "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long nr[NR_PAGE_ORDERS];
		ck_assert_int_eq(sscanf(line, "Node 0, zone %15s %lu %lu %lu %lu %lu %lu %lu %lu "
					"%lu %lu %lu", name, &nr[0], &nr[1], &nr[2], &nr[3],
					&nr[4], &nr[5], &nr[6], &nr[7], &nr[8], &nr[9],
					&nr[10]), 12);
		z = zone_index(name);
		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			d->buddyinfo[z] += nr[o] << o;
	}
	for (line = strtok_r(dump_of(kmm_show_zoneinfo), "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long v;
		if (sscanf(line, "Node 0, zone %15s", name) == 1)
			z = zone_index(name);
		else if (sscanf(line, "  pages free %lu", &v) == 1)
			d->pages_free[z] = v;
		else if (sscanf(line, " nr_free_pages %lu", &v) == 1)
			d->nr_free[z] = v;
		else if (sscanf(line, " spanned %lu", &v) == 1)
			d->spanned[z] = v;
		else if (sscanf(line, " present %lu", &v) == 1)
			d->present[z] = v;
		else if (sscanf(line, " managed %lu", &v) == 1)
			d->managed[z] = v;
	}
	char *mi = dump_of(kmm_show_meminfo);
	ck_assert_int_eq(sscanf(strstr(mi, "MemTotal:"), "MemTotal: %lu kB", &d->memtotal_kb), 1);
	ck_assert_int_eq(sscanf(strstr(mi, "MemFree:"), "MemFree: %lu kB", &d->memfree_kb), 1);
	char *vs = dump_of(kmm_show_vmstat);
	ck_assert_int_eq(sscanf(strstr(vs, "nr_free_pages "), "nr_free_pages %lu",
				&d->vmstat_free), 1);
}

/*
 * nr_free_pages() == the sum of free_area[o].nr_free << o == zoneinfo's
 * "pages free" (and nr_free_pages) == meminfo's MemFree == vmstat's
 * nr_free_pages; per zone free <= managed == present <= spanned; MemTotal
 * is the managed memory; and kmm_check() agrees.  With or without frames
 * on the per-CPU lists: those are in none of the counts.
 */
static void check_free_counts_agree(void)
{
	struct dumped d;
	unsigned long total = 0, managed = 0;
	read_dumps(&d);
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &NODE_DATA(0)->node_zones[z];
		unsigned long area = 0;
		if (!zone->spanned_pages)
			continue;
		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			area += zone->free_area[o].nr_free << o;
		ck_assert_uint_eq(d.buddyinfo[z], area);
		ck_assert_uint_eq(d.pages_free[z], area);
		ck_assert_uint_eq(d.nr_free[z], area);
		ck_assert_uint_le(area, d.managed[z]);
		ck_assert_uint_eq(d.present[z], d.managed[z]);
		ck_assert_uint_le(d.present[z], d.spanned[z]);
		ck_assert_uint_eq(d.spanned[z], zone->spanned_pages);
		ck_assert_uint_eq(d.managed[z], zone->managed_pages);
		total += area;
		managed += zone->managed_pages;
	}
	ck_assert_uint_eq(nr_free_pages(), total);
	ck_assert_uint_eq(d.memfree_kb, total * (PAGE_SIZE / 1024));
	ck_assert_uint_eq(d.vmstat_free, total);
	ck_assert_uint_eq(d.memtotal_kb, managed * (PAGE_SIZE / 1024));
	ck_assert_uint_eq(NODE_DATA(0)->node_present_pages, managed);
	ck_assert_kmm_clean();
}

/* _i = 0: DMA, DMA32 and Normal (mem=5G); 1: DMA, DMA32 and HighMem. */
static const char *const counts_conf[] = { "mem=5G", "mem=2G lowmem=896M" };

/* A mix of every order from every zone, enough to bring sections online
 * in each zone that has offline ones: the counts agree all along. */
START_TEST(test_free_counts_agree)
{
	static const gfp_t gfps[] = {
		GFP_DMA, GFP_DMA32, GFP_KERNEL, GFP_KERNEL | __GFP_COMP, GFP_HIGHUSER,
	};
	enum { ROUNDS = 4, PER = 16, MAX = ROUNDS * NR_PAGE_ORDERS * 5 * PER };
	static struct { struct page *page; unsigned int order; } blocks[MAX];
	unsigned long present_before[MAX_NR_ZONES];
	int n = 0;
	kmm_test_boot(counts_conf[_i]);
	pg_data_t *node = NODE_DATA(0);
	for (int z = 0; z < MAX_NR_ZONES; z++)
		present_before[z] = node->node_zones[z].present_pages;
	check_free_counts_agree();
	for (int round = 0; round < ROUNDS; round++) {
		for (unsigned int order = 0; order <= MAX_PAGE_ORDER; order++) {
			for (size_t g = 0; g < ARRAY_SIZE(gfps); g++) {
				for (int i = 0; i < PER; i++) {
					struct page *p = alloc_pages(gfps[g] | __GFP_NOWARN, order);
					if (!p)
						continue;       /* DMA runs out */
					blocks[n].page = p;
					blocks[n++].order = order;
				}
			}
			check_free_counts_agree();
		}
		/* Every other block back, so that what is kept grows by half a
		 * round (128 MiB per kind) and the buddies merge. */
		for (int i = 0; i < n; i += 2) {
			if (blocks[i].page) {
				__free_pages(blocks[i].page, blocks[i].order);
				blocks[i].page = NULL;
			}
		}
		check_free_counts_agree();
	}
	/* Sections came online in the zones that had offline ones. */
	for (int z = ZONE_DMA32; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &node->node_zones[z];
		if (zone->spanned_pages && present_before[z] < zone->spanned_pages)
			ck_assert_msg(zone->present_pages > present_before[z],
				      "zone %s: no section came online", zone->name);
	}
	for (int i = 0; i < n; i++)
		if (blocks[i].page)
			__free_pages(blocks[i].page, blocks[i].order);
	check_free_counts_agree();
	drain_all_pages(NULL);
	check_free_counts_agree();
}
END_TEST

/* kmm_check() notices counts that do not add up, and says which. */
START_TEST(test_check_reports_bad_counts)
{
	char path[] = "/tmp/kmm-test-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	kmm_test_boot("mem=256M");
	struct zone *dma32 = &NODE_DATA(0)->node_zones[ZONE_DMA32];
	dup2(fd, STDERR_FILENO);
	dma32->present_pages += PAGES_PER_SECTION;      /* as if counted at boot */
	int bad_present = kmm_check();
	dma32->present_pages -= PAGES_PER_SECTION;
	dma32->managed_pages += PAGES_PER_SECTION;
	dma32->present_pages += PAGES_PER_SECTION;
	int bad_both = kmm_check();
	dma32->managed_pages -= PAGES_PER_SECTION;
	dma32->present_pages -= PAGES_PER_SECTION;
	dup2(saved, STDERR_FILENO);
	close(fd);
	ck_assert_int_gt(bad_present, 0);
	ck_assert_int_gt(bad_both, 0);
	ck_assert_int_eq(count_lines(path, "kmm_check: zone DMA32: spanned"), 2);
	unlink(path);
	ck_assert_kmm_clean();
}
END_TEST

/* A small zone's lists stay at pcp->high: a stack spill (half a stack)
 * is more than its batch (1 frame in DMA), and the drain takes the
 * excess, not just a batch. */
START_TEST(test_pcp_lists_stay_below_high)
{
	enum { N = 1500 };
	static struct page *pages[N];
	kmm_test_boot("mem=256M");
	struct zone *dma = &NODE_DATA(0)->node_zones[ZONE_DMA];
	ck_assert_int_eq(zone_pcp(dma, 0)->batch, 1);
	for (int round = 0; round < 4; round++) {
		int n = 0;
		while (n < N && (pages[n] = alloc_pages(GFP_DMA | __GFP_NOWARN, 0)) != NULL)
			n++;
		ck_assert_int_gt(n, 1000);
		for (int i = 0; i < n; i++)
			__free_pages(pages[i], 0);
		for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
			ck_assert_int_lt(zone_pcp(dma, cpu)->count, zone_pcp(dma, cpu)->high);
	}
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_compound_pages_and_refcount)
{
	kmm_test_boot("mem=64M");
	struct page *p = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
	ck_assert(PageCompound(p));
	ck_assert(PageHead(p));
	ck_assert_uint_eq(compound_order(p), 3);
	for (int i = 1; i < 8; i++) {
		ck_assert(PageTail(p + i));
		ck_assert_ptr_eq(compound_head(p + i), p);
		ck_assert_ptr_eq(virt_to_head_page((char *)page_address(p) + i * PAGE_SIZE + 5), p);
	}
	get_page(p + 3);
	ck_assert_int_eq(page_count(p), 2);
	put_page(p + 5);
	ck_assert_int_eq(page_count(p), 1);
	/* Free pages are the buddy allocator's: drain the CPU lists first. */
	drain_all_pages(NULL);
	unsigned long before = nr_free_pages();
	put_page(p);            /* last reference frees the whole block */
	drain_all_pages(NULL);
	ck_assert_uint_eq(nr_free_pages(), before + 8);
	ck_assert(!PageTail(p + 1));
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_alloc_pages_exact)
{
	kmm_test_boot("mem=64M");
	drain_all_pages(NULL);
	unsigned long before = nr_free_pages();
	void *p = alloc_pages_exact(5 * PAGE_SIZE + 1, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq((unsigned long)p & (PAGE_SIZE - 1), 0);
	memset(p, 1, 5 * PAGE_SIZE + 1);
	drain_all_pages(NULL);
	ck_assert_uint_eq(nr_free_pages(), before - 6);
	free_pages_exact(p, 5 * PAGE_SIZE + 1);
	drain_all_pages(NULL);
	ck_assert_uint_eq(nr_free_pages(), before);
	unsigned long a = __get_free_pages(GFP_KERNEL, 2);
	ck_assert_uint_ne(a, 0);
	free_pages(a, 2);
	drain_all_pages(NULL);
	ck_assert_uint_eq(nr_free_pages(), before);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_double_free_reported)
{
	char path[] = "/tmp/kmm-test-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	kmm_test_boot("mem=64M");
	struct page *p = alloc_pages(GFP_KERNEL, 0);
	__free_pages(p, 0);
	dup2(fd, STDERR_FILENO);
	__free_pages(p, 0);     /* reported, not freed twice */
	dup2(saved, STDERR_FILENO);
	close(fd);
	ck_assert_int_eq(count_lines(path, "BUG: Bad page state"), 1);
	unlink(path);
	ck_assert_kmm_clean();
}
END_TEST

/* Join the workers (each returns NULL when all was well), then every frame
 * is back: the free count after a drain is the one from before. */
static void join_and_account(pthread_t *th, int n, unsigned long before)
{
	for (int i = 0; i < n; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		ck_assert_ptr_null(ret);
	}
	drain_all_pages(NULL);
	ck_assert_uint_eq(nr_free_pages(), before);
	ck_assert_kmm_clean();
}

static void *hammer(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 1;
	enum { SLOTS = 64 };
	struct page *pages[SLOTS] = { 0 };
	unsigned int orders[SLOTS];
	for (int step = 0; step < 40000; step++) {
		int i = (int)(test_rand(&rng) % SLOTS);
		if (pages[i]) {
			unsigned char *c = page_address(pages[i]);
			if (c[0] != (unsigned char)i)
				return (void *)1;
			__free_pages(pages[i], orders[i]);
			pages[i] = NULL;
		} else {
			orders[i] = (unsigned int)(test_rand(&rng) % 6);
			pages[i] = alloc_pages(GFP_KERNEL, orders[i]);
			if (!pages[i])
				return (void *)2;
			*(unsigned char *)page_address(pages[i]) = (unsigned char)i;
		}
	}
	for (int i = 0; i < SLOTS; i++)
		if (pages[i])
			__free_pages(pages[i], orders[i]);
	return NULL;
}

START_TEST(test_threads_hammer)
{
	enum { T = 4 };
	pthread_t th[T];
	kmm_test_boot("mem=512M");
	drain_all_pages(NULL);
	unsigned long before = nr_free_pages();
	for (long i = 0; i < T; i++)
		pthread_create(&th[i], NULL, hammer, (void *)(i + 1));
	join_and_account(th, T, before);
}
END_TEST

START_TEST(test_fork_child_allocates)
{
	kmm_test_boot("mem=64M");
	struct page *p = alloc_pages(GFP_KERNEL, 1);
	strcpy(page_address(p), "parent");
	pid_t pid = fork();
	if (pid == 0) {
		/* Copy-on-write heap: the child sees the parent's data. */
		struct page *q = alloc_pages(GFP_KERNEL, 0);
		int ok = q && strcmp(page_address(p), "parent") == 0 && kmm_check() == 0;
		_exit(ok ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	__free_pages(p, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The order-0 stacks in front of the per-CPU lists                    */

static unsigned long frames_on_stacks(const struct zone *zone)
{
	unsigned long n = 0;
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
		for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
			const struct pcp_stack *st = &zone_pcp(zone, cpu)->stacks[mt];
			n += st->pushes - st->pops;
		}
	return n;
}

/* A freed frame is the next one allocated (LIFO, cache-hot, as the
 * kernel's pcp lists), the vmstat counts are exact, and every frame comes
 * back to the buddy allocator on drain. */
static void check_stack_round_trip(void)
{
	enum { N = 200 };
	struct page *pages[N];
	struct zone *zone = &NODE_DATA(0)->node_zones[ZONE_NORMAL];
	if (!zone->spanned_pages)
		zone = &NODE_DATA(0)->node_zones[ZONE_DMA32];
	/* On one CPU, so that the stack the frees fill is the one the
	 * allocation pops. */
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	drain_all_pages(NULL);
	unsigned long before = nr_free_pages(), a0, f0, a1, f1;
	pcp_stats_zone(zone, &a0, &f0);
	for (int i = 0; i < N; i++) {
		pages[i] = alloc_pages(GFP_KERNEL, 0);
		ck_assert_ptr_nonnull(pages[i]);
		ck_assert_uint_eq(page_zonenum(pages[i]), zone->idx);
		memset(page_address(pages[i]), i, PAGE_SIZE);
	}
	for (int i = 0; i < N; i++)
		__free_pages(pages[i], 0);
	/* With rseq, frees land on the running CPU's stacks. */
	if (kmm_rseq_on)
		ck_assert_uint_gt(frames_on_stacks(zone), 0);
	struct page *again = alloc_pages(GFP_KERNEL, 0);
	ck_assert_ptr_eq(again, pages[N - 1]);
	ck_assert_int_eq(page_count(again), 1);
	__free_pages(again, 0);
	pcp_stats_zone(zone, &a1, &f1);
	ck_assert_uint_eq(a1 - a0, N + 1);
	ck_assert_uint_eq(f1 - f0, N + 1);
	ck_assert_int_eq(kmm_check(), 0);
	drain_all_pages(NULL);
	ck_assert_uint_eq(frames_on_stacks(zone), 0);
	ck_assert_uint_eq(nr_free_pages(), before);
	ck_assert_kmm_clean();
}

START_TEST(test_stack_round_trip)
{
	kmm_test_boot("mem=256M");
	check_stack_round_trip();
}
END_TEST

START_TEST(test_stack_round_trip_without_rseq)
{
	kmm_test_boot("mem=256M slab_rseq=0");
	ck_assert(!kmm_rseq_on);
	check_stack_round_trip();
}
END_TEST

static int stack_stop;              /* set once by the main thread */

static void *order0_churn(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 7;
	enum { SLOTS = 96 };
	struct page *pages[SLOTS] = { 0 };
	long bad = 0;
	while (!__atomic_load_n(&stack_stop, __ATOMIC_RELAXED)) {
		int i = (int)(test_rand(&rng) % SLOTS);
		if (pages[i]) {
			if (*(unsigned long *)page_address(pages[i]) != (unsigned long)&pages[i])
				bad++;
			__free_pages(pages[i], 0);
			pages[i] = NULL;
		} else if ((pages[i] = alloc_pages(GFP_KERNEL, 0)) != NULL) {
			if (page_count(pages[i]) != 1 || PageBuddy(pages[i]))
				bad++;
			*(unsigned long *)page_address(pages[i]) = (unsigned long)&pages[i];
		}
	}
	for (int i = 0; i < SLOTS; i++)
		if (pages[i])
			__free_pages(pages[i], 0);
	return (void *)bad;
}

/* Threads allocate and free order-0 frames through their CPUs' stacks
 * while another drains every CPU and checks the allocator: no frame is
 * lost or handed out twice, and the counts come back exactly. */
START_TEST(test_stack_drain_while_running)
{
	enum { T = 3 };
	pthread_t th[T];
	kmm_test_boot("mem=256M");
	drain_all_pages(NULL);
	unsigned long before = nr_free_pages();
	__atomic_store_n(&stack_stop, 0, __ATOMIC_RELAXED);
	for (long i = 0; i < T; i++)
		pthread_create(&th[i], NULL, order0_churn, (void *)(i + 1));
	for (int round = 0; round < 200; round++) {
		drain_all_pages(NULL);
		if (round % 20 == 0)
			ck_assert_int_eq(kmm_check(), 0);
	}
	__atomic_store_n(&stack_stop, 1, __ATOMIC_RELAXED);
	join_and_account(th, T, before);
}
END_TEST

/* 6.18: alloc_pages_exact() with __GFP_COMP (or __GFP_HIGHMEM) warns once
 * and drops the flag; the memory is exact pages all the same. */
START_TEST(test_alloc_pages_exact_comp_warns_once)
{
	kmm_test_boot("mem=64M");
	struct capture c;
	capture_begin(&c);
	char *a = alloc_pages_exact(3 * PAGE_SIZE, GFP_KERNEL | __GFP_COMP);
	char *b = alloc_pages_exact(3 * PAGE_SIZE, GFP_KERNEL | __GFP_COMP);
	const char *text = capture_end(&c);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_contains(text, "WARNING: CPU: ");
	ck_assert_contains(text, "alloc_pages_exact");
	ck_assert_ptr_null(strstr(strstr(text, "alloc_pages_exact") + 1, "alloc_pages_exact"));
	ck_assert(!PageCompound(virt_to_page(a)));
	memset(a, 1, 3 * PAGE_SIZE);
	free_pages_exact(a, 3 * PAGE_SIZE);
	free_pages_exact(b, 3 * PAGE_SIZE);
	ck_assert_kmm_clean();
}
END_TEST

static Suite *page_alloc_suite(void)
{
	Suite *s = suite_create("page_alloc");
	TCase *tc = tcase_create("buddy");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_orders_aligned_and_writable);
	tcase_add_test(tc, test_alloc_pages_exact_comp_warns_once);
	tcase_add_test(tc, test_direct_map_aligned_to_1g);
	tcase_add_test(tc, test_split_and_merge);
	tcase_add_test(tc, test_random_mix_against_model);
	tcase_add_test(tc, test_compound_pages_and_refcount);
	tcase_add_test(tc, test_alloc_pages_exact);
	tcase_add_test(tc, test_double_free_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("zones");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gfp_zones);
	tcase_add_test(tc, test_highmem_zone);
	tcase_add_test(tc, test_lowmem_reserve);
	tcase_add_test(tc, test_exhaustion_under_64m);
	tcase_add_test(tc, test_warning_format_and_nowarn);
	tcase_add_test(tc, test_gfp_618_semantics);
	tcase_add_test(tc, test_sections_online_on_demand);
	tcase_add_loop_test(tc, test_free_counts_agree, 0, 2);
	tcase_add_test(tc, test_pcp_lists_stay_below_high);
	tcase_add_test(tc, test_check_reports_bad_counts);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gfp_zero_after_dirty);
	tcase_add_test(tc, test_release_to_host);
	tcase_add_test(tc, test_release_is_delayed);
	tcase_add_test(tc, test_threads_hammer);
	tcase_add_test(tc, test_fork_child_allocates);
	suite_add_tcase(s, tc);

	tc = tcase_create("stacks");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_stack_round_trip);
	tcase_add_test(tc, test_stack_round_trip_without_rseq);
	tcase_add_test(tc, test_stack_drain_while_running);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(page_alloc_suite());
}
