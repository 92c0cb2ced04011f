/*
 * memory.c - emulated physical memory: frames, struct page, sections, the
 * direct map, and giving free memory back to the host.
 *
 * LAYOUT
 *
 *   mem_map      one struct page (64 bytes) per PFN, 0 .. max_pfn, in an
 *                anonymous reservation, read-only until its section comes
 *                online: untouched struct pages cost nothing and read as
 *                zeroes, a valid state.
 *   direct map   the frames themselves: __va(phys) = direct_map + phys.
 *                The base is aligned to 1 GiB (under a tight RLIMIT_AS to
 *                4 MiB, MAX_PAGE_ORDER), so a block that is naturally
 *                aligned as PFNs is naturally aligned as an address.  Private anonymous MAP_NORESERVE memory by
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
#include <limits.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif
#include "internal.h"

#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif

/* The vmalloc area's bounds; lib/vmalloc.c reserves it. */
KMM_EXPORT unsigned long kmm_vmalloc_start, kmm_vmalloc_end;

/*
 * RESERVATIONS AND LIMITS
 *
 * Boot reserves address space only: the direct map, mem_map and the
 * vmalloc area are private anonymous PROT_READ mappings (read-only
 * private memory is neither charged to the commit limit nor counted in
 * RLIMIT_DATA, and reads of it see zeroes, so a stray read of an offline
 * struct page or frame is harmless), made writable piece by piece with
 * memory_commit() as sections come online and as the vmalloc area is
 * used.  So vm.overcommit_memory=2 charges what is used, RLIMIT_DATA
 * counts it, and RLIMIT_AS - even one set after boot - is checked as if
 * each commit were a new mapping: one that would take the process past it
 * fails, and the allocation that needed it returns NULL, as glibc's mmap
 * would.  (In anon mode a vmalloc byte is counted twice by RLIMIT_DATA and
 * the commit charge: once in the vmalloc area, which holds it, and once in
 * the direct map of the section whose frame accounts for it.)
 *
 * The sizes fit what the process may map: mem= (default: the host's RAM)
 * shrinks until the reservations take at most three quarters of what
 * RLIMIT_AS leaves (the rest is the program's; the vmalloc area is then
 * twice mem= instead of four times), and under valgrind, whose address
 * space is smaller, until they take at most VALGRIND_BUDGET.  If even
 * KMM_MEM_MIN does not fit, or a reservation fails, boot fails: whatever
 * was reserved is unmapped, nothing else is set up, and every allocation
 * returns NULL (the malloc shim then uses glibc's malloc).
 */
#define AS_HEADROOM (64UL << 20)             /* for the program, off the top */
#define VALGRIND_BUDGET (16UL << 30)
#define VMALLOC_MIN SZ_1G                    /* when it fits */
#define VMALLOC_ALIGN (2UL << 20)

static void *reserve(size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Reserve `size` bytes at an `align`-aligned address (a power of two). */
static char *reserve_aligned(size_t size, size_t align, int prot)
{
	size_t span = size + align;
	char *raw = reserve(span, prot);
	if (!raw)
		return NULL;
	char *base = (char *)ALIGN_UP((unsigned long)raw, align);
	if (base > raw)
		munmap(raw, (size_t)(base - raw));
	size_t tail = (size_t)(raw + span - (base + size));
	if (tail)
		munmap(base + size, tail);
	return base;
}

/* The process's mapped bytes (VmSize), read without malloc. */
static unsigned long vm_size_now(void)
{
	char buf[64];
	if (kmm_read_file("/proc/self/statm", buf, sizeof(buf)) <= 0)
		return 0;
	return strtoul(buf, NULL, 10) * (unsigned long)sysconf(_SC_PAGESIZE);
}

/* What the reservations may take: see RESERVATIONS AND LIMITS. */
static unsigned long address_space_budget(void)
{
	unsigned long budget = ULONG_MAX;
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		unsigned long vm = vm_size_now();
		unsigned long room = rl.rlim_cur > vm ? rl.rlim_cur - vm : 0;
		budget = room > AS_HEADROOM ? (room - AS_HEADROOM) / 4 * 3 : 0;
	}
#ifdef HAVE_VALGRIND_VALGRIND_H
	if (RUNNING_ON_VALGRIND && budget > VALGRIND_BUDGET)
		budget = VALGRIND_BUDGET;
#endif
	return budget;
}

struct layout {
	unsigned long mem;             /* bytes of frames */
	unsigned long map_bytes;       /* mem_map */
	unsigned long dm_align;        /* the direct map's alignment */
	unsigned long vmalloc;         /* the vmalloc area */
	unsigned long peak;            /* address space while reserving */
};

