/*
 * vmap_tree.c - the address-ordered, augmented AVL tree of vmap areas.
 *
 * DESIGN
 *
 * The kernel keeps vmap areas in red-black trees; the free one is
 * augmented with subtree_max_size, the size of the largest free range in
 * the subtree, so that the lowest range that fits a request is found in
 * one descent (mm/vmalloc.c, find_vmap_lowest_match).  Here the tree is an
 * AVL tree: the same O(log n) bounds, a shorter implementation (recursive
 * insert and remove, rebalancing on the way back up, which is also where
 * the augmented value is recomputed), and a height bound of 1.44 log2 n,
 * so the recursion is at most ~40 deep for a million areas.
 *
 * INVARIANTS (checked by vt_check)
 *
 *   - in-order traversal is in increasing va_start, and ranges don't
 *     overlap: prev->va_end <= next->va_start;
 *   - height = 1 + max(child heights); the heights of the two children
 *     differ by at most one;
 *   - subtree_max_size = max(own size, children's subtree_max_size).
 *
 * The busy tree keeps the augmented value too (it costs one max per
 * rebalanced node) so that one implementation serves all three trees.
 *
 * FIRST FIT WITH ALIGNMENT
 *
 * vt_lowest_fit(need) descends: left when the left subtree holds a range
 * of at least `need` bytes, else this node when it is big enough, else
 * right.  Since every subtree it enters is known to contain a fit, it never
 * backtracks.  The caller asks for size + align - PAGE_SIZE so that any
 * range that long holds an aligned block (ranges are page aligned).
 *
 * LOCKING: none here; the caller holds vmap_area_lock (lib/vmalloc.c).
 */
#include "config.h"
#include "vmap.h"

static inline int height(const struct vmap_area *n)
{
	return n ? n->height : 0;
}

static inline unsigned long max_size(const struct vmap_area *n)
{
	return n ? n->subtree_max_size : 0;
}

static inline void update(struct vmap_area *n)
{
	int hl = height(n->left), hr = height(n->right);
	unsigned long m = va_size(n);
	n->height = 1 + (hl > hr ? hl : hr);
	if (max_size(n->left) > m)
		m = max_size(n->left);
	if (max_size(n->right) > m)
		m = max_size(n->right);
	n->subtree_max_size = m;
}

static struct vmap_area *rotate_right(struct vmap_area *n)
{
	struct vmap_area *l = n->left;
	n->left = l->right;
	l->right = n;
	update(n);
	update(l);
	return l;
}

static struct vmap_area *rotate_left(struct vmap_area *n)
{
	struct vmap_area *r = n->right;
	n->right = r->left;
	r->left = n;
	update(n);
	update(r);
	return r;
}

