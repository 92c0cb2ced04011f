/*
 * kmm/highmem.h - temporary mappings of HighMem frames.
 *
 * A frame above lowmem= has no permanent virtual address.  kmap() gives it
 * one until the matching kunmap() (calls nest); kmap_local_page() gives a
 * mapping private to the calling thread, released in stack order with
 * kunmap_local().  For a frame that has a direct-map address both return
 * page_address().
 */
#ifndef KMM_HIGHMEM_H
#define KMM_HIGHMEM_H

#include <kmm/mm.h>

void *kmap(struct page *page);
void kunmap(struct page *page);
void *kmap_local_page(struct page *page);
void kunmap_local(const void *addr);
void *kmap_atomic(struct page *page);
void kunmap_atomic(const void *addr);

#endif /* KMM_HIGHMEM_H */
