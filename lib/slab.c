/*
 * slab.c - kmem_cache: object caches on slabs, the layer under the per-CPU
 * magazines (magazine.c), and /proc/slabinfo.
 *
 * SLABS
 *
 * A slab is a compound page of 2^order frames (alloc_pages(__GFP_COMP))
 * whose head struct page is the descriptor, as SLUB's struct slab:
 * PG_slab, slab_cache, freelist (first free object), inuse, objects and
 * slab_list.  virt_to_head_page(obj)->slab_cache finds an object's cache in
 * O(1), which is all kfree() needs.  A slab is cut into `objects` slots of
 * `size` bytes from its first byte:
 *
 *   slot:  [left red zone][object ... object_size][right red zone]
 *          [free pointer if outside][track alloc][track free][pad to align]
 *
 * Without debugging the slot is the object rounded up to its alignment, the
 * free pointer lives inside the free object (in its middle, as SLUB, so a
 * small overflow of the previous object does not hit it), except for caches
 * with a constructor, whose objects keep their constructed state while free.
 * Slot boundaries are multiples of `size` from a page-aligned base, so an
 * alignment that divides `size` holds for every object; kmalloc's
 * power-of-two caches are naturally aligned.
 *
 * Order: as SLUB's calculate_order(): the smallest order that holds at
 * least 4 * (fls(nr_cpus) + 1) objects with at most 1/16 of the slab
 * wasted, relaxing to 1/8 and 1/4 and fewer objects, up to
 * PAGE_ALLOC_COSTLY_ORDER.
 *
 * Constructors run once per object when its slab is created, without any
 * lock held; never on allocation.
 *
 * LISTS AND COUNTS (node lock)
 *
 * Every slab is on one of the cache's lists: partial (some objects free),
 * full, empty.  Allocation takes from partial slabs first, then empty
 * ones, then a new slab.  An emptied slab is kept for reuse while the
 * cache holds at most SLAB_KEEP_EMPTY of them (none for the boot caches),
 * otherwise it goes back to the page allocator at once; kmem_cache_shrink()
 * flushes the magazines and returns every empty slab.
 * node.inuse = sum of slab inuse = objects in magazines + objects in the
 * callers' hands.
 *
 * FREEING, CHECKED.  kmem_cache_free(s, obj) first makes sure that obj is
 * in the direct map and that its page names s, as 6.18's cache_from_obj()
 * does with CONFIG_SLAB_FREELIST_HARDENED: anything else goes to
 * slab_cache_free_slow(), which reports a pointer no cache handed out
 * (outside the direct map: "kmem_cache_free of a pointer not allocated by
 * libkmm"; a page that is no slab: "virt_to_cache: Object is not a Slab
 * page!") and leaves it alone, and frees an object of another cache into
 * that cache after "cache_from_obj: Wrong slab cache. A but object is from
 * B", so that every count stays right.  The magazine push refuses the
 * object freed last (mag_push_checked), the slab layer its slab's first
 * free object: a naive double free.
 *
 * CREATING.  As slab_common.c with CONFIG_DEBUG_VM: a name that exists and
 * a name with a space are warned about (and the cache made); the alignment
 * is raised to 8 and, here, to a power of two (3 gives 8).
 *
 * LOCKING: slab_mutex (list of caches, create/destroy, check, slabinfo,
 * slab_shrink_all), then the magazine pairs and depot of a cache, then its
 * node lock, then the page allocator.  slabinfo and kmm_check snapshot
 * under the locks and print with none held; slabinfo a batch of rows at a
 * time, so that any number of caches is shown.
 *
 * DIFFERENCES FROM LINUX: no cache merging, one node, no per-CPU slabs
 * (the magazine layer stands in for them), no RCU-delayed slab freeing.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "slab.h"

#define SLAB_KEEP_EMPTY 2
#define SLUB_MAX_ORDER PAGE_ALLOC_COSTLY_ORDER

pthread_mutex_t slab_mutex = PTHREAD_MUTEX_INITIALIZER;
unsigned long slab_vmemmap;
unsigned long slab_dm_base;
unsigned long slab_dm_pfns;             /* 0 until slab_init(): all outside */
struct page *slab_mem_map;
struct list_head slab_caches = LIST_HEAD_INIT(slab_caches);

static struct kmem_cache kmem_cache_boot;
static struct kmem_cache *kmem_cache;   /* the cache of struct kmem_cache */

static inline unsigned int fls_uint(unsigned int x)
{
	return x ? 32 - (unsigned int)__builtin_clz(x) : 0;
}

static inline unsigned int get_order_size(unsigned long size)
{
	unsigned int order = 0;
	while ((PAGE_SIZE << order) < size)
		order++;
	return order;
}

/* ------------------------------------------------------------------ */
/* Geometry                                                            */

static unsigned int calc_slab_order(unsigned int size, unsigned int min_objects,
				    unsigned int max_order, unsigned int fract)
{
	unsigned int order = get_order_size((unsigned long)min_objects * size);
	for (; order <= max_order; order++) {
		unsigned long slab_size = PAGE_SIZE << order;
		unsigned long rem = slab_size % size;
		if (rem <= slab_size / fract)
			break;
	}
	return order;
}

static unsigned int calculate_order(unsigned int size)
{
	unsigned int min_objects = 4 * (fls_uint(nr_cpu_ids) + 1);
	unsigned int max_objects = (unsigned int)((PAGE_SIZE << SLUB_MAX_ORDER) / size);
	if (min_objects > max_objects)
		min_objects = max_objects;
	while (min_objects >= 1) {
		for (unsigned int fract = 16; fract >= 4; fract /= 2) {
			unsigned int order = calc_slab_order(size, min_objects,
							     SLUB_MAX_ORDER, fract);
			if (order <= SLUB_MAX_ORDER)
				return order;
		}
		min_objects /= 2;
	}
	unsigned int order = calc_slab_order(size, 1, SLUB_MAX_ORDER, 1);
	if (order <= SLUB_MAX_ORDER)
		return order;
	return get_order_size(size);
}

