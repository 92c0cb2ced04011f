/*
 * show.c - the page allocator's state in the kernel's /proc formats:
 * buddyinfo, pagetypeinfo, zoneinfo, meminfo, vmstat, and show_mem().
 *
 * Readers take a snapshot: counters are read without locks (each is one
 * word, so a value is always one that existed), lists are counted under the
 * zone lock into a local table, and only then printed, with no allocator
 * lock held, since fprintf() may call malloc().  show_mem() is called from
 * a failing allocation and prints with kmm_printk() instead of stdio.
 *
 * Only zones that span memory are shown: a zone without memory is absent.
 *
 * The counts follow the kernel's definitions (page_alloc.c: ACCOUNTING):
 * free memory is NR_FREE_PAGES, the frames on the buddy free lists, in
 * every dump (zoneinfo's "pages free" and nr_free_pages, meminfo's MemFree,
 * vmstat's nr_free_pages, show_mem()'s free); frames on the per-CPU lists
 * are shown apart (zoneinfo's pagesets, show_mem()'s free_pcp).  Memory
 * whose sections are not online yet is spanned but neither present nor
 * managed, and not in MemTotal, as memory not yet hot-added in the kernel.
 */
#include "config.h"
#include <string.h>
#include "page_alloc.h"

static const char *const migratetype_names[MIGRATE_TYPES] = {
	"Unmovable", "Movable", "Reclaimable", "HighAtomic",
};

#define for_each_zone(zone)                                                  \
	for (zone = machine.node.node_zones;                                 \
	     zone < machine.node.node_zones + MAX_NR_ZONES; zone++)          \
		if (!zone->spanned_pages) {} else

static unsigned long read_ulong(const unsigned long *p)
{
	return READ_ONCE(*p);
}

KMM_EXPORT void kmm_show_buddyinfo(FILE *f)
{
	struct zone *zone;
	kmm_ensure_booted();
	for_each_zone(zone) {
		unsigned long nr[NR_PAGE_ORDERS];
		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			nr[o] = read_ulong(&zone->free_area[o].nr_free);
		fprintf(f, "Node %d, zone %8s ", 0, zone->name);
		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			fprintf(f, "%6lu ", nr[o]);
		fputc('\n', f);
	}
}

KMM_EXPORT void kmm_show_pagetypeinfo(FILE *f)
{
	struct zone *zone;
	kmm_ensure_booted();
	fprintf(f, "Page block order: %d\n", pageblock_order);
	fprintf(f, "Pages per block:  %lu\n\n", pageblock_nr_pages);
	fprintf(f, "%-43s ", "Free pages count per migrate type at order");
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		fprintf(f, "%6d ", o);
	fputc('\n', f);
	for_each_zone(zone) {
		unsigned long nr[MIGRATE_TYPES][NR_PAGE_ORDERS];
		pthread_mutex_lock(&zone->lock);
		for (int t = 0; t < MIGRATE_TYPES; t++) {
			for (int o = 0; o < NR_PAGE_ORDERS; o++) {
				struct list_head *pos;
				unsigned long n = 0;
				list_for_each(pos, &zone->free_area[o].free_list[t])
					n++;
				nr[t][o] = n;
			}
		}
		pthread_mutex_unlock(&zone->lock);
		for (int t = 0; t < MIGRATE_TYPES; t++) {
			fprintf(f, "Node %4d, zone %8s, type %12s ", 0, zone->name,
				migratetype_names[t]);
			for (int o = 0; o < NR_PAGE_ORDERS; o++)
				fprintf(f, "%6lu ", nr[t][o]);
			fputc('\n', f);
		}
	}
	fprintf(f, "\n%-23s", "Number of blocks type ");
	for (int t = 0; t < MIGRATE_TYPES; t++)
		fprintf(f, "%12s ", migratetype_names[t]);
	fputc('\n', f);
	for_each_zone(zone) {
		unsigned long blocks[MIGRATE_TYPES] = { 0 };
		unsigned long first = zone->zone_start_pfn >> pageblock_order;
		unsigned long last = zone_end_pfn(zone) >> pageblock_order;
		for (unsigned long b = first; b < last; b++)
			blocks[machine.mem.pageblock_mt[b] % MIGRATE_TYPES]++;
		fprintf(f, "Node %d, zone %8s ", 0, zone->name);
		for (int t = 0; t < MIGRATE_TYPES; t++)
			fprintf(f, "%12lu ", blocks[t]);
		fputc('\n', f);
	}
}

