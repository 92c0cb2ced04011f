/*
 * tlsmod.c - a dlopen()ed module with thread-local storage: its TLS block
 * is allocated by the dynamic loader through malloc for every thread that
 * touches it, and freed at thread exit or dlclose.
 */
#include <stdlib.h>
#include <string.h>

static __thread char tls_big[64 * 1024];
static __thread int tls_counter = 7;

int tls_touch(int v);
void *tls_module_malloc(size_t n);
void tls_module_free(void *p);

int tls_touch(int v)
{
	memset(tls_big, v, sizeof(tls_big));
	tls_counter += v;
	return tls_counter + tls_big[sizeof(tls_big) - 1];
}

/* With RTLD_DEEPBIND these bind to glibc's malloc, not the preloaded one. */
void *tls_module_malloc(size_t n)
{
	return malloc(n);
}

void tls_module_free(void *p)
{
	free(p);
}
