/*
 * test_slab_harden.c - slab_freelist_hardened=, slab_freelist_random=,
 * init_on_alloc= / init_on_free= for slab objects, and failslab=.
 */
#include "config.h"
#include <string.h>
#include "testutil.h"
#include "capture.h"
#include "../lib/slab.h"

/* A slab of s with free objects on its freelist: n objects allocated, all
 * but keep[0] freed, the magazines flushed to the slabs. */
static void *partial_slab(struct kmem_cache *s, struct page **slab)
{
	enum { N = 8 };
	void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 1; i < N; i++)
		kmem_cache_free(s, p[i]);
	kmem_cache_shrink(s);
	*slab = virt_to_head_page(p[0]);
	ck_assert_ptr_nonnull((*slab)->freelist);
	return p[0];
}

START_TEST(test_hardened_pointers_are_obfuscated)
{
	kmm_test_boot("mem=64M slab_freelist_hardened=1");
	struct kmem_cache *s = kmem_cache_create("hard", 64, 0, 0, NULL);
	ck_assert(s->flags & SLAB_FREELIST_HARDENED);
	ck_assert_uint_ne(s->random, 0);
	struct page *slab;
	void *keep = partial_slab(s, &slab);
	unsigned int free = 0;
	for (void *f = slab->freelist; f; f = get_freepointer(s, f), free++) {
		void *next = get_freepointer(s, f);
		ck_assert_ptr_ne(*freeptr_addr(s, f), next);   /* stored mixed */
		ck_assert(slab_freeptr_valid(s, slab, next));
	}
	ck_assert_uint_eq(free + slab->inuse, slab->objects);
	ck_assert_kmm_clean();
	kmem_cache_free(s, keep);
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
}
END_TEST

/* A write after free over a free pointer: reported on allocation, the rest
 * of the chain isolated, the program goes on with consistent counts. */
START_TEST(test_hardened_corruption_reported)
{
	kmm_test_boot("mem=64M slab_freelist_hardened=1");
	struct kmem_cache *s = kmem_cache_create("hard", 64, 0, 0, NULL);
	struct page *slab;
	partial_slab(s, &slab);
	void *head = slab->freelist;
	*freeptr_addr(s, head) = (void *)0x4141414141414141UL;  /* use after free */
	struct capture c;
	capture_begin(&c);
	void *objs[600];
	for (int i = 0; i < 600; i++) {
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(objs[i]);
	}
	const char *text = capture_end(&c);
	ck_assert_contains(text, "BUG hard (Not tainted): Freechain corrupt");
	ck_assert_contains(text, "FIX hard: Isolate corrupted freechain");
	ck_assert_uint_eq(AO_load(&machine.slab.freechain_corrupt), 1);
	ck_assert_kmm_clean();
	for (int i = 0; i < 600; i++)
		kmem_cache_free(s, objs[i]);
	ck_assert_kmm_clean();
}
END_TEST

/* The slab layer's check: p is its slab's first free object when freed
 * again (here through the slab path of a cache without magazines). */
START_TEST(test_hardened_double_free_refused)
{
	kmm_test_boot("mem=64M slab_freelist_hardened=1");
	struct kmem_cache *s = kmem_cache_create("hard", 64, 0, 0, NULL);
	void *keep = kmem_cache_alloc(s, GFP_KERNEL);
	void *p = kmem_cache_alloc(s, GFP_KERNEL);
	kmem_cache_free(s, p);
	kmem_cache_shrink(s);                  /* p back on its slab's freelist */
	ck_assert_ptr_eq(virt_to_head_page(p)->freelist, p);
	struct capture c;
	capture_begin(&c);
	slab_free(s, p, 0);                    /* the free that reaches the slab */
	const char *text = capture_end(&c);
	ck_assert_contains(text, "naive detection of double free or corruption");
	ck_assert_contains(text, "hard: double free of object 0x");
	ck_assert_uint_eq(AO_load(&machine.slab.double_free), 1);
	ck_assert_kmm_clean();
	kmem_cache_free(s, keep);
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
}
END_TEST

/* Slot numbers of consecutive allocations from fresh slabs: in address
 * order neighbours differ by one; shuffled, most do not. */
static int non_adjacent(const char *conf)
{
	kmm_test_boot(conf);
	struct kmem_cache *s = kmem_cache_create("order", 128, 0, 0, NULL);
	enum { N = 256 };
	void *p[N];
	int jumps = 0;
	long prev = -1;
	for (int i = 0; i < N; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		struct page *slab = virt_to_head_page(p[i]);
		long idx = (long)(((char *)p[i] - (char *)page_address(slab)) / s->size);
		if (prev >= 0 && idx != prev + 1 && idx != prev - 1)
			jumps++;
		prev = idx;
	}
	ck_assert_kmm_clean();
	for (int i = 0; i < N; i++)
		kmem_cache_free(s, p[i]);
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
	return jumps;
}

START_TEST(test_random_order)
{
	ck_assert_int_gt(non_adjacent("mem=64M slab_freelist_random=1"), 128);
}
END_TEST

START_TEST(test_address_order_without_random)
{
	ck_assert_int_lt(non_adjacent("mem=64M slab_freelist_random=0"), 32);
}
END_TEST

