/*
 * test_vmalloc.c - white-box tests of the vmalloc layer: area placement,
 * backing frames, page tables, lazy purge, vrealloc, vmap (both backings),
 * threads, and the vmallocinfo dump.  Each test boots its own machine
 * (Check forks a child per test) and ends with kmm_check().
 *
 * "Frames come back" is measured as nr_free_pages() + the layer's own
 * overhead (page-table and descriptor frames, which are kept for reuse,
 * as the kernel keeps its vmalloc page tables).
 */
#include "config.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "../lib/internal.h"
#include "../lib/page_alloc.h"
#include "../lib/vmap.h"
#include "fragment.h"

/* Frames on the per-CPU lists are not free pages (NR_FREE_PAGES): drain
 * them first, as the kernel's users do. */
static unsigned long free_and_overhead(void)
{
	drain_all_pages(NULL);
	return nr_free_pages() + vmalloc_overhead_pages();
}

/* Every frame back and the whole vmalloc area one free range again. */
#define ck_assert_all_returned(before) do {                                  \
	vm_unmap_aliases();                                                  \
	ck_assert_uint_eq(free_and_overhead(), (before));                    \
	ck_assert_uint_eq(vmalloc_largest_free(), VMALLOC_END - VMALLOC_START); \
	ck_assert_kmm_clean();                                               \
} while (0)

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
	return x < y ? -1 : x > y;
}

static char *dump(void (*show)(FILE *))
{
	static char buf[1 << 20];
	buf[0] = '\0';                                /* fmemopen writes no NUL for "" */
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	show(f);
	fclose(f);
	return buf;
}

static unsigned long meminfo_kb(const char *name)
{
	const char *s = strstr(dump(kmm_show_meminfo), name);
	ck_assert_ptr_nonnull(s);
	return strtoul(s + strlen(name) + 1, NULL, 10);
}

/* Sizes from 1 byte to 64 MiB: aligned, inside the range, one distinct
 * frame per page, contents intact, guard page unmapped. */
START_TEST(test_sizes_1_to_64m)
{
	static const unsigned long sizes[] = {
		1, 100, 4095, 4096, 4097, 8192, 65537, 1UL << 20, (16UL << 20) + 123, 64UL << 20,
	};
	kmm_test_boot("mem=512M");
	unsigned long before = free_and_overhead();
	struct page *lowpage = alloc_page(GFP_KERNEL);
	ck_assert(!is_vmalloc_addr(page_address(lowpage)));
	ck_assert(!is_vmalloc_addr((void *)VMALLOC_END));
	ck_assert(!is_vmalloc_addr((void *)(VMALLOC_START - 1)));
	ck_assert(!is_vmalloc_addr(&before));
	__free_page(lowpage);
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		unsigned long size = sizes[k], nr = PAGE_ALIGN(size) >> PAGE_SHIFT;
		unsigned char *p = vmalloc(size);
		ck_assert_msg(p != NULL, "vmalloc(%lu)", size);
		ck_assert_uint_eq((unsigned long)p & (PAGE_SIZE - 1), 0);
		ck_assert(is_vmalloc_addr(p));
		ck_assert(is_vmalloc_addr(p + size - 1));
		unsigned long *pfns = calloc(nr, sizeof(*pfns));
		for (unsigned long i = 0; i < nr; i++) {
			struct page *pg = vmalloc_to_page(p + i * PAGE_SIZE + 7);
			ck_assert_ptr_nonnull(pg);
			ck_assert_uint_eq(vmalloc_to_pfn(p + i * PAGE_SIZE), page_to_pfn(pg));
			ck_assert(page_test_flag(pg, PG_vmalloc));
			pfns[i] = page_to_pfn(pg);
		}
		qsort(pfns, nr, sizeof(*pfns), cmp_ulong);
		for (unsigned long i = 1; i < nr; i++)
			ck_assert_msg(pfns[i] != pfns[i - 1], "pfn %#lx mapped twice", pfns[i]);
		free(pfns);
		/* The guard page after the area maps nothing. */
		ck_assert_ptr_null(vmalloc_to_page(p + nr * PAGE_SIZE));
		for (unsigned long i = 0; i < size; i += 509)
			p[i] = (unsigned char)(i * 7 + k);
		p[size - 1] = 0x5a;
		for (unsigned long i = 0; i < size - 1; i += 509)
			ck_assert_uint_eq(p[i], (unsigned char)(i * 7 + k));
		ck_assert_uint_eq(p[size - 1], 0x5a);
		ck_assert_kmm_clean();
		vfree(p);
		ck_assert_ptr_null(find_vm_area(p));        /* no longer busy */
		vm_unmap_aliases();                          /* warm frames back */
		ck_assert_ptr_null(vmalloc_to_page(p));
	}
	ck_assert_uint_eq(free_and_overhead(), before);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_vzalloc_and_counters)
{
	kmm_test_boot("mem=256M");
	unsigned long used0 = meminfo_kb("VmallocUsed:");
	ck_assert_uint_eq(meminfo_kb("VmallocTotal:"), (4 * 256UL << 20) >> 10);
	unsigned long before = free_and_overhead();
	/* Dirty a range, free it, purge: the next vzalloc reuses it. */
	char *p = vmalloc(1 << 20);
	memset(p, 0xff, 1 << 20);
	vfree(p);
	vm_unmap_aliases();
	unsigned char *z = vzalloc(1 << 20);
	ck_assert_ptr_eq(z, p);
	for (unsigned long i = 0; i < (1 << 20); i++)
		ck_assert_msg(z[i] == 0, "vzalloc byte %lu = %#x", i, z[i]);
	ck_assert_uint_eq(meminfo_kb("VmallocUsed:") - used0, 1024);
	ck_assert_uint_ge(meminfo_kb("PageTables:"), 4);
	ck_assert_uint_eq(before - free_and_overhead(), 256);
	/* Dirty it again and free it: the range stays warm (frames kept), and
	 * the next vzalloc that reuses it is cleared all the same. */
	memset(z, 0xee, 1 << 20);
	vfree(z);
	ck_assert_uint_eq(meminfo_kb("VmallocUsed:"), used0);
	ck_assert_uint_eq(before - free_and_overhead(), 256);
	ck_assert_kmm_clean();
	unsigned char *w = vzalloc(1 << 20);
	ck_assert_ptr_eq(w, z);
	for (unsigned long i = 0; i < (1 << 20); i++)
		ck_assert_msg(w[i] == 0, "warm vzalloc byte %lu = %#x", i, w[i]);
	ck_assert_uint_eq(before - free_and_overhead(), 256);
	vfree(w);
	vm_unmap_aliases();
	ck_assert_uint_eq(free_and_overhead(), before);
	ck_assert_kmm_clean();
}
END_TEST

