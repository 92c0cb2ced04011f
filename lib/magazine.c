/*
 * magazine.c - the per-CPU magazine layer and the depot (Bonwick & Adams,
 * "Magazines and Vmem", USENIX 2001), between the callers and the slabs.
 *
 * 1. OVERVIEW
 *
 * A magazine is an array of up to M object pointers (struct magazine).
 * Every cache has, per CPU, a loaded and a previous magazine (struct
 * mag_cpu, one cache line), and a depot of full and empty magazines.
 *   alloc: pop the loaded magazine; if it is empty and the previous one is
 *          full, swap them; else trade the empty previous one for a full one
 *          from the depot; else fill the loaded magazine with M/2 objects
 *          from the slab layer (one node lock for the batch).
 *   free:  push onto the loaded magazine; if it is full and the previous one
 *          is empty, swap; else give the full previous one to the depot and
 *          load an empty one (from the depot, or a new one).
 * So a CPU goes to the depot at most once per M operations, and to the
 * slabs at most once per M/2.
 *
 * 2. THE CPU AND THE FAST PATH
 *
 * The CPU is the one the thread runs on, never the thread: no per-thread
 * cache, nothing to flush at thread exit, memory bounded by the CPU count.
 * With rseq (glibc registers it for every thread; kmm_rseq_on) the fast path
 * (slab.h: mag_alloc, mag_free) is one restartable sequence:
 *
 *     rseq->rseq_cs = &descriptor
 *   1: cpu = rseq->cpu_id; mag = cpus[cpu].loaded
 *      pop:  n = mag->rounds - 1; if n < 0 miss; obj = objs[n]; mag->rounds = n
 *      push: n = mag->rounds; if n >= mag->size miss;
 *            if objs[n - 1] == obj miss;      (a naive double free)
 *            objs[n] = obj; mag->rounds++
 *   2: (the store to rounds is the commit: the last instruction)
 *
 * If the thread is preempted, migrated or signalled between 1 and 2, the
 * kernel moves it to the abort handler, which goes to the slow path; nothing
 * was written but, for push, a slot above `rounds`, which is not part of the
 * magazine.  No lock, no atomic read-modify-write: 10 instructions for a
 * pop, 12 for a push.
 *
 * The push's compare with the object freed last is the hardened kernel's
 * naive double-free check (set_freepointer()'s BUG_ON(object == fp): the
 * object is the freelist head) moved to where the frees land first: kfree(p)
 * twice in a row misses, and the slow path (mag_free_owned) refuses and
 * reports it, so that the next two allocations do not both return p.  The
 * slab layer makes the same check when objects go back to their slabs.
 *
 * 3. OWNING A CPU'S PAIR (the slow path and remote walkers)
 *
 * Everything except the fast path runs with the CPU's pair owned: `loaded`
 * is swapped for MAG_LOCKED, a magazine of capacity 0, so every fast path
 * on that CPU misses and goes to the slow path, which waits.  The owner may
 * then change loaded (kept in a local), prev and the depot with plain code,
 * even after it migrates, and gives the pair back with a release store of
 * the new loaded magazine.
 *   - The local owner (slow path) takes the pair with an rseq sequence whose
 *     commit is a `lock cmpxchg` of loaded -> MAG_LOCKED on the CPU it runs
 *     on: any fast path of another thread on that CPU was preempted, so it
 *     restarts and sees MAG_LOCKED.
 *   - A remote owner (shrink, destroy, kmm_check, slabinfo, fork) takes the
 *     pairs of every CPU with compare-and-swap, then fences with
 *     membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) (kmm_rseq_fence), which restarts every
 *     rseq critical section running in the process: a fast path that read
 *     the old `loaded` before the swap has committed or aborted when the
 *     fence returns.
 * Without rseq (unregistered: GLIBC_TUNABLES=glibc.pthread.rseq=0, an old
 * kernel, valgrind; or slab_rseq=0) the fast path runs the same
 * instructions on kmm_rseq_dummy, a thread-local rseq area whose cpu_id is
 * -1, and cpus[-1] of every cache is MAG_LOCKED: it always misses, with no
 * "is rseq on" test of its own.  Every operation then owns its CPU's pair
 * by compare-and-swap (the CPU from sched_getcpu()), which is correct with
 * migration because ownership, not the CPU, protects the pair.  Not on
 * x86-64 there is no assembly and the fast path is the slow path.
 * slab_rseq=2 runs the rseq sequences without registration (the booting
 * thread's dummy area says CPU 0), for counting instructions under
 * valgrind with one thread only; other threads find -1 and lock.
 *
 * INVARIANTS
 *   - An object is in at most one place: a magazine slot below `rounds`, a
 *     slab freelist, or the caller's hands.
 *   - loaded and prev of a pair are real magazines of this cache or
 *     &mag_none; a real magazine is in exactly one of: a pair, the depot's
 *     full stack (rounds == size), the depot's empty stack (rounds == 0).
 *   - MAG_LOCKED is never a pair's magazine, only the owned mark.
 *   - Caches without magazines (SLAB_NOMAG: the boot caches, debug caches)
 *     point at mag_cpu_none, whose pairs are all MAG_LOCKED forever: their
 *     fast path always misses and the slow path goes straight to the slabs.
 *
 * 4. DEPOT
 *
 * Two stacks under a spinlock (measured: the depot is visited once per M
 * operations, so a lock-free AO_stack buys nothing and its counts and
 * trimming would need a lock anyway).  Contention (the lock found taken) is
 * counted; each 16 contended visits grow the size of the cache's new
 * magazines one class (6 14 30 62 126 rounds, objects of 64 .. 1024 bytes
 * from the magazine caches) up to a bound set by the object size.  Empty
 * magazines of an outgrown size are freed when they come back.
 * The depot keeps at most 256 KiB of objects in full magazines (at least
 * two magazines per CPU); a full magazine beyond that goes to the slabs.
 * Working set: the depot remembers the fewest full and empty magazines it
 * held since the last trim; at most once a second (checked every 64 visits,
 * and in kmem_cache_shrink) that many are not needed and are given back,
 * full ones to the slabs.
 *
 * 5. LOCK ORDER: CPU pair -> depot lock -> node lock (internal.h).  Objects
 * and magazines are returned to the slabs after the depot lock is dropped.
 */
