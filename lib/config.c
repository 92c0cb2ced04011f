/*
 * config.c - KMM_CONF, the boot parameters.
 *
 * Settings are written as on the kernel's command line, separated by spaces
 * or commas: "mem=2G lowmem=896M slub_debug=FZP,kmalloc-64 verbose".
 * A comma-separated piece that does not start with a known setting's name
 * continues the previous setting's value when that setting takes a list
 * (slub_debug=FZP,kmalloc-64,kmalloc-128), so both separators work.
 *
 * The parser runs at boot, possibly inside the first malloc() of the
 * process: it never allocates, it copies values into fixed fields of
 * struct kmm_config, and it reports each bad setting once on stderr,
 * naming it and what was expected, then goes on without it.
 *
 * Every setting is one row of `settings[]`; the man page kmm.conf(5) and
 * README list the same table.  Names beginning with "malloc." belong to the
 * malloc shim (libkmm-malloc.so), which reads and checks them itself: the
 * library skips them.
 */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include "internal.h"

enum setting_kind { SET_SIZE, SET_BOOL, SET_FLAG, SET_UINT, SET_LONG, SET_STRING, SET_PHYS,
		    SET_SIGNAL };

struct setting {
	const char *name;
	enum setting_kind kind;
	size_t offset;                 /* into struct kmm_config */
	size_t size;                   /* SET_STRING: buffer size */
	unsigned long min, max;        /* SET_SIZE, SET_UINT bounds */
	bool list;                     /* value may continue after commas */
	const char *expect;            /* what a bad value is told */
};

#define FIELD(f) offsetof(struct kmm_config, f)

