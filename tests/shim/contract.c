/*
 * contract.c - glibc's malloc contract, checked under libkmm-malloc.so.
 *
 * Run by tests/shim/contract.sh through kmm-run (LD_PRELOAD); this program
 * is not linked with libkmm and sees only the malloc interface.  With no
 * argument it runs the Check suite; with one it plays a death scenario
 * (double free, invalid pointer...) for the script to watch: the expected
 * outcome is SIGABRT with a precise message on stderr.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The death scenarios and the ENOMEM checks do on purpose what gcc warns
 * about; -fno-builtin (Makefile.am) keeps it from folding malloc calls. */
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
#pragma GCC diagnostic ignored "-Wuse-after-free"

void *__libc_malloc(size_t size);
void __libc_free(void *p);

#define PAGE 4096UL

/* Sizes around every class boundary of the shim and the slab/vmalloc
 * threshold (16k by default), and a few large ones. */
static const size_t boundaries[] = {
	16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512,
	640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
	5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384, 20480, 24576, 32768,
	65536, 131072, 1 << 20, 4 << 20,
};

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static int check_fill(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

START_TEST(shim_is_active)
{
	Dl_info info;
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	ck_assert_ptr_nonnull(m);
	ck_assert(dladdr(m, &info));
	ck_assert_msg(strstr(info.dli_fname, "libkmm-malloc") != NULL,
		      "malloc comes from %s", info.dli_fname);
}
END_TEST

START_TEST(malloc_zero_unique)
{
	void *a = malloc(0), *b = malloc(0);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_uint_eq((uintptr_t)a % 16, 0);
	free(a);
	free(b);
	free(NULL);
}
END_TEST

START_TEST(alignment_and_usable_sweep)
{
	for (size_t n = 0; n <= 20000; n += (n < 1100 ? 1 : 97)) {
		unsigned char *p = malloc(n);
		ck_assert_ptr_nonnull(p);
		ck_assert_msg((uintptr_t)p % 16 == 0, "malloc(%zu) = %p", n, (void *)p);
		size_t u = malloc_usable_size(p);
		ck_assert_msg(u >= n, "usable %zu < %zu", u, n);
		memset(p, 0xa5, u);
		free(p);
	}
}
END_TEST

START_TEST(class_boundaries_keep_neighbours)
{
	enum { N = 64 };
	for (size_t b = 0; b < sizeof(boundaries) / sizeof(boundaries[0]); b++) {
		for (long d = -1; d <= 1; d++) {
			size_t n = boundaries[b] + (size_t)d;
			unsigned char *p[N];
			size_t u[N];
			for (int i = 0; i < N; i++) {
				p[i] = malloc(n);
				ck_assert_ptr_nonnull(p[i]);
				ck_assert_uint_eq((uintptr_t)p[i] % 16, 0);
				u[i] = malloc_usable_size(p[i]);
				ck_assert_uint_ge(u[i], n);
				fill(p[i], u[i], (unsigned)i);
			}
			for (int i = 0; i < N; i++) {
				ck_assert_msg(check_fill(p[i], u[i], (unsigned)i),
					      "size %zu: block %d overwritten", n, i);
				free(p[i]);
			}
		}
	}
}
END_TEST

START_TEST(enomem_everywhere)
{
	void *p;
	errno = 0;
	ck_assert_ptr_null(malloc(SIZE_MAX));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(malloc((size_t)PTRDIFF_MAX + 1));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(malloc(1UL << 44));          /* beyond any mem= */
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(calloc(SIZE_MAX / 2, 3));    /* overflow */
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(calloc(1UL << 22, 1UL << 22));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(reallocarray(NULL, SIZE_MAX / 4, 8));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(aligned_alloc(64, SIZE_MAX - 10));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(memalign(1UL << 20, 1UL << 44));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(valloc(SIZE_MAX));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(pvalloc(SIZE_MAX));
	ck_assert_int_eq(errno, ENOMEM);
	p = (void *)0x1234;
	ck_assert_int_eq(posix_memalign(&p, 4096, SIZE_MAX / 2), ENOMEM);
	ck_assert_ptr_eq(p, (void *)0x1234);

	/* realloc failure leaves the block alone. */
	unsigned char *q = malloc(100);
	fill(q, 100, 3);
	errno = 0;
	ck_assert_ptr_null(realloc(q, SIZE_MAX - 100));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(realloc(q, 1UL << 44));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert(check_fill(q, 100, 3));
	free(q);
	/* Large block too. */
	q = malloc(1 << 20);
	fill(q, 1 << 20, 5);
	errno = 0;
	ck_assert_ptr_null(realloc(q, 1UL << 44));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert(check_fill(q, 1 << 20, 5));
	free(q);
}
END_TEST

START_TEST(calloc_zeroes)
{
	for (size_t b = 0; b < sizeof(boundaries) / sizeof(boundaries[0]); b++) {
		size_t n = boundaries[b] + 3;
		/* Dirty a block of that size, free it, and calloc it back. */
		unsigned char *d = malloc(n);
		memset(d, 0xff, malloc_usable_size(d));
		free(d);
		unsigned char *p = calloc(1, n);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % 16, 0);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(p[i] == 0, "calloc(%zu)[%zu] = %#x", n, i, p[i]);
		free(p);
	}
	unsigned char *z = calloc(0, 10);
	ck_assert_ptr_nonnull(z);
	free(z);
	int *v = calloc(1000, sizeof(int));
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(v[i], 0);
	free(v);
}
END_TEST

