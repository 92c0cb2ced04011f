/*
 * faults.c - run under kmm-run with fail_page_alloc= / failslab= set:
 * malloc, calloc, realloc and posix_memalign of every size class and of
 * vmalloc sizes either succeed with usable memory or fail with NULL and
 * errno ENOMEM; the contents of every block survive, and the program goes
 * on and frees everything (the caller checks that nothing was reported).
 * Prints "faults: N calls, F failed".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	enum { SLOTS = 512, STEPS = 40000 };
	static void *slot[SLOTS];
	static size_t len[SLOTS];
	uint64_t x = 88172645463325252ULL;
	long calls = 0, failed = 0;
	for (int step = 0; step < STEPS; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int i = (int)(x % SLOTS);
		if (slot[i]) {
			unsigned char *p = slot[i];
			if (p[0] != (unsigned char)i || p[len[i] - 1] != (unsigned char)i) {
				fprintf(stderr, "faults: block %d corrupted\n", i);
				return 1;
			}
			free(slot[i]);
			slot[i] = NULL;
			continue;
		}
		size_t n = (x >> 8) % 8 == 0 ? 1 + (x >> 20) % (1 << 20) : 1 + (x >> 20) % 3000;
		void *p = NULL;
		errno = 0;
		switch ((x >> 40) % 4) {
		case 0: p = malloc(n); break;
		case 1: p = calloc(1, n); break;
		case 2: p = realloc(NULL, n); break;
		case 3:
			if (posix_memalign(&p, 64, n) != 0) {
				p = NULL;
				errno = ENOMEM;
			}
			break;
		}
		calls++;
		if (!p) {
			if (errno != ENOMEM) {
				fprintf(stderr, "faults: NULL with errno %d, not ENOMEM\n", errno);
				return 1;
			}
			failed++;
			continue;
		}
		memset(p, i, n);
		slot[i] = p;
		len[i] = n;
	}
	for (int i = 0; i < SLOTS; i++)
		free(slot[i]);
	printf("faults: %ld calls, %ld failed\n", calls, failed);
	return 0;
}
