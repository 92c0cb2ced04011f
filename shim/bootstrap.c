/*
 * bootstrap.c - boot of libkmm-malloc.so: the first allocation, recursion
 * from the booting thread, the shim's KMM_CONF settings, the size classes
 * and fatal reports.  Theory in shim.h, sections 3 and 5.
 *
 * Nothing here may call malloc before boot has finished, except through
 * paths that re-enter the shim from the booting thread, which glibc serves:
 * settings are read with secure_getenv() (none in a setuid program) and
 * parsed in place, messages are formatted on the stack and written with
 * write(2).
 */
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include "shim.h"

struct shim_state shim;

enum { BOOT_COLD, BOOT_RUNNING, BOOT_DONE };

static pthread_mutex_t boot_lock = PTHREAD_MUTEX_INITIALIZER;
static int boot_state;                 /* BOOT_*, atomic */
static pthread_t boot_thread;          /* valid while BOOT_RUNNING */

/* ------------------------------------------------------------------ */
/* Messages                                                            */

static void write_all(const char *buf, size_t len)
{
	int saved = errno;
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		buf += w;
		len -= (size_t)w;
	}
	errno = saved;
}

static void vmessage(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	write_all(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void shim_message(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void shim_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	abort();
}

/* ------------------------------------------------------------------ */
/* Settings: the "malloc." names of KMM_CONF                           */

static bool parse_size(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;
	size_t i = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (~0UL - 9) / 10)
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0)
		return false;
	if (i < len) {
		int shift;
		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return false;
		}
		if (++i < len && s[i] == 'i')
			i++;
		if (i < len && (s[i] == 'B' || s[i] == 'b'))
			i++;
		if (v > (~0UL >> shift))
			return false;
		v <<= shift;
	}
	if (i != len)
		return false;
	*out = v;
	return true;
}

static bool word_is(const char *s, size_t len, const char *w)
{
	return strlen(w) == len && memcmp(s, w, len) == 0;
}

static bool parse_flag_value(const char *v, size_t len, bool *out)
{
	if (word_is(v, len, "1") || word_is(v, len, "y") || word_is(v, len, "yes") ||
	    word_is(v, len, "on") || word_is(v, len, "true")) {
		*out = true;
		return true;
	}
	if (word_is(v, len, "0") || word_is(v, len, "n") || word_is(v, len, "no") ||
	    word_is(v, len, "off") || word_is(v, len, "false")) {
		*out = false;
		return true;
	}
	return false;
}

/* One "name[=value]" piece of KMM_CONF. */
static void apply_setting(const char *piece, size_t len)
{
	const char *eq = memchr(piece, '=', len);
	size_t name_len = eq ? (size_t)(eq - piece) : len;
	const char *val = eq ? eq + 1 : "";
	size_t val_len = eq ? len - name_len - 1 : 0;
	const char *expect;

	/* libkmm's own "verbose" also turns on the shim's banner line. */
	if (word_is(piece, name_len, "verbose")) {
		bool on = true;
		if (!eq || parse_flag_value(val, val_len, &on))
			shim.verbose = on;
		return;
	}
	if (word_is(piece, name_len, "slub_debug")) {
		shim.slab_debug = true;
		return;
	}
	if (name_len < 7 || memcmp(piece, "malloc.", 7) != 0)
		return;                 /* libkmm's setting: it checks them */

	if (word_is(piece, name_len, "malloc.slab_max")) {
		unsigned long v;
		if (eq && parse_size(val, val_len, &v) && v >= SHIM_ALIGN && v <= SHIM_SLAB_LIMIT) {
			shim.slab_max = v;
			return;
		}
		expect = "expected a size from 16 to 128k, such as 16k";
	} else if (word_is(piece, name_len, "malloc.glibc_above")) {
		unsigned long v;
		if (eq && parse_size(val, val_len, &v) && (v == 0 || v >= (1UL << 20))) {
			shim.glibc_above = v;
			return;
		}
		expect = "expected 0 (never) or a size from 1M up, such as 1G";
	} else if (word_is(piece, name_len, "malloc.reporting")) {
		if (eq && val_len == 1 && (val[0] == '0' || val[0] == '1')) {
			shim.reporting = val[0] == '1';
			return;
		}
		expect = "expected 0 or 1";
	} else if (word_is(piece, name_len, "malloc.guard")) {
		if (eq && val_len == 1 && (val[0] == '0' || val[0] == '1')) {
			shim.large_guard = val[0] == '1';
			return;
		}
		expect = "expected 0 or 1";
	} else if (word_is(piece, name_len, "malloc.large_cache")) {
		expect = "no longer a setting (freed large blocks stay warm in "
			 "vmalloc's lazy ranges)";
	} else if (word_is(piece, name_len, "malloc.classes")) {
		if (eq && word_is(val, val_len, "fine")) {
			shim.fine_classes = true;
			return;
		}
		if (eq && word_is(val, val_len, "kmalloc")) {
			shim.fine_classes = false;
			return;
		}
		expect = "expected 'fine' or 'kmalloc'";
	} else {
		expect = "unknown setting";
	}
	shim_message("libkmm-malloc: KMM_CONF: '%.*s': %s; ignored\n", (int)len, piece,
		     expect);
}

