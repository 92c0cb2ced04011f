/*
 * kmm/kmm.h - the umbrella header: every libkmm interface, plus boot,
 * configuration and introspection.
 *
 * The library boots itself on first use with the settings in the KMM_CONF
 * environment variable (kernel boot-parameter style, e.g.
 * "mem=2G lowmem=896M slub_debug=FZP,kmalloc-64").  kmm_init() boots it
 * earlier with settings of its own.
 */
#ifndef KMM_KMM_H
#define KMM_KMM_H

#include <stdio.h>
#include <kmm/types.h>
#include <kmm/gfp.h>
#include <kmm/mm_types.h>
#include <kmm/mmzone.h>
#include <kmm/mm.h>
#include <kmm/slab.h>
#include <kmm/vmalloc.h>
#include <kmm/highmem.h>

#define KMM_VERSION "0.1.0"

/* Boot with these settings instead of KMM_CONF (NULL: use KMM_CONF).
 * Returns 0; -EINVAL when a setting is not understood (each is reported on
 * stderr, and the library does not boot: call again with good settings);
 * -EBUSY once booted; -ENOMEM when boot could not get memory (then every
 * allocation returns NULL). */
int kmm_init(const char *conf);

void kmm_show_buddyinfo(FILE *f);
void kmm_show_pagetypeinfo(FILE *f);
void kmm_show_zoneinfo(FILE *f);
void kmm_show_slabinfo(FILE *f);
void kmm_show_vmallocinfo(FILE *f);
void kmm_show_meminfo(FILE *f);
void kmm_show_vmstat(FILE *f);
void show_mem(void);
/* buddyinfo, slabinfo, vmallocinfo, meminfo and vmstat, each under a
 * "--- /proc/NAME" line (what KMM_CONF=stats prints at exit). */
void kmm_show_stats(FILE *f);

/* 0 when every invariant holds, else the number of problems, each reported
 * on stderr. */
int kmm_check(void);

/* Give free memory back to the host now: empty slabs, lazily freed vmalloc
 * ranges, the per-CPU page lists, every free block of pageblock order
 * (2 MiB) and up.  Returns the bytes released.  (malloc_trim of the shim.) */
unsigned long kmm_trim(void);
/* Start the page-reporting worker (page_reporting.worker=1 does it at
 * boot): when the program has allocated nothing for page_reporting.delay,
 * it trims as kmm_trim() does.  0, or -ENOMEM / -EAGAIN. */
int kmm_start_page_reporting(void);

#endif /* KMM_KMM_H */