/* vfree(NULL), vfree of something else, double vfree, vmalloc(0). */
START_TEST(test_bad_calls)
{
	kmm_test_boot("mem=64M");
	int local;
	vfree(NULL);
	vunmap(NULL);
	ck_assert_ptr_null(vmalloc(0));
	vfree(&local);                              /* warns, no crash */
	char *p = vmalloc(3 * PAGE_SIZE);
	vfree(p + PAGE_SIZE);                       /* not the start: warns */
	ck_assert_ptr_nonnull(vmalloc_to_page(p));  /* still mapped */
	vfree(p);
	vfree(p);                                   /* double vfree: warns */
	ck_assert_ptr_null(vmalloc(1UL << 40));     /* more than memory */
	ck_assert_ptr_null(__vmalloc(1UL << 40, GFP_KERNEL | __GFP_NOWARN));
	ck_assert_ptr_null(vrealloc(&local, 100, GFP_KERNEL));
	ck_assert_kmm_clean();
}
END_TEST

/*
 * First fit, lowest address, guard pages, warm lazy reuse:
 *
 *   a b c       [a][g][b0 b1 b2 b3][g][c][g][ free ....
 *   vfree(b)    [a][g][ lazy, b0..b3 still mapped ][c][g][ free ....
 *   vmalloc(1)  [a][g][d=b0][g: b1's frame freed][lazy b2 b3 g][c][g] ...
 *   purge       [a][g][d][g][ free ....... ][c][g][ free ....
 */