START_TEST(realloc_grow_shrink_keep_contents)
{
	unsigned char *p = realloc(NULL, 1);
	size_t n = 1;
	ck_assert_ptr_nonnull(p);
	fill(p, 1, 9);
	/* Grow through every class and well into vmalloc. */
	while (n < (8u << 20)) {
		size_t next = n * 3 / 2 + 13;
		unsigned char *q = realloc(p, next);
		ck_assert_ptr_nonnull(q);
		ck_assert_uint_eq((uintptr_t)q % 16, 0);
		ck_assert_msg(check_fill(q, n, 9), "realloc %zu -> %zu lost data", n, next);
		fill(q, next, 9);
		p = q;
		n = next;
	}
	/* And shrink back down. */
	while (n > 1) {
		size_t next = n / 3;
		unsigned char *q = realloc(p, next ? next : 1);
		ck_assert_ptr_nonnull(q);
		ck_assert(check_fill(q, next ? next : 1, 9));
		ck_assert_uint_ge(malloc_usable_size(q), next);
		p = q;
		n = next ? next : 1;
	}
	free(p);

	/* realloc(p, 0) frees and returns NULL (glibc). */
	p = malloc(100);
	ck_assert_ptr_null(realloc(p, 0));
	p = malloc(1 << 20);
	ck_assert_ptr_null(realloc(p, 0));

	/* Small shrink stays in place; a growth inside the usable size too. */
	p = malloc(1000);
	size_t u = malloc_usable_size(p);
	ck_assert_ptr_eq(realloc(p, u), p);
	ck_assert_ptr_eq(realloc(p, 900), p);
	free(p);
}
END_TEST

START_TEST(realloc_large_in_place_growth)
{
	/* vrealloc: growth of a large block keeps data; often in place. */
	unsigned char *p = malloc(1 << 20);
	fill(p, 1 << 20, 1);
	unsigned char *q = realloc(p, (1 << 20) + 4096 * 3);
	ck_assert_ptr_nonnull(q);
	ck_assert(check_fill(q, 1 << 20, 1));
	memset(q + (1 << 20), 0x11, 4096 * 3);
	q = realloc(q, 64 << 20);
	ck_assert_ptr_nonnull(q);
	ck_assert(check_fill(q, 1 << 20, 1));
	memset(q, 0, 64 << 20);
	q = realloc(q, 100);             /* to a slab class */
	ck_assert_ptr_nonnull(q);
	free(q);
}
END_TEST

static const size_t align_sizes[] = {
	0, 1, 15, 16, 17, 100, 1000, 4095, 4096, 4097, 20000, 65536, (1 << 20) + 1,
};