static struct vmap_area *rebalance(struct vmap_area *n)
{
	update(n);
	int bal = height(n->left) - height(n->right);
	if (bal > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (bal < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

struct vmap_area *vt_insert(struct vmap_area *root, struct vmap_area *va)
{
	if (!root) {
		va->left = va->right = NULL;
		update(va);
		return va;
	}
	if (va->va_start < root->va_start)
		root->left = vt_insert(root->left, va);
	else
		root->right = vt_insert(root->right, va);
	return rebalance(root);
}

/* Detach the leftmost node of the subtree into *min. */
static struct vmap_area *remove_min(struct vmap_area *n, struct vmap_area **min)
{
	if (!n->left) {
		*min = n;
		return n->right;
	}
	n->left = remove_min(n->left, min);
	return rebalance(n);
}

struct vmap_area *vt_remove(struct vmap_area *root, struct vmap_area *va)
{
	if (!root)
		return NULL;
	if (va->va_start < root->va_start) {
		root->left = vt_remove(root->left, va);
	} else if (va->va_start > root->va_start) {
		root->right = vt_remove(root->right, va);
	} else {
		struct vmap_area *l = root->left, *r = root->right, *min;
		root->left = root->right = NULL;
		if (!r)
			return l;
		r = remove_min(r, &min);
		min->left = l;
		min->right = r;
		return rebalance(min);
	}
	return rebalance(root);
}

struct vmap_area *vt_find(struct vmap_area *root, unsigned long start)
{
	while (root) {
		if (start < root->va_start)
			root = root->left;
		else if (start > root->va_start)
			root = root->right;
		else
			return root;
	}
	return NULL;
}

struct vmap_area *vt_prev(struct vmap_area *root, unsigned long addr)
{
	struct vmap_area *best = NULL;
	while (root) {
		if (root->va_start < addr) {
			best = root;
			root = root->right;
		} else {
			root = root->left;
		}
	}
	return best;
}

struct vmap_area *vt_find_containing(struct vmap_area *root, unsigned long addr)
{
	struct vmap_area *va = vt_prev(root, addr + 1);
	return va && addr < va->va_end ? va : NULL;
}

struct vmap_area *vt_lowest_fit(struct vmap_area *root, unsigned long need)
{
	if (max_size(root) < need)
		return NULL;
	for (;;) {
		if (max_size(root->left) >= need)
			root = root->left;
		else if (va_size(root) >= need)
			return root;
		else
			root = root->right;   /* must hold the fit: max_size says so */
	}
}

struct vmap_area *vt_insert_merge(struct vmap_area *root, struct vmap_area *va,
				  struct vmap_area **spare)
{
	struct vmap_area *prev = vt_prev(root, va->va_start);
	struct vmap_area *next = vt_find(root, va->va_end);
	if (prev && prev->va_end == va->va_start) {
		/* Grow prev in place: its key is unchanged, its size grows. */
		root = vt_remove(root, prev);
		prev->va_end = va->va_end;
		va->right = *spare;
		*spare = va;
		va = prev;
	}
	if (next) {
		root = vt_remove(root, next);
		va->va_end = next->va_end;
		next->right = *spare;
		*spare = next;
	}
	return vt_insert(root, va);
}

static bool walk(struct vmap_area *n, bool (*fn)(struct vmap_area *, void *), void *arg)
{
	if (!n)
		return true;
	/* Read the right link first: fn may not change the tree, but this
	 * keeps the walk safe for fn that only relinks n itself. */
	struct vmap_area *r = n->right;
	return walk(n->left, fn, arg) && fn(n, arg) && walk(r, fn, arg);
}

bool vt_walk(struct vmap_area *root, bool (*fn)(struct vmap_area *, void *), void *arg)
{
	return walk(root, fn, arg);
}

struct check_state {
	const char *name;
	unsigned long lo, hi, last_end;
	unsigned long count, bytes;
	int problems;
};

static void check_node(struct vmap_area *n, struct check_state *st)
{
	if (!n)
		return;
	check_node(n->left, st);
	int hl = height(n->left), hr = height(n->right);
	unsigned long m = va_size(n);
	if (max_size(n->left) > m)
		m = max_size(n->left);
	if (max_size(n->right) > m)
		m = max_size(n->right);
	if (n->va_start >= n->va_end || n->va_start < st->lo || n->va_end > st->hi ||
	    (n->va_start | n->va_end) & (PAGE_SIZE - 1)) {
		kmm_printk("vmalloc: check: %s tree: bad range %#lx-%#lx\n", st->name,
			   n->va_start, n->va_end);
		st->problems++;
	}
	if (n->va_start < st->last_end) {
		kmm_printk("vmalloc: check: %s tree: %#lx-%#lx overlaps or is out of "
			   "order (previous ends at %#lx)\n", st->name, n->va_start,
			   n->va_end, st->last_end);
		st->problems++;
	}
	if (n->height != 1 + (hl > hr ? hl : hr) || hl - hr > 1 || hr - hl > 1) {
		kmm_printk("vmalloc: check: %s tree: node %#lx unbalanced (height %d, "
			   "children %d %d)\n", st->name, n->va_start, n->height, hl, hr);
		st->problems++;
	}
	if (n->subtree_max_size != m) {
		kmm_printk("vmalloc: check: %s tree: node %#lx subtree_max_size %lu, "
			   "should be %lu\n", st->name, n->va_start, n->subtree_max_size, m);
		st->problems++;
	}
	st->last_end = n->va_end;
	st->count++;
	st->bytes += va_size(n);
	check_node(n->right, st);
}

int vt_check(struct vmap_area *root, const char *name, unsigned long lo,
	     unsigned long hi, unsigned long *count, unsigned long *bytes)
{
	struct check_state st = { name, lo, hi, lo, 0, 0, 0 };
	check_node(root, &st);
	*count += st.count;
	*bytes += st.bytes;
	return st.problems;
}
