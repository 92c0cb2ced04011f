#!/bin/bash
# run-large.sh - large blocks, side by side: bench_large's churn (64 KiB+1
# .. 3 MiB blocks: malloc, free, realloc, a checked word per page) and zero
# (calloc of 5..25 MiB, checked to be zero, one store per 4 KiB, free)
# under glibc, jemalloc, tcmalloc, mimalloc and libkmm.
#
# Usage: bench/run-large.sh [--quick] [--rounds R] [--churn-n STEPS]
#                           [--zero-n ALLOCS] [--seed S] [--allocators 'A...']
#                           [--kmm-conf 'SETTINGS'] [--out DIR] [BUILDDIR]
#
#   BUILDDIR     the build holding bench/bench_large and kmm-run (default
#                build/dev of the source tree)
#   --rounds R   rounds (default 3), interleaved: each round runs every
#                allocator once per mode, churn then zero
#   --churn-n, --zero-n   bench_large's -n (defaults 200000 and 2000, its
#                own: a churn run takes 3-20 s here, a zero run 1.5-50 s
#                (jemalloc faults in every block); --zero-n 500 makes a
#                round about a minute)
#   --seed S     bench_large's -s (default: its fixed seed); every run of a
#                mode does the same work, whatever the allocator
#   --allocators 'A...'   only these of glibc jemalloc tcmalloc mimalloc kmm
#   --kmm-conf   KMM_CONF for the kmm runs (every other run has none)
#   --quick      a smoke test: 1 round, churn -n 300, zero -n 10 (seconds)
#   --out DIR    raw files (default BUILDDIR/bench-large, or
#                BUILDDIR/bench-large-quick with --quick)
#
# Allocators: glibc (no preload); jemalloc (libjemalloc.so.2, Debian
# package libjemalloc2: required, the baseline of the ratios); tcmalloc
# (libtcmalloc.so.4, libgoogle-perftools4) and mimalloc (libmimalloc.so.2,
# libmimalloc2.0) when installed (scripts/install-deps.sh --bench); kmm,
# the libkmm-malloc.so that `BUILDDIR/kmm-run --lib` names.  Every one but
# glibc is put under the program by LD_PRELOAD through env(1), kmm too
# (kmm-run does no more than that and exec), so that each pays the same
# start-up; a library that ld.so could not preload fails the run.
#
# Each run records wall, user and system time and peak RSS from GNU time
# (/usr/bin/time, inside perf so that the RSS is the program's), page
# faults (minor + major) and task-clock from perf stat's software events,
# and the loop's own wall time that bench_large prints.  Without perf the
# faults are GNU time's minor + major.  Hardware counters are not used
# (this machine has none; bench/perf-hw.sh says which).
#
# Prints, per mode and allocator, the medians over the rounds: user+sys and
# wall seconds, the loop's seconds, page faults, peak RSS; the ratios of
# each to jemalloc's median; and for zero the time ratios to the better of
# glibc and tcmalloc (min of their medians).  The table is also in
# OUT/table.txt, every figure of every run in OUT/runs.csv.  Exit status 1
# when a run failed (a crash, a wrong result, a missing output line), 2 on
# a usage or set-up error; never on slowness.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
quick=no rounds=3 churn_n=200000 zero_n=2000 seed= out= B= only= kmm_conf=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=yes; shift ;;
	--rounds) rounds=$2; shift 2 ;;
	--churn-n) churn_n=$2; shift 2 ;;
	--zero-n) zero_n=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--allocators) only=$2; shift 2 ;;
	--kmm-conf) kmm_conf=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	-*) echo "run-large: unknown option $1" >&2; exit 2 ;;
	*) B=$1; shift ;;
	esac
done
B=$(cd "${B:-$top/build/dev}" && pwd)
bin=$B/bench/bench_large
if [ ! -x "$bin" ]; then
	echo "run-large: $bin not built (make -C $B bench/bench_large, or" \
		"gcc -O2 -o $bin $top/bench/bench_large.c)" >&2
	exit 2
