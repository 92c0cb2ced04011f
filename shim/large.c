/*
 * large.c - the shim's cache of freed vmalloc blocks (malloc.large_cache).
 *
 * Every vmalloc takes a fresh range of the vmalloc area, whose anonymous
 * memory the host must fault in and zero, and backs it with one order-0
 * frame per page; vfree gives the frames back one by one and leaves the
 * range to the lazy purge.  A program that frees and mallocs blocks of a
 * few hundred KiB in a loop paid all of it on every pair (bench_sizes 128k:
 * ~9 us against jemalloc's 0.14 us).  jemalloc keeps freed extents mapped
 * and reuses them; so does this cache:
 *
 *   free() of a vmalloc block      the block stays a live vmalloc area (its
 *                                  frames, its ptes, its touched host pages)
 *                                  and goes on a list by page count;
 *   malloc() of a large size       takes the most recently freed block whose
 *                                  usable size is at least the request and at
 *                                  most 25 % more, else the smallest larger
 *                                  one shrunk in place (vrealloc), before
 *                                  asking vmalloc; a miss gives back as many
 *                                  cached bytes as it asks for;
 *   bound                          malloc.large_cache bytes in all (default
 *                                  32 MiB; 0 turns the cache off), and no
 *                                  block above a quarter of it: the oldest
 *                                  blocks are given back (vfree) to make room;
 *   idle                           a block cached for more than a second is
 *                                  given back; checked on every large malloc
 *                                  and free (a clock read, one compare);
 *   malloc_trim()                  gives them all back.
 *
 * A cached block is not live.  Its first 64 bytes hold the header below,
 * whose first word is the shim's tag TAG(p) = secret ^ p, as in a freed slab
 * object (shim.h, section 2): owner_of() finds it on free(), realloc() and
 * malloc_usable_size() and reports the double free as it reports one of a
 * vfree'd block.  A block taken from the cache gets its tag word cleared,
 * and its usable size is its area's (get_vm_area_size), which is what
 * malloc_usable_size() answers.  calloc() zeroes a reused block itself: a
 * fresh vmalloc range reads as zeroes, a reused one does not.
 *
 * LOCKING: one mutex for the whole cache (large blocks are rare next to
 * small ones, and each costs far more than the lock); vfree and vmalloc are
 * called with it released.  fork(): the mutex is taken in an atfork prepare
 * handler registered after libkmm's, so that it is taken before libkmm's
 * locks (prepare handlers run in reverse order), and released in the parent
 * and the child.
 */
#include "config.h"
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "shim.h"

#define LARGE_NBINS 96
#define LARGE_IDLE_NS 1000000000L     /* one second */
#define LARGE_SCAN 16                 /* blocks looked at per bin */

/* At the start of a cached block. */
struct large_blk {
	uintptr_t tag;                 /* shim_tag(block): "freed" */
	size_t pages;                  /* usable pages (get_vm_area_size) */
	long stamp;                    /* CLOCK_MONOTONIC_COARSE ns, when cached */
	struct large_blk *bnext, *bprev;   /* its bin, most recent first */
	struct large_blk *lnext, *lprev;   /* all blocks, oldest first */
};

static struct {
	pthread_mutex_t lock;
	struct large_blk *bins[LARGE_NBINS];
	struct large_blk *oldest, *newest;
	size_t bytes;                  /* cached, in all */
	size_t hits, misses;
} lc = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Bin of a page count: exact below 8, then four bins per doubling. */
static unsigned int bin_of(size_t pages)
{
	if (pages < 8)
		return (unsigned int)pages;
	unsigned int lg = 63u - (unsigned int)__builtin_clzl(pages);
	unsigned int b = 8 + (lg - 3) * 4 + (unsigned int)((pages >> (lg - 2)) & 3);
	return b < LARGE_NBINS ? b : LARGE_NBINS - 1;
}

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void unlink_blk(struct large_blk *b)
{
	unsigned int bin = bin_of(b->pages);
	if (b->bprev)
		b->bprev->bnext = b->bnext;
	else
		lc.bins[bin] = b->bnext;
	if (b->bnext)
		b->bnext->bprev = b->bprev;
	if (b->lprev)
		b->lprev->lnext = b->lnext;
	else
		lc.oldest = b->lnext;
	if (b->lnext)
		b->lnext->lprev = b->lprev;
	else
		lc.newest = b->lprev;
	lc.bytes -= b->pages << PAGE_SHIFT;
}

/* Detach the blocks idle since before `cutoff`, the oldest until `need`
 * more bytes fit, and the oldest until `take` bytes are detached; returns
 * them chained by lnext. */
static struct large_blk *evict_locked(long cutoff, size_t need, size_t take)
{
	struct large_blk *out = NULL, **tail = &out;
	size_t taken = 0;
	while (lc.oldest && (lc.oldest->stamp < cutoff || taken < take ||
			     lc.bytes + need > shim.large_cache)) {
		struct large_blk *b = lc.oldest;
		taken += b->pages << PAGE_SHIFT;
		unlink_blk(b);
		b->lnext = NULL;
		*tail = b;
		tail = &b->lnext;
	}
	return out;
}

