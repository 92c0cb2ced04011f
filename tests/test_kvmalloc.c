/*
 * test_kvmalloc.c - kvmalloc, kvzalloc, kvcalloc, kvrealloc, kvfree: the
 * kernel's rules for choosing between kmalloc and vmalloc.
 */
#include "config.h"
#include <string.h>
#include "testutil.h"
#include "capture.h"
#include "../lib/internal.h"
#include "../lib/page_alloc.h"
#include "fragment.h"

START_TEST(test_small_is_kmalloc_large_is_what_fits)
{
	kmm_test_boot("mem=256M");
	void *p = kvmalloc(100, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert(!is_vmalloc_addr(p));
	ck_assert(PageSlab(virt_to_head_page(p)));
	kvfree(p);
	/* Contiguous memory is there: a 1 MiB request is kmalloc_large. */
	p = kvmalloc(1 << 20, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert(!is_vmalloc_addr(p));
	memset(p, 1, 1 << 20);
	kvfree(p);
	/* Above KMALLOC_MAX_SIZE only vmalloc can. */
	p = kvmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert(is_vmalloc_addr(p));
	memset(p, 2, KMALLOC_MAX_SIZE + 1);
	kvfree(p);
	kvfree(NULL);
	ck_assert_kmm_clean();
}
END_TEST

/* With memory fragmented so that no block of order 1 or more is free
 * (tests/fragment.h), a large kvmalloc still succeeds, through vmalloc. */
/* kvmalloc_node(): the one node; kvmalloc()'s choice of kmalloc or vmalloc. */
START_TEST(test_kvmalloc_node)
{
	kmm_test_boot("mem=256M");
	void *p = kvmalloc_node(100, GFP_KERNEL, NUMA_NO_NODE);
	ck_assert_ptr_nonnull(p);
	ck_assert(!is_vmalloc_addr(p));
	kvfree(p);
	p = kvmalloc_node(KMALLOC_MAX_SIZE + 1, GFP_KERNEL | __GFP_ZERO, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert(is_vmalloc_addr(p));
	for (size_t b = 0; b < KMALLOC_MAX_SIZE + 1; b += 4096)
		ck_assert_int_eq(((char *)p)[b], 0);
	kvfree(p);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_fragmented_falls_back_to_vmalloc)
{
	kmm_test_boot("mem=128M");
	struct fragmentation frag = fragment_memory();
	void *p = kvmalloc(64 << 10, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert(is_vmalloc_addr(p));
	memset(p, 3, 64 << 10);
	kvfree(p);
	unfragment_memory(&frag);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_kvzalloc_kvcalloc)
{
	kmm_test_boot("mem=256M");
	unsigned char *p = kvzalloc(3 << 20, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < (3 << 20); i += 4096)
		ck_assert_int_eq(p[i], 0);
	kvfree(p);
	ck_assert_ptr_null(kvcalloc(SIZE_MAX / 2, 4, GFP_KERNEL));
	unsigned int *a = kvcalloc(1000, sizeof(*a), GFP_KERNEL);
	ck_assert_ptr_nonnull(a);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(a[i], 0);
	kvfree(a);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_kvrealloc_keeps_contents)
{
	kmm_test_boot("mem=256M");
	char *p = kvrealloc(NULL, 100, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	memset(p, 'a', 100);
	p = kvrealloc(p, 6 << 20, GFP_KERNEL);   /* beyond kmalloc: vmalloc */
	ck_assert_ptr_nonnull(p);
	ck_assert(is_vmalloc_addr(p));
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(p[i], 'a');
	p[(6 << 20) - 1] = 'z';
	p = kvrealloc(p, 8 << 20, GFP_KERNEL);
	ck_assert_int_eq(p[(6 << 20) - 1], 'z');
	ck_assert_int_eq(p[0], 'a');
	kvfree(p);
	ck_assert_kmm_clean();
}
END_TEST

/* kvfree() and kvrealloc() of what neither allocator handed out: reported
 * once, NULL, no crash; above INT_MAX: NULL and one warning. */
START_TEST(test_misuse)
{
	static char not_ours[64];
	struct capture c;
	kmm_test_boot("mem=64M");
	capture_begin(&c);
	kvfree(not_ours);
	const char *out = capture_end(&c);
	ck_assert_contains(out, "kfree of a pointer not allocated by libkmm: ");
	capture_begin(&c);
	ck_assert_ptr_null(kvrealloc(not_ours, 100, GFP_KERNEL));
	ck_assert_ptr_null(kvrealloc(not_ours, 1 << 20, GFP_KERNEL));
	out = capture_end(&c);
	ck_assert_contains(out, "kvrealloc of a pointer not allocated by libkmm: ");
	const char *second = strstr(out, "kvrealloc of a pointer");
	ck_assert_ptr_nonnull(strstr(second + 1, "kvrealloc of a pointer"));
	ck_assert_ptr_null(strstr(out, "kfree of"));     /* nothing freed */
	ck_assert_ptr_null(strstr(out, "ksize of"));
	capture_begin(&c);
	ck_assert_ptr_null(kvmalloc((size_t)__INT_MAX__ + 1, GFP_KERNEL));
	ck_assert_ptr_null(kvmalloc((size_t)__INT_MAX__ + 2, GFP_KERNEL));
	out = capture_end(&c);
	const char *w = strstr(out, "more than INT_MAX bytes");
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_null(strstr(w + 1, "more than INT_MAX bytes"));   /* once */
	ck_assert_kmm_clean();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvmalloc");
	TCase *tc = tcase_create("kvmalloc");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_small_is_kmalloc_large_is_what_fits);
	tcase_add_test(tc, test_fragmented_falls_back_to_vmalloc);
	tcase_add_test(tc, test_kvmalloc_node);
	tcase_add_test(tc, test_kvzalloc_kvcalloc);
	tcase_add_test(tc, test_kvrealloc_keeps_contents);
	tcase_add_test(tc, test_misuse);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
