#!/bin/bash
# run-bench.sh - the malloc benchmark matrix: workloads x allocators.
#
# Usage: bench/run-bench.sh [--quick] [--reps N] [--workloads 'W...']
#                           [--allocators 'A...'] [--no-install]
#                           [--no-callgrind] [--out DIR] [--kmm-run PATH]
#                           [--report DIR] [BUILDDIR]
#
# Allocators: jemalloc (the baseline every figure is divided by), kmm
# (libkmm-malloc.so, when BUILDDIR holds kmm-run), glibc, and tcmalloc and
# mimalloc when their Debian packages are installed.  Every allocator but
# glibc is put under the program by LD_PRELOAD through env(1), so that each
# pays the same start-up; kmm's library is the one `kmm-run --lib` names.
#
# Workloads: the programs bench_sizes, bench_threads, bench_larson and
# bench_frag of this directory, and python3, gcc, sqlite3 and redis-server
# (driven by redis-benchmark on 127.0.0.1, when installed).
#
# The full mode runs every workload under every allocator N times (default
# 7), interleaved: for each round, for each workload, each allocator once.
# Each run records wall, user and system time and peak RSS (GNU time),
# perf stat's software events (and hardware events where the machine has
# them), and what the workload prints.  callgrind counts the instructions
# of a malloc+free pair by the difference of two run lengths.  It writes
# bench/RESULTS.md, bench/results.csv and bench/charts/*.png (in the
# source tree, or in --report DIR) through bench/report.py; the raw files
# stay in BUILDDIR/bench-out (or --out DIR).  It installs the benchmark-only packages first
# (scripts/install-deps.sh --bench) unless --no-install.
#
# The quick mode (--quick) runs each workload once with small sizes and
# writes under BUILDDIR/bench-quick: a smoke test for CI.  It fails (exit 1)
# only when a run crashes or gives a wrong result, never on slowness.
#
# BUILDDIR defaults to the current directory (make bench passes it);
# --kmm-run takes libkmm from another build than BUILDDIR/kmm-run.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
quick=no reps=7 install=yes callgrind=yes out= B= kmmrun= report=
only_workloads= only_allocators=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=yes; shift ;;
	--reps) reps=$2; shift 2 ;;
	--workloads) only_workloads=$2; shift 2 ;;
	--allocators) only_allocators=$2; shift 2 ;;
	--no-install) install=no; shift ;;
	--no-callgrind) callgrind=no; shift ;;
	--out) out=$2; shift 2 ;;
	--kmm-run) kmmrun=$2; shift 2 ;;
	--report) report=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	-*) echo "run-bench: unknown option $1" >&2; exit 2 ;;
	*) B=$1; shift ;;
	esac
done
B=$(cd "${B:-.}" && pwd)
if [ ! -x "$B/bench/bench_sizes" ]; then
	echo "run-bench: $B/bench/bench_sizes not built; run make first (or pass BUILDDIR)" >&2
	exit 2
fi
if [ "$quick" = yes ]; then
	reps=1 install=no
	out=${out:-$B/bench-quick}
else
	out=${out:-$B/bench-out}
fi
raw=$out/raw
rm -rf "$raw"
mkdir -p "$raw"

if [ "$install" = yes ]; then
	"$top/scripts/install-deps.sh" --bench ||
		echo "run-bench: could not install the benchmark packages; going on with what is here" >&2
fi
for tool in /usr/bin/time; do
	[ -x "$tool" ] || { echo "run-bench: $tool is needed (Debian package time)" >&2; exit 2; }
done

# ------------------------------------------------------------ allocators
libdir=/usr/lib/x86_64-linux-gnu
[ -d "$libdir" ] || libdir=/usr/lib
ALLOCS=() LIBS=()
add_alloc() {
	if [ -n "$only_allocators" ] && ! [[ " $only_allocators " == *" $1 "* ]]; then
		return 0
	fi
	ALLOCS+=("$1") LIBS+=("$2")
}
je=$libdir/libjemalloc.so.2
if [ ! -f "$je" ]; then
	echo "run-bench: jemalloc, the baseline, is missing ($je; Debian package libjemalloc2)" >&2
	exit 2