#include "config.h"
#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "slab.h"


struct magazine mag_none;
struct magazine mag_locked;
struct mag_cpu *mag_cpu_none;
struct kmem_cache *mag_caches[MAG_NR_SIZES];
static struct kmem_cache mag_cache_boot[MAG_NR_SIZES];
static const unsigned int mag_rounds[MAG_NR_SIZES] = { 6, 14, 30, 62, 126 };
static const char *const mag_names[MAG_NR_SIZES] = {
	"magazine-6", "magazine-14", "magazine-30", "magazine-62", "magazine-126"
};

#define DEPOT_GROW_CONTENDED 16
#define DEPOT_TRIM_EVERY 64
#define DEPOT_TRIM_NS 1000000000L

/* ------------------------------------------------------------------ */
/* Boot                                                                */

int mag_init(void)
{
	size_t bytes = ALIGN_UP((size_t)nr_cpu_ids * sizeof(struct mag_cpu), PAGE_SIZE);
	unsigned int order = 0;
	while ((PAGE_SIZE << order) < bytes)
		order++;
	/* Boot allocations are not failed by fault injection. */
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_NOFAIL, order);
	if (!page)
		return -ENOMEM;
	/* Index -1 too: the pair the fast path finds when rseq is off. */
	mag_cpu_none = (struct mag_cpu *)page_address(page) + 1;
	for (int cpu = -1; cpu < (int)nr_cpu_ids; cpu++) {
		mag_cpu_none[cpu].loaded = MAG_LOCKED;
		mag_cpu_none[cpu].prev = &mag_none;
	}

	for (int i = 0; i < MAG_NR_SIZES; i++) {
		unsigned int size = (unsigned int)(sizeof(struct magazine) +
						   mag_rounds[i] * sizeof(void *));
		int ret = slab_create_boot(&mag_cache_boot[i], mag_names[i], size, size,
					   SLAB_NOMAG, NULL);
		if (ret)
			return ret;
		mag_caches[i] = &mag_cache_boot[i];
	}
	return 0;
}

