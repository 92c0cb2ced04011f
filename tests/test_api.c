/*
 * test_api.c - the page allocator through libkmm.so's public API only:
 * what a program linked with -lkmm sees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static char *dump(void (*show)(FILE *))
{
	static char buf[65536];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	show(f);
	fclose(f);
	return buf;
}

START_TEST(test_public_page_api)
{
	kmm_test_boot("mem=256M");
	struct page *p = alloc_page(GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(page_address(p));
	ck_assert_ptr_eq(virt_to_page(page_address(p)), p);
	ck_assert_ptr_eq(pfn_to_page(page_to_pfn(p)), p);
	ck_assert(!PageSlab(p));
	ck_assert(!PageCompound(p));
	__free_page(p);
	ck_assert_int_eq(kmm_init(NULL), -EBUSY);
	ck_assert_int_eq(kmm_check(), 0);
}
END_TEST

START_TEST(test_node_and_zones)
{
	kmm_test_boot("mem=256M");
	pg_data_t *node = NODE_DATA(0);
	ck_assert_ptr_nonnull(node);
	struct zone *dma = &node->node_zones[ZONE_DMA];
	struct zone *dma32 = &node->node_zones[ZONE_DMA32];
	ck_assert_str_eq(dma->name, "DMA");
	ck_assert_uint_eq(dma->zone_start_pfn, 0);
	ck_assert_uint_eq(dma->spanned_pages, 4096);
	ck_assert_uint_eq(dma32->zone_start_pfn, 4096);
	ck_assert_uint_eq(dma->spanned_pages + dma32->spanned_pages, 65536);
	ck_assert_uint_eq(node->node_zones[ZONE_NORMAL].spanned_pages, 0);
	ck_assert_uint_eq(nr_free_pages() <= 65536, 1);
}
END_TEST

START_TEST(test_dump_formats)
{
	kmm_test_boot("mem=256M");
	char *b = dump(kmm_show_buddyinfo);
	ck_assert_ptr_nonnull(strstr(b, "Node 0, zone      DMA "));
	ck_assert_ptr_nonnull(strstr(b, "Node 0, zone    DMA32 "));
	ck_assert_ptr_null(strstr(b, "Normal"));
	b = dump(kmm_show_zoneinfo);
	ck_assert_ptr_nonnull(strstr(b, "Node 0, zone    DMA32\n  pages free     "));
	ck_assert_ptr_nonnull(strstr(b, "        protection: ("));
	b = dump(kmm_show_meminfo);
	/* The first 128 MiB section is online at boot; the second is
	 * spanned only, as memory not yet hot-added, and not in MemTotal. */
	ck_assert_ptr_nonnull(strstr(b, "MemTotal:         131072 kB\n"));
	ck_assert_ptr_nonnull(strstr(b, "MemFree:  "));
	b = dump(kmm_show_pagetypeinfo);
	ck_assert_ptr_nonnull(strstr(b, "Page block order: 9\nPages per block:  512\n"));
	ck_assert_ptr_nonnull(strstr(b, "Node    0, zone    DMA32, type      Movable "));
	b = dump(kmm_show_vmstat);
	ck_assert_ptr_nonnull(strstr(b, "nr_free_pages "));
	ck_assert_ptr_nonnull(strstr(b, "pgalloc_dma32 "));
}
END_TEST

static unsigned long field(const char *text, const char *name)
{
	const char *at = strstr(text, name);
	ck_assert_msg(at != NULL, "no %s", name);
	return strtoul(at + strlen(name), NULL, 10);
}

/* What a program linked with -lkmm reads agrees: nr_free_pages(), the sum
 * over buddyinfo, zoneinfo's pages free, MemFree, vmstat; MemTotal grows
 * as memory comes online; frames on the per-CPU lists are in none. */
START_TEST(test_free_counts_public)
{
	kmm_test_boot("mem=256M");
	enum { N = 600 };
	static struct page *pages[N];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++)
			pages[i] = alloc_pages(GFP_KERNEL, (unsigned int)(i % 11));
		for (int i = 0; i < N; i += 3)
			__free_pages(pages[i], (unsigned int)(i % 11));
		unsigned long buddy = 0, zoneinfo = 0, managed = 0;
		char *b = dump(kmm_show_buddyinfo);
		for (char *line = strtok(b, "\n"); line; line = strtok(NULL, "\n")) {
			int at = 0;
			ck_assert_int_eq(sscanf(line, "Node 0, zone %*s%n", &at), 0);
			ck_assert_int_gt(at, 0);
			char *p = line + at;
			for (int o = 0; o <= MAX_PAGE_ORDER; o++)
				buddy += strtoul(p, &p, 10) << o;
		}
		b = dump(kmm_show_zoneinfo);
		for (char *at = b; (at = strstr(at, "  pages free")) != NULL; at++)
			zoneinfo += field(at, "  pages free");
		for (char *at = b; (at = strstr(at, "        managed")) != NULL; at++)
			managed += field(at, "        managed");
		unsigned long free = nr_free_pages();
		ck_assert_uint_eq(buddy, free);
		ck_assert_uint_eq(zoneinfo, free);
		ck_assert_uint_le(free, managed);
		b = dump(kmm_show_meminfo);
		ck_assert_uint_eq(field(b, "MemFree:"), free * 4);
		ck_assert_uint_eq(field(b, "MemTotal:"), managed * 4);
		ck_assert_uint_eq(field(dump(kmm_show_vmstat), "nr_free_pages "), free);
		ck_assert_int_eq(kmm_check(), 0);
		for (int i = 0; i < N; i++)
			if (i % 3)
				__free_pages(pages[i], (unsigned int)(i % 11));
	}
	/* 600 blocks of up to order 10 needed the second section. */
	ck_assert_ptr_nonnull(strstr(dump(kmm_show_meminfo), "MemTotal:         262144 kB\n"));
	ck_assert_int_eq(kmm_check(), 0);
}
END_TEST

/* kmm_trim() gives freed memory back to the host: kmalloc objects and
 * vmalloc blocks, touched and freed, leave the resident set once trimmed
 * (through the public API only). */
static long resident_kb(void)
{
	long size = 0, pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &size, &pages) != 2)
			pages = 0;
		fclose(f);
	}
	return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

START_TEST(test_trim_releases_freed_memory)
{
	kmm_test_boot("mem=512M");
	enum { N = 32768 };
	static void *small[N], *big[64];
	for (int i = 0; i < N; i++) {
		small[i] = kmalloc(1024, GFP_KERNEL);
		ck_assert_ptr_nonnull(small[i]);
		memset(small[i], 1, 1024);
	}
	for (int i = 0; i < 64; i++) {
		big[i] = vmalloc(512 << 10);
		ck_assert_ptr_nonnull(big[i]);
		memset(big[i], 2, 512 << 10);
	}
	long peak = resident_kb();
	for (int i = 0; i < N; i++)
		kfree(small[i]);
	for (int i = 0; i < 64; i++)
		vfree(big[i]);
	ck_assert_uint_gt(kmm_trim(), 16UL << 20);
	long after = resident_kb();
	ck_assert_msg(peak - after > 48 * 1024, "resident %ld kB at the peak, %ld kB trimmed",
		      peak, after);
	ck_assert_int_eq(kmm_check(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("pages");
	tcase_add_test(tc, test_public_page_api);
	tcase_add_test(tc, test_node_and_zones);
	tcase_add_test(tc, test_dump_formats);
	tcase_add_test(tc, test_free_counts_public);
	tcase_add_test(tc, test_trim_releases_freed_memory);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