START_TEST(test_placement_and_lazy_purge)
{
	kmm_test_boot("mem=64M");
	char *a = vmalloc(PAGE_SIZE), *b = vmalloc(4 * PAGE_SIZE), *c = vmalloc(PAGE_SIZE);
	ck_assert_ptr_eq(b, a + 2 * PAGE_SIZE);
	ck_assert_ptr_eq(c, b + 5 * PAGE_SIZE);
	struct page *b0 = vmalloc_to_page(b), *b2 = vmalloc_to_page(b + 2 * PAGE_SIZE);
	strcpy(b, "warm");
	vfree(b);
	ck_assert_uint_eq(vmalloc_lazy_pages(), 5);
	ck_assert_ptr_eq(vmalloc_to_page(b), b0);      /* warm: still mapped */
	ck_assert_kmm_clean();
	char *d = vmalloc(PAGE_SIZE);
	ck_assert_ptr_eq(d, b);                        /* the lazy range, reused */
	ck_assert_ptr_eq(vmalloc_to_page(d), b0);      /* with its frame */
	ck_assert_str_eq(d, "warm");                   /* and its bytes */
	ck_assert_ptr_null(vmalloc_to_page(d + PAGE_SIZE));    /* guard */
	ck_assert_ptr_eq(vmalloc_to_page(b + 2 * PAGE_SIZE), b2);
	ck_assert_uint_eq(vmalloc_lazy_pages(), 3);
	ck_assert_kmm_clean();
	vm_unmap_aliases();
	ck_assert_uint_eq(vmalloc_lazy_pages(), 0);
	ck_assert_ptr_null(vmalloc_to_page(b + 2 * PAGE_SIZE));
	char *e = vmalloc(2 * PAGE_SIZE);
	ck_assert_ptr_eq(e, d + 2 * PAGE_SIZE);        /* lowest fit */
	struct vmap_area *va = find_vmap_area((unsigned long)e + PAGE_SIZE);
	ck_assert_ptr_nonnull(va);
	ck_assert_uint_eq(va->va_start, (unsigned long)e);
	ck_assert_uint_eq(va_size(va), 3 * PAGE_SIZE);
	vfree(a);
	vfree(c);
	vfree(d);
	vfree(e);
	vm_unmap_aliases();
	ck_assert_uint_eq(vmalloc_largest_free(), VMALLOC_END - VMALLOC_START);
	ck_assert_kmm_clean();
}
END_TEST

/* Random sizes, 100 000 vmalloc/vfree cycles: no frame and no address
 * space is lost. */
START_TEST(test_100k_cycles_no_leak)
{
	enum { SLOTS = 64, CYCLES = 100000 };
	kmm_test_boot("mem=256M");
	unsigned long before = free_and_overhead();
	unsigned char *slot[SLOTS] = { 0 };
	unsigned long len[SLOTS] = { 0 };
	uint64_t rng = 42;
	for (int i = 0; i < CYCLES; i++) {
		int s = (int)(test_rand(&rng) % SLOTS);
		if (slot[s]) {
			ck_assert_uint_eq(slot[s][0], (unsigned char)s);
			ck_assert_uint_eq(slot[s][len[s] - 1], (unsigned char)~s);
			vfree(slot[s]);
		}
		uint64_t r = test_rand(&rng);
		/* mostly small, sometimes up to 1 MiB */
		len[s] = 1 + (r % 16 == 0 ? r % (1 << 20) : r % (5 * PAGE_SIZE));
		slot[s] = vmalloc(len[s]);
		ck_assert_ptr_nonnull(slot[s]);
		slot[s][0] = (unsigned char)s;
		slot[s][len[s] - 1] = (unsigned char)~s;
	}
	ck_assert_kmm_clean();
	for (int s = 0; s < SLOTS; s++)
		vfree(slot[s]);
	ck_assert_all_returned(before);
}
END_TEST

/* With no free block of order 1 or more anywhere (tests/fragment.h) and
 * half of memory free as single frames, vmalloc(64M) still succeeds. */
START_TEST(test_64m_with_fragmented_memory)
{
	kmm_test_boot("mem=256M");
	struct fragmentation frag = fragment_memory();
	ck_assert_uint_gt(nr_free_pages(), (64UL << 20) / PAGE_SIZE + 2048);

	unsigned char *p = vmalloc(64UL << 20);
	ck_assert_ptr_nonnull(p);
	for (unsigned long off = 0; off < (64UL << 20); off += PAGE_SIZE) {
		ck_assert(page_to_pfn(vmalloc_to_page(p + off)) % 2 == 0);
		p[off] = (unsigned char)(off >> 12);
	}
	for (unsigned long off = 0; off < (64UL << 20); off += PAGE_SIZE)
		ck_assert_uint_eq(p[off], (unsigned char)(off >> 12));
	ck_assert_kmm_clean();
	vfree(p);
	unfragment_memory(&frag);
	ck_assert_kmm_clean();
}
END_TEST

