/*
 * fuzz_ops - libFuzzer target that drives the allocator's API from the
 * input bytes against a simple model.
 *
 * Each input is a program of operations on 64 slots: allocate (pages of
 * any order and zone, kmalloc, kmem_cache, vmalloc where built in), free,
 * take and drop references, drain, check.  Every live block carries a tag
 * byte that is checked before it is freed.  At the end of every input all
 * blocks are freed, the per-CPU lists drained, and the machine must be
 * exactly as it was: kmm_check() clean and nr_free_pages() unchanged.
 */
#include "config.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <kmm/kmm.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum kind { EMPTY, PAGES, EXACT };

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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (kmm_init("mem=64M") != 0)
		abort();
	drain_all_pages(NULL);
	baseline = nr_free_pages();
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

static void slot_free(struct slot *s)
{
	unsigned char *b = slot_bytes(s);
	if (b && (b[0] != s->tag || b[slot_len(s) - 1] != s->tag))
		abort();                /* someone else wrote into our block */
	if (s->kind == PAGES) {
		while (s->extra_refs-- > 0)
			put_page(s->ptr);
		__free_pages(s->ptr, s->order);
	} else {
		free_pages_exact(s->ptr, s->size);
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
		switch (op % 6) {
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
		}
	}
	for (int k = 0; k < 64; k++)
		if (slots[k].kind != EMPTY)
			slot_free(&slots[k]);
	drain_all_pages(NULL);
	if (nr_free_pages() != baseline || kmm_check() != 0)
		abort();
	return 0;
}