/* Magazine sizes by object size: (first class, largest class). */
int mag_cache_init(struct kmem_cache *s)
{
	unsigned int sz = s->size;
	if (sz <= 256) {
		s->mag_idx = 2;
		s->mag_idx_max = 4;
	} else if (sz <= 1024) {
		s->mag_idx = 1;
		s->mag_idx_max = 3;
	} else if (sz <= 4096) {
		s->mag_idx = 0;
		s->mag_idx_max = 2;
	} else {
		s->mag_idx = 0;
		s->mag_idx_max = 1;
	}
	s->depot.lock = (kmm_spinlock_t)KMM_SPINLOCK_INIT;
	s->depot.last_trim_ns = kmm_now_ns();
	for (int cpu = -1; cpu < (int)nr_cpu_ids; cpu++) {
		struct mag_cpu *pc = &s->cpu[cpu];
		memset(pc, 0, sizeof(*pc));
		pc->loaded = cpu < 0 ? MAG_LOCKED : &mag_none;
		pc->prev = &mag_none;
	}
	s->cpu_alloc = (s->hooks & SLAB_HOOKS_ALLOC) ? mag_cpu_none : s->cpu;
	s->cpu_free = (s->hooks & SLAB_HOOKS_FREE) ? mag_cpu_none : s->cpu;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Owning a CPU's pair                                                 */

/* Wait for a pair's owner: spin, then yield; a pair still owned after
 * 10 s is owned by this thread in a frame a signal handler interrupted,
 * and kmm_spin_wait_check() reports it and aborts. */
struct mag_wait {
	int spins;
	long since;
};

static inline void mag_relax(struct mag_wait *w)
{
	if (++w->spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
		__asm__ __volatile__("pause");
#endif
		return;
	}
	sched_yield();
	if (w->spins % 1024 == 0)
		kmm_spin_wait_check(&w->since, "a CPU's magazine pair");
}

/* Own the pair of the CPU the thread runs on; *mp = its loaded magazine. */
static struct mag_cpu *mag_own_local(struct kmem_cache *s, struct magazine **mp)
{
	struct mag_wait wait = { 0, 0 };
	for (;;) {
#ifdef KMM_RSEQ_ASM
		/* cpu_id < 0: slab_rseq=2 and not the thread that booted. */
		if (likely(kmm_rseq_on) &&
		    *(volatile int32_t *)((char *)kmm_thread_pointer() + kmm_rseq_off + 4) >= 0) {
			struct mag_cpu *pc;
			struct magazine *m;
			unsigned long tmp;
			__asm__ __volatile__ goto(
				KMM_RSEQ_CS_BEGIN("busy")
				"movl %%fs:4(%[off]), %k[pc]\n\t"
				"shlq $6, %[pc]\n\t"
				"addq %[cpus], %[pc]\n\t"
				"movq (%[pc]), %[m]\n\t"
				"cmpq %[locked], %[m]\n\t"
				"je %l[busy]\n\t"
				"lock cmpxchgq %[locked], (%[pc])\n\t"   /* commit */
				"2:\n\t"
				"jnz %l[busy]\n\t"
				: [pc] "=&r"(pc), [tmp] "=&r"(tmp), [m] "=&a"(m)
				: [off] "r"(kmm_rseq_off), [cpus] "r"(s->cpu),
				  [locked] "r"(MAG_LOCKED)
				: "memory", "cc"
				: busy);
			*mp = m;
			return pc;
		}
#endif
		{
			struct mag_cpu *pc = &s->cpu[raw_smp_processor_id()];
			struct magazine *m = (struct magazine *)AO_load(
				(volatile AO_t *)&pc->loaded);
			if (m != MAG_LOCKED &&
			    AO_compare_and_swap_acquire((volatile AO_t *)&pc->loaded,
							(AO_t)m, (AO_t)MAG_LOCKED)) {
				*mp = m;
				return pc;
			}
		}
#ifdef KMM_RSEQ_ASM
busy:
#endif
		mag_relax(&wait);
	}
}

static inline void mag_release(struct mag_cpu *pc, struct magazine *m)
{
	AO_store_release((volatile AO_t *)&pc->loaded, (AO_t)m);
}

static void mag_own_cpus_nofence(struct kmem_cache *s)
{
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct mag_cpu *pc = &s->cpu[cpu];
		struct mag_wait wait = { 0, 0 };
		for (;;) {
			struct magazine *m = (struct magazine *)AO_load(
				(volatile AO_t *)&pc->loaded);
			if (m != MAG_LOCKED &&
			    AO_compare_and_swap_acquire((volatile AO_t *)&pc->loaded,
							(AO_t)m, (AO_t)MAG_LOCKED)) {
				pc->held = m;
				break;
			}
			mag_relax(&wait);
		}
	}
}

