/*
 * vg_kmalloc - kmalloc objects under valgrind memcheck (tests/valgrind.sh).
 *
 * Usage: vg_kmalloc clean|uaf|leak|double-free
 *   clean        many allocations and frees of every kind, kmm_check():
 *                memcheck must find nothing;
 *   uaf          reads a kmalloc object after kfree(): "Invalid read";
 *   leak         loses the only pointer to a kmalloc object: "definitely lost";
 *   double-free  kfree()s an object twice: "Invalid free()".
 * Through the public API only, as a program would.
 */
#include <stdio.h>
#include <string.h>
#include <kmm/kmm.h>

static void *volatile sink;

static int clean(void)
{
	static void *p[2000];
	struct kmem_cache *s = kmem_cache_create("vg", 72, 0, 0, NULL);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 2000; i++) {
			p[i] = (i & 1) ? kmalloc((size_t)(i % 3000) + 1, GFP_KERNEL) :
			       kmem_cache_alloc(s, GFP_KERNEL);
			memset(p[i], i & 0xff, (i & 1) ? (size_t)(i % 3000) + 1 : 72);
		}
		for (int i = 0; i < 2000; i++) {
			if (i & 1)
				kfree(p[i]);
			else
				kmem_cache_free(s, p[i]);
		}
		kmem_cache_shrink(s);
	}
	char *z = kzalloc(100, GFP_KERNEL);
	int sum = 0;
	for (int i = 0; i < 100; i++)
		sum += z[i];
	z = krealloc(z, 5000, GFP_KERNEL);
	kfree(z);
	kmem_cache_destroy(s);
	return kmm_check() != 0 || sum != 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "clean";
	if (kmm_init("mem=64M") != 0)
		return 2;
	if (!strcmp(mode, "clean"))
		return clean();
	if (!strcmp(mode, "uaf")) {
		char *p = kmalloc(64, GFP_KERNEL);
		memset(p, 1, 64);
		kfree(p);
		sink = (void *)(unsigned long)p[10];   /* used: valgrind drops dead loads */
		return 0;
	}
	if (!strcmp(mode, "leak")) {
		sink = kmalloc(100, GFP_KERNEL);
		sink = NULL;
		return 0;
	}
	if (!strcmp(mode, "double-free")) {
		void *p = kmalloc(32, GFP_KERNEL);
		kfree(p);
		kfree(p);
		return 0;
	}
	fprintf(stderr, "usage: %s clean|uaf|leak|double-free\n", argv[0]);
	return 2;
}
