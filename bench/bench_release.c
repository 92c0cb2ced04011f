/*
 * bench_release - what giving free memory back to the host costs.
 *
 * Usage: bench_release SETTINGS
 * Ten rounds: allocate 256 MiB in 2 MiB blocks, touch every page, free it
 * all.  Prints the median time of a round, and the RSS after the last
 * round once the release delay has passed (and one more free, which is
 * when a release happens).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <kmm/kmm.h>
#include "workload.h"


static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	enum { BLOCKS = 128, ROUNDS = 10 };
	static struct page *blocks[BLOCKS];
	double t[ROUNDS];
	if (kmm_init(argc > 1 ? argv[1] : "mem=1G") != 0)
		return 1;
	for (int r = 0; r < ROUNDS; r++) {
		double a = now_ms();
		for (int i = 0; i < BLOCKS; i++) {
			blocks[i] = alloc_pages(GFP_KERNEL, 9);
			char *p = page_address(blocks[i]);
			for (size_t off = 0; off < (PAGE_SIZE << 9); off += PAGE_SIZE)
				p[off] = (char)r;
		}
		for (int i = 0; i < BLOCKS; i++)
			__free_pages(blocks[i], 9);
		t[r] = now_ms() - a;
	}
	long rss_busy = wl_rss_kb();
	usleep(1100 * 1000);
	struct page *p = alloc_pages(GFP_KERNEL, 9);
	__free_pages(p, 9);       /* the free path notices the release is due */
	qsort(t, ROUNDS, sizeof(t[0]), cmp);
	printf("round_ms_median=%.1f rss_after_rounds_kb=%ld rss_after_idle_kb=%ld\n",
	       t[ROUNDS / 2], rss_busy, wl_rss_kb());
	return 0;
}
