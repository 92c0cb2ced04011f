/*
 * largestress.c - pattern-checked stress of the large-block path (vmalloc,
 * above malloc.slab_max) and of the slab/vmalloc boundary, for LD_PRELOAD
 * use (tests/shim/large.sh runs it under kmm-run and under plain glibc).
 *
 * Every thread keeps SLOTS blocks, mostly 64 KiB+1 .. 8 MiB and a quarter
 * 1 .. 64 KiB, and takes random steps on them with every entry point:
 * malloc, calloc (zeroes checked), realloc and reallocarray (grow, shrink,
 * across the boundary both ways, around the usable size), posix_memalign,
 * aligned_alloc and memalign (alignments 16 .. 1 MiB, checked), free.
 * A block is filled over its whole malloc_usable_size() -- what a program
 * may use -- with a pattern derived from its seed and the offset, and
 * verified in full before every operation on it and at the end; realloc
 * must keep every byte up to min(old usable size, new size), and
 * malloc_usable_size() must not change while a block is live.
 *
 *   largestress [-t THREADS] [-n STEPS] [-s SEED] [-f K] [-m MAXSIZE] [-u]
 *     -t  threads, the main thread included (default 2)
 *     -n  steps per thread (default 1000)
 *     -s  seed (default 1)
 *     -f  the main thread forks every K of its steps while the others go
 *         on; the child verifies the main thread's blocks, churns them for
 *         a few steps, verifies again and exits 0 or 1 (default: no fork)
 *     -m  largest block (default 8M; k and M suffixes)
 *     -u  use after free: free large blocks (256 KiB, 1 MiB, 4 MiB...),
 *         write addresses of live blocks over the whole freed block, as an
 *         attacker would, and go on allocating: every live block must stay
 *         intact and nothing may crash.  One thread; -n is the number of
 *         rounds (default 20).  Only under libkmm-malloc (glibc unmaps a freed mmapped
 *         chunk: the write would fault); exits 77 otherwise.
 *
 * A mismatch prints the block, the offset, the expected and the actual
 * byte (and how many bytes differ, where), and the program exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the program does on purpose (-u); -fno-builtin (Makefile.am) keeps
 * gcc from folding the allocation calls. */
#pragma GCC diagnostic ignored "-Wuse-after-free"
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define SLOTS 16
#define PAGE 4096UL
#define BOUNDARY (64UL << 10)          /* malloc.slab_max's default */
#define SLAB_MAX_MAX (128UL << 10)     /* and its largest setting */
#define CHILD_STEPS 24

typedef uint64_t __attribute__((may_alias)) word_t;

struct blk {
	unsigned char *p;
	size_t req;                    /* requested size */
	size_t usable;                 /* malloc_usable_size() when filled */
	size_t align;
	uint32_t seed;
	const char *how;               /* the call that made it */
};

struct thr {
	int id;
	uint64_t rng;
	long steps;
	struct blk slot[SLOTS];
	uint64_t filled, verified;     /* bytes */
	unsigned long ops[8];
	pthread_t tid;
	int in_child;
};

static size_t max_size = 8UL << 20;
static long nsteps = 1000;
static long fork_every;
static int nthreads = 2;

static uint64_t rnd(struct thr *t)
{
	/* xorshift64* */
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545F4914F6CDD1DULL;
}

static uint64_t rnd_below(struct thr *t, uint64_t n)
{
	return (rnd(t) >> 11) % n;
}

/*
 * The pattern: byte at offset off of a block of seed s is
 *   (uint8)(s + off * 7) ^ key(s, off / 4096)
 * where key() hashes the page number with the seed, so that a page moved
 * to another offset, or a block's stale bytes left to another block, do
 * not pass.  The first term repeats every 256 bytes: a page is 16 rows.
 */
static unsigned char page_key(uint32_t seed, size_t pg)
{
	return (unsigned char)(((uint32_t)pg + seed * 0x2c1b3c6dU) * 0x9E3779B1U >> 24);
}

