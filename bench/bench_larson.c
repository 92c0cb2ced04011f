/*
 * bench_larson - a server simulation in the style of Larson and Krishnan's
 * benchmark ("Memory allocation for long-running server applications",
 * ISMM 1998): threads replace random slots of one shared array with
 * objects of random sizes for a fixed time.  An object is often freed by
 * another thread than the one that allocated it, as when a server's worker
 * frees what another worker built.
 *
 * Usage: bench_larson [-t THREADS] [-d SECONDS] [-n SLOTS] [-a MIN] [-b MAX]
 *   defaults: 2 threads, 2 s, 20000 slots, sizes 8..1000 bytes
 *
 * Prints ops_per_s (replacements per second, all threads) and the resident
 * set at the end, before the array is freed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "workload.h"

struct obj {
	uint32_t size;
	uint32_t magic;
};

#define MAGIC 0x4c415253u

static struct obj *_Atomic *slots;
static long nslots = 20000;
static size_t min_size = 8, max_size = 1000;
static atomic_int stop;
static atomic_long total_ops;

static struct obj *make(uint64_t *rng)
{
	size_t size = min_size + wl_rand(rng) % (max_size - min_size + 1);
	if (size < sizeof(struct obj))
		size = sizeof(struct obj);
	struct obj *o = wl_alloc(size);
	o->size = (uint32_t)size;
	o->magic = MAGIC ^ (uint32_t)size;
	if (size > sizeof(*o))
		((unsigned char *)o)[size - 1] = (unsigned char)size;
	return o;
}

static void check(const struct obj *o)
{
	if (o->magic != (MAGIC ^ o->size) ||
	    (o->size > sizeof(*o) &&
	     ((const unsigned char *)o)[o->size - 1] != (unsigned char)o->size))
		wl_fail("object overwritten", o);
}

static void *worker(void *arg)
{
	uint64_t rng = 0x853c49e6748fea9bULL ^ ((uintptr_t)arg * 0x9e3779b97f4a7c15ULL);
	long n = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int k = 0; k < 256; k++) {
			long i = (long)(wl_rand(&rng) % (uint64_t)nslots);
			struct obj *o = make(&rng);
			struct obj *old = atomic_exchange(&slots[i], o);
			check(old);
			wl_free(old);
		}
		n += 256;
	}
	atomic_fetch_add(&total_ops, n);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = 2, opt;
	double seconds = 2;
	pthread_t tid[64];

	while ((opt = getopt(argc, argv, "t:d:n:a:b:")) != -1) {
		switch (opt) {
		case 't': threads = (int)wl_arg(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'n': nslots = wl_arg(optarg); break;
		case 'a': min_size = (size_t)wl_arg(optarg); break;
		case 'b': max_size = (size_t)wl_arg(optarg); break;
		default:
			fprintf(stderr, "usage: bench_larson [-t THREADS] [-d SECONDS] [-n SLOTS] [-a MIN] [-b MAX]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > 64 || nslots < 1 || min_size > max_size || max_size < 1) {
		fprintf(stderr, "bench_larson: bad arguments\n");
		return 2;
	}

	uint64_t rng = 42;
	slots = wl_alloc(sizeof(*slots) * (size_t)nslots);
	for (long i = 0; i < nslots; i++)
		atomic_init(&slots[i], make(&rng));

	uint64_t t0 = wl_now_ns();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)i);
	struct timespec d = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
	nanosleep(&d, NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	uint64_t t1 = wl_now_ns();

	printf("ops_per_s=%.0f\n", (double)atomic_load(&total_ops) / ((double)(t1 - t0) / 1e9));
	printf("rss_end_kb=%ld\n", wl_rss_kb());
	for (long i = 0; i < nslots; i++) {
		check(slots[i]);
		wl_free(slots[i]);
	}
	wl_free(slots);
	return 0;
}
