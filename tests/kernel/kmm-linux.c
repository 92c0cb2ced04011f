// SPDX-License-Identifier: GPL-2.0
/*
 * kmm-linux.c - libkmm in place of the kernel's user-space test stub
 * (tools/testing/shared/linux.c and tools/lib/slab.c), for the harnesses in
 * tools/testing/radix-tree and tools/testing/vma.  scripts/kernel-tests.sh
 * copies it into tools/testing/shared/ and builds it with the harness's own
 * flags and headers.
 *
 * Objects come from libkmm's kmem_cache and kmalloc (through kmm-bridge.h:
 * this file sees only the kernel's headers).  What the stub adds on top of an
 * allocator, the tests' knobs, is kept here with the stub's semantics:
 *   - a request without __GFP_DIRECT_RECLAIM (GFP_NOWAIT, GFP_ATOMIC) fails
 *     unless kmem_cache_set_non_kernel() allowed that many, and the failure
 *     arms the cache's callback (kmem_cache_set_callback()), which runs at the
 *     next allocation; kmalloc() fails every such request.  ida_check_nomem
 *     and the maple tree's preallocation tests rely on this;
 *   - nr_allocated (all caches), kmem_cache_nr_allocated(),
 *     kmem_cache_nr_tallocated() and kmem_cache_get_alloc() count live and
 *     total objects; kmalloc_nr_allocated counts live kmalloc blocks.
 * Requests that may fail are passed on to libkmm with their own gfp bits, so
 * KMM_CONF's failslab= can make them fail too.
 *
 * At exit a destructor waits for queued RCU frees (rcu_barrier()), runs
 * kmm_check() and checks that no radix_tree_node
 * or maple_node object is still live; it prints one "kmm-linux:" line on
 * stderr and, on a problem, ends the process with status 70.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <assert.h>

#include <linux/gfp.h>
#include <linux/slab.h>
#include <urcu.h>
#include <urcu/uatomic.h>

#include "kmm-bridge.h"

int nr_allocated;
int preempt_count;
int test_verbose;
int kmalloc_nr_allocated;
int kmalloc_verbose;

struct kmem_cache {
	void *kc;                       /* libkmm's cache */
	const char *name;
	unsigned int size;
	bool has_ctor;
	struct kmem_cache *next;        /* on the caches list */
	pthread_mutex_t lock;           /* non_kernel, exec_callback */
	unsigned int non_kernel;        /* may-fail requests still allowed */
	bool exec_callback;             /* a request failed: run callback */
	void (*callback)(void *);
	void *private;
	unsigned long nr_allocated;     /* live objects (atomic) */
	unsigned long nr_tallocated;    /* objects ever allocated (atomic) */
};

static pthread_mutex_t caches_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kmem_cache *caches;

/* The kernel's gfp bits, as libkmm spells them. */
static unsigned int kmm_gfp(gfp_t gfp)
{
	static const struct { gfp_t kernel; unsigned int kmm; } map[] = {
		{ __GFP_HIGH, KMMB_GFP_HIGH },
		{ __GFP_IO, KMMB_GFP_IO },
		{ __GFP_FS, KMMB_GFP_FS },
		{ __GFP_ZERO, KMMB_GFP_ZERO },
		{ __GFP_DIRECT_RECLAIM, KMMB_GFP_DIRECT_RECLAIM },
		{ __GFP_KSWAPD_RECLAIM, KMMB_GFP_KSWAPD_RECLAIM },
		{ __GFP_NOWARN, KMMB_GFP_NOWARN },
		{ __GFP_RETRY_MAYFAIL, KMMB_GFP_RETRY_MAYFAIL },
		{ __GFP_NOFAIL, KMMB_GFP_NOFAIL },
		{ __GFP_NORETRY, KMMB_GFP_NORETRY },
		{ __GFP_ACCOUNT, KMMB_GFP_ACCOUNT },
	};
	unsigned int out = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (gfp & map[i].kernel)
			out |= map[i].kmm;
	return out;
}

/* The stub's rule: n may-fail objects are allowed only when non_kernel says
 * so.  Returns false (and arms the callback if @arm) when they are not. */
