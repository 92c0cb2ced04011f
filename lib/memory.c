/*
 * memory.c - emulated physical memory: frames, struct page, sections, the
 * direct map, and giving free memory back to the host.
 *
 * LAYOUT
 *
 *   mem_map      one struct page (64 bytes) per PFN, 0 .. max_pfn, in an
 *                anonymous MAP_NORESERVE reservation: untouched struct pages
 *                cost nothing and read as zeroes, a valid state.
 *   direct map   the frames themselves: __va(phys) = direct_map + phys.
 *                The base is aligned to 1 GiB, so a block that is naturally
 *                aligned as PFNs (up to 1 GiB) is naturally aligned as an
 *                address.  Private anonymous MAP_NORESERVE memory by
 *                default, so fork() gives the child a copy-on-write heap;
 *                with phys=memfd a MAP_SHARED view of one memfd, so that
 *                every alias of a frame (direct map, vmalloc, kmap) sees the
 *                same bytes, and a forked child shares the heap.
 *   HighMem      frames above lowmem= have no direct-map address for the
 *                API (page_address() is NULL), but their bytes live at the
 *                same offset of the reservation, which kmap() hands out.
 *
 * SECTIONS
 *
 * Memory comes online in 128 MiB sections, on demand: at boot only the
 * first section, later one at a time when a zone runs below its low
 * watermark (page_alloc.c).  Onlining a section writes only the head
 * struct page of each free MAX_PAGE_ORDER block, so a section costs about
 * 128 KiB of mem_map, and start-up stays cheap.  Sections never go offline.
 *
 * RELEASE TO THE HOST
 *
 * The buddy allocator calls memory_release_range() for free blocks of
 * pageblock order and up (policy in page_alloc.c); the range is dropped
 * with MADV_DONTNEED (or a hole punched in the memfd) and reads as zeroes
 * when touched again, which lets __GFP_ZERO skip the memset.
 *
 * LOCKING: hotplug_lock serialises onlining; it is taken before zone->lock.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "internal.h"

#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif

/* The vmalloc area's bounds; lib/vmalloc.c reserves it. */
KMM_EXPORT unsigned long kmm_vmalloc_start, kmm_vmalloc_end;