static void layout_for(unsigned long mem, bool vmalloc_min, struct layout *l)
{
	l->mem = mem;
	l->map_bytes = PAGE_ALIGN((mem >> PAGE_SHIFT) * sizeof(struct page));
	/* Roomy: 1 GiB; tight: the largest buddy block, all that natural
	 * alignment needs. */
	l->dm_align = vmalloc_min ? SZ_1G : MAX_ORDER_NR_PAGES << PAGE_SHIFT;
	/* Roomy: four times mem=, at least VMALLOC_MIN; tight: twice. */
	l->vmalloc = ALIGN_UP((vmalloc_min ? 4 : 2) * mem, VMALLOC_ALIGN);
	if (vmalloc_min && l->vmalloc < VMALLOC_MIN)
		l->vmalloc = VMALLOC_MIN;
	/* The alignment slack is mapped for a moment, one reservation at a
	 * time. */
	l->peak = mem + l->map_bytes + l->vmalloc +
		  (l->dm_align > VMALLOC_ALIGN ? l->dm_align : VMALLOC_ALIGN);
}

/* The largest layout within the budget, mem= at most (a bisection in
 * MAX_PAGE_ORDER blocks); false when even KMM_MEM_MIN does not fit. */
static bool layout_fit(unsigned long mem, unsigned long budget, struct layout *l)
{
	const unsigned long step = MAX_ORDER_NR_PAGES << PAGE_SHIFT;
	layout_for(mem, true, l);
	if (l->peak <= budget)
		return true;
	unsigned long lo = KMM_MEM_MIN / step, hi = mem / step;     /* blocks */
	layout_for(lo * step, false, l);
	if (l->peak > budget)
		return false;
	while (hi - lo > 1) {                    /* lo fits, hi does not */
		unsigned long mid = lo + (hi - lo) / 2;
		layout_for(mid * step, false, l);
		if (l->peak <= budget)
			lo = mid;
		else
			hi = mid;
	}
	layout_for(lo * step, false, l);
	return true;
}

static AO_t committed_bytes;           /* of the reservations, made writable */
static AO_t as_limit_seen;             /* RLIMIT_AS at boot or the last commit */
#define AS_LIMIT_AT_BOOT ((AO_t)-1)
static AO_t as_limit_base;             /* committed_bytes when it changed, or
                                          AS_LIMIT_AT_BOOT: it has not */

int memory_commit(void *addr, unsigned long len)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	/*
	 * A limit in force at boot was met by the reservations themselves
	 * (they are the process's VmSize; making them writable does not grow
	 * it).  A limit set since then is checked as if each commit were a new
	 * mapping: VmSize plus what was committed since the limit was seen to
	 * change, so that a program that sets RLIMIT_AS to its VmSize plus
	 * some room gets about that room.  Commits are serialised by their
	 * callers' locks (hotplug_lock, vmap_area_lock) well enough for an
	 * estimate.
	 */
	if (getrlimit(RLIMIT_AS, &rl) == 0 && (AO_t)rl.rlim_cur != AO_load(&as_limit_seen)) {
		AO_store(&as_limit_seen, (AO_t)rl.rlim_cur);
		AO_store(&as_limit_base, AO_load(&committed_bytes));
	}
	if (rl.rlim_cur != RLIM_INFINITY && AO_load(&as_limit_base) != AS_LIMIT_AT_BOOT &&
	    vm_size_now() + (AO_load(&committed_bytes) - AO_load(&as_limit_base)) + len >
	    rl.rlim_cur)
		return -ENOMEM;
	if (mprotect(addr, len, PROT_READ | PROT_WRITE) != 0)
		return -ENOMEM;
	AO_fetch_and_add(&committed_bytes, (AO_t)len);
	return 0;
}

static void unreserve_all(struct phys_memory *m, unsigned long nr_tables)
{
	if (m->mem_map)
		munmap(m->mem_map, m->mem_map_bytes);
	if (m->section_online)
		munmap(m->section_online, nr_tables);
	if (m->direct_map)
		munmap(m->direct_map, m->max_pfn << PAGE_SHIFT);
	if (m->vmalloc_base)
		munmap(m->vmalloc_base, m->vmalloc_size);
	if (m->memfd >= 0)
		close(m->memfd);
	m->mem_map = NULL;
	m->section_online = NULL;
	m->pageblock_mt = NULL;
	m->direct_map = NULL;
	m->vmalloc_base = NULL;
	m->memfd = -1;
	m->max_pfn = m->lowmem_pfn = m->nr_sections = 0;
	m->reserved_bytes = 0;
}