fi
add_alloc jemalloc "$je"
kmmrun=${kmmrun:-$B/kmm-run}
if [ -x "$kmmrun" ] && kmmlib=$("$kmmrun" --lib 2>/dev/null); then
	add_alloc kmm "$kmmlib"
else
	echo "run-bench: no $kmmrun: the kmm column is left out" >&2
fi
add_alloc glibc ""
[ -f "$libdir/libtcmalloc_minimal.so.4" ] && add_alloc tcmalloc "$libdir/libtcmalloc_minimal.so.4"
[ -f "$libdir/libmimalloc.so.2" ] && add_alloc mimalloc "$libdir/libmimalloc.so.2"

# ------------------------------------------------------------ perf
perf_events=
hw=no
if command -v perf >/dev/null 2>&1 && perf stat -e task-clock true >/dev/null 2>&1; then
	perf_events=task-clock,page-faults,context-switches,cpu-migrations
	. "$top/bench/perf-hw.sh"
	if perf_hw_counters; then
		hw=yes
		perf_events=$perf_events,cycles,instructions
	fi
fi

# ------------------------------------------------------------ workloads
# Each workload is a command line; the run functions put it under the
# allocator.  Sizes: quick, full.
q() { [ "$quick" = yes ] && echo "$1" || echo "$2"; }
bb=$B/bench
WORKLOADS=(sizes threads-1 threads-2 threads-4 prodcons larson frag python gcc sqlite redis)
declare -A CMD
CMD[sizes]="$bb/bench_sizes -n $(q 20000 2000000)"
CMD[threads-1]="$bb/bench_threads -t 1 -n $(q 100000 10000000)"
CMD[threads-2]="$bb/bench_threads -t 2 -n $(q 100000 10000000)"
CMD[threads-4]="$bb/bench_threads -t 4 -n $(q 50000 5000000)"
CMD[prodcons]="$bb/bench_threads -p -n $(q 100000 5000000)"
CMD[larson]="$bb/bench_larson -t 4 -d $(q 0.2 3)"
CMD[frag]="$bb/bench_frag -n $(q 20000 300000)"
CMD[python]="python3 $top/bench/prog_python.py $(q 0.02 1.0)"
gcc_src=$(ls "$top"/lib/*.c)
CMD[gcc]="gcc $(q -O0 '-O2 -g') -std=gnu11 -pthread -I$top/include -I$B -I$top/lib -c $(q "$top/lib/printk.c" "$(echo $gcc_src)")"
CMD[sqlite]="sqlite3 :memory:"
redis_n=$(q 5000 200000)
sqlite_rows=$(q 5000 300000)
sed "s/@ROWS@/$sqlite_rows/" "$top/bench/prog_sqlite.sql" >"$raw/sqlite.sql"

have_workload() {
	if [ -n "$only_workloads" ] && ! [[ " $only_workloads " == *" $1 "* ]]; then
		return 1
	fi
	case $1 in
	python) command -v python3 >/dev/null ;;
	gcc) command -v gcc >/dev/null ;;
	sqlite) command -v sqlite3 >/dev/null ;;
	redis) command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null &&
		command -v redis-cli >/dev/null ;;
	*) return 0 ;;
	esac
}
RUN_WL=()
for w in "${WORKLOADS[@]}"; do
	if have_workload "$w"; then
		RUN_WL+=("$w")
	elif [ -z "$only_workloads" ]; then
		echo "run-bench: $w not installed: left out" >&2
	fi
done

run_limit=$(q 300 900)
csv=$out/runs.csv
echo "workload,allocator,rep,metric,value" >"$csv"
failures=$out/failures
: >"$failures"
declare -A CHECKSUM

# measure O LIB CMD...: CMD under the allocator whose library is LIB ("" for
# glibc), with GNU time inside perf stat, so that the peak RSS is the
# program's and not perf's.  Output in O.out, O.err, O.time, O.perf.
measure() {
	local o=$1 lib=$2
	shift 2
	# A hang is a failure too, but slowness is not: the limit is generous.
	local envcmd=(timeout -k 10 "$run_limit" env -u KMM_CONF -u LD_PRELOAD)
	[ -n "$lib" ] && envcmd+=("LD_PRELOAD=$lib")
	local timecmd=(/usr/bin/time -f 'times %e %U %S %M' -o "$o.time")
	if [ -n "$perf_events" ]; then
		perf stat -x, -o "$o.perf" -e "$perf_events" -- \
			"${timecmd[@]}" "${envcmd[@]}" "$@"
	else
		"${timecmd[@]}" "${envcmd[@]}" "$@"
	fi
}

# record W A REP O: the CSV rows of one run.
record() {
	local w=$1 a=$2 rep=$3 o=$4
	{
		awk -v p="$w,$a,$rep," '$1 == "times" {
			print p "wall_s," $2; print p "user_s," $3; print p "sys_s," $4
			print p "maxrss_kb," $5 }' "$o.time" 2>/dev/null
		[ -f "$o.perf" ] && awk -F, -v p="$w,$a,$rep," '
			NF >= 3 && $1 ~ /^[0-9.]+$/ {
				ev = $3; sub(/:.*/, "", ev); gsub(/-/, "_", ev)
				if (ev == "task_clock") ev = "task_clock_ms"
				print p ev "," $1 }' "$o.perf"
		sed -n 's/^\([A-Za-z_][A-Za-z0-9_@.]*\)=\([-0-9.eE+]*\)[[:space:]]*$/\1 \2/p' "$o.out" |
			awk -v p="$w,$a,$rep," '{ print p $1 "," $2 }'
	} >>"$csv"
}

