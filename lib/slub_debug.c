/*
 * slub_debug.c - the kernel's slab debugging: slub_debug= and the reports.
 *
 * slub_debug=<letters>[,<cache>,...][;<letters>,<cache>,...] as the kernel
 * reads it: a group without cache names applies to every cache; a name
 * ending in '*' is a prefix.  Letters:
 *   F  SLAB_CONSISTENCY_CHECKS: on free, the pointer is an object's start in
 *      a slab of this cache and not already free (double free).
 *   Z  SLAB_RED_ZONE: bytes before and after each object, 0xbb while free,
 *      0xcc while allocated, checked on alloc, free and kmm_check().
 *   P  SLAB_POISON: a free object holds 0x6b with a last byte of 0xa5; a
 *      write after free is found on the next allocation or kmm_check().
 *      Not for caches with a constructor (their objects must keep state).
 *   U  SLAB_STORE_USER: the last allocation and free site, pid, cpu, age.
 *   -  no debugging.  Lower case letters work too; others are ignored.
 *
 * THE KMALLOC REDZONE.  A kmalloc cache with Z keeps, after the object's
 * metadata, the size that was asked for (SLUB's orig_size, which the
 * kernel keeps with SLAB_STORE_USER; here Z is enough), and the bytes
 * between it and the object size are red zone too while the object is
 * allocated: p[55] = 0 after kmalloc(50) is "kmalloc Redzone overwritten".
 * ksize() gives the caller the whole object (the kernel's
 * skip_orig_size_check()), krealloc() in place moves the bound.  kmalloc()
 * takes its slow path whenever such a cache exists (kmalloc.c), to know
 * the size.
 *
 * A cache with any of these goes without magazines (every operation on
 * the slab layer under the node lock), so the checks are exact.  Caches
 * without them pay nothing: the magazine fast path does not look at flags.
 *
 * REPORTS follow Linux 6.18's mm/slub.c: for a byte check, the line
 * "[Right Redzone overwritten] 0x..-0x.. @offset=N. First byte 0x11 instead
 * of 0xcc", then, for the first fault of an object, the BUG banner ("BUG
 * kmalloc-64 (Not tainted): Object corrupt") and the trailer (the sites,
 * "Slab 0x.. objects=.. used=.. fp=.. flags=..", "Object 0x.. @offset=..",
 * hex dumps of the red zones and the object), then a FIX line saying what
 * was repaired; no "INFO:" prefixes (removed in 5.13).  An object whose
 * free fails a check is not freed; the program goes on.  The WARN() of the
 * misuse reports (slab_warn) is here too.  Reports are written with
 * kmm_printk (write(2)); no malloc, no stdio.
 *
 * LOCKING: the checks run under the cache's node lock.
 */
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <unistd.h>
#include "slab.h"

#define SLUB_RED_INACTIVE 0xbb
#define SLUB_RED_ACTIVE   0xcc
#define POISON_FREE       0x6b
#define POISON_END        0xa5

struct kmm_track {
	unsigned long addr;            /* caller of the allocator */
	long when_ns;
	int cpu;
	int pid;
};

enum track_item { TRACK_ALLOC, TRACK_FREE };

#define MAX_GROUPS 8
#define MAX_NAMES 32

static char debug_buf[256];
static struct {
	slab_flags_t flags;
	int nr_names;
	const char *names[MAX_NAMES];
} groups[MAX_GROUPS];
static int nr_groups;

unsigned int debug_track_size(void)
{
	return 2 * sizeof(struct kmm_track);
}

/* ------------------------------------------------------------------ */
/* slub_debug=                                                         */

static slab_flags_t parse_letters(const char *s)
{
	slab_flags_t f = 0;
	if (!*s)
		return SLAB_DEBUG_FLAGS;
	for (; *s; s++) {
		switch (*s) {
		case 'f': case 'F': f |= SLAB_CONSISTENCY_CHECKS; break;
		case 'z': case 'Z': f |= SLAB_RED_ZONE; break;
		case 'p': case 'P': f |= SLAB_POISON; break;
		case 'u': case 'U': f |= SLAB_STORE_USER; break;
		case '-': return 0;
		default: break;                /* T A O: not emulated */
		}
	}
	return f;
}

