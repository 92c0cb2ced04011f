/*
 * bench_boot - the cost of booting libkmm: a program that allocates once.
 * Usage: bench_boot [kmm|none]
 * With "kmm" it boots the library (default KMM_CONF) and allocates one
 * page; with "none" it does nothing, for the baseline.  Prints its peak RSS.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <kmm/kmm.h>

int main(int argc, char **argv)
{
	double us = 0;
	if (argc < 2 || strcmp(argv[1], "none") != 0) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		struct page *p = alloc_page(GFP_KERNEL);   /* boots the library */
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (!p)
			return 1;
		__free_page(p);
		us = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("maxrss_kb=%ld boot_us=%.1f\n", ru.ru_maxrss, us);
	return 0;
}