/*
 * As slab_common.c's calculate_alignment(): the cache line for
 * SLAB_HWCACHE_ALIGN (halved while the object fits twice), at least
 * ARCH_SLAB_MINALIGN (8), a multiple of the word.  The kernel then uses a
 * multiple of the word that is not a power of two as it is (ALIGN() with
 * it is wrong); here it is rounded up to a power of two, so that 3 gives
 * 8 in both, 24 gives 32 here.
 */
static unsigned int calculate_alignment(slab_flags_t flags, unsigned int align,
					unsigned int size)
{
	if (flags & SLAB_HWCACHE_ALIGN) {
		unsigned int ralign = 64;
		while (size <= ralign / 2)
			ralign /= 2;
		if (ralign > align)
			align = ralign;
	}
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (align & (align - 1))
		align = 1u << fls_uint(align);
	return align;
}

static int calculate_sizes(struct kmem_cache *s)
{
	slab_flags_t flags = s->flags;
	unsigned int size = ALIGN_UP(s->object_size, (unsigned int)sizeof(void *));

	if ((flags & SLAB_RED_ZONE) && size == s->object_size)
		size += sizeof(void *);        /* room for a right red zone */
	s->inuse = size;
	if (s->ctor || (flags & (SLAB_POISON | SLAB_TYPESAFE_BY_RCU)) ||
	    (flags & SLAB_RED_ZONE)) {
		s->offset = size;              /* free pointer after the object */
		size += sizeof(void *);
	} else {
		s->offset = ALIGN_DOWN(s->object_size / 2, (unsigned int)sizeof(void *));
	}
	if (flags & SLAB_STORE_USER) {
		s->track_offset = size;
		size += debug_track_size();
	}
	/* The kmalloc redzone needs the size asked for (SLUB keeps it after
	 * the tracks with SLAB_STORE_USER; here red zones alone keep it). */
	s->orig_size_offset = 0;
	if ((flags & SLAB_KMALLOC) && (flags & SLAB_RED_ZONE)) {
		s->orig_size_offset = size;
		size += sizeof(unsigned long);
	}
	s->red_left_pad = 0;
	if (flags & SLAB_RED_ZONE) {
		s->red_left_pad = ALIGN_UP((unsigned int)sizeof(void *), s->align);
		size += s->red_left_pad;
	}
	s->size = ALIGN_UP(size, s->align);
	s->order = calculate_order(s->size);
	s->objects = (unsigned int)((PAGE_SIZE << s->order) / s->size);
	return s->objects ? 0 : -EINVAL;
}

static void cache_init_common(struct kmem_cache *s, const char *name, unsigned int size,
			      unsigned int align, slab_flags_t flags, void (*ctor)(void *))
{
	size_t len = strlen(name);
	if (len >= sizeof(s->name))
		len = sizeof(s->name) - 1;
	memcpy(s->name, name, len);
	s->name[len] = '\0';
	s->object_size = size;
	s->flags = flags;
	s->ctor = ctor;
	s->align = calculate_alignment(flags, align, size);
	s->allocflags = 0;
	if (flags & SLAB_CACHE_DMA)
		s->allocflags |= __GFP_DMA;
	if (flags & SLAB_CACHE_DMA32)
		s->allocflags |= __GFP_DMA32;
	if (flags & SLAB_RECLAIM_ACCOUNT)
		s->allocflags |= __GFP_RECLAIMABLE;
	pthread_mutex_init(&s->node.lock, NULL);
	INIT_LIST_HEAD(&s->node.partial);
	INIT_LIST_HEAD(&s->node.full);
	INIT_LIST_HEAD(&s->node.empty);
	s->depot.lock = (kmm_spinlock_t)KMM_SPINLOCK_INIT;
	s->cpu = mag_cpu_none;
	s->cpu_alloc = mag_cpu_none;
	s->cpu_free = mag_cpu_none;
}

