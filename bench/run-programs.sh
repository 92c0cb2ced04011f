#!/bin/sh
# Real programs on three allocators: glibc's malloc, jemalloc and libkmm
# (libkmm-malloc.so), in one run.  The workloads are those of the tests
# (tests/shim/workloads.sh).  Repetitions are interleaved (glibc, jemalloc,
# kmm, glibc, ...) so that drift of the machine hits all three alike; the
# table gives the median wall time and the median peak RSS (/usr/bin/time
# %M: the largest resident set of any process of the workload), and the
# kmm/jemalloc ratios against the targets (time <= 1.05, RSS <= 1.15).
#
# Usage: bench/run-programs.sh [BUILDDIR] [REPS] [WORKLOAD...]
#   KMM_BENCH_CONF='malloc.slab_max=32k' adds settings for the kmm runs.
set -eu
B=$(cd "${1:-.}" && pwd)
REPS=${2:-5}
[ $# -ge 2 ] && shift 2 || shift $#
S=$(cd "$(dirname "$0")/.." && pwd)
. "$S/tests/shim/workloads.sh"
names=${*:-$WL_NAMES}

KMM_LIB=$B/.libs/libkmm-malloc.so
JE_LIB=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
TIME=/usr/bin/time
[ -f "$KMM_LIB" ] || { echo "run-programs: $KMM_LIB not built (make)" >&2; exit 1; }
[ -f "$JE_LIB" ] || { echo "run-programs: $JE_LIB missing (apt-get install libjemalloc2)" >&2; exit 1; }
[ -x "$TIME" ] || { echo "run-programs: $TIME missing (apt-get install time)" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/kmm-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
wl_setup "$T/inputs"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run ALLOC WORKLOAD: one timed run; appends "secs kib" to $T/ALLOC.WORKLOAD
run() {
	alloc=$1 w=$2
	case $alloc in
	glibc) pre="env LD_PRELOAD=" ;;
	jemalloc) pre="env LD_PRELOAD=$JE_LIB" ;;
	kmm) pre="env LD_PRELOAD=$KMM_LIB KMM_CONF=${KMM_BENCH_CONF:-}" ;;
	esac
	rm -rf "$T/run" && mkdir -p "$T/run"
	# shellcheck disable=SC2086
	(cd "$T/run" && "wl_$w" "$TIME" -f '%e %M' -o "$T/time.out" $pre) \
		>"$T/out.$alloc.$w" 2>"$T/err"
	tail -n 1 "$T/time.out" >>"$T/$alloc.$w"
	if [ "$alloc" != glibc ] && ! cmp -s "$T/out.glibc.$w" "$T/out.$alloc.$w"; then
		echo "run-programs: $w: output under $alloc differs from glibc's" >&2
		exit 1
	fi
}

echo "libkmm real-program benchmark: $(nproc) CPUs, $REPS interleaved repetitions, medians"
echo "command: bench/run-programs.sh $B $REPS${KMM_BENCH_CONF:+ (KMM_BENCH_CONF=$KMM_BENCH_CONF)}"
printf '%-14s %9s %9s %9s %7s | %9s %9s %9s %7s\n' workload \
	"glibc s" "jemal s" "kmm s" "kmm/je" "glibc MB" "jemal MB" "kmm MB" "kmm/je"
for w in $names; do
	for r in $(seq 1 "$REPS"); do
		for a in glibc jemalloc kmm; do
			run $a "$w"
		done
	done
	set --
	for a in glibc jemalloc kmm; do
		t=$(awk '{print $1}' "$T/$a.$w" | median)
		m=$(awk '{print $2}' "$T/$a.$w" | median)
		set -- "$@" "$t" "$m"
	done
	awk -v w="$w" -v gt="$1" -v gm="$2" -v jt="$3" -v jm="$4" -v kt="$5" -v km="$6" 'BEGIN {
		rt = jt > 0 ? kt / jt : 0; rm = jm > 0 ? km / jm : 0
		printf "%-14s %9.2f %9.2f %9.2f %6.2f%s | %9.1f %9.1f %9.1f %6.2f%s\n", w,
			gt, jt, kt, rt, rt <= 1.05 ? " " : "!", gm / 1024, jm / 1024, km / 1024,
			rm, rm <= 1.15 ? " " : "!"
	}'
done
echo "(! marks a ratio above its target: time 1.05, peak RSS 1.15)"