/* Loop test: _i = 0 anon, 1 phys=memfd. */
START_TEST(test_vrealloc_both_ways)
{
	kmm_test_boot(_i ? "phys=memfd mem=256M" : "mem=256M");
	unsigned long before = free_and_overhead();
	/* Grow in place: nothing follows the area. */
	unsigned char *p = vrealloc(NULL, 4 * PAGE_SIZE, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	for (unsigned long i = 0; i < 4 * PAGE_SIZE; i++)
		p[i] = (unsigned char)i;
	unsigned char *q = vrealloc(p, 16 * PAGE_SIZE, GFP_KERNEL | __GFP_ZERO);
	ck_assert_ptr_eq(q, p);
	for (unsigned long i = 0; i < 4 * PAGE_SIZE; i++)
		ck_assert_uint_eq(q[i], (unsigned char)i);
	for (unsigned long i = 4 * PAGE_SIZE; i < 16 * PAGE_SIZE; i++)
		ck_assert_uint_eq(q[i], 0);
	ck_assert_ptr_nonnull(vmalloc_to_page(q + 15 * PAGE_SIZE));
	ck_assert_ptr_null(vmalloc_to_page(q + 16 * PAGE_SIZE));

	/* Blocked: the next area sits right after the guard page -> moves. */
	unsigned char *blocker = vmalloc(PAGE_SIZE);
	ck_assert_ptr_eq(blocker, q + 17 * PAGE_SIZE);
	unsigned char *r = vrealloc(q, 64 * PAGE_SIZE, GFP_KERNEL);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_ne(r, q);
	for (unsigned long i = 0; i < 4 * PAGE_SIZE; i++)
		ck_assert_uint_eq(r[i], (unsigned char)i);
	ck_assert_ptr_null(find_vm_area(q));          /* old one freed */
	vm_unmap_aliases();
	ck_assert_ptr_null(vmalloc_to_page(q));       /* and purged */

	/* Shrink in place: frames past the new end go lazy with their range,
	 * and come back at the purge. */
	drain_all_pages(NULL);
	unsigned long free_big = nr_free_pages();
	unsigned char *s = vrealloc(r, 2 * PAGE_SIZE + 1, GFP_KERNEL);
	ck_assert_ptr_eq(s, r);
	ck_assert_kmm_clean();
	vm_unmap_aliases();
	drain_all_pages(NULL);
	ck_assert_uint_ge(nr_free_pages(), free_big + 61);
	ck_assert_ptr_nonnull(vmalloc_to_page(s + 2 * PAGE_SIZE));
	ck_assert_ptr_null(vmalloc_to_page(s + 3 * PAGE_SIZE));
	for (unsigned long i = 0; i < 2 * PAGE_SIZE; i++)
		ck_assert_uint_eq(s[i], (unsigned char)i);
	ck_assert_kmm_clean();
	/* ... and grows in place again into its own tail once purged. */
	vm_unmap_aliases();
	ck_assert_ptr_eq(vrealloc(s, 8 * PAGE_SIZE, GFP_KERNEL), s);
	ck_assert_ptr_null(vrealloc(s, 0, GFP_KERNEL));   /* frees */
	vfree(blocker);
	vm_unmap_aliases();
	ck_assert_uint_eq(free_and_overhead(), before);
	ck_assert_kmm_clean();
}
END_TEST

/* Scattered pages, one contiguous mapping.  anon: contents copied in at
 * vmap() and back at vunmap(). */
START_TEST(test_vmap_scattered_anon)
{
	kmm_test_boot("mem=64M");
	struct page *pool[16], *pages[8];
	for (int i = 0; i < 16; i++)
		pool[i] = alloc_page(GFP_KERNEL);
	for (int i = 0; i < 8; i++) {
		pages[i] = pool[15 - 2 * i];                 /* reversed, every other */
		memset(page_address(pages[i]), 'a' + i, PAGE_SIZE);
	}
	char *v = vmap(pages, 8, VM_MAP, PAGE_KERNEL);
	ck_assert_ptr_nonnull(v);
	ck_assert(is_vmalloc_addr(v));
	for (int i = 0; i < 8; i++) {
		ck_assert_ptr_eq(vmalloc_to_page(v + i * PAGE_SIZE), pages[i]);
		ck_assert_int_eq(v[i * PAGE_SIZE + 100], 'a' + i);
	}
	ck_assert(strstr(dump(kmm_show_vmallocinfo), " vmap") != NULL);
	memset(v, 'Z', 8 * PAGE_SIZE);
	ck_assert_kmm_clean();
	vunmap(v);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(((char *)page_address(pages[i]))[5], 'Z');
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(page_count(pool[i]), 1);   /* vmap took no reference */
	for (int i = 0; i < 16; i++)
		__free_page(pool[i]);
	ck_assert_kmm_clean();
}
END_TEST

/* phys=memfd: the vmap mapping and page_address are one memory. */
START_TEST(test_vmap_memfd_coherent)
{
	kmm_test_boot("phys=memfd mem=128M");
	struct page *pool[16], *pages[8];
	for (int i = 0; i < 16; i++)
		pool[i] = alloc_page(GFP_KERNEL);
	for (int i = 0; i < 8; i++)
		pages[i] = pool[(i * 5) % 16];
	char *v = vmap(pages, 8, VM_MAP, PAGE_KERNEL);
	ck_assert_ptr_nonnull(v);
	for (int i = 0; i < 8; i++) {
		char *direct = page_address(pages[i]);
		v[i * PAGE_SIZE + 10] = (char)('A' + i);
		ck_assert_int_eq(direct[10], 'A' + i);     /* at once, no vunmap */
		direct[20] = (char)('a' + i);
		ck_assert_int_eq(v[i * PAGE_SIZE + 20], 'a' + i);
	}
	vunmap(v);
	vm_unmap_aliases();
	/* vmalloc'ed memory is coherent with its frames too. */
	unsigned char *m = vmalloc(1 << 20);
	for (unsigned long off = 0; off < (1 << 20); off += PAGE_SIZE) {
		m[off] = (unsigned char)(off >> 12);
		unsigned char *direct = page_address(vmalloc_to_page(m + off));
		ck_assert_uint_eq(direct[0], (unsigned char)(off >> 12));
	}
	vfree(m);
	for (int i = 0; i < 16; i++)
		__free_page(pool[i]);
	ck_assert_kmm_clean();
}
END_TEST

/* phys=memfd: the guard page after an area faults.  The test catches the
 * fault itself (sanitizers handle SIGSEGV their own way otherwise). */
static sigjmp_buf fault_jmp;
static void *volatile fault_addr;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	fault_addr = si->si_addr;
	siglongjmp(fault_jmp, 1);
}

