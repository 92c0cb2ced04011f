/*
 * test_highmem.c - kmap(), kmap_local_page(), kmap_atomic() and vmalloc's
 * use of HighMem, on a 32-bit-like machine: "lowmem=896M mem=2G", in both
 * backings.  Each test boots its own machine and ends with kmm_check().
 */
#include "config.h"
#include <pthread.h>
#include <string.h>
#include "testutil.h"
#include "../lib/internal.h"
#include "../lib/vmap.h"

static struct page *high_page(void)
{
	struct page *page = alloc_page(GFP_HIGHUSER);
	ck_assert_ptr_nonnull(page);
	ck_assert(PageHighMem(page));
	return page;
}

/* Nesting, page_address() while mapped and after, data persistence. */
static void kmap_persistence(void)
{
	struct page *page = high_page();
	ck_assert_ptr_null(page_address(page));
	char *a = kmap(page);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(page_address(page), a);
	ck_assert(!kmm_is_direct_map_addr(a));
	char *b = kmap(page);                         /* nests: same address */
	ck_assert_ptr_eq(b, a);
	ck_assert_int_eq(page->_mapcount, 2);
	memset(a, 0x3c, PAGE_SIZE);
	strcpy(a + 100, "kept across kunmap");
	kunmap(page);
	ck_assert_ptr_eq(page_address(page), a);      /* still mapped once */
	kunmap(page);
	ck_assert_ptr_null(page_address(page));
	ck_assert_int_eq(page->_mapcount, 0);
	/* Another page takes a mapping in between. */
	struct page *other = high_page();
	memset(kmap(other), 0x77, PAGE_SIZE);
	char *c = kmap(page);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c + 100, "kept across kunmap");
	ck_assert_int_eq((unsigned char)c[0], 0x3c);
	ck_assert_int_eq((unsigned char)c[PAGE_SIZE - 1], 0x3c);
	kunmap(page);
	kunmap(other);
	/* kmap_local of the same frame sees the same bytes. */
	char *l = kmap_local_page(page);
	ck_assert_str_eq(l + 100, "kept across kunmap");
	kunmap_local(l);
	__free_page(page);
	__free_page(other);
}

START_TEST(test_kmap_persistence_anon)
{
	kmm_test_boot("lowmem=896M mem=2G");
	ck_assert_uint_eq(totalhigh_pages(), (2048UL - 896) << (20 - PAGE_SHIFT));
	kmap_persistence();
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_kmap_persistence_memfd)
{
	kmm_test_boot("phys=memfd lowmem=896M mem=2G");
	kmap_persistence();
	/* memfd: the pkmap alias and the frame's other aliases are coherent. */
	struct page *page = high_page();
	char *k = kmap(page);
	char *l = kmap_local_page(page);
	ck_assert_ptr_ne(k, l);
	k[9] = 'k';
	ck_assert_int_eq(l[9], 'k');
	l[10] = 'l';
	ck_assert_int_eq(k[10], 'l');
	kunmap_local(l);
	kunmap(page);
	__free_page(page);
	ck_assert_kmm_clean();
}
END_TEST

/* More kmaps at once than pkmap slots would be a deadlock; many in turn
 * reuse the slots. */
START_TEST(test_kmap_many_memfd)
{
	kmm_test_boot("phys=memfd lowmem=896M mem=2G");
	struct page *pages[600];
	for (int i = 0; i < 600; i++) {
		pages[i] = high_page();
		char *a = kmap(pages[i]);
		ck_assert_ptr_nonnull(a);
		a[0] = (char)i;
		kunmap(pages[i]);
	}
	for (int i = 0; i < 600; i++) {
		char *a = kmap(pages[i]);
		ck_assert_int_eq(a[0], (char)i);
		kunmap(pages[i]);
		__free_page(pages[i]);
	}
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_lowmem_kmap_is_page_address)
{
	kmm_test_boot("lowmem=896M mem=2G");
	struct page *page = alloc_page(GFP_KERNEL);
	ck_assert(!PageHighMem(page));
	ck_assert_ptr_eq(kmap(page), page_address(page));
	ck_assert_ptr_eq(kmap_local_page(page), page_address(page));
	ck_assert_int_eq(kmap_local_depth(), 0);      /* nothing to unwind */
	kunmap_local(page_address(page));
	kunmap(page);
	ck_assert_ptr_eq(page_address(page), page_address(page));
	__free_page(page);
	ck_assert_kmm_clean();
}
END_TEST