void mag_lock_cpus(struct kmem_cache *s)
{
	if (s->flags & SLAB_NOMAG)
		return;
	mag_own_cpus_nofence(s);
	kmm_rseq_fence();
}

void mag_unlock_cpus(struct kmem_cache *s)
{
	if (s->flags & SLAB_NOMAG)
		return;
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
		mag_release(&s->cpu[cpu], s->cpu[cpu].held);
}

/* fork(): own every pair of every cache, one fence for all. */
void mag_lock_all_caches(void)
{
	struct list_head *pos;
	list_for_each(pos, &slab_caches) {
		struct kmem_cache *s = list_entry(pos, struct kmem_cache, list);
		if (!(s->flags & SLAB_NOMAG))
			mag_own_cpus_nofence(s);
	}
	kmm_rseq_fence();
}

void mag_unlock_all_caches(void)
{
	struct list_head *pos;
	list_for_each(pos, &slab_caches)
		mag_unlock_cpus(list_entry(pos, struct kmem_cache, list));
}

/* ------------------------------------------------------------------ */
/* Depot                                                               */

static inline void depot_lock(struct kmem_cache *s)
{
	struct depot *d = &s->depot;
	if (unlikely(AO_test_and_set_acquire(&d->lock.locked) == AO_TS_SET)) {
		kmm_spin_lock_slow(&d->lock);
		/* Bonwick: contention on the depot means the magazines are too
		 * small for the rate at which CPUs come back. */
		if (++d->contended >= DEPOT_GROW_CONTENDED) {
			d->contended = 0;
			if (s->mag_idx < s->mag_idx_max)
				s->mag_idx++;
		}
	}
}

static inline void depot_unlock(struct kmem_cache *s)
{
	kmm_spin_unlock(&s->depot.lock);
}

static void mag_free_magazine(struct magazine *m)
{
	for (int i = 0; i < MAG_NR_SIZES; i++) {
		if (m->size == mag_rounds[i]) {
			slab_free(mag_caches[i], m, 0);
			return;
		}
	}
}

static struct magazine *mag_new(struct kmem_cache *s)
{
	unsigned int idx = *(volatile unsigned int *)&s->mag_idx;
	struct magazine *m = slab_alloc(mag_caches[idx], GFP_KERNEL | __GFP_NOWARN, 0);
	if (m) {
		m->rounds = 0;
		m->size = mag_rounds[idx];
		m->next = NULL;
	}
	return m;
}