START_TEST(test_memfd_guard_page_faults)
{
	kmm_test_boot("phys=memfd mem=64M");
	volatile char *p = vmalloc(2 * PAGE_SIZE);
	p[2 * PAGE_SIZE - 1] = 1;
	struct sigaction sa = { 0 }, old;
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(fault_jmp, 1) == 0) {
		p[2 * PAGE_SIZE] = 1;                 /* the guard page */
		sigaction(SIGSEGV, &old, NULL);
		ck_abort_msg("writing the guard page did not fault");
	}
	sigaction(SIGSEGV, &old, NULL);
	ck_assert_ptr_eq(fault_addr, (void *)(p + 2 * PAGE_SIZE));
	vfree((void *)p);
	ck_assert_kmm_clean();
}
END_TEST

/* Does writing *p fault?  (SIGSEGV caught, at p.) */
static bool write_faults(volatile char *p)
{
	struct sigaction sa = { 0 }, old;
	bool faulted = false;
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(fault_jmp, 1) == 0)
		*p = 1;
	else
		faulted = fault_addr == (void *)p;
	sigaction(SIGSEGV, &old, NULL);
	return faulted;
}

/*
 * anon: the page after every area faults, whatever made the area - a new
 * range, a warm one of another size, vrealloc growing or shrinking it -
 * and the guard pages left in lazy and free ranges never get in the way of
 * the data put there later.
 */
START_TEST(test_anon_guard_pages_fault)
{
	kmm_test_boot("mem=64M");
	volatile char *p = vmalloc(1);
	p[PAGE_SIZE - 1] = 1;
	ck_assert(write_faults(p + PAGE_SIZE));
	vfree((void *)p);
	vm_unmap_aliases();
	/* Warm reuse at another size: [q q g . . . . . G] of a lazy range
	 * of eight pages whose old guard G stays. */
	char *w = vmalloc(8 * PAGE_SIZE);
	vfree(w);
	volatile char *q = vmalloc(2 * PAGE_SIZE);
	ck_assert_ptr_eq((void *)q, w);
	memset((void *)q, 7, 2 * PAGE_SIZE);
	ck_assert(write_faults(q + 2 * PAGE_SIZE));
	/* Grown in place into the lazy rest: the old guard takes data. */
	volatile char *r = vrealloc((void *)q, 5 * PAGE_SIZE, GFP_KERNEL);
	ck_assert_ptr_eq((void *)r, (void *)q);
	memset((void *)r, 8, 5 * PAGE_SIZE);
	ck_assert(write_faults(r + 5 * PAGE_SIZE));
	/* Shrunk in place. */
	r = vrealloc((void *)r, 2 * PAGE_SIZE, GFP_KERNEL);
	ck_assert_ptr_eq((void *)r, (void *)q);
	ck_assert(write_faults(r + 2 * PAGE_SIZE));
	ck_assert_kmm_clean();
	vfree((void *)r);
	vm_unmap_aliases();
	/* Purged ranges keep their guards until data needs the pages. */
	volatile char *big = vmalloc(16 * PAGE_SIZE);
	memset((void *)big, 9, 16 * PAGE_SIZE);
	ck_assert(write_faults(big + 16 * PAGE_SIZE));
	vfree((void *)big);
	ck_assert_kmm_clean();
}
END_TEST

