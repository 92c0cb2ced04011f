/*
 * kmm/mm.h - pages, frames and addresses.
 *
 * Page frames live in the direct map: one reservation whose base is aligned
 * to 1 GiB, so that __va(phys) = direct map base + phys and a block that is
 * naturally aligned as PFNs is naturally aligned as virtual addresses.
 * HighMem frames (above lowmem=) have no direct-map address: page_address()
 * returns NULL for them unless they are kmap()ed.
 */
#ifndef KMM_MM_H
#define KMM_MM_H

#include <kmm/types.h>
#include <kmm/gfp.h>
#include <kmm/mm_types.h>
#include <kmm/mmzone.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define PFN_PHYS(pfn) ((phys_addr_t)(pfn) << PAGE_SHIFT)
#define PHYS_PFN(phys) ((unsigned long)((phys) >> PAGE_SHIFT))

void *page_address(const struct page *page);
struct page *virt_to_page(const void *addr);
struct page *virt_to_head_page(const void *addr);
bool virt_addr_valid(const void *addr);
unsigned long page_to_pfn(const struct page *page);
struct page *pfn_to_page(unsigned long pfn);
bool pfn_valid(unsigned long pfn);
phys_addr_t virt_to_phys(const void *addr);
void *phys_to_virt(phys_addr_t phys);
phys_addr_t page_to_phys(const struct page *page);
#define __pa(x) virt_to_phys((const void *)(x))
#define __va(x) phys_to_virt((phys_addr_t)(x))

struct zone *page_zone(const struct page *page);
enum zone_type page_zonenum(const struct page *page);

void get_page(struct page *page);
void put_page(struct page *page);
int page_count(const struct page *page);
void set_page_count(struct page *page, int v);

bool PageHighMem(const struct page *page);
bool PageSlab(const struct page *page);
bool PageCompound(const struct page *page);
bool PageHead(const struct page *page);
bool PageTail(const struct page *page);
bool PageBuddy(const struct page *page);
bool PageReserved(const struct page *page);
struct page *compound_head(const struct page *page);
unsigned int compound_order(const struct page *page);
unsigned long compound_nr(const struct page *page);
unsigned long page_size(const struct page *page);

unsigned long nr_free_pages(void);
unsigned long totalram_pages(void);
unsigned long totalhigh_pages(void);

#endif /* KMM_MM_H */
