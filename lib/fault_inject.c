/*
 * fault_inject.c - make chosen allocations fail, as the kernel's
 * fault_attr (lib/fault-inject.c) behind fail_page_alloc= and failslab=,
 * with the kernel's rules for which requests are candidates
 * (mm/fail_page_alloc.c: should_fail_alloc_page(), mm/failslab.c:
 * __should_failslab()):
 *   - never a __GFP_NOFAIL request;
 *   - ignore-gfp-wait (on by default, both): never a request that may
 *     sleep, that is with __GFP_DIRECT_RECLAIM (GFP_KERNEL, GFP_USER,
 *     GFP_NOFS, ...), so by default only GFP_ATOMIC and GFP_NOWAIT ones
 *     fail; KMM_CONF fail_page_alloc.ignore_gfp_wait=0 and
 *     failslab.ignore_gfp_wait=0 make those fail too (the malloc shim's
 *     calls are GFP_KERNEL);
 *   - fail_page_alloc's ignore-gfp-highmem (on by default): never a
 *     __GFP_HIGHMEM request;
 *   - fail_page_alloc's min-order (1 by default): never a smaller order;
 *   - failslab.caches= (the kernel's cache-filter): only the caches
 *     named, decided by the slab layer.
 * A candidate then fails when all of these hold, checked in this order:
 *   - failures are left (times, -1 for no limit);
 *   - `space` bytes have already been let through;
 *   - it is the interval-th call since the last candidate;
 *   - a random draw falls below `probability` percent.
 * Every counter is atomic: threads share one fault_attr.
 *
 * Injection is off unless a probability is set; then the page allocator
 * runs its slow paths only (machine.pa.hardened), so the fast paths pay
 * nothing for the feature.
 */
#include "config.h"
#include "internal.h"

void fault_attr_init(struct fault_attr *attr, const struct fault_config *conf)
{
	attr->enabled = conf->probability > 0 && conf->times != 0;
	attr->ignore_gfp_reclaim = conf->ignore_gfp_wait;
	attr->ignore_gfp_highmem = conf->ignore_gfp_highmem;
	attr->probability = conf->probability;
	attr->interval = conf->interval ? conf->interval : 1;
	attr->min_order = conf->min_order;
	attr->unlimited = conf->times < 0;
	AO_store(&attr->times_left, conf->times < 0 ? 0 : (AO_t)conf->times);
	AO_store(&attr->space_left, conf->space);
	AO_store(&attr->calls, 0);
	AO_store(&attr->failures, 0);
	AO_store(&attr->rng, (AO_t)kmm_now_ns() | 1);
}

/* splitmix64 over an atomic counter: one draw per call, thread-safe. */
unsigned long kmm_random(AO_t *state)
{
	unsigned long z = AO_fetch_and_add(state, 0x9e3779b97f4a7c15UL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

bool should_fail(struct fault_attr *attr, unsigned long size)
{
	if (!attr->enabled)
		return false;
	if (!attr->unlimited && AO_load(&attr->times_left) == 0)
		return false;
	for (;;) {
		AO_t left = AO_load(&attr->space_left);
		if (left == 0)
			break;
		AO_t next = left > size ? left - size : 0;
		if (AO_compare_and_swap(&attr->space_left, left, next))
			return false;
	}
	if (attr->interval > 1 && (AO_fetch_and_add1(&attr->calls) + 1) % attr->interval != 0)
		return false;
	if (kmm_random(&attr->rng) % 100 >= attr->probability)
		return false;
	if (!attr->unlimited) {
		for (;;) {
			AO_t left = AO_load(&attr->times_left);
			if (left == 0)
				return false;
			if (AO_compare_and_swap(&attr->times_left, left, left - 1))
				break;
		}
	}
	AO_fetch_and_add1(&attr->failures);
	return true;
}

bool should_fail_alloc_page(gfp_t gfp, unsigned int order)
{
	struct fault_attr *attr = &machine.pa.fail_page_alloc;
	if (order < attr->min_order || (gfp & __GFP_NOFAIL))
		return false;
	if (attr->ignore_gfp_highmem && (gfp & __GFP_HIGHMEM))
		return false;
	if (attr->ignore_gfp_reclaim && (gfp & __GFP_DIRECT_RECLAIM))
		return false;
	return should_fail(attr, PAGE_SIZE << order);
}

bool should_failslab(gfp_t gfp, unsigned long size)
{
	struct fault_attr *attr = &machine.slab.failslab;
	if (gfp & __GFP_NOFAIL)
		return false;
	if (attr->ignore_gfp_reclaim && (gfp & __GFP_DIRECT_RECLAIM))
		return false;
	return should_fail(attr, size);
}