/* 100 000 live one-page areas: each guard page splits a host mapping, and
 * the host allows vm.max_map_count (65530) of them; libkmm keeps within a
 * quarter of that and the areas all work. */
START_TEST(test_anon_guards_100k_areas)
{
	enum { N = 100000 };
	kmm_test_boot("mem=1G");
	static char *v[N];
	for (int i = 0; i < N; i++) {
		v[i] = vmalloc(PAGE_SIZE);
		ck_assert_ptr_nonnull(v[i]);
		v[i][0] = (char)i;
	}
	unsigned long maps = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(f);
	for (int c; (c = fgetc(f)) != EOF;)
		maps += c == '\n';
	fclose(f);
	ck_assert_uint_lt(maps, 65530 / 2 + 1000);
	ck_assert(write_faults(v[0] + PAGE_SIZE));
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(v[i][0], (char)i);
		vfree(v[i]);
	}
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_memfd_sizes_and_reuse)
{
	kmm_test_boot("phys=memfd mem=256M");
	unsigned long before = free_and_overhead();
	uint64_t rng = 7;
	for (int i = 0; i < 3000; i++) {
		unsigned long len = 1 + test_rand(&rng) % (300 * 1024);
		unsigned char *p = i % 2 ? vzalloc(len) : vmalloc(len);
		ck_assert_ptr_nonnull(p);
		if (i % 2)
			ck_assert_uint_eq(p[len - 1], 0);
		p[0] = 1;
		p[len - 1] = 2;
		vfree(p);
	}
	vm_unmap_aliases();
	ck_assert_uint_eq(free_and_overhead(), before);
	ck_assert_kmm_clean();
}
END_TEST

struct worker_arg {
	int id;
	int fails;
};

static void *vmalloc_worker(void *argp)
{
	struct worker_arg *arg = argp;
	uint64_t rng = 1000 + (uint64_t)arg->id;
	unsigned char *mine[8] = { 0 };
	unsigned long len[8] = { 0 };
	for (int i = 0; i < 20000; i++) {
		int s = (int)(test_rand(&rng) % 8);
		if (mine[s]) {
			if (mine[s][0] != arg->id || mine[s][len[s] - 1] != arg->id)
				arg->fails++;
			vfree(mine[s]);
		}
		len[s] = 1 + test_rand(&rng) % (12 * PAGE_SIZE);
		mine[s] = vmalloc(len[s]);
		if (!mine[s]) {
			arg->fails++;
			continue;
		}
		mine[s][0] = (unsigned char)arg->id;
		mine[s][len[s] - 1] = (unsigned char)arg->id;
		if (i % 4096 == 0)
			vm_unmap_aliases();
	}
	for (int s = 0; s < 8; s++)
		vfree(mine[s]);
	return NULL;
}

START_TEST(test_threads_concurrent)
{
	enum { THREADS = 4 };
	kmm_test_boot("mem=256M");
	unsigned long before = free_and_overhead();
	pthread_t t[THREADS];
	struct worker_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){ i + 1, 0 };
		pthread_create(&t[i], NULL, vmalloc_worker, &args[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(args[i].fails, 0);
	}
	ck_assert_all_returned(before);
}
END_TEST

/* Injected page-allocation failures hit frames, page tables and
 * descriptors: every call either succeeds whole or fails cleanly. */
START_TEST(test_injected_failures_leave_no_trace)
{
	kmm_test_boot("mem=128M fail_page_alloc.probability=2 fail_page_alloc.ignore_gfp_wait=0 "
		      "fail_page_alloc.ignore_gfp_highmem=0 fail_page_alloc.min_order=0");
	unsigned long before = free_and_overhead();
	unsigned char *slot[32] = { 0 };
	unsigned long len[32] = { 0 };
	uint64_t rng = 3;
	int failures = 0;
	for (int i = 0; i < 4000; i++) {
		int s = (int)(test_rand(&rng) % 32);
		unsigned long n = 1 + test_rand(&rng) % (40 * PAGE_SIZE);
		if (slot[s] && i % 3 == 0) {
			unsigned char *q = vrealloc(slot[s], n, GFP_KERNEL | __GFP_NOWARN);
			if (!q) {
				failures++;
				ck_assert_uint_eq(slot[s][0], (unsigned char)s);  /* intact */
				continue;
			}
			slot[s] = q;
		} else {
			vfree(slot[s]);
			slot[s] = __vmalloc(n, GFP_KERNEL | __GFP_NOWARN);
			if (!slot[s]) {
				failures++;
				continue;
			}
		}
		len[s] = n;
		slot[s][0] = (unsigned char)s;
		slot[s][len[s] - 1] = (unsigned char)s;
	}
	ck_assert_int_gt(failures, 0);
	ck_assert_kmm_clean();
	for (int s = 0; s < 32; s++)
		vfree(slot[s]);
	ck_assert_all_returned(before);
}
END_TEST

