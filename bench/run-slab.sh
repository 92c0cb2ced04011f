#!/bin/sh
# Slab benchmarks against jemalloc, side by side in one run:
#  - callgrind instructions per alloc+free pair (difference of two run
#    lengths, so set-up and boot cancel out).  Valgrind does not implement
#    the rseq system call, so glibc registers no rseq area under it and
#    libkmm runs its per-CPU-lock fallback; "kmalloc-rseq" re-runs with
#    slab_rseq=2, which executes the same rseq instruction sequences
#    without registration (one thread only) to count the rseq fast path.
#  - throughput, ns per pair, median of 5 interleaved runs, 1 and 2
#    threads (2 threads: a third of the frees are cross-thread, cross-CPU).
# BENCH_KMM_CONF (e.g. "init_on_alloc=1") applies to every libkmm run, to
# measure the cost of an option.
# Usage: bench/run-slab.sh [BUILDDIR]
set -eu
B=${1:-.}
run() { "$B/libtool" --mode=execute "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
SIZES="16 64 256 1024 4096"

if command -v valgrind >/dev/null 2>&1; then
	echo "== callgrind instructions per pair"
	ir() {   # MODE SIZE PAIRS [CONF]
		bin=bench_slab; [ "$1" = jemalloc ] && bin=bench_slab_je
		BENCH_KMM_CONF="${BENCH_KMM_CONF:-} ${4:-}" run valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			"$B/bench/$bin" "$1" "$2" 1 "$3" 2>&1 |
			sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
	}
	for size in $SIZES; do
		line="size=$size"
		for m in kmalloc kmalloc-rseq cache-rseq jemalloc; do
			mode=${m%-rseq}; conf=""
			[ "$m" != "$mode" ] && conf="slab_rseq=2"
			a=$(ir $mode $size 100000 "$conf"); b=$(ir $mode $size 200000 "$conf")
			line="$line $m=$(( (b - a) / 100000 ))"
		done
		echo "$line"
	done
else
	echo "valgrind not installed: no instruction counts"
fi

echo "== throughput (ns per pair, median of 5 interleaved runs)"
for threads in 1 2; do
	for size in $SIZES; do
		n=3000000
		for i in 1 2 3 4 5; do
			for m in kmalloc cache jemalloc; do
				bin=bench_slab; [ "$m" = jemalloc ] && bin=bench_slab_je
				echo "$m $(run "$B/bench/$bin" $m $size $threads $n |
					sed 's/.*ns_per_pair=\([0-9.]*\).*/\1/')"
			done
		done > /tmp/bench-slab.$$
		k=$(awk '$1=="kmalloc"{print $2}' /tmp/bench-slab.$$ | median)
		c=$(awk '$1=="cache"{print $2}' /tmp/bench-slab.$$ | median)
		j=$(awk '$1=="jemalloc"{print $2}' /tmp/bench-slab.$$ | median)
		rm -f /tmp/bench-slab.$$
		echo "threads=$threads size=$size kmalloc=$k cache=$c jemalloc=$j" \
		     "throughput_ratio_kmalloc/je=$(echo "$j $k" | awk '{printf "%.2f", $1/$2}')" \
		     "cache/je=$(echo "$j $c" | awk '{printf "%.2f", $1/$2}')"
	done
done
# The instruction counts above are callgrind's either way.
. "$(dirname "$0")/perf-hw.sh"
perf_hw_say
