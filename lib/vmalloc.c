/*
 * vmalloc.c - virtually contiguous memory: vmap areas in the vmalloc range,
 * their backing frames, lazy purge, vmap(), and the vmallocinfo dump.
 *
 * 1. THE VMALLOC AREA
 *
 * VMALLOC_START .. VMALLOC_END is one host reservation of its own, four
 * times mem= (at least 1 GiB where the address space allows), made by
 * memory_init() with the others, so that is_vmalloc_addr() is one
 * subtraction and one compare.  In anon mode it is read-only above the
 * highest address used so far and made writable as areas reach further
 * (commit_to_locked), so that only what is used is charged to the
 * process's limits.  Every byte of it
 * belongs to exactly one vmap_area, in one of three trees (vmap.h): free,
 * busy, or purge (freed, waiting to be unmapped).  Each busy area is
 * followed by a guard page that it owns; size in vmallocinfo includes it,
 * as the kernel's.
 *
 * 2. PLACEMENT: first fit, lowest address, O(log n)
 *
 * The free tree is augmented with subtree_max_size (vmap_tree.c), so the
 * lowest free range that holds size + guard (+ alignment slack) is found
 * in one descent; the range is split into at most three pieces.  Busy
 * areas are looked up by start address in the busy tree (vfree, vrealloc,
 * find_vmap_area).  Descriptors come from a private pool carved out of
 * order-0 frames (alloc_page), never from the slab allocator: the slab
 * allocator may itself call vmalloc, and it is never called under
 * vmap_area_lock.
 *
 * 3. BACKING
 *
 * An area of n pages is backed by n order-0 frames from the buddy
 * allocator, HighMem first when there is HighMem (the kernel's
 * GFP_HIGHUSER-like __GFP_HIGHMEM for vmalloc pages), each recorded in the
 * software page table (pgtable.c), so vmalloc_to_page() answers for every
 * mapped address.  Allocating one frame at a time is what lets a 64 MiB
 * vmalloc succeed when no block of order 1 is free.
 *
 *   anon (default)  the vmalloc reservation is private anonymous memory
 *                   and holds the bytes itself: the frames are the
 *                   accounting and the identity (vmalloc_to_page, meminfo),
 *                   and a frame's direct-map alias is NOT coherent with its
 *                   vmalloc address, as on a CPU with aliasing (VIVT)
 *                   caches.  The whole range stays one host mapping (the
 *                   host allows only vm.max_map_count = 65530 of them);
 *                   freed ranges are dropped with MADV_DONTNEED when
 *                   purged, so a range taken from the free tree reads as
 *                   zeroes (vzalloc needs no memset).  fork() gives the
 *                   child a copy-on-write copy, as glibc malloc does.
 *                   vmap() of existing pages cannot alias them: it copies
 *                   the frames' bytes in, and vunmap() copies them back,
 *                   the user-space analogue of flush_kernel_vmap_range()
 *                   on an aliasing cache.  Between the two, writes through
 *                   the mapping are not seen through page_address().
 *   phys=memfd      the reservation is PROT_NONE, and each area's frames
 *                   are mapped MAP_SHARED|MAP_FIXED from the memfd at their
 *                   physical offset (runs of contiguous frames as one
 *                   mapping; frames are taken 8 at a time when possible to
 *                   make runs), so every alias of a frame is coherent, vmap
 *                   included, and guard pages fault.  Unmapping maps
 *                   PROT_NONE anonymous memory back over the range.  A
 *                   forked child shares these bytes with its parent.
 *
 * 4. FREEING LAZILY, AND REUSING WHAT IS WARM
 *
 * vfree() of a vmalloc area keeps its frames, its ptes and its host pages:
 * the range goes to the purge tree (merged with its neighbours) as it is,
 * and vmap_lazy_nr grows by its pages.  A lazily freed range is therefore
 * "warm": resident on the host, backed by frames, ready to be handed out
 * again without a page fault (about 18 us per 4 KiB on the machines this
 * was measured on) and without a frame allocation per page.
 *
 *   vmalloc()   takes the lowest lazy range that fits (size + guard) before
 *               it looks at the free tree; the pages of the new area that
 *               have a pte keep it (lazy_adopt_locked), the others get a new
 *               frame; a frame under the new guard page is freed.  Only a
 *               range from the free tree is known to read as zeroes: a warm
 *               one is cleared for __GFP_ZERO and init_on_alloc.
 *   vrealloc()  grows in place into the range that follows the area when it
 *               is free or lazy (warm pages adopted the same way); a move
 *               copies every mapped byte of the old area (its usable size,
 *               which the malloc shim reports through get_vm_area_size),
 *               never only the size last asked for.
 *   purge       purge_vmap_area_lazy() detaches lazy ranges, highest
 *               addresses first, clears their ptes and frees their frames
 *               under the lock, then unmaps them from the host with no lock
 *               held (one madvise or mmap per merged range), and merges them
 *               into the free tree.  After a vfree past lazy_max_pages (32
 *               MiB times fls(nr_cpus), at most an eighth of memory) it
 *               purges down to half of that, and ranges unused for
 *               LAZY_DECAY_MS; when an allocation finds no room, on
 *               vm_unmap_aliases(), and from the page allocator's reclaim
 *               hook (before an allocation fails, and before a zone grows by
 *               a section) it purges everything.
 *
 * Nothing is stored in freed memory: every link and size lives in the
 * descriptors and the page table, so a write through a stale pointer into
 * a lazy range changes only bytes, never the allocator's state.  The frames
 * of lazy ranges are counted in lazy_frames (neither free nor nr_vmalloc);
 * vm_unmap_aliases() gives them back.  The kernel frees a vfree'd area's
 * pages at once and batches only the TLB flush (32 MiB per fls(cpus)):
 * here the flush costs nothing and the first touch costs everything, so
 * the frames stay with the range.
 *
 * 5. LOCKING (internal.h lock order, #5)
 *
 *   vmap_purge_lock  serialises purges; taken before vmap_area_lock
 *   vmap_area_lock   the three trees, the descriptor pool, page-table
 *                    creation, vmap_lazy_nr, the busy fields of areas
 *
 * Frames are allocated with no lock held (an allocation may wait, with
 * __GFP_NOFAIL); page tables and pool pages are allocated under
 * vmap_area_lock (order 0, without waiting: the pcp and zone locks are below
 * it); frames are freed under it.  An area being filled is in the busy
 * tree with VM_UNINITIALIZED: its owner writes its ptes and host mappings
 * without the lock.  Page-table lookups take no lock.  Dumps copy under the
 * lock into a private mmap buffer and print with no lock held.
 *
 * 6. OBSERVING: kmm_show_vmallocinfo() (/proc/vmallocinfo), VmallocTotal,
 * VmallocUsed and PageTables in meminfo, nr_vmalloc in vmstat; kmm_check()
 * runs vmalloc_check(): the trees' shape and augmented values, exact
 * coverage of the range, the page table against the busy areas, and the
 * PG_vmalloc frames against the counters.
 *
 * DIFFERENCES FROM THE KERNEL: one node, no per-CPU vmap blocks
 * (vm_map_ram), no huge vmalloc mappings; the vm_struct is folded into the
 * vmap_area, and its pages[] array is the page table (a 64 MiB area would
 * otherwise need a 128 KiB array, itself vmalloc'ed); vmap() in anon mode
 * copies (see 3).
 */
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vmap.h"

#define LAZY_MAX_BYTES (32UL << 20)     /* times fls(nr_cpus); see 4. */
#define LAZY_DECAY_MS 1000               /* a lazy range unused this long goes */
#define LAZY_DECAY_NS (LAZY_DECAY_MS * 1000000L)
#define MOVE_MIN_BYTES (1UL << 20)      /* vrealloc moves pages from this size */
#define MEMFD_FRAME_ORDER 3            /* frames taken 8 at a time in memfd mode */
#define BITS_PER_LONG (8 * sizeof(long))