/* A cache in static storage, without magazines (boot: no malloc). */
int slab_create_boot(struct kmem_cache *s, const char *name, unsigned int size,
		     unsigned int align, slab_flags_t flags, void (*ctor)(void *))
{
	memset(s, 0, sizeof(*s));
	flags = slab_harden_flags(name, flags, ctor);
	cache_init_common(s, name, size, align, flags | SLAB_NOMAG | SLAB_BOOT, ctor);
	int ret = calculate_sizes(s);
	if (!ret)
		ret = slab_harden_cache_init(s);
	if (ret)
		return ret;
	pthread_mutex_lock(&slab_mutex);
	list_add_tail(&s->list, &slab_caches);
	pthread_mutex_unlock(&slab_mutex);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Slabs                                                               */

static inline bool cache_keeps_empty(const struct kmem_cache *s)
{
	/* Boot caches give empty slabs back at once, so that destroying a
	 * cache returns every frame it took. */
	return !(s->flags & SLAB_BOOT);
}

static void slab_account(struct kmem_cache *s, long frames)
{
	kmm_stat_add((s->flags & SLAB_RECLAIM_ACCOUNT) ? NR_SLAB_RECLAIMABLE :
		     NR_SLAB_UNRECLAIMABLE, frames);
}

/* As slab_common.c's kmalloc_fix_flags(). */
noinline gfp_t kmalloc_fix_flags(gfp_t gfp, unsigned long caller)
{
	static struct ratelimit_state rs = RATELIMIT_STATE_INIT(5, 10);
	gfp_t invalid = gfp & GFP_SLAB_BUG_MASK;
	gfp &= ~GFP_SLAB_BUG_MASK;
	if (kmm_ratelimit(&rs)) {
		char was[64], now[256];
		kmm_format_gfp(was, sizeof(was), invalid);
		kmm_format_gfp(now, sizeof(now), gfp);
		kmm_printk("Unexpected gfp: %#x (%s). Fixing up to gfp: %#x (%s). "
			   "Fix your code!\n", invalid, was, gfp, now);
		slab_dump_stack(caller);
	}
	return gfp;
}

/* A new slab, objects constructed and linked; no lock held.  As the
 * kernel's new_slab(), the caller's zone modifiers that no slab can have
 * are warned about and dropped (the cache's own, DMA, are its allocflags). */
static struct page *slab_new(struct kmem_cache *s, gfp_t gfp)
{
	if (unlikely(gfp & GFP_SLAB_BUG_MASK))
		gfp = kmalloc_fix_flags(gfp, 0);
	gfp_t pg = (gfp & ~(__GFP_ZERO | __GFP_DMA | __GFP_MOVABLE | __GFP_RECLAIMABLE)) |
		   s->allocflags | __GFP_COMP;
	struct page *page = alloc_pages(pg, s->order);
	if (!page)
		return NULL;
	char *base = slab_base(page);
	void *prev = NULL;
	bool shuffle = s->random_seq != NULL;
	for (unsigned int i = s->objects; i-- > 0;) {
		void *obj = base + (size_t)i * s->size + s->red_left_pad;
		if (unlikely(s->flags & SLAB_DEBUG_FLAGS))
			debug_new_object(s, obj);
		if (s->ctor)
			s->ctor(obj);
		if (!shuffle)
			set_freepointer(s, obj, prev);
		prev = obj;
	}
	if (unlikely(slab_on_valgrind) && (s->hooks & SLAB_HOOK_VALGRIND))
		slab_vg_new_slab(s, page);
	if (shuffle)
		prev = slab_shuffle_freelist(s, page);
	page->freelist = prev;
	page->inuse = 0;
	page->objects = s->objects;
	INIT_LIST_HEAD(&page->slab_list);
	/* Every page knows its cache: kfree() reads its own struct page. */
	for (unsigned long i = 0; i < (1UL << s->order); i++) {
		page[i].slab_cache = s;
		page_set_flag(&page[i], PG_slab);
	}
	slab_account(s, 1L << s->order);
	AO_fetch_and_add1((volatile AO_t *)&s->stat_slabs_alloc);
	return page;
}

static void slab_discard(struct kmem_cache *s, struct page *page)
{
	if (unlikely(slab_on_valgrind) && (s->hooks & SLAB_HOOK_VALGRIND))
		slab_vg_discard_slab(s, page);
	for (unsigned long i = 1; i < (1UL << s->order); i++) {
		page_clear_flag(&page[i], PG_slab);
		page[i].slab_cache = NULL;
	}
	page_clear_flag(page, PG_slab);
	page->slab_cache = NULL;
	page->freelist = NULL;
	page->slab_list.next = page->slab_list.prev = NULL;
	page->inuse = page->objects = 0;
	slab_account(s, -(1L << s->order));
	AO_fetch_and_add1((volatile AO_t *)&s->stat_slabs_free);
	__free_pages(page, s->order);
}

/*
 * Node lock held: obj, the head of the slab's freelist, has a free pointer
 * that decodes to no object of the slab.  Report it, hand obj out, and
 * isolate the rest of the chain: the slab becomes full, its lost objects
 * count as in use forever (as the kernel's "Isolate corrupted freechain").
 */
static noinline void *slab_take_corrupt_locked(struct kmem_cache *s, struct page *page,
					       void *obj, void *next)
{
	struct kmem_cache_node *n = &s->node;
	slab_report_freechain(s, page, obj, next);
	if (page->inuse == 0)
		n->nr_empty--;
	else if (page->inuse < page->objects)
		n->nr_partial--;
	else
		n->nr_full--;
	n->inuse += page->objects - page->inuse;
	page->inuse = page->objects;
	page->freelist = NULL;
	list_move(&page->slab_list, &n->full);
	n->nr_full++;
	return obj;
}

/* Node lock held: one object off a slab; moves the slab between lists. */
static inline void *slab_take_locked(struct kmem_cache *s, struct page *page)
{
	struct kmem_cache_node *n = &s->node;
	void *obj = page->freelist;
	void *next = get_freepointer(s, obj);
	if (unlikely(s->flags & SLAB_FREELIST_HARDENED) && !slab_freeptr_valid(s, page, next))
		return slab_take_corrupt_locked(s, page, obj, next);
	page->freelist = next;
	if (page->inuse++ == 0) {
		n->nr_empty--;
		if (page->inuse == page->objects) {
			list_move(&page->slab_list, &n->full);
			n->nr_full++;
		} else {
			list_move(&page->slab_list, &n->partial);
			n->nr_partial++;
		}
	} else if (page->inuse == page->objects) {
		list_move(&page->slab_list, &n->full);
		n->nr_partial--;
		n->nr_full++;
	}
	n->inuse++;
	return obj;
}

/* Node lock held: put an object back; true when the slab is to be freed. */
static inline bool slab_put_locked(struct kmem_cache *s, struct page *page, void *obj)
{
	struct kmem_cache_node *n = &s->node;
	set_freepointer(s, obj, page->freelist);
	page->freelist = obj;
	n->inuse--;
	if (page->inuse-- == page->objects) {
		n->nr_full--;
		if (page->inuse == 0) {
			list_move(&page->slab_list, &n->empty);
			n->nr_empty++;
		} else {
			list_move(&page->slab_list, &n->partial);
			n->nr_partial++;
		}
	} else if (page->inuse == 0) {
		list_move(&page->slab_list, &n->empty);
		n->nr_partial--;
		n->nr_empty++;
	}
	if (page->inuse == 0 && (n->nr_empty > SLAB_KEEP_EMPTY || !cache_keeps_empty(s))) {
		list_del(&page->slab_list);
		n->nr_empty--;
		n->nr_slabs--;
		n->total_objects -= page->objects;
		return true;
	}
	return false;
}

static inline struct page *slab_pick_locked(struct kmem_cache *s)
{
	struct kmem_cache_node *n = &s->node;
	if (!list_empty(&n->partial))
		return list_first_entry(&n->partial, struct page, slab_list);
	if (!list_empty(&n->empty))
		return list_first_entry(&n->empty, struct page, slab_list);
	return NULL;
}

static void slab_add_locked(struct kmem_cache *s, struct page *page)
{
	struct kmem_cache_node *n = &s->node;
	list_add(&page->slab_list, &n->empty);
	n->nr_empty++;
	n->nr_slabs++;
	n->total_objects += page->objects;
}

bool slab_is_object_start(const struct kmem_cache *s, const struct page *slab,
			  const void *obj)
{
	unsigned long off = (unsigned long)((const char *)obj - (const char *)slab_base(slab)) -
			    s->red_left_pad;
	return off % s->size == 0 && off / s->size < slab->objects;
}

/*
 * SLAB_FREELIST_HARDENED, node lock held: refuse to put back an object that
 * is already its slab's first free object (the kernel's naive double-free
 * check, set_freepointer()'s BUG_ON(object == fp)), or is not the start of
 * an object of this cache.  Every pointer here came through a checked free
 * (kfree, kmem_cache_free), so these are the last line.  Nothing is printed
 * under the lock but kmm_printk's write(2).
 */
static noinline bool slab_put_hardened_ok(struct kmem_cache *s, struct page *page,
					  void *obj)
{
	if (!page_test_flag(page, PG_slab) || page->slab_cache != s ||
	    !slab_is_object_start(s, page, obj)) {
		debug_report_not_slab(s, obj);
		return false;
	}
	if (page->freelist == obj) {
		slab_report_double_free(s, obj, 0);
		return false;
	}
	return true;
}

/*
 * A slab with a free object: a partial one, or a new one.  Called and
 * returns with node.lock held, which is dropped while the new slab's pages
 * are allocated.  NULL when no memory could be had.
 */
static struct page *slab_pick_or_new_locked(struct kmem_cache *s, gfp_t gfp)
{
	struct page *page = slab_pick_locked(s);
	if (page)
		return page;
	pthread_mutex_unlock(&s->node.lock);
	page = slab_new(s, gfp);
	pthread_mutex_lock(&s->node.lock);
	if (page)
		slab_add_locked(s, page);
	return page;
}

size_t slab_alloc_batch(struct kmem_cache *s, gfp_t gfp, size_t want, void **p)
{
	size_t got = 0;
	pthread_mutex_lock(&s->node.lock);
	while (got < want) {
		struct page *page = slab_pick_or_new_locked(s, gfp);
		if (!page)
			break;
		while (got < want && page->freelist)
			p[got++] = slab_take_locked(s, page);
	}
	pthread_mutex_unlock(&s->node.lock);
	return got;
}

void slab_free_batch(struct kmem_cache *s, size_t count, void **p)
{
	struct page *to_free[16];
	size_t nfree = 0;
	pthread_mutex_lock(&s->node.lock);
	for (size_t i = 0; i < count; i++) {
		struct page *page = obj_to_head_page(p[i]);
		if (unlikely(s->flags & SLAB_FREELIST_HARDENED) &&
		    !slab_put_hardened_ok(s, page, p[i]))
			continue;
		if (slab_put_locked(s, page, p[i])) {
			if (nfree == ARRAY_SIZE(to_free)) {
				pthread_mutex_unlock(&s->node.lock);
				for (size_t j = 0; j < nfree; j++)
					slab_discard(s, to_free[j]);
				nfree = 0;
				pthread_mutex_lock(&s->node.lock);
			}
			to_free[nfree++] = page;
		}
	}
	pthread_mutex_unlock(&s->node.lock);
	for (size_t j = 0; j < nfree; j++)
		slab_discard(s, to_free[j]);
}

/* One object straight from the slabs: caches without magazines. */
void *slab_alloc(struct kmem_cache *s, gfp_t gfp, unsigned long caller)
{
	void *obj = NULL;
	if (likely(!(s->flags & SLAB_DEBUG_FLAGS)))
		return slab_alloc_batch(s, gfp, 1, &obj) ? obj : NULL;
	pthread_mutex_lock(&s->node.lock);
	struct page *page = slab_pick_or_new_locked(s, gfp);
	if (page) {
		obj = slab_take_locked(s, page);
		/* A corrupted free object is reported, repaired and used. */
		debug_alloc_check(s, page, obj, caller);
	}
	pthread_mutex_unlock(&s->node.lock);
	return obj;
}

void slab_free(struct kmem_cache *s, void *obj, unsigned long caller)
{
	if (likely(!(s->flags & SLAB_DEBUG_FLAGS))) {
		slab_free_batch(s, 1, &obj);
		return;
	}
	bool discard = false;
	struct page *page = NULL;
	/* kmem_cache_free() and kfree() sent obj here: in a slab of s. */
	if (!addr_in_direct_map(obj) ||
	    !page_test_flag(page = obj_to_head_page(obj), PG_slab) || page->slab_cache != s) {
		debug_report_not_slab(s, obj);
		return;
	}
	pthread_mutex_lock(&s->node.lock);
	if (unlikely(s->flags & SLAB_FREELIST_HARDENED) && page->freelist == obj &&
	    !(s->flags & SLAB_CONSISTENCY_CHECKS))
		slab_report_double_free(s, obj, caller);   /* F says it its own way */
	else if (debug_free_check(s, page, obj, caller))
		discard = slab_put_locked(s, page, obj);
	pthread_mutex_unlock(&s->node.lock);
	if (discard)
		slab_discard(s, page);
}

/* Node lock held: obj is an object of s that is not on a freelist. */
bool slab_object_allocated_locked(struct kmem_cache *s, const void *obj,
				  const char **why)
{
	if (!addr_in_direct_map(obj)) {
		*why = "is not in the direct map";
		return false;
	}
	struct page *page = obj_to_head_page(obj);
	if (!page_test_flag(page, PG_slab) || page->slab_cache != s) {
		*why = "is not in a slab of this cache";
		return false;
	}
	char *base = slab_base(page);
	unsigned long off = (unsigned long)((const char *)obj - base) - s->red_left_pad;
	if (off % s->size || off / s->size >= page->objects) {
		*why = "is not at an object's start";
		return false;
	}
	unsigned int steps = 0;
	for (void *f = page->freelist; f && steps <= page->objects;
	     f = get_freepointer(s, f), steps++) {
		if (f == obj) {
			*why = "is also on its slab's freelist";
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* The public API                                                      */

/*
 * The checks of slab_common.c's kmem_cache_sanity_check() as a kernel with
 * CONFIG_DEBUG_VM makes them: no name, or a size above KMALLOC_MAX_SIZE,
 * fails ("integrity check failed"); a name another cache has already
 * ("Duplicate names will confuse slabtop, et al") and a name with a space
 * ("It confuses parsers") are warned about, and the cache is made all the
 * same.  (Without CONFIG_DEBUG_VM the kernel says nothing, and may merge
 * the new cache into a compatible one; libkmm does not merge.)
 * slab_mutex held.
 */
static int cache_sanity_check_locked(const char *name, unsigned int size,
				     unsigned long caller)
{
	char cut[KMEM_CACHE_NAME_MAX];
	struct list_head *pos;
	if (!name || size > KMALLOC_MAX_SIZE) {
		kmm_printk("kmem_cache_create(%s) integrity check failed\n",
			   name ? name : "(null)");
		return -EINVAL;
	}
	snprintf(cut, sizeof(cut), "%s", name);     /* as cache_init_common() keeps it */
	list_for_each(pos, &slab_caches) {
		if (strcmp(list_entry(pos, struct kmem_cache, list)->name, cut) == 0) {
			slab_warn(caller, "kmem_cache of name '%s' already exists\n", name);
			break;
		}
	}
	if (strchr(name, ' '))
		slab_warn(caller, "kmem_cache_create(%s): a space in the name confuses "
			  "parsers of /proc/slabinfo\n", name);
	return 0;
}

static struct kmem_cache *cache_create(const char *name, unsigned int size,
				       unsigned int align, slab_flags_t flags,
				       void (*ctor)(void *), unsigned long caller)
{
	struct kmem_cache *s = NULL;
	int err = -EINVAL;
	if (!kmm_ensure_up())
		return NULL;            /* boot could not get memory */
	pthread_mutex_lock(&slab_mutex);
	err = cache_sanity_check_locked(name, size, caller);
	pthread_mutex_unlock(&slab_mutex);
	if (err)
		goto fail;
	err = -EINVAL;
	if (size == 0 || align > PAGE_SIZE || !kmem_cache)
		goto fail;
	flags = slub_debug_flags(name, flags);
	flags = slab_harden_flags(name, flags, ctor);
	if (flags & SLAB_DEBUG_FLAGS)
		flags |= SLAB_NOMAG;
	/* The kmalloc caches are made at boot: never failed (fail_page_alloc). */
	err = -ENOMEM;
	s = slab_alloc(kmem_cache, (flags & SLAB_KMALLOC) ? GFP_KERNEL | __GFP_NOFAIL :
		       GFP_KERNEL | __GFP_NOWARN, 0);
	if (!s)
		goto fail;
	memset(s, 0, sizeof(*s));
	cache_init_common(s, name, size, align, flags, ctor);
	err = calculate_sizes(s);
	if (!err)
		err = slab_harden_cache_init(s);
	if (err) {
		slab_harden_cache_release(s);
		slab_free(kmem_cache, s, 0);
		s = NULL;
		goto fail;
	}
	if (!(flags & SLAB_NOMAG)) {
		/* After the cache: the pair at index -1, then one per CPU. */
		s->cpu = (struct mag_cpu *)(void *)((char *)s +
			ALIGN_UP(sizeof(struct kmem_cache), sizeof(struct mag_cpu))) + 1;
		mag_cache_init(s);
	}
	pthread_mutex_lock(&slab_mutex);
	list_add_tail(&s->list, &slab_caches);
	pthread_mutex_unlock(&slab_mutex);
	return s;
fail:
	/* As __kmem_cache_create_args(). */
	if (flags & SLAB_PANIC) {
		kmm_printk("__kmem_cache_create_args: Failed to create slab '%s'. Error %d\n",
			   name ? name : "(null)", err);
		abort();
	}
	kmm_printk("__kmem_cache_create_args(%s) failed with error %d\n",
		   name ? name : "(null)", err);
	slab_dump_stack(caller);
	return NULL;
}

struct kmem_cache *kmem_cache_create_flags(const char *name, unsigned int size,
		unsigned int align, slab_flags_t flags, void (*ctor)(void *))
{
	return cache_create(name, size, align, flags, ctor, _RET_IP_);
}

KMM_EXPORT struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
		unsigned int align, slab_flags_t flags, void (*ctor)(void *))
{
	return cache_create(name, size, align,
			    flags & ~(SLAB_NOMAG | SLAB_BOOT | SLAB_KMALLOC), ctor, _RET_IP_);
}

/* __GFP_ZERO, out of line so that kmem_cache_alloc() stays a leaf. */
static noinline void *kmem_cache_alloc_zero(struct kmem_cache *s, gfp_t gfp,
					    unsigned long caller)
{
	void *obj = mag_alloc_caller(s, gfp, caller);
	if (obj && !slab_hook_zeroed(s, gfp))
		memset(obj, 0, s->object_size);
	return obj;
}

/*
 * The fast path: the __GFP_ZERO test and the magazine pop of slab.h, 15
 * instructions and no stack frame; a miss is a tail call.  (Its free is 24
 * with the checks below.)
 */
KMM_EXPORT void *kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp)
{
	if (unlikely(gfp & __GFP_ZERO))
		return kmem_cache_alloc_zero(s, gfp, _RET_IP_);
	return mag_alloc(s, gfp);
}

/* One node (NUMA_NO_NODE or any other: node 0), as without CONFIG_NUMA. */
KMM_EXPORT void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t gfp, int node)
{
	(void)node;
	if (unlikely(gfp & __GFP_ZERO))
		return kmem_cache_alloc_zero(s, gfp, _RET_IP_);
	return mag_alloc(s, gfp);
}

/* No memcg to charge: the list_lru is not used. */
KMM_EXPORT void *kmem_cache_alloc_lru(struct kmem_cache *s, struct list_lru *lru, gfp_t gfp)
{
	(void)lru;
	if (unlikely(gfp & __GFP_ZERO))
		return kmem_cache_alloc_zero(s, gfp, _RET_IP_);
	return mag_alloc(s, gfp);
}

KMM_EXPORT void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t gfp)
{
	return kmem_cache_alloc_zero(s, gfp | __GFP_ZERO,
				     (unsigned long)__builtin_return_address(0));
}