KMM_EXPORT void kmm_show_zoneinfo(FILE *f)
{
	struct zone *zone;
	kmm_ensure_booted();
	for_each_zone(zone) {
		unsigned long allocs, frees;
		pcp_stats_zone(zone, &allocs, &frees);
		unsigned long free = zone_free_frames(zone);
		fprintf(f, "Node 0, zone %8s\n", zone->name);
		fprintf(f, "  pages free     %lu\n", free);
		fprintf(f, "        boost    0\n");
		fprintf(f, "        min      %lu\n", zone->_watermark[WMARK_MIN]);
		fprintf(f, "        low      %lu\n", zone->_watermark[WMARK_LOW]);
		fprintf(f, "        high     %lu\n", zone->_watermark[WMARK_HIGH]);
		fprintf(f, "        spanned  %lu\n", zone->spanned_pages);
		fprintf(f, "        present  %lu\n", zone->present_pages);
		fprintf(f, "        managed  %lu\n", read_ulong(&zone->managed_pages));
		fprintf(f, "        cma      0\n");
		fprintf(f, "        protection: (%ld, %ld, %ld, %ld)\n",
			zone->lowmem_reserve[0], zone->lowmem_reserve[1],
			zone->lowmem_reserve[2], zone->lowmem_reserve[3]);
		fprintf(f, "      nr_free_pages %lu\n", free);
		fprintf(f, "      nr_free_pcp %lu\n", pcp_count_zone(zone));
		fprintf(f, "      nr_free_reported %lu\n", read_ulong(&zone->nr_reported));
		fprintf(f, "      nr_free_resident_blocks %lu\n", read_ulong(&zone->nr_dirty_free));
		fprintf(f, "      nr_sections_online %lu\n", read_ulong(&zone->nr_sections_online));
		fprintf(f, "      pgalloc %lu\n", allocs + read_ulong(&zone->stat_alloc));
		fprintf(f, "      pgfree %lu\n", frees + read_ulong(&zone->stat_free));
		fprintf(f, "  pagesets\n");
		for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++) {
			struct per_cpu_pages *pcp = zone_pcp(zone, cpu);
			fprintf(f, "    cpu: %u\n", cpu);
			fprintf(f, "              count: %lu\n", pcp_count_cpu(zone, cpu));
			fprintf(f, "              high:  %d\n", pcp->high);
			fprintf(f, "              batch: %d\n", pcp->batch);
		}
		fprintf(f, "  node_unreclaimable:  0\n");
		fprintf(f, "  start_pfn:           %lu\n", zone->zone_start_pfn);
	}
}

struct mem_summary {
	unsigned long total, free, high_total, high_free, wmark_low;
	unsigned long slab_reclaimable, slab_unreclaimable, kmalloc_large;
	unsigned long vmalloc, vmalloc_pagetable;
};

static void summarize(struct mem_summary *s)
{
	struct zone *zone;
	memset(s, 0, sizeof(*s));
	for_each_zone(zone) {
		unsigned long free = zone_free_frames(zone);
		unsigned long managed = read_ulong(&zone->managed_pages);
		s->total += managed;            /* totalram: managed frames */
		s->free += free;
		s->wmark_low += zone->_watermark[WMARK_LOW];
		if (zone->idx == ZONE_HIGHMEM) {
			s->high_total += managed;
			s->high_free += free;
		}
	}
	s->slab_reclaimable = AO_load(&machine.stat[NR_SLAB_RECLAIMABLE]);
	s->slab_unreclaimable = AO_load(&machine.stat[NR_SLAB_UNRECLAIMABLE]);
	s->kmalloc_large = AO_load(&machine.stat[NR_KMALLOC_LARGE]);
	s->vmalloc = AO_load(&machine.stat[NR_VMALLOC]);
	s->vmalloc_pagetable = AO_load(&machine.stat[NR_VMALLOC_PAGETABLE]);
}

#define KB(pages) ((pages) << (PAGE_SHIFT - 10))

void show_free_counts(struct free_counts *counts)
{
	struct mem_summary s;
	struct zone *zone;
	memset(counts, 0, sizeof(*counts));
	for_each_zone(zone)
		counts->zoneinfo[zone->idx] = zone_free_frames(zone);
	summarize(&s);
	counts->meminfo_kb = KB(s.free);
	counts->vmstat = s.free;
}

static void meminfo_line(FILE *f, const char *name, unsigned long kb)
{
	char label[32];
	snprintf(label, sizeof(label), "%s:", name);
	fprintf(f, "%-16s%8lu kB\n", label, kb);
}