/* Return magazines on a ->next chain: their objects to the slabs, then the
 * magazines themselves.  No lock held. */
static void mag_dispose_chain(struct kmem_cache *s, struct magazine *m)
{
	while (m) {
		struct magazine *next = m->next;
		if (m->rounds)
			slab_free_batch(s, m->rounds, m->objs);
		m->rounds = 0;
		mag_free_magazine(m);
		m = next;
	}
}

/* Depot lock held: detach what the working set did not need since the last
 * trim; the caller disposes of it after unlocking. */
static struct magazine *depot_trim_locked(struct depot *d)
{
	struct magazine *out = NULL;
	for (unsigned long n = d->min_full; n > 0 && d->full; n--) {
		struct magazine *m = d->full;
		d->full = m->next;
		d->nr_full--;
		m->next = out;
		out = m;
	}
	for (unsigned long n = d->min_empty; n > 0 && d->empty; n--) {
		struct magazine *m = d->empty;
		d->empty = m->next;
		d->nr_empty--;
		m->next = out;
		out = m;
	}
	d->min_full = d->nr_full;
	d->min_empty = d->nr_empty;
	return out;
}

static inline struct magazine *depot_tick_locked(struct depot *d)
{
	if (++d->ops % DEPOT_TRIM_EVERY)
		return NULL;
	long now = kmm_now_ns();
	if (now - d->last_trim_ns < DEPOT_TRIM_NS)
		return NULL;
	d->last_trim_ns = now;
	return depot_trim_locked(d);
}

/* The depot holds at most 256 KiB of objects, and at least 2 magazines
 * per CPU. */
static inline unsigned long depot_max_full(const struct kmem_cache *s)
{
	unsigned long bytes = (unsigned long)mag_rounds[s->mag_idx] * s->size;
	unsigned long n = (256UL << 10) / bytes;
	return n > 2UL * nr_cpu_ids ? n : 2UL * nr_cpu_ids;
}

/*
 * One visit to the depot: give back `give` (full or empty, or NULL) and
 * take a magazine from the `want_full` stack (or NULL).
 */
static struct magazine *depot_exchange(struct kmem_cache *s, struct magazine *give,
				       bool want_full)
{
	struct depot *d = &s->depot;
	struct magazine *got = NULL, *trash = NULL;

	depot_lock(s);
	if (give) {
		if (give->rounds && d->nr_full >= depot_max_full(s)) {
			give->next = NULL;     /* depot full: objects to the slabs */
			trash = give;
		} else if (give->rounds) {
			give->next = d->full;
			d->full = give;
			d->nr_full++;
		} else if (give->size != mag_rounds[s->mag_idx]) {
			give->next = NULL;     /* outgrown: freed below */
			trash = give;
		} else {
			give->next = d->empty;
			d->empty = give;
			d->nr_empty++;
		}
	}
	struct magazine **stack = want_full ? &d->full : &d->empty;
	if (*stack) {
		got = *stack;
		*stack = got->next;
		got->next = NULL;
		if (want_full) {
			if (--d->nr_full < d->min_full)
				d->min_full = d->nr_full;
		} else {
			if (--d->nr_empty < d->min_empty)
				d->min_empty = d->nr_empty;
		}
	}
	struct magazine *trimmed = depot_tick_locked(d);
	depot_unlock(s);
	if (trash)
		mag_dispose_chain(s, trash);
	if (trimmed)
		mag_dispose_chain(s, trimmed);
	return got;
}

/* ------------------------------------------------------------------ */
/* Slow paths (the pair owned)                                         */

static void *mag_alloc_owned(struct kmem_cache *s, struct mag_cpu *pc,
			     struct magazine **mp, gfp_t gfp)
{
	struct magazine *m = *mp;