/*
 * cache_from_obj(), as the kernel makes it with CONFIG_SLAB_FREELIST_HARDENED
 * (or F): the object's own struct page must name s.  A NULL object, one
 * outside the direct map, in a page that is not a slab, or in another
 * cache's slab is sorted out by slab_cache_free_slow(); nothing else but a
 * slab page holds a struct kmem_cache pointer in that word.  With the
 * double-free compare of mag_free(): 9 instructions more than the bare
 * magazine push.
 */
KMM_EXPORT void kmem_cache_free(struct kmem_cache *s, void *obj)
{
	unsigned long pfn = slab_dm_pfn(obj);
	if (unlikely(pfn >= slab_dm_pfns || slab_mem_map[pfn].slab_cache != s)) {
		slab_cache_free_slow(s, obj, _RET_IP_);
		return;
	}
	mag_free(s, obj);
}

noinline void slab_cache_free_slow(struct kmem_cache *s, void *obj, unsigned long caller)
{
	if (!obj)
		return;
	unsigned long pfn = slab_dm_pfn(obj);
	if (pfn >= slab_dm_pfns) {
		slab_report_bad_pointer("kmem_cache_free", "libkmm", obj, caller);
		return;
	}
	struct page *page = &slab_mem_map[pfn];
	struct kmem_cache *owner = page->slab_cache;
	if (!page_test_flag(page, PG_slab) || !owner) {
		/* virt_to_cache()'s WARN_ONCE, here every time; not freed. */
		slab_warn(caller, "virt_to_cache: Object is not a Slab page!\n");
		kmm_printk("kmem_cache_free(%s, 0x%lx): not freed\n",
			   s ? s->name : "(null)", (unsigned long)obj);
		slab_dump_page(page, "kmem_cache_free of an object outside any slab");
		return;
	}
	if (owner != s)
		slab_report_wrong_cache(s, obj, owner, caller);  /* freed into owner */
	mag_free_caller(owner, obj, caller);
}