static int reserve_all(struct phys_memory *m, struct kmm_config *c,
		       const struct layout *l, unsigned long nr_tables)
{
	unsigned long mem = l->mem;
	m->mem_map = reserve(l->map_bytes, PROT_READ);
	if (!m->mem_map)
		return -ENOMEM;
	m->mem_map_bytes = l->map_bytes;

	unsigned char *tables = reserve(nr_tables, PROT_READ | PROT_WRITE);
	if (!tables)
		return -ENOMEM;
	m->section_online = tables;
	m->pageblock_mt = tables + m->nr_sections;

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
		char *base = reserve_aligned(mem, l->dm_align, PROT_NONE);
		if (!base)
			return -ENOMEM;
		m->direct_map = base;
		void *p = mmap(base, mem, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			       m->memfd, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
	} else {
		m->direct_map = reserve_aligned(mem, l->dm_align, PROT_READ);
		if (!m->direct_map)
			return -ENOMEM;
	}
	/* memfd: PROT_NONE, each area maps its frames; anon: read-only until
	 * lib/vmalloc.c commits what it uses. */
	m->vmalloc_base = reserve_aligned(l->vmalloc, VMALLOC_ALIGN,
					  m->memfd >= 0 ? PROT_NONE : PROT_READ);
	if (!m->vmalloc_base)
		return -ENOMEM;
	m->vmalloc_size = l->vmalloc;
	m->reserved_bytes = l->map_bytes + mem + l->vmalloc;
	return 0;
}

void memory_unreserve(void)
{
	struct phys_memory *m = &machine.mem;
	unreserve_all(m, m->nr_sections + (m->max_pfn >> pageblock_order));
	AO_store(&committed_bytes, 0);
}

int memory_init(void)
{
	struct phys_memory *m = &machine.mem;
	struct kmm_config *c = &machine.conf;
	const unsigned long step = MAX_ORDER_NR_PAGES << PAGE_SHIFT;
	unsigned long mem = ALIGN_DOWN(c->mem, step);
	struct layout l;

	m->memfd = -1;
	pthread_mutex_init(&m->hotplug_lock, NULL);
	unsigned long budget = address_space_budget();
	struct rlimit rl;
	AO_store(&as_limit_seen, getrlimit(RLIMIT_AS, &rl) == 0 ? (AO_t)rl.rlim_cur : 0);
	AO_store(&as_limit_base, AS_LIMIT_AT_BOOT);
	if (!layout_fit(mem, budget, &l)) {
		kmm_printk("libkmm: boot: the address space left (%lu MiB for libkmm) is "
			   "too small for mem=%luM\n", budget >> 20, KMM_MEM_MIN >> 20);
		return -ENOMEM;
	}
	if (l.mem < mem && (c->verbose || c->mem != c->mem_default))
		kmm_printk("libkmm: mem=%luM does not fit the address space the process "
			   "may use (%lu MiB for libkmm); using mem=%luM\n", mem >> 20,
			   budget >> 20, l.mem >> 20);
	mem = l.mem;

	m->max_pfn = mem >> PAGE_SHIFT;
	m->lowmem_pfn = m->max_pfn;
	if (c->lowmem) {
		unsigned long low = ALIGN_DOWN(c->lowmem, step);
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
	unsigned long nr_tables = m->nr_sections + (m->max_pfn >> pageblock_order);
	int ret = reserve_all(m, c, &l, nr_tables);
	if (ret) {
		kmm_printk("libkmm: boot: cannot reserve %lu MiB of address space (%s)\n",
			   l.peak >> 20, strerror(-ret));
		unreserve_all(m, nr_tables);
		return ret;
	}
	/* Every pageblock starts movable, as the kernel's do at boot. */
	memset(m->pageblock_mt, MIGRATE_MOVABLE, m->max_pfn >> pageblock_order);
	if (c->thp)
		madvise(m->direct_map, mem, MADV_HUGEPAGE);
	if (c->verbose)
		kmm_printk("libkmm: reserved %lu MiB of address space (direct map %lu MiB, "
			   "mem_map %lu MiB, vmalloc %lu MiB), committed as used\n",
			   m->reserved_bytes >> 20, mem >> 20, l.map_bytes >> 20,
			   l.vmalloc >> 20);
	return 0;
}

/* Make a section's struct pages and (anon) frames writable. */
static int commit_section(struct phys_memory *m, unsigned long start, unsigned long end)
{
	unsigned long map_off = start * sizeof(struct page);
	unsigned long map_len = (end - start) * sizeof(struct page);
	if (memory_commit((char *)m->mem_map + map_off, map_len) != 0)
		return -ENOMEM;
	if (m->memfd < 0 &&
	    memory_commit(m->direct_map + (start << PAGE_SHIFT), (end - start) << PAGE_SHIFT) != 0) {
		/* Back to read-only: nothing of the section was written. */
		mprotect((char *)m->mem_map + map_off, map_len, PROT_READ);
		AO_fetch_and_add(&committed_bytes, (AO_t)-map_len);
		return -ENOMEM;
	}
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
		if (commit_section(m, start, end) != 0)
			break;              /* the process may not have more */
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
