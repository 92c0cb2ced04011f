#!/usr/bin/env python3
"""report.py - bench/RESULTS.md, results.csv and the charts from a run of
bench/run-bench.sh.

Input: the run's meta file (name=value lines) and its CSV of every run
(workload,allocator,rep,metric,value).  Output: a Markdown report (machine,
versions, headline table, one table per workload, every figure with its
ratio to jemalloc), a summary CSV (median, min, max, ratio per workload,
metric and allocator) and PNG charts drawn by gnuplot.

Ratios: a figure divided by jemalloc's figure for the same workload and
metric in the same run.  In the headline and the charts every ratio is a
cost, above 1 worse than jemalloc: time over jemalloc's time, or jemalloc's
throughput over ours.
"""
import argparse
import collections
import csv
import math
import os
import shutil
import statistics
import subprocess
import tempfile

BASE = "jemalloc"
ORDER = ["jemalloc", "kmm", "glibc", "tcmalloc", "mimalloc"]
WL_ORDER = ["sizes", "threads-1", "threads-2", "threads-4", "prodcons", "larson",
            "frag", "python", "gcc", "sqlite", "redis", "callgrind"]
WL_TITLE = {
    "sizes": "Size sweep: malloc/free pairs, 8 B .. 1 MiB, one thread",
    "threads-1": "Threads: 1 thread allocating and freeing privately",
    "threads-2": "Threads: 2 threads allocating and freeing privately",
    "threads-4": "Threads: 4 threads allocating and freeing privately",
    "prodcons": "Producer/consumer: every object freed by the other thread",
    "larson": "Larson-style server: 4 threads replacing random slots of a shared array",
    "frag": "Fragmentation: fill, free a random 90 %, refill with other sizes, malloc_trim(0)",
    "python": "python3: JSON, dicts, lists, sorting (bench/prog_python.py)",
    "gcc": "gcc -O2 -g: compiling libkmm's lib/*.c",
    "sqlite": "sqlite3: in-memory database built, indexed, joined (bench/prog_sqlite.sql)",
    "redis": "redis-server under redis-benchmark on 127.0.0.1",
    "callgrind": "callgrind: instructions per malloc+free pair (difference of two run lengths)",
}
# (workload, metric) that the headline shows for time; None: geomean of the
# ns_per_pair@ metrics.
HEAD_TIME = {"sizes": None, "threads-1": "ops_per_s", "threads-2": "ops_per_s",
             "threads-4": "ops_per_s", "prodcons": "ops_per_s", "larson": "ops_per_s",
             "frag": "wall_s", "python": "wall_s", "gcc": "wall_s", "sqlite": "wall_s",
             "redis": "rps_geomean"}
HEAD_MEM = {w: "maxrss_kb" for w in HEAD_TIME}
HEAD_MEM["frag"] = "rss_refill_kb"
UNITS = {"wall_s": "s", "user_s": "s", "sys_s": "s", "maxrss_kb": "KiB",
         "task_clock_ms": "ms", "ops_per_s": "/s"}
DESCR = {
    "wall_s": "wall time (s)", "user_s": "user time (s)", "sys_s": "system time (s)",
    "maxrss_kb": "peak RSS (KiB)", "task_clock_ms": "perf task-clock (ms)",
    "page_faults": "perf page-faults", "context_switches": "perf context-switches",
    "cpu_migrations": "perf cpu-migrations", "cycles": "perf cycles",
    "instructions": "perf instructions", "ops_per_s": "throughput (ops/s)",
    "rps_geomean": "requests/s, geometric mean of the tests",
    "live_kb": "bytes live at the fill (KiB)", "rss_full_kb": "RSS after the fill (KiB)",
    "rss_holes_kb": "RSS after freeing 90 % (KiB)", "rss_refill_kb": "RSS after the refill (KiB)",
    "peak_kb": "VmHWM (KiB)", "rss_freed_kb": "RSS after freeing the refill (KiB)",
    "rss_trim_kb": "RSS after malloc_trim(0) (KiB)",
    "trim_returned_kb": "given back by malloc_trim(0) (KiB)",
    "overhead_pct": "RSS after the refill over live bytes, -100 (%)",
    "rss_end_kb": "RSS at the end (KiB)", "keys": "keys in the database",
}