static struct {
	pthread_mutex_t purge_lock;    /* vmap_purge_lock */
	pthread_mutex_t lock;          /* vmap_area_lock; protects all below */
	struct vmap_area *free_root;   /* free ranges, augmented */
	struct vmap_area *busy_root;   /* areas handed out */
	struct vmap_area *purge_root;  /* freed, still mapped on the host */
	struct vmap_area *purging_root;/* detached by the purge in progress */
	unsigned long lazy_nr;         /* vmap_lazy_nr: pages in purge_root */
	unsigned long lazy_max;        /* lazy_max_pages() */
	struct vmap_area *pool;        /* spare descriptors, linked by ->right */
	unsigned long pool_nr;         /* descriptors in the pool */
	unsigned long pool_pages;      /* frames carved into descriptors */
	unsigned long nr_purges;       /* purges done */
	long last_decay_ns;            /* when vfree last looked for old ranges */
	unsigned long nr_moves;        /* vrealloc moves by mremap not yet healed */
	unsigned long lazy_frames;     /* frames still mapped in lazy ranges;
	                                  written with ADD_ONCE (read unlocked) */
	unsigned long warm_hits;       /* vmalloc()s served from a lazy range */
	unsigned long *guard_bits;     /* anon: a bit per page made PROT_NONE */
	unsigned long nr_guards;       /* bits set */
	unsigned long max_guards;      /* the most at once (vm.max_map_count / 4) */
	bool memfd;                    /* phys=memfd backing */
} vmst = {
	.purge_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static struct ratelimit_state vmalloc_rs = RATELIMIT_STATE_INIT(5, 10);

/* ------------------------------------------------------------------ */
/* Descriptor pool                                                     */

static bool pool_reserve_locked(unsigned long n)
{
	while (vmst.pool_nr < n) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_NOWARN);
		if (!page)
			return false;
		struct vmap_area *a = page_address(page);
		for (size_t i = 0; i < PAGE_SIZE / sizeof(*a); i++) {
			a[i].right = vmst.pool;
			vmst.pool = &a[i];
			vmst.pool_nr++;
		}
		vmst.pool_pages++;
	}
	return true;
}

/* Caller made sure with pool_reserve_locked() that one is there. */
static struct vmap_area *pool_get_locked(void)
{
	struct vmap_area *va = vmst.pool;
	vmst.pool = va->right;
	vmst.pool_nr--;
	memset(va, 0, sizeof(*va));
	return va;
}

/* Return a list of descriptors linked by ->right to the pool. */
static void pool_put_list_locked(struct vmap_area *list)
{
	while (list) {
		struct vmap_area *next = list->right;
		list->right = vmst.pool;
		vmst.pool = list;
		vmst.pool_nr++;
		list = next;
	}
}

/* ------------------------------------------------------------------ */
/* Host mappings                                                       */

static inline unsigned long pte_pfn_of(unsigned long addr)
{
	AO_t *pte = pgtable_pte(addr);
	AO_t e = pte ? AO_load_acquire(pte) : 0;
	return e ? (unsigned long)e - 1 : ~0UL;
}

/* anon: map [addr, addr + len) anew, read-write, as the reservation is. */
static bool map_fresh(unsigned long addr, unsigned long len)
{
	void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	if (!machine.conf.thp)
		madvise(p, len, MADV_NOHUGEPAGE);   /* as the rest, so it merges */
	return true;
}

/*
 * anon: move the pages of [from, from + len) to `to` (both page aligned,
 * in the vmalloc area, the destination fresh) instead of copying them: a
 * growing vrealloc of a large block neither copies nor faults in what it
 * had, and its old range holds no memory afterwards.  False: not done
 * (the host refused, say at its mapping limit), copy instead.
 */
static bool host_move_pages(unsigned long from, unsigned long to, unsigned long len)
{
	if (mremap((void *)from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)to) == MAP_FAILED)
		return false;
	if (!map_fresh(from, len) &&
	    mremap((void *)to, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)from) == MAP_FAILED) {
		kmm_printk("vmalloc: cannot map %#lx-%#lx again after moving its pages (%s)\n",
			   from, from + len, strerror(errno));
		abort();        /* a hole in the vmalloc area: nothing safe is left */
	}
	return true;
}

/* Drop [addr, addr + len) from the host: it reads as zeroes (anon) or
 * faults (memfd) afterwards. */
