/*
 * bench_sizes - malloc/free pairs by size, single thread.
 *
 * Usage: bench_sizes [-n PAIRS] [-x] [-s SIZE]...
 *   -n PAIRS  pairs per size (default 1000000); above 4 KiB the count is
 *             scaled down by 4 KiB/SIZE (at least PAIRS/256) unless -x
 *   -x        exactly PAIRS pairs for every size (callgrind differences)
 *   -s SIZE   a size (k and M suffixes); default 8 B .. 1 MiB by powers of 2
 *
 * Each pair is malloc(SIZE), a write to the first and last byte, a check of
 * both, free.  Prints "ns_per_pair@SIZE=..." per size.
 */
#include <string.h>
#include "workload.h"

static size_t pairs_for(size_t size, long n, int exact)
{
	if (exact || size <= 4096)
		return (size_t)n;
	size_t k = (size_t)n * 4096 / size;
	size_t lo = (size_t)n / 256;
	return k > lo ? k : (lo ? lo : 1);
}

static void run_pairs(size_t size, size_t pairs)
{
	for (size_t i = 0; i < pairs; i++) {
		unsigned char *p = wl_alloc(size);
		unsigned char tag = (unsigned char)(i | 1);
		p[0] = tag;
		p[size - 1] = tag;
		if (p[0] != tag || p[size - 1] != tag)
			wl_fail("byte written not read back", p);
		wl_free(p);
	}
}

int main(int argc, char **argv)
{
	size_t sizes[64];
	int nsizes = 0, exact = 0, opt;
	long n = 1000000;

	while ((opt = getopt(argc, argv, "n:xs:")) != -1) {
		switch (opt) {
		case 'n': n = wl_arg(optarg); break;
		case 'x': exact = 1; break;
		case 's':
			if (nsizes < 64 && wl_arg(optarg) > 0)
				sizes[nsizes++] = (size_t)wl_arg(optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_sizes [-n PAIRS] [-x] [-s SIZE]...\n");
			return 2;
		}
	}
	if (n < 1)
		n = 1;
	if (nsizes == 0)
		for (size_t s = 8; s <= (1u << 20); s *= 2)
			sizes[nsizes++] = s;

	for (int i = 0; i < nsizes; i++) {
		size_t pairs = pairs_for(sizes[i], n, exact);
		run_pairs(sizes[i], pairs < 1000 ? pairs : 1000);  /* warm up */
		uint64_t t0 = wl_now_ns();
		run_pairs(sizes[i], pairs);
		uint64_t t1 = wl_now_ns();
		printf("ns_per_pair@%zu=%.2f\n", sizes[i], (double)(t1 - t0) / (double)pairs);
	}
	return 0;
}