fail() {
	echo "$*" >>"$failures"
	echo "run-bench: FAILED: $*" >&2
}

# check_sum W A O: programs print a checksum that must be the same under
# every allocator.
check_sum() {
	local w=$1 a=$2 o=$3 sum
	sum=$(grep -o 'checksum=[^ ]*' "$o.out" | tail -1 || true)
	if [ -z "$sum" ]; then
		fail "$w under $a: no checksum in the output (see $o.out, $o.err)"
	elif [ -z "${CHECKSUM[$w]:-}" ]; then
		CHECKSUM[$w]=$sum
	elif [ "${CHECKSUM[$w]}" != "$sum" ]; then
		fail "$w under $a: $sum, other allocators ${CHECKSUM[$w]}"
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

redis_pid=
stop_redis() {
	if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
		kill -TERM "$redis_pid" 2>/dev/null || true
	fi
}
trap stop_redis EXIT

# run_redis O LIB: redis-server under the allocator (time and perf measure
# the server), redis-benchmark (not preloaded) against it, then the server
# stopped by its pid.
run_redis() {
	local o=$1 lib=$2 port i bg
	port=$(free_port)
	mkdir -p "$o.dir"
	measure "$o" "$lib" redis-server --bind 127.0.0.1 --port "$port" \
		--protected-mode yes --save '' --appendonly no --dir "$o.dir" \
		--daemonize no --logfile "$o.log" >/dev/null 2>"$o.err" &
	bg=$!
	for i in $(seq 100); do
		[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
		sleep 0.1
	done
	redis_pid=$(redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null |
		tr -d '\r' | sed -n 's/^process_id:\([0-9]*\)$/\1/p')
	if [ -z "$redis_pid" ]; then
		kill -TERM "$bg" 2>/dev/null || true
		wait "$bg" || true
		return 1
	fi
	local rc=0
	redis-benchmark -h 127.0.0.1 -p "$port" -n "$redis_n" -r 100000 -d 64 \
		-c 20 -P 8 -t set,get,incr,lpush,lpop,hset --csv >"$o.csv" 2>>"$o.err" || rc=1
	kill -TERM "$redis_pid"
	wait "$bg" || rc=1
	redis_pid=
	rm -rf "$o.dir"
	tr -d '"' <"$o.csv" | awk -F, '
		$2 ~ /^[0-9.]+$/ { printf "rps@%s=%s\n", $1, $2; s += log($2); n++ }
		END { if (n) printf "rps_geomean=%.0f\n", exp(s / n) }' >"$o.out"
	if ! grep -q '^rps_geomean=' "$o.out"; then
		rc=1
	fi
	return $rc
}

# Debian's redis-server is linked with jemalloc: its glibc column needs a
# preload that hands the malloc family back to glibc (bench/glibc_malloc.c).
glibc_preload=
if [[ " ${ALLOCS[*]} " == *" glibc "* ]] && [[ " ${RUN_WL[*]} " == *" redis "* ]] &&
   ldd "$(command -v redis-server)" 2>/dev/null | grep -q libjemalloc; then
	if gcc -shared -fPIC -O2 -o "$out/glibc-malloc.so" "$top/bench/glibc_malloc.c" -ldl; then
		glibc_preload=$out/glibc-malloc.so
	else
		echo "run-bench: could not build glibc-malloc.so: redis' glibc column is jemalloc" >&2
	fi
fi

run_one() {
	local w=$1 a=$2 lib=$3 rep=$4
	local o=$raw/$w.$a.$rep rc=0
	[ "$w" = redis ] && [ "$a" = glibc ] && lib=$glibc_preload
	case $w in
	redis) run_redis "$o" "$lib" || rc=$? ;;
	sqlite) measure "$o" "$lib" ${CMD[$w]} <"$raw/sqlite.sql" >"$o.out" 2>"$o.err" || rc=$? ;;
	gcc) # One directory for every run: it is in the debug information.
	     rm -rf "$raw/gcc.work" && mkdir -p "$raw/gcc.work"
	     (cd "$raw/gcc.work" && measure "$o" "$lib" ${CMD[$w]} >"$o.out" 2>"$o.err") || rc=$?
	     # The object code must not depend on the allocator.
	     if [ $rc -eq 0 ]; then
		     echo "checksum=$(cat "$raw/gcc.work"/*.o | cksum | cut -d' ' -f1)" >>"$o.out"
	     fi ;;
	*) measure "$o" "$lib" ${CMD[$w]} >"$o.out" 2>"$o.err" || rc=$? ;;
	esac
	if [ $rc -ne 0 ]; then
		fail "$w under $a (round $rep): exit status $rc; $(tail -3 "$o.err" 2>/dev/null | tr '\n' ' ')"
		return 0
	fi
	case $w in python|sqlite|gcc) check_sum "$w" "$a" "$o" ;; esac
	record "$w" "$a" "$rep" "$o"
}

