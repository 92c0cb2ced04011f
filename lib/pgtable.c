/*
 * pgtable.c - the software page table of the vmalloc area.
 *
 * DESIGN
 *
 * The host's MMU maps the vmalloc reservation; this table records which
 * frame (struct page) backs each page of it, so that vmalloc_to_page()
 * answers as the kernel's page-table walk does.  Four levels of 512
 * entries, as x86-64's, indexed by the offset into the vmalloc area:
 *
 *      offset  47     39 38     30 29     21 20     12 11       0
 *              [ pgd   ][ pud   ][ pmd   ][ pte   ][  in page  ]
 *
 * pgd is a static array; pud, pmd and pte tables are order-0 frames from
 * the buddy allocator (GFP_KERNEL, zeroed), counted in
 * NR_VMALLOC_PAGETABLE (meminfo PageTables).  A pte holds pfn + 1, so that
 * an all-zero table means "nothing mapped".  Tables are never freed (nor
 * are the kernel's vmalloc page tables): they cost one frame per 2 MiB of
 * the vmalloc area ever used.
 *
 * LOCKING
 *
 * Tables are created under vmap_area_lock (pgtable_populate_locked);
 * creating one allocates a frame, which takes the pcp and zone locks, below
 * vmap_area_lock in the lock order, and never waits (__GFP_NOFAIL is not
 * used).  A new table is zeroed, then published with a release store, so
 * lookups walk without a lock.  A pte is written by whoever owns the area
 * it lies in (vmalloc.c).
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "vmap.h"

#define PGD_SHIFT (PAGE_SHIFT + 3 * PT_SHIFT)

static struct {
	unsigned long start, size;
	AO_t pgd[PT_ENTRIES];          /* pud tables */
	AO_t nr_tables;                /* frames used */
} pt;

int pgtable_init(unsigned long start, unsigned long size)
{
	if (size > (PT_ENTRIES << PGD_SHIFT))
		return -EINVAL;
	pt.start = start;
	pt.size = size;
	return 0;
}

static inline unsigned long idx(unsigned long off, int level)
{
	return (off >> (PAGE_SHIFT + (unsigned)level * PT_SHIFT)) & (PT_ENTRIES - 1);
}

static AO_t *table_alloc(void)
{
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
	if (!page)
		return NULL;
	AO_fetch_and_add1(&pt.nr_tables);
	kmm_stat_add(NR_VMALLOC_PAGETABLE, 1);
	return page_address(page);
}

/* The entry at `level` (3 = pgd .. 0 = pte) for off, creating tables. */
static AO_t *walk_create(unsigned long off)
{
	AO_t *table = pt.pgd;
	for (int level = 3; level > 0; level--) {
		AO_t *entry = &table[idx(off, level)];
		AO_t *next = (AO_t *)AO_load_acquire(entry);
		if (!next) {
			next = table_alloc();
			if (!next)
				return NULL;
			AO_store_release(entry, (AO_t)next);
		}
		table = next;
	}
	return &table[idx(off, 0)];
}

int pgtable_populate_locked(unsigned long addr, unsigned long size)
{
	unsigned long off = addr - pt.start, end = off + size;
	const unsigned long span = PT_ENTRIES << PAGE_SHIFT;    /* one pte table */
	for (; off < end; off = ALIGN_DOWN(off, span) + span)
		if (!walk_create(off))
			return -ENOMEM;
	return 0;
}

AO_t *pgtable_pte(unsigned long addr)
{
	unsigned long off = addr - pt.start;
	AO_t *table = pt.pgd;
	if (off >= pt.size)
		return NULL;
	for (int level = 3; level > 0; level--) {
		table = (AO_t *)AO_load_acquire(&table[idx(off, level)]);
		if (!table)
			return NULL;
	}
	return &table[idx(off, 0)];
}

AO_t *pgtable_pte_run(unsigned long addr, unsigned long *n)
{
	*n = PT_ENTRIES - idx(addr - pt.start, 0);
	return pgtable_pte(addr);
}

unsigned long pgtable_nr_pages(void)
{
	return AO_load(&pt.nr_tables);
}

static int walk_level(AO_t *table, int level, unsigned long base,
		      int (*fn)(unsigned long, unsigned long, void *), void *arg)
{
	int problems = 0;
	for (unsigned long i = 0; i < PT_ENTRIES; i++) {
		AO_t e = AO_load_acquire(&table[i]);
		unsigned long off = base + (i << (PAGE_SHIFT + (unsigned)level * PT_SHIFT));
		if (!e)
			continue;
		if (level == 0)
			problems += fn(pt.start + off, (unsigned long)e - 1, arg);
		else
			problems += walk_level((AO_t *)e, level - 1, off, fn, arg);
	}
	return problems;
}

int pgtable_walk(int (*fn)(unsigned long addr, unsigned long pfn, void *arg), void *arg)
{
	return walk_level(pt.pgd, 3, 0, fn, arg);
}
