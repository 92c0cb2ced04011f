/*
 * bench_page_alloc - alloc_pages/__free_pages pairs per second.
 *
 * Usage: bench_page_alloc ORDER THREADS PAIRS [KMM_CONF]
 * Each thread keeps a small working set (16 blocks) and replaces one block
 * per pair, so order 0 runs on the per-CPU stacks, orders 1..3 on the
 * per-CPU lists and larger ones on the buddy allocator.  One thread is the
 * main thread, the one that booted the library (slab_rseq=2 counts the
 * rseq fast path's instructions under valgrind in that thread only).
 * Prints "order=N threads=T pairs=P ns_per_pair=X".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <kmm/kmm.h>

static unsigned int order;
static long pairs;

static void *worker(void *arg)
{
	struct page *ring[16] = { 0 };
	(void)arg;
	for (int i = 0; i < 16; i++)
		ring[i] = alloc_pages(GFP_KERNEL, order);
	for (long i = 0; i < pairs; i++) {
		int slot = (int)(i & 15);
		__free_pages(ring[slot], order);
		ring[slot] = alloc_pages(GFP_KERNEL, order);
	}
	for (int i = 0; i < 16; i++)
		__free_pages(ring[i], order);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s ORDER THREADS PAIRS [KMM_CONF]\n", argv[0]);
		return 2;
	}
	order = (unsigned int)atoi(argv[1]);
	int threads = atoi(argv[2]);
	pairs = atol(argv[3]);
	if (kmm_init(argc == 5 ? argv[4] : "mem=2G") != 0)
		return 1;
	pthread_t th[64];
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (threads == 1)
		worker(NULL);
	for (int t = 0; t < threads && t < 64 && threads > 1; t++)
		pthread_create(&th[t], NULL, worker, NULL);
	for (int t = 0; t < threads && t < 64 && threads > 1; t++)
		pthread_join(th[t], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	printf("order=%u threads=%d pairs=%ld ns_per_pair=%.1f mpairs_per_s=%.2f\n",
	       order, threads, pairs, ns / (double)pairs,
	       (double)pairs * threads / ns * 1e3);
	return kmm_check() == 0 ? 0 : 1;
}