void slub_debug_parse(void)
{
	nr_groups = 0;
	size_t len = strnlen(machine.conf.slub_debug, sizeof(machine.conf.slub_debug) - 1);
	memcpy(debug_buf, machine.conf.slub_debug, len);
	debug_buf[len] = '\0';
	char *p = debug_buf;
	while (*p && nr_groups < MAX_GROUPS) {
		char *end = strchr(p, ';');
		if (end)
			*end = '\0';
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		groups[nr_groups].flags = parse_letters(p);
		groups[nr_groups].nr_names = 0;
		for (char *name = comma ? comma + 1 : NULL; name && *name;) {
			char *next = strchr(name, ',');
			if (next)
				*next = '\0';
			if (groups[nr_groups].nr_names < MAX_NAMES)
				groups[nr_groups].names[groups[nr_groups].nr_names++] = name;
			name = next ? next + 1 : NULL;
		}
		nr_groups++;
		if (!end)
			break;
		p = end + 1;
	}
}

static bool name_matches(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);
	if (n && pattern[n - 1] == '*')
		return strncmp(pattern, name, n - 1) == 0;
	return strcmp(pattern, name) == 0;
}

slab_flags_t slub_debug_flags(const char *name, slab_flags_t flags)
{
	for (int g = 0; g < nr_groups; g++) {
		if (groups[g].nr_names == 0) {
			flags |= groups[g].flags;
			continue;
		}
		for (int i = 0; i < groups[g].nr_names; i++)
			if (name_matches(groups[g].names[i], name))
				flags |= groups[g].flags;
	}
	return flags;
}

/* ------------------------------------------------------------------ */
/* Object layout helpers                                               */

static inline unsigned char *obj_left_rz(struct kmem_cache *s, void *obj)
{
	return (unsigned char *)obj - s->red_left_pad;
}

static inline struct kmm_track *obj_track(struct kmem_cache *s, void *obj,
					  enum track_item t)
{
	return (struct kmm_track *)(void *)((char *)obj + s->track_offset) + t;
}

static inline bool poisons(const struct kmem_cache *s)
{
	return (s->flags & SLAB_POISON) && !s->ctor;
}

static inline unsigned long *orig_size_ptr(struct kmem_cache *s, void *obj)
{
	return (unsigned long *)(void *)((char *)obj + s->orig_size_offset);
}

static void set_track(struct kmem_cache *s, void *obj, enum track_item t,
		      unsigned long addr)
{
	struct kmm_track *tr = obj_track(s, obj, t);
	tr->addr = addr;
	tr->when_ns = kmm_now_ns();
	tr->cpu = (int)raw_smp_processor_id();
	tr->pid = (int)getpid();
}

void debug_init_object(struct kmem_cache *s, void *obj, bool active)
{
	unsigned char val = active ? SLUB_RED_ACTIVE : SLUB_RED_INACTIVE;
	if (s->flags & SLAB_RED_ZONE) {
		/* Active: from the size asked for (object_size until kmalloc
		 * says); the object itself when free. */
		size_t end = active ? debug_get_orig_size(s, obj) : s->object_size;
		memset(obj_left_rz(s, obj), val, s->red_left_pad);
		memset((char *)obj + end, val, s->inuse - end);
	}
	if (!active && poisons(s)) {
		memset(obj, POISON_FREE, s->object_size - 1);
		((unsigned char *)obj)[s->object_size - 1] = POISON_END;
	}
}

void debug_new_object(struct kmem_cache *s, void *obj)
{
	if (s->flags & SLAB_STORE_USER)
		memset(obj_track(s, obj, TRACK_ALLOC), 0, debug_track_size());
	if (s->orig_size_offset)
		*orig_size_ptr(s, obj) = s->object_size;
	debug_init_object(s, obj, false);
}

size_t debug_get_orig_size(struct kmem_cache *s, const void *obj)
{
	if (!s->orig_size_offset)
		return s->object_size;
	return *orig_size_ptr(s, (void *)obj);
}

/*
 * The size asked for, and the kmalloc redzone beyond it painted active;
 * under the node lock, so that kmm_check() sees the two agree.
 */
