/*
 * slab_harden.c - the slab layer's hardening, fault injection and valgrind
 * support: everything that runs on the slow paths only.
 *
 * 1. SLOW-PATH HOOKS (SLAB_HOOKS)
 *
 * A cache with allocation hooks has cpu_alloc = mag_cpu_none, whose pairs
 * are all MAG_LOCKED: its allocation fast path (slab.h) misses on the test
 * it makes anyway, and mag_alloc_slow() comes here; free hooks do the same
 * with cpu_free and mag_free_slow().  The hooks then run the
 * same magazine pop or push on the cache's real pairs (s->cpu), so a hooked
 * cache keeps its per-CPU magazines and pays a call plus the hook's work;
 * caches without hooks pay nothing, not even a branch.  The hooks are
 * decided per cache at creation (s->hooks):
 *   SLAB_HOOK_INIT_ALLOC  init_on_alloc=1: objects are zeroed when handed
 *                         out, as the kernel's slab_want_init_on_alloc():
 *                         not for caches with a constructor, and for
 *                         SLAB_POISON / SLAB_TYPESAFE_BY_RCU caches only
 *                         with __GFP_ZERO.
 *   SLAB_HOOK_INIT_FREE   init_on_free=1: zeroed when freed (same caches).
 *   SLAB_HOOK_FAILSLAB    failslab=: should_fail() may make the allocation
 *                         return NULL; never with __GFP_NOFAIL; with
 *                         failslab.caches= only the caches named there.
 *   SLAB_HOOK_VALGRIND    running on valgrind: memcheck client requests
 *                         (section 3).
 * The boot caches (kmem_cache, the magazine caches) never have hooks: they
 * are libkmm's own, as the kernel exempts kmem_cache from failslab.
 *
 * 2. FREE-LIST HARDENING (slab layer only, no hook needed)
 *
 * Linux has these as Kconfig options, not boot parameters; here they are
 * KMM_CONF settings, on by default (as in the kernels distributions ship):
 *   slab_freelist_hardened=1 (CONFIG_SLAB_FREELIST_HARDENED): the free
 *     pointer inside a free object on a slab's freelist is stored as
 *     ptr ^ s->random ^ swab(&ptr) (slab.h: set_freepointer), s->random a
 *     per-cache secret.  Taking an object off a slab checks that the next
 *     pointer decodes to NULL or an object of the same slab; if not, the
 *     report is the kernel's "Freechain corrupt" and the rest of the chain
 *     is isolated (its objects are lost, counted as in use, as the
 *     kernel's "Isolate corrupted freechain").  Putting an object back
 *     refuses it when it is already the head of its slab's freelist (the
 *     kernel's naive double-free check) or not an object of this cache.
 *     (kmem_cache_free() redirects a wrong-cache free before, slab.c.)
 *   slab_freelist_random=1 (CONFIG_SLAB_FREELIST_RANDOM): each cache gets
 *     a random permutation of its slots at creation (s->random_seq); a new
 *     slab links its objects in that order from a random start, as the
 *     kernel's shuffle_freelist().
 * Objects in magazines hold no pointer inside them, so neither option
 * touches the fast path: they cost on slab refills and returns only.  The
 * magazine's own naive double-free check (the push compares with the
 * object freed last, slab.h) is always on: it costs a compare.
 *
 * 4. MISUSE REPORTS (slab_report_*), in 6.18's words where it has them:
 *   - a naive double free: set_freepointer()'s BUG_ON(object == fp) "naive
 *     detection of double free or corruption", an oops in the kernel; here
 *     the report, the free refused, machine.slab.double_free counted;
 *   - a free into the wrong cache: cache_from_obj()'s WARN "Wrong slab
 *     cache. A but object is from B" (and the tracking with U);
 *   - a pointer nobody handed out: "kfree of a pointer not allocated by
 *     libkmm" (or by kmalloc, for a page of libkmm's), a WARN naming the
 *     caller; the kernel would oops on most of these.
 *
 * 3. VALGRIND
 *
 * When running on valgrind's memcheck at boot (not another tool, such as
 * callgrind counting instructions), every cache but the boot caches gets
 * SLAB_HOOK_VALGRIND: an object handed out is a VALGRIND_MALLOCLIKE_BLOCK
 * of object_size bytes, a freed one a VALGRIND_FREELIKE_BLOCK (memcheck
 * then reports a use after free, a double free and, at exit, leaks, as for
 * glibc's malloc).  Such caches go around their magazines, straight to
 * the slabs: a stale pointer in a magazine slot would hide a leak.  Objects of a new slab are made NOACCESS, free pointers
 * are opened around each access (slab.h), and a slab given back to the
 * page allocator is made DEFINED again.  libkmm's own slow paths, which
 * read and write free objects (debug poisoning, red zones, kmm_check()),
 * run with error reporting off.  Off valgrind the cost is one predictable
 * branch on a slow path (slab_on_valgrind).
 *
 * LOCKING: none of its own; should_fail() is atomic; the hooks run without
 * any lock, before and after the magazine operation.
 */
