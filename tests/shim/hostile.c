/*
 * hostile - probes for tests/shim/hostile.sh: a process in a hostile
 * environment (limits, setuid, dlclose, two copies of libkmm) must keep
 * working.  Linked with libkmm; each mode prints one line and exits 0 when
 * the behaviour holds, 1 when it does not.
 *
 *   instance      run under kmm-run: the program's kmalloc() and the
 *                 preloaded malloc() are one allocator (malloc's pointer is
 *                 in the direct map the program's libkmm calls know)
 *   aslimit       set RLIMIT_AS to VmSize + 256 MiB, then malloc 1 MiB
 *                 blocks: NULL with ENOMEM before 16 GiB
 *   conf          print MemTotal as libkmm sees it (the setuid test runs
 *                 it with KMM_CONF=mem=64M), and AT_SECURE
 *   freesleep N   start a thread (the program is multi-threaded), malloc
 *                 256 MiB in blocks of N bytes, free them all, sleep 4 s:
 *                 the resident set must be under 48 MiB by then (the
 *                 page-reporting worker), without a call to malloc_trim
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <unistd.h>
#include <kmm/kmm.h>

static int instance(void)
{
	void *m = malloc(64), *k = kmalloc(64, GFP_KERNEL);
	int ok = m && k && virt_addr_valid(m) && virt_addr_valid(k);
	printf("instance: malloc %p kmalloc %p: %s\n", m, k,
	       ok ? "one allocator" : "two allocators");
	kfree(k);
	free(m);
	return ok ? 0 : 1;
}

static unsigned long vm_size(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return pages * 4096;
}

static int aslimit(void)
{
	unsigned long vm = vm_size();
	struct rlimit rl = { vm + (256UL << 20), vm + (256UL << 20) };
	if (setrlimit(RLIMIT_AS, &rl) != 0) {
		perror("setrlimit");
		return 1;
	}
	unsigned long n = 0;
	void *p;
	errno = 0;
	while (n < 16384 && (p = malloc(1 << 20)) != NULL) {
		memset(p, 1, 4096);
		n++;
	}
	int ok = n < 16384 && errno == ENOMEM;
	printf("aslimit: NULL after %lu MiB (errno %s)\n", n, strerror(errno));
	return ok ? 0 : 1;
}

static long rss_mib(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * 4 / 1024;
}

static void *sleeper(void *arg)
{
	(void)arg;
	sleep(30);
	return NULL;
}

static int freesleep(size_t size)
{
	size_t n = (256UL << 20) / size;
	pthread_t t;
	if (pthread_create(&t, NULL, sleeper, NULL) != 0)
		return 1;
	pthread_detach(t);
	char **v = malloc(n * sizeof(*v));
	if (!v)
		return 1;
	for (size_t i = 0; i < n; i++) {
		v[i] = malloc(size);
		if (!v[i])
			return 1;
		memset(v[i], 1, size);
	}
	long peak = rss_mib();
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	long freed = rss_mib();
	sleep(4);
	long later = rss_mib();
	printf("freesleep: %zu-byte blocks: %ld MiB at the peak, %ld MiB after free, "
	       "%ld MiB 4 s later\n", size, peak, freed, later);
	return later < 48 ? 0 : 1;
}

static int conf(void)
{
	char buf[8192];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	kmm_show_meminfo(f);
	fclose(f);
	unsigned long total = 0;
	const char *t = strstr(buf, "MemTotal:");
	if (t)
		total = strtoul(t + 9, NULL, 10);
	printf("conf: MemTotal %lu kB, AT_SECURE %lu\n", total, getauxval(AT_SECURE));
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "instance"))
		return instance();
	if (!strcmp(mode, "aslimit"))
		return aslimit();
	if (!strcmp(mode, "conf"))
		return conf();
	if (!strcmp(mode, "freesleep") && argc > 2)
		return freesleep(strtoul(argv[2], NULL, 10));
	fprintf(stderr, "usage: hostile instance|aslimit|conf|freesleep SIZE\n");
	return 2;
}
