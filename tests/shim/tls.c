/*
 * tls.c - dlopen/dlclose of a module with __thread variables, in threads,
 * under libkmm-malloc.so; and an RTLD_DEEPBIND module whose malloc is
 * glibc's, whose blocks the program frees and reallocs with the shim's
 * free and realloc (ownership by address sends them back to glibc).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int (*touch)(int);

static void *worker(void *arg)
{
	int v = (int)(long)arg;
	for (int i = 0; i < 100; i++)
		if (touch(v) != 7 + v * (i + 1) + v) {
			fprintf(stderr, "tls: wrong thread-local value\n");
			exit(1);
		}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: tls MODULE.so\n");
		return 2;
	}
	for (int round = 0; round < 20; round++) {
		void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "tls: dlopen: %s\n", dlerror());
			return 1;
		}
		touch = (int (*)(int))dlsym(h, "tls_touch");
		if (!touch)
			return 1;
		pthread_t t[4];
		for (long i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, worker, (void *)(i + 1));
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		if (dlclose(h))
			return 1;
	}

	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	if (!h) {
		fprintf(stderr, "tls: dlopen deepbind: %s\n", dlerror());
		return 1;
	}
	void *(*mod_malloc)(size_t) = (void *(*)(size_t))dlsym(h, "tls_module_malloc");
	for (int i = 0; i < 1000; i++) {
		char *p = mod_malloc((size_t)(i * 37 % 5000) + 1);
		p[0] = 'x';
		if (i % 2)
			p = realloc(p, 10000);
		if (p[0] != 'x')
			return 1;
		free(p);
	}
	dlclose(h);
	printf("tls: dlopen/dlclose with TLS in threads, RTLD_DEEPBIND handoff: ok\n");
	return 0;
}