static bool cache_may_alloc(struct kmem_cache *cachep, gfp_t gfp, size_t n, bool arm)
{
	bool ok = true;

	if (gfp & __GFP_DIRECT_RECLAIM)
		return true;
	pthread_mutex_lock(&cachep->lock);
	if (cachep->non_kernel >= n) {
		cachep->non_kernel -= n;
	} else {
		cachep->non_kernel = 0;
		if (arm)
			cachep->exec_callback = true;
		ok = false;
	}
	pthread_mutex_unlock(&cachep->lock);
	return ok;
}

static void cache_account(struct kmem_cache *cachep, long n)
{
	uatomic_add(&cachep->nr_allocated, n);
	uatomic_add(&nr_allocated, (int)n);
	if (n > 0)
		uatomic_add(&cachep->nr_tallocated, n);
}

void kmem_cache_set_callback(struct kmem_cache *cachep, void (*callback)(void *))
{
	cachep->callback = callback;
}

void kmem_cache_set_private(struct kmem_cache *cachep, void *private)
{
	cachep->private = private;
}

void kmem_cache_set_non_kernel(struct kmem_cache *cachep, unsigned int val)
{
	pthread_mutex_lock(&cachep->lock);
	cachep->non_kernel = val;
	pthread_mutex_unlock(&cachep->lock);
}

unsigned long kmem_cache_get_alloc(struct kmem_cache *cachep)
{
	return cachep->size * uatomic_read(&cachep->nr_allocated);
}

unsigned long kmem_cache_nr_allocated(struct kmem_cache *cachep)
{
	return uatomic_read(&cachep->nr_allocated);
}

unsigned long kmem_cache_nr_tallocated(struct kmem_cache *cachep)
{
	return uatomic_read(&cachep->nr_tallocated);
}

void kmem_cache_zero_nr_tallocated(struct kmem_cache *cachep)
{
	uatomic_set(&cachep->nr_tallocated, 0);
}

void *kmem_cache_alloc_lru(struct kmem_cache *cachep, struct list_lru *lru, int gfp)
{
	bool run_callback;
	void *p;

	(void)lru;
	pthread_mutex_lock(&cachep->lock);
	run_callback = cachep->exec_callback;
	cachep->exec_callback = false;
	pthread_mutex_unlock(&cachep->lock);
	if (run_callback && cachep->callback)
		cachep->callback(cachep->private);

	if (!cache_may_alloc(cachep, gfp, 1, true))
		return NULL;
	/* A constructed object is the ctor's state, never zeroed (the stub's
	 * rule; the kernel forbids __GFP_ZERO on a cache with a ctor). */
	if (cachep->has_ctor)
		gfp &= ~__GFP_ZERO;
	p = kmmb_cache_alloc(cachep->kc, kmm_gfp(gfp));
	if (!p)
		return NULL;
	cache_account(cachep, 1);
	if (kmalloc_verbose)
		printf("Allocating %p from slab\n", p);
	return p;
}

void kmem_cache_free(struct kmem_cache *cachep, void *objp)
{
	assert(objp);
	cache_account(cachep, -1);
	if (kmalloc_verbose)
		printf("Freeing %p to slab\n", objp);
	kmmb_cache_free(cachep->kc, objp);
}

void kmem_cache_free_locked(struct kmem_cache *cachep, void *objp)
{
	kmem_cache_free(cachep, objp);
}

void __kmem_cache_free_locked(struct kmem_cache *cachep, void *objp)
{
	kmmb_cache_free(cachep->kc, objp);
}

void kmem_cache_free_bulk(struct kmem_cache *cachep, size_t size, void **list)
{
	if (kmalloc_verbose)
		printf("Bulk free %p[0-%zu]\n", list, size - 1);
	cache_account(cachep, -(long)size);
	kmmb_cache_free_bulk(cachep->kc, size, list);
}

void kmem_cache_shrink(struct kmem_cache *cachep)
{
	kmmb_cache_shrink(cachep->kc);
}

int kmem_cache_alloc_bulk(struct kmem_cache *cachep, gfp_t gfp, size_t size, void **p)
{
	if (kmalloc_verbose)
		printf("Bulk alloc %zu\n", size);
	if (!cache_may_alloc(cachep, gfp, size, false))
		return 0;
	if (cachep->has_ctor)
		gfp &= ~__GFP_ZERO;
	if (kmmb_cache_alloc_bulk(cachep->kc, kmm_gfp(gfp), size, p) != (int)size)
		return 0;
	cache_account(cachep, (long)size);
	return size;
}

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
		unsigned int align, unsigned int flags, void (*ctor)(void *))
{
	struct kmem_cache *ret = calloc(1, sizeof(*ret));

	(void)flags;
	assert(ret);
	ret->kc = kmmb_cache_create(name, size, align, ctor);
	assert(ret->kc);
	ret->name = name;
	ret->size = size;
	ret->has_ctor = ctor != NULL;
	pthread_mutex_init(&ret->lock, NULL);
	pthread_mutex_lock(&caches_lock);
	ret->next = caches;
	caches = ret;
	pthread_mutex_unlock(&caches_lock);
	return ret;
}