echo "run-bench: $( [ "$quick" = yes ] && echo quick || echo full) mode, $reps round(s);" \
	"allocators: ${ALLOCS[*]}; workloads: ${RUN_WL[*]}"
echo "run-bench: perf events: ${perf_events:-none} (hardware counters: $hw)"
start=$(date +%s)
for rep in $(seq "$reps"); do
	for w in "${RUN_WL[@]}"; do
		for i in "${!ALLOCS[@]}"; do
			run_one "$w" "${ALLOCS[$i]}" "${LIBS[$i]}" "$rep"
		done
	done
	echo "run-bench: round $rep of $reps done ($(( $(date +%s) - start )) s)"
done

# ------------------------------------------------------------ callgrind
# Instructions per malloc+free pair: (Ir(2N) - Ir(N)) / N, so that start-up,
# boot and the warm-up cancel.  Valgrind does not implement rseq, so libkmm
# reads the CPU number through its fallback here; and valgrind refuses
# libkmm's default reservations (a direct map the size of the machine's
# memory), so libkmm runs with KMM_CONF=$cg_kmm_conf under it.
cg_sizes=$(q "64" "16 64 256 1024 4096 65536 1048576")
cg_n=$(q 2000 20000)
cg_kmm_conf=${KMM_CALLGRIND_CONF:-mem=1G}
if [ "$callgrind" = yes ] && command -v valgrind >/dev/null 2>&1 &&
   { [ -z "$only_workloads" ] || [[ " $only_workloads " == *" sizes "* ]]; }; then
	echo "run-bench: callgrind, sizes $cg_sizes"
	# ir A LIB SIZE N: instructions of bench_sizes, or nothing if it failed.
	ir() {
		local a=$1 lib=$2 size=$3 n=$4 conf=
		local o=$raw/callgrind.$a.$size.$n
		[ "$a" = kmm ] && conf=$cg_kmm_conf
		env -u KMM_CONF -u LD_PRELOAD ${lib:+LD_PRELOAD=$lib} ${conf:+KMM_CONF=$conf} \
			valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			"$bb/bench_sizes" -x -n "$n" -s "$size" >"$o.out" 2>"$o.err" || return 0
		grep -q "^ns_per_pair@$size=" "$o.out" || return 0
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$o.err"
	}
	for size in $cg_sizes; do
		for i in "${!ALLOCS[@]}"; do
			a=${ALLOCS[$i]}
			i1=$(ir "$a" "${LIBS[$i]}" "$size" "$cg_n")
			i2=$(ir "$a" "${LIBS[$i]}" "$size" $((2 * cg_n)))
			if [ -n "$i1" ] && [ -n "$i2" ]; then
				echo "callgrind,$a,1,insn_per_pair@$size,$(( (i2 - i1) / cg_n ))" >>"$csv"
			else
				fail "callgrind of bench_sizes -s $size under $a (see $raw/callgrind.$a.$size.*.err)"
			fi
		done
	done
