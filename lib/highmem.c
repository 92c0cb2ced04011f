/*
 * highmem.c - kmap(), kmap_local_page(), kmap_atomic(): addresses for
 * HighMem frames, as on a 32-bit kernel.
 *
 * DESIGN
 *
 * With lowmem= set, frames above it are HighMem: page_address() is
 * page->virtual, NULL until the frame is kmapped.  The bytes of every
 * frame live at direct_map + phys (pfn_to_kaddr_raw), HighMem included;
 * the API simply does not hand that address out for HighMem except through
 * these calls.
 *
 *   kmap(page)         a mapping shared by every thread, valid until the
 *                      matching kunmap(); calls nest, counted in
 *                      page->_mapcount; page->virtual holds the address
 *                      while the count is positive, so page_address()
 *                      answers it, and NULL after the last kunmap().
 *                      anon mode: the address is the frame's raw alias.
 *                      phys=memfd: a slot of the pkmap area (LAST_PKMAP
 *                      pages, a reservation of its own, as the kernel's
 *                      PKMAP_BASE), mapped MAP_SHARED|MAP_FIXED from the
 *                      memfd at the frame's offset: another coherent
 *                      alias.  When every slot is in use kmap() waits for
 *                      a kunmap(), as the kernel's sleeps.  A freed slot's
 *                      mapping is left in place until the slot is reused
 *                      (the kernel flushes pkmaps lazily too).
 *   kmap_local_page()  a mapping private to the thread, released in
 *                      stack order by kunmap_local(); a small per-thread
 *                      stack (KM_MAX_IDX entries, initial-exec TLS so a
 *                      preloaded library needs no TLS allocation) records
 *                      the order; the address is the frame's raw alias in
 *                      both modes (coherent: in memfd mode the direct map
 *                      is itself a MAP_SHARED view of the memfd).
 *   kmap_atomic()      kmap_local_page() (there is no preemption to turn off).
 *
 * For a lowmem frame every call returns page_address() and the unmaps do
 * nothing, as in the kernel.  Data written through any of these mappings
 * is in the frame: the next kmap of it sees it.
 *
 * LOCKING: kmap_lock (a leaf: nothing else is taken under it; it is never
 * taken under another allocator lock) protects page->_mapcount and
 * page->virtual of HighMem frames and the pkmap slots.  The per-thread
 * stack needs no lock.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "vmap.h"

#define LAST_PKMAP 512
#define KM_MAX_IDX 16

static struct {
	pthread_mutex_t lock;          /* kmap_lock */
	pthread_cond_t wait;           /* pkmap_map_wait */
	char *base;                    /* PKMAP_BASE, memfd mode only */
	int count[LAST_PKMAP];         /* kmap()s of the slot's page; 0 = free */
	unsigned int last;             /* last_pkmap_nr */
} pkmap = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wait = PTHREAD_COND_INITIALIZER,
};

struct kmap_ctrl {
	int idx;
	const void *addr[KM_MAX_IDX];
};

static __thread struct kmap_ctrl kmap_ctrl __attribute__((tls_model("initial-exec")));

static inline bool pfn_is_high(unsigned long pfn)
{
	return pfn >= machine.mem.lowmem_pfn && pfn < machine.mem.max_pfn;
}