/* kmap_local_page() nests in stack order, per thread. */
START_TEST(test_kmap_local_stack_order)
{
	kmm_test_boot("lowmem=896M mem=2G");
	struct page *p[3] = { high_page(), high_page(), high_page() };
	char *a[3];
	for (int i = 0; i < 3; i++) {
		a[i] = kmap_local_page(p[i]);
		ck_assert_ptr_nonnull(a[i]);
		ck_assert_int_eq(kmap_local_depth(), i + 1);
		memset(a[i], 'x' + i, PAGE_SIZE);
		ck_assert_ptr_null(page_address(p[i]));    /* local maps don't set it */
	}
	kunmap_local(a[2] + 17);                      /* any address in the page */
	ck_assert_int_eq(kmap_local_depth(), 2);
	kunmap_local(a[1]);
	kunmap_local(a[0]);
	ck_assert_int_eq(kmap_local_depth(), 0);
	/* Out of order: a warning, and the right entry goes. */
	a[0] = kmap_local_page(p[0]);
	a[1] = kmap_local_page(p[1]);
	kunmap_local(a[0]);
	ck_assert_int_eq(kmap_local_depth(), 1);
	kunmap_local(a[1]);
	ck_assert_int_eq(kmap_local_depth(), 0);
	/* kmap_atomic is the same stack. */
	char *at = kmap_atomic(p[2]);
	ck_assert_int_eq(kmap_local_depth(), 1);
	ck_assert_int_eq(at[5], 'z');
	kunmap_atomic(at);
	ck_assert_int_eq(kmap_local_depth(), 0);
	for (int i = 0; i < 3; i++)
		__free_page(p[i]);
	ck_assert_kmm_clean();
}
END_TEST

static void *local_thread(void *arg)
{
	struct page *page = arg;
	char *a = kmap_local_page(page);
	long depth = kmap_local_depth();              /* this thread's stack only */
	kunmap_local(a);
	return (void *)depth;
}

START_TEST(test_kmap_local_per_thread)
{
	kmm_test_boot("lowmem=896M mem=2G");
	struct page *p = high_page();
	char *a = kmap_local_page(p);
	pthread_t t;
	void *depth;
	pthread_create(&t, NULL, local_thread, p);
	pthread_join(t, &depth);
	ck_assert_int_eq((long)depth, 1);
	ck_assert_int_eq(kmap_local_depth(), 1);
	kunmap_local(a);
	__free_page(p);
}
END_TEST

/* vmalloc takes HighMem first; vmalloc_32 stays below 4G and lowmem. */
START_TEST(test_vmalloc_prefers_highmem)
{
	kmm_test_boot("lowmem=896M mem=2G");
	char *v = vmalloc(1 << 20);
	for (unsigned long off = 0; off < (1 << 20); off += PAGE_SIZE)
		ck_assert(PageHighMem(vmalloc_to_page(v + off)));
	char *w = vmalloc_32(1 << 20);
	for (unsigned long off = 0; off < (1 << 20); off += PAGE_SIZE) {
		struct page *pg = vmalloc_to_page(w + off);
		ck_assert(!PageHighMem(pg));
		ck_assert_uint_lt(page_to_pfn(pg), (4UL << 30) >> PAGE_SHIFT);
	}
	vfree(v);
	vfree(w);
	ck_assert_kmm_clean();
}
END_TEST

/* memfd: a vmalloc'ed HighMem frame seen through kmap is the same memory. */
START_TEST(test_vmalloc_highmem_coherent_memfd)
{
	kmm_test_boot("phys=memfd lowmem=896M mem=2G");
	char *v = vmalloc(64 * PAGE_SIZE);
	for (int i = 0; i < 64; i++) {
		struct page *pg = vmalloc_to_page(v + i * PAGE_SIZE);
		ck_assert(PageHighMem(pg));
		v[i * PAGE_SIZE + 1] = (char)i;
		char *k = kmap(pg);
		ck_assert_int_eq(k[1], (char)i);
		k[2] = (char)~i;
		kunmap(pg);
		ck_assert_int_eq(v[i * PAGE_SIZE + 2], (char)~i);
	}
	vfree(v);
	ck_assert_kmm_clean();
}
END_TEST

static Suite *highmem_suite(void)
{
	Suite *s = suite_create("highmem");
	TCase *tc = tcase_create("kmap");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kmap_persistence_anon);
	tcase_add_test(tc, test_kmap_persistence_memfd);
	tcase_add_test(tc, test_kmap_many_memfd);
	tcase_add_test(tc, test_lowmem_kmap_is_page_address);
	tcase_add_test(tc, test_kmap_local_stack_order);
	tcase_add_test(tc, test_kmap_local_per_thread);
	tcase_add_test(tc, test_vmalloc_prefers_highmem);
	tcase_add_test(tc, test_vmalloc_highmem_coherent_memfd);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(highmem_suite());
}