def higher_is_better(metric):
    return (metric.endswith("_per_s") or metric.startswith("rps")
            or metric == "trim_returned_kb")


def metric_key(m):
    """Sort metrics: workload figures first, then time, memory, perf."""
    common = ["wall_s", "user_s", "sys_s", "maxrss_kb", "task_clock_ms", "page_faults",
              "context_switches", "cpu_migrations", "cycles", "instructions"]
    if "@" in m:
        name, arg = m.split("@", 1)
        try:
            return (0, name, float(arg), "")
        except ValueError:
            return (0, name, 0.0, arg)
    if m in common:
        return (2, "", common.index(m), m)
    return (1, "", 0.0, m)


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    a = abs(v)
    if a >= 1e6:
        return "%.3gM" % (v / 1e6) if a < 1e9 else "%.3gG" % (v / 1e9)
    if a >= 1e4:
        return "%.0f" % v
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3g" % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--failures")
    ap.add_argument("--md", required=True)
    ap.add_argument("--charts", default="none")
    ap.add_argument("--copy-csv")
    args = ap.parse_args()

    meta = {}
    with open(args.meta) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    runs = collections.defaultdict(list)      # (w, a, m) -> [values]
    with open(args.csv) as f:
        for row in csv.DictReader(f):
            try:
                runs[(row["workload"], row["allocator"], row["metric"])].append(float(row["value"]))
            except ValueError:
                pass
    failures = []
    if args.failures and os.path.exists(args.failures):
        with open(args.failures) as f:
            failures = [l.strip() for l in f if l.strip()]

    allocs = [a for a in ORDER if a in meta.get("allocators", "").split()]
    allocs += [a for a in meta.get("allocators", "").split() if a not in allocs]
    others = [a for a in allocs if a != BASE]
    workloads = sorted({k[0] for k in runs}, key=lambda w: (WL_ORDER.index(w) if w in WL_ORDER else 99, w))

    med = {k: statistics.median(v) for k, v in runs.items()}
    spread = {}
    for k, v in runs.items():
        m = med[k]
        spread[k] = (max(v) - min(v)) / 2 / abs(m) * 100 if m and len(v) > 1 else 0.0

    def ratio(w, a, m):
        b = med.get((w, BASE, m))
        v = med.get((w, a, m))
        if b is None or v is None or b == 0:
            return None
        return v / b

    def cost(w, a, m):
        """Above 1: worse than jemalloc."""
        r = ratio(w, a, m)
        if r is None or r == 0:
            return None
        return 1 / r if higher_is_better(m) else r

    def head_time(w, a):
        m = HEAD_TIME.get(w)
        if w == "sizes":
            rs = [cost(w, a, k[2]) for k in med if k[0] == w and k[1] == a and k[2].startswith("ns_per_pair@")]
            rs = [r for r in rs if r]
            return math.exp(sum(math.log(r) for r in rs) / len(rs)) if rs else None
        return cost(w, a, m) if m else None

    def head_mem(w, a):
        m = HEAD_MEM.get(w)
        return cost(w, a, m) if m else None

    def noisy(w, m, a="kmm"):
        """The larger spread of the two medians compared (a's and jemalloc's), in %."""
        return max(spread.get((w, BASE, m), 0), spread.get((w, a, m), 0))

    # -------------------------------------------------------- summary CSV
    summary = os.path.join(os.path.dirname(os.path.abspath(args.md)), "results.csv")
    if args.copy_csv:
        summary = args.copy_csv
        runs_copy = os.path.join(os.path.dirname(summary), "results-runs.csv")
        shutil.copyfile(args.csv, runs_copy)
    with open(summary, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["workload", "metric", "allocator", "median", "min", "max", "runs",
                      "spread_pct", "ratio_to_jemalloc", "higher_is_better"])
        for (w, a, m) in sorted(runs, key=lambda k: (workloads.index(k[0]), metric_key(k[2]), allocs.index(k[1]) if k[1] in allocs else 99)):
            v = runs[(w, a, m)]
            r = ratio(w, a, m)
            out.writerow([w, m, a, "%.6g" % med[(w, a, m)], "%.6g" % min(v), "%.6g" % max(v), len(v),
                          "%.1f" % spread[(w, a, m)], "" if r is None else "%.4f" % r,
                          int(higher_is_better(m))])

    # -------------------------------------------------------- charts
    charts = []
    if args.charts != "none" and shutil.which("gnuplot"):
        os.makedirs(args.charts, exist_ok=True)
        charts = draw_charts(args.charts, workloads, allocs, others, med, head_time, head_mem)

    # -------------------------------------------------------- Markdown
    L = []
    L.append("# libkmm benchmarks against jemalloc")
    L.append("")
    L.append("Generated by `bench/run-bench.sh%s` (`make bench`) on %s; %s mode, %s interleaved round(s), %s s in all."
             % (" --quick" if meta.get("mode") == "quick" else "", meta.get("date", "?"),
                meta.get("mode", "?"), meta.get("reps", "?"), meta.get("elapsed_s", "?")))
    L.append("Every figure is the median of the rounds; ± is half the range (max-min) over the median;")
    L.append("×R is the ratio to jemalloc's median in the same run.")
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    for k, label in [("os", "OS"), ("host_kernel", "kernel"), ("cpu", "CPU"), ("cpus", "CPUs"),
                     ("memory", "memory")]:
        L.append("| %s | %s |" % (label, meta.get(k, "?")))
    hw = meta.get("perf_hw") == "yes"
    L.append("| perf | software events: %s; hardware counters: %s |"
             % (meta.get("perf_events", "none"),
                "yes" if hw else "**not supported on this machine** (`perf stat -e instructions` says `<not supported>`), so no cycles or instructions from perf; callgrind gives the instruction counts"))
    L.append("")
    L.append("Versions (Debian packages):")
    L.append("")
    L.append("| allocator or program | version |")
    L.append("|---|---|")
    for k, label in [("ver_jemalloc", "jemalloc (libjemalloc2), the baseline"), ("ver_kmm", "libkmm (libkmm-malloc.so)"),
                     ("ver_glibc", "glibc malloc (libc6)"), ("ver_tcmalloc", "tcmalloc (libgoogle-perftools4, libtcmalloc_minimal)"),
                     ("ver_mimalloc", "mimalloc (libmimalloc2.0)"), ("ver_python", "python3"), ("ver_gcc", "gcc"),
                     ("ver_sqlite", "sqlite3"), ("ver_redis", "redis-server"), ("ver_valgrind", "valgrind")]:
        L.append("| %s | %s |" % (label, meta.get(k, "?")))
    L.append("")
    L.append("Allocators in this run: %s." % ", ".join(allocs))
    if "kmm" not in allocs:
        L.append("")
        L.append("**libkmm is not in this run**: the build tree had no `kmm-run` (the shim had not landed).")
    L.append("")

    if failures:
        L.append("## Failed runs")
        L.append("")
        for l in failures:
            L.append("- " + l)
        L.append("")

    L.append("## Headline: cost relative to jemalloc (above 1: slower or bigger)")
    L.append("")
    L.append("Time: the workload's own figure (throughput, or wall time for the programs; the size sweep is")
    L.append("the geometric mean over its sizes). Memory: peak RSS (for frag: RSS after the refill).")
    L.append("")
    L.append("| workload | " + " | ".join("time %s" % a for a in others) + " | " + " | ".join("memory %s" % a for a in others) + " |")
    L.append("|---|" + "---:|" * (2 * len(others)))
    for w in workloads:
        if w == "callgrind":
            continue
        cells = [bold_if_kmm(a, head_time(w, a)) for a in others] + [bold_if_kmm(a, head_mem(w, a)) for a in others]
        L.append("| %s | %s |" % (w, " | ".join(cells)))
    if "callgrind" in workloads:
        cells = []
        for a in others:
            rs = [ratio("callgrind", a, k[2]) for k in med if k[0] == "callgrind" and k[1] == a]
            rs = [r for r in rs if r]
            cells.append(bold_if_kmm(a, math.exp(sum(map(math.log, rs)) / len(rs)) if rs else None))
        L.append("| callgrind instructions/pair (geomean) | %s |%s" % (" | ".join(cells), " |" * len(others)))
    L.append("")
    for c in charts:
        L.append("![%s](%s)" % (c[1], os.path.relpath(c[0], os.path.dirname(os.path.abspath(args.md)))))
        L.append("")

    if "kmm" in allocs:
        L.append("## Where libkmm loses to jemalloc")
        L.append("")
        L.append("Headline figures where libkmm's cost ratio is above 1 (the spread is the larger of the two medians' ±):")
        L.append("")
        lost = False
        missing = [w for w in workloads if w != "callgrind" and head_time(w, "kmm") is None]
        if missing:
            L.append("- no figures for libkmm (its runs failed, see above): %s" % ", ".join(missing))
            lost = True
        for w in workloads:
            if w == "callgrind":
                continue
            for kind, fn, table in (("time", head_time, HEAD_TIME), ("memory", head_mem, HEAD_MEM)):
                r = fn(w, "kmm")
                if r and r > 1:
                    m = table.get(w) or "ns_per_pair@*"
                    sp = noisy(w, m) if table.get(w) else 0
                    L.append("- %s, %s (%s): ×%.2f%s" % (w, kind, m, r,
                             " (within the noise: ±%.0f %%)" % sp if (r - 1) * 100 < sp else ""))
                    lost = True
        if not lost:
            L.append("- none")
        L.append("")
        prof = os.path.join(os.path.dirname(os.path.abspath(__file__)), "PROFILE.md")
        if os.path.exists(prof):
            L.append("What the profiles say about each (written by hand for a given run, so check its date): "
                     "[PROFILE.md](%s)." % os.path.relpath(prof, os.path.dirname(os.path.abspath(args.md))))
            L.append("")

    L.append("## Per workload")
    L.append("")
    for w in workloads:
        L.append("### %s" % WL_TITLE.get(w, w))
        L.append("")
        cmd = meta.get("cmd_" + w)
        if cmd:
            L.append("`%s`" % cmd.replace(os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + "/", ""))
            L.append("")
        L.append("| metric | " + " | ".join(allocs) + " |")
        L.append("|---|" + "---:|" * len(allocs))
        metrics = sorted({k[2] for k in med if k[0] == w}, key=metric_key)
        for m in metrics:
            cells = []
            for a in allocs:
                v = med.get((w, a, m))
                if v is None:
                    cells.append("-")
                    continue
                c = fmt(v)
                if spread.get((w, a, m)):
                    c += " ±%.0f%%" % spread[(w, a, m)]
                r = ratio(w, a, m)
                if a != BASE and r is not None:
                    c += " ×%.2f" % r
                cells.append(c)
            name = m
            if "@" not in m and m in DESCR:
                name = "%s: %s" % (m, DESCR[m])
            elif m.startswith("ns_per_pair@"):
                name = "ns per pair, %s" % human_size(m.split("@")[1])
            elif m.startswith("insn_per_pair@"):
                name = "instructions per pair, %s" % human_size(m.split("@")[1])
            elif m.startswith("rps@"):
                name = "requests/s, %s" % m.split("@")[1]
            L.append("| %s | %s |" % (name, " | ".join(cells)))
        L.append("")
        note = NOTES.get(w)
        if note:
            note = note.replace("%(callgrind_kmm_conf)s", meta.get("callgrind_kmm_conf", "?"))
            note = note.replace("%(redis_glibc)s", "" if meta.get("redis_glibc_preload") == "yes"
                                else " (**not in this run**: the glibc column is jemalloc)")
            L.append(note)
            L.append("")

    L.append("## How it was measured")
    L.append("")
    L.extend(METHOD)
    L.append("")
    with open(args.md, "w") as f:
        f.write("\n".join(L))