/* Split KMM_CONF as libkmm does: words separated by blanks or commas. */
static void parse_conf(const char *text)
{
	const char *p = text;
	if (!p)
		return;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ',')
			p++;
		const char *end = p;
		while (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != ',')
			end++;
		if (end > p)
			apply_setting(p, (size_t)(end - p));
		p = end;
	}
}

/* ------------------------------------------------------------------ */
/* Boot                                                                */

static uint64_t random_secret(void)
{
	uint64_t s = 0;
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
	if (r)
		memcpy(&s, r + 8, sizeof(s));   /* glibc uses bytes 0..7 (canary) */
	s ^= (uint64_t)(uintptr_t)&s * 0x9e3779b97f4a7c15ULL;
	return s | 1;                       /* never 0: TAG(p) != p */
}

static void boot_locked(void)
{
	size_t slab_max = SHIM_SLAB_DEFAULT;

	shim.fine_classes = true;
	shim.reporting = true;
	shim.slab_max = slab_max;
	shim.glibc_above = SHIM_GLIBC_ABOVE_DEFAULT;
	parse_conf(secure_getenv("KMM_CONF"));  /* none in setuid programs */
	slab_max = (shim.slab_max + SHIM_ALIGN - 1) & ~(size_t)(SHIM_ALIGN - 1);
	shim.slab_max = 0;              /* stays 0 until the classes exist */
	shim.secret = random_secret();

	kmm_init(NULL);                 /* -EBUSY or -EINVAL: it still booted */
	if (shim_classes_init(&slab_max) < 0) {
		shim_message("libkmm-malloc: libkmm did not boot; using glibc malloc\n");
		shim.disabled = true;
		return;
	}
	/* May allocate: served by glibc, we are still booting. */
	shim.libc_usable_size = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
	if (shim.verbose)
		shim_message("libkmm-malloc: active (pid %d), slab classes up to %zu "
			     "bytes (%u classes), vmalloc above, glibc above %zuM\n",
			     (int)getpid(), slab_max, shim.nr_classes,
			     shim.glibc_above >> 20);
	/* Publish: the fast path starts here. */
	__atomic_store_n(&shim.slab_max, slab_max, __ATOMIC_RELEASE);
}

bool shim_boot_slow(void)
{
	int st = __atomic_load_n(&boot_state, __ATOMIC_ACQUIRE);
	if (st == BOOT_DONE)
		return !shim.disabled;
	if (st == BOOT_RUNNING && pthread_equal(boot_thread, pthread_self()))
		return false;           /* recursion from the booting thread */
	pthread_mutex_lock(&boot_lock);
	if (__atomic_load_n(&boot_state, __ATOMIC_RELAXED) == BOOT_COLD) {
		boot_thread = pthread_self();
		__atomic_store_n(&boot_state, BOOT_RUNNING, __ATOMIC_RELEASE);
		boot_locked();
		__atomic_store_n(&boot_state, BOOT_DONE, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&boot_lock);
	return !shim.disabled;
}

/* Boot before main, so libkmm's fork handlers exist before any fork(). */
/*
 * libkmm's page-reporting worker (malloc.reporting=0: never) starts once
 * the program has threads of its own: here, or from a large allocation or
 * free later (shim_reporting_check).  A thread of ours in a single-threaded
 * program would cost it glibc's single-threaded fork(), which a signal
 * handler that interrupted malloc or stdio relies on (tst-mallocfork2):
 * glibc then takes its own locks at fork.
 */
void shim_reporting_start(void)
{
	shim.reporting_pending = false;
	kmm_start_page_reporting();
}

__attribute__((constructor)) static void shim_constructor(void)
{
	if (shim_boot_slow() && !shim.disabled && shim.reporting) {
		shim.reporting_pending = true;
		shim_reporting_check();
	}
}
