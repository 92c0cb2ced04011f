/*
 * bench_large - large blocks: a churn of 64 KiB..3 MiB blocks with
 * realloc, and calloc of 5..25 MiB blocks that must read as zero.
 *
 * Usage: bench_large churn|zero [-n COUNT] [-s SEED] [-p STRIDE]
 *   churn     16 slots; each step picks a random slot: an empty one gets
 *             malloc(SIZE); a full one, with probability 1/3 each, free,
 *             realloc(SIZE) or free + malloc(SIZE).  SIZE is uniform in
 *             64 KiB+1 .. 3 MiB.  Every block holds a pattern over its
 *             requested size (a function of the block's tag and the
 *             offset, so that a block moved, mixed with another or shifted
 *             shows) in one 8-byte word every STRIDE bytes (-p, default
 *             4096: one store per page, as a program that uses the block
 *             does, without the benchmark's own memory traffic drowning
 *             the allocator's; -p 8: every byte), checked before the block
 *             is touched again;
 *             after a realloc the old min(old, new) prefix is checked in
 *             the new block, then the new tail is filled.  The blocks
 *             still live at the end are checked and freed outside the
 *             timed loop.  COUNT: steps (default 200000).
 *   zero      COUNT times (default 2000): calloc(1, SIZE), SIZE uniform in
 *             5..25 MiB; every byte checked to be zero; one store per
 *             4 KiB of the block (what a program using it would do, and
 *             what makes the next calloc that reuses the memory zero it
 *             for real); free.  One block live at a time.
 *   -p STRIDE churn's pattern: one word every STRIDE bytes (8: all)
 *   -s SEED   the PRNG's seed (default 0x6c61726765: runs are repeatable)
 *
 * Plain malloc, calloc, realloc and free (through volatile pointers, so
 * that the compiler neither elides a pair nor folds calloc's zeros): the
 * same binary runs under every allocator (LD_PRELOAD, kmm-run).
 *
 * Prints one line on stdout at the end, read by bench/run-large.sh:
 *   churn: steps=N errors=0 seconds=S
 *   zero: allocs=N seconds=S
 * S is the wall time (CLOCK_MONOTONIC) of the loop.
 * Exit status: 0; 1 when a block did not hold what was written to it (or
 * calloc's block was not zero), described on stderr; 2 on a usage error;
 * 4 when an allocation returned NULL.
 */
#include <inttypes.h>
#include <string.h>
#include "workload.h"

#define SLOTS 16
#define CHURN_MIN ((64u << 10) + 1)
#define CHURN_MAX (3u << 20)
#define ZERO_MIN (5u << 20)
#define ZERO_MAX (25u << 20)
#define STORE_STRIDE 4096u
#define PAT_STEP 0x9e3779b97f4a7c15ULL

static void *(*volatile lg_calloc)(size_t, size_t) = calloc;
static void *(*volatile lg_realloc)(void *, size_t) = realloc;

static void *null_exit(const char *what, size_t size)
{
	fprintf(stderr, "%s(%zu) returned NULL\n", what, size);
	exit(4);
}

static size_t rand_size(uint64_t *rng, size_t lo, size_t hi)
{
	return lo + (size_t)(wl_rand(rng) % (hi - lo + 1));
}

/*
 * The pattern: the 8-byte word at offset 8*i is tag + i*PAT_STEP (stored
 * in the machine's byte order); a partial word at either end of a range
 * holds the same bytes as the whole word would.
 */
static unsigned char pat_byte(uint64_t tag, size_t off)
{
	uint64_t w = tag + (uint64_t)(off >> 3) * PAT_STEP;
	unsigned char b[8];
	memcpy(b, &w, 8);
	return b[off & 7];
}

/* -p: the pattern covers one word every `stride` bytes (8: every byte). */
static size_t stride = 4096;

static size_t stride_start(size_t from)
{
	return (from + stride - 1) / stride * stride;
}