START_TEST(test_both_with_debug)
{
	kmm_test_boot("mem=64M slab_freelist_random=1 slab_freelist_hardened=1 "
		      "slub_debug=FZPU,dbg");
	struct kmem_cache *s = kmem_cache_create("dbg", 40, 0, 0, NULL);
	void *p[100];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100; i++)
			p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_kmm_clean();
		for (int i = 0; i < 100; i++)
			kmem_cache_free(s, p[i]);
	}
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_hooks_route_slow_path)
{
	kmm_test_boot("mem=64M");
	struct kmem_cache *plain = kmem_cache_create("plain", 64, 0, 0, NULL);
	ck_assert_ptr_eq(plain->cpu_alloc, plain->cpu);
	ck_assert_ptr_eq(plain->cpu_free, plain->cpu);
	ck_assert(!(plain->flags & SLAB_HOOKS));
	kmem_cache_destroy(plain);
}
END_TEST

static void ctor_fill(void *p)
{
	memset(p, 0x5c, 32);
}

START_TEST(test_init_on_alloc_slab)
{
	kmm_test_boot("mem=64M init_on_alloc=1");
	struct kmem_cache *k64 = virt_to_head_page(kmalloc(64, GFP_KERNEL))->slab_cache;
	ck_assert(k64->flags & SLAB_HOOKS);
	ck_assert_ptr_eq(k64->cpu_alloc, mag_cpu_none);
	ck_assert_ptr_eq(k64->cpu_free, k64->cpu);        /* frees stay fast */
	for (int round = 0; round < 200; round++) {
		unsigned char *p = kmalloc(64, GFP_KERNEL);
		for (int i = 0; i < 64; i++)
			ck_assert_int_eq(p[i], 0);
		memset(p, 0xaa, 64);
		kfree(p);
	}
	/* A cache with a constructor keeps its objects' state. */
	struct kmem_cache *ctor = kmem_cache_create("ctor", 32, 0, 0, ctor_fill);
	ck_assert(!(ctor->hooks & SLAB_HOOK_INIT_ALLOC));
	unsigned char *o = kmem_cache_alloc(ctor, GFP_KERNEL);
	ck_assert_int_eq(o[31], 0x5c);
	kmem_cache_free(ctor, o);
	kmem_cache_destroy(ctor);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_init_on_free_slab)
{
	kmm_test_boot("mem=64M init_on_free=1");
	unsigned char *p = kmalloc(200, GFP_KERNEL);
	memset(p, 0x77, 200);
	kfree(p);
	/* Freed into a magazine, still mapped: its bytes were wiped. */
	for (int i = 0; i < 192; i++)
		ck_assert_int_eq(p[i], 0);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_failslab_times_and_nofail)
{
	kmm_test_boot("mem=64M failslab=1,100,0,3 failslab.ignore_gfp_wait=0");
	int failed = 0;
	for (int i = 0; i < 10; i++) {
		void *p = kmalloc(100, GFP_KERNEL);
		if (!p)
			failed++;
		kfree(p);
	}
	ck_assert_int_eq(failed, 3);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_failslab_nofail_and_large)
{
	kmm_test_boot("mem=64M failslab.probability=100 failslab.ignore_gfp_wait=0");
	ck_assert_ptr_null(kmalloc(100, GFP_KERNEL));
	struct kmem_cache *s = kmem_cache_create("fs", 48, 0, 0, NULL);
	ck_assert_ptr_null(kmem_cache_alloc(s, GFP_KERNEL));
	void *p = kmalloc(100, GFP_KERNEL | __GFP_NOFAIL);
	ck_assert_ptr_nonnull(p);
	kfree(p);
	p = kmalloc(3 * PAGE_SIZE, GFP_KERNEL);  /* page allocator: not failslab */
	ck_assert_ptr_nonnull(p);
	kfree(p);
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_failslab_cache_list)
{
	kmm_test_boot("mem=64M failslab.probability=100 failslab.ignore_gfp_wait=0 "
		      "failslab.caches=kmalloc-64,fs");
	ck_assert_ptr_null(kmalloc(64, GFP_KERNEL));
	ck_assert_ptr_null(kmalloc(40, GFP_KERNEL));      /* kmalloc-64 too */
	void *p = kmalloc(100, GFP_KERNEL);               /* kmalloc-128: not listed */
	ck_assert_ptr_nonnull(p);
	kfree(p);
	struct kmem_cache *fs = kmem_cache_create("fs", 48, 0, 0, NULL);
	struct kmem_cache *other = kmem_cache_create("other", 48, 0, 0, NULL);
	ck_assert_ptr_null(kmem_cache_alloc(fs, GFP_KERNEL));
	p = kmem_cache_alloc(other, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	kmem_cache_free(other, p);
	kmem_cache_destroy(fs);
	kmem_cache_destroy(other);
	ck_assert_kmm_clean();
}
END_TEST

static Suite *harden_suite(void)
{
	Suite *s = suite_create("slab_harden");
	TCase *tc = tcase_create("freelist");
	tcase_add_test(tc, test_hardened_pointers_are_obfuscated);
	tcase_add_test(tc, test_hardened_corruption_reported);
	tcase_add_test(tc, test_hardened_double_free_refused);
	tcase_add_test(tc, test_random_order);
	tcase_add_test(tc, test_address_order_without_random);
	tcase_add_test(tc, test_both_with_debug);
	suite_add_tcase(s, tc);
	tc = tcase_create("hooks");
	tcase_add_test(tc, test_hooks_route_slow_path);
	tcase_add_test(tc, test_init_on_alloc_slab);
	tcase_add_test(tc, test_init_on_free_slab);
	tcase_add_test(tc, test_failslab_times_and_nofail);
	tcase_add_test(tc, test_failslab_nofail_and_large);
	tcase_add_test(tc, test_failslab_cache_list);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(harden_suite());
}