/* anon: a forked child gets a copy-on-write copy; memfd: it shares. */
static void fork_case(bool shared)
{
	char *p = vmalloc(8 * PAGE_SIZE);
	strcpy(p, "parent");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int ok = strcmp(p, "parent") == 0;
		strcpy(p, "child");
		char *q = vmalloc(PAGE_SIZE);           /* the child can allocate */
		ok = ok && q && kmm_check() == 0;
		vfree(q);
		/* memfd: the page tables are frames too, shared with the
		 * parent; leave them as they were found. */
		vm_unmap_aliases();
		_exit(ok ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_str_eq(p, shared ? "child" : "parent");
	vfree(p);
	ck_assert_kmm_clean();
}

START_TEST(test_fork_anon_copies)
{
	kmm_test_boot("mem=64M");
	fork_case(false);
}
END_TEST

START_TEST(test_fork_memfd_shares)
{
	kmm_test_boot("phys=memfd mem=64M");
	fork_case(true);
}
END_TEST

/* Exported (-rdynamic) so that the dump can name it. */
noinline void *vinfo_test_caller(unsigned long size);
void *volatile vinfo_test_last;
noinline void *vinfo_test_caller(unsigned long size)
{
	vinfo_test_last = vmalloc(size);           /* not a tail call */
	return vinfo_test_last;
}

START_TEST(test_vmallocinfo_format)
{
	kmm_test_boot("mem=64M");
	char *p = vinfo_test_caller(3 * PAGE_SIZE);
	char want[64];
	snprintf(want, sizeof(want), "0x%016lx-0x%016lx", (unsigned long)p,
		 (unsigned long)p + 4 * PAGE_SIZE);
	char *text = dump(kmm_show_vmallocinfo);
	char *line = strstr(text, want);
	ck_assert_msg(line != NULL, "no line for %s in:\n%s", want, text);
	unsigned long start, end, size;
	char caller[128], rest[128];
	ck_assert_int_eq(sscanf(line, "0x%lx-0x%lx %lu %127s %127[^\n]", &start, &end, &size,
				caller, rest), 5);
	ck_assert_uint_eq(start, (unsigned long)p);
	ck_assert_uint_eq(size, 4 * PAGE_SIZE);      /* guard page included */
	ck_assert_msg(strncmp(caller, "vinfo_test_caller+0x", 20) == 0, "caller %s", caller);
	ck_assert_msg(strchr(caller, '/') != NULL, "caller %s has no /size", caller);
	ck_assert_str_eq(rest, "pages=3 vmalloc N0=3");
	/* The size column is %7ld, as the kernel's. */
	ck_assert_int_eq(line[2 * 18 + 1], ' ');
	ck_assert_int_eq(line[2 * 18 + 2 + 7], ' ');
	vfree(p);
	text = dump(kmm_show_vmallocinfo);
	ck_assert(strstr(text, "unpurged vm_area") != NULL);
	vm_unmap_aliases();
	text = dump(kmm_show_vmallocinfo);
	ck_assert_msg(strstr(text, "unpurged vm_area") == NULL, "%s", text);
	ck_assert(strstr(text, want) == NULL);
	ck_assert_kmm_clean();
}
END_TEST

/* kmm_check() notices a broken invariant (it can fail). */
START_TEST(test_check_detects_corruption)
{
	kmm_test_boot("mem=64M");
	char *p = vmalloc(2 * PAGE_SIZE);
	struct vmap_area *va = find_vmap_area((unsigned long)p);
	ck_assert_kmm_clean();
	va->nr_pages = 1;                              /* pte of page 1 now stray */
	ck_assert_int_gt(kmm_check(), 0);
	va->nr_pages = 2;
	unsigned long save = va->subtree_max_size;
	va->subtree_max_size = 1;
	ck_assert_int_gt(kmm_check(), 0);
	va->subtree_max_size = save;
	ck_assert_kmm_clean();
	vfree(p);
}
END_TEST

/*
 * Warm reuse keeps every usable byte: a move copies all mapped pages (not
 * only the bytes last asked for), growth into a lazy neighbour adopts its
 * frames, and a reused range is never confused with a fresh one.
 *
 *   p q         [p: 3 pages][g][q: 2 pages][g][ free
 *   vfree(q)    [p][g][ lazy, q's frames ][ free
 *   grow p      [p: 3 pages + q's range ....][g][ free     in place
 */
START_TEST(test_warm_reuse_keeps_usable_bytes)
{
	kmm_test_boot("mem=64M");
	unsigned long before = free_and_overhead();
	/* Ask for 100 bytes, use the whole page: a move keeps it all. */
	unsigned char *a = vmalloc(100);
	ck_assert_uint_eq(get_vm_area_size(find_vm_area(a)), PAGE_SIZE);
	memset(a, 0xa5, PAGE_SIZE);
	unsigned char *blocker = vmalloc(PAGE_SIZE);
	ck_assert_ptr_eq(blocker, a + 2 * PAGE_SIZE);
	unsigned char *b = vrealloc(a, 3 * PAGE_SIZE, GFP_KERNEL);
	ck_assert_ptr_ne(b, a);
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		ck_assert_msg(b[i] == 0xa5, "byte %lu of the usable size lost", i);
	for (unsigned long i = 0; i < 3 * PAGE_SIZE; i++)
		b[i] = (unsigned char)(i * 13);
	unsigned char *q = vmalloc(2 * PAGE_SIZE);
	ck_assert_ptr_eq(q, b + 4 * PAGE_SIZE);
	struct page *q0 = vmalloc_to_page(q);
	vfree(q);
	unsigned char *c = vrealloc(b, 6 * PAGE_SIZE, GFP_KERNEL);
	ck_assert_ptr_eq(c, b);                          /* into q's lazy range */
	ck_assert_ptr_eq(vmalloc_to_page(c + 4 * PAGE_SIZE), q0);
	ck_assert_ptr_null(vmalloc_to_page(c + 6 * PAGE_SIZE));   /* guard */
	for (unsigned long i = 0; i < 3 * PAGE_SIZE; i++)
		ck_assert_uint_eq(c[i], (unsigned char)(i * 13));
	memset(c + 3 * PAGE_SIZE, 0x11, 3 * PAGE_SIZE);
	ck_assert_kmm_clean();
	vfree(c);
	vfree(blocker);
	ck_assert_all_returned(before);
}
END_TEST

/* Warm frames are not lost to the rest of the machine: an allocation that
 * would fail gets them back through the page allocator's reclaim hook. */
START_TEST(test_warm_frames_reclaimed_under_pressure)
{
	kmm_test_boot("mem=64M");
	void *v = vmalloc(4UL << 20);
	ck_assert_ptr_nonnull(v);
	memset(v, 1, 4UL << 20);
	vfree(v);
	ck_assert_uint_ge(vmalloc_lazy_pages(), 1024);
	/* Take every frame the page allocator has. */
	struct page *list = NULL;
	unsigned long got = 0;
	struct page *pg;
	while ((pg = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0))) {
		*(struct page **)page_address(pg) = list;
		list = pg;
		got++;
	}
	ck_assert_uint_eq(vmalloc_lazy_pages(), 0);      /* purged on the way */
	ck_assert_uint_gt(got, 1024);
	while (list) {
		struct page *next = *(struct page **)page_address(list);
		__free_page(list);
		list = next;
	}
	ck_assert_kmm_clean();
}
END_TEST

