/*
 * test_kmalloc.c - the kmalloc family's contract, through the public API
 * (plus slab_shrink_all() and the stat counters from the inside).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "capture.h"
#include "../lib/slab.h"

static size_t class_of(size_t size)
{
	static const size_t classes[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024,
					  2048, 4096, 8192 };
	for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
		if (size <= classes[i])
			return classes[i];
	return 0;
}

/* Every size to 16 KiB: usable to ksize, the kernel's classes, power-of-two
 * classes naturally aligned. */
START_TEST(test_every_size)
{
	kmm_test_boot("mem=256M");
	for (size_t size = 1; size <= 16384; size++) {
		unsigned char *p = kmalloc(size, GFP_KERNEL);
		ck_assert_ptr_nonnull(p);
		size_t ks = ksize(p);
		ck_assert_uint_ge(ks, size);
		ck_assert_uint_eq(ks, kmalloc_size_roundup(size));
		size_t cls = class_of(size);
		if (cls) {
			ck_assert_uint_eq(ks, cls);
			ck_assert(PageSlab(virt_to_page(p)));
			if ((cls & (cls - 1)) == 0)
				ck_assert_msg(((uintptr_t)p & (cls - 1)) == 0, "kmalloc(%zu) = %p", size, p);
			else
				ck_assert_uint_eq((uintptr_t)p & 7, 0);
		} else {
			ck_assert_uint_eq((uintptr_t)p & (PAGE_SIZE - 1), 0);
			ck_assert(!PageSlab(virt_to_page(p)));
		}
		memset(p, 0x5a, ks);
		ck_assert_int_eq(p[ks - 1], 0x5a);
		kfree(p);
	}
	ck_assert_uint_eq(kmalloc_size_roundup(0), 0);
	ck_assert_uint_eq(kmalloc_size_roundup(8193), 12288 + 4096);
	ck_assert_kmm_clean();
}
END_TEST

/* Every page of a slab, tails too, has PG_slab and its cache (kfree()
 * reads the object's own struct page); freed slabs leave none behind. */