NOTES = {
    "frag": ("jemalloc, tcmalloc and mimalloc do not export `malloc_trim`; under them the call reaches "
             "glibc's, which has nothing to trim, so their `trim_returned_kb` is 0 and what they give "
             "back they give back on their own schedule (jemalloc's decay, 10 s by default)."),
    "redis": ("Debian's redis-server is linked with jemalloc. Its glibc column preloads bench/glibc_malloc.c, "
              "which hands the malloc family to glibc's `__libc_malloc` and the rest%(redis_glibc)s. "
              "Under a preloaded allocator the malloc family "
              "goes to that allocator, while redis' calls of `mallctl` and `nallocx` (statistics, size "
              "hints) still reach the linked jemalloc. Time, RSS and perf figures are the server's; "
              "redis-benchmark runs on glibc for every column."),
    "callgrind": ("Under valgrind, which does not implement rseq, libkmm finds its CPU through the "
                  "fallback path; outside valgrind the fast path reads rseq's cpu_id. Valgrind also refuses "
                  "libkmm's default reservation (a direct map as large as the machine's memory), so libkmm "
                  "runs with `KMM_CONF=%(callgrind_kmm_conf)s` under it."),
    "gcc": "RSS is the largest of the driver and its cc1 and as children, all under the allocator.",
}

