/*
 * kmm/types.h - basic types shared by every libkmm header, as the kernel's
 * <linux/types.h>: physical addresses, page protections and the intrusive
 * doubly linked list that struct page, zones and caches are threaded on.
 */
#ifndef KMM_TYPES_H
#define KMM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t phys_addr_t;

/* Page protection of a vmap()ed range; libkmm maps everything read-write. */
typedef struct { unsigned long pgprot; } pgprot_t;
#define PAGE_KERNEL ((pgprot_t){ 0x3 })

/* A list node; an empty list points at itself. */
struct list_head {
	struct list_head *next, *prev;
};

#endif /* KMM_TYPES_H */
