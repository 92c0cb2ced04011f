/*
 * test_fault_inject.c - fail_page_alloc (and failslab's decision),
 * init_on_alloc, init_on_free and page_alloc.shuffle: the page allocator
 * survives every injected failure with consistent state, the kernel's
 * defaults spare requests that may sleep, HighMem and order 0, and the
 * hardening options do what they say.
 */
#include "config.h"
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "../lib/internal.h"

START_TEST(test_fail_page_alloc_times)
{
	/* interval 1, probability 100 %, no space, 5 times: exactly five fail
	 * (GFP_KERNEL of any order: ignore_gfp_wait and min_order lifted). */
	kmm_test_boot("mem=64M fail_page_alloc=1,100,0,5 fail_page_alloc.ignore_gfp_wait=0 "
		      "fail_page_alloc.min_order=0");
	drain_all_pages(NULL);
	unsigned long before = nr_free_pages();
	int failed = 0;
	struct page *pages[20];
	for (int i = 0; i < 20; i++) {
		pages[i] = alloc_pages(GFP_KERNEL, i % 4);
		failed += pages[i] == NULL;
		ck_assert_kmm_clean();
	}
	ck_assert_int_eq(failed, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_null(pages[i]);
	for (int i = 0; i < 20; i++)
		if (pages[i])
			__free_pages(pages[i], i % 4);
	drain_all_pages(NULL);
	ck_assert_uint_eq(nr_free_pages(), before);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_fail_page_alloc_probability_and_nofail)
{
	kmm_test_boot("mem=128M fail_page_alloc.probability=50 "
		      "fail_page_alloc.ignore-gfp-wait=0 fail_page_alloc.min-order=0");
	enum { N = 2000 };
	static struct page *pages[N];
	int failed = 0;
	uint64_t rng = 7;
	for (int i = 0; i < N; i++) {
		unsigned int order = (unsigned int)(test_rand(&rng) % 5);
		pages[i] = alloc_pages(GFP_KERNEL, order);
		failed += pages[i] == NULL;
		if (pages[i])
			__free_pages(pages[i], order);
	}
	ck_assert_int_gt(failed, N / 4);
	ck_assert_int_lt(failed, 3 * N / 4);
	/* __GFP_NOFAIL is never failed on purpose. */
	for (int i = 0; i < 200; i++) {
		struct page *p = alloc_pages(GFP_KERNEL | __GFP_NOFAIL, 0);
		ck_assert_ptr_nonnull(p);
		__free_pages(p, 0);
	}
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_fail_page_alloc_interval_and_min_order)
{
	kmm_test_boot("mem=64M fail_page_alloc.probability=100 fail_page_alloc.interval=4 "
		      "fail_page_alloc.min_order=2 fail_page_alloc.ignore_gfp_wait=0");
	int failed = 0;
	for (int i = 0; i < 40; i++) {
		struct page *p = alloc_pages(GFP_KERNEL, 0);   /* below min_order */
		ck_assert_ptr_nonnull(p);
		__free_pages(p, 0);
		p = alloc_pages(GFP_KERNEL, 2);
		failed += p == NULL;
		if (p)
			__free_pages(p, 2);
	}
	ck_assert_int_eq(failed, 10);   /* every fourth */
	ck_assert_kmm_clean();
}
END_TEST

/* The kernel's defaults (mm/fail_page_alloc.c): ignore-gfp-wait and
 * ignore-gfp-highmem on, min-order 1.  Only requests that cannot sleep
 * fail: GFP_KERNEL never does, GFP_ATOMIC and GFP_NOWAIT of order 1 up do. */
START_TEST(test_fail_page_alloc_defaults)
{
	struct kmm_config c;
	kmm_config_defaults(&c);
	ck_assert(c.fail_page_alloc.ignore_gfp_wait);
	ck_assert(c.fail_page_alloc.ignore_gfp_highmem);
	ck_assert_uint_eq(c.fail_page_alloc.min_order, 1);
	ck_assert(c.failslab.ignore_gfp_wait);

	kmm_test_boot("mem=256M lowmem=128M fail_page_alloc.probability=100");
	for (unsigned int order = 0; order <= MAX_PAGE_ORDER; order++) {
		struct page *p = alloc_pages(GFP_KERNEL, order);      /* may sleep */
		ck_assert_msg(p != NULL, "GFP_KERNEL order %u failed", order);
		__free_pages(p, order);
		p = alloc_pages(GFP_HIGHUSER_MOVABLE, order);
		ck_assert_ptr_nonnull(p);
		__free_pages(p, order);
		/* Cannot sleep: fails from min-order up. */
		p = alloc_pages(GFP_ATOMIC | __GFP_NOWARN, order);
		ck_assert_msg((p == NULL) == (order >= 1), "GFP_ATOMIC order %u", order);
		if (p)
			__free_pages(p, order);
		ck_assert_ptr_eq(alloc_pages(GFP_NOWAIT, order + 1 > MAX_PAGE_ORDER ?
					     MAX_PAGE_ORDER : order + 1), NULL);
		/* HighMem is skipped, and __GFP_NOFAIL always. */
		p = alloc_pages(GFP_NOWAIT | __GFP_HIGHMEM, order);
		ck_assert_ptr_nonnull(p);
		ck_assert(PageHighMem(p));
		__free_pages(p, order);
		p = alloc_pages(GFP_ATOMIC | __GFP_NOFAIL, order);
		ck_assert_ptr_nonnull(p);
		__free_pages(p, order);
	}
	ck_assert_kmm_clean();
}
END_TEST

/* Each default can be turned off, in either spelling (the kernel's
 * debugfs files are ignore-gfp-wait, ignore-gfp-highmem, min-order). */
START_TEST(test_fail_page_alloc_settings)
{
	struct kmm_config c;
	kmm_config_defaults(&c);
	ck_assert_int_eq(kmm_config_parse(&c, "fail_page_alloc.ignore_gfp_wait=0 "
					  "fail_page_alloc.ignore-gfp-highmem=0 "
					  "fail_page_alloc.min-order=3 failslab.ignore-gfp-wait=0"), 0);
	ck_assert(!c.fail_page_alloc.ignore_gfp_wait);
	ck_assert(!c.fail_page_alloc.ignore_gfp_highmem);
	ck_assert_uint_eq(c.fail_page_alloc.min_order, 3);
	ck_assert(!c.failslab.ignore_gfp_wait);
	ck_assert_int_eq(kmm_config_parse(&c, "fail_page_alloc.ignore-gfp-wait=1 "
					  "fail_page_alloc.ignore_gfp_highmem=on "
					  "failslab.ignore_gfp_wait=yes"), 0);
	ck_assert(c.fail_page_alloc.ignore_gfp_wait && c.fail_page_alloc.ignore_gfp_highmem &&
		  c.failslab.ignore_gfp_wait);

	kmm_test_boot("mem=256M lowmem=128M fail_page_alloc.probability=100 "
		      "fail_page_alloc.ignore-gfp-highmem=0 fail_page_alloc.min_order=0");
	ck_assert_ptr_null(alloc_pages(GFP_NOWAIT | __GFP_HIGHMEM, 0));
	ck_assert_ptr_null(alloc_pages(GFP_NOWAIT, 0));
	struct page *p = alloc_pages(GFP_HIGHUSER, 0);      /* may sleep: spared */
	ck_assert_ptr_nonnull(p);
	__free_pages(p, 0);
	ck_assert_kmm_clean();
}
END_TEST

/* failslab's decision (the slab layer asks should_failslab() with the
 * request's gfp): may-sleep requests are spared by default. */
START_TEST(test_failslab_decision)
{
	kmm_test_boot("mem=64M failslab.probability=100");
	ck_assert(!should_failslab(GFP_KERNEL, 64));
	ck_assert(!should_failslab(GFP_NOFS | __GFP_ZERO, 64));
	ck_assert(should_failslab(GFP_ATOMIC, 64));
	ck_assert(should_failslab(GFP_NOWAIT, 64));
	ck_assert(!should_failslab(GFP_ATOMIC | __GFP_NOFAIL, 64));
	/* A cannot-sleep kmalloc fails, through the slab layer's hook. */
	ck_assert_ptr_null(kmalloc(64, GFP_ATOMIC));
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_failslab_decision_gfp_wait_off)
{
	kmm_test_boot("mem=64M failslab.probability=100 failslab.ignore_gfp_wait=0");
	ck_assert(should_failslab(GFP_KERNEL, 64));
	ck_assert(should_failslab(GFP_ATOMIC, 64));
	ck_assert(!should_failslab(GFP_KERNEL | __GFP_NOFAIL, 64));
	ck_assert_ptr_null(kmalloc(64, GFP_KERNEL));
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_init_on_alloc)
{
	kmm_test_boot("mem=64M init_on_alloc=1");
	for (int round = 0; round < 50; round++) {
		struct page *p = alloc_pages(GFP_KERNEL, 1);
		const unsigned char *c = page_address(p);
		for (size_t i = 0; i < 2 * PAGE_SIZE; i++)
			ck_assert_int_eq(c[i], 0);
		memset(page_address(p), 0xee, 2 * PAGE_SIZE);
		__free_pages(p, 1);
	}
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_init_on_free)
{
	kmm_test_boot("mem=64M init_on_free=1");
	struct page *p = alloc_pages(GFP_KERNEL, 2);
	unsigned char *c = page_address(p);
	memset(c, 0x77, 4 * PAGE_SIZE);
	__free_pages(p, 2);
	/* The frames are free: their bytes were wiped when they were freed. */
	for (size_t i = 0; i < 4 * PAGE_SIZE; i++)
		ck_assert_int_eq(c[i], 0);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_shuffle)
{
	kmm_test_boot("mem=512M page_alloc.shuffle=1");
	enum { N = 64 };
	struct page *blocks[N];
	int descents = 0;
	for (int i = 0; i < N; i++) {
		blocks[i] = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
		ck_assert_ptr_nonnull(blocks[i]);
		if (i && page_to_pfn(blocks[i]) < page_to_pfn(blocks[i - 1]))
			descents++;
	}
	/* In address order there would be no descent at all. */
	ck_assert_int_gt(descents, 5);
	for (int i = 0; i < N; i++)
		__free_pages(blocks[i], MAX_PAGE_ORDER);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_bad_fault_spec_reported)
{
	struct kmm_config c;
	char path[] = "/tmp/kmm-fi-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	kmm_config_defaults(&c);
	dup2(fd, STDERR_FILENO);
	int bad = kmm_config_parse(&c, "fail_page_alloc=1,200,0,-1 failslab.probability=101 "
				   "fail_page_alloc.times=-7");
	dup2(saved, STDERR_FILENO);
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	ck_assert_int_eq(bad, 3);
	ck_assert_ptr_nonnull(strstr(buf, "'fail_page_alloc=1,200,0,-1': expected interval,probability"));
	ck_assert_uint_eq(c.fail_page_alloc.probability, 0);
	ck_assert_int_eq(c.fail_page_alloc.times, -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fault_inject");
	TCase *tc = tcase_create("pages");
	tcase_add_test(tc, test_fail_page_alloc_times);
	tcase_add_test(tc, test_fail_page_alloc_probability_and_nofail);
	tcase_add_test(tc, test_fail_page_alloc_interval_and_min_order);
	tcase_add_test(tc, test_fail_page_alloc_defaults);
	tcase_add_test(tc, test_fail_page_alloc_settings);
	tcase_add_test(tc, test_failslab_decision);
	tcase_add_test(tc, test_failslab_decision_gfp_wait_off);
	tcase_add_test(tc, test_init_on_alloc);
	tcase_add_test(tc, test_init_on_free);
	tcase_add_test(tc, test_shuffle);
	tcase_add_test(tc, test_bad_fault_spec_reported);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