static const struct setting settings[] = {
	{ "mem", SET_SIZE, FIELD(mem), 0, KMM_MEM_MIN, KMM_MEM_MAX, false,
	  "a size from 16M to 1T such as 512M or 2G" },
	{ "lowmem", SET_SIZE, FIELD(lowmem), 0, KMM_MEM_MIN, KMM_MEM_MAX, false,
	  "a size from 16M up, below mem=, such as 896M" },
	{ "phys", SET_PHYS, FIELD(phys_memfd), 0, 0, 0, false,
	  "'anon' or 'memfd'" },
	{ "verbose", SET_FLAG, FIELD(verbose), 0, 0, 0, false, "0 or 1" },
	{ "stats", SET_FLAG, FIELD(stats), 0, 0, 0, false, "0 or 1" },
	{ "stats.publish", SET_FLAG, FIELD(stats_publish), 0, 0, 0, false, "0 or 1" },
	{ "stats.signal", SET_SIGNAL, FIELD(stats_signal), 0, 0, 0, false,
	  "USR1, USR2, URG, WINCH or a real-time signal's number (not one whose "
	  "default action the program relies on, such as TERM or INT)" },
	{ "thp", SET_BOOL, FIELD(thp), 0, 0, 0, false, "0 or 1" },
	{ "page_reporting.reserve", SET_SIZE, FIELD(release_reserve), 0, 0,
	  KMM_MEM_MAX, false, "a size such as 16M" },
	{ "page_reporting.worker", SET_BOOL, FIELD(reporting_worker), 0, 0, 0, false, "0 or 1" },
	{ "page_reporting.delay", SET_UINT, FIELD(release_delay_ms), 0, 0,
	  3600000, false, "milliseconds, 0 to 3600000" },
	{ "slub_debug", SET_STRING, FIELD(slub_debug),
	  sizeof(((struct kmm_config *)0)->slub_debug), 0, 0, true,
	  "debug letters F Z P U, then cache names: slub_debug=FZ,kmalloc-64" },
	{ "slab_rseq", SET_UINT, FIELD(slab_rseq), 0, 0, 2, false,
	  "0 (per-CPU locks), 1 (rseq, the default) or 2 (emulated, valgrind)" },
	{ "init_on_alloc", SET_BOOL, FIELD(init_on_alloc), 0, 0, 0, false, "0 or 1" },
	{ "init_on_free", SET_BOOL, FIELD(init_on_free), 0, 0, 0, false, "0 or 1" },
	{ "page_alloc.shuffle", SET_BOOL, FIELD(shuffle), 0, 0, 0, false, "0 or 1" },
	/* Kconfig options in Linux (no boot parameter there). */
	{ "slab_freelist_hardened", SET_BOOL, FIELD(slab_freelist_hardened), 0, 0, 0, false,
	  "0 or 1" },
	{ "slab_freelist_random", SET_BOOL, FIELD(slab_freelist_random), 0, 0, 0, false,
	  "0 or 1" },
#define FAULT_SETTINGS(prefix, field)                                                   \
	{ prefix, SET_STRING, FIELD(field.spec), sizeof(((struct kmm_config *)0)->field.spec), \
	  0, 0, true, "interval,probability,space,times as in the kernel: " prefix "=1,10,0,-1" }, \
	{ prefix ".probability", SET_UINT, FIELD(field.probability), 0, 0, 100, false,   \
	  "a percentage, 0 to 100" },                                                    \
	{ prefix ".interval", SET_UINT, FIELD(field.interval), 0, 1, ~0UL >> 1, false,    \
	  "a count of calls, 1 or more" },                                               \
	{ prefix ".space", SET_SIZE, FIELD(field.space), 0, 0, ~0UL >> 1, false,          \
	  "a size in bytes such as 1M" },                                                \
	{ prefix ".times", SET_LONG, FIELD(field.times), 0, 0, 0, false,                  \
	  "a count of failures, or -1 for no limit" },                                   \
	/* The kernel's debugfs file is ignore-gfp-wait: both spellings. */             \
	{ prefix ".ignore_gfp_wait", SET_BOOL, FIELD(field.ignore_gfp_wait), 0, 0, 0,    \
	  false, "0 or 1" },                                                             \
	{ prefix ".ignore-gfp-wait", SET_BOOL, FIELD(field.ignore_gfp_wait), 0, 0, 0,    \
	  false, "0 or 1" }
	FAULT_SETTINGS("fail_page_alloc", fail_page_alloc),
	{ "fail_page_alloc.min_order", SET_UINT, FIELD(fail_page_alloc.min_order), 0, 0,
	  MAX_PAGE_ORDER, false, "an order, 0 to 10" },
	{ "fail_page_alloc.min-order", SET_UINT, FIELD(fail_page_alloc.min_order), 0, 0,
	  MAX_PAGE_ORDER, false, "an order, 0 to 10" },
	{ "fail_page_alloc.ignore_gfp_highmem", SET_BOOL,
	  FIELD(fail_page_alloc.ignore_gfp_highmem), 0, 0, 0, false, "0 or 1" },
	{ "fail_page_alloc.ignore-gfp-highmem", SET_BOOL,
	  FIELD(fail_page_alloc.ignore_gfp_highmem), 0, 0, 0, false, "0 or 1" },
	FAULT_SETTINGS("failslab", failslab),
	{ "failslab.caches", SET_STRING, FIELD(failslab_caches),
	  sizeof(((struct kmm_config *)0)->failslab_caches), 0, 0, true,
	  "cache names: failslab.caches=kmalloc-64,dentry" },
#undef FAULT_SETTINGS
};

void kmm_config_defaults(struct kmm_config *conf)
{
	struct sysinfo si;
	memset(conf, 0, sizeof(*conf));
	unsigned long ram = 4UL << 30;
	if (sysinfo(&si) == 0 && si.totalram)
		ram = (unsigned long)si.totalram * si.mem_unit;
	if (ram < KMM_MEM_MIN)
		ram = KMM_MEM_MIN;
	if (ram > KMM_MEM_MAX)
		ram = KMM_MEM_MAX;
	conf->mem = ram;
	conf->mem_default = ram;
	conf->release_reserve = 16UL << 20;
	conf->release_delay_ms = 1000;
	/* On, as in the kernels the distributions ship (the options are
	 * CONFIG_SLAB_FREELIST_HARDENED and _RANDOM there): they cost nothing
	 * on the magazine fast paths, only when objects move between slabs
	 * and magazines (about 4 % of a slab-churning benchmark, bench_frag). */
	conf->slab_freelist_hardened = true;
	conf->slab_freelist_random = true;
	/* rseq critical sections are inline assembly that ThreadSanitizer
	 * cannot see: a TSan build checks the compare-and-swap path. */
#if defined(__SANITIZE_THREAD__)
	conf->slab_rseq = 0;
#else
	conf->slab_rseq = 1;
#endif
	conf->fail_page_alloc.interval = conf->failslab.interval = 1;
	conf->fail_page_alloc.times = conf->failslab.times = -1;
	/* The kernel's defaults: requests that may sleep are never failed,
	 * nor HighMem ones or order 0 by fail_page_alloc. */
	conf->fail_page_alloc.ignore_gfp_wait = conf->failslab.ignore_gfp_wait = true;
	conf->fail_page_alloc.ignore_gfp_highmem = true;
	conf->fail_page_alloc.min_order = 1;
}