#include "config.h"
#include <string.h>
#include "slab.h"

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#include <valgrind/memcheck.h>
#define KMM_VALGRIND 1
#endif

bool slab_on_valgrind;

/* ------------------------------------------------------------------ */
/* Boot and creation                                                   */

void slab_harden_init(void)
{
	struct slab_harden_state *h = &machine.slab;
	fault_attr_init(&h->failslab, &machine.conf.failslab);
	AO_store(&h->rng, (AO_t)kmm_now_ns() ^ (AO_t)(unsigned long)&h->rng);
	AO_store(&h->freechain_corrupt, 0);
	AO_store(&h->double_free, 0);
#ifdef KMM_VALGRIND
	/* memcheck only: it answers MAKE_MEM_* with -1, other tools (callgrind
	 * counting instructions) with the default 0 and get no hooks. */
	int probe = 0;
	slab_on_valgrind = RUNNING_ON_VALGRIND != 0 &&
			   VALGRIND_MAKE_MEM_DEFINED(&probe, sizeof(probe)) != 0;
#endif
}

/* failslab.caches=: a space- or comma-separated list of cache names. */
static bool failslab_names(const char *name)
{
	const char *list = machine.conf.failslab_caches;
	size_t n = strlen(name);
	if (!list[0])
		return true;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ", ");
		if (len == n && memcmp(p, name, n) == 0)
			return true;
		p += len;
		p += strspn(p, ", ");
	}
	return false;
}

slab_flags_t slab_harden_flags(const char *name, slab_flags_t flags, void (*ctor)(void *))
{
	(void)ctor;
	(void)name;
	if (machine.conf.slab_freelist_hardened)
		flags |= SLAB_FREELIST_HARDENED;
	if (machine.conf.slab_freelist_random)
		flags |= SLAB_FREELIST_RANDOM;
	return flags;
}

static unsigned int cache_hooks(const struct kmem_cache *s)
{
	const struct kmm_config *c = &machine.conf;
	unsigned int hooks = 0;
	bool may_init = !s->ctor && !(s->flags & (SLAB_POISON | SLAB_TYPESAFE_BY_RCU));
	if (s->flags & SLAB_BOOT)
		return 0;
	if (c->init_on_alloc && may_init)
		hooks |= SLAB_HOOK_INIT_ALLOC;
	if (c->init_on_free && may_init)
		hooks |= SLAB_HOOK_INIT_FREE;
	if (machine.slab.failslab.enabled && failslab_names(s->name))
		hooks |= SLAB_HOOK_FAILSLAB;
	if (slab_on_valgrind)
		hooks |= SLAB_HOOK_VALGRIND;
	return hooks;
}

/* Before the magazines are set up (they read SLAB_HOOKS): 0 or -ENOMEM. */
int slab_harden_cache_init(struct kmem_cache *s)
{
	s->hooks = cache_hooks(s);
	if (s->hooks)
		s->flags |= SLAB_HOOKS;
	if (s->flags & SLAB_FREELIST_HARDENED) {
		do
			s->random = kmm_random(&machine.slab.rng);
		while (!s->random);
	}
	if ((s->flags & SLAB_FREELIST_RANDOM) && s->objects > 1) {
		/* Boot and kmalloc caches are never failed (fail_page_alloc). */
		gfp_t gfp = GFP_KERNEL | __GFP_NOWARN |
			    ((s->flags & (SLAB_KMALLOC | SLAB_BOOT)) ? __GFP_NOFAIL : 0);
		s->random_seq = alloc_pages_exact(s->objects * sizeof(*s->random_seq), gfp);
		if (!s->random_seq)
			return -12;            /* -ENOMEM */
		/* Fisher-Yates over the slot numbers. */
		for (unsigned int i = 0; i < s->objects; i++)
			s->random_seq[i] = (unsigned short)i;
		for (unsigned int i = s->objects - 1; i > 0; i--) {
			unsigned int j = (unsigned int)(kmm_random(&machine.slab.rng) % (i + 1));
			unsigned short t = s->random_seq[i];
			s->random_seq[i] = s->random_seq[j];
			s->random_seq[j] = t;
		}
	}
	return 0;
}