static void fill(unsigned char *p, uint64_t tag, size_t from, size_t to)
{
	if (stride > 8) {
		/* From the word that holds `from`: a word cut by an earlier
		 * shrink is whole again (same tag, same value). */
		for (size_t o = from / stride * stride; o + 8 <= to; o += stride) {
			uint64_t w = tag + (uint64_t)(o >> 3) * PAT_STEP;
			memcpy(p + o, &w, 8);
		}
		return;
	}
	size_t o = from;
	for (; o < to && (o & 7); o++)
		p[o] = pat_byte(tag, o);
	uint64_t w = tag + (uint64_t)(o >> 3) * PAT_STEP;
	for (; o + 8 <= to; o += 8, w += PAT_STEP)
		memcpy(p + o, &w, 8);
	for (; o < to; o++)
		p[o] = pat_byte(tag, o);
}

/* The first offset in [from, to) that does not hold the pattern, or to. */
static size_t check(const unsigned char *p, uint64_t tag, size_t from, size_t to)
{
	if (stride > 8) {
		for (size_t o = stride_start(from); o + 8 <= to; o += stride) {
			uint64_t w = tag + (uint64_t)(o >> 3) * PAT_STEP, v;
			memcpy(&v, p + o, 8);
			if (v != w)
				return o;
		}
		return to;
	}
	size_t o = from;
	for (; o < to && (o & 7); o++)
		if (p[o] != pat_byte(tag, o))
			return o;
	uint64_t w = tag + (uint64_t)(o >> 3) * PAT_STEP, v;
	for (; o + 8 <= to; o += 8, w += PAT_STEP) {
		memcpy(&v, p + o, 8);
		if (v != w)
			break;
	}
	for (; o < to; o++)
		if (p[o] != pat_byte(tag, o))
			return o;
	return to;
}

struct slot {
	unsigned char *p;
	size_t size;
	uint64_t tag;
};

static const char *const op_name[] = { "malloc", "free", "realloc", "free+malloc", "end" };

/* Check [from, to) of slot s, and on a mismatch describe it and exit 1. */
static void verify(const struct slot *s, size_t from, size_t to, long step,
		   int slot, int op, const char *when)
{
	size_t bad = check(s->p, s->tag, from, to);
	if (bad == to)
		return;
	size_t nbad = 0, last = bad;
	for (size_t o = bad; o < to; o++)
		if (s->p[o] != pat_byte(s->tag, o)) {
			nbad++;
			last = o;
		}
	fprintf(stderr, "churn: MISMATCH at step %ld, slot %d, %s %s: block %p size %zu "
		"tag 0x%016" PRIx64 ": offset %zu holds 0x%02x, expected 0x%02x; "
		"%zu byte(s) wrong in [%zu, %zu), the last at offset %zu\n",
		step, slot, when, op_name[op], (void *)s->p, s->size, s->tag, bad,
		s->p[bad], pat_byte(s->tag, bad), nbad, from, to, last);
	exit(1);
}

static void churn(long steps, uint64_t *rng)
{
	struct slot slot[SLOTS] = { { NULL, 0, 0 } };

	uint64_t t0 = wl_now_ns();
	for (long k = 0; k < steps; k++) {
		int i = (int)(wl_rand(rng) % SLOTS);
		struct slot *s = &slot[i];
		int op = 0;   /* malloc into an empty slot */
		if (s->p) {
			op = 1 + (int)(wl_rand(rng) % 3);
			verify(s, 0, s->size, k, i, op, "before");
		}
		switch (op) {
		case 1:   /* free */
			wl_free(s->p);
			s->p = NULL;
			s->size = 0;
			break;
		case 2: { /* realloc: the prefix survives, the tail is new */
			size_t size = rand_size(rng, CHURN_MIN, CHURN_MAX);
			unsigned char *q = lg_realloc(s->p, size);
			if (!q)
				null_exit("realloc", size);
			size_t keep = s->size < size ? s->size : size;
			s->p = q;
			s->size = size;
			verify(s, 0, keep, k, i, op, "after");
			fill(s->p, s->tag, keep, size);
			break;
		}
		case 3:   /* free + malloc */
			wl_free(s->p);
			/* fall through */
		case 0:
			s->size = rand_size(rng, CHURN_MIN, CHURN_MAX);
			s->p = wl_malloc(s->size);
			if (!s->p)
				null_exit("malloc", s->size);
			s->tag = wl_rand(rng);
			fill(s->p, s->tag, 0, s->size);
			break;
		}
	}
	uint64_t t1 = wl_now_ns();

	for (int i = 0; i < SLOTS; i++)
		if (slot[i].p) {
			verify(&slot[i], 0, slot[i].size, steps, i, 4, "at the");
			wl_free(slot[i].p);
		}
	printf("churn: steps=%ld errors=0 seconds=%.3f\n", steps, (double)(t1 - t0) / 1e9);
}