START_TEST(posix_memalign_every_alignment)
{
	for (size_t a = 1; a <= (1UL << 20); a <<= 1) {
		for (size_t s = 0; s < sizeof(align_sizes) / sizeof(align_sizes[0]); s++) {
			size_t n = align_sizes[s];
			void *p = (void *)0x5678;
			int r = posix_memalign(&p, a, n);
			if (a < sizeof(void *)) {
				ck_assert_int_eq(r, EINVAL);
				ck_assert_ptr_eq(p, (void *)0x5678);
				continue;
			}
			ck_assert_msg(r == 0, "posix_memalign(%zu, %zu) = %d", a, n, r);
			ck_assert_msg((uintptr_t)p % a == 0 && (uintptr_t)p % 16 == 0,
				      "posix_memalign(%zu, %zu) = %p", a, n, p);
			size_t u = malloc_usable_size(p);
			ck_assert_uint_ge(u, n);
			memset(p, 0x3c, u);
			free(p);
		}
	}
	/* Large alignments of large blocks. */
	for (size_t a = 8192; a <= (4UL << 20); a <<= 1) {
		void *p = NULL;
		ck_assert_int_eq(posix_memalign(&p, a, (8UL << 20) + 3), 0);
		ck_assert_uint_eq((uintptr_t)p % a, 0);
		memset(p, 1, (8UL << 20) + 3);
		free(p);
	}
	/* Not a power of two, or not a multiple of sizeof(void *). */
	size_t bad[] = { 0, 3, 12, 24, 48, 100, 4097 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *p = (void *)0x5678;
		ck_assert_int_eq(posix_memalign(&p, bad[i], 10), EINVAL);
		ck_assert_ptr_eq(p, (void *)0x5678);
	}
}
END_TEST

START_TEST(aligned_alloc_memalign_valloc_pvalloc)
{
	for (size_t a = 1; a <= (1UL << 20); a <<= 1) {
		for (size_t s = 0; s < sizeof(align_sizes) / sizeof(align_sizes[0]); s++) {
			size_t n = align_sizes[s];
			void *p = aligned_alloc(a, n);
			void *q = memalign(a, n);
			ck_assert_ptr_nonnull(p);
			ck_assert_ptr_nonnull(q);
			ck_assert_msg((uintptr_t)p % a == 0 && (uintptr_t)p % 16 == 0,
				      "aligned_alloc(%zu, %zu) = %p", a, n, p);
			ck_assert_msg((uintptr_t)q % a == 0, "memalign(%zu, %zu) = %p", a, n, q);
			ck_assert_uint_ge(malloc_usable_size(p), n);
			ck_assert_uint_ge(malloc_usable_size(q), n);
			memset(p, 1, n);
			memset(q, 2, n);
			free(p);
			free(q);
		}
	}
	/* glibc 2.36 rounds an alignment that is not a power of two up. */
	void *p = memalign(48, 10);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq((uintptr_t)p % 64, 0);
	free(p);
	errno = 0;
	ck_assert_ptr_null(memalign(SIZE_MAX / 2 + 2, 10));
	ck_assert_int_eq(errno, EINVAL);

	for (size_t n = 0; n < 3 * PAGE; n += 1000) {
		void *v = valloc(n), *w = pvalloc(n);
		ck_assert_ptr_nonnull(v);
		ck_assert_ptr_nonnull(w);
		ck_assert_uint_eq((uintptr_t)v % PAGE, 0);
		ck_assert_uint_eq((uintptr_t)w % PAGE, 0);
		ck_assert_uint_ge(malloc_usable_size(w), (n + PAGE - 1) & ~(PAGE - 1));
		memset(w, 7, malloc_usable_size(w));
		free(v);
		free(w);
	}
}
END_TEST

START_TEST(glibc_pointer_handoff)
{
	/* Memory from glibc's own allocator is freed and resized by glibc. */
	unsigned char *g = __libc_malloc(100);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_ge(malloc_usable_size(g), 100);
	fill(g, 100, 4);
	g = realloc(g, 5000);
	ck_assert_ptr_nonnull(g);
	ck_assert(check_fill(g, 100, 4));
	free(g);
	free(__libc_malloc(1 << 20));    /* an mmapped glibc chunk */
	ck_assert_ptr_null(realloc(__libc_malloc(10), 0));
}
END_TEST

