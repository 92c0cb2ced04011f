/*
 * glibc_malloc.c - a preload library that gives a program glibc's own
 * malloc although the program is linked with another allocator (Debian's
 * redis-server is linked with jemalloc).  Every function forwards to
 * glibc's __libc_* entry points; malloc_usable_size to libc's own, looked
 * up in libc.so.6 itself, not in the next object (which may be jemalloc).
 *
 * bench/run-bench.sh builds it with the system compiler when it needs it
 * (gcc -shared -fPIC) and uses it as the glibc column of such programs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

#define EXPORT __attribute__((visibility("default")))

static size_t (*libc_usable_size)(void *);

__attribute__((constructor)) static void find_usable_size(void)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (libc)
		libc_usable_size = (size_t (*)(void *))dlsym(libc, "malloc_usable_size");
}

EXPORT void *malloc(size_t n) { return __libc_malloc(n); }
EXPORT void free(void *p) { __libc_free(p); }
EXPORT void *calloc(size_t n, size_t m) { return __libc_calloc(n, m); }
EXPORT void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
EXPORT void *memalign(size_t a, size_t n) { return __libc_memalign(a, n); }
EXPORT void *valloc(size_t n) { return __libc_valloc(n); }
EXPORT void *pvalloc(size_t n) { return __libc_pvalloc(n); }

EXPORT void *aligned_alloc(size_t a, size_t n)
{
	return __libc_memalign(a, n);
}

EXPORT int posix_memalign(void **out, size_t a, size_t n)
{
	if (a < sizeof(void *) || (a & (a - 1)) != 0)
		return EINVAL;
	void *p = __libc_memalign(a, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT size_t malloc_usable_size(void *p)
{
	return p && libc_usable_size ? libc_usable_size(p) : 0;
}