START_TEST(test_every_page_knows_its_cache)
{
	kmm_test_boot("mem=64M");
	enum { N = 64 };
	void *p[N];
	struct page *tail = NULL;
	for (int i = 0; i < N; i++) {
		p[i] = kmalloc(3000, GFP_KERNEL);
		struct page *page = virt_to_page(p[i]);
		struct page *head = virt_to_head_page(p[i]);
		ck_assert(PageSlab(page));
		ck_assert(page_test_flag(page, PG_slab));
		ck_assert_ptr_eq(page->slab_cache, head->slab_cache);
		ck_assert_str_eq(kmem_cache_name(page->slab_cache), "kmalloc-4k");
		if (page != head)
			tail = page;
	}
	ck_assert_ptr_nonnull(tail);       /* kmalloc-4k slabs are compound */
	ck_assert_kmm_clean();
	for (int i = 0; i < N; i++)
		kfree(p[i]);
	slab_shrink_all();
	ck_assert(!page_test_flag(tail, PG_slab));
	ck_assert_ptr_null(tail->slab_cache);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_size_index)
{
	kmm_test_boot("mem=64M");
	static const struct { size_t size; const char *cache; } map[] = {
		{ 1, "kmalloc-8" }, { 9, "kmalloc-16" }, { 24, "kmalloc-32" },
		{ 33, "kmalloc-64" }, { 65, "kmalloc-96" }, { 96, "kmalloc-96" },
		{ 97, "kmalloc-128" }, { 129, "kmalloc-192" }, { 192, "kmalloc-192" },
		{ 193, "kmalloc-256" }, { 1000, "kmalloc-1k" }, { 8192, "kmalloc-8k" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		void *p = kmalloc(map[i].size, GFP_KERNEL);
		ck_assert_str_eq(kmem_cache_name(virt_to_head_page(p)->slab_cache), map[i].cache);
		kfree(p);
	}
	void *d = kmalloc(100, GFP_DMA);
	ck_assert_str_eq(kmem_cache_name(virt_to_head_page(d)->slab_cache), "dma-kmalloc-128");
	ck_assert_int_eq(page_zonenum(virt_to_page(d)), ZONE_DMA);
	kfree(d);
}
END_TEST

START_TEST(test_zero_and_null)
{
	kmm_test_boot("mem=64M");
	ck_assert_ptr_eq(kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_ptr_eq(kzalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	kfree(NULL);
	kfree(ZERO_SIZE_PTR);
	kfree_sensitive(NULL);
	ck_assert_uint_eq(ksize(NULL), 0);
	ck_assert_uint_eq(ksize(ZERO_SIZE_PTR), 0);
	ck_assert_ptr_null(kstrdup(NULL, GFP_KERNEL));
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_overflow)
{
	kmm_test_boot("mem=64M");
	ck_assert_ptr_null(kcalloc(SIZE_MAX / 2, 4, GFP_KERNEL));
	ck_assert_ptr_null(kmalloc_array(SIZE_MAX / 8 + 1, 8, GFP_KERNEL));
	ck_assert_ptr_null(kmalloc_array(2, SIZE_MAX, GFP_KERNEL));
	int *a = kcalloc(100, sizeof(int), GFP_KERNEL);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(a[i], 0);
	kfree(a);
	a = kmalloc_array(100, sizeof(int), GFP_KERNEL);
	ck_assert_uint_ge(ksize(a), 400);
	kfree(a);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_krealloc)
{
	kmm_test_boot("mem=64M");
	char *p = krealloc(NULL, 20, GFP_KERNEL);
	ck_assert_uint_eq(ksize(p), 32);
	memcpy(p, "0123456789abcdefghi", 20);
	ck_assert_ptr_eq(krealloc(p, 32, GFP_KERNEL), p);        /* fits: in place */
	ck_assert_ptr_eq(krealloc(p, 5, GFP_KERNEL), p);         /* shrink: in place */
	char *q = krealloc(p, 1000, GFP_KERNEL);                  /* grow: moves */
	ck_assert_ptr_ne(q, p);
	ck_assert_str_eq(q, "0123456789abcdefghi");
	char *r = krealloc(q, 100000, GFP_KERNEL);                /* to a large block */
	ck_assert_str_eq(r, "0123456789abcdefghi");
	ck_assert(!PageSlab(virt_to_page(r)));
	char *t = krealloc(r, 50, GFP_KERNEL);                    /* in place, as kernel */
	ck_assert_ptr_eq(t, r);
	char *z = krealloc(t, 200000, GFP_KERNEL | __GFP_ZERO);
	ck_assert_str_eq(z, "0123456789abcdefghi");
	ck_assert_int_eq(z[150000], 0);
	ck_assert_ptr_eq(krealloc(z, 0, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_large)
{
	kmm_test_boot("mem=256M");
	unsigned long before = AO_load(&machine.stat[NR_KMALLOC_LARGE]);
	char *p = kmalloc(100000, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert(PageCompound(virt_to_page(p)));
	ck_assert_uint_eq(ksize(p), 131072);
	ck_assert_uint_eq(AO_load(&machine.stat[NR_KMALLOC_LARGE]), before + 32);
	for (size_t off = 0; off < 100000; off += PAGE_SIZE)
		ck_assert_uint_eq(virt_to_phys(p + off), virt_to_phys(p) + off);
	memset(p, 1, 100000);
	kfree(p);
	ck_assert_uint_eq(AO_load(&machine.stat[NR_KMALLOC_LARGE]), before);
	char *m = kmalloc(KMALLOC_MAX_SIZE, GFP_KERNEL);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(compound_order(virt_to_page(m)), MAX_PAGE_ORDER);
	m[KMALLOC_MAX_SIZE - 1] = 1;
	kfree(m);
	ck_assert_ptr_null(kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL));
	char *d = kmalloc(20000, GFP_DMA);
	ck_assert_int_eq(page_zonenum(virt_to_page(d)), ZONE_DMA);
	kfree(d);
	char *zz = kzalloc(50000, GFP_KERNEL);
	ck_assert_int_eq(zz[49999], 0);
	kfree(zz);
	ck_assert_kmm_clean();
}
END_TEST

/* kmalloc_node(): the one node; the size classes and large blocks of
 * kmalloc(), __GFP_ZERO included. */
START_TEST(test_kmalloc_node)
{
	kmm_test_boot("mem=64M");
	for (size_t size = 1; size <= 2 * KMALLOC_MAX_CACHE_SIZE; size = size * 3 + 1) {
		unsigned char *p = kmalloc_node(size, GFP_KERNEL, NUMA_NO_NODE);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_ge(ksize(p), size);
		memset(p, 0xff, size);
		kfree(p);
		p = kmalloc_node(size, GFP_KERNEL | __GFP_ZERO, 0);
		ck_assert_ptr_nonnull(p);
		for (size_t b = 0; b < size; b++)
			ck_assert_int_eq(p[b], 0);
		kfree(p);
	}
	ck_assert_ptr_eq(kmalloc_node(0, GFP_KERNEL, 0), ZERO_SIZE_PTR);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_zeroing)
{
	kmm_test_boot("mem=64M");
	for (size_t size = 8; size <= 8192; size *= 2) {
		void *p[32];
		for (int i = 0; i < 32; i++) {
			p[i] = kmalloc(size, GFP_KERNEL);
			memset(p[i], 0xff, size);
		}
		for (int i = 0; i < 32; i++)
			kfree(p[i]);
		for (int i = 0; i < 32; i++) {
			unsigned char *z = kzalloc(size, GFP_KERNEL);
			for (size_t b = 0; b < size; b++)
				ck_assert_int_eq(z[b], 0);
			kfree(z);
		}
	}
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_strings_and_sensitive)
{
	kmm_test_boot("mem=64M");
	char *s = kstrdup("hello, world", GFP_KERNEL);
	ck_assert_str_eq(s, "hello, world");
	char *n = kstrndup("hello, world", 5, GFP_KERNEL);
	ck_assert_str_eq(n, "hello");
	char *m = kmemdup("abc\0def", 8, GFP_KERNEL);
	ck_assert_int_eq(memcmp(m, "abc\0def", 8), 0);
	kfree(s);
	kfree(n);
	kfree(m);
	/* kfree_sensitive clears the whole object before freeing it; the next
	 * allocation of that class on this CPU gets it back (LIFO magazine). */
	unsigned char *secret = kmalloc(64, GFP_KERNEL);
	memset(secret, 0x77, 64);
	kfree_sensitive(secret);
	unsigned char *again = kmalloc(64, GFP_KERNEL);
	if (again == secret)
		for (int i = 0; i < 64; i++)
			ck_assert_int_eq(again[i], 0);
	kfree(again);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_meminfo_slab_lines)
{
	char buf[4096];
	kmm_test_boot("mem=64M");
	void *p[100];
	for (int i = 0; i < 100; i++)
		p[i] = kmalloc(2000, GFP_KERNEL);
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	kmm_show_meminfo(f);
	fclose(f);
	unsigned long slab_kb = 0;
	char *line = strstr(buf, "\nSlab:");
	ck_assert_ptr_nonnull(line);
	sscanf(line + 6, "%lu", &slab_kb);
	ck_assert_uint_ge(slab_kb, 200);
	ck_assert_ptr_nonnull(strstr(buf, "SUnreclaim:"));
	for (int i = 0; i < 100; i++)
		kfree(p[i]);
	ck_assert_kmm_clean();
}
END_TEST

/* All of it back: a kmalloc workload, then shrink and drain. */
START_TEST(test_no_page_lost)
{
	static void *p[4000];
	kmm_test_boot("mem=128M");
	slab_shrink_all();
	drain_all_pages(NULL);
	unsigned long before = nr_free_pages();
	uint64_t seed = 42;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4000; i++)
			p[i] = kmalloc(1 + test_rand(&seed) % 20000, GFP_KERNEL);
		for (int i = 0; i < 4000; i++)
			kfree(p[i]);
	}
	slab_shrink_all();
	drain_all_pages(NULL);
	ck_assert_uint_eq(nr_free_pages(), before);
	ck_assert_kmm_clean();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Misuse: pointers nobody handed out, double frees, bad flags          */

static char static_buf[256];

/* Configurations every misuse test runs under: plain, the kernel's debug
 * letters, no rseq (every free through the slow path), free hooks. */
static const char *const misuse_conf[] = {
	"mem=64M",
	"mem=64M slub_debug=FZPU",
	"mem=64M slab_rseq=0 slab_freelist_hardened=0",
	"mem=64M init_on_free=1",
};

/* Run op(p), capture what it says; it must name p and say `what`. */
#define expect_report(op, p, what)                                          \
	do {                                                                \
		struct capture c_;                                          \
		char addr_[32];                                             \
		snprintf(addr_, sizeof(addr_), "0x%lx", (unsigned long)(p)); \
		capture_begin(&c_);                                         \
		op;                                                         \
		const char *out_ = capture_end(&c_);                        \
		ck_assert_contains(out_, what);                             \
		ck_assert_contains(out_, addr_);                            \
	} while (0)

START_TEST(test_free_of_foreign_pointers)
{
	kmm_test_boot(misuse_conf[_i]);
	char stack_buf[64];
	char *glibc = malloc(100);
	void *vm = vmalloc(10000);
	void *wild[] = { static_buf, static_buf + 1, stack_buf, glibc,
			 (void *)0x1000, (void *)0xdeadbeef000UL,
			 (void *)0xffff888000001000UL, (void *)-4096L };
	for (size_t i = 0; i < ARRAY_SIZE(wild); i++) {
		void *p = wild[i];
		expect_report(kfree(p), p, "kfree of a pointer not allocated by libkmm: ");
		expect_report(ck_assert_uint_eq(ksize(p), 0), p,
			      "ksize of a pointer not allocated by libkmm: ");
		expect_report(ck_assert_ptr_null(krealloc(p, 100, GFP_KERNEL)), p,
			      "krealloc of a pointer not allocated by libkmm: ");
		expect_report(kfree_sensitive(p), p,
			      "kfree_sensitive of a pointer not allocated by libkmm: ");
	}
	/* The report is a WARN(): the caller, the CPU and the pid. */
	struct capture c;
	capture_begin(&c);
	kfree(stack_buf);
	const char *out = capture_end(&c);
	ck_assert_contains(out, "------------[ cut here ]------------\n");
	ck_assert_contains(out, "WARNING: CPU: ");
	ck_assert_contains(out, " PID: ");
	/* A vmalloc address is libkmm's, but not kmalloc's. */
	expect_report(kfree(vm), vm, "kfree of a pointer not allocated by kmalloc: ");
	expect_report(kfree(vm), vm, "use vfree() or kvfree()");
	ck_assert_int_eq(stack_buf[0] = 1, 1);      /* nothing was written there */
	memset(glibc, 7, 100);
	free(glibc);                                /* still glibc's, intact */
	vfree(vm);
	ck_assert_kmm_clean();
}
END_TEST

/* In the direct map, but not a kmalloc object: 6.18's "Not a kmalloc
 * allocation" dump_page(), no crash, nothing freed. */
START_TEST(test_free_of_direct_map_non_objects)
{
	kmm_test_boot(misuse_conf[_i]);
	struct page *pg = alloc_pages(GFP_KERNEL, 0);
	struct page *comp = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
	char *page = page_address(pg), *c = page_address(comp);
	char *large = kmalloc(100000, GFP_KERNEL);
	unsigned long before = AO_load(&machine.stat[NR_KMALLOC_LARGE]);
	expect_report(kfree(page), page, "kfree of a pointer not allocated by kmalloc: ");
	expect_report(kfree(page), page, "page dumped because: Not a kmalloc allocation");
	expect_report(kfree(c), c, "page dumped because: Not a kmalloc allocation");
	expect_report(kfree(page + 100), page + 100, "not allocated by kmalloc");
	expect_report(kfree(large + PAGE_SIZE), large + PAGE_SIZE, "Not a kmalloc allocation");
	expect_report(ck_assert_uint_eq(ksize(large + 8), 0), large + 8,
		      "ksize of a pointer not allocated by kmalloc");
	expect_report(ck_assert_uint_eq(ksize(page), 0), page, "Not a kmalloc allocation");
	expect_report(ck_assert_ptr_null(krealloc(c, 10, GFP_KERNEL)), c,
		      "krealloc of a pointer not allocated by kmalloc");
	expect_report(kfree_sensitive(page), page, "Not a kmalloc allocation");
	ck_assert_uint_eq(page_count(pg), 1);      /* nothing was freed */
	ck_assert_uint_eq(page_count(comp), 1);
	ck_assert_uint_eq(AO_load(&machine.stat[NR_KMALLOC_LARGE]), before);
	memset(page, 1, PAGE_SIZE);
	memset(c, 2, 8 * PAGE_SIZE);
	memset(large, 3, 100000);
	/* Inside a slab object: ksize, krealloc and kfree_sensitive refuse it. */
	char *obj = kmalloc(64, GFP_KERNEL);
	memset(obj, 0x55, 64);
	expect_report(ck_assert_uint_eq(ksize(obj + 8), 0), obj + 8,
		      "ksize of a pointer inside an object of kmalloc-64: ");
	expect_report(ck_assert_ptr_null(krealloc(obj + 8, 100, GFP_KERNEL)), obj + 8,
		      "inside an object of kmalloc-64");
	expect_report(kfree_sensitive(obj + 8), obj + 8, "inside an object of kmalloc-64");
	ck_assert_int_eq(obj[63], 0x55);             /* not cleared */
	kfree(obj);
	kfree(large);
	__free_pages(comp, 3);
	__free_pages(pg, 0);
	ck_assert_kmm_clean();
}
END_TEST

/* kfree(p) twice: refused and reported in the kernel's words; the next two
 * kmalloc()s do not both return p. */
START_TEST(test_naive_double_free)
{
	kmm_test_boot(misuse_conf[_i]);
	static const size_t sizes[] = { 8, 64, 192, 1000, 8192 };
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		void *keep = kmalloc(sizes[k], GFP_KERNEL);
		void *p = kmalloc(sizes[k], GFP_KERNEL);
		kfree(p);
		struct capture c;
		capture_begin(&c);
		kfree(p);
		const char *out = capture_end(&c);
		ck_assert_msg(strstr(out, "double free or corruption") ||
			      strstr(out, "Object already free"), "size %zu: %s", sizes[k], out);
		void *a = kmalloc(sizes[k], GFP_KERNEL), *b = kmalloc(sizes[k], GFP_KERNEL);
		ck_assert_ptr_ne(a, b);
		ck_assert_kmm_clean();
		kfree(a);
		kfree(b);
		kfree(keep);
	}
	ck_assert_kmm_clean();
}
END_TEST

/* The text of the magazine path's report: the kernel's BUG_ON comment. */
START_TEST(test_double_free_report_text)
{
	kmm_test_boot("mem=64M");
	void *p = kmalloc(64, GFP_KERNEL);
	kfree(p);
	struct capture c;
	capture_begin(&c);
	kfree(p);
	const char *out = capture_end(&c);
	ck_assert_contains(out, "kernel BUG at mm/slub.c: set_freepointer(): "
			   "BUG_ON(object == fp): naive detection of double free or corruption");
	char line[96];
	snprintf(line, sizeof(line), "kmalloc-64: double free of object 0x%lx", (unsigned long)p);
	ck_assert_contains(out, line);
	ck_assert_contains(out, "not freed again");
	ck_assert_uint_eq(AO_load(&machine.slab.double_free), 1);
	/* The same through kfree_sensitive() and kmem_cache_free(). */
	struct kmem_cache *s = virt_to_head_page(p)->slab_cache;
	void *q = kmalloc(64, GFP_KERNEL);
	kmem_cache_free(s, q);
	capture_begin(&c);
	kmem_cache_free(s, q);
	out = capture_end(&c);
	ck_assert_contains(out, "double free or corruption");
	ck_assert_uint_eq(AO_load(&machine.slab.double_free), 2);
	ck_assert_kmm_clean();
}
END_TEST

/* kmalloc_large() is in meminfo's Slab and SUnreclaim, as 6.18 counts it
 * (NR_SLAB_UNRECLAIMABLE_B), and in libkmm's KmallocLarge. */
static unsigned long meminfo_kb(const char *name)
{
	char buf[8192], key[64];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	kmm_show_meminfo(f);
	fclose(f);
	snprintf(key, sizeof(key), "\n%s:", name);
	char *line = strstr(buf, key);
	ck_assert_msg(line != NULL, "no %s in meminfo", name);
	return strtoul(line + strlen(key), NULL, 10);
}

START_TEST(test_large_counts_as_slab)
{
	kmm_test_boot("mem=64M");
	unsigned long slab = meminfo_kb("Slab"), unrecl = meminfo_kb("SUnreclaim");
	unsigned long recl = meminfo_kb("SReclaimable");
	unsigned long stat = AO_load(&machine.stat[NR_SLAB_UNRECLAIMABLE]);
	char *p = kmalloc(100000, GFP_KERNEL);        /* order 5: 128 KiB */
	ck_assert_uint_eq(meminfo_kb("Slab") - slab, 128);
	ck_assert_uint_eq(meminfo_kb("SUnreclaim") - unrecl, 128);
	ck_assert_uint_eq(meminfo_kb("SReclaimable"), recl);
	ck_assert_uint_eq(meminfo_kb("KmallocLarge"), 128);
	ck_assert_uint_eq(AO_load(&machine.stat[NR_SLAB_UNRECLAIMABLE]) - stat, 32);
	p = krealloc(p, 300000, GFP_KERNEL);          /* order 7: 512 KiB */
	ck_assert_uint_eq(meminfo_kb("SUnreclaim") - unrecl, 512);
	kfree(p);
	ck_assert_uint_eq(meminfo_kb("Slab"), slab);
	ck_assert_uint_eq(meminfo_kb("SUnreclaim"), unrecl);
	ck_assert_uint_eq(AO_load(&machine.stat[NR_SLAB_UNRECLAIMABLE]), stat);
	ck_assert_kmm_clean();
}
END_TEST

/* GFP_SLAB_BUG_MASK: warned about, then ignored, as 6.18's kmalloc_fix_flags(). */
START_TEST(test_unexpected_gfp)
{
	kmm_test_boot("mem=64M");
	struct capture c;
	capture_begin(&c);
	char *p = kmalloc(64, GFP_HIGHUSER);
	const char *out = capture_end(&c);
	ck_assert_ptr_nonnull(p);
	ck_assert_contains(out, "Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to gfp: 0x100cc0 "
			   "(GFP_USER). Fix your code!");
	ck_assert_contains(out, "Call Trace:");
	ck_assert(PageSlab(virt_to_page(p)));
	memset(p, 1, 64);
	kfree(p);
	capture_begin(&c);
	p = kmalloc(100, GFP_KERNEL | __GFP_DMA32);
	out = capture_end(&c);
	ck_assert_ptr_nonnull(p);
	ck_assert_contains(out, "Unexpected gfp: 0x4 (GFP_DMA32). Fixing up to gfp: 0xcc0 "
			   "(GFP_KERNEL). Fix your code!");
	kfree(p);
	capture_begin(&c);
	p = kzalloc(20000, GFP_HIGHUSER_MOVABLE);      /* large: the same */
	out = capture_end(&c);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p[19999], 0);
	ck_assert_int_ne(page_zonenum(virt_to_page(p)), ZONE_HIGHMEM);
	ck_assert_contains(out, "Unexpected gfp: 0x2 (__GFP_HIGHMEM)");
	kfree(p);
	capture_begin(&c);
	p = kmalloc(64, GFP_KERNEL);                   /* good flags: quiet */
	out = capture_end(&c);
	ck_assert_str_eq(out, "");
	kfree(p);
	/* A cache's new slab, as the kernel's new_slab(). */
	struct kmem_cache *s = kmem_cache_create("gfp-test", 64, 0, 0, NULL);
	capture_begin(&c);
	p = kmem_cache_alloc(s, GFP_KERNEL | __GFP_DMA32);
	out = capture_end(&c);
	ck_assert_ptr_nonnull(p);
	ck_assert_contains(out, "Unexpected gfp: 0x4 (GFP_DMA32). Fixing up to gfp: 0xcc0 "
			   "(GFP_KERNEL). Fix your code!");
	kmem_cache_free(s, p);
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
}
END_TEST

/* Above KMALLOC_MAX_SIZE: NULL, and a warning the first time only. */
START_TEST(test_too_large_warns_once)
{
	kmm_test_boot("mem=64M");
	struct capture c;
	capture_begin(&c);
	ck_assert_ptr_null(kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL | __GFP_NOWARN));
	const char *out = capture_end(&c);
	ck_assert_str_eq(out, "");                     /* __GFP_NOWARN */
	capture_begin(&c);
	ck_assert_ptr_null(kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL));
	out = capture_end(&c);
	ck_assert_contains(out, "kmalloc(4194305): above KMALLOC_MAX_SIZE (4194304 bytes)");
	ck_assert_contains(out, "WARNING: CPU: ");
	capture_begin(&c);
	ck_assert_ptr_null(kmalloc(SIZE_MAX / 2, GFP_KERNEL));
	ck_assert_ptr_null(kcalloc(1 << 20, 1 << 10, GFP_KERNEL));
	out = capture_end(&c);
	ck_assert_str_eq(out, "");                     /* once */
	ck_assert_kmm_clean();
}
END_TEST

