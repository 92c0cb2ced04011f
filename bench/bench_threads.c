/*
 * bench_threads - threads allocating and freeing privately, and a
 * producer/consumer pair where every object is freed by the other thread.
 *
 * Usage: bench_threads [-t THREADS] [-n OPS] [-p]
 *   -t THREADS  private mode: threads, each replacing random slots of its
 *               own array of 256 with objects of 16..1024 bytes (default 1)
 *   -n OPS      operations (malloc+free) per thread (default 2000000)
 *   -p          producer/consumer: one thread mallocs and writes a
 *               sequence number, the other checks it and frees; OPS objects
 *               pass through a ring of 1024
 *
 * Prints ops_per_s (malloc+free pairs per second, all threads together).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include "workload.h"

#define SLOTS 256
#define RING 1024

static long ops = 2000000;

struct obj {
	uint64_t seq;
	uint64_t check;
};

static size_t pick_size(uint64_t *rng)
{
	/* Mostly small, as in real programs: 16..128 three times in four. */
	uint64_t r = wl_rand(rng);
	if (r & 3)
		return 16 + (r >> 8) % 113;
	return 16 + (r >> 8) % 1009;
}

static void *private_thread(void *arg)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
	struct obj *slot[SLOTS];

	for (int i = 0; i < SLOTS; i++) {
		slot[i] = wl_alloc(pick_size(&rng));
		slot[i]->seq = (uint64_t)i;
		slot[i]->check = ~(uint64_t)i;
	}
	for (long k = 0; k < ops; k++) {
		unsigned i = (unsigned)(wl_rand(&rng) % SLOTS);
		struct obj *o = slot[i];
		if (o->check != ~o->seq)
			wl_fail("object overwritten", o);
		wl_free(o);
		o = wl_alloc(pick_size(&rng));
		o->seq = (uint64_t)k;
		o->check = ~(uint64_t)k;
		slot[i] = o;
	}
	for (int i = 0; i < SLOTS; i++)
		wl_free(slot[i]);
	return NULL;
}

static struct obj *_Atomic ring[RING];
static atomic_long head, tail;   /* head: next to fill, tail: next to take */

static void *producer(void *arg)
{
	uint64_t rng = 12345;
	(void)arg;
	for (long k = 0; k < ops; k++) {
		struct obj *o = wl_alloc(pick_size(&rng));
		o->seq = (uint64_t)k;
		o->check = ~(uint64_t)k;
		long h = atomic_load_explicit(&head, memory_order_relaxed);
		while (h - atomic_load_explicit(&tail, memory_order_acquire) >= RING)
			sched_yield();
		atomic_store_explicit(&ring[h % RING], o, memory_order_relaxed);
		atomic_store_explicit(&head, h + 1, memory_order_release);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (long k = 0; k < ops; k++) {
		long t = atomic_load_explicit(&tail, memory_order_relaxed);
		while (atomic_load_explicit(&head, memory_order_acquire) <= t)
			sched_yield();
		struct obj *o = atomic_load_explicit(&ring[t % RING], memory_order_relaxed);
		atomic_store_explicit(&tail, t + 1, memory_order_release);
		if (o->seq != (uint64_t)k || o->check != ~(uint64_t)k)
			wl_fail("object passed between threads changed", o);
		wl_free(o);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = 1, prodcons = 0, opt;
	pthread_t tid[64];

	while ((opt = getopt(argc, argv, "t:n:p")) != -1) {
		switch (opt) {
		case 't': threads = (int)wl_arg(optarg); break;
		case 'n': ops = wl_arg(optarg); break;
		case 'p': prodcons = 1; break;
		default:
			fprintf(stderr, "usage: bench_threads [-t THREADS] [-n OPS] [-p]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > 64 || ops < 1) {
		fprintf(stderr, "bench_threads: 1..64 threads, OPS > 0\n");
		return 2;
	}

	uint64_t t0 = wl_now_ns();
	if (prodcons) {
		threads = 1;   /* one pair: OPS objects in all */
		pthread_create(&tid[0], NULL, producer, NULL);
		pthread_create(&tid[1], NULL, consumer, NULL);
		pthread_join(tid[0], NULL);
		pthread_join(tid[1], NULL);
	} else {
		for (int i = 0; i < threads; i++)
			if (pthread_create(&tid[i], NULL, private_thread, (void *)(uintptr_t)i) != 0) {
				fprintf(stderr, "bench_threads: pthread_create failed\n");
				return 1;
			}
		for (int i = 0; i < threads; i++)
			pthread_join(tid[i], NULL);
	}
	uint64_t t1 = wl_now_ns();
	printf("ops_per_s=%.0f\n", (double)ops * threads / ((double)(t1 - t0) / 1e9));
	return 0;
}