static void release(struct large_blk *b)
{
	while (b) {
		struct large_blk *next = b->lnext;
		vfree(b);
		b = next;
	}
}

/*
 * A block for n bytes: a cached one of n .. n + 25 %; else the smallest
 * larger one, shrunk in place with vrealloc() (its frames past the end go
 * back to the buddy allocator, its tail to the host), as jemalloc splits an
 * extent; else NULL, and the oldest cached blocks of n bytes or more are
 * given back first, so that a program whose sizes do not repeat trades its
 * cached bytes for the new block instead of piling both up.
 */
void *shim_large_get(size_t n, size_t *usable)
{
	size_t pages = (n + PAGE_SIZE - 1) >> PAGE_SHIFT;
	size_t max = pages + pages / 4;
	struct large_blk *found = NULL, *evicted;
	unsigned int bin, last = bin_of(max);

	if (!shim.large_cache)
		return NULL;
	pthread_mutex_lock(&lc.lock);
	if (!lc.oldest) {
		lc.misses++;
		pthread_mutex_unlock(&lc.lock);
		return NULL;
	}
	for (bin = bin_of(pages); bin <= last && !found; bin++) {
		unsigned int scan = 0;
		for (struct large_blk *b = lc.bins[bin]; b && scan < LARGE_SCAN;
		     b = b->bnext, scan++) {
			if (b->pages >= pages && b->pages <= max) {
				found = b;
				break;
			}
		}
	}
	/* The smallest larger block: the first of the lowest bin that has one. */
	for (bin = last; bin < LARGE_NBINS && !found; bin++) {
		unsigned int scan = 0;
		for (struct large_blk *b = lc.bins[bin]; b && scan < LARGE_SCAN;
		     b = b->bnext, scan++) {
			if (b->pages > max && (!found || b->pages < found->pages))
				found = b;
		}
	}
	long cutoff = now_ns() - LARGE_IDLE_NS;
	if (found) {
		unlink_blk(found);
		lc.hits++;
		evicted = lc.oldest && lc.oldest->stamp < cutoff ?
			  evict_locked(cutoff, 0, 0) : NULL;
	} else {
		lc.misses++;
		evicted = evict_locked(cutoff, 0, pages << PAGE_SHIFT);
	}
	pthread_mutex_unlock(&lc.lock);
	release(evicted);
	if (!found)
		return NULL;
	found->tag = 0;                 /* live again */
	if (found->pages > max) {
		size_t want = pages << PAGE_SHIFT;
		if (vrealloc(found, want, GFP_KERNEL | __GFP_NOWARN) != found) {
			vfree(found);    /* cannot happen: a shrink stays in place */
			return NULL;
		}
		*usable = want;
		return found;
	}
	*usable = found->pages << PAGE_SHIFT;
	return found;
}

bool shim_large_put(void *p, size_t usable)
{
	struct large_blk *b = p, *evicted;
	size_t pages = usable >> PAGE_SHIFT;
	long now;

	if (usable > shim.large_cache / 4 || pages == 0)
		return false;
	now = now_ns();
	b->tag = shim_tag(p);
	b->pages = pages;
	b->stamp = now;
	pthread_mutex_lock(&lc.lock);
	evicted = evict_locked(now - LARGE_IDLE_NS, usable, 0);
	unsigned int bin = bin_of(pages);
	b->bprev = NULL;
	b->bnext = lc.bins[bin];
	if (b->bnext)
		b->bnext->bprev = b;
	lc.bins[bin] = b;
	b->lnext = NULL;
	b->lprev = lc.newest;
	if (lc.newest)
		lc.newest->lnext = b;
	else
		lc.oldest = b;
	lc.newest = b;
	lc.bytes += usable;
	pthread_mutex_unlock(&lc.lock);
	release(evicted);
	return true;
}

size_t shim_large_flush(void)
{
	pthread_mutex_lock(&lc.lock);
	size_t bytes = lc.bytes;
	struct large_blk *all = evict_locked(LONG_MAX, 0, SIZE_MAX);
	pthread_mutex_unlock(&lc.lock);
	release(all);
	return bytes;
}

static void large_fork_prepare(void)
{
	pthread_mutex_lock(&lc.lock);
}

static void large_fork_parent(void)
{
	pthread_mutex_unlock(&lc.lock);
}

static void large_fork_child(void)
{
	pthread_mutex_unlock(&lc.lock);
}

void shim_large_init(void)
{
	pthread_atfork(large_fork_prepare, large_fork_parent, large_fork_child);
}

void shim_large_show(FILE *f)
{
	pthread_mutex_lock(&lc.lock);
	size_t bytes = lc.bytes, hits = lc.hits, misses = lc.misses, n = 0;
	for (struct large_blk *b = lc.oldest; b; b = b->lnext)
		n++;
	pthread_mutex_unlock(&lc.lock);
	fprintf(f, "libkmm-malloc: large cache: %zu blocks, %zu kB of %zu kB; "
		"%zu hits, %zu misses\n", n, bytes >> 10, shim.large_cache >> 10,
		hits, misses);
}

