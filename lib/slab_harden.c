/*
 * slab_harden.c - what the slab layer does on its slow paths only:
 * slow-path hooks on allocation and free (SLAB_HOOKS).
 *
 * HOOKS
 *
 * A cache with SLAB_HOOKS has cpu_fast = mag_cpu_none, whose pairs are all
 * MAG_LOCKED: its fast path (slab.h) misses on the test it makes anyway,
 * and mag_alloc_slow()/mag_free_slow() come here.  The hooks then run the
 * same magazine pop or push on the cache's real pairs (s->cpu), so a hooked
 * cache still has per-CPU magazines; it pays a call and the hook's own
 * work, and caches without hooks pay nothing at all.
 */
#include "config.h"
#include <string.h>
#include "slab.h"

void slab_harden_init(void)
{
}

slab_flags_t slab_harden_flags(const char *name, slab_flags_t flags, void (*ctor)(void *))
{
	(void)name;
	(void)ctor;
	return flags;
}

int slab_harden_cache_init(struct kmem_cache *s)
{
	(void)s;
	return 0;
}

void slab_harden_cache_release(struct kmem_cache *s)
{
	(void)s;
}

bool slab_hook_zeroed(const struct kmem_cache *s, gfp_t gfp)
{
	(void)s;
	(void)gfp;
	return false;
}

void *slab_alloc_hooked(struct kmem_cache *s, gfp_t gfp, unsigned long caller)
{
	void *obj;
	mag_pop(s->cpu, obj, refill);
	return obj;
refill:
	return mag_alloc_refill(s, gfp, caller);
}

void slab_free_hooked(struct kmem_cache *s, void *obj, unsigned long caller)
{
	mag_push(s->cpu, obj, refill);
	return;
refill:
	mag_free_refill(s, obj, caller);
}
