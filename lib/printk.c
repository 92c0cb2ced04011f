/*
 * printk.c - messages on stderr, rate limiting, GFP flag names.
 *
 * The allocator may be asked to report from inside malloc(), before stdio
 * is usable or while a FILE lock is held by the caller: every message is
 * formatted into a stack buffer with vsnprintf() (which does not allocate
 * for the formats used here) and written with one write(2).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

void kmm_vprintk(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	const char *p = buf;
	int saved_errno = errno;
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		len -= (size_t)w;
	}
	errno = saved_errno;
}

void kmm_printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kmm_vprintk(fmt, ap);
	va_end(ap);
}

long kmm_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/*
 * As the kernel's __ratelimit(): at most `burst` messages per `interval`;
 * the number suppressed is reported when the next interval opens.
 */
bool kmm_ratelimit(struct ratelimit_state *rs)
{
	bool ok;
	if (AO_test_and_set_acquire((AO_TS_t *)&rs->lock) == AO_TS_SET)
		return false;   /* someone else is deciding: stay quiet */
	long now = kmm_now_ns();
	if (rs->begin_ns == 0 || now - rs->begin_ns >= rs->interval_ns) {
		if (rs->missed)
			kmm_printk("libkmm: %ld callbacks suppressed\n", rs->missed);
		rs->begin_ns = now;
		rs->printed = 0;
		rs->missed = 0;
	}
	ok = rs->printed < rs->burst;
	if (ok)
		rs->printed++;
	else
		rs->missed++;
	AO_CLEAR((AO_TS_t *)&rs->lock);
	return ok;
}

ssize_t kmm_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

void kmm_spin_lock_slow(kmm_spinlock_t *lock)
{
	unsigned int spins = 0;
	long since = 0;
	while (AO_test_and_set_acquire(&lock->locked) == AO_TS_SET) {
		if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
			__asm__ __volatile__("pause");
#endif
			continue;
		}
		/* The holder may be preempted: let it run. */
		sched_yield();
		if (spins % 1024)
			continue;
		kmm_spin_wait_check(&since, "a spinlock");
	}
}

/*
 * A spinlock or a CPU's magazine pair is held for a few microseconds; one
 * still held after KMM_SPIN_LIMIT_NS is held by the waiting thread itself,
 * in a frame that a signal handler interrupted (malloc is not
 * async-signal-safe): it will never be released.  Report it and abort,
 * rather than spin at 100 % CPU forever.  Called every ~1000 yields; *since
 * is 0 at the first call.
 */
#define KMM_SPIN_LIMIT_NS (10L * 1000000000L)
void kmm_spin_wait_check(long *since, const char *what)
{
	long now = kmm_now_ns();
	if (!*since) {
		*since = now;
		return;
	}
	if (now - *since < KMM_SPIN_LIMIT_NS)
		return;
	kmm_printk("libkmm: %s has been held for %ld s while this thread waits: the "
		   "allocator was re-entered (from a signal handler?) while this thread "
		   "held it; aborting\n", what, (now - *since) / 1000000000L);
	abort();
}

/* As Linux 6.18's __def_gfpflag_names (include/trace/events/mmflags.h):
 * the combinations, most bits first, then each flag in bit order. */
static const struct { gfp_t mask; const char *name; } gfp_names[] = {
	{ GFP_TRANSHUGE, "GFP_TRANSHUGE" },
	{ GFP_TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT" },
	{ GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE" },
	{ GFP_HIGHUSER, "GFP_HIGHUSER" },
	{ GFP_USER, "GFP_USER" },
	{ GFP_KERNEL_ACCOUNT, "GFP_KERNEL_ACCOUNT" },
	{ GFP_KERNEL, "GFP_KERNEL" },
	{ GFP_NOFS, "GFP_NOFS" },
	{ GFP_ATOMIC, "GFP_ATOMIC" },
	{ GFP_NOIO, "GFP_NOIO" },
	{ GFP_NOWAIT, "GFP_NOWAIT" },
	{ GFP_DMA, "GFP_DMA" },
	{ GFP_DMA32, "GFP_DMA32" },
	{ __GFP_RECLAIM, "__GFP_RECLAIM" },
	{ __GFP_HIGHMEM, "__GFP_HIGHMEM" },
	{ __GFP_MOVABLE, "__GFP_MOVABLE" },
	{ __GFP_RECLAIMABLE, "__GFP_RECLAIMABLE" },
	{ __GFP_HIGH, "__GFP_HIGH" },
	{ __GFP_IO, "__GFP_IO" },
	{ __GFP_FS, "__GFP_FS" },
	{ __GFP_ZERO, "__GFP_ZERO" },
	{ __GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM" },
	{ __GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM" },
	{ __GFP_WRITE, "__GFP_WRITE" },
	{ __GFP_NOWARN, "__GFP_NOWARN" },
	{ __GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL" },
	{ __GFP_NOFAIL, "__GFP_NOFAIL" },
	{ __GFP_NORETRY, "__GFP_NORETRY" },
	{ __GFP_MEMALLOC, "__GFP_MEMALLOC" },
	{ __GFP_COMP, "__GFP_COMP" },
	{ __GFP_NOMEMALLOC, "__GFP_NOMEMALLOC" },
	{ __GFP_HARDWALL, "__GFP_HARDWALL" },
	{ __GFP_THISNODE, "__GFP_THISNODE" },
	{ __GFP_ACCOUNT, "__GFP_ACCOUNT" },
};

void kmm_format_gfp(char *buf, size_t size, gfp_t gfp)
{
	size_t used = 0;
	gfp_t left = gfp;
	buf[0] = '\0';
	if (gfp == 0) {
		snprintf(buf, size, "none");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(gfp_names) && left; i++) {
		if ((left & gfp_names[i].mask) != gfp_names[i].mask)
			continue;
		int n = snprintf(buf + used, size - used, "%s%s",
				 used ? "|" : "", gfp_names[i].name);
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
		left &= ~gfp_names[i].mask;
	}
	if (left)
		snprintf(buf + used, size - used, "%s0x%x", used ? "|" : "", left);
}
