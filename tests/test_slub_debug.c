/*
 * test_slub_debug.c - each slub_debug letter finds what it should, the
 * report has the kernel's shape, and the program goes on.  Reports are
 * captured from fd 2 (KMM_TEST_VERBOSE=1 echoes them).
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "testutil.h"
#include "capture.h"
#include "../lib/slab.h"

static struct kmem_cache *cache_of(const void *p)
{
	return virt_to_head_page(p)->slab_cache;
}

/* 6.18's reports have no "INFO:" prefixes (gone since 5.13). */
#define ck_assert_no_info(text) \
	ck_assert_msg(strstr((text), "INFO:") == NULL, "an INFO: prefix in:\n%s", (text))

START_TEST(test_parse_and_scope)
{
	kmm_test_boot("mem=64M slub_debug=FZ,kmalloc-64,dma-*,kmalloc-1k;P,kmalloc-128");
	void *a = kmalloc(64, GFP_KERNEL), *b = kmalloc(128, GFP_KERNEL);
	void *c = kmalloc(32, GFP_KERNEL), *d = kmalloc(1024, GFP_KERNEL);
	ck_assert_uint_eq(cache_of(a)->flags & SLAB_DEBUG_FLAGS,
			  SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE);
	ck_assert_uint_eq(cache_of(b)->flags & SLAB_DEBUG_FLAGS, SLAB_POISON);
	ck_assert_uint_eq(cache_of(c)->flags & (SLAB_DEBUG_FLAGS | SLAB_NOMAG), 0);
	ck_assert(cache_of(d)->flags & SLAB_RED_ZONE);             /* kmalloc-1k */
	void *e = kmalloc(8, GFP_DMA);
	ck_assert(cache_of(e)->flags & SLAB_RED_ZONE);             /* dma-* */
	kfree(e);
	ck_assert(cache_of(a)->flags & SLAB_NOMAG);                 /* no magazines */
	/* kmalloc-64 keeps natural alignment with red zones. */
	ck_assert_uint_eq((uintptr_t)a & 63, 0);
	kfree(a); kfree(b); kfree(c); kfree(d);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_F_double_free)
{
	struct capture c;
	kmm_test_boot("mem=64M slub_debug=F,kmalloc-64");
	void *p = kmalloc(64, GFP_KERNEL);
	kfree(p);
	capture_begin(&c);
	kfree(p);
	const char *out = capture_end(&c);
	ck_assert_contains(out, "BUG kmalloc-64 (Not tainted): Object already free");
	ck_assert_contains(out, "\nSlab 0x");
	ck_assert_contains(out, "\nObject 0x");
	ck_assert_contains(out, "FIX kmalloc-64: Object at 0x");
	ck_assert_contains(out, "not freed");
	ck_assert_no_info(out);
	ck_assert_kmm_clean();                                       /* still consistent */
	void *q = kmalloc(64, GFP_KERNEL), *r = kmalloc(64, GFP_KERNEL);
	ck_assert_ptr_ne(q, r);                                     /* not handed out twice */
	kfree(q);
	kfree(r);
}
END_TEST