KMM_EXPORT int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t n, void **p)
{
	unsigned long caller = (unsigned long)__builtin_return_address(0);
	for (size_t i = 0; i < n; i++) {
		p[i] = mag_alloc_caller(s, gfp, caller);
		if (unlikely(!p[i])) {
			for (size_t j = 0; j < i; j++)
				mag_free_caller(s, p[j], caller);
			return 0;
		}
		if (unlikely(gfp & __GFP_ZERO) && !slab_hook_zeroed(s, gfp))
			memset(p[i], 0, s->object_size);
	}
	return (int)n;
}

KMM_EXPORT void kmem_cache_free_bulk(struct kmem_cache *s, size_t n, void **p)
{
	unsigned long caller = (unsigned long)__builtin_return_address(0);
	for (size_t i = 0; i < n; i++) {
		void *obj = p[i];
		unsigned long pfn = slab_dm_pfn(obj);
		if (!s)
			kfree(obj);
		else if (pfn < slab_dm_pfns && slab_mem_map[pfn].slab_cache == s)
			mag_free_caller(s, obj, caller);
		else
			slab_cache_free_slow(s, obj, caller);
	}
}

/* Give every empty slab back; the magazines first.  No lock held. */
static void cache_shrink(struct kmem_cache *s)
{
	struct list_head *pos, *tmp;
	struct list_head victims = LIST_HEAD_INIT(victims);
	mag_flush_all(s);
	pthread_mutex_lock(&s->node.lock);
	list_for_each_safe(pos, tmp, &s->node.empty) {
		struct page *page = list_entry(pos, struct page, slab_list);
		list_move(&page->slab_list, &victims);
		s->node.nr_empty--;
		s->node.nr_slabs--;
		s->node.total_objects -= page->objects;
	}
	pthread_mutex_unlock(&s->node.lock);
	list_for_each_safe(pos, tmp, &victims) {
		struct page *page = list_entry(pos, struct page, slab_list);
		list_del(&page->slab_list);
		slab_discard(s, page);
	}
}