static unsigned char pat(uint32_t seed, size_t off)
{
	return (unsigned char)((seed + off * 7) ^ page_key(seed, off / PAGE));
}

/* One 256-byte row of the first term, as words. */
static void make_row(uint32_t seed, uint64_t row[32])
{
	unsigned char b[256];
	for (unsigned int i = 0; i < 256; i++)
		b[i] = (unsigned char)(seed + i * 7);
	memcpy(row, b, sizeof(b));
}

static void fill(struct thr *t, unsigned char *p, uint32_t seed, size_t from, size_t to)
{
	uint64_t row[32];
	size_t off = from;
	if (from >= to)
		return;
	make_row(seed, row);
	t->filled += to - from;
	while (off < to && (off & 255))
		p[off] = pat(seed, off), off++;
	while (off + 256 <= to) {
		uint64_t k = page_key(seed, off / PAGE) * 0x0101010101010101ULL;
		size_t end = (off | (PAGE - 1)) + 1;
		if (end > to)
			end = to & ~255UL;
		word_t *w = (word_t *)(void *)(p + off);
		for (size_t i = 0; i < (end - off) / 8; i++)
			w[i] = row[i & 31] ^ k;
		off = end;
	}
	while (off < to)
		p[off] = pat(seed, off), off++;
}

static void report(const struct thr *t, const struct blk *b, const char *when,
		   const unsigned char *p, uint32_t seed, size_t from, size_t to, size_t bad)
{
	size_t last = bad, count = 0;
	for (size_t off = bad; off < to; off++)
		if (p[off] != pat(seed, off)) {
			count++;
			last = off;
		}
	fprintf(stderr, "largestress: %sthread %d slot %d: block %p (%s, size %zu, usable %zu, "
		"align %zu, seed %#x) %s: offset %zu: expected %#04x, got %#04x "
		"(%zu bytes differ in %zu..%zu of the checked %zu..%zu)\n",
		t->in_child ? "fork child: " : "", t->id, (int)(b - t->slot), (void *)p, b->how,
		b->req, b->usable, b->align, seed, when, bad, pat(seed, bad), p[bad],
		count, bad, last, from, to);
	_exit(1);
}

static void verify_range(struct thr *t, const struct blk *b, const char *when,
			 const unsigned char *p, uint32_t seed, size_t from, size_t to)
{
	uint64_t row[32];
	size_t off = from;
	if (from >= to)
		return;
	make_row(seed, row);
	t->verified += to - from;
	while (off < to && (off & 255)) {
		if (p[off] != pat(seed, off))
			report(t, b, when, p, seed, from, to, off);
		off++;
	}
	while (off + 256 <= to) {
		uint64_t k = page_key(seed, off / PAGE) * 0x0101010101010101ULL, diff = 0;
		size_t end = (off | (PAGE - 1)) + 1;
		if (end > to)
			end = to & ~255UL;
		const word_t *w = (const word_t *)(const void *)(p + off);
		for (size_t i = 0; i < (end - off) / 8; i++)
			diff |= w[i] ^ row[i & 31] ^ k;
		if (diff)
			for (size_t o = off; o < end; o++)
				if (p[o] != pat(seed, o))
					report(t, b, when, p, seed, from, to, o);
		off = end;
	}
	for (; off < to; off++)
		if (p[off] != pat(seed, off))
			report(t, b, when, p, seed, from, to, off);
}

static void fail(const struct thr *t, const struct blk *b, const char *fmt, size_t a, size_t c)
{
	fprintf(stderr, "largestress: %sthread %d slot %d: block %p (%s, size %zu, usable %zu): ",
		t->in_child ? "fork child: " : "", t->id, (int)(b - t->slot), (void *)b->p,
		b->how, b->req, b->usable);
	fprintf(stderr, fmt, a, c);
	fputc('\n', stderr);
	_exit(1);
}