	pc->alloc_slow++;
	if (m->rounds)
		goto pop;
	if (pc->prev->rounds) {
		struct magazine *t = pc->prev;
		pc->prev = m;
		m = t;
		goto pop;
	}
	/* Both empty (or absent): trade the previous one for a full one. */
	struct magazine *full = depot_exchange(s, pc->prev != &mag_none ? pc->prev : NULL,
					      true);
	if (full) {
		pc->prev = m;
		m = full;
		goto pop;
	}
	pc->prev = &mag_none;
	if (m == &mag_none) {
		m = mag_new(s);
		if (!m) {
			void *obj = NULL;
			*mp = &mag_none;
			return slab_alloc_batch(s, gfp, 1, &obj) ? obj : NULL;
		}
	}
	m->rounds = (unsigned int)slab_alloc_batch(s, gfp, m->size / 2 + 1, m->objs);
	if (!m->rounds) {
		*mp = m;
		return NULL;
	}
pop:
	*mp = m;
	return m->objs[--m->rounds];
}

/* The object last freed to magazine m, or NULL. */
static inline void *mag_top(const struct magazine *m)
{
	return m->rounds ? m->objs[m->rounds - 1] : NULL;
}

static void mag_free_owned(struct kmem_cache *s, struct mag_cpu *pc,
			   struct magazine **mp, void *obj, unsigned long caller)
{
	struct magazine *m = *mp;

	pc->free_slow++;
	/* The fast path's double-free compare (after a free, its object is
	 * always on top of the loaded magazine, swapped or not): refused. */
	if (unlikely(mag_top(m) == obj)) {
		slab_report_double_free(s, obj, caller);
		return;
	}
	if (m->rounds < m->size)
		goto push;
	if (pc->prev != &mag_none && pc->prev->rounds == 0) {
		struct magazine *t = pc->prev;
		pc->prev = m;
		m = t;
		goto push;
	}
	/* Loaded full (or absent), previous full (or absent): the previous one
	 * goes to the depot, the loaded one becomes previous, an empty one is
	 * loaded. */
	struct magazine *give = pc->prev != &mag_none ? pc->prev : NULL;
	struct magazine *empty = depot_exchange(s, give, false);
	pc->prev = m;
	if (!empty)
		empty = mag_new(s);
	if (!empty) {
		*mp = &mag_none;
		slab_free_batch(s, 1, &obj);
		return;
	}
	m = empty;
push:
	m->objs[m->rounds++] = obj;
	*mp = m;
}

noinline void *mag_alloc_refill(struct kmem_cache *s, gfp_t gfp, unsigned long caller)
{
	if (s->flags & SLAB_NOMAG)
		return slab_alloc(s, gfp, caller);
	struct magazine *m;
	struct mag_cpu *pc = mag_own_local(s, &m);
	void *obj = mag_alloc_owned(s, pc, &m, gfp);
	mag_release(pc, m);
	return obj;
}

noinline void mag_free_refill(struct kmem_cache *s, void *obj, unsigned long caller)
{
	if (s->flags & SLAB_NOMAG) {
		slab_free(s, obj, caller);
		return;
	}
	struct magazine *m;
	struct mag_cpu *pc = mag_own_local(s, &m);
	mag_free_owned(s, pc, &m, obj, caller);
	mag_release(pc, m);
}

/* The fast path's miss: the hooks of slab_harden.c, or a refill. */
noinline void *mag_alloc_slow(struct kmem_cache *s, gfp_t gfp, unsigned long caller)
{
	if (unlikely(s->hooks & SLAB_HOOKS_ALLOC))
		return slab_alloc_hooked(s, gfp, caller);
	return mag_alloc_refill(s, gfp, caller);
}

noinline void mag_free_slow(struct kmem_cache *s, void *obj, unsigned long caller)
{
	if (unlikely(s->hooks & SLAB_HOOKS_FREE)) {
		slab_free_hooked(s, obj, caller);
		return;
	}
	mag_free_refill(s, obj, caller);
}

