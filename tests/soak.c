/*
 * soak - a bounded soak test of the whole allocator.
 *
 * Usage: soak SECONDS THREADS [SETTINGS]
 * THREADS threads run a random mix of every allocation API (pages of all
 * orders and zones, kmem_cache objects of several caches, kmalloc of all
 * sizes up to kmalloc_large, vmalloc, kvmalloc, vrealloc, krealloc), each
 * block tagged and checked before it is freed, a third of the frees done
 * by another thread than the one that allocated.  Every second one thread
 * stops the world (the others wait at a barrier) and runs kmm_check(), and
 * the process RSS is checked against a ceiling.  At the end everything is
 * freed, caches destroyed, lists drained: nr_free_pages() must be back to
 * where it started - counting the frames the allocator keeps for itself
 * (vmalloc page tables and descriptors) - with kmm_check() clean.  Prints
 * its figures.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "config.h"
#include "../lib/internal.h"
#include "../lib/slab.h"
#include "../lib/vmap.h"

#define SLOTS 4096
#define CEILING_KB (3L << 20)        /* 3 GiB of RSS: far above the working set */

enum kind { EMPTY, PAGES, CACHE, KMALLOC, VMALLOC, KVMALLOC };

struct block {
	atomic_int lock;             /* slots are shared between threads */
	enum kind kind;
	void *ptr;
	size_t size;
	unsigned int order;
	int cache;
	unsigned char tag;
};

static struct block blocks[SLOTS];
static struct kmem_cache *caches[4];
static const unsigned int cache_sizes[4] = { 24, 200, 1000, 3000 };
static atomic_long ops, frees_remote, failures, checks;
static atomic_int stop, pause_req, paused;
static int nthreads;
static double seconds;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	long a = 0, r = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &a, &r) != 2)
			r = 0;
		fclose(f);
	}
	return r * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned char *bytes(struct block *b)
{
	return b->kind == PAGES ? page_address(b->ptr) : b->ptr;
}

static void check_tag(struct block *b)
{
	unsigned char *p = bytes(b);
	if (p[0] != b->tag || p[b->size - 1] != b->tag || p[b->size / 2] != b->tag) {
		fprintf(stderr, "soak: block %p (kind %d size %zu) corrupted\n", b->ptr,
			b->kind, b->size);
		abort();
	}
}

static void release(struct block *b)
{
	check_tag(b);
	switch (b->kind) {
	case PAGES: __free_pages(b->ptr, b->order); break;
	case CACHE: kmem_cache_free(caches[b->cache], b->ptr); break;
	case KMALLOC: kfree(b->ptr); break;
	case VMALLOC: vfree(b->ptr); break;
	case KVMALLOC: kvfree(b->ptr); break;
	case EMPTY: break;
	}
	b->kind = EMPTY;
}

static void fill(struct block *b, enum kind kind, void *ptr, size_t size, unsigned char tag)
{
	b->kind = kind;
	b->ptr = ptr;
	b->size = size;
	b->tag = tag;
	unsigned char *p = bytes(b);
	p[0] = p[size - 1] = p[size / 2] = tag;
}

static void one_op(uint64_t *rng, int self)
{
	uint64_t r = rnd(rng);
	/* Mostly slots of our own stripe; a third of the time another's. */
	int stripe = (r % 3 == 0) ? (int)((r >> 40) % (uint64_t)nthreads) : self;
	int idx = stripe * (SLOTS / nthreads) + (int)((r >> 8) % (SLOTS / nthreads));
	struct block *b = &blocks[idx];
	int expect = 0;
	if (!atomic_compare_exchange_strong(&b->lock, &expect, 1))
		return;
	if (b->kind != EMPTY) {
		if (stripe != self)
			atomic_fetch_add(&frees_remote, 1);
		release(b);
	} else {
		unsigned int what = (unsigned int)(r >> 20) % 100;
		unsigned char tag = (unsigned char)(r >> 50) | 1;
		void *p = NULL;
		if (what < 10) {
			unsigned int order = (unsigned int)(r >> 30) % 6;
			gfp_t gfp = (r >> 36) & 1 ? GFP_KERNEL : GFP_DMA32;
			struct page *pg = alloc_pages(gfp | __GFP_NOWARN, order);
			if (pg) {
				b->order = order;
				fill(b, PAGES, pg, PAGE_SIZE << order, tag);
			}
		} else if (what < 40) {
			int c = (int)((r >> 30) % 4);
			p = kmem_cache_alloc(caches[c], GFP_KERNEL);
			if (p) {
				b->cache = c;
				fill(b, CACHE, p, cache_sizes[c], tag);
			}
		} else if (what < 85) {
			size_t size = 1 + (size_t)((r >> 30) % ((r >> 62) ? 512 : 20000));
			p = kmalloc(size, GFP_KERNEL | __GFP_NOWARN);
			if (p && (r >> 29) % 8 == 0) {
				size_t bigger = size * 2 + 1;
				void *q = krealloc(p, bigger, GFP_KERNEL | __GFP_NOWARN);
				if (q) {
					p = q;
					size = bigger;
				}
			}
			if (p)
				fill(b, KMALLOC, p, size, tag);
		} else if (what < 95) {
			size_t size = 1 + (size_t)((r >> 30) % (1 << 20));
			p = vmalloc(size);
			if (p)
				fill(b, VMALLOC, p, size, tag);
		} else {
			size_t size = 1 + (size_t)((r >> 30) % (64 << 10));
			p = kvmalloc(size, GFP_KERNEL);
			if (p)
				fill(b, KVMALLOC, p, size, tag);
		}
		if (b->kind == EMPTY)
			atomic_fetch_add(&failures, 1);
	}
	atomic_store(&b->lock, 0);
	atomic_fetch_add(&ops, 1);
}