static void verify(struct thr *t, const struct blk *b, const char *when)
{
	if (!b->p)
		return;
	size_t u = malloc_usable_size(b->p);
	if (u != b->usable)
		fail(t, b, "malloc_usable_size() changed from %zu to %zu", b->usable, u);
	verify_range(t, b, when, b->p, b->seed, 0, b->usable);
}

/* Log-uniform: a quarter 1 .. 64 KiB, the rest 64 KiB+1 .. max_size, now
 * and then exactly on or one byte around a page multiple. */
static size_t rand_size(struct thr *t)
{
	size_t n;
	if (rnd_below(t, 4) == 0 || max_size <= BOUNDARY) {
		unsigned int e = (unsigned int)rnd_below(t, 16);
		n = ((size_t)1 << e) + rnd_below(t, (uint64_t)1 << e);
		if (n > BOUNDARY)
			n = BOUNDARY;
	} else {
		unsigned int lg = 63u - (unsigned int)__builtin_clzl(max_size), e;
		e = 16 + (unsigned int)rnd_below(t, lg > 16 ? lg - 16 : 1);
		n = ((size_t)1 << e) + 1 + rnd_below(t, (uint64_t)1 << e);
	}
	switch (rnd_below(t, 8)) {
	case 0:
		n = (n + PAGE - 1) & ~(PAGE - 1);
		break;
	case 1:
		n = ((n + PAGE - 1) & ~(PAGE - 1)) + 1;
		break;
	case 2:
		n = ((n + PAGE - 1) & ~(PAGE - 1)) - 1;
		break;
	}
	if (n > max_size)
		n = max_size;
	return n ? n : 1;
}

static uint32_t new_seed(struct thr *t)
{
	return (uint32_t)(rnd(t) >> 32);
}

/* The block was just made with the request n: check and fill it. */
static void got(struct thr *t, struct blk *b, void *p, size_t n, size_t align, const char *how)
{
	b->p = p;
	b->req = n;
	b->align = align;
	b->how = how;
	b->usable = 0;
	if (!p)
		fail(t, b, "allocation of %zu failed (errno %zu)", n, (size_t)errno);
	if ((uintptr_t)p & (align - 1))
		fail(t, b, "not aligned to %zu (offset %zu)", align, (uintptr_t)p & (align - 1));
	b->usable = malloc_usable_size(p);
	if (b->usable < n)
		fail(t, b, "usable size %zu below the request %zu", b->usable, n);
	b->seed = new_seed(t);
	fill(t, b->p, b->seed, 0, b->usable);
}

static void alloc_new(struct thr *t, struct blk *b)
{
	size_t n = rand_size(t), align = 16;
	void *p = NULL;
	int r = (int)rnd_below(t, 10);
	t->ops[0]++;
	switch (r) {
	case 0: case 1: case 2:
		got(t, b, malloc(n), n, 16, "malloc");
		return;
	case 3: case 4: {
		/* calloc: the request must read as zeroes (a reused block too). */
		size_t m = (size_t)1 << rnd_below(t, 5), cnt = (n + m - 1) / m;
		unsigned char *q = calloc(cnt, m);
		b->p = q;
		b->req = cnt * m;
		b->usable = q ? malloc_usable_size(q) : 0;
		b->how = "calloc";
		b->align = 16;
		if (!q)
			fail(t, b, "calloc(%zu, %zu) failed", cnt, m);
		for (size_t off = 0; off < cnt * m; off++)
			if (q[off]) {
				fprintf(stderr, "largestress: thread %d slot %d: calloc(%zu, %zu) "
					"= %p: offset %zu: expected 0x00, got %#04x\n", t->id,
					(int)(b - t->slot), cnt, m, (void *)q, off, q[off]);
				_exit(1);
			}
		t->verified += cnt * m;
		got(t, b, q, cnt * m, 16, "calloc");
		return;
	}
	case 5:
		got(t, b, realloc(NULL, n), n, 16, "realloc(NULL)");
		return;
	default:
		break;
	}
	align = (size_t)16 << rnd_below(t, 17);     /* 16 .. 1 MiB */
	switch (r) {
	case 6: case 7: {
		int e = posix_memalign(&p, align, n);
		if (e) {
			b->p = NULL;
			b->how = "posix_memalign";
			fail(t, b, "posix_memalign(%zu, %zu) failed", align, n);
		}
		got(t, b, p, n, align, "posix_memalign");
		return;
	}
	case 8:
		/* C11: the size a multiple of the alignment. */
		n = (n + align - 1) & ~(align - 1);
		if (n > max_size)
			n = align;
		got(t, b, aligned_alloc(align, n), n, align, "aligned_alloc");
		return;
	default:
		got(t, b, memalign(align, n), n, align, "memalign");
		return;
	}
}