/* ------------------------------------------------------------------ */
/* Flush, count, check                                                 */

void mag_flush_all(struct kmem_cache *s)
{
	struct magazine *chain = NULL;
	if (s->flags & SLAB_NOMAG)
		return;
	mag_lock_cpus(s);
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct mag_cpu *pc = &s->cpu[cpu];
		struct magazine *two[2] = { pc->held, pc->prev };
		for (int i = 0; i < 2; i++) {
			if (two[i] != &mag_none) {
				two[i]->next = chain;
				chain = two[i];
			}
		}
		pc->held = &mag_none;
		pc->prev = &mag_none;
	}
	depot_lock(s);
	struct depot *d = &s->depot;
	d->min_full = d->nr_full;
	d->min_empty = d->nr_empty;
	struct magazine *all = depot_trim_locked(d);
	depot_unlock(s);
	mag_unlock_cpus(s);
	mag_dispose_chain(s, chain);
	mag_dispose_chain(s, all);
}

void mag_cache_release(struct kmem_cache *s)
{
	mag_flush_all(s);
}

/* Pairs owned and depot locked. */
unsigned long mag_count_objects_locked(struct kmem_cache *s)
{
	unsigned long n = 0;
	if (s->flags & SLAB_NOMAG)
		return 0;
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
		n += s->cpu[cpu].held->rounds + s->cpu[cpu].prev->rounds;
	for (struct magazine *m = s->depot.full; m; m = m->next)
		n += m->rounds;
	return n;
}

void mag_depot_lock(struct kmem_cache *s)
{
	depot_lock(s);
}
void mag_depot_unlock(struct kmem_cache *s)
{
	depot_unlock(s);
}

static int mag_check_one(struct kmem_cache *s, struct magazine *m, const char *where,
			 unsigned int cpu)
{
	int problems = 0;
	const char *why;
	if (m == &mag_none)
		return 0;
	if (m->rounds > m->size || m == MAG_LOCKED) {
		kmm_printk("kmm_check: %s: cpu %u %s magazine holds %u of %u rounds\n",
			   s->name, cpu, where, m->rounds, m->size);
		return 1;
	}
	for (unsigned int i = 0; i < m->rounds; i++) {
		if (!slab_object_allocated_locked(s, m->objs[i], &why)) {
			kmm_printk("kmm_check: %s: object %p in a %s magazine (cpu %u) %s\n",
				   s->name, m->objs[i], where, cpu, why);
			problems++;
		}
	}
	return problems;
}

/* Pairs owned, depot locked, node locked. */
int mag_check_locked(struct kmem_cache *s)
{
	int problems = 0;
	if (s->flags & SLAB_NOMAG)
		return 0;
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
		problems += mag_check_one(s, s->cpu[cpu].held, "loaded", cpu);
		problems += mag_check_one(s, s->cpu[cpu].prev, "previous", cpu);
	}
	unsigned long nf = 0, ne = 0;
	for (struct magazine *m = s->depot.full; m; m = m->next, nf++) {
		if (m->rounds != m->size) {
			kmm_printk("kmm_check: %s: depot full magazine holds %u of %u\n",
				   s->name, m->rounds, m->size);
			problems++;
		}
		problems += mag_check_one(s, m, "depot", 0);
	}
	for (struct magazine *m = s->depot.empty; m; m = m->next, ne++) {
		if (m->rounds) {
			kmm_printk("kmm_check: %s: depot empty magazine holds %u\n",
				   s->name, m->rounds);
			problems++;
		}
	}
	if (nf != s->depot.nr_full || ne != s->depot.nr_empty) {
		kmm_printk("kmm_check: %s: depot counts %lu full %lu empty, lists hold "
			   "%lu and %lu\n", s->name, s->depot.nr_full, s->depot.nr_empty, nf, ne);
		problems++;
	}
	return problems;
}
