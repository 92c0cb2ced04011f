/*
 * fuzz_ops - libFuzzer target that drives the allocator's API from the
 * input bytes against a simple model.
 *
 * Each input is a program of operations on 64 slots: allocate (pages of
 * any order and zone, kmalloc, kmem_cache, vmalloc where built in), free,
 * take and drop references, drain, check.  Every live block carries a tag
 * byte that is checked before it is freed.  At the end of every input all
 * blocks are freed, the per-CPU lists drained, and the machine must be
 * exactly as it was: kmm_check() clean and every frame free or held by a
 * known structure (slabs of live caches, vmalloc page tables).
 */
#include "config.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../lib/internal.h"
#include "../../lib/slab.h"
#include "../../lib/vmap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum kind { EMPTY, PAGES, EXACT, CACHE, KMALLOC, VMALLOC, KVMALLOC };

struct slot {
	enum kind kind;
	void *ptr;                 /* struct page * or address */
	unsigned int order;
	size_t size;
	unsigned char tag;
	int extra_refs;
};

static struct slot slots[64];
static unsigned long baseline;
static bool have_baseline;
static struct kmem_cache *caches[3];
static const unsigned int cache_sizes[3] = { 40, 333, 2048 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (kmm_init("mem=64M") != 0)
		abort();
	caches[0] = kmem_cache_create("fuzz-40", 40, 0, 0, NULL);
	caches[1] = kmem_cache_create("fuzz-333", 333, 8, SLAB_HWCACHE_ALIGN, NULL);
	caches[2] = kmem_cache_create("fuzz-2048", 2048, 0, SLAB_CACHE_DMA32, NULL);
	if (!caches[0] || !caches[1] || !caches[2])
		abort();
	return 0;
}

static unsigned char *slot_bytes(struct slot *s)
{
	if (s->kind == PAGES)
		return page_address(s->ptr);
	return s->ptr;
}

static size_t slot_len(const struct slot *s)
{
	return s->kind == PAGES ? PAGE_SIZE << s->order : s->size;
}

/* krealloc/vrealloc gave p (NULL: the slot is unchanged): the kept bytes
 * still carry the tag; the whole new length is tagged again. */
static void slot_resized(struct slot *s, unsigned char *p, size_t len)
{
	if (!p)
		return;
	size_t keep = len < s->size ? len : s->size;
	if (p[0] != s->tag || p[keep - 1] != s->tag)
		abort();
	s->ptr = p;
	s->size = len;
	memset(p, s->tag, len);
}

static void slot_free(struct slot *s)
{
	unsigned char *b = slot_bytes(s);
	if (b && (b[0] != s->tag || b[slot_len(s) - 1] != s->tag))
		abort();                /* someone else wrote into our block */
	switch (s->kind) {
	case PAGES:
		while (s->extra_refs-- > 0)
			put_page(s->ptr);
		__free_pages(s->ptr, s->order);
		break;
	case EXACT:
		free_pages_exact(s->ptr, s->size);
		break;
	case CACHE:
		kmem_cache_free(caches[s->order], s->ptr);
		break;
	case KMALLOC:
		if (ksize(s->ptr) < s->size)
			abort();
		kfree(s->ptr);
		break;
	case VMALLOC:
		vfree(s->ptr);
		break;
	case KVMALLOC:
		kvfree(s->ptr);
		break;
	case EMPTY:
		break;
	}
	s->kind = EMPTY;
}