bool kmm_parse_size(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;
	size_t i = 0;
	if (len == 0)
		return false;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned long d = (unsigned long)(s[i] - '0');
		if (v > (~0UL - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (i == 0)
		return false;
	int shift = 0;
	if (i < len) {
		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return false;
		}
		i++;
		/* Accept "K", "KB", "KiB". */
		if (i < len && s[i] == 'i')
			i++;
		if (i < len && (s[i] == 'B' || s[i] == 'b'))
			i++;
	}
	if (i != len)
		return false;
	if (shift && v > (~0UL >> shift))
		return false;
	*out = v << shift;
	return true;
}

static bool parse_bool(const char *s, size_t len, bool *out)
{
	static const char *const yes[] = { "1", "y", "yes", "on", "true" };
	static const char *const no[] = { "0", "n", "no", "off", "false" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strlen(yes[i]) == len && strncasecmp(s, yes[i], len) == 0) {
			*out = true;
			return true;
		}
		if (strlen(no[i]) == len && strncasecmp(s, no[i], len) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static const struct setting *find_setting(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(settings); i++)
		if (strlen(settings[i].name) == len &&
		    memcmp(settings[i].name, name, len) == 0)
			return &settings[i];
	return NULL;
}

static void report(struct kmm_config *conf, const char *piece, size_t len,
		   const char *why)
{
	conf->nr_errors++;
	kmm_printk("libkmm: KMM_CONF: '%.*s': %s; ignored\n", (int)len, piece, why);
}

/* Apply one "name=value" or "name" piece.  Returns the setting, or NULL. */
static const struct setting *apply(struct kmm_config *conf, const char *piece,
				   size_t len)
{
	const char *eq = memchr(piece, '=', len);
	size_t name_len = eq ? (size_t)(eq - piece) : len;
	const char *val = eq ? eq + 1 : NULL;
	size_t val_len = eq ? len - name_len - 1 : 0;
	const struct setting *st = find_setting(piece, name_len);
	char why[160];
	char *field;

	if (!st && name_len > 7 && memcmp(piece, "malloc.", 7) == 0)
		return NULL;            /* the shim's own setting */
	if (!st) {
		report(conf, piece, len, "unknown setting");
		return NULL;
	}
	field = (char *)conf + st->offset;
	switch (st->kind) {
	case SET_FLAG:
		if (!val) {
			*(bool *)field = true;
			return st;
		}
		/* fall through */
	case SET_BOOL:
		if (val && parse_bool(val, val_len, (bool *)field))
			return st;
		break;
	case SET_SIZE: {
		unsigned long v;
		if (val && kmm_parse_size(val, val_len, &v) && v >= st->min &&
		    v <= st->max) {
			*(unsigned long *)field = v;
			return st;
		}
		break;
	}
	case SET_UINT: {
		unsigned long v;
		char *end;
		char num[32];
		if (val && val_len > 0 && val_len < sizeof(num)) {
			memcpy(num, val, val_len);
			num[val_len] = '\0';
			v = strtoul(num, &end, 10);
			if (*end == '\0' && num[0] >= '0' && num[0] <= '9' &&
			    v >= st->min && v <= st->max) {
				*(unsigned long *)field = v;
				return st;
			}
		}
		break;
	}
	case SET_LONG: {
		char num[32];
		char *end;
		if (val && val_len > 0 && val_len < sizeof(num)) {
			memcpy(num, val, val_len);
			num[val_len] = '\0';
			long v = strtol(num, &end, 10);
			if (*end == '\0' && v >= -1) {
				*(long *)field = v;
				return st;
			}
		}
		break;
	}
	case SET_STRING:
		/* "slub_debug" alone means every check, as in the kernel. */
		if (!val) {
			val = "FZPU";
			val_len = 4;
		}
		if (val_len < st->size) {
			memcpy(field, val, val_len);
			field[val_len] = '\0';
			return st;
		}
		break;
	case SET_SIGNAL: {
		/*
		 * Only signals whose default action nobody relies on: the two
		 * user signals, WINCH and URG (ignored by default) and the
		 * real-time ones.  TERM, INT, HUP, QUIT and the rest must keep
		 * ending the program.
		 */
		static const struct { const char *name; int sig; } sigs[] = {
			{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
			{ "URG", SIGURG }, { "WINCH", SIGWINCH },
		};
		char name[16];
		if (!val || val_len == 0 || val_len >= sizeof(name))
			break;
		memcpy(name, val, val_len);
		name[val_len] = '\0';
		const char *n = strncmp(name, "SIG", 3) == 0 ? name + 3 : name;
		for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
			if (strcmp(n, sigs[i].name) == 0) {
				*(int *)field = sigs[i].sig;
				return st;
			}
		}
		char *end;
		long v = strtol(name, &end, 10);
		if (*end != '\0' || end == name)
			break;
		for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
			if (v == sigs[i].sig) {
				*(int *)field = (int)v;
				return st;
			}
		}
		if (v >= SIGRTMIN && v <= SIGRTMAX) {
			*(int *)field = (int)v;
			return st;
		}
		break;
	}
	case SET_PHYS:
		if (val && val_len == 4 && memcmp(val, "anon", 4) == 0) {
			*(bool *)field = false;
			return st;
		}
		if (val && val_len == 5 && memcmp(val, "memfd", 5) == 0) {
			*(bool *)field = true;
			return st;
		}
		break;
	}
	snprintf(why, sizeof(why), "expected %s", st->expect);
	report(conf, piece, len, why);
	return NULL;
}

/* Append ",piece" to a list-valued string setting; false when it is full. */
static bool append_to_list(struct kmm_config *conf, const struct setting *st,
			   const char *piece, size_t len)
{
	char *field = (char *)conf + st->offset;
	size_t used = strlen(field);
	if (used + 1 + len + 1 > st->size)
		return false;
	field[used] = ',';
	memcpy(field + used + 1, piece, len);
	field[used + 1 + len] = '\0';
	return true;
}

/* "interval,probability,space,times" into the fault settings. */
static void parse_fault_spec(struct kmm_config *conf, const char *name,
			     struct fault_config *fc)
{
	unsigned long interval, probability, space;
	long times;
	char extra;
	if (!fc->spec[0])
		return;
	if (sscanf(fc->spec, "%lu,%lu,%lu,%ld%c", &interval, &probability, &space,
		   &times, &extra) != 4 || interval < 1 || probability > 100 || times < -1) {
		char piece[96];
		snprintf(piece, sizeof(piece), "%s=%s", name, fc->spec);
		report(conf, piece, strlen(piece),
		       "expected interval,probability,space,times such as 1,10,0,-1");
	} else {
		fc->interval = interval;
		fc->probability = probability;
		fc->space = space;
		fc->times = times;
	}
	fc->spec[0] = '\0';
}

int kmm_config_parse(struct kmm_config *conf, const char *text)
{
	int before = conf->nr_errors;
	const char *p = text;
	if (!text)
		return 0;
	while (*p) {
		/* One space-separated word; commas inside it split pieces. */
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *word_end = p;
		while (*word_end && *word_end != ' ' && *word_end != '\t' &&
		       *word_end != '\n')
			word_end++;
		const struct setting *prev = NULL;
		while (p < word_end) {
			const char *comma = memchr(p, ',', (size_t)(word_end - p));
			const char *end = comma ? comma : word_end;
			size_t len = (size_t)(end - p);
			if (len > 0) {
				const char *eq = memchr(p, '=', len);
				size_t name_len = eq ? (size_t)(eq - p) : len;
				if (prev && prev->list && !find_setting(p, name_len)) {
					if (!append_to_list(conf, prev, p, len))
						report(conf, p, len, "list too long");
				} else {
					prev = apply(conf, p, len);
				}
			}
			p = comma ? comma + 1 : word_end;
		}
	}
	parse_fault_spec(conf, "fail_page_alloc", &conf->fail_page_alloc);
	parse_fault_spec(conf, "failslab", &conf->failslab);
	return conf->nr_errors - before;
}
