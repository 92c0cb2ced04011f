/*
 * malloc.c - the malloc family of libkmm-malloc.so, on kmem_cache and
 * vmalloc.  The design (size classes, ownership by address, invalid and
 * double free detection, boot) is in shim.h; the boot in bootstrap.c.
 *
 * glibc's contract, as of 2.36, function by function:
 *   malloc(0)              a unique, freeable pointer (the 16-byte class)
 *   every failure          NULL with errno = ENOMEM; sizes above PTRDIFF_MAX
 *                          fail at once
 *   calloc(n, m)           n * m overflow: NULL, ENOMEM
 *   realloc(NULL, n)       malloc(n)
 *   realloc(p, 0)          free(p), NULL (glibc's behaviour)
 *   realloc failure        NULL, ENOMEM, p untouched
 *   posix_memalign         alignment a power of two and a multiple of
 *                          sizeof(void *), else EINVAL and *memptr untouched
 *   memalign, aligned_alloc
 *                          alignment <= 16: malloc; not a power of two:
 *                          rounded up to one; above SIZE_MAX/2+1: EINVAL
 *   valloc, pvalloc        page aligned (pvalloc rounds the size to pages)
 *   malloc_usable_size     the bytes really usable (and writable)
 *   every pointer          16-byte aligned
 */
#include "config.h"
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "shim.h"

/* malloc fails quietly, as glibc's does: NULL and ENOMEM, no report. */
#define GFP_MALLOC (GFP_KERNEL | __GFP_NOWARN)
#define GFP_MALLOC_LARGE (GFP_KERNEL | __GFP_NOWARN)

/* ------------------------------------------------------------------ */
/* Size classes                                                        */

/*
 * The kmalloc caches malloc may use: the power-of-two ones, which kmalloc
 * keeps naturally aligned.  Not kmalloc-8, and not kmalloc-96 and
 * kmalloc-192: kmalloc promises those only ARCH_KMALLOC_MINALIGN (8), and
 * with slub_debug's red zones they are 8-aligned indeed; malloc-96 and
 * malloc-192 are created with 16-byte alignment instead.
 */
static const unsigned int kmalloc_sizes[] = {
	16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
};

/*
 * malloc.classes=fine: about four classes per doubling, jemalloc's
 * spacing, so a request wastes at most 25% (a third for the first few).
 */
static const unsigned int fine_sizes[] = {
	16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512,
	640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
	5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384, 20480, 24576, 28672,
	32768, 40960, 49152, 57344, 65536, 81920, 98304, 114688, 131072,
};

/* malloc.classes=kmalloc: kmalloc's sizes, then powers of two. */
static const unsigned int coarse_sizes[] = {
	16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
	16384, 32768, 65536, 131072,
};

/* Names of the caches the shim creates; kmem_cache_create keeps the pointer. */
static char class_names[SHIM_MAX_CLASSES][24];

static bool is_kmalloc_size(unsigned int size)
{
	for (size_t i = 0; i < sizeof(kmalloc_sizes) / sizeof(kmalloc_sizes[0]); i++)
		if (kmalloc_sizes[i] == size)
			return true;
	return false;
}

/* The kmalloc cache that serves `size`, found through one allocation. */
static struct kmem_cache *kmalloc_cache_of(unsigned int size)
{
	void *p = kmalloc(size, GFP_KERNEL);
	struct kmem_cache *s = NULL;
	if (!p || ZERO_OR_NULL_PTR(p))
		return NULL;
	if (virt_addr_valid(p)) {
		struct page *head = virt_to_head_page(p);
		if (PageSlab(head) && kmem_cache_size(head->slab_cache) == size)
			s = head->slab_cache;
	}
	kfree(p);
	return s;
}

static struct kmem_cache *class_cache_create(unsigned int nr, unsigned int size)
{
	char *name = class_names[nr];
	if (size % 1024 == 0)
		snprintf(name, sizeof(class_names[0]), "malloc-%uk", size / 1024);
	else
		snprintf(name, sizeof(class_names[0]), "malloc-%u", size);
	return kmem_cache_create(name, size, SHIM_ALIGN, 0, NULL);
}