fi
elapsed=$(( $(date +%s) - start ))

# ------------------------------------------------------------ report
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
{
	echo "mode=$( [ "$quick" = yes ] && echo quick || echo full)"
	echo "reps=$reps"
	echo "elapsed_s=$elapsed"
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host_kernel=$(uname -srm)"
	echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "cpus=$(nproc)"
	echo "memory=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "perf_events=${perf_events:-none}"
	echo "perf_hw=$hw"
	echo "allocators=${ALLOCS[*]}"
	echo "ver_glibc=$(ver libc6)"
	echo "ver_jemalloc=$(ver libjemalloc2)"
	echo "ver_tcmalloc=$(ver libgoogle-perftools4)"
	echo "ver_mimalloc=$(ver libmimalloc2.0)"
	echo "ver_kmm=$(sed -n 's/^PACKAGE_VERSION = //p' "$B/Makefile" 2>/dev/null) (git $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown))"
	echo "ver_python=$(ver python3)"
	echo "ver_gcc=$(gcc -dumpfullversion 2>/dev/null || echo none)"
	echo "ver_sqlite=$(ver sqlite3)"
	echo "ver_redis=$(ver redis-server)"
	echo "ver_valgrind=$(ver valgrind)"
	for w in "${RUN_WL[@]}"; do if [ -n "${CMD[$w]:-}" ]; then echo "cmd_$w=${CMD[$w]}"; fi; done
	echo "cmd_redis=redis-server (under the allocator) + redis-benchmark -n $redis_n -r 100000 -d 64 -c 20 -P 8 -t set,get,incr,lpush,lpop,hset"
	echo "cmd_sqlite=sqlite3 :memory: < bench/prog_sqlite.sql (@ROWS@ = $sqlite_rows)"
	echo "callgrind_n=$cg_n"
	echo "callgrind_kmm_conf=$cg_kmm_conf"
	echo "redis_glibc_preload=$( [ -n "$glibc_preload" ] && echo yes || echo no)"
} >"$out/meta"

if [ "$quick" = yes ]; then
	python3 "$top/bench/report.py" --meta "$out/meta" --csv "$csv" \
		--failures "$failures" --md "$out/RESULTS.md" --charts none || true
else
	report=${report:-$top/bench}
	mkdir -p "$report"
	python3 "$top/bench/report.py" --meta "$out/meta" --csv "$csv" \
		--failures "$failures" --md "$report/RESULTS.md" \
		--charts "$report/charts" --copy-csv "$report/results.csv"
fi
echo "run-bench: ${elapsed} s; report in $( [ "$quick" = yes ] && echo "$out/RESULTS.md" || echo "$report/RESULTS.md")"
if [ -s "$failures" ]; then
	echo "run-bench: $(wc -l <"$failures") run(s) failed:" >&2
	cat "$failures" >&2
	exit 1
fi
exit 0