/* realloc or reallocarray to n; everything up to min(old usable, n) must
 * survive; the new usable size is filled on with the same seed. */
static void resize(struct thr *t, struct blk *b, size_t n, int array)
{
	size_t old = b->usable, keep = old < n ? old : n;
	unsigned char *q;
	const char *how;
	if (array) {
		size_t m = (size_t)1 << rnd_below(t, 4), cnt = (n + m - 1) / m;
		n = cnt * m;
		keep = old < n ? old : n;
		q = reallocarray(b->p, cnt, m);
		how = "reallocarray";
	} else {
		q = realloc(b->p, n);
		how = "realloc";
	}
	t->ops[array ? 3 : 2]++;
	if (!q)
		fail(t, b, "realloc to %zu failed (errno %zu)", n, (size_t)errno);
	struct blk nb = *b;
	nb.p = q;
	nb.req = n;
	nb.how = how;
	nb.align = 16;
	nb.usable = malloc_usable_size(q);
	if (nb.usable < n)
		fail(t, &nb, "usable size %zu below the request %zu", nb.usable, n);
	char when[96];
	snprintf(when, sizeof(when), "after %s %p %zu (usable %zu) -> %zu", how,
		 (void *)b->p, b->req, old, n);
	nb.how = array ? "reallocarray" : "realloc";
	*b = nb;
	verify_range(t, b, when, q, b->seed, 0, keep);
	fill(t, q, b->seed, keep, b->usable);
}

/* A new size for a realloc of b: random, or around its usable size. */
static size_t resize_target(struct thr *t, const struct blk *b)
{
	switch (rnd_below(t, 8)) {
	case 0:
		return b->usable + 1;
	case 1:
		return b->usable > 1 ? b->usable - 1 : 1;
	case 2:
		return b->usable;
	case 3:
		return b->req / 2 ? b->req / 2 : 1;
	case 4:
		return b->req * 2 <= max_size ? b->req * 2 : max_size;
	default:
		return rand_size(t);
	}
}

static void step(struct thr *t, struct blk *b)
{
	if (!b->p) {
		alloc_new(t, b);
		return;
	}
	verify(t, b, "before the next operation");
	switch (rnd_below(t, 10)) {
	case 0: case 1:
		free(b->p);
		b->p = NULL;
		t->ops[1]++;
		return;
	case 2:
		free(b->p);
		b->p = NULL;
		t->ops[1]++;
		alloc_new(t, b);
		return;
	case 3:
		resize(t, b, resize_target(t, b), 1);
		return;
	default:
		resize(t, b, resize_target(t, b), 0);
		return;
	}
}

static void verify_all(struct thr *t, const char *when)
{
	for (int i = 0; i < SLOTS; i++)
		verify(t, &t->slot[i], when);
}

static void free_all(struct thr *t)
{
	for (int i = 0; i < SLOTS; i++) {
		free(t->slot[i].p);
		t->slot[i].p = NULL;
	}
}

/* In the child of a fork: only the forking thread exists; its blocks are
 * whole.  Verify them, churn them, verify, free. */