int highmem_init(void)
{
	if (machine.mem.memfd < 0 || machine.mem.lowmem_pfn == machine.mem.max_pfn)
		return 0;
	void *p = mmap(NULL, LAST_PKMAP * PAGE_SIZE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	pkmap.base = p;
	return 0;
}

/* Map page in a free pkmap slot; kmap_lock held, may wait for one. */
static void *map_new_virtual_locked(struct page *page)
{
	for (;;) {
		for (unsigned int n = 0; n < LAST_PKMAP; n++) {
			unsigned int slot = (pkmap.last + n) % LAST_PKMAP;
			if (pkmap.count[slot])
				continue;
			char *addr = pkmap.base + (unsigned long)slot * PAGE_SIZE;
			void *p = mmap(addr, PAGE_SIZE, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_FIXED, machine.mem.memfd,
				       (off_t)PFN_PHYS(pfn_of(page)));
			if (p == MAP_FAILED) {
				kmm_printk("kmap: cannot map pfn %#lx: %s\n", pfn_of(page),
					   strerror(errno));
				return NULL;
			}
			pkmap.count[slot] = 1;
			pkmap.last = slot + 1;
			return addr;
		}
		pthread_cond_wait(&pkmap.wait, &pkmap.lock);
	}
}

KMM_EXPORT void *kmap(struct page *page)
{
	if (!PageHighMem(page))
		return page_address(page);
	pthread_mutex_lock(&pkmap.lock);
	void *addr = page->virtual;
	if (!addr) {
		addr = pkmap.base ? map_new_virtual_locked(page)
				  : pfn_to_kaddr_raw(pfn_of(page));
		if (addr) {
			page->virtual = addr;
			page->_mapcount = 1;
		}
	} else {
		page->_mapcount++;
	}
	pthread_mutex_unlock(&pkmap.lock);
	return addr;
}

KMM_EXPORT void kunmap(struct page *page)
{
	if (!PageHighMem(page))
		return;
	pthread_mutex_lock(&pkmap.lock);
	if (page->_mapcount <= 0 || !page->virtual) {
		pthread_mutex_unlock(&pkmap.lock);
		kmm_printk("BUG: kunmap() of pfn %#lx, which is not kmapped\n", pfn_of(page));
		return;
	}
	if (--page->_mapcount == 0) {
		if (pkmap.base) {
			unsigned long slot = (unsigned long)((char *)page->virtual - pkmap.base) >> PAGE_SHIFT;
			pkmap.count[slot] = 0;
			pthread_cond_signal(&pkmap.wait);
		}
		page->virtual = NULL;
	}
	pthread_mutex_unlock(&pkmap.lock);
}

KMM_EXPORT void *kmap_local_page(struct page *page)
{
	if (!PageHighMem(page))
		return page_address(page);
	void *addr = pfn_to_kaddr_raw(pfn_of(page));
	struct kmap_ctrl *k = &kmap_ctrl;
	if (unlikely(k->idx >= KM_MAX_IDX)) {
		kmm_printk("BUG: kmap_local_page(): more than %d nested mappings\n", KM_MAX_IDX);
		return addr;
	}
	k->addr[k->idx++] = addr;
	return addr;
}

KMM_EXPORT void kunmap_local(const void *addr)
{
	unsigned long off = (unsigned long)((const char *)addr - machine.mem.direct_map);
	if (!machine.mem.direct_map || !pfn_is_high(off >> PAGE_SHIFT))
		return;                         /* a lowmem address: nothing to undo */
	const void *page_addr = (const void *)ALIGN_DOWN((unsigned long)addr, PAGE_SIZE);
	struct kmap_ctrl *k = &kmap_ctrl;
	if (likely(k->idx > 0 && k->addr[k->idx - 1] == page_addr)) {
		k->idx--;
		return;
	}
	/* As the kernel's WARN_ON_ONCE: say so, then drop the entry anyway. */
	kmm_printk("WARNING: kunmap_local(%p) out of order: the most recent "
		   "kmap_local_page() is %p\n", addr, k->idx ? k->addr[k->idx - 1] : NULL);
	for (int i = k->idx - 1; i >= 0; i--) {
		if (k->addr[i] == page_addr) {
			memmove(&k->addr[i], &k->addr[i + 1],
				(size_t)(k->idx - 1 - i) * sizeof(k->addr[0]));
			k->idx--;
			break;
		}
	}
}

KMM_EXPORT void *kmap_atomic(struct page *page)
{
	return kmap_local_page(page);
}

KMM_EXPORT void kunmap_atomic(const void *addr)
{
	kunmap_local(addr);
}

int kmap_local_depth(void)
{
	return kmap_ctrl.idx;
}

void highmem_lock_all(void)
{
	pthread_mutex_lock(&pkmap.lock);
}

void highmem_unlock_all(void)
{
	pthread_mutex_unlock(&pkmap.lock);
}