METHOD = [
    "- Each allocator but glibc is put under the unmodified program by `env LD_PRELOAD=...`; for libkmm that is",
    "  the `libkmm-malloc.so` that `kmm-run --lib` names, so every allocator pays the same exec. `KMM_CONF` is unset.",
    "- Rounds are interleaved (for each round, for each workload, each allocator once: A B C A B C ...), so",
    "  that the noise of a shared machine falls on every allocator alike.",
    "- `perf stat` runs `/usr/bin/time -f`, which runs the program: peak RSS is the program's (the largest of it",
    "  and its children), not perf's.",
    "- callgrind counts `bench_sizes -x -n N -s SIZE` at N and 2N pairs; the difference over N is the cost of one",
    "  malloc+free pair, without start-up, boot or warm-up.",
    "- The workloads check what they wrote (exit 3 on a wrong result); python3, sqlite3 and gcc print a checksum",
    "  (gcc: of the object files) that must be the same under every allocator.",
    "- Raw files of the last run: `BUILDDIR/bench-out/raw/`; every run's figures: `bench/results-runs.csv`;",
    "  medians, spreads and ratios: `bench/results.csv`.",
]


def human_size(s):
    n = int(float(s))
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return "%d MiB" % (n >> 20)
    if n >= 1024 and n % 1024 == 0:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