static int child(struct thr *t)
{
	t->in_child = 1;
	t->rng ^= (uint64_t)getpid() << 17;
	verify_all(t, "in the fork child");
	for (int i = 0; i < CHILD_STEPS; i++)
		step(t, &t->slot[rnd_below(t, SLOTS)]);
	verify_all(t, "at the end of the fork child");
	free_all(t);
	return 0;
}

static void *run(void *arg)
{
	struct thr *t = arg;
	for (long i = 0; i < t->steps; i++) {
		step(t, &t->slot[rnd_below(t, SLOTS)]);
		if (t->id == 0 && fork_every && (i + 1) % fork_every == 0) {
			fflush(NULL);
			pid_t pid = fork();
			if (pid < 0) {
				perror("largestress: fork");
				_exit(1);
			}
			if (pid == 0)
				_exit(child(t));
			int st;
			if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
				fprintf(stderr, "largestress: fork child after step %ld failed "
					"(status %#x)\n", i, st);
				_exit(1);
			}
			t->ops[4]++;
		}
	}
	verify_all(t, "at the end");
	free_all(t);
	return NULL;
}

/* ------------------------------------------------------------ -u mode */

/* Over the whole freed block, by mode: 0, addresses inside the live
 * blocks (what a list pointer would hold: an allocator that follows one
 * writes into a live block); 1, the block's own addresses; 2, a mix of
 * both and of small integers (sizes, counts). */
static void attack(struct thr *t, void *freed, size_t len, int mode)
{
	word_t *w = freed;
	int live[SLOTS], nlive = 0;
	for (int i = 0; i < SLOTS; i++)
		if (t->slot[i].p && t->slot[i].usable >= 64)
			live[nlive++] = i;
	for (size_t i = 0; i < len / 8; i++) {
		const struct blk *v = nlive ? &t->slot[live[i % (size_t)nlive]] : NULL;
		int what = mode == 2 ? (int)(i % 4) : mode == 0 ? 0 : 2;
		switch (what) {
		case 0: case 1:
			w[i] = v ? (uintptr_t)v->p + ((i * 8) % (v->usable - 8) & ~(size_t)7)
				 : (uintptr_t)freed;
			break;
		case 2:
			w[i] = (uintptr_t)freed + ((i * 24) % len & ~(size_t)7);
			break;
		default:
			w[i] = i;
			break;
		}
	}
}

static void *large_at(struct thr *t, size_t n, int how, size_t *usable)
{
	void *p = NULL;
	switch (how) {
	case 0:
		p = malloc(n);
		break;
	case 1:
		p = calloc(1, n);
		break;
	default:
		if (posix_memalign(&p, (size_t)PAGE << rnd_below(t, 9), n))
			p = NULL;
		break;
	}
	if (!p) {
		fprintf(stderr, "largestress: -u: allocation of %zu failed\n", n);
		_exit(1);
	}
	*usable = malloc_usable_size(p);
	memset(p, 0x5a, *usable);
	return p;
}