START_TEST(reallocarray_works)
{
	int *a = reallocarray(NULL, 10, sizeof(int));
	ck_assert_ptr_nonnull(a);
	for (int i = 0; i < 10; i++)
		a[i] = i;
	a = reallocarray(a, 100000, sizeof(int));
	ck_assert_ptr_nonnull(a);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(a[i], i);
	free(a);
}
END_TEST

START_TEST(introspection)
{
	void *p = malloc(1 << 20);
	struct mallinfo2 mi = mallinfo2();
	ck_assert_uint_gt(mi.arena, 0);
	ck_assert_uint_ge(mi.uordblks, 1 << 20);
	struct mallinfo mo = mallinfo();
	ck_assert_int_gt(mo.arena, 0);
	free(p);
	ck_assert_int_ge(malloc_trim(0), 0);
	/* malloc_stats prints the dumps on stderr; just not crash here. */
	int fd = dup(2);
	FILE *devnull = freopen("/dev/null", "w", stderr);
	ck_assert_ptr_nonnull(devnull);
	malloc_stats();
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
}
END_TEST

/* Threads allocate and free each other's blocks. */
#define RING 1024
struct ring {
	void *slot[RING];
	pthread_mutex_t lock;
};

static void *churn(void *arg)
{
	struct ring *r = arg;
	unsigned seed = (unsigned)(uintptr_t)pthread_self();
	for (int i = 0; i < 200000; i++) {
		size_t n = (size_t)(rand_r(&seed) % 600) + (i % 97 == 0 ? 40000 : 0);
		unsigned char *p = malloc(n);
		ck_assert_ptr_nonnull(p);
		if (n)
			p[0] = p[n - 1] = 1;
		unsigned k = (unsigned)rand_r(&seed) % RING;
		pthread_mutex_lock(&r->lock);
		void *old = r->slot[k];
		r->slot[k] = p;
		pthread_mutex_unlock(&r->lock);
		free(old);
	}
	return NULL;
}

START_TEST(threads_cross_free)
{
	static struct ring r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn, &r), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < RING; i++)
		free(r.slot[i]);
}
END_TEST

