/*
 * bench_frag - fragmentation: how much memory an allocator holds for a
 * heap that was full, lost 90 % of its objects at random, and was filled
 * again with objects of other sizes; and how much it gives back.
 *
 * Usage: bench_frag [-n OBJECTS] [-f PERCENT]   (defaults 200000, 90)
 *
 *   1. allocate OBJECTS objects of mixed sizes (70 % of 16..256 bytes,
 *      29 % of 257..4096, 1 % of 4 KiB..32 KiB), every byte written
 *   2. free a random PERCENT of them
 *   3. allocate objects of 300..1200 bytes (sizes step 1. mostly did not
 *      use) until as many bytes are live again as after step 1
 *   4. free the objects of step 3, then malloc_trim(0)
 *
 * Prints, in KiB: live_kb (bytes live after steps 1 and 3), rss_full_kb
 * (after 1), rss_holes_kb (after 2), rss_refill_kb (after 3), peak_kb
 * (VmHWM), rss_freed_kb (after freeing step 3's objects), rss_trim_kb
 * (after malloc_trim), trim_returned_kb, and overhead_pct: rss_refill over
 * live bytes, minus 100.
 */
#include <malloc.h>
#include <string.h>
#include "workload.h"

struct rec {
	unsigned char *p;
	size_t size;
};

static size_t old_size(uint64_t *rng)
{
	uint64_t r = wl_rand(rng) % 100;
	uint64_t s = wl_rand(rng);
	if (r < 70)
		return 16 + s % 241;
	if (r < 99)
		return 257 + s % 3840;
	return 4097 + s % 28672;
}

static void fill(struct rec *r, size_t size)
{
	r->size = size;
	r->p = wl_alloc(size);
	memset(r->p, (int)(size & 0xff), size);
}

static void verify(const struct rec *r)
{
	unsigned char v = (unsigned char)(r->size & 0xff);
	if (r->p[0] != v || r->p[r->size / 2] != v || r->p[r->size - 1] != v)
		wl_fail("object overwritten", r->p);
}

int main(int argc, char **argv)
{
	long n = 200000, pct = 90;
	int opt;
	uint64_t rng = 7;

	while ((opt = getopt(argc, argv, "n:f:")) != -1) {
		switch (opt) {
		case 'n': n = wl_arg(optarg); break;
		case 'f': pct = wl_arg(optarg); break;
		default:
			fprintf(stderr, "usage: bench_frag [-n OBJECTS] [-f PERCENT]\n");
			return 2;
		}
	}
	if (n < 10 || pct < 0 || pct > 100) {
		fprintf(stderr, "bench_frag: bad arguments\n");
		return 2;
	}

	/* The bookkeeping (16 bytes an object) is in every figure alike. */
	struct rec *old = calloc((size_t)n, sizeof(*old));
	if (!old)
		return 4;
	long base_kb = wl_rss_kb();

	size_t live = 0;
	for (long i = 0; i < n; i++) {
		fill(&old[i], old_size(&rng));
		live += old[i].size;
	}
	size_t full_live = live;
	long rss_full = wl_rss_kb() - base_kb;

	for (long i = 0; i < n; i++)
		if ((long)(wl_rand(&rng) % 100) < pct) {
			verify(&old[i]);
			live -= old[i].size;
			wl_free(old[i].p);
			old[i].p = NULL;
		}
	long rss_holes = wl_rss_kb() - base_kb;

	size_t cap = (size_t)n, nnew = 0;
	struct rec *new = calloc(cap, sizeof(*new));
	if (!new)
		return 4;
	while (live < full_live) {
		if (nnew == cap) {
			cap *= 2;
			new = realloc(new, cap * sizeof(*new));
			if (!new)
				return 4;
		}
		fill(&new[nnew], 300 + wl_rand(&rng) % 901);
		live += new[nnew++].size;
	}
	long rss_refill = wl_rss_kb() - base_kb;
	long peak = wl_hwm_kb();

	for (size_t i = 0; i < nnew; i++) {
		verify(&new[i]);
		wl_free(new[i].p);
	}
	long rss_freed = wl_rss_kb() - base_kb;
	malloc_trim(0);
	long rss_trim = wl_rss_kb() - base_kb;

	for (long i = 0; i < n; i++)
		if (old[i].p) {
			verify(&old[i]);
			wl_free(old[i].p);
		}
	free(new);
	free(old);

	printf("live_kb=%zu\n", full_live / 1024);
	printf("rss_full_kb=%ld\n", rss_full);
	printf("rss_holes_kb=%ld\n", rss_holes);
	printf("rss_refill_kb=%ld\n", rss_refill);
	printf("peak_kb=%ld\n", peak);
	printf("rss_freed_kb=%ld\n", rss_freed);
	printf("rss_trim_kb=%ld\n", rss_trim);
	printf("trim_returned_kb=%ld\n", rss_freed - rss_trim);
	printf("overhead_pct=%.1f\n", 100.0 * (double)rss_refill * 1024 / (double)full_live - 100.0);
	return 0;
}
