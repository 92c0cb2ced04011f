/*
 * kmmstat - print the allocator's dumps (buddyinfo, slabinfo, vmallocinfo,
 * meminfo, vmstat) of a running program that libkmm publishes them for
 * (KMM_CONF=stats.publish=1, e.g. `kmm-run --conf stats.publish PROGRAM`).
 *
 * Usage: kmmstat [-i SECONDS] [-n COUNT] [-f FILE] PID
 *   -i  repeat every SECONDS (like watch), -n  stop after COUNT reports,
 *   -f  print only the dump named FILE (buddyinfo, slabinfo, meminfo, ...).
 *
 * It maps /dev/shm/kmm-stats.PID, bumps the request counter, wakes the
 * program's reporter thread through the futex in that page, and waits (at
 * most 5 s) for the answer.  Exit status: 0, 1 when the program does not
 * publish or does not answer, 2 for bad usage.
 *
 * The page is another process's memory and is not trusted: it must belong
 * to the user who runs PID and be writable by nobody else; lengths are
 * bounded by the file's size; the text is copied out and every byte that
 * is not printable (a terminal escape sequence, say) is shown as '?'; and
 * a page truncated under us is reported, not a SIGBUS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define KMM_STATS_MAGIC 0x6b6d6d73u

struct kmm_stats_page {
	unsigned int magic, version;
	int pid;
	unsigned int request, done, to_stderr;
	unsigned long len;
	char text[];
};

static void usage(void)
{
	fprintf(stderr, "usage: kmmstat [-i SECONDS] [-n COUNT] [-f FILE] PID\n");
	exit(2);
}

static sigjmp_buf truncated;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(truncated, 1);
}

/* Printable ASCII, newlines and tabs pass; anything else becomes '?'. */
static void sanitize(char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c != '\n' && c != '\t' && (c < 0x20 || c > 0x7e))
			text[i] = '?';
	}
}

static void print_selected(const char *text, size_t len, const char *only)
{
	if (!only) {
		fwrite(text, 1, len, stdout);
		return;
	}
	char header[64];
	snprintf(header, sizeof(header), "--- /proc/%s\n", only);
	const char *start = memmem(text, len, header, strlen(header));
	if (!start) {
		fprintf(stderr, "kmmstat: no dump named %s\n", only);
		return;
	}
	start += strlen(header);
	const char *end = memmem(start, len - (size_t)(start - text), "\n--- /proc/", 11);
	fwrite(start, 1, end ? (size_t)(end - start) + 1 : len - (size_t)(start - text), stdout);
}

/* count reports, interval seconds apart; 1 when the page goes away. */
static int report(struct kmm_stats_page *page, size_t size, char *copy, int pid,
		  long count, double interval, const char *only)
{
	if (sigsetjmp(truncated, 1)) {
		fprintf(stderr, "kmmstat: the statistics page of process %d was truncated\n", pid);
		return 1;
	}
	if (page->magic != KMM_STATS_MAGIC || page->pid != pid) {
		fprintf(stderr, "kmmstat: /dev/shm/kmm-stats.%d is not a statistics page of %d\n",
			pid, pid);
		return 1;
	}
	for (long n = 0; n < count; n++) {
		unsigned int seq = __atomic_add_fetch(&page->request, 1, __ATOMIC_ACQ_REL);
		syscall(SYS_futex, &page->request, FUTEX_WAKE, 1, NULL, NULL, 0);
		struct timespec deadline, now;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += 5;
		for (;;) {
			unsigned int done = __atomic_load_n(&page->done, __ATOMIC_ACQUIRE);
			if ((int)(done - seq) >= 0)
				break;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
				fprintf(stderr, "kmmstat: process %d did not answer\n", pid);
				return 1;
			}
			struct timespec wait = { 0, 50 * 1000 * 1000 };
			syscall(SYS_futex, &page->done, FUTEX_WAIT, done, &wait, NULL, 0);
		}
		size_t len = __atomic_load_n(&page->len, __ATOMIC_ACQUIRE);
		if (len > size - sizeof(*page))
			len = size - sizeof(*page);
		memcpy(copy, page->text, len);
		sanitize(copy, len);
		print_selected(copy, len, only);
		fflush(stdout);
		if (n + 1 < count && interval > 0)
			usleep((useconds_t)(interval * 1e6));
	}
	return 0;
}

int main(int argc, char **argv)
{
	double interval = 0;
	long count = 0;
	const char *only = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "i:n:f:h")) != -1) {
		switch (opt) {
		case 'i': interval = atof(optarg); break;
		case 'n': count = atol(optarg); break;
		case 'f': only = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || count < 0 || interval < 0)
		usage();
	if (count == 0)
		count = interval > 0 ? LONG_MAX : 1;   /* -i alone: until killed */
	int pid = atoi(argv[optind]);
	char path[64];
	snprintf(path, sizeof(path), "/kmm-stats.%d", pid);
	int fd = shm_open(path, O_RDWR, 0);
	if (fd < 0) {
		fprintf(stderr, "kmmstat: process %d does not publish its statistics "
			"(start it with KMM_CONF=stats.publish): %s\n", pid, strerror(errno));
		return 1;
	}
	struct stat st, proc;
	char proc_path[32];
	snprintf(proc_path, sizeof(proc_path), "/proc/%d", pid);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size < sizeof(struct kmm_stats_page) ||
	    (size_t)st.st_size > (64UL << 20)) {
		fprintf(stderr, "kmmstat: /dev/shm%s is not a statistics page\n", path);
		return 1;
	}
	if (stat(proc_path, &proc) < 0 || st.st_uid != proc.st_uid || (st.st_mode & 022)) {
		fprintf(stderr, "kmmstat: /dev/shm%s does not belong to the owner of process "
			"%d (or others may write it): not trusted\n", path, pid);
		return 1;
	}
	char *copy = malloc((size_t)st.st_size);
	if (!copy) {
		fprintf(stderr, "kmmstat: out of memory\n");
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);

	struct kmm_stats_page *page = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
					   MAP_SHARED, fd, 0);
	close(fd);
	if (page == MAP_FAILED) {
		fprintf(stderr, "kmmstat: cannot map /dev/shm%s: %s\n", path, strerror(errno));
		return 1;
	}
	int rc = report(page, (size_t)st.st_size, copy, pid, count, interval, only);
	munmap(page, (size_t)st.st_size);
	free(copy);
	return rc;
}
