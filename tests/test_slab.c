/*
 * test_slab.c - kmem_cache and the per-CPU magazines, white box.
 * Each test boots its own machine (Check forks a child per test) and ends
 * with kmm_check().  The rseq-disabled mode is tested twice: with
 * slab_rseq=0, and by re-executing this binary with
 * GLIBC_TUNABLES=glibc.pthread.rseq=0 so that glibc registers no rseq area.
 */
#include "config.h"
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "capture.h"
#include "../lib/slab.h"

static char self_path[4096];

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/* Objects of every size to 8 KiB and several alignments: aligned, writable,
 * not overlapping. */
START_TEST(test_objects_aligned_nonoverlapping)
{
	static const unsigned int sizes[] = { 1, 7, 8, 24, 60, 100, 200, 511, 1000,
					      2048, 3000, 4096, 5000, 8192 };
	static const unsigned int aligns[] = { 0, 8, 16, 64, 256, 4096 };
	enum { N = 150 };
	void *p[N];
	kmm_test_boot("mem=256M");
	for (size_t a = 0; a < ARRAY_SIZE(aligns); a++) {
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			unsigned int size = sizes[i], align = aligns[a];
			struct kmem_cache *s = kmem_cache_create("test-geom", size, align, 0, NULL);
			ck_assert_ptr_nonnull(s);
			ck_assert_uint_eq(kmem_cache_size(s), size);
			for (int k = 0; k < N; k++) {
				p[k] = kmem_cache_alloc(s, GFP_KERNEL);
				ck_assert_ptr_nonnull(p[k]);
				ck_assert_msg(((uintptr_t)p[k] & ((align ? align : 8) - 1)) == 0,
					      "size %u align %u: %p", size, align, p[k]);
				ck_assert(PageSlab(virt_to_page(p[k])));
				memset(p[k], k & 0xff, size);
			}
			for (int k = 0; k < N; k++)
				for (unsigned int b = 0; b < size; b += 97)
					ck_assert_int_eq(((unsigned char *)p[k])[b], k & 0xff);
			void *sorted[N];
			memcpy(sorted, p, sizeof(p));
			qsort(sorted, N, sizeof(void *), cmp_ptr);
			for (int k = 1; k < N; k++)
				ck_assert_uint_ge((uintptr_t)sorted[k] - (uintptr_t)sorted[k - 1], size);
			for (int k = 0; k < N; k++)
				kmem_cache_free(s, p[k]);
			kmem_cache_destroy(s);
		}
	}
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_hwcache_align)
{
	kmm_test_boot("mem=64M");
	struct kmem_cache *s = kmem_cache_create("test-hw", 100, 0, SLAB_HWCACHE_ALIGN, NULL);
	for (int i = 0; i < 100; i++) {
		void *p = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_uint_eq((uintptr_t)p & 63, 0);
	}
	ck_assert_kmm_clean();
}
END_TEST

static AO_t ctor_calls;
static void ctor(void *obj)
{
	AO_fetch_and_add1(&ctor_calls);
	memcpy(obj, "constructed", 12);
}