static Suite *kmalloc_suite(void)
{
	Suite *s = suite_create("kmalloc");
	TCase *tc = tcase_create("contract");
	tcase_add_test(tc, test_every_size);
	tcase_add_test(tc, test_size_index);
	tcase_add_test(tc, test_every_page_knows_its_cache);
	tcase_add_test(tc, test_zero_and_null);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_krealloc);
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_zeroing);
	tcase_add_test(tc, test_kmalloc_node);
	tcase_add_test(tc, test_strings_and_sensitive);
	tcase_add_test(tc, test_meminfo_slab_lines);
	tcase_add_test(tc, test_no_page_lost);
	suite_add_tcase(s, tc);
	tc = tcase_create("misuse");
	tcase_add_loop_test(tc, test_free_of_foreign_pointers, 0, ARRAY_SIZE(misuse_conf));
	tcase_add_loop_test(tc, test_free_of_direct_map_non_objects, 0, ARRAY_SIZE(misuse_conf));
	tcase_add_loop_test(tc, test_naive_double_free, 0, ARRAY_SIZE(misuse_conf));
	tcase_add_test(tc, test_double_free_report_text);
	tcase_add_test(tc, test_large_counts_as_slab);
	tcase_add_test(tc, test_unexpected_gfp);
	tcase_add_test(tc, test_too_large_warns_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(kmalloc_suite());
}