fi
if [ "$quick" = yes ]; then
	rounds=1 churn_n=300 zero_n=10
	out=${out:-$B/bench-large-quick}
	limit=60
else
	out=${out:-$B/bench-large}
	limit=1800
fi
[ -x /usr/bin/time ] || { echo "run-large: /usr/bin/time is needed (Debian package time)" >&2; exit 2; }
raw=$out/raw
rm -rf "$raw"
mkdir -p "$raw"

# ------------------------------------------------------------ allocators
libdir=/usr/lib/x86_64-linux-gnu
[ -d "$libdir" ] || libdir=/usr/lib
ALLOCS=() LIBS=()
add_alloc() {
	if [ -n "$only" ] && ! [[ " $only " == *" $1 "* ]]; then
		return 0
	fi
	ALLOCS+=("$1") LIBS+=("$2")
}
add_alloc glibc ""
je=$libdir/libjemalloc.so.2
if [ ! -f "$je" ]; then
	echo "run-large: jemalloc, the baseline, is missing ($je; Debian package libjemalloc2)" >&2
	exit 2
fi
add_alloc jemalloc "$je"
for a in "tcmalloc libtcmalloc.so.4 libgoogle-perftools4" "mimalloc libmimalloc.so.2 libmimalloc2.0"; do
	read -r name file pkg <<<"$a"
	if [ -f "$libdir/$file" ]; then
		add_alloc "$name" "$libdir/$file"
	else
		echo "run-large: $name not installed ($libdir/$file, Debian package $pkg): left out" >&2
	fi
done
kmmrun=$B/kmm-run
if [ -x "$kmmrun" ] && kmmlib=$("$kmmrun" --lib 2>/dev/null) && [ -f "$kmmlib" ]; then
	add_alloc kmm "$kmmlib"
else
	echo "run-large: no libkmm-malloc.so through $kmmrun --lib: the kmm column is left out" >&2