static Suite *vmalloc_suite(void)
{
	Suite *s = suite_create("vmalloc");
	TCase *tc = tcase_create("areas");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sizes_1_to_64m);
	tcase_add_test(tc, test_vzalloc_and_counters);
	tcase_add_test(tc, test_bad_calls);
	tcase_add_test(tc, test_placement_and_lazy_purge);
	tcase_add_test(tc, test_100k_cycles_no_leak);
	tcase_add_test(tc, test_64m_with_fragmented_memory);
	tcase_add_loop_test(tc, test_vrealloc_both_ways, 0, 2);
	tcase_add_test(tc, test_warm_reuse_keeps_usable_bytes);
	tcase_add_test(tc, test_warm_frames_reclaimed_under_pressure);
	tcase_add_test(tc, test_vmallocinfo_format);
	tcase_add_test(tc, test_check_detects_corruption);
	suite_add_tcase(s, tc);

	tc = tcase_create("backing");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_vmap_scattered_anon);
	tcase_add_test(tc, test_vmap_memfd_coherent);
	tcase_add_test(tc, test_memfd_guard_page_faults);
	tcase_add_test(tc, test_anon_guard_pages_fault);
	tcase_add_test(tc, test_anon_guards_100k_areas);
	tcase_add_test(tc, test_memfd_sizes_and_reuse);
	tcase_add_test(tc, test_injected_failures_leave_no_trace);
	tcase_add_test(tc, test_fork_anon_copies);
	tcase_add_test(tc, test_fork_memfd_shares);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_threads_concurrent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(vmalloc_suite());
}