static void host_unmap(unsigned long addr, unsigned long len)
{
	if (!len)
		return;
	if (vmst.memfd) {
		void *p = mmap((void *)addr, len, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			kmm_printk("vmalloc: cannot unmap %#lx-%#lx: %s\n", addr, addr + len,
				   strerror(errno));
	} else {
		madvise((void *)addr, len, MADV_DONTNEED);
	}
}

/* memfd mode: map the frames of the ptes of [addr, addr + nr pages) at
 * their addresses, one mapping per run of contiguous frames. */
static int host_map_frames(unsigned long addr, unsigned long nr)
{
	unsigned long i = 0;
	while (i < nr) {
		unsigned long pfn = pte_pfn_of(addr + (i << PAGE_SHIFT)), j = i + 1;
		while (j < nr && pte_pfn_of(addr + (j << PAGE_SHIFT)) == pfn + (j - i))
			j++;
		void *p = mmap((void *)(addr + (i << PAGE_SHIFT)), (j - i) << PAGE_SHIFT,
			       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			       machine.mem.memfd, (off_t)PFN_PHYS(pfn));
		if (p == MAP_FAILED)
			return -errno;
		i = j;
	}
	return 0;
}

/*
 * anon mode: the vmalloc reservation is read-only above what has been
 * used (memory.c, RESERVATIONS AND LIMITS); make it writable up to `end`,
 * in COMMIT_STEP steps.  Areas are placed lowest first, so this is a high
 * water mark.  -ENOMEM when the process may not have more.
 */
#define COMMIT_STEP (64UL << 20)
static int commit_to_locked(unsigned long end)
{
	unsigned long base = (unsigned long)machine.mem.vmalloc_base;
	unsigned long done = AO_load(&machine.mem.vmalloc_writable);
	if (vmst.memfd || end <= base + done)
		return 0;
	unsigned long want = ALIGN_UP(end - base, COMMIT_STEP);
	if (want > machine.mem.vmalloc_size)
		want = machine.mem.vmalloc_size;
	if (memory_commit((void *)(base + done), want - done) != 0) {
		want = PAGE_ALIGN(end - base);          /* at least what is needed */
		if (memory_commit((void *)(base + done), want - done) != 0)
			return -ENOMEM;
	}
	AO_store(&machine.mem.vmalloc_writable, want);
	return 0;
}

/*
 * Guard pages that fault (anon mode; in memfd mode the whole range is
 * PROT_NONE but for the frames mapped into it).  The page after each area
 * is made PROT_NONE when the area is handed out, and stays so while it is
 * lazy or free, until an area's data lands on it: a bit per page of the
 * range records what is protected, so that handing out an area costs a
 * system call only where its data covers an old guard page or its own
 * guard is new (a block reused at its old size costs none).  Each guard
 * inside writable memory splits a host mapping in three, and the host
 * allows vm.max_map_count mappings in all: at most a quarter of that are
 * kept; past it, new guard pages stay a gap in the address space, as they
 * were before, and nr_guards says how many fault.
 */
static inline bool guard_test(unsigned long page)
{
	return vmst.guard_bits[page / BITS_PER_LONG] & (1UL << (page % BITS_PER_LONG));
}

static void guard_protect_locked(unsigned long addr)
{
	unsigned long page = (addr - kmm_vmalloc_start) >> PAGE_SHIFT;
	if (vmst.memfd || !vmst.guard_bits || guard_test(page) ||
	    vmst.nr_guards >= vmst.max_guards)
		return;
	if (mprotect((void *)addr, PAGE_SIZE, PROT_NONE) != 0)
		return;                 /* the host's mapping limit: a gap only */
	vmst.guard_bits[page / BITS_PER_LONG] |= 1UL << (page % BITS_PER_LONG);
	vmst.nr_guards++;
}

/* Data goes onto [addr, addr + len): make its guard pages writable again,
 * a run at a time.  Usually a scan of a few bitmap words. */
static int guard_clear_locked(unsigned long addr, unsigned long len)
{
	if (vmst.memfd || !vmst.guard_bits || !vmst.nr_guards)
		return 0;
	unsigned long first = (addr - kmm_vmalloc_start) >> PAGE_SHIFT;
	unsigned long end = first + (len >> PAGE_SHIFT);
	for (unsigned long p = first; p < end;) {
		if (!vmst.guard_bits[p / BITS_PER_LONG] && p % BITS_PER_LONG == 0 &&
		    p + BITS_PER_LONG <= end) {
			p += BITS_PER_LONG;
			continue;
		}
		if (!guard_test(p)) {
			p++;
			continue;
		}
		unsigned long q = p;
		while (q < end && guard_test(q))
			q++;
		if (mprotect((void *)(kmm_vmalloc_start + (p << PAGE_SHIFT)), (q - p) << PAGE_SHIFT,
			     PROT_READ | PROT_WRITE) != 0)
			return -ENOMEM;
		vmst.nr_guards -= q - p;
		for (; p < q; p++)
			vmst.guard_bits[p / BITS_PER_LONG] &= ~(1UL << (p % BITS_PER_LONG));
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Areas                                                               */

/*
 * Take `size` bytes (guard included) aligned to `align` from the lowest
 * range of *root (the free or the purge tree) that fits, as
 * find_vmap_lowest_match():
 *
 *   range   [ f.start ............................... f.end )
 *   result  [ left piece ][ va: start .. end ][ right piece ]
 *
 * Either piece may be empty; the pieces stay in *root.  Returns the new
 * area, in no tree.
 */
static struct vmap_area *reserve_locked(struct vmap_area **root, unsigned long size,
					unsigned long align)
{
	unsigned long need = size + (align > PAGE_SIZE ? align - PAGE_SIZE : 0);
	if (!pool_reserve_locked(2))
		return NULL;
	struct vmap_area *f = vt_lowest_fit(*root, need);
	if (!f)
		return NULL;
	unsigned long start = ALIGN_UP(f->va_start, align), end = start + size;
	struct vmap_area *va;
	*root = vt_remove(*root, f);
	if (start == f->va_start && end == f->va_end) {
		va = f;
	} else {
		va = pool_get_locked();
		va->va_start = start;
		va->va_end = end;
		if (start > f->va_start && end < f->va_end) {
			struct vmap_area *r = pool_get_locked();
			r->va_start = end;
			r->va_end = f->va_end;
			r->freed_ns = f->freed_ns;
			f->va_end = start;
			*root = vt_insert(*root, r);
		} else if (start > f->va_start) {
			f->va_end = start;
		} else {
			f->va_start = end;
		}
		*root = vt_insert(*root, f);
	}
	va->flags = 0;
	va->nr_pages = 0;
	va->requested_size = 0;
	va->caller = NULL;
	return va;
}

/* Give a range that was never exposed (nothing written, nothing mapped)
 * straight back to the free tree. */
static void release_unused_locked(struct vmap_area *va)
{
	struct vmap_area *spare = NULL;
	vmst.free_root = vt_insert_merge(vmst.free_root, va, &spare);
	pool_put_list_locked(spare);
}

/* Queue a range for lazy unmapping; true when a purge is due. */
static bool queue_lazy_locked(struct vmap_area *va)
{
	struct vmap_area *spare = NULL;
	unsigned long start = va->va_start;
	vmst.lazy_nr += va_size(va) >> PAGE_SHIFT;
	va->flags = 0;
	vmst.purge_root = vt_insert_merge(vmst.purge_root, va, &spare);
	pool_put_list_locked(spare);
	/* The range it merged into is as young as its newest part. */
	vt_find_containing(vmst.purge_root, start)->freed_ns = kmm_now_ns();
	return vmst.lazy_nr > vmst.lazy_max;
}

/*
 * Call fn on every present pte of pages [start, start + nr pages), a leaf
 * table at a time; returns how many there were.
 */
static unsigned long for_each_pte(unsigned long start, unsigned long nr,
				  void (*fn)(AO_t *pte, AO_t e))
{
	unsigned long found = 0;
	while (nr) {
		unsigned long run;
		AO_t *pte = pgtable_pte_run(start, &run);
		if (run > nr)
			run = nr;
		for (unsigned long i = 0; pte && i < run; i++) {
			AO_t e = AO_load(&pte[i]);
			if (e) {
				found++;
				if (fn)
					fn(&pte[i], e);
			}
		}
		start += run << PAGE_SHIFT;
		nr -= run;
	}
	return found;
}

static void drop_warm_frame(AO_t *pte, AO_t e)
{
	struct page *page = page_of((unsigned long)e - 1);
	AO_store(pte, 0);
	page_clear_flag(page, PG_vmalloc);
	__free_page(page);
}

/* Free the warm frames of the lazy range [start, end). */
static void lazy_unmap_locked(unsigned long start, unsigned long end)
{
	ADD_ONCE(vmst.lazy_frames,
		 -for_each_pte(start, (end - start) >> PAGE_SHIFT, drop_warm_frame));
}

/*
 * A new area of nr pages (and its guard page) was carved out of lazy
 * ranges at start: its pages that still have a frame keep it, and belong
 * to the area now; a frame under the guard page is freed.  Returns the
 * frames adopted.
 */
static unsigned long lazy_adopt_locked(unsigned long start, unsigned long nr)
{
	unsigned long kept = for_each_pte(start, nr, NULL);
	ADD_ONCE(vmst.lazy_frames, -kept);
	lazy_unmap_locked(start + (nr << PAGE_SHIFT), start + ((nr + 1) << PAGE_SHIFT));
	return kept;
}

/*
 * heal (anon, after vrealloc moved pages with mremap): map the ranges
 * afresh instead of dropping their pages: a range that pages were moved
 * into is a host mapping of its own, and a fresh one merges back with its
 * neighbours.  Its guard pages become writable: their bits are cleared
 * under the lock (purge_merge_locked).
 */
static void purge_unmap_all(struct vmap_area *n, bool heal)
{
	if (!n)
		return;
	purge_unmap_all(n->left, heal);
	if (heal && map_fresh(n->va_start, va_size(n)))
		n->flags = 0;
	else
		host_unmap(n->va_start, va_size(n));   /* its guards stay */
	purge_unmap_all(n->right, heal);
}

/* Forget the guard bits of [addr, addr + len), mapped afresh. */
static void guard_forget_locked(unsigned long addr, unsigned long len)
{
	if (!vmst.guard_bits)
		return;
	unsigned long p = (addr - kmm_vmalloc_start) >> PAGE_SHIFT;
	unsigned long end = p + (len >> PAGE_SHIFT);
	while (p < end) {
		unsigned long *w = &vmst.guard_bits[p / BITS_PER_LONG];
		if (!*w || (p % BITS_PER_LONG == 0 && p + BITS_PER_LONG <= end)) {
			vmst.nr_guards -= (unsigned long)__builtin_popcountl(*w);
			*w = 0;
			p = (p / BITS_PER_LONG + 1) * BITS_PER_LONG;
			continue;
		}
		if (guard_test(p)) {
			*w &= ~(1UL << (p % BITS_PER_LONG));
			vmst.nr_guards--;
		}
		p++;
	}
}

static void purge_free_frames_locked(struct vmap_area *n)
{
	if (!n)
		return;
	purge_free_frames_locked(n->left);
	lazy_unmap_locked(n->va_start, n->va_end);
	purge_free_frames_locked(n->right);
}

/* Post order: a node's links are read before it is reinserted. */
static void purge_merge_locked(struct vmap_area *n, bool healed)
{
	if (!n)
		return;
	struct vmap_area *l = n->left, *r = n->right;
	purge_merge_locked(l, healed);
	purge_merge_locked(r, healed);
	if (healed && !n->flags)
		guard_forget_locked(n->va_start, va_size(n));
	n->flags = 0;
	release_unused_locked(n);
}

/*
 * purge_vmap_area_lazy(): unmap lazily freed ranges, highest addresses
 * first, until at most `keep` lazy pages are left (0: all of them), and
 * make them reusable.  With wait = false it gives up if another purge is
 * running (that one will do the work); with wait = true it waits, then
 * purges what has been queued since.  Returns the frames freed.
 */
struct old_ranges {
	long cutoff;
	int n;
	struct vmap_area *va[64];
};

static bool collect_old(struct vmap_area *va, void *arg)
{
	struct old_ranges *o = arg;
	if (va->freed_ns < o->cutoff)
		o->va[o->n++] = va;
	return o->n < (int)ARRAY_SIZE(o->va);
}

static unsigned long purge_vmap_area_lazy_aged(bool wait, unsigned long keep, long cutoff);

static unsigned long purge_vmap_area_lazy(bool wait, unsigned long keep)
{
	return purge_vmap_area_lazy_aged(wait, keep, 0);
}

/* As purge_vmap_area_lazy(), and first every range freed into before
 * cutoff_ns (0: none). */
static unsigned long purge_vmap_area_lazy_aged(bool wait, unsigned long keep, long cutoff)
{
	if (wait)
		pthread_mutex_lock(&vmst.purge_lock);
	else if (pthread_mutex_trylock(&vmst.purge_lock) != 0)
		return 0;
	pthread_mutex_lock(&vmst.lock);
	struct vmap_area *root;
	if (!keep) {
		root = vmst.purge_root;
		vmst.purge_root = NULL;
		vmst.lazy_nr = 0;
	} else {
		root = NULL;
		struct old_ranges old = { cutoff, 0, { NULL } };
		if (cutoff)
			vt_walk(vmst.purge_root, collect_old, &old);
		for (int i = 0; i < old.n; i++) {
			vmst.purge_root = vt_remove(vmst.purge_root, old.va[i]);
			vmst.lazy_nr -= va_size(old.va[i]) >> PAGE_SHIFT;
			root = vt_insert(root, old.va[i]);
		}
		while (vmst.lazy_nr > keep && vmst.purge_root) {
			struct vmap_area *top = vt_prev(vmst.purge_root, ~0UL);
			vmst.purge_root = vt_remove(vmst.purge_root, top);
			vmst.lazy_nr -= va_size(top) >> PAGE_SHIFT;
			root = vt_insert(root, top);
		}
	}
	unsigned long before = vmst.lazy_frames;
	/* Mapped afresh below: every moved range that was lazy heals. */
	bool heal = AO_load((AO_t *)&vmst.nr_moves) != 0;
	if (heal && !keep)
		AO_store((AO_t *)&vmst.nr_moves, 0);
	purge_free_frames_locked(root);
	unsigned long freed = before - vmst.lazy_frames;
	vmst.purging_root = root;
	pthread_mutex_unlock(&vmst.lock);
	if (root) {
		purge_unmap_all(root, heal);
		pthread_mutex_lock(&vmst.lock);
		vmst.purging_root = NULL;
		purge_merge_locked(root, heal);
		vmst.nr_purges++;
		pthread_mutex_unlock(&vmst.lock);
	}
	pthread_mutex_unlock(&vmst.purge_lock);
	return freed;
}

/*
 * The page allocator's reclaim hook (machine.pa.reclaim): give back every
 * warm frame.  It may run inside an allocation made under vmap_area_lock
 * or during a purge, so it only tries the locks.
 */
static unsigned long vmalloc_reclaim(void)
{
	if (!READ_ONCE(vmst.lazy_frames))
		return 0;
	if (pthread_mutex_trylock(&vmst.lock) != 0)
		return 0;
	pthread_mutex_unlock(&vmst.lock);
	return purge_vmap_area_lazy(false, 0);
}

/*
 * Reserve an area of `size` bytes plus a guard page and create its page
 * tables; it enters the busy tree with `flags` (VM_UNINITIALIZED set).
 * A vmalloc area is taken from a warm lazy range when one fits (*warm set;
 * the frames it adopts are its own now); else from the free tree.  When
 * there is no room, purge the lazily freed ranges and try again once.
 */
static struct vmap_area *get_area(unsigned long size, unsigned long align,
				  unsigned int flags, const void *caller, bool *warm)
{
	struct vmap_area *va = NULL;
	pthread_mutex_lock(&vmst.lock);
	*warm = false;
	if ((flags & VM_ALLOC) && vmst.purge_root &&
	    (va = reserve_locked(&vmst.purge_root, size + PAGE_SIZE, align))) {
		vmst.lazy_nr -= va_size(va) >> PAGE_SHIFT;
		*warm = true;
	}
	for (int tries = 0; !va && !(va = reserve_locked(&vmst.free_root, size + PAGE_SIZE,
							 align)); tries++) {
		bool lazy = vmst.lazy_nr || vmst.purging_root;
		pthread_mutex_unlock(&vmst.lock);
		if (tries || !lazy)
			return NULL;
		purge_vmap_area_lazy(true, 0);
		pthread_mutex_lock(&vmst.lock);
	}
	if (commit_to_locked(va->va_end) != 0 ||
	    pgtable_populate_locked(va->va_start, size) != 0 ||
	    guard_clear_locked(va->va_start, size) != 0) {
		if (*warm)
			queue_lazy_locked(va);      /* back as it was */
		else
			release_unused_locked(va);
		pthread_mutex_unlock(&vmst.lock);
		return NULL;
	}
	if (*warm) {
		lazy_adopt_locked(va->va_start, size >> PAGE_SHIFT);
		vmst.warm_hits++;
	}
	if (!(flags & VM_NO_GUARD))
		guard_protect_locked(va->va_start + size);
	va->flags = flags | VM_UNINITIALIZED;
	va->caller = caller;
	vmst.busy_root = vt_insert(vmst.busy_root, va);
	pthread_mutex_unlock(&vmst.lock);
	return va;
}

/* Clear the ptes of pages [from, to) of va; free the frames of a vmalloc
 * area; copy a vmap area's bytes back to its frames in anon mode. */
static void unmap_pages_locked(struct vmap_area *va, unsigned long from, unsigned long to)
{
	long freed = 0;
	for (unsigned long i = from; i < to; i++) {
		unsigned long addr = va->va_start + (i << PAGE_SHIFT);
		AO_t *pte = pgtable_pte(addr);
		AO_t e = pte ? AO_load(pte) : 0;
		if (!e)
			continue;
		unsigned long pfn = (unsigned long)e - 1;
		AO_store(pte, 0);
		if (va->flags & VM_ALLOC) {
			struct page *page = page_of(pfn);
			page_clear_flag(page, PG_vmalloc);
			__free_page(page);
			freed++;
		} else if (!vmst.memfd && !(va->flags & VM_UNINITIALIZED)) {
			memcpy(pfn_to_kaddr_raw(pfn), (void *)addr, PAGE_SIZE);
		}
	}
	if (freed && !(va->flags & VM_UNINITIALIZED))
		kmm_stat_add(NR_VMALLOC, -freed);
}

static gfp_t frame_gfp(gfp_t gfp)
{
	gfp_t g = (gfp & ~__GFP_COMP) | __GFP_NOWARN;
	if (!(gfp & (__GFP_DMA | __GFP_DMA32)))
		g |= __GFP_HIGHMEM;
	if (!vmst.memfd)
		g &= ~__GFP_ZERO;           /* the anon mapping holds the bytes */
	return g;
}

/*
 * Back pages [from, to) of va with frames; no lock held (va is ours,
 * VM_UNINITIALIZED).  A page that has a frame already (adopted from a warm
 * lazy range, `warm`) keeps it.  Returns the page index reached: `to` on
 * success.
 */
static unsigned long alloc_frames(struct vmap_area *va, unsigned long from,
				  unsigned long to, gfp_t gfp, bool warm)
{
	gfp_t g = frame_gfp(gfp);
	bool try_order = vmst.memfd && !warm;
	unsigned long i = from, run = 0;    /* ptes left in pte's table */
	AO_t *pte = NULL;
	while (i < to) {
		struct page *page = NULL;
		unsigned long n = 1;
		if (!run)
			pte = pgtable_pte_run(va->va_start + (i << PAGE_SHIFT), &run);
		if (warm && AO_load(pte)) {
			i++, pte++, run--;
			continue;
		}
		if (try_order && to - i >= (1UL << MEMFD_FRAME_ORDER) &&
		    run >= (1UL << MEMFD_FRAME_ORDER)) {
			page = alloc_pages((g | __GFP_NORETRY) & ~__GFP_NOFAIL, MEMFD_FRAME_ORDER);
			if (page) {
				n = 1UL << MEMFD_FRAME_ORDER;
				for (unsigned long k = 1; k < n; k++)
					set_page_count(page + k, 1);   /* split_page() */
			} else {
				try_order = false;
			}
		}
		if (!page)
			page = alloc_page(g);
		if (!page)
			break;
		for (unsigned long k = 0; k < n; k++, i++, pte++, run--) {
			page_set_flag(page + k, PG_vmalloc);
			AO_store_release(pte, (AO_t)(pfn_of(page + k) + 1));
		}
	}
	return i;
}

/* Change the end of a busy area (vrealloc): its key stays, its size
 * changes, so it is reinserted to keep the augmented values right. */
static void busy_set_end_locked(struct vmap_area *va, unsigned long end)
{
	vmst.busy_root = vt_remove(vmst.busy_root, va);
	va->va_end = end;
	vmst.busy_root = vt_insert(vmst.busy_root, va);
}

/* Mark a filled area ready. */
static void area_ready(struct vmap_area *va, unsigned long nr_pages, unsigned long size)
{
	pthread_mutex_lock(&vmst.lock);
	va->nr_pages = nr_pages;
	va->requested_size = size;
	va->flags &= ~VM_UNINITIALIZED;
	pthread_mutex_unlock(&vmst.lock);
	if (va->flags & VM_ALLOC)
		kmm_stat_add(NR_VMALLOC, (long)nr_pages);
}

/* Undo a failed get_area() + fill of pages [0, nr): the frames go back. */
static void area_abort(struct vmap_area *va, unsigned long nr, bool mapped)
{
	pthread_mutex_lock(&vmst.lock);
	vmst.busy_root = vt_remove(vmst.busy_root, va);
	unmap_pages_locked(va, 0, nr);
	if (mapped)
		queue_lazy_locked(va);
	else
		release_unused_locked(va);
	pthread_mutex_unlock(&vmst.lock);
}

static void warn_vmalloc(gfp_t gfp, const char *what, unsigned long size)
{
	if (!(gfp & __GFP_NOWARN) && kmm_ratelimit(&vmalloc_rs))
		kmm_printk("%s: vmalloc error: size %lu, %s\n", program_invocation_short_name,
			   size, what);
}

/* __vmalloc_node_range(): the one allocation path. */
static void *vmalloc_area_warm(unsigned long size, unsigned long align, gfp_t gfp,
			       unsigned long vm_flags, const void *caller, bool *warm_out);

static void *vmalloc_area(unsigned long size, unsigned long align, gfp_t gfp,
			  unsigned long vm_flags, const void *caller)
{
	bool warm;
	return vmalloc_area_warm(size, align, gfp, vm_flags, caller, &warm);
}

/* *warm_out: the area was a warm lazy range (its bytes are old). */
static void *vmalloc_area_warm(unsigned long size, unsigned long align, gfp_t gfp,
			       unsigned long vm_flags, const void *caller, bool *warm_out)
{
	static AO_t warned_zero;
	if (!kmm_ensure_up())
		return NULL;
	if (unlikely(!size)) {
		if (!(gfp & __GFP_NOWARN) && !AO_fetch_and_add1(&warned_zero))
			kmm_printk("WARNING: vmalloc of size 0 (caller %p)\n", caller);
		return NULL;
	}
	unsigned long real = size;
	size = PAGE_ALIGN(size);
	unsigned long nr = size >> PAGE_SHIFT;
	if (size < real || nr > machine.mem.max_pfn) {
		warn_vmalloc(gfp, "exceeds total pages", real);
		return NULL;
	}
	bool warm;
	struct vmap_area *va = get_area(size, align,
					(unsigned int)(VM_ALLOC | (vm_flags & VM_NO_GUARD)), caller,
					&warm);
	*warm_out = warm;
	if (!va) {
		warn_vmalloc(gfp, "vm_struct allocation failed", real);
		return NULL;
	}
	unsigned long got = alloc_frames(va, 0, nr, gfp, warm);
	if (got < nr) {
		area_abort(va, nr, warm);
		warn_vmalloc(gfp, "failed to allocate pages", real);
		return NULL;
	}
	if (vmst.memfd && host_map_frames(va->va_start, nr) != 0) {
		area_abort(va, nr, true);
		warn_vmalloc(gfp, "failed to map pages (vm.max_map_count?)", real);
		return NULL;
	}
	if (warm) {
		/* A warm range holds old bytes (and in memfd mode a new guard
		 * page must fault again). */
		if ((gfp & __GFP_ZERO) || machine.conf.init_on_alloc)
			memset((void *)va->va_start, 0, size);
		if (vmst.memfd)
			host_unmap(va->va_start + size, PAGE_SIZE);
	}
	area_ready(va, nr, real);
	return (void *)va->va_start;
}

/* Remove a busy area by start address: vfree() and vunmap(). */
static void free_area(const void *addr, const char *who)
{
	unsigned long a = (unsigned long)addr;
	struct vmap_area *va = NULL;
	bool purge = false, decay = false;
	long now = kmm_now_ns();
	if (is_vmalloc_addr(addr)) {
		pthread_mutex_lock(&vmst.lock);
		va = vt_find(vmst.busy_root, a);
		if (va && !(va->flags & VM_UNINITIALIZED)) {
			vmst.busy_root = vt_remove(vmst.busy_root, va);
			if (va->flags & VM_ALLOC) {
				/* Warm: frames, ptes and host pages stay (see 4). */
				ADD_ONCE(vmst.lazy_frames, va->nr_pages);
				kmm_stat_add(NR_VMALLOC, -(long)va->nr_pages);
				if (machine.conf.init_on_free)
					memset((void *)va->va_start, 0, va->nr_pages << PAGE_SHIFT);
			} else {
				unmap_pages_locked(va, 0, va->nr_pages);
			}
			purge = queue_lazy_locked(va);
			decay = now - vmst.last_decay_ns >= LAZY_DECAY_NS / 4;
			if (decay)
				vmst.last_decay_ns = now;
		} else {
			va = NULL;
		}
		pthread_mutex_unlock(&vmst.lock);
	}
	if (!va) {
		if (kmm_ratelimit(&vmalloc_rs))
			kmm_printk("WARNING: Trying to %s() nonexistent vm area (%p)\n", who, addr);
		return;
	}
	if (purge)
		purge_vmap_area_lazy_aged(false, vmst.lazy_max / 2, now - LAZY_DECAY_NS);
	else if (decay)
		purge_vmap_area_lazy_aged(false, ~0UL, now - LAZY_DECAY_NS);
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */

KMM_EXPORT bool is_vmalloc_addr(const void *addr)
{
	return (unsigned long)addr - kmm_vmalloc_start < kmm_vmalloc_end - kmm_vmalloc_start;
}

KMM_EXPORT void *__vmalloc(unsigned long size, gfp_t gfp)
{
	return vmalloc_area(size, PAGE_SIZE, gfp, 0, __builtin_return_address(0));
}

KMM_EXPORT void *__vmalloc_node(unsigned long size, unsigned long align, gfp_t gfp,
			       int node, const void *caller)
{
	(void)node;                         /* one node */
	if (align < PAGE_SIZE || (align & (align - 1))) {
		warn_vmalloc(gfp, "alignment is not a power of two >= PAGE_SIZE", size);
		return NULL;
	}
	return vmalloc_area(size, align, gfp, 0, caller);
}

/*
 * The kernel's general form.  One vmalloc area here: start and end must be
 * VMALLOC_START and VMALLOC_END; prot is always read-write; of vm_flags,
 * VM_NO_GUARD is honoured (the guard page stays a gap in the address space
 * instead of faulting, which saves two system calls when a block is
 * reused at another size: the malloc shim's default).
 */
KMM_EXPORT void *__vmalloc_node_range(unsigned long size, unsigned long align,
				      unsigned long start, unsigned long end, gfp_t gfp,
				      pgprot_t prot, unsigned long vm_flags, int node,
				      const void *caller)
{
	(void)prot;
	(void)node;
	if (!kmm_ensure_up())
		return NULL;
	if (start != kmm_vmalloc_start || end != kmm_vmalloc_end || align < PAGE_SIZE ||
	    (align & (align - 1))) {
		warn_vmalloc(gfp, "unsupported range or alignment", size);
		return NULL;
	}
	return vmalloc_area(size, align, gfp, vm_flags, caller);
}

KMM_EXPORT void *vmalloc(unsigned long size)
{
	return vmalloc_area(size, PAGE_SIZE, GFP_KERNEL, 0, __builtin_return_address(0));
}

KMM_EXPORT void *vzalloc(unsigned long size)
{
	return vmalloc_area(size, PAGE_SIZE, GFP_KERNEL | __GFP_ZERO, 0,
			    __builtin_return_address(0));
}

KMM_EXPORT void *vmalloc_node(unsigned long size, int node)
{
	(void)node;                         /* one node */
	return vmalloc_area(size, PAGE_SIZE, GFP_KERNEL, 0, __builtin_return_address(0));
}

KMM_EXPORT void *vmalloc_32(unsigned long size)
{
	return vmalloc_area(size, PAGE_SIZE, GFP_KERNEL | __GFP_DMA32, 0,
			    __builtin_return_address(0));
}

KMM_EXPORT void vfree(const void *addr)
{
	if (addr)
		free_area(addr, "vfree");
}

KMM_EXPORT void vunmap(const void *addr)
{
	if (addr)
		free_area(addr, "vunmap");
}

KMM_EXPORT void vm_unmap_aliases(void)
{
	if (!kmm_ensure_up())
		return;
	purge_vmap_area_lazy(true, 0);
}

KMM_EXPORT struct page *vmalloc_to_page(const void *addr)
{
	if (!is_vmalloc_addr(addr))
		return NULL;
	unsigned long pfn = pte_pfn_of((unsigned long)addr);
	return pfn == ~0UL ? NULL : page_of(pfn);
}

KMM_EXPORT unsigned long vmalloc_to_pfn(const void *addr)
{
	struct page *page = vmalloc_to_page(addr);
	return page ? pfn_of(page) : 0;
}

/* Take [next->va_start, end) out of the range `next` of *root. */
static void take_front_locked(struct vmap_area **root, struct vmap_area *next,
			      unsigned long end)
{
	*root = vt_remove(*root, next);
	if (next->va_end == end) {
		next->right = NULL;
		pool_put_list_locked(next);
	} else {
		next->va_start = end;
		*root = vt_insert(*root, next);
	}
}

/*
 * vrealloc(): within the same pages, nothing moves; shrink in place (the
 * new guard page's frame freed, the tail of the range queued as a warm
 * lazy range with its frames); grow in place when the range that follows
 * the area is free or lazy; else allocate, copy every mapped byte of the
 * old area (not only the bytes last asked for: a malloc user may use all
 * of get_vm_area_size()) and free.
 */
KMM_EXPORT void *vrealloc(const void *p, size_t size, gfp_t gfp)
{
	const void *caller = __builtin_return_address(0);
	unsigned long a = (unsigned long)p;
	if (!p)
		return vmalloc_area(size, PAGE_SIZE, gfp, 0, caller);
	if (!size) {
		vfree(p);
		return NULL;
	}
	unsigned long new_size = PAGE_ALIGN(size), nr = new_size >> PAGE_SHIFT;
	if (new_size < size || nr > machine.mem.max_pfn) {
		warn_vmalloc(gfp, "exceeds total pages", size);
		return NULL;
	}
	struct vmap_area *va = NULL;
	if (is_vmalloc_addr(p)) {
		pthread_mutex_lock(&vmst.lock);
		va = vt_find(vmst.busy_root, a);
		if (va && (va->flags & (VM_ALLOC | VM_UNINITIALIZED)) != VM_ALLOC)
			va = NULL;
		if (!va)
			pthread_mutex_unlock(&vmst.lock);
	}
	if (!va) {
		if (kmm_ratelimit(&vmalloc_rs))
			kmm_printk("WARNING: Trying to vrealloc() nonexistent vm area (%p)\n", p);
		return NULL;
	}
	unsigned long old_nr = va->nr_pages, old_size = va->requested_size;
	unsigned long va_flags = va->flags;
	bool init = (gfp & __GFP_ZERO) || machine.conf.init_on_alloc ||
		    machine.conf.init_on_free;

	if (nr <= old_nr) {
		/* As the kernel: bytes given up are cleared when they may be
		 * handed out again by a later grow. */
		if (init && size < old_size)
			memset((char *)p + size, 0, (old_size < new_size ? old_size : new_size) - size);
		va->requested_size = size;
		if (nr == old_nr) {
			pthread_mutex_unlock(&vmst.lock);
			return (void *)p;
		}
		unsigned long guard = a + new_size, tail = guard + PAGE_SIZE;
		unsigned long old_end = va->va_end;
		bool purge = false;
		va->nr_pages = nr;
		if (tail < old_end && pool_reserve_locked(1)) {
			struct vmap_area *t = pool_get_locked();
			unsigned long kept = old_nr - nr - 1;
			t->va_start = tail;
			t->va_end = old_end;
			unmap_pages_locked(va, nr, nr + 1);     /* the guard's frame */
			if (!(va->flags & VM_NO_GUARD))
				guard_protect_locked(guard);
			kmm_stat_add(NR_VMALLOC, -(long)kept);
			ADD_ONCE(vmst.lazy_frames, kept);
			if (machine.conf.init_on_free)
				memset((void *)tail, 0, kept << PAGE_SHIFT);
			busy_set_end_locked(va, tail);
			purge = queue_lazy_locked(t);
			pthread_mutex_unlock(&vmst.lock);
			if (vmst.memfd)
				host_unmap(guard, PAGE_SIZE);
		} else {
			unmap_pages_locked(va, nr, old_nr);
			if (!(va->flags & VM_NO_GUARD))
				guard_protect_locked(guard);
			pthread_mutex_unlock(&vmst.lock);
			/* The new guard page and the slack after it must not keep
			 * pointing at freed frames. */
			host_unmap(guard, old_end - guard);
		}
		if (purge)
			purge_vmap_area_lazy(false, vmst.lazy_max / 2);
		return (void *)p;
	}

	unsigned long need_end = a + new_size + PAGE_SIZE;
	bool warm = false;
	if (commit_to_locked(need_end) != 0 ||
	    pgtable_populate_locked(a + (old_nr << PAGE_SHIFT), (nr - old_nr) << PAGE_SHIFT)) {
		pthread_mutex_unlock(&vmst.lock);
		warn_vmalloc(gfp, "page table allocation failed", size);
		return NULL;
	}
	if (va->va_end < need_end) {        /* grow into the following range */
		struct vmap_area **root = &vmst.free_root;
		struct vmap_area *next = vt_find(vmst.free_root, va->va_end);
		if (!next) {
			root = &vmst.purge_root;
			next = vt_find(vmst.purge_root, va->va_end);
			warm = next != NULL;
		}
		if (!next || next->va_end < need_end || !pool_reserve_locked(1)) {
			pthread_mutex_unlock(&vmst.lock);
			goto move;
		}
		unsigned long from = va->va_end;
		take_front_locked(root, next, need_end);
		busy_set_end_locked(va, need_end);
		if (warm) {
			vmst.lazy_nr -= (need_end - from) >> PAGE_SHIFT;
			lazy_adopt_locked(from, (need_end - PAGE_SIZE - from) >> PAGE_SHIFT);
		}
	}
	/* The range is the area's now: its old guard page takes data. */
	if (guard_clear_locked(a + (old_nr << PAGE_SHIFT), (nr - old_nr) << PAGE_SHIFT) != 0) {
		pthread_mutex_unlock(&vmst.lock);
		warn_vmalloc(gfp, "cannot remap the guard page (vm.max_map_count?)", size);
		return NULL;
	}
	if (!(va->flags & VM_NO_GUARD))
		guard_protect_locked(a + new_size);
	va->flags |= VM_UNINITIALIZED;
	pthread_mutex_unlock(&vmst.lock);

	unsigned long got = alloc_frames(va, old_nr, nr, gfp, warm);
	int err = got < nr ? -ENOMEM : 0;
	if (!err && vmst.memfd)
		err = host_map_frames(a + (old_nr << PAGE_SHIFT), nr - old_nr);
	if (err) {
		pthread_mutex_lock(&vmst.lock);
		unmap_pages_locked(va, old_nr, nr);
		va->flags &= ~VM_UNINITIALIZED;
		pthread_mutex_unlock(&vmst.lock);
		if (vmst.memfd)
			host_unmap(a + (old_nr << PAGE_SHIFT), (nr - old_nr) << PAGE_SHIFT);
		warn_vmalloc(gfp, "failed to allocate pages", size);
		return NULL;
	}
	if (warm && vmst.memfd)
		host_unmap(need_end - PAGE_SIZE, PAGE_SIZE);
	if (gfp & __GFP_ZERO)
		memset((char *)p + old_size, 0, new_size - old_size);
	else if (warm && machine.conf.init_on_alloc)
		memset((char *)p + (old_nr << PAGE_SHIFT), 0, (nr - old_nr) << PAGE_SHIFT);
	pthread_mutex_lock(&vmst.lock);
	va->nr_pages = nr;
	va->requested_size = size;
	va->flags &= ~VM_UNINITIALIZED;
	pthread_mutex_unlock(&vmst.lock);
	kmm_stat_add(NR_VMALLOC, (long)(nr - old_nr));
	return (void *)p;

move:;
	bool warm_dst;
	void *n = vmalloc_area_warm(size, PAGE_SIZE, gfp, va_flags & VM_NO_GUARD, caller,
				    &warm_dst);
	if (!n)
		return NULL;
	unsigned long old_bytes = old_nr << PAGE_SHIFT;
	/* A large block going to a fresh range takes its pages along; into
	 * a warm one (resident already) it is copied. */
	if (old_bytes >= MOVE_MIN_BYTES && !warm_dst && !vmst.memfd &&
	    !(gfp & __GFP_ZERO) && AO_load((AO_t *)&vmst.nr_moves) < vmst.max_guards / 2 &&
	    host_move_pages(a, (unsigned long)n, old_bytes)) {
		AO_fetch_and_add1((AO_t *)&vmst.nr_moves);
	} else {
		memcpy(n, p, old_bytes < size ? old_bytes : size);
	}
	vfree(p);
	return n;
}

KMM_EXPORT void *vmap(struct page **pages, unsigned int count, unsigned long flags,
		      pgprot_t prot)
{
	const void *caller = __builtin_return_address(0);
	(void)prot;                         /* everything is mapped read-write */
	if (!kmm_ensure_up())
		return NULL;
	if (!pages || !count || count > machine.mem.max_pfn)
		return NULL;
	for (unsigned int i = 0; i < count; i++) {
		if (pages[i] < machine.mem.mem_map ||
		    pages[i] >= machine.mem.mem_map + machine.mem.max_pfn) {
			kmm_printk("WARNING: vmap(): pages[%u] = %p is not a page\n", i,
				   (void *)pages[i]);
			return NULL;
		}
	}
	unsigned long size = (unsigned long)count << PAGE_SHIFT;
	bool warm;
	struct vmap_area *va = get_area(size, PAGE_SIZE,
					(unsigned int)(VM_MAP | (flags & VM_USERMAP)), caller, &warm);
	if (!va)
		return NULL;
	for (unsigned int i = 0; i < count; i++)
		AO_store_release(pgtable_pte(va->va_start + ((unsigned long)i << PAGE_SHIFT)),
				 (AO_t)(pfn_of(pages[i]) + 1));
	if (vmst.memfd) {
		if (host_map_frames(va->va_start, count) != 0) {
			area_abort(va, count, true);
			return NULL;
		}
	} else {
		for (unsigned int i = 0; i < count; i++)
			memcpy((char *)va->va_start + ((unsigned long)i << PAGE_SHIFT),
			       pfn_to_kaddr_raw(pfn_of(pages[i])), PAGE_SIZE);
	}
	area_ready(va, count, size);
	return (void *)va->va_start;
}

/* ------------------------------------------------------------------ */
/* White-box helpers                                                   */

struct vmap_area *find_vmap_area(unsigned long addr)
{
	pthread_mutex_lock(&vmst.lock);
	struct vmap_area *va = vt_find_containing(vmst.busy_root, addr);
	pthread_mutex_unlock(&vmst.lock);
	return va;
}

/*
 * find_vm_area(), get_vm_area_size(): the kernel's names for the lookup the
 * malloc shim needs to validate a free().  The vm_struct is the busy
 * vmap_area itself (see DIFFERENCES); its usable size is the pages mapped,
 * which after a vrealloc() shrink may be less than the range minus guard.
 */
KMM_EXPORT struct vm_struct *find_vm_area(const void *addr)
{
	if (!is_vmalloc_addr(addr))
		return NULL;
	return (struct vm_struct *)find_vmap_area((unsigned long)addr);
}

KMM_EXPORT size_t get_vm_area_size(const struct vm_struct *area)
{
	const struct vmap_area *va = (const struct vmap_area *)area;
	return va ? AO_load((const AO_t *)&va->nr_pages) << PAGE_SHIFT : 0;
}

unsigned long vmalloc_overhead_pages(void)
{
	pthread_mutex_lock(&vmst.lock);
	unsigned long n = vmst.pool_pages + pgtable_nr_pages();
	pthread_mutex_unlock(&vmst.lock);
	return n;
}

unsigned long vmalloc_largest_free(void)
{
	pthread_mutex_lock(&vmst.lock);
	unsigned long n = vmst.free_root ? vmst.free_root->subtree_max_size : 0;
	pthread_mutex_unlock(&vmst.lock);
	return n;
}

void vmalloc_tree_heights(int *busy, int *free_tree)
{
	pthread_mutex_lock(&vmst.lock);
	*busy = vmst.busy_root ? vmst.busy_root->height : 0;
	*free_tree = vmst.free_root ? vmst.free_root->height : 0;
	pthread_mutex_unlock(&vmst.lock);
}

unsigned long vmalloc_lazy_pages(void)
{
	pthread_mutex_lock(&vmst.lock);
	unsigned long n = vmst.lazy_nr;
	pthread_mutex_unlock(&vmst.lock);
	return n;
}

/* ------------------------------------------------------------------ */
/* /proc/vmallocinfo                                                   */

struct vinfo {
	unsigned long start, end, nr_pages;
	unsigned int flags;             /* 0: unpurged */
	const void *caller;
};

struct vinfo_buf {
	struct vinfo *v;
	size_t n, cap;
};

static bool vinfo_add(struct vmap_area *va, void *arg)
{
	struct vinfo_buf *b = arg;
	if (b->n == b->cap)
		return false;
	b->v[b->n++] = (struct vinfo){ va->va_start, va->va_end, va->nr_pages,
				       va->flags, va->caller };
	return true;
}

static bool count_node(struct vmap_area *va, void *arg)
{
	(void)va;
	(*(size_t *)arg)++;
	return true;
}

static void print_caller(FILE *f, const void *caller)
{
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	if (caller && dladdr1(caller, &info, (void **)&sym, RTLD_DL_SYMENT) && info.dli_sname)
		fprintf(f, " %s+0x%lx/0x%lx", info.dli_sname,
			(unsigned long)((const char *)caller - (const char *)info.dli_saddr),
			sym ? (unsigned long)sym->st_size : 0UL);
	else if (caller)
		fprintf(f, " 0x%lx", (unsigned long)caller);
}

KMM_EXPORT void kmm_show_vmallocinfo(FILE *f)
{
	struct vinfo_buf b = { NULL, 0, 0 };
	size_t count = 0;
	kmm_ensure_booted();
	pthread_mutex_lock(&vmst.lock);
	vt_walk(vmst.busy_root, count_node, &count);
	vt_walk(vmst.purge_root, count_node, &count);
	vt_walk(vmst.purging_root, count_node, &count);
	pthread_mutex_unlock(&vmst.lock);

	/* Room for areas created meanwhile; more are left out. */
	size_t bytes = PAGE_ALIGN((count + 64) * sizeof(struct vinfo));
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return;
	b.v = mem;
	b.cap = count + 64;
	pthread_mutex_lock(&vmst.lock);
	vt_walk(vmst.busy_root, vinfo_add, &b);
	vt_walk(vmst.purge_root, vinfo_add, &b);
	vt_walk(vmst.purging_root, vinfo_add, &b);
	pthread_mutex_unlock(&vmst.lock);

	for (size_t i = 0; i < b.n; i++) {
		const struct vinfo *v = &b.v[i];
		if (!(v->flags & (VM_ALLOC | VM_MAP))) {
			fprintf(f, "0x%016lx-0x%016lx %7lu unpurged vm_area\n", v->start, v->end,
				v->end - v->start);
			continue;
		}
		fprintf(f, "0x%016lx-0x%016lx %7lu", v->start, v->end, v->end - v->start);
		print_caller(f, v->caller);
		if (v->nr_pages)
			fprintf(f, " pages=%lu", v->nr_pages);
		if (v->flags & VM_ALLOC)
			fputs(" vmalloc", f);
		if (v->flags & VM_MAP)
			fputs(" vmap", f);
		if (v->flags & VM_USERMAP)
			fputs(" user", f);
		if ((v->flags & VM_ALLOC) && v->nr_pages)
			fprintf(f, " N0=%lu", v->nr_pages);
		fputc('\n', f);
	}
	munmap(mem, bytes);
}

/* ------------------------------------------------------------------ */
/* kmm_check()                                                         */

struct check_ctx {
	int problems;
	struct vmap_area *against;      /* check_lazy: the tree to compare with */
	unsigned long vmalloc_pages;    /* in ready VM_ALLOC areas */
	bool uninit;                    /* some area is being filled */
};

/* True when [start, end) overlaps a node of root. */
static bool overlaps(struct vmap_area *root, unsigned long start, unsigned long end)
{
	struct vmap_area *p = vt_prev(root, end);
	return p && p->va_end > start;
}

static bool check_busy(struct vmap_area *va, void *arg)
{
	struct check_ctx *c = arg;
	if (overlaps(vmst.free_root, va->va_start, va->va_end) ||
	    overlaps(vmst.purge_root, va->va_start, va->va_end) ||
	    overlaps(vmst.purging_root, va->va_start, va->va_end)) {
		kmm_printk("vmalloc: check: busy area %#lx-%#lx overlaps a free or lazy range\n",
			   va->va_start, va->va_end);
		c->problems++;
	}
	if (!(va->flags & (VM_ALLOC | VM_MAP))) {
		kmm_printk("vmalloc: check: busy area %#lx-%#lx has flags %#x\n", va->va_start,
			   va->va_end, va->flags);
		c->problems++;
	}
	if (va->flags & VM_UNINITIALIZED) {
		c->uninit = true;
		return true;
	}
	if (va_size(va) < (va->nr_pages + 1) << PAGE_SHIFT) {
		kmm_printk("vmalloc: check: area %#lx-%#lx too small for %lu pages and a guard\n",
			   va->va_start, va->va_end, va->nr_pages);
		c->problems++;
		return true;
	}
	for (unsigned long i = 0; i < va->nr_pages; i++) {
		unsigned long pfn = pte_pfn_of(va->va_start + (i << PAGE_SHIFT));
		if (pfn >= machine.mem.max_pfn) {
			kmm_printk("vmalloc: check: area %#lx page %lu: no pte\n", va->va_start, i);
			c->problems++;
			continue;
		}
		const struct page *page = page_of(pfn);
		if ((va->flags & VM_ALLOC) &&
		    (!page_test_flag(page, PG_vmalloc) || page_count(page) < 1)) {
			kmm_printk("vmalloc: check: area %#lx page %lu: pfn %#lx is not a "
				   "vmalloc frame (flags %#lx count %d)\n", va->va_start, i, pfn,
				   page->flags, page_count(page));
			c->problems++;
		}
	}
	if (va->flags & VM_ALLOC)
		c->vmalloc_pages += va->nr_pages;
	for (unsigned long i = 0; vmst.guard_bits && i < va->nr_pages; i++) {
		if (guard_test(((va->va_start - kmm_vmalloc_start) >> PAGE_SHIFT) + i)) {
			kmm_printk("vmalloc: check: area %#lx page %lu is a PROT_NONE guard page\n",
				   va->va_start, i);
			c->problems++;
			break;
		}
	}
	return true;
}

static bool check_lazy(struct vmap_area *va, void *arg)
{
	struct check_ctx *c = arg;
	if (overlaps(c->against, va->va_start, va->va_end)) {
		kmm_printk("vmalloc: check: lazy range %#lx-%#lx overlaps a free or lazy range\n",
			   va->va_start, va->va_end);
		c->problems++;
	}
	return true;
}

static bool check_free_adjacent(struct vmap_area *va, void *arg)
{
	struct check_ctx *c = arg;
	if (c->against && c->against->va_end == va->va_start) {
		kmm_printk("vmalloc: check: free ranges meet at %#lx unmerged\n", va->va_start);
		c->problems++;
	}
	c->against = va;
	return true;
}

static int check_pte(unsigned long addr, unsigned long pfn, void *arg)
{
	unsigned long *lazy_ptes = arg;
	struct vmap_area *va = vt_find_containing(vmst.busy_root, addr);
	if (va && (va->flags & VM_UNINITIALIZED))
		return 0;
	if (!va && (vt_find_containing(vmst.purge_root, addr) ||
		    vt_find_containing(vmst.purging_root, addr))) {
		(*lazy_ptes)++;                 /* a warm frame of a lazy range */
		return 0;
	}
	if (!va || addr >= va->va_start + (va->nr_pages << PAGE_SHIFT)) {
		kmm_printk("vmalloc: check: pte %#lx -> pfn %#lx outside any mapped page\n",
			   addr, pfn);
		return 1;
	}
	if (pfn >= machine.mem.max_pfn) {
		kmm_printk("vmalloc: check: pte %#lx -> pfn %#lx beyond memory\n", addr, pfn);
		return 1;
	}
	return 0;
}

/*
 * Frames marked PG_vmalloc, in every online section.  Called under
 * vmst.lock when no area is being filled (none is VM_UNINITIALIZED), so no
 * PG_vmalloc bit is changing: frames are unmarked under the lock.  The
 * other bits of the same flags words belong to whoever owns each frame
 * and may be changing (a race allowed on purpose); the bit read is exact.
 */
static __data_racy unsigned long count_vmalloc_frames(void)
{
	unsigned long flagged = 0;
	for (unsigned long pfn = 0; pfn < machine.mem.max_pfn; pfn += PAGES_PER_SECTION) {
		if (!machine.mem.section_online[pfn / PAGES_PER_SECTION])
			continue;
		unsigned long end = pfn + PAGES_PER_SECTION;
		if (end > machine.mem.max_pfn)
			end = machine.mem.max_pfn;
		for (unsigned long p = pfn; p < end; p++)
			flagged += page_test_flag(page_of(p), PG_vmalloc);
	}
	return flagged;
}

int vmalloc_check(void)
{
	struct check_ctx c = { 0, NULL, 0, false };
	unsigned long count = 0, bytes = 0;
	unsigned long lo = kmm_vmalloc_start, hi = kmm_vmalloc_end;
	if (!lo)
		return 0;
	pthread_mutex_lock(&vmst.lock);
	c.problems += vt_check(vmst.free_root, "free", lo, hi, &count, &bytes);
	c.problems += vt_check(vmst.busy_root, "busy", lo, hi, &count, &bytes);
	c.problems += vt_check(vmst.purge_root, "purge", lo, hi, &count, &bytes);
	c.problems += vt_check(vmst.purging_root, "purging", lo, hi, &count, &bytes);
	if (bytes != hi - lo) {
		kmm_printk("vmalloc: check: free, busy and lazy ranges cover %lu bytes of %lu\n",
			   bytes, hi - lo);
		c.problems++;
	}
	vt_walk(vmst.free_root, check_free_adjacent, &c);
	vt_walk(vmst.busy_root, check_busy, &c);
	c.against = vmst.free_root;
	vt_walk(vmst.purge_root, check_lazy, &c);
	vt_walk(vmst.purging_root, check_lazy, &c);
	c.against = vmst.purging_root;
	vt_walk(vmst.purge_root, check_lazy, &c);
	unsigned long lazy_ptes = 0, guards = 0;
	for (unsigned long w = 0; vmst.guard_bits && w < ((hi - lo) >> PAGE_SHIFT) / BITS_PER_LONG; w++)
		guards += vmst.guard_bits[w] ? (unsigned long)__builtin_popcountl(vmst.guard_bits[w]) : 0;
	if (guards != vmst.nr_guards) {
		kmm_printk("vmalloc: check: %lu guard pages marked, nr_guards %lu\n", guards,
			   vmst.nr_guards);
		c.problems++;
	}
	c.problems += pgtable_walk(check_pte, &lazy_ptes);
	if (lazy_ptes != vmst.lazy_frames) {
		kmm_printk("vmalloc: check: %lu ptes in lazy ranges, lazy_frames %lu\n",
			   lazy_ptes, vmst.lazy_frames);
		c.problems++;
	}
	if (!c.uninit) {
		unsigned long stat = (unsigned long)AO_load(&machine.stat[NR_VMALLOC]);
		unsigned long flagged = count_vmalloc_frames();
		if (stat != c.vmalloc_pages || flagged != c.vmalloc_pages + vmst.lazy_frames) {
			kmm_printk("vmalloc: check: %lu pages in vmalloc areas, nr_vmalloc %lu, "
				   "%lu frames marked PG_vmalloc, %lu warm in lazy ranges\n",
				   c.vmalloc_pages, stat, flagged, vmst.lazy_frames);
			c.problems++;
		}
	}
	pthread_mutex_unlock(&vmst.lock);
	return c.problems;
}

/* ------------------------------------------------------------------ */
/* Boot and fork                                                       */

/* The guard bitmap, a bit per page of the range (untouched words cost
 * nothing), and the limit from vm.max_map_count. */
static void guards_init(unsigned long size)
{
	unsigned long max_map = 65530;
	char buf[32];
	if (kmm_read_file("/proc/sys/vm/max_map_count", buf, sizeof(buf)) > 0)
		max_map = strtoul(buf, NULL, 10);
	vmst.max_guards = max_map / 4;
	if (vmst.memfd)
		return;
	size_t bytes = PAGE_ALIGN((size >> PAGE_SHIFT) / 8 + sizeof(long));
	void *bits = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	vmst.guard_bits = bits == MAP_FAILED ? NULL : bits;
}

int vmalloc_init(void)
{
	/* The range was reserved by memory_init(), with the others. */
	char *base = machine.mem.vmalloc_base;
	unsigned long size = machine.mem.vmalloc_size;
	vmst.memfd = machine.mem.memfd >= 0;
	if (!base)
		return -ENOMEM;
	/* Small areas must not fault in 2 MiB pages. */
	if (!machine.conf.thp)
		madvise(base, size, MADV_NOHUGEPAGE);
	int ret = pgtable_init((unsigned long)base, size);
	if (ret)
		return ret;

	unsigned int cpus = nr_cpu_ids ? nr_cpu_ids : 1, fls = 0;
	while (cpus >> fls)
		fls++;
	vmst.lazy_max = (LAZY_MAX_BYTES >> PAGE_SHIFT) * fls;
	if (vmst.lazy_max > (size >> PAGE_SHIFT) / 8)
		vmst.lazy_max = (size >> PAGE_SHIFT) / 8;
	/* Warm lazy ranges hold frames: at most an eighth of memory. */
	if (vmst.lazy_max > machine.mem.max_pfn / 8)
		vmst.lazy_max = machine.mem.max_pfn / 8;
	machine.pa.reclaim = vmalloc_reclaim;
	guards_init(size);

	/* The first free range needs no frame: boot allocates nothing here
	 * (an injected allocation failure at boot must not break vmalloc). */
	static struct vmap_area first;
	struct vmap_area *all = &first;
	pthread_mutex_lock(&vmst.lock);
	all->va_start = (unsigned long)base;
	all->va_end = (unsigned long)base + size;
	vmst.free_root = vt_insert(NULL, all);
	pthread_mutex_unlock(&vmst.lock);
	kmm_vmalloc_start = (unsigned long)base;
	kmm_vmalloc_end = (unsigned long)base + size;
	return 0;
}

void vmalloc_lock_all(void)
{
	pthread_mutex_lock(&vmst.purge_lock);
	pthread_mutex_lock(&vmst.lock);
}

void vmalloc_unlock_all(void)
{
	pthread_mutex_unlock(&vmst.lock);
	pthread_mutex_unlock(&vmst.purge_lock);
}