void debug_set_orig_size(struct kmem_cache *s, void *obj, size_t size)
{
	if (!s->orig_size_offset)
		return;
	if (size > s->object_size)
		size = s->object_size;
	pthread_mutex_lock(&s->node.lock);
	*orig_size_ptr(s, obj) = size;
	memset((char *)obj + size, SLUB_RED_ACTIVE, s->object_size - size);
	pthread_mutex_unlock(&s->node.lock);
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */

/* The kernel's %pS: symbol+offset/size, or the bare address. */
void slab_format_ip(char *buf, size_t size, unsigned long ip)
{
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	if (!ip || !dladdr1((void *)ip, &info, (void **)&sym, RTLD_DL_SYMENT)) {
		snprintf(buf, size, "0x%lx", ip);
	} else if (info.dli_sname) {
		snprintf(buf, size, "%s+0x%lx/0x%lx", info.dli_sname,
			 ip - (unsigned long)info.dli_saddr,
			 sym ? (unsigned long)sym->st_size : 0UL);
	} else {
		/* Not exported: the object and the offset, for addr2line. */
		const char *obj = info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
		snprintf(buf, size, "0x%lx (%s+0x%lx)", ip,
			 obj ? obj + 1 : info.dli_fname ? info.dli_fname : "?",
			 ip - (unsigned long)info.dli_fbase);
	}
}

void slab_dump_stack(unsigned long caller)
{
	char site[160];
	slab_format_ip(site, sizeof(site), caller);
	kmm_printk("CPU: %u PID: %d Comm: %s\nCall Trace:\n <TASK>\n  %s\n </TASK>\n",
		   raw_smp_processor_id(), (int)getpid(), program_invocation_short_name,
		   caller ? site : "?");
}

void slab_warn(unsigned long caller, const char *fmt, ...)
{
	char site[160];
	va_list ap;
	slab_format_ip(site, sizeof(site), caller);
	kmm_printk("------------[ cut here ]------------\n");
	va_start(ap, fmt);
	kmm_vprintk(fmt, ap);
	va_end(ap);
	kmm_printk("WARNING: CPU: %u PID: %d at %s\n", raw_smp_processor_id(),
		   (int)getpid(), caller ? site : "?");
	kmm_printk("---[ end trace 0000000000000000 ]---\n");
}

/* %pGp: the flags word, then the names of its bits. */
static void format_page_flags(char *buf, size_t size, unsigned long flags)
{
	static const char *const names[] = {
		"locked", "referenced", "uptodate", "dirty", "lru", "head", "reserved",
		"private", "slab", "buddy", "pcp", "reported", "vmalloc",
	};
	size_t used = (size_t)snprintf(buf, size, "%#lx(", flags);
	const char *sep = "";
	for (unsigned int bit = 0; bit < ARRAY_SIZE(names) && used < size; bit++) {
		if (flags & (1UL << bit)) {
			used += (size_t)snprintf(buf + used, size - used, "%s%s", sep, names[bit]);
			sep = "|";
		}
	}
	if (used < size && (flags & (1UL << PG_large_kmalloc))) {
		used += (size_t)snprintf(buf + used, size - used, "%slarge_kmalloc", sep);
		sep = "|";
	}
	if (used < size && (flags & PAGE_ZONE_MASK))
		used += (size_t)snprintf(buf + used, size - used, "%szone=%lu", sep,
					 ((flags & PAGE_ZONE_MASK) >> PAGE_ZONE_SHIFT) - 1);
	if (used < size)
		snprintf(buf + used, size - used, ")");
}

void slab_dump_page(const struct page *page, const char *reason)
{
	char flags[192];
	const struct page *head = page;
	if (page->compound_head & 1)
		head = (const struct page *)(page->compound_head - 1);
	format_page_flags(flags, sizeof(flags), page->flags);
	kmm_printk("page: refcount:%u mapcount:%d mapping:0000000000000000 index:0x0 "
		   "pfn:%#lx\n", page->_refcount, page->_mapcount, pfn_of(page));
	if (head != page)
		kmm_printk("head: order:%u pfn:%#lx\n", page_head_order(head), pfn_of(head));
	else if (page_test_flag(page, PG_head))
		kmm_printk("head: order:%u pfn:%#lx\n", page_head_order(page), pfn_of(page));
	kmm_printk("flags: %s\npage dumped because: %s\n", flags, reason);
}

static void slab_bug(struct kmem_cache *s, const char *what)
{
	kmm_printk("=============================================================================\n"
		   "BUG %s (Not tainted): %s\n"
		   "-----------------------------------------------------------------------------\n\n",
		   s ? s->name : "<unknown>", what);
}

static void print_track(const char *what, const struct kmm_track *t)
{
	char site[160];
	long age_ms = (kmm_now_ns() - t->when_ns) / 1000000;
	if (!t->addr)
		return;
	slab_format_ip(site, sizeof(site), t->addr);
	kmm_printk("%s in %s age=%ld cpu=%d pid=%d\n", what, site, age_ms, t->cpu, t->pid);
}

void debug_print_tracking(struct kmem_cache *s, void *obj)
{
	if (!(s->flags & SLAB_STORE_USER))
		return;
	print_track("Allocated", obj_track(s, obj, TRACK_ALLOC));
	print_track("Freed", obj_track(s, obj, TRACK_FREE));
}

static void print_slab_info(const struct page *slab)
{
	char flags[192];
	format_page_flags(flags, sizeof(flags), slab->flags);
	kmm_printk("Slab 0x%lx objects=%u used=%u fp=0x%lx flags=%s\n",
		   (unsigned long)slab, slab->objects, slab->inuse,
		   (unsigned long)slab->freelist, flags);
}

static void print_section(const char *label, const void *addr, size_t len)
{
	const unsigned char *p = addr;
	for (size_t off = 0; off < len; off += 16) {
		char line[128];
		size_t n = len - off < 16 ? len - off : 16, used = 0;
		for (size_t i = 0; i < 16; i++)
			used += (size_t)snprintf(line + used, sizeof(line) - used,
						 i < n ? "%02x " : "   ", i < n ? p[off + i] : 0);
		line[used++] = ' ';
		for (size_t i = 0; i < n; i++)
			line[used++] = (p[off + i] >= 0x20 && p[off + i] < 0x7f) ? (char)p[off + i] : '.';
		line[used] = '\0';
		kmm_printk("%s0x%lx: %s\n", label, (unsigned long)(p + off), line);
	}
}

static void print_trailer(struct kmem_cache *s, struct page *slab, void *obj)
{
	char *base = slab_base(slab);
	debug_print_tracking(s, obj);
	print_slab_info(slab);
	kmm_printk("Object 0x%lx @offset=%lu fp=0x%lx\n\n", (unsigned long)obj,
		   (unsigned long)((char *)obj - base),
		   (unsigned long)get_freepointer(s, obj));
	if (s->flags & SLAB_RED_ZONE)
		print_section("Redzone  ", obj_left_rz(s, obj), s->red_left_pad);
	else if ((char *)obj >= base + 16)
		print_section("Bytes b4 ", (char *)obj - 16, 16);
	print_section("Object   ", obj, s->object_size < PAGE_SIZE ? s->object_size : PAGE_SIZE);
	if (s->flags & SLAB_RED_ZONE)
		print_section("Redzone  ", (char *)obj + s->object_size,
			      s->inuse - s->object_size);
}

/* object_err(): the banner, then the object (or the slab, if obj is not
 * one of its objects). */
static void object_err(struct kmem_cache *s, struct page *slab, void *obj,
		       const char *reason)
{
	slab_bug(s, reason);
	if (!obj || !slab_is_object_start(s, slab, obj)) {
		print_slab_info(slab);
		kmm_printk("Invalid pointer 0x%lx\n", (unsigned long)obj);
	} else {
		print_trailer(s, slab, obj);
	}
}

/* slab_err(): the banner, then the slab. */
static void slab_err(struct kmem_cache *s, struct page *slab, const char *fmt,
		     const void *arg)
{
	char title[160];
	snprintf(title, sizeof(title), fmt, arg);
	slab_bug(s, title);
	if (slab)
		print_slab_info(slab);
}

/*
 * Are len bytes at start all `value`?  If not: the faulty range, the object
 * (print_obj: for the first fault of this object only, as 6.18's
 * check_object() passes its running result), the repair; false.
 */
static bool check_bytes_and_report(struct kmem_cache *s, struct page *slab, void *obj,
				   const char *what, unsigned char *start,
				   unsigned char value, size_t len, bool print_obj)
{
	unsigned char *fault = NULL, *end = start;
	for (size_t i = 0; i < len; i++) {
		if (start[i] != value) {
			if (!fault)
				fault = start + i;
			end = start + i + 1;
		}
	}
	if (!fault)
		return true;
	kmm_printk("[%s overwritten] 0x%lx-0x%lx @offset=%lu. First byte 0x%x instead of 0x%x\n",
		   what, (unsigned long)fault, (unsigned long)(end - 1),
		   (unsigned long)(fault - (unsigned char *)slab_base(slab)), fault[0], value);
	if (print_obj)
		object_err(s, slab, obj, "Object corrupt");
	memset(fault, value, (size_t)(end - fault));
	kmm_printk("FIX %s: Restoring %s 0x%lx-0x%lx=0x%x\n", s->name, what,
		   (unsigned long)fault, (unsigned long)(end - 1), value);
	return false;
}

/* Red zones (and, for a free object, poison) as `active` says. */
static bool check_object(struct kmem_cache *s, struct page *slab, void *obj, bool active)
{
	unsigned char val = active ? SLUB_RED_ACTIVE : SLUB_RED_INACTIVE;
	unsigned char *p = obj;
	bool ok = true;
	if (s->flags & SLAB_RED_ZONE) {
		ok &= check_bytes_and_report(s, slab, obj, "Left Redzone", obj_left_rz(s, obj),
					     val, s->red_left_pad, ok);
		ok &= check_bytes_and_report(s, slab, obj, "Right Redzone",
					     p + s->object_size, val,
					     s->inuse - s->object_size, ok);
		if (active && s->orig_size_offset) {
			size_t orig = debug_get_orig_size(s, obj);
			if (orig < s->object_size)
				ok &= check_bytes_and_report(s, slab, obj, "kmalloc Redzone",
							     p + orig, val,
							     s->object_size - orig, ok);
		}
	}
	if (!active && poisons(s)) {
		ok &= check_bytes_and_report(s, slab, obj, "Poison", p, POISON_FREE,
					     s->object_size - 1, ok);
		ok &= check_bytes_and_report(s, slab, obj, "End Poison",
					     p + s->object_size - 1, POISON_END, 1, ok);
	}
	return ok;
}

bool debug_alloc_check(struct kmem_cache *s, struct page *slab, void *obj,
		       unsigned long caller)
{
	bool ok = check_object(s, slab, obj, false);
	if (s->orig_size_offset)
		*orig_size_ptr(s, obj) = s->object_size;   /* until kmalloc says */
	debug_init_object(s, obj, true);
	if (s->flags & SLAB_STORE_USER)
		set_track(s, obj, TRACK_ALLOC, caller);
	return ok;
}

static bool on_freelist(struct kmem_cache *s, struct page *slab, const void *obj)
{
	unsigned int n = 0;
	for (void *f = slab->freelist; f && n <= slab->objects; f = get_freepointer(s, f), n++)
		if (f == obj)
			return true;
	return false;
}

static void not_freed(struct kmem_cache *s, const void *obj)
{
	kmm_printk("FIX %s: Object at 0x%lx not freed\n", s->name, (unsigned long)obj);
}

bool debug_free_check(struct kmem_cache *s, struct page *slab, void *obj,
		      unsigned long caller)
{
	/* Not only with F: red zones and poison at a wrong offset would be
	 * painted over the neighbours. */
	if (!slab_is_object_start(s, slab, obj)) {
		slab_err(s, slab, "Invalid object pointer %p", obj);
		not_freed(s, obj);
		return false;
	}
	if (s->flags & SLAB_CONSISTENCY_CHECKS) {
		if (on_freelist(s, slab, obj)) {
			object_err(s, slab, obj, "Object already free");
			not_freed(s, obj);
			return false;
		}
	}
	if (!check_object(s, slab, obj, true)) {
		not_freed(s, obj);
		return false;
	}
	if (s->flags & SLAB_STORE_USER)
		set_track(s, obj, TRACK_FREE, caller);
	debug_init_object(s, obj, false);
	return true;
}

void debug_report_not_slab(struct kmem_cache *s, const void *obj)
{
	slab_err(s, NULL, "Invalid object pointer %p", obj);
	kmm_printk("0x%lx is not the start of an object of %s\n", (unsigned long)obj, s->name);
	not_freed(s, obj);
}

/* kmm_check of a debug slab (node lock held): every object's zones. */
int debug_check_slab_locked(struct kmem_cache *s, struct page *slab)
{
	unsigned char is_free[4096 / 8 + 1];
	int problems = 0;
	char *base = slab_base(slab);
	if (slab->objects > sizeof(is_free) * 8)
		return 0;
	memset(is_free, 0, sizeof(is_free));
	for (void *f = slab->freelist; f; f = get_freepointer(s, f)) {
		unsigned long i = ((unsigned long)((char *)f - base) - s->red_left_pad) / s->size;
		if (i < slab->objects)
			is_free[i / 8] |= (unsigned char)(1u << (i % 8));
	}
	for (unsigned int i = 0; i < slab->objects; i++) {
		void *obj = base + (size_t)i * s->size + s->red_left_pad;
		bool free = is_free[i / 8] & (1u << (i % 8));
		if (!check_object(s, slab, obj, !free))
			problems++;
	}
	return problems;
}
