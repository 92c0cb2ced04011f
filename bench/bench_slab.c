/*
 * bench_slab - allocation+free pairs: kmalloc/kfree, kmem_cache_alloc/free
 * (libkmm.so) and jemalloc's malloc/free, all in the same loop.  This file
 * builds twice: bench_slab (libkmm) and bench_slab_je (-DBENCH_JEMALLOC,
 * linked with -ljemalloc, whose malloc/free then replace glibc's; jemalloc
 * cannot be dlopen()ed, it needs initial-exec TLS).
 *
 * Usage: bench_slab kmalloc|cache SIZE THREADS PAIRS
 *        bench_slab_je jemalloc SIZE THREADS PAIRS
 * Each thread keeps a ring of 16 live objects and replaces one per pair.
 * With 2+ threads every third freed object is first swapped with a slot of
 * a shared exchange, so about a third of the frees are of objects another
 * thread (on another CPU) allocated.  BENCH_KMM_CONF adds boot settings
 * (e.g. slab_rseq=2 for instruction counts under valgrind).
 * Prints "mode=M size=S threads=T pairs=P ns_per_pair=X mpairs_per_s=Y".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <kmm/kmm.h>

enum mode { M_KMALLOC, M_CACHE, M_JEMALLOC };
static enum mode mode;
static size_t size;
static long pairs;
static int threads;
static struct kmem_cache *cache;
#ifdef BENCH_JEMALLOC
#define je_malloc malloc
#define je_free free
#else
/* Not linked with jemalloc: the jemalloc mode is not available. */
#define je_malloc(n) ((void)(n), (void *)NULL)
#define je_free(p) ((void)(p))
#endif

#define XSLOTS 64
static void *volatile xchg[XSLOTS];

static inline void *alloc_one(void)
{
	switch (mode) {
	case M_KMALLOC: return kmalloc(size, GFP_KERNEL);
	case M_CACHE: return kmem_cache_alloc(cache, GFP_KERNEL);
	default: return je_malloc(size);
	}
}

static inline void free_one(void *p)
{
	switch (mode) {
	case M_KMALLOC: kfree(p); break;
	case M_CACHE: kmem_cache_free(cache, p); break;
	default: je_free(p); break;
	}
}

static void *worker(void *arg)
{
	void *ring[16];
	unsigned long id = (unsigned long)arg;
	for (int i = 0; i < 16; i++)
		ring[i] = alloc_one();
	for (long i = 0; i < pairs; i++) {
		int slot = (int)(i & 15);
		void *p = ring[slot];
		if (threads > 1 && i % 3 == 0)
			p = __atomic_exchange_n(&xchg[(i / 3 + id) % XSLOTS], p, __ATOMIC_ACQ_REL);
		if (p)
			free_one(p);
		ring[slot] = alloc_one();
	}
	for (int i = 0; i < 16; i++)
		free_one(ring[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s kmalloc|cache|jemalloc SIZE THREADS PAIRS\n", argv[0]);
		return 2;
	}
	mode = !strcmp(argv[1], "kmalloc") ? M_KMALLOC : !strcmp(argv[1], "cache") ? M_CACHE :
	       M_JEMALLOC;
	size = strtoul(argv[2], NULL, 10);
	threads = atoi(argv[3]);
	pairs = atol(argv[4]);
	if (mode == M_JEMALLOC) {
#ifndef BENCH_JEMALLOC
		fprintf(stderr, "bench_slab: jemalloc mode is bench_slab_je\n");
		return 77;
#endif
	} else {
		char conf[256];
		const char *extra = getenv("BENCH_KMM_CONF");
		snprintf(conf, sizeof(conf), "mem=2G %s", extra ? extra : "");
		if (kmm_init(conf) != 0)
			return 1;
		if (mode == M_CACHE)
			cache = kmem_cache_create("bench", (unsigned int)size, 0, 0, NULL);
	}
	pthread_t th[64];
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (threads == 1) {
		worker((void *)0);
	} else {
		for (int t = 0; t < threads && t < 64; t++)
			pthread_create(&th[t], NULL, worker, (void *)(unsigned long)t);
		for (int t = 0; t < threads && t < 64; t++)
			pthread_join(th[t], NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	for (int i = 0; i < XSLOTS; i++)
		if (xchg[i])
			free_one(xchg[i]);
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	printf("mode=%s size=%zu threads=%d pairs=%ld ns_per_pair=%.2f mpairs_per_s=%.2f\n",
	       argv[1], size, threads, pairs, ns / (double)pairs / threads,
	       (double)pairs * threads / ns * 1e3);
	if (mode != M_JEMALLOC && kmm_check() != 0)
		return 1;
	return 0;
}
