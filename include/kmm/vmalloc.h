/*
 * kmm/vmalloc.h - virtually contiguous memory.
 *
 * vmalloc() maps order-0 frames into the vmalloc area, a reservation of its
 * own (VMALLOC_START .. VMALLOC_END), with a guard page after each area
 * that faults when touched (unless VM_NO_GUARD).  vmap() maps given pages
 * there.  vfree() leaves a vmalloc area's frames mapped in its lazily
 * freed range, which the next vmalloc that fits reuses; the purge gives
 * them back (vm_unmap_aliases() at once).
 */
#ifndef KMM_VMALLOC_H
#define KMM_VMALLOC_H

#include <kmm/types.h>
#include <kmm/gfp.h>
#include <kmm/mm.h>

/* vmap() flags */
#define VM_IOREMAP   0x00000001ul
#define VM_ALLOC     0x00000002ul
#define VM_MAP       0x00000004ul
#define VM_USERMAP   0x00000008ul
#define VM_NO_GUARD  0x00000040ul   /* the guard page does not fault */

/* Bounds of the vmalloc area; valid once the library has booted. */
extern unsigned long kmm_vmalloc_start, kmm_vmalloc_end;
#define VMALLOC_START kmm_vmalloc_start
#define VMALLOC_END   kmm_vmalloc_end

void *vmalloc(unsigned long size);
void *vzalloc(unsigned long size);
void *vmalloc_node(unsigned long size, int node);
void *vmalloc_32(unsigned long size);
void *__vmalloc(unsigned long size, gfp_t gfp);
/* The kernel's __vmalloc_node(): start aligned to `align` (a power of two,
 * PAGE_SIZE or more); one node, so `node` is ignored; `caller` is shown in
 * vmallocinfo. */
void *__vmalloc_node(unsigned long size, unsigned long align, gfp_t gfp, int node,
		     const void *caller);
/* The kernel's general form: start and end must be VMALLOC_START and
 * VMALLOC_END; of vm_flags, VM_NO_GUARD is honoured. */
void *__vmalloc_node_range(unsigned long size, unsigned long align, unsigned long start,
			   unsigned long end, gfp_t gfp, pgprot_t prot, unsigned long vm_flags,
			   int node, const void *caller);
void *vrealloc(const void *p, size_t size, gfp_t gfp);
void vfree(const void *addr);
void *vmap(struct page **pages, unsigned int count, unsigned long flags, pgprot_t prot);
void vunmap(const void *addr);
struct page *vmalloc_to_page(const void *addr);
unsigned long vmalloc_to_pfn(const void *addr);
bool is_vmalloc_addr(const void *addr);

/*
 * The area behind an address, as the kernel's find_vm_area(): the live
 * vmalloc() or vmap() area whose range (guard page included) contains addr,
 * or NULL.  get_vm_area_size() is its usable size: the bytes mapped, guard
 * page excluded.  struct vm_struct is opaque here (libkmm folds it into its
 * vmap_area); the area stays valid until it is freed.
 */
struct vm_struct;
struct vm_struct *find_vm_area(const void *addr);
size_t get_vm_area_size(const struct vm_struct *area);
void vm_unmap_aliases(void);

#endif /* KMM_VMALLOC_H */