/* Constructors run once per object, when its slab is created. */
START_TEST(test_ctor_once_per_object)
{
	enum { N = 500 };
	void *p[N];
	kmm_test_boot("mem=64M");
	struct kmem_cache *s = kmem_cache_create("test-ctor", 48, 0, 0, ctor);
	for (int i = 0; i < N; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_str_eq(p[i], "constructed");
	}
	unsigned long calls = AO_load(&ctor_calls);
	ck_assert_uint_eq(calls % s->objects, 0);       /* whole slabs */
	ck_assert_uint_ge(calls, N);
	ck_assert_uint_le(calls, N + 2 * s->objects);
	for (int i = 0; i < N; i++)
		kmem_cache_free(s, p[i]);
	for (int i = 0; i < N; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_uint_eq(AO_load(&ctor_calls), calls);  /* none on reuse */
	for (int i = 0; i < N; i++)
		kmem_cache_free(s, p[i]);
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
}
END_TEST

/* The kernel's _node and _lru forms: the one node, no memcg; the same
 * objects, zeroing and accounting as kmem_cache_alloc(). */
START_TEST(test_alloc_node_and_lru)
{
	kmm_test_boot("mem=64M");
	struct kmem_cache *s = kmem_cache_create("test-node", 200, 0, 0, NULL);
	void *p[48];
	for (int i = 0; i < 48; i++) {
		switch (i % 4) {
		case 0: p[i] = kmem_cache_alloc_node(s, GFP_KERNEL, NUMA_NO_NODE); break;
		case 1: p[i] = kmem_cache_alloc_node(s, GFP_KERNEL | __GFP_ZERO, 0); break;
		case 2: p[i] = kmem_cache_alloc_lru(s, NULL, GFP_KERNEL); break;
		default: p[i] = kmem_cache_alloc_lru(s, NULL, GFP_KERNEL | __GFP_ZERO); break;
		}
		ck_assert_ptr_nonnull(p[i]);
		ck_assert(PageSlab(virt_to_head_page(p[i])));
		if (i % 2)
			for (int b = 0; b < 200; b++)
				ck_assert_int_eq(((char *)p[i])[b], 0);
		memset(p[i], 0xee, 200);
	}
	for (int i = 0; i < 48; i++)
		kmem_cache_free(s, p[i]);
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_zalloc_zeroes)
{
	kmm_test_boot("mem=64M");
	struct kmem_cache *s = kmem_cache_create("test-zero", 300, 0, 0, NULL);
	for (int round = 0; round < 3; round++) {
		void *p[64];
		for (int i = 0; i < 64; i++) {
			p[i] = kmem_cache_alloc(s, GFP_KERNEL);
			memset(p[i], 0xee, 300);
		}
		for (int i = 0; i < 64; i++)
			kmem_cache_free(s, p[i]);
		for (int i = 0; i < 64; i++) {
			p[i] = round == 1 ? kmem_cache_alloc(s, GFP_KERNEL | __GFP_ZERO) :
					    kmem_cache_zalloc(s, GFP_KERNEL);
			for (int b = 0; b < 300; b++)
				ck_assert_int_eq(((char *)p[i])[b], 0);
		}
		for (int i = 0; i < 64; i++)
			kmem_cache_free(s, p[i]);
	}
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_bulk)
{
	enum { N = 300 };
	void *p[N];
	kmm_test_boot("mem=64M");
	struct kmem_cache *s = kmem_cache_create("test-bulk", 128, 0, 0, NULL);
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, N, p), N);
	qsort(p, N, sizeof(void *), cmp_ptr);
	for (int i = 1; i < N; i++)
		ck_assert_uint_ge((uintptr_t)p[i] - (uintptr_t)p[i - 1], 128);
	kmem_cache_free_bulk(s, N, p);
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL | __GFP_ZERO, N, p), N);
	ck_assert_int_eq(((char *)p[N - 1])[127], 0);
	kmem_cache_free_bulk(NULL, N, p);                 /* kfree each */
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
}
END_TEST

