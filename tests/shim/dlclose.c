/*
 * dlclose - dlopen libkmm.so (argv[1]), allocate through it from two
 * threads, dlclose it, and again: the process must survive the unload and
 * go on making threads and allocating (tests/shim/hostile.sh).  Not linked
 * with libkmm, so that dlclose is the library's last reference.
 */
#include "config.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef unsigned int gfp_t;
#define GFP_KERNEL 0xcc0u

struct api {
	void *(*kmalloc)(size_t, gfp_t);
	void (*kfree)(const void *);
};

static void *churn(void *arg)
{
	const struct api *a = arg;
	for (int i = 0; i < 10000; i++) {
		char *p = a->kmalloc((size_t)(i % 500) + 1, GFP_KERNEL);
		if (!p)
			return (void *)1;
		p[0] = 1;
		a->kfree(p);
	}
	return NULL;
}

static void *malloc_thread(void *arg)
{
	(void)arg;
	return malloc(100);
}

static int dlclose_twice(const char *lib)
{
	for (int round = 0; round < 2; round++) {
		void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			printf("dlclose: dlopen: %s\n", dlerror());
			return 1;
		}
		struct api a;
		*(void **)&a.kmalloc = dlsym(h, "kmalloc");
		*(void **)&a.kfree = dlsym(h, "kfree");
		if (!a.kmalloc || !a.kfree)
			return 1;
		pthread_t t;
		void *ret = NULL;
		pthread_create(&t, NULL, churn, &a);
		void *mine = churn(&a);
		pthread_join(t, &ret);
		if (mine || ret)
			return 1;
		if (dlclose(h) != 0)
			return 1;
		/* Threads made after dlclose, and malloc, still work. */
		pthread_create(&t, NULL, malloc_thread, NULL);
		pthread_join(t, &ret);
		if (!ret)
			return 1;
		free(ret);
	}
	printf("dlclose: two rounds of dlopen, kmalloc from two threads, dlclose: ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: dlclose LIBKMM.SO\n");
		return 2;
	}
	return dlclose_twice(argv[1]);
}