static void *reserve(size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Reserve `size` bytes at a 1 GiB-aligned address. */
static char *reserve_aligned(size_t size, int prot)
{
	size_t span = size + SZ_1G;
	char *raw = reserve(span, prot);
	if (!raw)
		return NULL;
	char *base = (char *)ALIGN_UP((unsigned long)raw, SZ_1G);
	if (base > raw)
		munmap(raw, (size_t)(base - raw));
	size_t tail = (size_t)(raw + span - (base + size));
	if (tail)
		munmap(base + size, tail);
	return base;
}

int memory_init(void)
{
	struct phys_memory *m = &machine.mem;
	struct kmm_config *c = &machine.conf;
	unsigned long mem = ALIGN_DOWN(c->mem, MAX_ORDER_NR_PAGES << PAGE_SHIFT);

	m->max_pfn = mem >> PAGE_SHIFT;
	m->lowmem_pfn = m->max_pfn;
	if (c->lowmem) {
		unsigned long low = ALIGN_DOWN(c->lowmem, MAX_ORDER_NR_PAGES << PAGE_SHIFT);
		if (low <= KMM_MEM_MIN || low >= mem) {
			kmm_printk("libkmm: KMM_CONF: lowmem=%luM must lie between 16M and "
				   "mem= (%luM); no HighMem\n", c->lowmem >> 20, mem >> 20);
			c->nr_errors++;
			c->lowmem = 0;
		} else {
			m->lowmem_pfn = low >> PAGE_SHIFT;
		}
	}
	m->nr_sections = (m->max_pfn + PAGES_PER_SECTION - 1) / PAGES_PER_SECTION;
	m->memfd = -1;
	pthread_mutex_init(&m->hotplug_lock, NULL);

	m->mem_map = reserve(m->max_pfn * sizeof(struct page), PROT_READ | PROT_WRITE);
	if (!m->mem_map)
		return -ENOMEM;
	m->mem_map_bytes = m->max_pfn * sizeof(struct page);

	size_t nr_pageblocks = m->max_pfn >> pageblock_order;
	unsigned char *tables = reserve(m->nr_sections + nr_pageblocks,
					PROT_READ | PROT_WRITE);
	if (!tables)
		return -ENOMEM;
	m->section_online = tables;
	m->pageblock_mt = tables + m->nr_sections;
	/* Every pageblock starts movable, as the kernel's do at boot. */
	memset(m->pageblock_mt, MIGRATE_MOVABLE, nr_pageblocks);

	if (c->phys_memfd) {
		m->memfd = (int)memfd_create("kmm-phys", MFD_CLOEXEC);
		if (m->memfd < 0 || ftruncate(m->memfd, (off_t)mem) < 0) {
			kmm_printk("libkmm: phys=memfd: memfd_create failed (%s); "
				   "using private memory\n", strerror(errno));
			if (m->memfd >= 0)
				close(m->memfd);
			m->memfd = -1;
			c->phys_memfd = false;
		}
	}
	if (m->memfd >= 0) {
		char *base = reserve_aligned(mem, PROT_NONE);
		if (!base)
			return -ENOMEM;
		void *p = mmap(base, mem, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			       m->memfd, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		m->direct_map = base;
	} else {
		m->direct_map = reserve_aligned(mem, PROT_READ | PROT_WRITE);
		if (!m->direct_map)
			return -ENOMEM;
	}
	if (c->thp)
		madvise(m->direct_map, mem, MADV_HUGEPAGE);
	return 0;
}

/*
 * Bring online the lowest offline section that holds frames of `zone`,
 * handing those frames (and any other zone's share of the section) to the
 * buddy allocator.  Caller holds no zone lock.
 */
bool memory_online_section(struct zone *zone)
{
	struct phys_memory *m = &machine.mem;
	bool done = false;
	if (!zone->spanned_pages)
		return false;

	pthread_mutex_lock(&m->hotplug_lock);
	unsigned long first = zone->zone_start_pfn / PAGES_PER_SECTION;
	unsigned long last = (zone_end_pfn(zone) - 1) / PAGES_PER_SECTION;
	for (unsigned long sec = first; sec <= last && !done; sec++) {
		if (m->section_online[sec])
			continue;
		unsigned long start = sec * PAGES_PER_SECTION;
		unsigned long end = start + PAGES_PER_SECTION;
		if (end > m->max_pfn)
			end = m->max_pfn;
		for (int z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zz = &machine.node.node_zones[z];
			if (!zz->spanned_pages)
				continue;
			unsigned long lo = start > zz->zone_start_pfn ? start : zz->zone_start_pfn;
			unsigned long hi = end < zone_end_pfn(zz) ? end : zone_end_pfn(zz);
			if (lo < hi) {
				page_alloc_add_range(zz, lo, hi - lo);
				ADD_ONCE(zz->nr_sections_online, 1);
			}
		}
		ADD_ONCE(m->online_pages, end - start);
		m->section_online[sec] = 1;
		done = true;
	}
	pthread_mutex_unlock(&m->hotplug_lock);
	return done;
}

/* True when the zone still has sections that are not online.  Read
 * without the hotplug lock: managed_pages only grows, and a stale answer
 * costs one more trip to memory_online_section(), which rechecks. */
bool memory_zone_has_offline(const struct zone *zone)
{
	return READ_ONCE(zone->managed_pages) < zone->spanned_pages;
}

void memory_release_range(unsigned long pfn, unsigned long nr_pages)
{
	struct phys_memory *m = &machine.mem;
	char *addr = pfn_to_kaddr_raw(pfn);
	size_t len = nr_pages << PAGE_SHIFT;
	if (m->memfd >= 0)
		fallocate(m->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)PFN_PHYS(pfn), (off_t)len);
	else
		madvise(addr, len, MADV_DONTNEED);
}

bool kmm_is_direct_map_addr(const void *addr)
{
	return addr_in_direct_map(addr);
}

/* ------------------------------------------------------------------ */
/* Conversions (the public API)                                        */

KMM_EXPORT void *page_address(const struct page *page)
{
	unsigned long pfn = pfn_of(page);
	if (unlikely(pfn >= machine.mem.lowmem_pfn))
		return page->virtual;           /* NULL unless kmapped */
	return pfn_to_kaddr_raw(pfn);
}

KMM_EXPORT bool virt_addr_valid(const void *addr)
{
	return addr_in_direct_map(addr);
}

KMM_EXPORT struct page *virt_to_page(const void *addr)
{
	unsigned long off = (unsigned long)((const char *)addr - machine.mem.direct_map);
	return page_of(off >> PAGE_SHIFT);
}

KMM_EXPORT struct page *virt_to_head_page(const void *addr)
{
	return compound_head(virt_to_page(addr));
}

KMM_EXPORT unsigned long page_to_pfn(const struct page *page)
{
	return pfn_of(page);
}

KMM_EXPORT struct page *pfn_to_page(unsigned long pfn)
{
	return page_of(pfn);
}

KMM_EXPORT bool pfn_valid(unsigned long pfn)
{
	kmm_ensure_booted();
	return pfn < machine.mem.max_pfn;
}

KMM_EXPORT phys_addr_t virt_to_phys(const void *addr)
{
	return (phys_addr_t)((const char *)addr - machine.mem.direct_map);
}

KMM_EXPORT void *phys_to_virt(phys_addr_t phys)
{
	return machine.mem.direct_map + phys;
}

KMM_EXPORT phys_addr_t page_to_phys(const struct page *page)
{
	return PFN_PHYS(pfn_of(page));
}

KMM_EXPORT struct zone *page_zone(const struct page *page)
{
	return &machine.node.node_zones[pfn_zonenum(pfn_of(page))];
}

KMM_EXPORT enum zone_type page_zonenum(const struct page *page)
{
	return pfn_zonenum(pfn_of(page));
}

KMM_EXPORT bool PageHighMem(const struct page *page)
{
	return pfn_of(page) >= machine.mem.lowmem_pfn;
}

KMM_EXPORT bool PageSlab(const struct page *page)
{
	return page_test_flag(compound_head(page), PG_slab);
}

KMM_EXPORT bool PageHead(const struct page *page)
{
	return page_test_flag(page, PG_head);
}

KMM_EXPORT bool PageTail(const struct page *page)
{
	return page->compound_head & 1;
}

KMM_EXPORT bool PageCompound(const struct page *page)
{
	return PageHead(page) || PageTail(page);
}

KMM_EXPORT bool PageBuddy(const struct page *page)
{
	return page_test_flag(page, PG_buddy);
}

KMM_EXPORT bool PageReserved(const struct page *page)
{
	return page_test_flag(page, PG_reserved);
}

KMM_EXPORT struct page *compound_head(const struct page *page)
{
	unsigned long head = page->compound_head;
	if (head & 1)
		return (struct page *)(head - 1);
	return (struct page *)page;
}

KMM_EXPORT unsigned int compound_order(const struct page *page)
{
	if (!page_test_flag(page, PG_head))
		return 0;
	return page_head_order(page);
}

KMM_EXPORT unsigned long compound_nr(const struct page *page)
{
	return 1UL << compound_order(page);
}

KMM_EXPORT unsigned long page_size(const struct page *page)
{
	return PAGE_SIZE << compound_order(page);
}

KMM_EXPORT int page_count(const struct page *page)
{
	return (int)AO_int_load((const volatile unsigned int *)&compound_head(page)->_refcount);
}

KMM_EXPORT void set_page_count(struct page *page, int v)
{
	AO_int_store(&page->_refcount, (unsigned int)v);
}

KMM_EXPORT unsigned long totalram_pages(void)
{
	kmm_ensure_booted();
	return machine.mem.max_pfn;
}

KMM_EXPORT unsigned long totalhigh_pages(void)
{
	kmm_ensure_booted();
	return machine.mem.max_pfn - machine.mem.lowmem_pfn;
}