static void class_set_arith(struct shim_class *c)
{
	uint64_t odd = c->size;
	c->shift = 0;
	while (!(odd & 1)) {
		odd >>= 1;
		c->shift++;
	}
	uint64_t inv = odd;                 /* Newton: 5 steps give 64 bits */
	for (int i = 0; i < 5; i++)
		inv *= 2 - odd * inv;
	c->inv = inv;
	c->limit = UINT64_MAX / odd;
}

static void by_cache_insert(struct kmem_cache *s, unsigned int cls)
{
	const struct shim_class *c = &shim.classes[cls];
	unsigned int i = shim_cache_hash(s);
	while (shim.by_cache[i].cache) {
		if (shim.by_cache[i].cache == s)
			return;             /* a merged cache: first class keeps it */
		i = (i + 1) & 127;
	}
	/* The low 32 bits of the 64-bit inverse are the inverse mod 2^32. */
	shim.by_cache[i].inv = shim.slab_debug ? 0 : (uint32_t)c->inv;
	shim.by_cache[i].limit = shim.slab_debug ? UINT32_MAX : UINT32_MAX / c->size;
	shim.by_cache[i].size = c->size;
	shim.by_cache[i].shift = shim.slab_debug ? 0 : c->shift;
	shim.by_cache[i].slab_mask = (unsigned int)(PAGE_SIZE << s->order) - 1;
	shim.by_cache[i].cls = cls;
	shim.by_cache[i].cache = s;
}

/* free() finds an object's slab offset as phys & slab_mask: check it on
 * one object of each class against virt_to_head_page + page_address. */
static int slab_mask_check(void)
{
	for (unsigned int i = 0; i < shim.nr_classes; i++) {
		const struct shim_class *c = &shim.classes[i];
		void *p = kmem_cache_alloc(c->cache, GFP_KERNEL);
		if (!p)
			return -1;
		const struct shim_owner *o = shim_owner_of(c->cache);
		uintptr_t phys = (uintptr_t)p - shim.dm_base;
		bool ok = o && (phys & o->slab_mask) ==
			  (uintptr_t)p - (uintptr_t)page_address(virt_to_head_page(p));
		kmem_cache_free(c->cache, p);
		if (!ok) {
			shim_message("libkmm-malloc: slabs of %s are not aligned to "
				     "their size\n", kmem_cache_name(c->cache));
			return -1;
		}
	}
	return 0;
}

/*
 * The direct map's bounds for free's inline arithmetic (shim.h): the base
 * and mem_map from the API, the size by bisection on virt_addr_valid(),
 * then a check of the arithmetic against the calls on a live object.
 */
static int direct_map_init(const struct shim_class *c)
{
	uintptr_t base = (uintptr_t)page_address(pfn_to_page(0));
	size_t lo = 0, hi = (size_t)1 << 40;    /* pages valid below lo */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (virt_addr_valid((void *)(base + (mid << PAGE_SHIFT))))
			lo = mid;
		else
			hi = mid;
	}
	void *p = kmem_cache_alloc(c->cache, GFP_KERNEL);
	if (!p)
		return -1;
	shim.dm_base = base;
	shim.mem_map = pfn_to_page(0);
	shim.dm_size = (lo + 1) << PAGE_SHIFT;
	struct page *head = virt_to_head_page(p);
	bool ok = virt_addr_valid(p) && shim_in_direct_map(p) &&
		  shim_virt_to_head_page(p) == head &&
		  shim_page_address(head) == (uintptr_t)page_address(head) &&
		  !shim_in_direct_map((void *)(base + shim.dm_size)) &&
		  !virt_addr_valid((void *)(base + shim.dm_size));
	kmem_cache_free(c->cache, p);
	if (!ok) {
		shim_message("libkmm-malloc: the direct map is not laid out as "
			     "<kmm/mm.h> says\n");
		shim.dm_size = 0;
		return -1;
	}
	return 0;
}