void *kmalloc(size_t size, gfp_t gfp)
{
	void *ret;

	if (!(gfp & __GFP_DIRECT_RECLAIM))
		return NULL;
	ret = kmmb_kmalloc(size, kmm_gfp(gfp));
	if (!ret)
		return NULL;
	uatomic_inc(&kmalloc_nr_allocated);
	if (kmalloc_verbose)
		printf("Allocating %p from malloc\n", ret);
	return ret;
}

void kfree(void *p)
{
	if (!p)
		return;
	uatomic_dec(&kmalloc_nr_allocated);
	if (kmalloc_verbose)
		printf("Freeing %p to malloc\n", p);
	kmmb_kfree(p);
}

/*
 * The stub's self-test of its bulk calls, on the adapter's counters (the
 * stub's checked its private free list, which libkmm does not have).
 */
void test_kmem_cache_bulk(void)
{
	static struct kmem_cache *test_cache, *test_cache2;
	void *list[12];
	int i;

	test_cache = kmem_cache_create("test_cache", 256, 0, SLAB_PANIC, NULL);
	for (i = 0; i < 5; i++)
		list[i] = kmem_cache_alloc(test_cache, __GFP_DIRECT_RECLAIM);
	for (i = 0; i < 5; i++)
		kmem_cache_free(test_cache, list[i]);
	assert(kmem_cache_nr_allocated(test_cache) == 0);

	assert(kmem_cache_alloc_bulk(test_cache, __GFP_DIRECT_RECLAIM, 5, list) == 5);
	assert(kmem_cache_nr_allocated(test_cache) == 5);
	kmem_cache_free_bulk(test_cache, 5, list);

	for (i = 0; i < 12; i++)
		list[i] = kmem_cache_alloc(test_cache, __GFP_DIRECT_RECLAIM);
	for (i = 0; i < 12; i++)
		kmem_cache_free(test_cache, list[i]);
	assert(kmem_cache_nr_allocated(test_cache) == 0);

	/* The may-fail rule holds for bulk requests too. */
	assert(kmem_cache_alloc_bulk(test_cache, GFP_NOWAIT, 2, list) == 0);
	kmem_cache_set_non_kernel(test_cache, 2);
	assert(kmem_cache_alloc_bulk(test_cache, GFP_NOWAIT, 2, list) == 2);
	kmem_cache_free_bulk(test_cache, 2, list);

	test_cache2 = kmem_cache_create("test_cache2", 128, 128, SLAB_PANIC, NULL);
	assert(kmem_cache_alloc_bulk(test_cache2, __GFP_DIRECT_RECLAIM, 10, list) == 10);
	for (i = 0; i < 10; i++)
		assert(((unsigned long)list[i] & 127) == 0);
	kmem_cache_free_bulk(test_cache2, 10, list);
	assert(kmem_cache_nr_allocated(test_cache2) == 0);
}

__attribute__((destructor)) static void kmm_linux_exit_check(void)
{
	unsigned long live_radix = 0, live_maple = 0;
	int problems;

	/* Frees already queued with call_rcu() count as done. */
	rcu_barrier();
	problems = kmmb_check();
	pthread_mutex_lock(&caches_lock);
	for (struct kmem_cache *c = caches; c; c = c->next) {
		if (!strcmp(c->name, "radix_tree_node"))
			live_radix += uatomic_read(&c->nr_allocated);
		else if (!strcmp(c->name, "maple_node"))
			live_maple += uatomic_read(&c->nr_allocated);
	}
	pthread_mutex_unlock(&caches_lock);
	fflush(stdout);
	fprintf(stderr, "kmm-linux: kmm_check %d, live radix_tree_node %lu, maple_node %lu: %s\n",
		problems, live_radix, live_maple,
		problems || live_radix || live_maple ? "FAIL" : "ok");
	fflush(stderr);
	if (problems || live_radix || live_maple)
		_exit(70);
}