KMM_EXPORT int kmem_cache_shrink(struct kmem_cache *s)
{
	if (!s)
		return 0;
	cache_shrink(s);
	return 0;
}

/*
 * Shrink every cache (tests, and a caller that wants memory back), under
 * slab_mutex, so that no cache is destroyed meanwhile: cache_shrink() takes
 * only the locks below it and allocates nothing.  Newest first: magazines
 * live in the magazine caches (made at boot), which go last.
 */
void slab_shrink_all(void)
{
	struct list_head *pos;
	if (!kmm_ensure_up())
		return;
	pthread_mutex_lock(&slab_mutex);
	for (pos = slab_caches.prev; pos != &slab_caches; pos = pos->prev)
		cache_shrink(list_entry(pos, struct kmem_cache, list));
	pthread_mutex_unlock(&slab_mutex);
}

KMM_EXPORT void kmem_cache_destroy(struct kmem_cache *s)
{
	if (!s)
		return;
	if (s->flags & (SLAB_BOOT | SLAB_KMALLOC)) {
		kmm_printk("kmem_cache_destroy %s: refusing to destroy a boot cache\n", s->name);
		return;
	}
	pthread_mutex_lock(&slab_mutex);
	list_del(&s->list);
	pthread_mutex_unlock(&slab_mutex);
	cache_shrink(s);
	pthread_mutex_lock(&s->node.lock);
	unsigned long inuse = s->node.inuse, slabs = s->node.nr_slabs;
	pthread_mutex_unlock(&s->node.lock);
	if (inuse) {
		/* As the kernel: report, free nothing that is in use, keep the
		 * cache so that its objects can still be freed. */
		kmm_printk("=============================================================================\n"
			   "BUG %s (Not tainted): Objects remaining in %s on __kmem_cache_shutdown()\n"
			   "-----------------------------------------------------------------------------\n\n"
			   "INFO: %lu objects remaining in %lu slabs\n",
			   s->name, s->name, inuse, slabs);
		kmm_printk("kmem_cache_destroy %s: Slab cache still has objects when called "
			   "from %p\n", s->name, __builtin_return_address(0));
		pthread_mutex_lock(&slab_mutex);
		list_add_tail(&s->list, &slab_caches);
		pthread_mutex_unlock(&slab_mutex);
		return;
	}
	slab_harden_cache_release(s);
	slab_free(kmem_cache, s, 0);
}

