#!/bin/sh
# Page-allocator benchmarks: throughput (median of 5 interleaved runs),
# callgrind instructions per alloc+free pair, and boot cost.
# Usage: bench/run-page-alloc.sh [BUILDDIR]
set -eu
B=${1:-.}
run() { "$B/libtool" --mode=execute "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== alloc_pages/__free_pages throughput (ns per pair, median of 5)"
for threads in 1 2; do
	for order in 0 3 9; do
		n=2000000; [ "$order" -ge 9 ] && n=200000
		v=$(for i in 1 2 3 4 5; do
			run "$B/bench/bench_page_alloc" $order $threads $n |
				sed 's/.*ns_per_pair=\([0-9.]*\).*/\1/'
		done | median)
		echo "order=$order threads=$threads ns_per_pair=$v"
	done
done

if command -v valgrind >/dev/null 2>&1; then
	# valgrind has no rseq: slab_rseq=2 runs the same rseq sequences
	# unregistered, in the booting thread.
	echo "== callgrind instructions per pair (difference of two run lengths, slab_rseq=2)"
	for order in 0 3 9; do
		ir() {
			run valgrind --tool=callgrind --callgrind-out-file=/dev/null \
				"$B/bench/bench_page_alloc" $order 1 "$1" "mem=2G slab_rseq=2" 2>&1 |
				sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
		}
		a=$(ir 10000); b=$(ir 20000)
		echo "order=$order instructions_per_pair=$(( (b - a) / 10000 ))"
	done
else
	echo "valgrind not installed: no instruction counts"
fi

echo "== boot: instructions and peak RSS of a program that allocates once"
if command -v valgrind >/dev/null 2>&1; then
	i0=$(run valgrind --tool=callgrind --callgrind-out-file=/dev/null "$B/bench/bench_boot" none 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p')
	i1=$(run valgrind --tool=callgrind --callgrind-out-file=/dev/null "$B/bench/bench_boot" kmm 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p')
	echo "boot_instructions=$((i1 - i0))"
fi
r0=$(for i in 1 2 3 4 5; do run "$B/bench/bench_boot" none | sed 's/maxrss_kb=\([0-9]*\).*/\1/'; done | median)
r1=$(for i in 1 2 3 4 5; do run "$B/bench/bench_boot" kmm | sed 's/maxrss_kb=\([0-9]*\).*/\1/'; done | median)
t1=$(for i in 1 2 3 4 5; do run "$B/bench/bench_boot" kmm | sed 's/.*boot_us=//'; done | median)
echo "boot_rss_extra_kb=$((r1 - r0)) (median maxrss $r1 kB against $r0 kB)"
echo "boot_us=$t1 (median of 5: first alloc_page, which boots the library)"
if command -v perf >/dev/null 2>&1; then
	. "$(dirname "$0")/perf-hw.sh"
	perf_hw_say
	run perf stat -e task-clock,page-faults,context-switches "$B/bench/bench_boot" kmm 2>&1 | grep -E 'task-clock|page-faults|context' || true
fi

echo "== release to the host: 10 rounds of 256 MiB touched and freed (median round)"
for conf in "mem=1G page_reporting.reserve=0 page_reporting.delay=0" \
	    "mem=1G" "mem=1G thp=1" "mem=1G thp=1 page_reporting.reserve=0 page_reporting.delay=0"; do
	echo "$conf: $(run "$B/bench/bench_release" "$conf")"
done
