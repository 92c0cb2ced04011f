#!/bin/bash
# profile.sh - where a program spends its time under an allocator: the
# functions at the top of a perf profile (cpu-clock, a software event, so
# that it works where hardware counters do not) or of a callgrind count.
#
# Usage: bench/profile.sh [--callgrind] [--lib LIB] [--top N] -- PROGRAM [ARGS...]
#   --lib LIB     the allocator to preload (default: libkmm-malloc.so, as
#                 ./kmm-run --lib names it in the current build directory)
#   --callgrind   count instructions with callgrind instead of sampling
#                 (libkmm then runs with KMM_CONF=mem=1G, which valgrind needs)
#   --top N       how many functions to print (default 25)
set -euo pipefail
mode=perf lib= top=25
while [ $# -gt 0 ]; do
	case $1 in
	--callgrind) mode=callgrind; shift ;;
	--lib) lib=$2; shift 2 ;;
	--top) top=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//;$d' >&2; exit 2; }
if [ -z "$lib" ]; then
	lib=$(./kmm-run --lib) || { echo "profile.sh: no ./kmm-run here; pass --lib" >&2; exit 2; }
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
conf=
case $lib in *libkmm-malloc*) [ $mode = callgrind ] && conf=${KMM_CALLGRIND_CONF:-mem=1G} ;; esac
if [ $mode = perf ]; then
	perf record -q -e cpu-clock -F 2000 -g -o "$tmp/perf.data" -- \
		env -u LD_PRELOAD ${conf:+KMM_CONF=$conf} LD_PRELOAD="$lib" "$@" >/dev/null
	perf report -i "$tmp/perf.data" --stdio --no-children --sort symbol,dso \
		--percent-limit 0.5 -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | sed 's/[[:space:]]*-[[:space:]]*-[[:space:]]*$//' | head -n "$top"
else
	env -u LD_PRELOAD ${conf:+KMM_CONF=$conf} LD_PRELOAD="$lib" \
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" >/dev/null 2>"$tmp/cg.err"
	callgrind_annotate --inclusive=no "$tmp/cg.out" 2>/dev/null | sed -n '/file:function/,$p' |
		sed 1,2d | head -n "$top"
fi