START_TEST(test_F_wrong_cache_and_bad_pointer)
{
	struct capture c;
	kmm_test_boot("mem=64M slub_debug=F");
	struct kmem_cache *a = kmem_cache_create("cache-a", 64, 0, 0, NULL);
	struct kmem_cache *b = kmem_cache_create("cache-b", 64, 0, 0, NULL);
	void *pb = kmem_cache_alloc(b, GFP_KERNEL);
	char *pa = kmem_cache_alloc(a, GFP_KERNEL);
	capture_begin(&c);
	kmem_cache_free(a, pb);                     /* freed into cache-b, as 6.18 */
	const char *out = capture_end(&c);
	ck_assert_contains(out, "cache_from_obj: Wrong slab cache. cache-a but object is "
			   "from cache-b");
	ck_assert_kmm_clean();
	capture_begin(&c);
	kmem_cache_free(b, pb);                     /* so this is a double free */
	out = capture_end(&c);
	ck_assert_contains(out, "BUG cache-b (Not tainted): Object already free");
	capture_begin(&c);
	kmem_cache_free(a, pa + 8);
	out = capture_end(&c);
	ck_assert_contains(out, "BUG cache-a (Not tainted): Invalid object pointer");
	ck_assert_contains(out, "FIX cache-a: Object at 0x");
	kmem_cache_free(a, pa);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_Z_right_redzone)
{
	struct capture c;
	kmm_test_boot("mem=64M slub_debug=Z,kmalloc-64");
	unsigned char *p = kmalloc(64, GFP_KERNEL);
	p[64] = 0x11;                                 /* one byte past the end */
	capture_begin(&c);
	ck_assert_int_gt(kmm_check(), 0);              /* found while live */
	const char *out = capture_end(&c);
	ck_assert_contains(out, "[Right Redzone overwritten] 0x");
	ck_assert_contains(out, "First byte 0x11 instead of 0xcc");
	ck_assert_contains(out, "BUG kmalloc-64 (Not tainted): Object corrupt");
	ck_assert_contains(out, "Redzone  0x");
	ck_assert_contains(out, "FIX kmalloc-64: Restoring Right Redzone");
	ck_assert_no_info(out);
	ck_assert_kmm_clean();                           /* repaired */
	p[70] = 0;
	capture_begin(&c);
	kfree(p);
	out = capture_end(&c);
	ck_assert_contains(out, "Right Redzone overwritten");
	ck_assert_contains(out, "not freed");
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_Z_left_redzone)
{
	struct capture c;
	kmm_test_boot("mem=64M slub_debug=Z,kmalloc-128");
	unsigned char *p = kmalloc(100, GFP_KERNEL);
	p[-1] = 0;
	capture_begin(&c);
	kfree(p);
	const char *out = capture_end(&c);
	ck_assert_contains(out, "[Left Redzone overwritten]");
	ck_assert_contains(out, "BUG kmalloc-128 (Not tainted): Object corrupt");
	ck_assert_contains(out, "First byte 0x0 instead of 0xcc");
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_P_use_after_free)
{
	struct capture c;
	kmm_test_boot("mem=64M slub_debug=PU,kmalloc-256 slab_freelist_random=0");
	unsigned char *p = kmalloc(256, GFP_KERNEL);
	kfree(p);
	ck_assert_int_eq(p[0], 0x6b);
	ck_assert_int_eq(p[255], 0xa5);
	ck_assert_kmm_clean();
	p[10] = 0x42;                                  /* write after free */
	capture_begin(&c);
	ck_assert_int_gt(kmm_check(), 0);
	const char *out = capture_end(&c);
	ck_assert_contains(out, "[Poison overwritten] 0x");
	ck_assert_contains(out, "BUG kmalloc-256 (Not tainted): Object corrupt");
	ck_assert_contains(out, "@offset=10. First byte 0x42 instead of 0x6b");
	ck_assert_contains(out, "\nAllocated in ");
	ck_assert_contains(out, "\nFreed in ");
	ck_assert_contains(out, "Object   0x");
	ck_assert_no_info(out);
	p[20] = 0x43;
	capture_begin(&c);
	void *q = kmalloc(256, GFP_KERNEL);            /* found on the next allocation */
	out = capture_end(&c);
	ck_assert_ptr_eq(q, p);
	ck_assert_contains(out, "Poison overwritten");
	ck_assert_contains(out, "First byte 0x43 instead of 0x6b");
	kfree(q);
	ck_assert_kmm_clean();
}
END_TEST

static noinline void *alloc_site(void)
{
	void *p = kmalloc(40, GFP_KERNEL);
	__asm__ __volatile__("" : : "r"(p) : "memory");   /* no tail call */
	return p;
}

START_TEST(test_U_sites)
{
	kmm_test_boot("mem=64M slub_debug=U,kmalloc-64");
	void *p = alloc_site();
	struct kmem_cache *s = cache_of(p);
	ck_assert(s->flags & SLAB_STORE_USER);
	unsigned long *track = (unsigned long *)(void *)((char *)p + s->track_offset);
	/* The allocation site is inside alloc_site(), not inside libkmm. */
	ck_assert_uint_ge(track[0], (unsigned long)alloc_site);
	ck_assert_uint_lt(track[0], (unsigned long)alloc_site + 64);
	kfree(p);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_debug_off_everywhere_else)
{
	kmm_test_boot("mem=64M slub_debug=-");
	void *p = kmalloc(64, GFP_KERNEL);
	ck_assert_uint_eq(cache_of(p)->flags & (SLAB_DEBUG_FLAGS | SLAB_NOMAG), 0);
	kfree(p);
}
END_TEST

START_TEST(test_all_letters_workload)
{
	kmm_test_boot("mem=128M slub_debug");
	void *p[2000];
	uint64_t seed = 7;
	for (int i = 0; i < 2000; i++) {
		size_t n = 1 + test_rand(&seed) % 8192;
		p[i] = kmalloc(n, GFP_KERNEL);
		memset(p[i], 0x3c, n);
	}
	ck_assert_kmm_clean();
	for (int i = 0; i < 2000; i++)
		kfree(p[i]);
	ck_assert_kmm_clean();
}
END_TEST

/* The kmalloc redzone: the slack between the size asked for and the
 * object size is red zone too (Z alone is enough here). */