fi
[ ${#ALLOCS[@]} -gt 0 ] || { echo "run-large: no allocator left to run" >&2; exit 2; }

# ------------------------------------------------------------ perf
perf=no
if command -v perf >/dev/null 2>&1 && perf stat -x, -e page-faults,task-clock true >/dev/null 2>&1; then
	perf=yes
	. "$top/bench/perf-hw.sh"
	perf_line=$(perf_hw_say)
else
	perf_line="perf: not usable here; page faults from GNU time (minor + major)"
fi

# ------------------------------------------------------------ runs
MODES=(churn zero)
declare -A NARG=([churn]=$churn_n [zero]=$zero_n)
csv=$out/runs.csv
echo "mode,allocator,round,metric,value" >"$csv"
failures=$out/failures
: >"$failures"

fail() {
	echo "$*" >>"$failures"
	echo "run-large: FAILED: $*" >&2
}

# measure O LIB CONF CMD...: CMD under the allocator whose library is LIB
# ("" for glibc), with KMM_CONF=CONF when CONF is not empty; GNU time inside
# perf stat.  Output in O.out, O.err, O.time, O.perf.
measure() {
	local o=$1 lib=$2 conf=$3
	shift 3
	local envcmd=(timeout -k 10 "$limit" env -u KMM_CONF -u LD_PRELOAD)
	[ -n "$lib" ] && envcmd+=("LD_PRELOAD=$lib")
	[ -n "$conf" ] && envcmd+=("KMM_CONF=$conf")
	local timecmd=(/usr/bin/time -f 'times %e %U %S %M %R %F' -o "$o.time")
	if [ "$perf" = yes ]; then
		perf stat -x, -o "$o.perf" -e page-faults,task-clock -- \
			"${timecmd[@]}" "${envcmd[@]}" "$@" >"$o.out" 2>"$o.err"
	else
		"${timecmd[@]}" "${envcmd[@]}" "$@" >"$o.out" 2>"$o.err"
	fi
}

# record M A R O: the CSV rows of one run.
record() {
	local p=$1,$2,$3, o=$4 perf01=0
	[ "$perf" = yes ] && perf01=1
	{
		awk -v p="$p" -v perf="$perf01" '$1 == "times" {
			print p "wall_s," $2; print p "user_s," $3; print p "sys_s," $4
			print p "cpu_s," $3 + $4; print p "maxrss_kb," $5
			print p "minflt," $6; print p "majflt," $7
			if (!perf) print p "faults," $6 + $7 }' "$o.time"
		[ "$perf" = yes ] && awk -F, -v p="$p" '
			NF >= 3 && $1 ~ /^[0-9.]+$/ {
				ev = $3; sub(/:.*/, "", ev)
				if (ev == "page-faults") print p "faults," $1
				if (ev == "task-clock") print p "task_clock_ms," $1 }' "$o.perf"
		sed -n 's/.* seconds=\([0-9.]*\).*/loop_s,\1/p' "$o.out" | sed "s/^/$p/"
	} >>"$csv"
}

run_one() {
	local m=$1 a=$2 lib=$3 r=$4 o=$raw/$1.$2.$4 rc=0 conf= want
	[ "$a" = kmm ] && conf=$kmm_conf
	measure "$o" "$lib" "$conf" "$bin" "$m" -n "${NARG[$m]}" ${seed:+-s "$seed"} || rc=$?
	case $m in
	churn) want="churn: steps=${NARG[$m]} errors=0 seconds=" ;;
	zero) want="zero: allocs=${NARG[$m]} seconds=" ;;
	esac
	if [ $rc -ne 0 ]; then
		fail "$m under $a (round $r): exit status $rc; $(tail -3 "$o.err" | tr '\n' ' ')"
	elif grep -q 'cannot be preloaded' "$o.err"; then
		fail "$m under $a (round $r): ld.so did not preload $lib: $(head -1 "$o.err")"
	elif ! grep -q "^$want" "$o.out"; then
		fail "$m under $a (round $r): no '$want...' line (see $o.out, $o.err)"
	else
		record "$m" "$a" "$r" "$o"
	fi
}

ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
{
	echo "run-large: $( [ "$quick" = yes ] && echo quick || echo full) mode, $rounds round(s) on" \
		"$(nproc) CPU(s), $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "run-large: bench_large churn -n $churn_n, zero -n $zero_n${seed:+, -s $seed}; $perf_line"
	for i in "${!ALLOCS[@]}"; do
		case ${ALLOCS[$i]} in
		glibc) v=$(ver libc6) ;;
		jemalloc) v=$(ver libjemalloc2) ;;
		tcmalloc) v=$(ver libgoogle-perftools4) ;;
		mimalloc) v=$(ver libmimalloc2.0) ;;
		kmm) v=$(sed -n 's/^PACKAGE_VERSION = //p' "$B/Makefile" 2>/dev/null || true)
		     v="$v (git $(git -C "$top" describe --always --dirty 2>/dev/null || echo ?))${kmm_conf:+, KMM_CONF=$kmm_conf}" ;;
		esac
		printf 'run-large:   %-9s %s %s\n' "${ALLOCS[$i]}" "${LIBS[$i]:-(no preload)}" "$v"
	done
} | tee "$out/header"

start=$(date +%s)
for r in $(seq "$rounds"); do
	for m in "${MODES[@]}"; do
		for i in "${!ALLOCS[@]}"; do
			run_one "$m" "${ALLOCS[$i]}" "${LIBS[$i]}" "$r"
		done
	done
	echo "run-large: round $r of $rounds done ($(( $(date +%s) - start )) s)"
done

# ------------------------------------------------------------ table
# Medians: the runs of each mode, allocator and metric sorted by value, the
# middle one (the mean of the middle two for an even count).
tail -n +2 "$csv" | sort -t, -k1,1 -k2,2 -k4,4 -k5,5g | awk -F, '
	function flush() { if (n) print key "," (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) "," n }
	{ k = $1 "," $2 "," $4; if (k != key) { flush(); key = k; n = 0 } v[++n] = $5 }
	END { flush() }' >"$out/medians.csv"