int shim_classes_init(size_t *slab_maxp)
{
	size_t slab_max = *slab_maxp;
	const unsigned int *sizes = shim.fine_classes ? fine_sizes : coarse_sizes;
	size_t n = shim.fine_classes ? sizeof(fine_sizes) / sizeof(fine_sizes[0])
				     : sizeof(coarse_sizes) / sizeof(coarse_sizes[0]);
	unsigned int nr = 0;

	for (size_t i = 0; i < n && nr < SHIM_MAX_CLASSES; i++) {
		unsigned int size = sizes[i];
		struct kmem_cache *s = NULL;
		/* The largest class must cover slab_max; none above it. */
		if (nr > 0 && shim.classes[nr - 1].size >= slab_max)
			break;
		if (is_kmalloc_size(size))
			s = kmalloc_cache_of(size);
		if (!s)
			s = class_cache_create(nr, size);
		if (!s)
			return -1;
		unsigned int real = kmem_cache_size(s);
		if (real < size || real % SHIM_ALIGN) {
			shim_message("libkmm-malloc: cache %s has object size %u for "
				     "class %u; class skipped\n", kmem_cache_name(s),
				     real, size);
			continue;
		}
		shim.classes[nr].cache = s;
		shim.classes[nr].size = real;
		class_set_arith(&shim.classes[nr]);
		by_cache_insert(s, nr);
		nr++;
	}
	if (nr == 0)
		return -1;
	shim.nr_classes = nr;
	if (direct_map_init(&shim.classes[0]) < 0 || slab_mask_check() < 0)
		return -1;
	if (slab_max > shim.classes[nr - 1].size)
		slab_max = shim.classes[nr - 1].size;
	*slab_maxp = slab_max;
	unsigned int cls = 0;
	for (size_t g = 0; g <= slab_max / SHIM_ALIGN; g++) {
		while (shim.classes[cls].size < g * SHIM_ALIGN)
			cls++;
		shim.size_index[g] = (uint8_t)cls;
		shim.size_cache[g] = shim.classes[cls].cache;
	}
	return 0;
}

static inline const struct shim_class *class_for(size_t n)
{
	return &shim.classes[shim.size_index[(n + SHIM_ALIGN - 1) / SHIM_ALIGN]];
}

/* ------------------------------------------------------------------ */
/* Ownership                                                           */

enum owner_kind { OWN_GLIBC, OWN_SLAB, OWN_VMALLOC };

struct owner {
	enum owner_kind kind;
	size_t usable;
	const struct shim_class *cls;  /* OWN_SLAB */
};

/*
 * Who owns p, checked to the byte; any pointer inside libkmm's ranges that
 * is not a live malloc block ends the program here with a report.
 * `func` names the caller in the report, "free()" and so on.
 */
static noinline void owner_of(const void *p, const char *func, struct owner *o)
{
	o->cls = NULL;
	if (virt_addr_valid(p)) {
		struct page *head = virt_to_head_page(p);
		uintptr_t base = (uintptr_t)page_address(head);
		if (PageSlab(head)) {
			struct kmem_cache *s = head->slab_cache;
			const struct shim_class *c = shim_class_of(s);
			if (!c)
				shim_fatal("%s: invalid pointer %p (inside an object of "
					   "cache %s, which malloc does not use)\n", func, p,
					   kmem_cache_name(s));
			if (!shim_class_multiple(c, (uintptr_t)p - base))
				shim_fatal("%s: invalid pointer %p (not the start of an "
					   "object in cache %s)\n", func, p,
					   kmem_cache_name(s));
			if (((const uintptr_t *)p)[0] == shim_tag(p)) {
				if (!strcmp(func, "free()"))
					shim_fatal("free(): double free detected %p in cache "
						   "%s\n", p, kmem_cache_name(s));
				shim_fatal("%s: invalid pointer %p (freed already, in cache "
					   "%s)\n", func, p, kmem_cache_name(s));
			}
			o->kind = OWN_SLAB;
			o->cls = c;
			o->usable = c->size;
			return;
		}
		/* Every malloc block of the direct map is a slab object. */
		if (page_count(head) == 0)
			shim_fatal("%s: invalid pointer %p (in a free page frame, pfn "
				   "%#lx: freed already?)\n", func, p, page_to_pfn(head));
		shim_fatal("%s: invalid pointer %p (in page frame %#lx, which malloc did "
			   "not hand out)\n", func, p, page_to_pfn(head));
	}
	if (is_vmalloc_addr(p)) {
		struct vm_struct *area = find_vm_area(p);
		if (!area)
			shim_fatal("%s: invalid pointer %p (not in a live vmalloc area: "
				   "freed already?)\n", func, p);
		/* The start of an area: page aligned, and the page before it is
		 * another area's guard page or no area at all. */
		if (((uintptr_t)p & (PAGE_SIZE - 1)) ||
		    find_vm_area((const char *)p - PAGE_SIZE) == area)
			shim_fatal("%s: invalid pointer %p (not the start of a vmalloc "
				   "area)\n", func, p);
		o->kind = OWN_VMALLOC;
		o->usable = get_vm_area_size(area);
		return;
	}
	o->kind = OWN_GLIBC;
	o->usable = 0;
}