KMM_EXPORT void kmm_show_meminfo(FILE *f)
{
	struct mem_summary s;
	kmm_ensure_booted();
	summarize(&s);
	unsigned long available = s.free > s.wmark_low ? s.free - s.wmark_low : 0;
	available += s.slab_reclaimable / 2;
	meminfo_line(f, "MemTotal", KB(s.total));
	meminfo_line(f, "MemFree", KB(s.free));
	meminfo_line(f, "MemAvailable", KB(available));
	meminfo_line(f, "Buffers", 0);
	meminfo_line(f, "Cached", 0);
	meminfo_line(f, "SwapCached", 0);
	if (s.high_total) {
		meminfo_line(f, "HighTotal", KB(s.high_total));
		meminfo_line(f, "HighFree", KB(s.high_free));
		meminfo_line(f, "LowTotal", KB(s.total - s.high_total));
		meminfo_line(f, "LowFree", KB(s.free - s.high_free));
	}
	meminfo_line(f, "SwapTotal", 0);
	meminfo_line(f, "SwapFree", 0);
	meminfo_line(f, "Slab", KB(s.slab_reclaimable + s.slab_unreclaimable));
	meminfo_line(f, "SReclaimable", KB(s.slab_reclaimable));
	meminfo_line(f, "SUnreclaim", KB(s.slab_unreclaimable));
	meminfo_line(f, "PageTables", KB(s.vmalloc_pagetable));
	meminfo_line(f, "VmallocTotal", (kmm_vmalloc_end - kmm_vmalloc_start) >> 10);
	meminfo_line(f, "VmallocUsed", KB(s.vmalloc));
	meminfo_line(f, "VmallocChunk", 0);
	meminfo_line(f, "Percpu",
		     (MAX_NR_ZONES * nr_cpu_ids * sizeof(struct per_cpu_pages)) >> 10);
	meminfo_line(f, "KmallocLarge", KB(s.kmalloc_large));
}

KMM_EXPORT void kmm_show_vmstat(FILE *f)
{
	static const char *const pgalloc_names[MAX_NR_ZONES] = {
		"pgalloc_dma", "pgalloc_dma32", "pgalloc_normal", "pgalloc_high",
	};
	struct mem_summary s;
	struct zone *zone;
	unsigned long frees = 0;
	kmm_ensure_booted();
	summarize(&s);
	fprintf(f, "nr_free_pages %lu\n", s.free);
	fprintf(f, "nr_slab_reclaimable %lu\n", s.slab_reclaimable);
	fprintf(f, "nr_slab_unreclaimable %lu\n", s.slab_unreclaimable);
	fprintf(f, "nr_page_table_pages %lu\n", s.vmalloc_pagetable);
	fprintf(f, "nr_vmalloc %lu\n", s.vmalloc);
	for_each_zone(zone) {
		unsigned long a, fr;
		pcp_stats_zone(zone, &a, &fr);
		fprintf(f, "%s %lu\n", pgalloc_names[zone->idx], a + read_ulong(&zone->stat_alloc));
		frees += fr + read_ulong(&zone->stat_free);
	}
	fprintf(f, "pgfree %lu\n", frees);
	fprintf(f, "pgalloc_fail %lu\n", (unsigned long)AO_load(&machine.pa.alloc_fail_count));
	fprintf(f, "pgbad_page %lu\n", (unsigned long)AO_load(&machine.pa.bad_page_count));
	fprintf(f, "nr_sections_online %lu\n", read_ulong(&machine.mem.online_pages) / PAGES_PER_SECTION);
}

/* The kernel's show_free_areas(), to stderr, without stdio. */
KMM_EXPORT void show_mem(void)
{
	struct mem_summary s;
	struct zone *zone;
	kmm_ensure_booted();
	summarize(&s);
	kmm_printk("Mem-Info:\n");
	kmm_printk("free:%lu slab_reclaimable:%lu slab_unreclaimable:%lu "
		   "vmalloc:%lu kmalloc_large:%lu\n", s.free, s.slab_reclaimable,
		   s.slab_unreclaimable, s.vmalloc, s.kmalloc_large);
	for_each_zone(zone) {
		char line[512];
		size_t used = 0;
		unsigned long total = 0;
		kmm_printk("Node 0 %s free:%lukB boost:0kB min:%lukB low:%lukB high:%lukB "
			   "present:%lukB managed:%lukB free_pcp:%lukB\n", zone->name,
			   KB(zone_free_frames(zone)), KB(zone->_watermark[WMARK_MIN]),
			   KB(zone->_watermark[WMARK_LOW]), KB(zone->_watermark[WMARK_HIGH]),
			   KB(zone->present_pages), KB(read_ulong(&zone->managed_pages)),
			   KB(pcp_count_zone(zone)));
		kmm_printk("lowmem_reserve[]: %ld %ld %ld %ld\n", zone->lowmem_reserve[0],
			   zone->lowmem_reserve[1], zone->lowmem_reserve[2],
			   zone->lowmem_reserve[3]);
		used += (size_t)snprintf(line, sizeof(line), "Node 0 %s:", zone->name);
		for (int o = 0; o < NR_PAGE_ORDERS && used < sizeof(line); o++) {
			unsigned long nr = read_ulong(&zone->free_area[o].nr_free);
			total += nr << o;
			used += (size_t)snprintf(line + used, sizeof(line) - used, " %lu*%lukB",
						 nr, KB(1UL << o));
		}
		kmm_printk("%s = %lukB\n", line, KB(total));
	}
	kmm_printk("%lu pages RAM\n%lu pages HighMem/MovableOnly\n0 pages reserved\n",
		   s.total, s.high_total);
}
