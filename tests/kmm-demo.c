/*
 * kmm-demo - boots libkmm, does some page-allocator work, and prints the
 * allocator's state in the kernel's formats (buddyinfo, zoneinfo, meminfo).
 *
 * Usage: kmm-demo [SETTINGS]   e.g. kmm-demo "mem=1G lowmem=896M"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kmm/kmm.h>

int main(int argc, char **argv)
{
	enum { NR = 4096 };
	static struct page *pages[NR];
	static unsigned int orders[NR];
	unsigned long seed = 12345;

	if (kmm_init(argc > 1 ? argv[1] : "mem=1G") != 0) {
		fprintf(stderr, "kmm-demo: bad settings\n");
		return 1;
	}
	unsigned long free_at_boot = nr_free_pages();
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < NR; i++) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			orders[i] = (unsigned int)(seed >> 60) % 6;
			gfp_t gfp = (seed >> 40) & 1 ? GFP_KERNEL : GFP_DMA32;
			pages[i] = alloc_pages(gfp | __GFP_COMP, orders[i]);
			if (pages[i] && page_address(pages[i]))
				memset(page_address(pages[i]), i & 0xff, 64);
		}
		for (int i = 0; i < NR; i += 2)
			if (pages[i])
				__free_pages(pages[i], orders[i]);
		if (round == 7) {
			printf("=== after allocating %d blocks and freeing half\n", NR);
			printf("--- /proc/buddyinfo\n");
			kmm_show_buddyinfo(stdout);
		}
		for (int i = 1; i < NR; i += 2)
			if (pages[i])
				__free_pages(pages[i], orders[i]);
	}
	drain_all_pages(NULL);
	printf("=== after freeing everything\n--- /proc/buddyinfo\n");
	kmm_show_buddyinfo(stdout);
	printf("--- /proc/zoneinfo\n");
	kmm_show_zoneinfo(stdout);
	printf("--- /proc/meminfo\n");
	kmm_show_meminfo(stdout);
	int problems = kmm_check();
	printf("=== free pages: %lu at boot, %lu now; kmm_check: %d problems\n",
	       free_at_boot, nr_free_pages(), problems);
	return problems == 0 && free_at_boot == nr_free_pages() ? 0 : 1;
}