def bold_if_kmm(a, r):
    if r is None:
        return "-"
    s = "%.2f" % r
    return "**%s**" % s if a == "kmm" else s


COLORS = {"kmm": "#d62728", "glibc": "#7f7f7f", "tcmalloc": "#1f77b4", "mimalloc": "#2ca02c",
          "jemalloc": "#000000"}


def draw_charts(outdir, workloads, allocs, others, med, head_time, head_mem):
    charts = []
    tmp = tempfile.mkdtemp(prefix="kmm-charts.")
    wl = [w for w in workloads if w != "callgrind"]

    def log2tics(lo, hi):
        tics = []
        for e in range(int(math.floor(lo)), int(math.ceil(hi)) + 1):
            tics.append('"%s" %d' % (("%g" % (2.0 ** e)), e))
        return ", ".join(tics)

    def ratio_chart(name, title, fn):
        path = os.path.join(tmp, name + ".dat")
        vals = []
        with open(path, "w") as f:
            for w in wl:
                row = []
                for a in others:
                    r = fn(w, a)
                    v = math.log2(r) if r else 0.0
                    vals.append(v)
                    row.append("%.4f" % v if r else "NaN")
                f.write("%s %s\n" % (w, " ".join(row)))
        lo = min(vals + [-1]) - 0.3
        hi = max(vals + [1]) + 0.3
        png = os.path.join(outdir, name + ".png")
        histogram_png(png, title, path, others, f"""set boxwidth 0.9
set yrange [{lo}:{hi}]
set ytics ({log2tics(lo, hi)})
set ylabel 'ratio to jemalloc (log scale)'
set xtics rotate by -30
set arrow from graph 0, first 0 to graph 1, first 0 nohead lw 2 lc rgb '#000000'
""")
        charts.append((png, title))

    ratio_chart("time", "Time relative to jemalloc (above 1: slower than jemalloc)", head_time)
    ratio_chart("memory", "Peak RSS relative to jemalloc (above 1: more memory than jemalloc)", head_mem)

    # Size sweep: ns per pair by size, every allocator.
    def line_chart(name, title, workload, prefix, ylabel):
        sizes = sorted({int(float(k[2].split("@")[1])) for k in med if k[0] == workload and k[2].startswith(prefix)})
        if not sizes:
            return
        path = os.path.join(tmp, name + ".dat")
        with open(path, "w") as f:
            for s in sizes:
                f.write("%d %s\n" % (s, " ".join("%.4g" % med[(workload, a, "%s%d" % (prefix, s))]
                                                if (workload, a, "%s%d" % (prefix, s)) in med else "NaN" for a in allocs)))
        png = os.path.join(outdir, name + ".png")
        plots = ", ".join("'%s' using 1:%d with linespoints lw %d pt 7 lc rgb '%s' title '%s'"
                          % (path, i + 2, 3 if a in ("kmm", "jemalloc") else 1, COLORS.get(a, "#9467bd"), a)
                          for i, a in enumerate(allocs))
        script = f"""
set terminal pngcairo size 1100,520 font ',10' noenhanced
set output '{png}'
set title "{title}"
set logscale x 2
set logscale y
set xtics ('8 B' 8, '64 B' 64, '512 B' 512, '4 KiB' 4096, '32 KiB' 32768, '256 KiB' 262144, '1 MiB' 1048576)
set xlabel 'request size'
set ylabel '{ylabel}'
set grid
set key top left
plot {plots}
"""
        run_gnuplot(script)
        charts.append((png, title))

    line_chart("sizes", "Size sweep: ns per malloc+free pair (median)", "sizes", "ns_per_pair@", "ns per pair (log)")
    line_chart("instructions", "callgrind: instructions per malloc+free pair", "callgrind", "insn_per_pair@",
               "instructions per pair (log)")

    # Fragmentation: RSS at each step.
    steps = ["live_kb", "rss_full_kb", "rss_holes_kb", "rss_refill_kb", "rss_freed_kb", "rss_trim_kb"]
    if any(("frag", a, "rss_refill_kb") in med for a in allocs):
        path = os.path.join(tmp, "frag.dat")
        with open(path, "w") as f:
            labels = {"live_kb": "live bytes", "rss_full_kb": "filled", "rss_holes_kb": "90%-freed",
                      "rss_refill_kb": "refilled", "rss_freed_kb": "refill-freed", "rss_trim_kb": "malloc_trim(0)"}
            for s in steps:
                f.write("%s %s\n" % (labels[s].replace(" ", "-"), " ".join(
                    "%.1f" % (med[("frag", a, s)] / 1024) if ("frag", a, s) in med else "NaN" for a in allocs)))
        png = os.path.join(outdir, "frag.png")
        histogram_png(png, "Fragmentation: RSS at each step (MiB; lower is better)", path, allocs,
                      "set ylabel 'MiB'\nset yrange [0:*]\n")
        charts.append((png, "Fragmentation: RSS at each step"))
    shutil.rmtree(tmp, ignore_errors=True)
    return charts


def histogram_png(png, title, path, series, settings):
    """A clustered histogram of the columns of `path` (one per series, the
    first column the labels), with the chart's own gnuplot settings."""
    plots = ", ".join("'%s' using %d:xtic(1) title '%s' lc rgb '%s'" % (path, i + 2, a, COLORS.get(a, "#9467bd"))
                      for i, a in enumerate(series))
    run_gnuplot(f"""
set terminal pngcairo size 1100,520 font ',10' noenhanced
set output '{png}'
set title "{title}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key top center horizontal outside
set tmargin 5
set grid ytics
{settings}plot {plots}
""")


def run_gnuplot(script):
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


if __name__ == "__main__":
    main()