static int uaf(struct thr *t, long rounds)
{
	static const size_t sizes[] = { 256UL << 10, 1UL << 20, 4UL << 20 };
	const char *pre = getenv("LD_PRELOAD");
	if (!pre || !strstr(pre, "libkmm-malloc")) {
		printf("SKIP: largestress -u needs libkmm-malloc.so (kmm-run): under "
		       "glibc a freed mmapped chunk is unmapped\n");
		return 77;
	}
	/* Live blocks first, some of the same sizes. */
	for (int i = 0; i < SLOTS / 2; i++) {
		struct blk *b = &t->slot[i];
		size_t n = i < 3 ? sizes[i] : rand_size(t);
		got(t, b, malloc(n), n, 16, "malloc");
	}
	for (long r = 0; r < rounds; r++) {
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			size_t u, n = sizes[k] + (r & 1 ? PAGE / 2 : 0);
			void *p = large_at(t, n, (int)((r + (long)k) % 3), &u);
			free(p);
			attack(t, p, u, (int)(r % 3));
			t->ops[5]++;
			verify_all(t, "after a write into a freed block");
			/* realloc that moves frees the old block: write there too. */
			struct blk *b = &t->slot[rnd_below(t, SLOTS / 2)];
			void *old = b->p;
			size_t oldu = b->usable;
			if (!old) {
				alloc_new(t, b);    /* freed by the churn */
			} else {
				resize(t, b, oldu * 2 + PAGE <= max_size ? oldu * 2 + PAGE
					   : sizes[k], 0);
				/* Large blocks only: a freed slab object holds the
				 * slab's free pointer, which hardening checks. */
				if (b->p != old && oldu > SLAB_MAX_MAX) {
					attack(t, old, oldu, (int)((r + 1) % 3));
					t->ops[5]++;
				}
			}
			/* Churn: large and small, every entry point. */
			for (int i = 0; i < 8; i++)
				step(t, &t->slot[rnd_below(t, SLOTS)]);
			verify_all(t, "after churn following a write into a freed block");
		}
	}
	verify_all(t, "at the end");
	free_all(t);
	printf("largestress -u: %ld rounds, %lu writes into freed blocks, live blocks "
	       "intact: ok\n", rounds, t->ops[5]);
	return 0;
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || v == 0) {
		fprintf(stderr, "largestress: bad size '%s'\n", s);
		exit(2);
	}
	return (size_t)v;
}

int main(int argc, char **argv)
{
	unsigned long seed = 1;
	int c, use_after_free = 0, steps_given = 0;
	while ((c = getopt(argc, argv, "t:n:s:f:m:u")) != -1) {
		switch (c) {
		case 't':
			nthreads = atoi(optarg);
			break;
		case 'n':
			nsteps = atol(optarg);
			steps_given = 1;
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			fork_every = atol(optarg);
			break;
		case 'm':
			max_size = parse_size(optarg);
			break;
		case 'u':
			use_after_free = 1;
			break;
		default:
			fprintf(stderr, "usage: largestress [-t THREADS] [-n STEPS] [-s SEED] "
				"[-f K] [-m MAXSIZE] [-u]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 64 || nsteps < 0 || fork_every < 0) {
		fprintf(stderr, "largestress: bad arguments\n");
		return 2;
	}
	struct thr *t = calloc((size_t)nthreads, sizeof(*t));
	if (!t)
		return 1;
	for (int i = 0; i < nthreads; i++) {
		t[i].id = i;
		t[i].steps = nsteps;
		t[i].rng = (seed + 1) * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 0xBF58476D1CE4E5B9ULL;
		for (int k = 0; k < 4; k++)
			rnd(&t[i]);
	}
	if (use_after_free)
		return uaf(&t[0], steps_given ? nsteps : 20);
	for (int i = 1; i < nthreads; i++)
		if (pthread_create(&t[i].tid, NULL, run, &t[i])) {
			perror("largestress: pthread_create");
			return 1;
		}
	run(&t[0]);
	uint64_t filled = t[0].filled, verified = t[0].verified;
	unsigned long forks = t[0].ops[4], ops = 0;
	for (int i = 1; i < nthreads; i++) {
		pthread_join(t[i].tid, NULL);
		filled += t[i].filled;
		verified += t[i].verified;
	}
	for (int i = 0; i < nthreads; i++)
		for (int k = 0; k < 4; k++)
			ops += t[i].ops[k];
	printf("largestress: %d threads x %ld steps (seed %lu, max %zu), %lu allocations "
	       "and resizes, %lu forks, %" PRIu64 " MiB filled, %" PRIu64 " MiB verified: ok\n",
	       nthreads, nsteps, seed, max_size, ops, forks, filled >> 20, verified >> 20);
	free(t);
	return 0;
}