/* Free a block whose owner has been checked. */
static void free_owned(void *p, const struct owner *o)
{
	switch (o->kind) {
	case OWN_SLAB:
		((uintptr_t *)p)[0] = shim_tag(p);
		kmem_cache_free(o->cls->cache, p);
		break;
	case OWN_VMALLOC:
		vfree(p);
		shim_reporting_check();
		break;
	case OWN_GLIBC:
		__libc_free(p);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Allocation                                                          */

static inline void *enomem(void)
{
	errno = ENOMEM;
	return NULL;
}

static inline void *class_alloc(const struct shim_class *c, gfp_t gfp)
{
	void *p = kmem_cache_alloc(c->cache, gfp);
	if (likely(p))
		((uintptr_t *)p)[0] = 0;    /* clear the double-free tag */
	return p;
}

/* A vmalloc area for a large block: its guard page faults only with
 * malloc.guard=1 (shim.h, section 5). */
static void *large_vmalloc(size_t n, size_t align, gfp_t gfp)
{
	return __vmalloc_node_range(n, align, VMALLOC_START, VMALLOC_END, gfp, PAGE_KERNEL,
				    shim.large_guard ? 0 : VM_NO_GUARD, 0,
				    __builtin_return_address(0));
}

static void *large_alloc(size_t n, gfp_t extra)
{
	void *p;
	if (n > PTRDIFF_MAX)
		return enomem();
	if (unlikely(shim.glibc_above && n > shim.glibc_above))
		return extra & __GFP_ZERO ? __libc_calloc(1, n) : __libc_malloc(n);
	shim_reporting_check();
	/* vmalloc clears a reused (warm) range for __GFP_ZERO itself; a
	 * fresh one reads as zeroes already. */
	p = large_vmalloc(n, PAGE_SIZE, GFP_MALLOC_LARGE | extra);
	return p ? p : enomem();
}

/* Everything malloc's fast path does not do: boot, 0, failures, large. */
static noinline void *malloc_slow(size_t n)
{
	if (!shim_boot_slow())
		return __libc_malloc(n);
	if (n == 0)
		n = 1;
	if (n <= shim.slab_max) {
		void *p = class_alloc(class_for(n), GFP_MALLOC);
		return p ? p : enomem();
	}
	return large_alloc(n, 0);
}

/*
 * A leaf function on a hit: the gate, one table load for the cache, the
 * magazine pop of lib/slab.h (kmem_cache_alloc's own fast path), the store
 * that clears the tag.  A miss or anything else is a tail call.
 */
static kmm_always_inline void *shim_malloc(size_t n)
{
	if (likely(n - 1 < shim_slab_max())) {
		struct kmem_cache *s = shim.size_cache[(n + SHIM_ALIGN - 1) / SHIM_ALIGN];
		uintptr_t *p;
		mag_pop(s->cpu_alloc, p, miss);
		p[0] = 0;               /* clear the double-free tag */
		return p;
	}
miss:
	return malloc_slow(n);
}

static noinline void free_slow(void *p)
{
	struct owner o;
	if (!p)
		return;
	if (!shim_ready()) {
		__libc_free(p);         /* nothing of ours exists before boot */
		return;
	}
	owner_of(p, "free()", &o);
	free_owned(p, &o);
}

/*
 * The slab case, checked as owner_of() does (free_slow reports what fails):
 * the range compare, the object's own page (every page of a slab has
 * PG_slab and slab_cache), the cache's record (one probe), the tag and the
 * offset in the slab, then the magazine push of lib/slab.h.
 */
static kmm_always_inline void shim_free(void *p)
{
	uintptr_t phys = (uintptr_t)p - shim.dm_base;
	if (likely(phys < shim.dm_size)) {
		struct page *page = shim.mem_map + (phys >> PAGE_SHIFT);
		if (likely(page->flags & (1UL << PG_slab))) {
			struct kmem_cache *s = page->slab_cache;
			const struct shim_owner *o = shim_owner_of(s);
			uintptr_t *w = p;
			if (likely(o && w[0] != shim_tag(p) && shim_owner_multiple(o, phys))) {
				w[0] = shim_tag(p);
				mag_push(s->cpu_free, p, miss);
				return;
miss:
				mag_free_slow(s, p, _RET_IP_);
				return;
			}
		}
	}
	free_slow(p);
}

/* malloc_usable_size's slab case: free's checks, no store. */
static kmm_always_inline size_t shim_usable_fast(const void *p, bool *done)
{
	uintptr_t phys = (uintptr_t)p - shim.dm_base;
	if (likely(phys < shim.dm_size)) {
		const struct page *page = shim.mem_map + (phys >> PAGE_SHIFT);
		if (likely(page->flags & (1UL << PG_slab))) {
			const struct shim_owner *o = shim_owner_of(page->slab_cache);
			if (likely(o && ((const uintptr_t *)p)[0] != shim_tag(p) &&
				   shim_owner_multiple(o, phys))) {
				*done = true;
				return o->size;
			}
		}
	}
	*done = false;
	return 0;
}

/* Aligned allocation; align is a power of two above SHIM_ALIGN. */
static void *aligned_alloc_pow2(size_t align, size_t n)
{
	if (!shim_boot_slow())
		return __libc_memalign(align, n);
	if (n == 0)
		n = 1;
	if (n > PTRDIFF_MAX || align > PTRDIFF_MAX)
		return enomem();
	/* A class whose size is a multiple of align: its objects are aligned
	 * when the slab is (slabs are naturally aligned buddy blocks). */
	if (n <= shim.slab_max) {
		for (unsigned int i = shim.size_index[(n + SHIM_ALIGN - 1) / SHIM_ALIGN];
		     i < shim.nr_classes; i++) {
			const struct shim_class *c = &shim.classes[i];
			if (c->size % align)
				continue;
			void *p = class_alloc(c, GFP_MALLOC);
			if (!p)
				return enomem();
			if (((uintptr_t)p & (align - 1)) == 0)
				return p;
			shim_free(p);   /* slab not aligned (debug layout): pages */
			break;
		}
	}
	if (shim.glibc_above && n > shim.glibc_above)
		return __libc_memalign(align, n);
	if (align <= PAGE_SIZE)
		return large_alloc(n, 0);
	/* An aligned vmalloc area: the alignment costs address space only. */
	void *p = large_vmalloc(n, align, GFP_MALLOC_LARGE);
	return p ? p : enomem();
}

/* memalign's rules (glibc 2.36), shared by aligned_alloc. */
static void *shim_memalign(size_t align, size_t n)
{
	if (align <= SHIM_ALIGN)
		return shim_malloc(n);
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (align & (align - 1)) {
		size_t a = SHIM_ALIGN;
		while (a < align)
			a <<= 1;
		align = a;
	}
	return aligned_alloc_pow2(align, n);
}

/* ------------------------------------------------------------------ */
/* The exported interface                                              */

SHIM_EXPORT void *malloc(size_t n)
{
	return shim_malloc(n);
}

SHIM_EXPORT void free(void *p)
{
	shim_free(p);
}

SHIM_EXPORT void *calloc(size_t n, size_t m)
{
	size_t total;
	void *p;
	if (unlikely(__builtin_mul_overflow(n, m, &total)))
		return enomem();
	if (likely(total - 1 < shim_slab_max())) {
		p = class_alloc(class_for(total), GFP_MALLOC);
		if (likely(p)) {
			memset(p, 0, total);
			return p;
		}
		return enomem();
	}
	if (!shim_boot_slow())
		return __libc_calloc(n, m);
	if (total == 0 || total <= shim.slab_max) {
		p = shim_malloc(total);
		if (p)
			memset(p, 0, total);
		return p;
	}
	return large_alloc(total, __GFP_ZERO);
}

SHIM_EXPORT void *realloc(void *p, size_t n)
{
	struct owner o;
	void *q;
	if (!p)
		return shim_malloc(n);
	if (n == 0) {
		shim_free(p);
		return NULL;
	}
	if (!shim_ready()) {
		return __libc_realloc(p, n);
	}
	owner_of(p, "realloc()", &o);
	switch (o.kind) {
	case OWN_GLIBC:
		return __libc_realloc(p, n);
	case OWN_SLAB:
		/* In place while the block fits and is no more than half empty. */
		if (n <= o.usable && (n > o.usable / 2 || o.usable <= SHIM_ALIGN))
			return p;
		break;
	case OWN_VMALLOC:
		if (n > shim.slab_max) {
			if (n > PTRDIFF_MAX)
				return enomem();
			q = vrealloc(p, n, GFP_MALLOC_LARGE);
			return q ? q : enomem();
		}
		break;
	}
	q = shim_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, n < o.usable ? n : o.usable);
	free_owned(p, &o);
	return q;
}

SHIM_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
	size_t total;
	if (__builtin_mul_overflow(n, m, &total))
		return enomem();
	return realloc(p, total);
}