KMM_EXPORT unsigned int kmem_cache_size(struct kmem_cache *s)
{
	return s ? s->object_size : 0;
}

KMM_EXPORT const char *kmem_cache_name(struct kmem_cache *s)
{
	return s ? s->name : NULL;
}

/* ------------------------------------------------------------------ */
/* slabinfo                                                            */

struct slabinfo_row {
	char name[KMEM_CACHE_NAME_MAX];
	unsigned long active_objs, num_objs, active_slabs, num_slabs;
	unsigned int objsize, objperslab, pagesperslab;
};

/*
 * active_objs are the objects in callers' hands (those in magazines are
 * free), active_slabs the slabs that are not empty.  The tunables and
 * sharedavail are SLAB's (the kernel's other allocator, removed in 6.8):
 * SLUB prints 0 for them, and so does libkmm.
 */
static void slabinfo_snapshot(struct kmem_cache *s, struct slabinfo_row *r)
{
	mag_lock_cpus(s);
	mag_depot_lock(s);
	unsigned long in_mags = mag_count_objects_locked(s);
	pthread_mutex_lock(&s->node.lock);
	memcpy(r->name, s->name, sizeof(r->name));
	r->num_objs = s->node.total_objects;
	r->active_objs = s->node.inuse - in_mags;
	r->num_slabs = s->node.nr_slabs;
	r->active_slabs = s->node.nr_slabs - s->node.nr_empty;
	pthread_mutex_unlock(&s->node.lock);
	mag_depot_unlock(s);
	mag_unlock_cpus(s);
	r->objsize = s->size;
	r->objperslab = s->objects;
	r->pagesperslab = 1u << s->order;
}

/*
 * Every cache, however many: rows are copied under slab_mutex a batch at a
 * time and printed with no lock held; the next batch starts at the next
 * position in the list, as seq_file restarts /proc/slabinfo (a cache made
 * or destroyed between two batches may be missed or shown twice).
 */
KMM_EXPORT void kmm_show_slabinfo(FILE *f)
{
	struct slabinfo_row rows[32];
	size_t start = 0, n;
	kmm_ensure_booted();
	fprintf(f, "slabinfo - version: 2.1\n");
	fprintf(f, "# name            <active_objs> <num_objs> <objsize> <objperslab> "
		   "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : "
		   "slabdata <active_slabs> <num_slabs> <sharedavail>\n");
	do {
		struct list_head *pos;
		size_t i = 0;
		n = 0;
		pthread_mutex_lock(&slab_mutex);
		list_for_each(pos, &slab_caches) {
			if (i++ < start)
				continue;
			if (n == ARRAY_SIZE(rows))
				break;
			slabinfo_snapshot(list_entry(pos, struct kmem_cache, list), &rows[n++]);
		}
		pthread_mutex_unlock(&slab_mutex);
		for (size_t k = 0; k < n; k++) {
			struct slabinfo_row *r = &rows[k];
			fprintf(f, "%-17s %6lu %6lu %6u %4u %4u : tunables %4u %4u %4u : "
				   "slabdata %6lu %6lu %6u\n", r->name, r->active_objs,
				r->num_objs, r->objsize, r->objperslab, r->pagesperslab, 0u, 0u,
				0u, r->active_slabs, r->num_slabs, 0u);
		}
		start += n;
	} while (n == ARRAY_SIZE(rows));
}

/* ------------------------------------------------------------------ */
/* Invariants                                                          */

static int check_slab_locked(struct kmem_cache *s, struct page *page, const char *list,
			     unsigned long *inuse)
{
	int problems = 0;
	char *base = slab_base(page);
	unsigned int free = 0;
	if (!page_test_flag(page, PG_slab) || page->slab_cache != s ||
	    page->objects != s->objects ||
	    (s->order && page_head_order(page) != s->order)) {
		kmm_printk("kmm_check: %s: slab pfn %#lx on the %s list is not a slab of "
			   "this cache\n", s->name, pfn_of(page), list);
		return 1;
	}
	for (unsigned long i = 1; i < (1UL << s->order); i++) {
		if (!page_test_flag(&page[i], PG_slab) || page[i].slab_cache != s) {
			kmm_printk("kmm_check: %s: slab pfn %#lx: page %lu does not point at "
				   "its cache\n", s->name, pfn_of(page), i);
			return 1;
		}
	}
	for (void *f = page->freelist; f; f = get_freepointer(s, f)) {
		unsigned long off = (unsigned long)((char *)f - base) - s->red_left_pad;
		if ((char *)f < base || off % s->size || off / s->size >= page->objects ||
		    !IS_ALIGNED((unsigned long)f, s->align)) {
			kmm_printk("kmm_check: %s: slab pfn %#lx: freelist entry %p is not "
				   "an object of the slab\n", s->name, pfn_of(page), f);
			return problems + 1;
		}
		if (++free > page->objects) {
			kmm_printk("kmm_check: %s: slab pfn %#lx: freelist loops\n",
				   s->name, pfn_of(page));
			return problems + 1;
		}
	}
	if (free + page->inuse != page->objects) {
		kmm_printk("kmm_check: %s: slab pfn %#lx: inuse %u + free %u != %u objects\n",
			   s->name, pfn_of(page), page->inuse, free, page->objects);
		problems++;
	}
	bool ok = (!strcmp(list, "full") && page->inuse == page->objects) ||
		  (!strcmp(list, "empty") && page->inuse == 0) ||
		  (!strcmp(list, "partial") && page->inuse && page->inuse < page->objects);
	if (!ok) {
		kmm_printk("kmm_check: %s: slab pfn %#lx with %u of %u in use is on the %s "
			   "list\n", s->name, pfn_of(page), page->inuse, page->objects, list);
		problems++;
	}
	if (s->flags & (SLAB_RED_ZONE | SLAB_POISON))
		problems += debug_check_slab_locked(s, page);
	*inuse += page->inuse;
	return problems;
}