START_TEST(libc_internals_use_it)
{
	char *s = strdup("hello, libkmm");
	ck_assert_str_eq(s, "hello, libkmm");
	free(s);
	char *a = NULL;
	ck_assert_int_gt(asprintf(&a, "%d-%s", 42, "x"), 0);
	ck_assert_str_eq(a, "42-x");
	free(a);
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%0100000d", 1);
	fclose(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Death scenarios, also checked for their message by contract.sh      */

START_TEST(large_reuse)
{
	/* A freed large block stays warm and is reused by the next malloc
	 * that fits, with its real usable size; calloc zeroes it. */
	unsigned char *p = malloc(300 << 10);
	ck_assert_ptr_nonnull(p);
	size_t u = malloc_usable_size(p);
	ck_assert_uint_ge(u, 300 << 10);
	memset(p, 0xa5, u);
	free(p);
	unsigned char *q = malloc(290 << 10);
	ck_assert_ptr_nonnull(q);
	size_t uq = malloc_usable_size(q);
	ck_assert_uint_ge(uq, 290 << 10);
	memset(q, 0x5a, uq);                /* all of it writable */
	free(q);
	unsigned char *z = calloc(1, 300 << 10);
	ck_assert_ptr_nonnull(z);
	for (size_t i = 0; i < (300 << 10); i += 61)
		ck_assert_uint_eq(z[i], 0);
	ck_assert_uint_eq(z[0], 0);
	ck_assert_uint_eq(z[(300 << 10) - 1], 0);
	/* Growth in place still works on a reused block. */
	unsigned char *g = realloc(z, 600 << 10);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(g[100], 0);
	free(g);
	/* Many sizes, freed and taken back: contents are the caller's. */
	void *v[32];
	for (int r = 0; r < 4; r++) {
		for (int i = 0; i < 32; i++) {
			size_t n = (size_t)(70 + i * 37) << 10;
			v[i] = malloc(n);
			ck_assert_ptr_nonnull(v[i]);
			ck_assert_uint_ge(malloc_usable_size(v[i]), n);
			fill(v[i], n, (unsigned)i);
		}
		for (int i = 0; i < 32; i++) {
			ck_assert(check_fill(v[i], (size_t)(70 + i * 37) << 10, (unsigned)i));
			free(v[i]);
		}
	}
	ck_assert_int_ge(malloc_trim(0), 0);
}
END_TEST

static int scenario(const char *name)
{
	unsigned char *p;
	void *v;
	if (!strcmp(name, "double-free")) {
		p = malloc(64);
		free(p);
		free(p);
	} else if (!strcmp(name, "double-free-48")) {
		p = malloc(40);
		free(p);
		free(p);
	} else if (!strcmp(name, "interior")) {
		p = malloc(64);
		free(p + 16);
	} else if (!strcmp(name, "interior-48")) {
		p = malloc(48);
		free(p + 32);
	} else if (!strcmp(name, "double-free-large")) {
		p = malloc(1 << 20);
		free(p);
		free(p);
	} else if (!strcmp(name, "double-free-reused")) {
		/* Freed (cached), taken back by a smaller malloc, freed twice. */
		p = malloc(200 << 10);
		free(p);
		p = malloc(180 << 10);
		free(p);
		free(p);
	} else if (!strcmp(name, "realloc-freed-large")) {
		p = malloc(200 << 10);
		free(p);
		p = realloc(p, 300 << 10);
	} else if (!strcmp(name, "usable-freed-large")) {
		p = malloc(200 << 10);
		free(p);
		(void)malloc_usable_size(p);
	} else if (!strcmp(name, "interior-large")) {
		p = malloc(1 << 20);
		free(p + 8192);
	} else if (!strcmp(name, "double-free-aligned")) {
		if (posix_memalign(&v, 1 << 20, 100))
			return 1;
		free(v);
		free(v);
	} else if (!strcmp(name, "free-frame")) {
		/* 4 GiB further into the direct map than a fresh object: a frame
		 * of a section that never came online, or a free one. */
		p = malloc(16);
		free((void *)(((uintptr_t)p & ~((1UL << 30) - 1)) + (4UL << 30)));
	} else if (!strcmp(name, "realloc-freed")) {
		p = malloc(250);
		free(p);
		p = realloc(p, 300);
	} else if (!strcmp(name, "ok")) {
		free(malloc(10));
		return 0;
	} else {
		fprintf(stderr, "contract: unknown scenario %s\n", name);
		return 2;
	}
	return 1;               /* survived: the script reports it */
}

START_TEST(death_double_free) { scenario("double-free"); }
END_TEST
START_TEST(death_interior) { scenario("interior"); }
END_TEST
START_TEST(death_double_free_large) { scenario("double-free-large"); }
END_TEST

int main(int argc, char **argv)
{
	if (argc > 1)
		return scenario(argv[1]);

	Suite *s = suite_create("shim-contract");
	TCase *tc = tcase_create("contract");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, shim_is_active);
	tcase_add_test(tc, malloc_zero_unique);
	tcase_add_test(tc, alignment_and_usable_sweep);
	tcase_add_test(tc, class_boundaries_keep_neighbours);
	tcase_add_test(tc, enomem_everywhere);
	tcase_add_test(tc, calloc_zeroes);
	tcase_add_test(tc, realloc_grow_shrink_keep_contents);
	tcase_add_test(tc, realloc_large_in_place_growth);
	tcase_add_test(tc, large_reuse);
	tcase_add_test(tc, posix_memalign_every_alignment);
	tcase_add_test(tc, aligned_alloc_memalign_valloc_pvalloc);
	tcase_add_test(tc, glibc_pointer_handoff);
	tcase_add_test(tc, reallocarray_works);
	tcase_add_test(tc, introspection);
	tcase_add_test(tc, threads_cross_free);
	tcase_add_test(tc, libc_internals_use_it);
	suite_add_tcase(s, tc);

	/* Under slub_debug the slab layer reports bad frees itself and goes
	 * on (poisoning erases the shim's tag): no death tests then. */
	const char *conf = getenv("KMM_CONF");
	if (conf && strstr(conf, "slub_debug"))
		goto run;
	TCase *death = tcase_create("death");
	tcase_add_test_raise_signal(death, death_double_free, SIGABRT);
	tcase_add_test_raise_signal(death, death_interior, SIGABRT);
	tcase_add_test_raise_signal(death, death_double_free_large, SIGABRT);
	suite_add_tcase(s, death);

run:;
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
