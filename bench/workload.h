/*
 * workload.h - what the malloc workloads (bench_sizes, bench_threads,
 * bench_larson, bench_frag) share: a clock, a small PRNG, the resident set
 * read from /proc, the way results are printed, and a check that fails
 * the run on a wrong result.
 *
 * The workloads call plain malloc/free and nothing of libkmm, so that one
 * binary runs under every allocator (LD_PRELOAD, kmm-run).  They call
 * malloc and free through volatile pointers: the compiler may not elide a
 * malloc/free pair whose memory it can see is dead.
 *
 * Output: one "name=value" per line on stdout, read by bench/run-bench.sh.
 * Exit status: 0, 2 on a usage error, 3 when memory did not hold what was
 * written to it (a wrong result), 4 when malloc returned NULL.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *(*volatile wl_malloc)(size_t) = malloc;
static void (*volatile wl_free)(void *) = free;

static inline uint64_t wl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: fast, and each thread seeds its own. */
static inline uint64_t wl_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline void *wl_alloc(size_t size)
{
	void *p = wl_malloc(size);
	if (!p) {
		fprintf(stderr, "malloc(%zu) returned NULL\n", size);
		exit(4);
	}
	return p;
}

static inline void wl_fail(const char *what, const void *p)
{
	fprintf(stderr, "wrong result: %s at %p\n", what, p);
	exit(3);
}

/* Resident set now, in KiB (second field of /proc/self/statm). */
static inline long wl_rss_kb(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Peak resident set (VmHWM), in KiB. */
static inline long wl_hwm_kb(void)
{
	char line[256];
	long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static inline long wl_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 0);
	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	return v;
}

#endif