/* shrink + destroy + drain give back every frame, magazines included. */
START_TEST(test_shrink_destroy_return_every_page)
{
	enum { N = 5000 };
	static void *p[N];
	kmm_test_boot("mem=64M");
	drain_all_pages(NULL);
	unsigned long before = nr_free_pages();
	struct kmem_cache *s = kmem_cache_create("test-pages", 200, 0, 0, NULL);
	for (int i = 0; i < N; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_uint_lt(nr_free_pages(), before - N * 200 / PAGE_SIZE);
	for (int i = 0; i < N; i++)
		kmem_cache_free(s, p[i]);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_uint_eq(s->node.nr_slabs, 0);
	ck_assert_kmm_clean();
	for (int i = 0; i < N / 2; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 0; i < N / 2; i++)
		kmem_cache_free(s, p[i]);
	kmem_cache_destroy(s);                   /* flushes the magazines */
	drain_all_pages(NULL);
	ck_assert_uint_eq(nr_free_pages(), before);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_destroy_with_live_objects)
{
	struct capture c;
	kmm_test_boot("mem=64M");
	struct kmem_cache *s = kmem_cache_create("test-live", 64, 0, 0, NULL);
	char *a = kmem_cache_alloc(s, GFP_KERNEL), *b = kmem_cache_alloc(s, GFP_KERNEL);
	void *freed = kmem_cache_alloc(s, GFP_KERNEL);
	kmem_cache_free(s, freed);
	capture_begin(&c);
	kmem_cache_destroy(s);
	const char *out = capture_end(&c);
	ck_assert_contains(out, "kmem_cache_destroy test-live: Slab cache still has objects");
	ck_assert_contains(out, "BUG test-live (Not tainted): Objects remaining");
	ck_assert_contains(out, "INFO: 2 objects remaining");
	/* Nothing in use was freed: the objects are still ours. */
	memset(a, 1, 64);
	memset(b, 2, 64);
	ck_assert_int_eq(a[63], 1);
	ck_assert_kmm_clean();
	kmem_cache_free(s, a);
	kmem_cache_free(s, b);
	kmem_cache_destroy(s);                    /* now it goes */
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_slabinfo_format)
{
	char buf[16384];
	kmm_test_boot("mem=64M");
	struct kmem_cache *s = kmem_cache_create("test-info", 500, 0, 0, NULL);
	void *p[40];
	for (int i = 0; i < 40; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	kmm_show_slabinfo(f);
	fclose(f);
	static const char head[] = "slabinfo - version: 2.1\n# name            <active_objs> "
		"<num_objs> <objsize> <objperslab> <pagesperslab> : tunables "
		"<limit> <batchcount> <sharedfactor> : slabdata <active_slabs> "
		"<num_slabs> <sharedavail>\n";
	ck_assert_msg(strncmp(buf, head, sizeof(head) - 1) == 0, "%s", buf);
	char *line = strstr(buf, "\ntest-info ");
	ck_assert_ptr_nonnull(line);
	unsigned long active, num, objsize, per, pages, limit, batch, shared, as, ns, avail;
	ck_assert_int_eq(sscanf(line + 1, "test-info %lu %lu %lu %lu %lu : tunables %lu %lu %lu "
				":  slabdata %lu %lu %lu", &active, &num, &objsize, &per, &pages,
				&limit, &batch, &shared, &as, &ns, &avail), 11);
	ck_assert_uint_eq(active, 40);
	ck_assert_uint_eq(objsize, 504);
	ck_assert_uint_eq(num, ns * per);
	/* SLUB's tunables and sharedavail: 0. */
	ck_assert_uint_eq(limit, 0);
	ck_assert_uint_eq(batch, 0);
	ck_assert_uint_eq(shared, 0);
	ck_assert_uint_eq(avail, 0);
	ck_assert_ptr_nonnull(strstr(buf, "\nkmalloc-96 "));
	ck_assert_ptr_nonnull(strstr(buf, "\ndma-kmalloc-8k "));
	for (int i = 0; i < 40; i++)
		kmem_cache_free(s, p[i]);
	ck_assert_kmm_clean();
}
END_TEST

START_TEST(test_dma_and_reclaim_account)
{
	kmm_test_boot("mem=64M");
	struct kmem_cache *d = kmem_cache_create("test-dma", 256, 0, SLAB_CACHE_DMA, NULL);
	void *p = kmem_cache_alloc(d, GFP_KERNEL);
	ck_assert_int_eq(page_zonenum(virt_to_page(p)), ZONE_DMA);
	unsigned long before = AO_load(&machine.stat[NR_SLAB_RECLAIMABLE]);
	struct kmem_cache *r = kmem_cache_create("test-rcl", 256, 0, SLAB_RECLAIM_ACCOUNT, NULL);
	void *q = kmem_cache_alloc(r, GFP_KERNEL);
	ck_assert_uint_eq(AO_load(&machine.stat[NR_SLAB_RECLAIMABLE]), before + (1UL << r->order));
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	kmm_show_meminfo(f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "SReclaimable:"));
	kmem_cache_free(d, p);
	kmem_cache_free(r, q);
	kmem_cache_destroy(r);
	ck_assert_uint_eq(AO_load(&machine.stat[NR_SLAB_RECLAIMABLE]), before);
	ck_assert_kmm_clean();
}
END_TEST

/* ---------------------------------------------------------------- threads */

#define XCHG_SLOTS 64
static AO_t xchg[XCHG_SLOTS];
static struct kmem_cache *shared_cache;
static int nr_threads;
static bool migrate;

static void *worker(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 7919 + 1;
	enum { LIVE = 64 };
	void *live[LIVE] = { 0 };
	for (int i = 0; i < 40000; i++) {
		int slot = (int)(test_rand(&seed) % LIVE);
		if (live[slot]) {
			void *obj = live[slot];
			/* A third of frees happen on another thread: swap the object
			 * with one another thread left in the exchange. */
			if (test_rand(&seed) % 3 == 0) {
				volatile AO_t *x = &xchg[slot % XCHG_SLOTS];
				AO_t old;
				do
					old = AO_load(x);
				while (!AO_compare_and_swap_full(x, old, (AO_t)obj));
				obj = (void *)old;
			}
			if (obj) {
				char *c = obj;
				if (c[0] != 'k' && c[0] != 'c') {
					fprintf(stderr, "worker: object %p was overwritten (%#x)\n",
						obj, c[0]);
					abort();
				}
				if (c[0] == 'c')
					kmem_cache_free(shared_cache, obj);
				else
					kfree(obj);
			}
			live[slot] = NULL;
		} else {
			size_t size = 1 + test_rand(&seed) % 2000;
			char *obj;
			obj = (size & 1) ? kmem_cache_alloc(shared_cache, GFP_KERNEL) :
					   kmalloc(size, GFP_KERNEL);
			if (!obj) {
				fprintf(stderr, "worker: allocation failed\n");
				abort();
			}
			obj[0] = (size & 1) ? 'c' : 'k';
			live[slot] = obj;
		}
		if (migrate && i % 997 == 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET((unsigned)(i / 997) % nr_cpu_ids, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
	}
	for (int i = 0; i < LIVE; i++) {
		char *c = live[i];
		if (c && c[0] == 'c')
			kmem_cache_free(shared_cache, c);
		else
			kfree(c);
	}
	return NULL;
}

/* Returns 0 when everything came back; reports on stderr otherwise (also
 * used outside Check, in the rseq-disabled child). */
static int run_threads(int n)
{
	pthread_t th[16];
	drain_all_pages(NULL);
	slab_shrink_all();
	drain_all_pages(NULL);
	unsigned long before = nr_free_pages();
	nr_threads = n;
	shared_cache = kmem_cache_create("test-shared", 72, 0, 0, NULL);
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < XCHG_SLOTS; i++) {
		char *c = (char *)AO_load(&xchg[i]);
		if (c && c[0] == 'c')
			kmem_cache_free(shared_cache, c);
		else
			kfree(c);
		xchg[i] = 0;
	}
	int problems = kmm_check();
	kmem_cache_destroy(shared_cache);
	slab_shrink_all();
	drain_all_pages(NULL);
	problems += kmm_check();
	if (nr_free_pages() != before) {
		fprintf(stderr, "run_threads(%d): %lu free frames, %lu before\n", n,
			nr_free_pages(), before);
		problems++;
	}
	return problems;
}

START_TEST(test_threads_2)
{
	kmm_test_boot("mem=256M");
	/* rseq when glibc registered it, unless the build defaults to the
	 * compare-and-swap path (ThreadSanitizer). */
	ck_assert(kmm_rseq_on || __rseq_size == 0 || machine.conf.slab_rseq == 0);
	ck_assert_int_eq(run_threads(2), 0);
}
END_TEST

START_TEST(test_threads_8)
{
	kmm_test_boot("mem=256M");
	ck_assert_int_eq(run_threads(8), 0);
}
END_TEST

START_TEST(test_threads_8_migrating)
{
	kmm_test_boot("mem=256M");
	migrate = true;
	ck_assert_int_eq(run_threads(8), 0);
}
END_TEST

START_TEST(test_threads_lock_fallback)
{
	kmm_test_boot("mem=256M slab_rseq=0");
	ck_assert(!kmm_rseq_on);
	migrate = true;
	ck_assert_int_eq(run_threads(8), 0);
}
END_TEST

/* Re-exec with glibc's rseq registration turned off. */
START_TEST(test_glibc_rseq_disabled)
{
	pid_t pid = fork();
	if (pid == 0) {
		setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
		execl(self_path, self_path, "--rseq-off-child", (char *)NULL);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static int rseq_off_child(void)
{
	if (kmm_init("mem=256M") != 0 || __rseq_size != 0 || kmm_rseq_on) {
		fprintf(stderr, "rseq-off child: rseq still on (size %u)\n", __rseq_size);
		return 1;
	}
	migrate = true;
	return run_threads(4) ? 1 : 0;
}

START_TEST(test_fork_child_allocates)
{
	kmm_test_boot("mem=64M");
	void *p = kmalloc(100, GFP_KERNEL);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 10000; i++)
			kfree(kmalloc((size_t)(i % 3000) + 1, GFP_KERNEL));
		kfree(p);
		_exit(kmm_check() == 0 ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	kfree(p);
	ck_assert_kmm_clean();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Misuse of the cache API, and no fixed limits                        */

/* slabinfo into buf (size bytes), or fail. */
static void slabinfo_text(char *buf, size_t size)
{
	FILE *f = fmemopen(buf, size, "w");
	ck_assert_ptr_nonnull(f);
	kmm_show_slabinfo(f);
	ck_assert_int_eq(fflush(f), 0);
	ck_assert_uint_lt(ftell(f), size - 1);          /* all of it fitted */
	fclose(f);
}

/* The row of cache `name`: active objects, slabs; false if absent. */
static bool slabinfo_row(const char *buf, const char *name, unsigned long *active,
			 unsigned long *slabs)
{
	char key[80];
	snprintf(key, sizeof(key), "\n%s ", name);
	const char *line = strstr(buf, key);
	unsigned long num, objsize, per, pages, limit, batch, shared, as, avail;
	if (!line)
		return false;
	ck_assert_int_eq(sscanf(line + strlen(key), "%lu %lu %lu %lu %lu : tunables %lu %lu "
				"%lu : slabdata %lu %lu %lu", active, &num, &objsize, &per,
				&pages, &limit, &batch, &shared, &as, slabs, &avail), 11);
	ck_assert_uint_le(*active, num);
	ck_assert_uint_eq(limit + batch + shared + avail, 0);
	return true;
}

static const char *const cache_misuse_conf[] = {
	"mem=64M",
	"mem=64M slub_debug=FZPU",
	"mem=64M slab_rseq=0",
	"mem=64M slab_freelist_hardened=0",
};

/* kmem_cache_free() into the wrong cache: 6.18's warning, and the object
 * goes back to the cache it came from; the counts stay right. */
START_TEST(test_free_into_wrong_cache)
{
	static char buf[65536];
	kmm_test_boot(cache_misuse_conf[_i]);
	struct kmem_cache *a = kmem_cache_create("wrong-a", 32, 0, 0, NULL);
	struct kmem_cache *b = kmem_cache_create("wrong-b", 256, 0, 0, NULL);
	void *pa = kmem_cache_alloc(a, GFP_KERNEL);
	void *pb = kmem_cache_alloc(b, GFP_KERNEL);
	struct capture c;
	capture_begin(&c);
	kmem_cache_free(a, pb);
	const char *out = capture_end(&c);
	ck_assert_contains(out, "cache_from_obj: Wrong slab cache. wrong-a but object is "
			   "from wrong-b\n");
	ck_assert_contains(out, "WARNING: CPU: ");
	ck_assert_kmm_clean();
	unsigned long active, slabs;
	slabinfo_text(buf, sizeof(buf));
	ck_assert(slabinfo_row(buf, "wrong-a", &active, &slabs));
	ck_assert_uint_eq(active, 1);                   /* pa */
	ck_assert(slabinfo_row(buf, "wrong-b", &active, &slabs));
	ck_assert_uint_eq(active, 0);                   /* pb came back here */
	/* a's allocations never hand out b's object; b's may. */
	void *more[100];
	for (int i = 0; i < 100; i++) {
		more[i] = kmem_cache_alloc(a, GFP_KERNEL);
		ck_assert_ptr_ne(more[i], pb);
		ck_assert_ptr_eq(virt_to_head_page(more[i])->slab_cache, a);
	}
	for (int i = 0; i < 100; i++)
		kmem_cache_free(a, more[i]);
	void *again = kmem_cache_alloc(b, GFP_KERNEL);
	ck_assert_ptr_eq(virt_to_head_page(again)->slab_cache, b);
	kmem_cache_free(b, again);
	kmem_cache_free(a, pa);
	ck_assert_kmm_clean();
	kmem_cache_destroy(a);
	kmem_cache_destroy(b);
	ck_assert_kmm_clean();
}
END_TEST

static char static_obj[128];

/* kmem_cache_free() of what no cache handed out: reported, not freed, and
 * the cache stays consistent. */
START_TEST(test_cache_free_of_foreign_pointers)
{
	kmm_test_boot(cache_misuse_conf[_i]);
	struct kmem_cache *s = kmem_cache_create("foreign", 64, 0, 0, NULL);
	char stack_obj[64];
	void *glibc = malloc(64);
	struct page *pg = alloc_pages(GFP_KERNEL, 0);
	void *ptrs[] = { static_obj, stack_obj, glibc, (void *)0x2000, (void *)-64L,
			 vmalloc(100) };
	for (size_t i = 0; i < ARRAY_SIZE(ptrs); i++) {
		struct capture c;
		char addr[32];
		snprintf(addr, sizeof(addr), "0x%lx", (unsigned long)ptrs[i]);
		capture_begin(&c);
		kmem_cache_free(s, ptrs[i]);
		const char *out = capture_end(&c);
		ck_assert_contains(out, "kmem_cache_free of a pointer not allocated by ");
		ck_assert_contains(out, addr);
	}
	struct capture c;
	capture_begin(&c);
	kmem_cache_free(s, page_address(pg));
	const char *out = capture_end(&c);
	ck_assert_contains(out, "virt_to_cache: Object is not a Slab page!");
	ck_assert_contains(out, "not freed");
	ck_assert_uint_eq(page_count(pg), 1);
	kmem_cache_free(s, NULL);                       /* fine, silent */
	/* None of them is handed out by the cache. */
	void *p[200];
	for (int i = 0; i < 200; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_eq(virt_to_head_page(p[i])->slab_cache, s);
	}
	for (int i = 0; i < 200; i++)
		kmem_cache_free(s, p[i]);
	kmem_cache_free_bulk(s, ARRAY_SIZE(ptrs) - 1, ptrs);   /* the same, in bulk */
	vfree(ptrs[ARRAY_SIZE(ptrs) - 1]);
	__free_pages(pg, 0);
	free(glibc);
	ck_assert_kmm_clean();
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
}
END_TEST

/* kmem_cache_free(s, p) twice, on the magazine path: refused. */
START_TEST(test_cache_naive_double_free)
{
	kmm_test_boot(cache_misuse_conf[_i]);
	struct kmem_cache *s = kmem_cache_create("twice", 100, 0, 0, NULL);
	void *keep = kmem_cache_alloc(s, GFP_KERNEL);
	for (int round = 0; round < 50; round++) {      /* across magazine swaps */
		void *p = kmem_cache_alloc(s, GFP_KERNEL);
		kmem_cache_free(s, p);
		struct capture c;
		capture_begin(&c);
		kmem_cache_free(s, p);
		const char *out = capture_end(&c);
		ck_assert_msg(strstr(out, "double free or corruption") ||
			      strstr(out, "Object already free"), "%s", out);
		void *x = kmem_cache_alloc(s, GFP_KERNEL), *y = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_ne(x, y);
		kmem_cache_free(s, y);
		kmem_cache_free(s, x);
	}
	ck_assert_kmm_clean();
	kmem_cache_free(s, keep);
	kmem_cache_destroy(s);
	ck_assert_kmm_clean();
}
END_TEST

/* slabinfo shows every cache, however many; slab_shrink_all() shrinks
 * every one. */
START_TEST(test_many_caches)
{
	enum { N = 300 };
	static struct kmem_cache *caches[N];
	static char buf[131072];
	kmm_test_boot("mem=128M");
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "many-%03d", i);
		caches[i] = kmem_cache_create(name, 16 + (unsigned int)i, 0, 0, NULL);
		ck_assert_ptr_nonnull(caches[i]);
		kmem_cache_free(caches[i], kmem_cache_alloc(caches[i], GFP_KERNEL));
		ck_assert_uint_eq(caches[i]->node.nr_slabs, 1);
	}
	slabinfo_text(buf, sizeof(buf));
	for (int i = 0; i < N; i++) {
		char name[32];
		unsigned long active, slabs;
		snprintf(name, sizeof(name), "many-%03d", i);
		ck_assert_msg(slabinfo_row(buf, name, &active, &slabs), "%s missing", name);
		ck_assert_uint_eq(active, 0);
		ck_assert_uint_eq(slabs, 1);
	}
	ck_assert_ptr_nonnull(strstr(buf, "\nkmalloc-8 "));    /* and the others */
	ck_assert_ptr_nonnull(strstr(buf, "\nkmem_cache "));
	slab_shrink_all();
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(caches[i]->node.nr_slabs, 0);
	ck_assert_kmm_clean();
	for (int i = 0; i < N; i++)
		kmem_cache_destroy(caches[i]);
	slabinfo_text(buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "\nmany-"));
	ck_assert_kmm_clean();
}
END_TEST

/* kmem_cache_create() as 6.18 with CONFIG_DEBUG_VM: a duplicate name and a
 * space warn and make the cache; an odd alignment is rounded up. */
START_TEST(test_create_name_and_align)
{
	static char buf[65536];
	kmm_test_boot("mem=64M");
	struct capture c;
	struct kmem_cache *d1 = kmem_cache_create("dup", 64, 0, 0, NULL);
	capture_begin(&c);
	struct kmem_cache *d2 = kmem_cache_create("dup", 64, 0, 0, NULL);
	const char *out = capture_end(&c);
	ck_assert_ptr_nonnull(d1);
	ck_assert_ptr_nonnull(d2);
	ck_assert_ptr_ne(d1, d2);
	ck_assert_contains(out, "kmem_cache of name 'dup' already exists\n");
	ck_assert_contains(out, "WARNING: CPU: ");
	capture_begin(&c);
	struct kmem_cache *k = kmem_cache_create("kmalloc-64", 64, 0, 0, NULL);
	out = capture_end(&c);
	ck_assert_contains(out, "kmem_cache of name 'kmalloc-64' already exists");
	capture_begin(&c);
	struct kmem_cache *sp = kmem_cache_create("has space", 40, 0, 0, NULL);
	out = capture_end(&c);
	ck_assert_ptr_nonnull(sp);
	ck_assert_contains(out, "kmem_cache_create(has space): a space in the name");
	ck_assert_contains(out, "WARNING: CPU: ");
	/* Alignment: as calculate_alignment(), a power of two >= 8. */
	static const unsigned int aligns[][2] = { { 3, 8 }, { 1, 8 }, { 12, 16 }, { 24, 32 },
						  { 100, 128 }, { 8, 8 }, { 64, 64 } };
	for (size_t i = 0; i < ARRAY_SIZE(aligns); i++) {
		capture_begin(&c);
		struct kmem_cache *s = kmem_cache_create("odd-align", 20, aligns[i][0], 0, NULL);
		out = capture_end(&c);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(out, "");
		ck_assert_uint_eq(s->align, aligns[i][1]);
		void *p[50];
		for (int j = 0; j < 50; j++) {
			p[j] = kmem_cache_alloc(s, GFP_KERNEL);
			ck_assert_uint_eq((uintptr_t)p[j] % aligns[i][1], 0);
			memset(p[j], 0x33, 20);
		}
		for (int j = 0; j < 50; j++)
			kmem_cache_free(s, p[j]);
		kmem_cache_destroy(s);
	}
	/* What fails, fails as __kmem_cache_create_args() says. */
	capture_begin(&c);
	ck_assert_ptr_null(kmem_cache_create(NULL, 64, 0, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create("too-big", KMALLOC_MAX_SIZE + 1, 0, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create("empty", 0, 0, 0, NULL));
	out = capture_end(&c);
	ck_assert_contains(out, "kmem_cache_create((null)) integrity check failed");
	ck_assert_contains(out, "kmem_cache_create(too-big) integrity check failed");
	ck_assert_contains(out, "__kmem_cache_create_args(empty) failed with error -22");
	slabinfo_text(buf, sizeof(buf));
	const char *first = strstr(buf, "\ndup ");
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_nonnull(strstr(first + 1, "\ndup "));     /* both shown */
	void *x = kmem_cache_alloc(d2, GFP_KERNEL), *y = kmem_cache_alloc(d1, GFP_KERNEL);
	kmem_cache_free(d2, x);
	kmem_cache_free(d1, y);
	kmem_cache_destroy(d1);
	kmem_cache_destroy(d2);
	kmem_cache_destroy(k);
	kmem_cache_destroy(sp);
	ck_assert_kmm_clean();
}
END_TEST

static Suite *slab_suite(void)
{
	Suite *s = suite_create("slab");
	TCase *tc = tcase_create("caches");
	tcase_add_test(tc, test_objects_aligned_nonoverlapping);
	tcase_add_test(tc, test_hwcache_align);
	tcase_add_test(tc, test_ctor_once_per_object);
	tcase_add_test(tc, test_zalloc_zeroes);
	tcase_add_test(tc, test_alloc_node_and_lru);
	tcase_add_test(tc, test_bulk);
	tcase_add_test(tc, test_shrink_destroy_return_every_page);
	tcase_add_test(tc, test_destroy_with_live_objects);
	tcase_add_test(tc, test_slabinfo_format);
	tcase_add_test(tc, test_dma_and_reclaim_account);
	suite_add_tcase(s, tc);
	tc = tcase_create("misuse");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_free_into_wrong_cache, 0, ARRAY_SIZE(cache_misuse_conf));
	tcase_add_loop_test(tc, test_cache_free_of_foreign_pointers, 0,
			    ARRAY_SIZE(cache_misuse_conf));
	tcase_add_loop_test(tc, test_cache_naive_double_free, 0, ARRAY_SIZE(cache_misuse_conf));
	tcase_add_test(tc, test_many_caches);
	tcase_add_test(tc, test_create_name_and_align);
	suite_add_tcase(s, tc);
	tc = tcase_create("magazines");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_threads_2);
	tcase_add_test(tc, test_threads_8);
	tcase_add_test(tc, test_threads_8_migrating);
	tcase_add_test(tc, test_threads_lock_fallback);
	tcase_add_test(tc, test_glibc_rseq_disabled);
	tcase_add_test(tc, test_fork_child_allocates);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n > 0)
		self_path[n] = '\0';
	if (argc > 1 && strcmp(argv[1], "--rseq-off-child") == 0)
		return rseq_off_child();
	return run_suite(slab_suite());
}