static const gfp_t gfps[] = {
	GFP_KERNEL, GFP_KERNEL | __GFP_ZERO, GFP_KERNEL | __GFP_COMP, GFP_DMA,
	GFP_DMA32, GFP_ATOMIC, GFP_KERNEL | __GFP_MOVABLE, GFP_NOWAIT | __GFP_NOWARN,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 0;
	while (i + 3 <= size) {
		uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
		struct slot *s = &slots[a % 64];
		i += 3;
		switch (op % 11) {
		case 0: {               /* alloc_pages */
			if (s->kind != EMPTY)
				slot_free(s);
			gfp_t gfp = gfps[b % 8] | __GFP_NOWARN;
			unsigned int order = (unsigned int)(b >> 3) % NR_PAGE_ORDERS;
			struct page *p = alloc_pages(gfp, order);
			if (!p)
				break;
			if ((gfp & __GFP_ZERO) && ((unsigned char *)page_address(p))[0] != 0)
				abort();
			if ((gfp & __GFP_COMP) && order && compound_order(p) != order)
				abort();
			*s = (struct slot){ PAGES, p, order, 0, (unsigned char)(a ^ b), 0 };
			memset(page_address(p), s->tag, PAGE_SIZE << order);
			break;
		}
		case 1:                 /* free */
			if (s->kind != EMPTY)
				slot_free(s);
			break;
		case 2:                 /* extra reference */
			if (s->kind == PAGES && s->extra_refs < 3) {
				get_page(s->ptr);
				s->extra_refs++;
			}
			break;
		case 3: {               /* alloc_pages_exact */
			if (s->kind != EMPTY)
				slot_free(s);
			size_t len = ((size_t)b * 997) % (64 * PAGE_SIZE) + 1;
			void *p = alloc_pages_exact(len, GFP_KERNEL | __GFP_NOWARN);
			if (!p)
				break;
			*s = (struct slot){ EXACT, p, 0, len, (unsigned char)(a + b), 0 };
			memset(p, s->tag, len);
			break;
		}
		case 4:
			drain_all_pages(NULL);
			break;
		case 5:
			if (b == 0 && kmm_check() != 0)
				abort();
			break;
		case 6: {               /* kmem_cache_alloc */
			if (s->kind != EMPTY)
				slot_free(s);
			unsigned int c = b % 3;
			void *p = (b & 8) ? kmem_cache_zalloc(caches[c], GFP_KERNEL)
					  : kmem_cache_alloc(caches[c], GFP_KERNEL);
			if (!p)
				break;
			if ((b & 8) && ((unsigned char *)p)[cache_sizes[c] - 1] != 0)
				abort();
			*s = (struct slot){ CACHE, p, c, cache_sizes[c], (unsigned char)(a * 3 + b), 0 };
			memset(p, s->tag, s->size);
			break;
		}
		case 7: {               /* kmalloc, any size up to kmalloc_large */
			if (s->kind != EMPTY)
				slot_free(s);
			size_t len = (b & 0x80) ? ((size_t)b << 9) + a : (size_t)b + 1;
			void *p = kmalloc(len, GFP_KERNEL | __GFP_NOWARN);
			if (!p)
				break;
			if (((len & (len - 1)) == 0) && ((unsigned long)p & (len < 4096 ? len - 1 : 4095)))
				abort();        /* power-of-two sizes are naturally aligned */
			*s = (struct slot){ KMALLOC, p, 0, len, (unsigned char)(a ^ 0x5a), 0 };
			memset(p, s->tag, len);
			break;
		}
		case 8:                 /* krealloc: grow or shrink, contents kept */
			if (s->kind == KMALLOC) {
				size_t len = (size_t)b * 37 + 1;
				slot_resized(s, krealloc(s->ptr, len, GFP_KERNEL | __GFP_NOWARN), len);
			}
			break;
		case 9: {               /* vmalloc / vrealloc */
			if (s->kind == VMALLOC && (b & 1)) {
				size_t len = ((size_t)b << 10) + 1;
				slot_resized(s, vrealloc(s->ptr, len, GFP_KERNEL), len);
				break;
			}
			if (s->kind != EMPTY)
				slot_free(s);
			size_t len = ((size_t)b << 11) + a + 1;
			void *p = (b & 2) ? vzalloc(len) : vmalloc(len);
			if (!p)
				break;
			if (!is_vmalloc_addr(p) || ((unsigned long)p & (PAGE_SIZE - 1)))
				abort();
			*s = (struct slot){ VMALLOC, p, 0, len, (unsigned char)(b + 1), 0 };
			memset(p, s->tag, len);
			break;
		}
		case 10: {              /* kvmalloc */
			if (s->kind != EMPTY)
				slot_free(s);
			size_t len = ((size_t)b << 12) + a + 1;
			void *p = kvmalloc(len, GFP_KERNEL);
			if (!p)
				break;
			*s = (struct slot){ KVMALLOC, p, 0, len, (unsigned char)(a + 7), 0 };
			memset(p, s->tag, len);
			break;
		}
		}
	}
	for (int k = 0; k < 64; k++)
		if (slots[k].kind != EMPTY)
			slot_free(&slots[k]);
	/* Caches keep empty slabs and vmalloc keeps page tables: give back
	 * what can be given back, then every frame must be accounted for. */
	for (int c = 0; c < 3; c++)
		kmem_cache_shrink(caches[c]);
	slab_shrink_all();
	vm_unmap_aliases();
	drain_all_pages(NULL);
	if (kmm_check() != 0)
		abort();
	unsigned long now = nr_free_pages() + vmalloc_overhead_pages() +
			    AO_load(&machine.stat[NR_SLAB_RECLAIMABLE]) +
			    AO_load(&machine.stat[NR_SLAB_UNRECLAIMABLE]);
	if (!have_baseline) {
		baseline = now;
		have_baseline = true;
	} else if (now != baseline) {
		abort();
	}
	return 0;
}
