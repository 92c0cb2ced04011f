#!/bin/sh
# vmalloc benchmarks: vmalloc/vfree against mmap/munmap and jemalloc
# malloc/free (ns per pair, every page touched once; medians of 5 runs,
# the three modes interleaved), page faults and task-clock from perf stat,
# and the area lookup cost as live areas grow from 10 to 100 000.
# Usage: bench/run-vmalloc.sh [BUILDDIR]
set -eu
B=${1:-.}
run() { "$B/libtool" --mode=execute "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ns() { sed -n 's/.*ns_per_pair=\([0-9.]*\).*/\1/p'; }
JE="$B/bench/bench_vmalloc_je"
[ -x "$JE" ] || JE=

modes="vmalloc mmap"
[ -n "$JE" ] && modes="$modes jemalloc" || echo "jemalloc not linked: bench_vmalloc_je not built"
pairs_for() { case $1 in 65536) echo 20000;; 1048576) echo 2000;; *) echo 120;; esac; }
bin_for() { [ "$1" = jemalloc ] && echo "$JE" || echo "$B/bench/bench_vmalloc"; }

echo "== pairs: allocate, touch each page, free (ns per pair, median of 5 interleaved runs)"
for size in 65536 1048576 16777216; do
	n=$(pairs_for $size)
	tmp=$(mktemp -d)
	for i in 1 2 3 4 5; do
		for m in $modes; do
			run "$(bin_for $m)" pair $m $size $n | ns >> "$tmp/$m"
		done
	done
	for m in $modes; do
		echo "size=$size mode=$m ns_per_pair=$(median < "$tmp/$m")"
	done
	rm -rf "$tmp"
done

if command -v perf >/dev/null 2>&1; then
	. "$(dirname "$0")/perf-hw.sh"
	perf_hw_say
	echo "== perf stat -e page-faults,task-clock (per pair)"
	for size in 65536 1048576 16777216; do
		n=$(pairs_for $size)
		for m in $modes; do
			out=$(run perf stat -x, -e page-faults,task-clock "$(bin_for $m)" pair $m $size $n 2>&1 >/dev/null)
			pf=$(echo "$out" | awk -F, '/page-faults/ {print $1}')
			tc=$(echo "$out" | awk -F, '/task-clock/ {print $1}')
			echo "size=$size mode=$m faults_per_pair=$(awk -v a="$pf" -v n=$n 'BEGIN{printf "%.1f", a/n}') task_clock_ms=$tc"
		done
	done
else
	echo "perf not installed: no page-fault counts"
fi

echo "== area lookup (find_vmap_area) and one-page vmalloc+vfree as live areas grow (median of 5)"
for areas in 10 100 1000 10000 100000; do
	tmp=$(mktemp)
	for i in 1 2 3 4 5; do
		run "$B/bench/bench_vmalloc" lookup $areas 1000000 >> "$tmp"
	done
	l=$(sed -n 's/.*lookup_ns=\([0-9.]*\).*/\1/p' "$tmp" | median)
	p=$(sed -n 's/.*pair_ns=\([0-9.]*\).*/\1/p' "$tmp" | median)
	h=$(sed -n 's/.*\(busy_height=[0-9]* free_height=[0-9]*\).*/\1/p' "$tmp" | head -1)
	echo "areas=$areas lookup_ns=$l pair_ns=$p $h log2_areas=$(awk -v n=$areas 'BEGIN{printf "%.1f", log(n)/log(2)}')"
	rm -f "$tmp"
done
