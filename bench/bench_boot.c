/*
 * bench_boot - the cost of booting libkmm: a program that allocates once.
 * Usage: bench_boot [kmm|none]
 * With "kmm" it boots the library (default KMM_CONF) and allocates one
 * page; with "none" it does nothing, for the baseline.  Prints its peak RSS.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <kmm/kmm.h>

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "none") != 0) {
		struct page *p = alloc_page(GFP_KERNEL);
		if (!p)
			return 1;
		__free_page(p);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("maxrss_kb=%ld\n", ru.ru_maxrss);
	return 0;
}