void slab_harden_cache_release(struct kmem_cache *s)
{
	if (s->random_seq) {
		free_pages_exact(s->random_seq, s->objects * sizeof(*s->random_seq));
		s->random_seq = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Free lists                                                          */

void *slab_shuffle_freelist(struct kmem_cache *s, struct page *page)
{
	char *base = (char *)slab_base(page) + s->red_left_pad;
	unsigned int n = s->objects;
	unsigned int pos = (unsigned int)(kmm_random(&machine.slab.rng) % n);
	void *first = base + (size_t)s->random_seq[pos] * s->size;
	void *cur = first;
	for (unsigned int i = 1; i < n; i++) {
		if (++pos == n)
			pos = 0;
		void *next = base + (size_t)s->random_seq[pos] * s->size;
		set_freepointer(s, cur, next);
		cur = next;
	}
	set_freepointer(s, cur, NULL);
	return first;
}

bool slab_freeptr_valid(const struct kmem_cache *s, const struct page *page, const void *fp)
{
	if (!fp)
		return true;
	unsigned long off = (unsigned long)((const char *)fp - (const char *)slab_base(page)) -
			    s->red_left_pad;
	return off < (unsigned long)page->objects * s->size && off % s->size == 0;
}

void slab_report_freechain(struct kmem_cache *s, struct page *page, void *obj, void *fp)
{
	AO_fetch_and_add1(&machine.slab.freechain_corrupt);
	kmm_printk("=============================================================================\n"
		   "BUG %s (Not tainted): Freechain corrupt\n"
		   "-----------------------------------------------------------------------------\n\n"
		   "Slab 0x%lx objects=%u used=%u\n"
		   "Object 0x%lx: its free pointer decodes to 0x%lx, not an object of the "
		   "slab (overwritten after free?)\n\n"
		   "FIX %s: Isolate corrupted freechain\n",
		   s->name, (unsigned long)page, page->objects, page->inuse,
		   (unsigned long)obj, (unsigned long)fp, s->name);
}

/*
 * The kernel stops at set_freepointer()'s BUG_ON(object == fp) ("naive
 * detection of double free or corruption"): an oops.  Here the report has
 * its words, the free is refused and the program goes on.
 */
void slab_report_double_free(struct kmem_cache *s, const void *obj, unsigned long caller)
{
	char site[160];
	AO_fetch_and_add1(&machine.slab.double_free);
	slab_format_ip(site, sizeof(site), caller);
	kmm_printk("------------[ cut here ]------------\n"
		   "kernel BUG at mm/slub.c: set_freepointer(): BUG_ON(object == fp): "
		   "naive detection of double free or corruption\n"
		   "%s: double free of object 0x%lx%s%s: not freed again\n",
		   s->name, (unsigned long)obj, caller ? " by " : "", caller ? site : "");
}

void slab_report_bad_pointer(const char *who, const char *what, const void *p,
			     unsigned long caller)
{
	const char *hint = "";
	if (is_vmalloc_addr(p)) {
		what = "kmalloc";
		hint = " (a vmalloc address: use vfree() or kvfree())";
	} else if (machine.mem.direct_map &&
		 (unsigned long)((const char *)p - machine.mem.direct_map) <
		 machine.mem.max_pfn << PAGE_SHIFT)
		what = "kmalloc";              /* HighMem: libkmm's, never kmalloc's */
	slab_warn(caller, "%s of a pointer not allocated by %s: 0x%lx%s\n", who, what,
		  (unsigned long)p, hint);
}

void slab_report_wrong_cache(struct kmem_cache *s, const void *obj,
			     struct kmem_cache *owner, unsigned long caller)
{
	slab_warn(caller, "cache_from_obj: Wrong slab cache. %s but object is from %s\n",
		  s ? s->name : "(null)", owner->name);
	kmm_printk("Object 0x%lx freed into %s\n", (unsigned long)obj, owner->name);
	debug_print_tracking(owner, (void *)obj);
}

/* ------------------------------------------------------------------ */
/* Valgrind                                                            */

void slab_vg_access(const void *addr, size_t len, bool open)
{
#ifdef KMM_VALGRIND
	if (open)
		VALGRIND_MAKE_MEM_DEFINED(addr, len);
	else
		VALGRIND_MAKE_MEM_NOACCESS(addr, len);
#else
	(void)addr;
	(void)len;
	(void)open;
#endif
}

/* libkmm's own accesses to free objects are not the program's errors. */
void slab_vg_quiet(bool quiet)
{
#ifdef KMM_VALGRIND
	if (quiet)
		VALGRIND_DISABLE_ERROR_REPORTING;
	else
		VALGRIND_ENABLE_ERROR_REPORTING;
#else
	(void)quiet;
#endif
}

void slab_vg_new_slab(struct kmem_cache *s, struct page *page)
{
#ifdef KMM_VALGRIND
	VALGRIND_MAKE_MEM_NOACCESS(slab_base(page), PAGE_SIZE << s->order);
#else
	(void)s;
	(void)page;
#endif
}

void slab_vg_discard_slab(struct kmem_cache *s, struct page *page)
{
#ifdef KMM_VALGRIND
	VALGRIND_MAKE_MEM_DEFINED(slab_base(page), PAGE_SIZE << s->order);
#else
	(void)s;
	(void)page;
#endif
}

/* ------------------------------------------------------------------ */
/* The hooks                                                           */

bool slab_hook_zeroed(const struct kmem_cache *s, gfp_t gfp)
{
	(void)gfp;
	return (s->hooks & SLAB_HOOK_INIT_ALLOC) != 0;
}

/*
 * On valgrind the magazines are bypassed: a magazine slot above `rounds`
 * keeps a stale copy of a pointer it handed out, which memcheck's leak
 * scan would count as a reference.  Objects go to and from the slabs
 * directly, error reporting off while libkmm touches free objects.
 */
static noinline void *hooked_alloc_valgrind(struct kmem_cache *s, gfp_t gfp,
					    unsigned long caller)
{
	slab_vg_quiet(true);
	void *obj = slab_alloc(s, gfp, caller);
	slab_vg_quiet(false);
	return obj;
}

static noinline void hooked_free_valgrind(struct kmem_cache *s, void *obj,
					  unsigned long caller)
{
	slab_vg_quiet(true);
	slab_free(s, obj, caller);
	slab_vg_quiet(false);
}

void *slab_alloc_hooked(struct kmem_cache *s, gfp_t gfp, unsigned long caller)
{
	unsigned int hooks = s->hooks;
	void *obj;
	if ((hooks & SLAB_HOOK_FAILSLAB) && should_failslab(gfp, s->object_size))
		return NULL;
	if (hooks & SLAB_HOOK_VALGRIND) {
		obj = hooked_alloc_valgrind(s, gfp, caller);
		goto got;
	}
	mag_pop(s->cpu, obj, refill);
	goto got;
refill:
	obj = mag_alloc_refill(s, gfp, caller);
got:
	if (unlikely(!obj))
		return NULL;
#ifdef KMM_VALGRIND
	if (hooks & SLAB_HOOK_VALGRIND)
		VALGRIND_MALLOCLIKE_BLOCK(obj, s->object_size, 0,
					  (hooks & SLAB_HOOK_INIT_ALLOC) != 0);
#endif
	if (hooks & SLAB_HOOK_INIT_ALLOC)
		memset(obj, 0, s->object_size);
	return obj;
}

void slab_free_hooked(struct kmem_cache *s, void *obj, unsigned long caller)
{
	unsigned int hooks = s->hooks;
	if (hooks & SLAB_HOOK_INIT_FREE)
		memset(obj, 0, s->object_size);
#ifdef KMM_VALGRIND
	if (hooks & SLAB_HOOK_VALGRIND) {
		VALGRIND_FREELIKE_BLOCK(obj, 0);
		hooked_free_valgrind(s, obj, caller);
		return;
	}
#endif
	mag_push_checked(s->cpu, obj, refill);
	return;
refill:
	mag_free_refill(s, obj, caller);
}