static int check_list_locked(struct kmem_cache *s, struct list_head *head,
			     const char *name, unsigned long expect, unsigned long *slabs,
			     unsigned long *objs, unsigned long *inuse)
{
	int problems = 0;
	unsigned long n = 0;
	struct list_head *pos;
	list_for_each(pos, head) {
		struct page *page = list_entry(pos, struct page, slab_list);
		problems += check_slab_locked(s, page, name, inuse);
		*objs += page->objects;
		if (++n > (1UL << 30))
			break;
	}
	if (n != expect) {
		kmm_printk("kmm_check: %s: %lu slabs on the %s list, counted %lu\n",
			   s->name, n, name, expect);
		problems++;
	}
	*slabs += n;
	return problems;
}

static int check_cache(struct kmem_cache *s)
{
	int problems = 0;
	unsigned long slabs = 0, objs = 0, inuse = 0;
	struct kmem_cache_node *n = &s->node;

	if (unlikely(slab_on_valgrind))
		slab_vg_quiet(true);           /* it reads free objects */
	mag_lock_cpus(s);
	mag_depot_lock(s);
	pthread_mutex_lock(&n->lock);
	problems += check_list_locked(s, &n->partial, "partial", n->nr_partial, &slabs,
				      &objs, &inuse);
	problems += check_list_locked(s, &n->full, "full", n->nr_full, &slabs, &objs, &inuse);
	problems += check_list_locked(s, &n->empty, "empty", n->nr_empty, &slabs, &objs,
				      &inuse);
	if (slabs != n->nr_slabs || objs != n->total_objects || inuse != n->inuse) {
		kmm_printk("kmm_check: %s: counted %lu slabs %lu objects %lu in use; the "
			   "cache says %lu %lu %lu\n", s->name, slabs, objs, inuse,
			   n->nr_slabs, n->total_objects, n->inuse);
		problems++;
	}
	problems += mag_check_locked(s);
	unsigned long in_mags = mag_count_objects_locked(s);
	if (in_mags > n->inuse) {
		kmm_printk("kmm_check: %s: %lu objects in magazines but only %lu in use\n",
			   s->name, in_mags, n->inuse);
		problems++;
	}
	pthread_mutex_unlock(&n->lock);
	mag_depot_unlock(s);
	mag_unlock_cpus(s);
	if (unlikely(slab_on_valgrind))
		slab_vg_quiet(false);
	return problems;
}

int slab_check(void)
{
	int problems = 0;
	struct list_head *pos;
	pthread_mutex_lock(&slab_mutex);
	list_for_each(pos, &slab_caches)
		problems += check_cache(list_entry(pos, struct kmem_cache, list));
	pthread_mutex_unlock(&slab_mutex);
	return problems;
}

/* ------------------------------------------------------------------ */
/* Boot and fork                                                       */

int slab_init(void)
{
	slab_vmemmap = (unsigned long)machine.mem.mem_map -
		       ((unsigned long)machine.mem.direct_map >> PAGE_SHIFT) * sizeof(struct page);
	slab_mem_map = machine.mem.mem_map;
	slab_dm_base = (unsigned long)machine.mem.direct_map;
	slab_dm_pfns = machine.mem.lowmem_pfn;
	slub_debug_parse();
	slab_harden_init();
	/* The pairs of a cache follow its struct kmem_cache in one object. */
	unsigned int size = (unsigned int)(ALIGN_UP(sizeof(struct kmem_cache),
						    sizeof(struct mag_cpu)) +
					   (nr_cpu_ids + 1) * sizeof(struct mag_cpu));
	int ret = mag_init();
	if (ret)
		return ret;
	ret = slab_create_boot(&kmem_cache_boot, "kmem_cache", size,
			       sizeof(struct mag_cpu), SLAB_NOMAG, NULL);
	if (ret)
		return ret;
	kmem_cache = &kmem_cache_boot;
	return 0;
}

void slab_lock_all(void)
{
	struct list_head *pos;
	pthread_mutex_lock(&slab_mutex);
	mag_lock_all_caches();
	list_for_each(pos, &slab_caches)
		mag_depot_lock(list_entry(pos, struct kmem_cache, list));
	list_for_each(pos, &slab_caches)
		pthread_mutex_lock(&list_entry(pos, struct kmem_cache, list)->node.lock);
}

void slab_unlock_all(void)
{
	struct list_head *pos;
	list_for_each(pos, &slab_caches)
		pthread_mutex_unlock(&list_entry(pos, struct kmem_cache, list)->node.lock);
	list_for_each(pos, &slab_caches)
		mag_depot_unlock(list_entry(pos, struct kmem_cache, list));
	mag_unlock_all_caches();
	pthread_mutex_unlock(&slab_mutex);
}