SHIM_EXPORT int posix_memalign(void **memptr, size_t align, size_t n)
{
	void *p;
	int saved = errno;
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	p = align <= SHIM_ALIGN ? shim_malloc(n) : aligned_alloc_pow2(align, n);
	if (!p)
		return ENOMEM;
	errno = saved;
	*memptr = p;
	return 0;
}

SHIM_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return shim_memalign(align, n);
}

SHIM_EXPORT void *memalign(size_t align, size_t n)
{
	return shim_memalign(align, n);
}

SHIM_EXPORT void *valloc(size_t n)
{
	return shim_memalign(PAGE_SIZE, n);
}

SHIM_EXPORT void *pvalloc(size_t n)
{
	if (n > SIZE_MAX - PAGE_SIZE)
		return enomem();
	n = PAGE_ALIGN(n);
	return shim_memalign(PAGE_SIZE, n ? n : PAGE_SIZE);
}

SHIM_EXPORT size_t malloc_usable_size(void *p)
{
	struct owner o;
	bool done;
	size_t n = shim_usable_fast(p, &done);
	if (likely(done))
		return n;
	if (!p)
		return 0;
	if (!shim_ready())
		return shim.libc_usable_size ? shim.libc_usable_size(p) : 0;
	owner_of(p, "malloc_usable_size()", &o);
	if (o.kind == OWN_GLIBC)
		return shim.libc_usable_size ? shim.libc_usable_size(p) : 0;
	return o.usable;
}