START_TEST(test_Z_kmalloc_redzone)
{
	struct capture c;
	kmm_test_boot(_i ? "mem=64M slub_debug=FZPU" : "mem=64M slub_debug=Z");
	unsigned char *p = kmalloc(50, GFP_KERNEL);
	ck_assert_uint_eq(cache_of(p)->object_size, 64);
	memset(p, 0x5a, 50);                            /* all of it: fine */
	ck_assert_kmm_clean();
	p[55] = 0;                                      /* in the slack */
	capture_begin(&c);
	ck_assert_int_gt(kmm_check(), 0);               /* found while live */
	const char *out = capture_end(&c);
	ck_assert_contains(out, "[kmalloc Redzone overwritten] 0x");
	ck_assert_contains(out, "@offset=");
	ck_assert_contains(out, "First byte 0x0 instead of 0xcc");
	ck_assert_contains(out, "BUG kmalloc-64 (Not tainted): Object corrupt");
	ck_assert_contains(out, "FIX kmalloc-64: Restoring kmalloc Redzone");
	ck_assert_no_info(out);
	ck_assert_kmm_clean();                          /* repaired */
	p[50] = 1;
	capture_begin(&c);
	kfree(p);                                       /* and on free */
	out = capture_end(&c);
	ck_assert_contains(out, "[kmalloc Redzone overwritten]");
	ck_assert_contains(out, "not freed");
	ck_assert_kmm_clean();
	/* ksize() gives the caller all of it: no redzone after. */
	unsigned char *q = kmalloc(50, GFP_KERNEL);
	ck_assert_uint_eq(ksize(q), 64);
	memset(q, 1, 64);
	capture_begin(&c);
	kfree(q);
	out = capture_end(&c);
	ck_assert_str_eq(out, "");
	/* krealloc() in place moves the bound both ways. */
	unsigned char *r = kmalloc(60, GFP_KERNEL);
	memset(r, 2, 60);
	ck_assert_ptr_eq(krealloc(r, 40, GFP_KERNEL), r);
	ck_assert_int_eq(r[45], 0xcc);                  /* red zone again */
	ck_assert_ptr_eq(krealloc(r, 62, GFP_KERNEL | __GFP_ZERO), r);
	ck_assert_int_eq(r[39], 2);
	ck_assert_int_eq(r[45], 0);                     /* zeroed from 40 */
	ck_assert_int_eq(r[62], 0xcc);
	memset(r, 3, 62);
	ck_assert_kmm_clean();
	r[63] = 9;
	capture_begin(&c);
	ck_assert_int_gt(kmm_check(), 0);
	out = capture_end(&c);
	ck_assert_contains(out, "[kmalloc Redzone overwritten]");
	kfree(r);
	/* kzalloc, kmalloc_array and a moving krealloc: no false reports. */
	capture_begin(&c);
	char *z = kzalloc(33, GFP_KERNEL);
	for (int i = 0; i < 33; i++)
		ck_assert_int_eq(z[i], 0);
	z = krealloc(z, 200, GFP_KERNEL);               /* moves to kmalloc-256 */
	memset(z, 4, 200);
	kfree(z);
	kfree(kmalloc_array(3, 7, GFP_KERNEL));
	out = capture_end(&c);
	ck_assert_str_eq(out, "");
	ck_assert_kmm_clean();
}
END_TEST

/* "End Poison overwritten" is its own report, not "Poison overwritten". */
START_TEST(test_P_end_poison)
{
	struct capture c;
	kmm_test_boot("mem=64M slub_debug=P,kmalloc-256");
	unsigned char *p = kmalloc(256, GFP_KERNEL);
	kfree(p);
	p[255] = 0x11;                                  /* the last byte only */
	capture_begin(&c);
	ck_assert_int_gt(kmm_check(), 0);
	const char *out = capture_end(&c);
	ck_assert_contains(out, "[End Poison overwritten] 0x");
	ck_assert_contains(out, "First byte 0x11 instead of 0xa5");
	ck_assert_msg(strstr(out, "[Poison overwritten]") == NULL, "%s", out);
	ck_assert_contains(out, "FIX kmalloc-256: Restoring End Poison");
	ck_assert_kmm_clean();
	/* Two faults in one object: one BUG banner, both lines. */
	p[3] = 0x22;
	p[255] = 0x33;
	capture_begin(&c);
	ck_assert_int_gt(kmm_check(), 0);
	out = capture_end(&c);
	ck_assert_contains(out, "[Poison overwritten]");
	ck_assert_contains(out, "[End Poison overwritten]");
	const char *bug = strstr(out, "Object corrupt");
	ck_assert_ptr_nonnull(bug);
	ck_assert_ptr_null(strstr(bug + 1, "Object corrupt"));
	ck_assert_kmm_clean();
}
END_TEST

static Suite *debug_suite(void)
{
	Suite *s = suite_create("slub_debug");
	TCase *tc = tcase_create("letters");
	tcase_add_test(tc, test_parse_and_scope);
	tcase_add_test(tc, test_F_double_free);
	tcase_add_test(tc, test_F_wrong_cache_and_bad_pointer);
	tcase_add_test(tc, test_Z_right_redzone);
	tcase_add_test(tc, test_Z_left_redzone);
	tcase_add_test(tc, test_P_use_after_free);
	tcase_add_test(tc, test_U_sites);
	tcase_add_test(tc, test_debug_off_everywhere_else);
	tcase_add_test(tc, test_all_letters_workload);
	tcase_add_loop_test(tc, test_Z_kmalloc_redzone, 0, 2);
	tcase_add_test(tc, test_P_end_poison);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(debug_suite());
}
