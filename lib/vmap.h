/*
 * vmap.h - private interfaces of the vmalloc layer: the area descriptor,
 * the address-ordered AVL tree it is threaded on (vmap_tree.c), and the
 * software page table (pgtable.c).
 *
 * One descriptor, struct vmap_area, plays the parts of the kernel's
 * vmap_area (a range of the vmalloc area: free, busy or lazily freed) and
 * vm_struct (what a busy range maps).  Every range of the vmalloc area is
 * covered by exactly one descriptor, in exactly one of three trees:
 *
 *   free tree    ranges nobody uses, unmapped from the host, ready for
 *                reuse; augmented with subtree_max_size, never two
 *                adjacent ranges (they are merged)
 *   busy tree    areas handed out by vmalloc()/vmap(), guard page included
 *   purge tree   ranges vfree()d but not yet unmapped from the host
 *                (lazy purge), merged like the free tree
 *
 * All three are protected by vmap_area_lock (lib/vmalloc.c).
 */
#ifndef KMM_LIB_VMAP_H
#define KMM_LIB_VMAP_H

#include "internal.h"

/* Internal vm flags, beside VM_ALLOC and VM_MAP of <kmm/vmalloc.h>. */
#define VM_UNINITIALIZED 0x00000100ul  /* pages being filled in, unlocked */

struct vmap_area {
	unsigned long va_start;        /* first byte */
	unsigned long va_end;          /* one past the last (guard included) */
	struct vmap_area *left, *right;/* tree links */
	unsigned long subtree_max_size;/* largest va_end - va_start below */
	int height;                    /* AVL height, leaf = 1 */
	/* busy areas: the kernel's vm_struct, folded in */
	unsigned int flags;            /* VM_ALLOC, VM_MAP, VM_UNINITIALIZED */
	unsigned long nr_pages;        /* pages mapped from va_start */
	unsigned long requested_size;  /* bytes asked for (vrealloc copies) */
	const void *caller;            /* __builtin_return_address of the API */
	long freed_ns;                 /* lazy ranges: when last freed into */
};

static inline unsigned long va_size(const struct vmap_area *va)
{
	return va->va_end - va->va_start;
}

/* vmap_tree.c: every call takes the tree's root and returns its new root
 * where the shape may change; O(log n) each. */
struct vmap_area *vt_insert(struct vmap_area *root, struct vmap_area *va);
struct vmap_area *vt_remove(struct vmap_area *root, struct vmap_area *va);
struct vmap_area *vt_find(struct vmap_area *root, unsigned long start);
struct vmap_area *vt_find_containing(struct vmap_area *root, unsigned long addr);
/* The area with the greatest va_start below addr, or NULL. */
struct vmap_area *vt_prev(struct vmap_area *root, unsigned long addr);
/* The lowest range at least `need` long (uses subtree_max_size). */
struct vmap_area *vt_lowest_fit(struct vmap_area *root, unsigned long need);
/* Insert a free or lazily freed range, merging it with the ranges that
 * touch it; nodes merged away are returned through *spare (a list linked
 * by ->right) for the caller to recycle. */
struct vmap_area *vt_insert_merge(struct vmap_area *root, struct vmap_area *va,
				  struct vmap_area **spare);
/* In-order walk; stops when fn returns false.  No changes during it. */
bool vt_walk(struct vmap_area *root, bool (*fn)(struct vmap_area *, void *), void *arg);
/* Check AVL shape, order and augmented values in [lo, hi); problems found,
 * each reported.  *count and *bytes add up the nodes and their sizes. */
int vt_check(struct vmap_area *root, const char *name, unsigned long lo,
	     unsigned long hi, unsigned long *count, unsigned long *bytes);

/*
 * pgtable.c: the software page table of the vmalloc area, four levels of
 * 512 entries as x86-64's (pgd, pud, pmd, pte).  A pte holds pfn + 1, 0 when
 * nothing is mapped.  Tables are order-0 frames, allocated under
 * vmap_area_lock by pgtable_populate_locked() and never freed; lookups take
 * no lock (tables are published with a release store).
 */
#define PT_SHIFT 9
#define PT_ENTRIES (1UL << PT_SHIFT)

int pgtable_init(unsigned long start, unsigned long size);
int pgtable_populate_locked(unsigned long addr, unsigned long size);
/* The pte of addr, or NULL when its table does not exist. */
AO_t *pgtable_pte(unsigned long addr);
/* The pte of addr, as pgtable_pte(), and in *n how many ptes follow it in
 * the same table (itself included): a run of pages walks the array. */
AO_t *pgtable_pte_run(unsigned long addr, unsigned long *n);
/* Frames used by the tables. */
unsigned long pgtable_nr_pages(void);
/* Call fn for every present pte, in address order: problems returned. */
int pgtable_walk(int (*fn)(unsigned long addr, unsigned long pfn, void *arg), void *arg);

/* vmalloc.c, for white-box tests and benchmarks */
struct vmap_area *find_vmap_area(unsigned long addr);
unsigned long vmalloc_overhead_pages(void);
unsigned long vmalloc_lazy_pages(void);
unsigned long vmalloc_largest_free(void);
void vmalloc_tree_heights(int *busy, int *free_tree);

/* highmem.c */
int highmem_init(void);
void highmem_lock_all(void);
void highmem_unlock_all(void);
int kmap_local_depth(void);

#endif /* KMM_LIB_VMAP_H */
