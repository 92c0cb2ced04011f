/*
 * bench_vmalloc - vmalloc against mmap and jemalloc, and the cost of area
 * lookup as the number of live areas grows.
 *
 * Usage:
 *   bench_vmalloc pair vmalloc|mmap|jemalloc SIZE PAIRS
 *       PAIRS allocate / touch every page once / free cycles of SIZE bytes;
 *       prints "mode=M size=S pairs=P ns_per_pair=X".  jemalloc mode is
 *       the same source built as bench_vmalloc_je, linked with -ljemalloc
 *       (its malloc is then the process's); libjemalloc.so.2 cannot be
 *       dlopen()ed: it uses initial-exec TLS.
 *   bench_vmalloc lookup AREAS QUERIES
 *       creates 2*AREAS one-page areas, frees every other one and purges, so
 *       both the busy and the free tree hold AREAS nodes; then times
 *       find_vmap_area() at random live addresses and vmalloc+vfree pairs
 *       of one page (placement in the free tree, frames, lazy purge).
 *       prints "areas=N lookup_ns=X pair_ns=Y busy_height=H free_height=H".
 * The machine is booted with KMM_CONF if set, else "mem=1G".
 */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "../lib/internal.h"
#include "../lib/vmap.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void touch(char *p, unsigned long size)
{
	for (unsigned long off = 0; off < size; off += PAGE_SIZE)
		((volatile char *)p)[off] = 1;
}

static int bench_pair(const char *mode, unsigned long size, long pairs)
{
	bool je = strcmp(mode, "jemalloc") == 0;
#ifndef BENCH_JEMALLOC
	if (je) {
		fprintf(stderr, "jemalloc: run bench_vmalloc_je (built when -ljemalloc links)\n");
		return 2;
	}
#endif
	if (strcmp(mode, "vmalloc") == 0)
		vfree(vmalloc(PAGE_SIZE));      /* boot outside the timing */
	else if (!je && strcmp(mode, "mmap") != 0)
		return 1;
	double t0 = now_ns();
	for (long i = 0; i < pairs; i++) {
		char *p;
		if (je) {
			p = malloc(size);
			touch(p, size);
			free(p);
		} else if (mode[0] == 'v') {
			p = vmalloc(size);
			touch(p, size);
			vfree(p);
		} else {
			p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			touch(p, size);
			munmap(p, size);
		}
	}
	double t1 = now_ns();
	printf("mode=%s size=%lu pairs=%ld ns_per_pair=%.0f\n", mode, size, pairs,
	       (t1 - t0) / (double)pairs);
	return 0;
}

static int bench_lookup(long areas, long queries)
{
	char **a = calloc((size_t)areas * 2, sizeof(*a));
	char **live = calloc((size_t)areas, sizeof(*live));
	for (long i = 0; i < 2 * areas; i++) {
		a[i] = vmalloc(PAGE_SIZE);
		if (!a[i]) {
			fprintf(stderr, "vmalloc failed at %ld areas\n", i);
			return 1;
		}
	}
	for (long i = 0; i < areas; i++) {
		vfree(a[2 * i]);
		live[i] = a[2 * i + 1];
	}
	vm_unmap_aliases();
	int hb, hf;
	vmalloc_tree_heights(&hb, &hf);
	unsigned long *q = calloc((size_t)queries, sizeof(*q));
	for (long i = 0; i < queries; i++)
		q[i] = (unsigned long)live[next_rand() % (uint64_t)areas];
	unsigned long sum = 0;
	double t0 = now_ns();
	for (long i = 0; i < queries; i++)
		sum += find_vmap_area(q[i])->va_start & 1;
	double t1 = now_ns();
	long pairs = queries / 10;
	for (long i = 0; i < pairs; i++) {
		/* The new area takes the lowest hole; freeing it leaves it lazy,
		 * so successive pairs walk up through the holes. */
		char *p = vmalloc(PAGE_SIZE);
		vfree(p);
	}
	double t2 = now_ns();
	printf("areas=%ld lookup_ns=%.1f pair_ns=%.0f busy_height=%d free_height=%d%s\n",
	       areas, (t1 - t0) / (double)queries, (t2 - t1) / (double)pairs, hb, hf,
	       sum ? " (odd?)" : "");
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf = getenv("KMM_CONF");
	if (kmm_init(conf ? conf : "mem=1G") != 0)
		return 1;
	if (argc == 5 && strcmp(argv[1], "pair") == 0)
		return bench_pair(argv[2], strtoul(argv[3], NULL, 0), atol(argv[4]));
	if (argc == 4 && strcmp(argv[1], "lookup") == 0)
		return bench_lookup(atol(argv[2]), atol(argv[3]));
	fprintf(stderr, "usage: bench_vmalloc pair vmalloc|mmap|jemalloc SIZE PAIRS\n"
			"       bench_vmalloc lookup AREAS QUERIES\n");
	return 1;
}