SHIM_EXPORT int malloc_trim(size_t pad)
{
	(void)pad;
	if (!shim_boot_slow())
		return 0;
	/* Empty slabs, warm lazy vmalloc ranges, the per-CPU lists, and
	 * every free block of 2 MiB and up, back to the host. */
	return kmm_trim() != 0;
}

SHIM_EXPORT void malloc_stats(void)
{
	if (!shim_boot_slow())
		return;
	fflush(stdout);
	fprintf(stderr, "--- libkmm-malloc statistics (pid %d) ---\n", (int)getpid());
	kmm_show_stats(stderr);        /* buddyinfo slabinfo vmallocinfo meminfo vmstat */
}

SHIM_EXPORT struct mallinfo2 mallinfo2(void)
{
	struct mallinfo2 mi;
	memset(&mi, 0, sizeof(mi));
	if (!shim_boot_slow())
		return mi;
	/* libkmm's frames in use (online, not free): slabs, vmalloc, page
	 * blocks, the per-CPU lists. */
	size_t used = (size_t)(NODE_DATA(0)->node_present_pages - nr_free_pages()) * PAGE_SIZE;
	mi.arena = used;
	mi.uordblks = used;
	mi.ordblks = 1;
	return mi;
}

static int clamp_int(size_t v)
{
	return v > INT32_MAX ? INT32_MAX : (int)v;
}

SHIM_EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi;
	memset(&mi, 0, sizeof(mi));
	mi.arena = clamp_int(m2.arena);
	mi.ordblks = clamp_int(m2.ordblks);
	mi.uordblks = clamp_int(m2.uordblks);
	mi.fordblks = clamp_int(m2.fordblks);
	return mi;
}