/*
 * The first nonzero byte of p[0, size), or size.  Every byte is read, as
 * 8-byte words OR-ed over each 4 KiB without an early exit, a loop of a
 * fixed count that the compiler vectorizes; the bytes are looked at one
 * by one only in a 4 KiB that is not zero.
 */
static size_t first_nonzero(const unsigned char *p, size_t size)
{
	for (size_t o = 0; o < size; o += STORE_STRIDE) {
		size_t end = size - o < STORE_STRIDE ? size : o + STORE_STRIDE;
		uint64_t acc = 0, w;
		if (end - o == STORE_STRIDE) {
			for (size_t j = 0; j < STORE_STRIDE; j += 8) {
				memcpy(&w, p + o + j, 8);
				acc |= w;
			}
		} else {
			for (size_t j = o; j < end; j++)
				acc |= p[j];
		}
		if (acc)
			for (size_t j = o; j < end; j++)
				if (p[j])
					return j;
	}
	return size;
}

static void zero(long allocs, uint64_t *rng)
{
	uint64_t t0 = wl_now_ns();
	for (long k = 0; k < allocs; k++) {
		size_t size = rand_size(rng, ZERO_MIN, ZERO_MAX);
		unsigned char *p = lg_calloc(1, size);
		if (!p)
			null_exit("calloc", size);
		size_t bad = first_nonzero(p, size);
		if (bad != size) {
			size_t nbad = 0;
			for (size_t o = bad; o < size; o++)
				nbad += p[o] != 0;
			fprintf(stderr, "zero: NOT ZERO at alloc %ld: calloc(1, %zu) = %p: "
				"offset %zu holds 0x%02x; %zu nonzero byte(s)\n",
				k, size, (void *)p, bad, p[bad], nbad);
			exit(1);
		}
		/* One store per 4 KiB, at an offset into each that varies by block. */
		size_t off = (size_t)(wl_rand(rng) % STORE_STRIDE);
		unsigned char v = (unsigned char)(k | 1);
		for (size_t o = off; o < size; o += STORE_STRIDE)
			p[o] = v;
		wl_free(p);
	}
	uint64_t t1 = wl_now_ns();
	printf("zero: allocs=%ld seconds=%.3f\n", allocs, (double)(t1 - t0) / 1e9);
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_large churn|zero [-n COUNT] [-s SEED] [-p STRIDE]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *mode = NULL;
	long n = -1;
	uint64_t seed = 0x6c61726765ULL;   /* "large" */
	int opt;

	if (argc > 1 && argv[1][0] != '-') {
		mode = argv[1];
		optind = 2;
	}
	while ((opt = getopt(argc, argv, "n:s:p:")) != -1) {
		switch (opt) {
		case 'n': n = wl_arg(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'p':
			stride = wl_arg(optarg);
			if (stride < 8 || stride % 8)
				stride = 8;
			break;
		default: return usage();
		}
	}
	if (!mode && optind < argc)
		mode = argv[optind++];
	if (!mode || optind != argc)
		return usage();

	/* splitmix64 of the seed: any seed, 0 too, gives a good xorshift state. */
	uint64_t rng = seed + 0x9e3779b97f4a7c15ULL;
	rng = (rng ^ (rng >> 30)) * 0xbf58476d1ce4e5b9ULL;
	rng = (rng ^ (rng >> 27)) * 0x94d049bb133111ebULL;
	rng ^= rng >> 31;
	if (!rng)
		rng = 1;

	if (strcmp(mode, "churn") == 0)
		churn(n < 0 ? 200000 : n, &rng);
	else if (strcmp(mode, "zero") == 0)
		zero(n < 0 ? 2000 : n, &rng);
	else
		return usage();
	return 0;
}