static void *worker(void *arg)
{
	int self = (int)(long)arg;
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(self + 1);
	while (!atomic_load(&stop)) {
		if (atomic_load(&pause_req)) {
			atomic_fetch_add(&paused, 1);
			while (atomic_load(&pause_req))
				usleep(100);
			atomic_fetch_sub(&paused, 1);
		}
		for (int i = 0; i < 256; i++)
			one_op(&rng, self);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s SECONDS THREADS [SETTINGS]\n", argv[0]);
		return 2;
	}
	seconds = atof(argv[1]);
	nthreads = atoi(argv[2]);
	if (nthreads < 1 || nthreads > 64)
		return 2;
	if (kmm_init(argc > 3 ? argv[3] : "mem=4G") != 0)
		return 1;
	drain_all_pages(NULL);
	/* Frames in use: sections coming online add free frames. */
	unsigned long free_before = nr_free_pages() + vmalloc_overhead_pages() -
				    NODE_DATA(0)->node_present_pages;
	for (int c = 0; c < 4; c++) {
		char name[32];
		snprintf(name, sizeof(name), "soak-%u", cache_sizes[c]);
		caches[c] = kmem_cache_create(name, cache_sizes[c], 0, c == 1 ? SLAB_HWCACHE_ALIGN : 0, NULL);
		if (!caches[c])
			return 1;
	}
	pthread_t th[64];
	for (int t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, worker, (void *)(long)t);
	double start = now(), next_check = start + 1;
	long max_rss = 0;
	int problems = 0;
	while (now() - start < seconds) {
		usleep(20000);
		long rss = rss_kb();
		if (rss > max_rss)
			max_rss = rss;
		if (rss > CEILING_KB) {
			fprintf(stderr, "soak: RSS %ld kB above the ceiling\n", rss);
			problems++;
			break;
		}
		if (now() >= next_check) {
			atomic_store(&pause_req, 1);
			while (atomic_load(&paused) < nthreads)
				usleep(100);
			problems += kmm_check();
			atomic_fetch_add(&checks, 1);
			atomic_store(&pause_req, 0);
			next_check += 1;
		}
	}
	atomic_store(&stop, 1);
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	for (int i = 0; i < SLOTS; i++)
		if (blocks[i].kind != EMPTY)
			release(&blocks[i]);
	for (int c = 0; c < 4; c++)
		kmem_cache_destroy(caches[c]);
	vm_unmap_aliases();
	slab_shrink_all();          /* kmalloc caches keep empty slabs */
	vm_unmap_aliases();         /* warm lazy vmalloc frames */
	drain_all_pages(NULL);
	problems += kmm_check();
	unsigned long free_after = nr_free_pages() + vmalloc_overhead_pages() -
				   NODE_DATA(0)->node_present_pages;
	double elapsed = now() - start;
	printf("soak: %.0f s, %d threads, %ld operations (%.0f/s), %ld remote frees, "
	       "%ld failed allocations, %ld checks, peak RSS %ld kB, frames in use %ld -> %ld, "
	       "%d problems\n", elapsed, nthreads, atomic_load(&ops),
	       (double)atomic_load(&ops) / elapsed, atomic_load(&frees_remote),
	       atomic_load(&failures), atomic_load(&checks), max_rss, -(long)free_before,
	       -(long)free_after, problems);
	if (free_after != free_before) {
		fprintf(stderr, "soak: %ld pages unaccounted for\n", (long)(free_before - free_after));
		problems++;
	}
	return problems ? 1 : 0;
}