awk -F, -v allocs="${ALLOCS[*]}" -v rounds="$rounds" -v nchurn="$churn_n" -v nzero="$zero_n" '
	{ med[$1, $2, $3] = $4; if ($3 == "wall_s") runs[$1, $2] = $5 }
	function has(m, a, x) { return (m SUBSEP a SUBSEP x) in med }
	function num(m, a, x, f) { return has(m, a, x) ? sprintf(f, med[m, a, x]) : "-" }
	function ratio(m, a, x, base) {
		if (!has(m, a, x) || base == "" || base + 0 == 0) return "-"
		return sprintf("%.2f", med[m, a, x] / base)
	}
	# The smaller of the glibc and tcmalloc medians of x, and whose it is.
	function best(m, x,   b) {
		bestof = ""
		if (has(m, "glibc", x)) { b = med[m, "glibc", x]; bestof = "glibc" }
		if (has(m, "tcmalloc", x) && (bestof == "" || med[m, "tcmalloc", x] < b)) {
			b = med[m, "tcmalloc", x]; bestof = "tcmalloc" }
		return bestof == "" ? "" : b
	}
	END {
		na = split(allocs, A, " ")
		split("cpu_s wall_s faults maxrss_kb", X, " ")
		for (mi = 1; mi <= 2; mi++) {
			m = mi == 1 ? "churn" : "zero"
			printf "\n== %s -n %s: medians of %d round(s); /je: ratio to jemalloc", \
				m, m == "churn" ? nchurn : nzero, rounds
			if (m == "zero") {
				bc = best(m, "cpu_s"); bco = bestof; bw = best(m, "wall_s"); bwo = bestof
				printf "; /best: to min(glibc, tcmalloc) (cpu: %s, wall: %s)", \
					bco == "" ? "none" : bco, bwo == "" ? "none" : bwo
			}
			printf "\n"
			printf "%-9s %4s %8s %8s %8s %10s %8s %7s %7s %7s %7s", "allocator", "runs", \
				"cpu_s", "wall_s", "loop_s", "faults", "rss_MiB", "cpu/je", "wall/je", "flt/je", "rss/je"
			if (m == "zero") printf " %8s %9s", "cpu/best", "wall/best"
			printf "\n"
			for (i = 1; i <= na; i++) {
				a = A[i]
				printf "%-9s %4s %8s %8s %8s %10s %8s", a, (m SUBSEP a) in runs ? runs[m, a] : 0, \
					num(m, a, "cpu_s", "%.2f"), num(m, a, "wall_s", "%.2f"), \
					num(m, a, "loop_s", "%.2f"), num(m, a, "faults", "%.0f"), \
					has(m, a, "maxrss_kb") ? sprintf("%.1f", med[m, a, "maxrss_kb"] / 1024) : "-"
				for (j = 1; j <= 4; j++) {
					x = X[j]
					printf " %7s", ratio(m, a, x, has(m, "jemalloc", x) ? med[m, "jemalloc", x] : "")
				}
				if (m == "zero")
					printf " %8s %9s", ratio(m, a, "cpu_s", bc), ratio(m, a, "wall_s", bw)
				printf "\n"
			}
		}
	}' "$out/medians.csv" | tee "$out/table.txt"

elapsed=$(( $(date +%s) - start ))
echo
echo "run-large: ${elapsed} s; cpu_s = user + sys, loop_s = bench_large's timed loop," \
	"faults = minor + major ($( [ "$perf" = yes ] && echo "perf stat page-faults" || echo "GNU time")), rss = peak RSS"
echo "run-large: table in $out/table.txt, every run in $out/runs.csv, raw files in $raw"
if [ -s "$failures" ]; then
	echo "run-large: $(wc -l <"$failures") run(s) failed:" >&2
	cat "$failures" >&2
	exit 1
fi
exit 0
