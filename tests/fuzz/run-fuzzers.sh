#!/bin/sh
# Build the libFuzzer targets with clang (ASan + UBSan) and run each for
# SECONDS (default 30).  Usage: tests/fuzz/run-fuzzers.sh [SECONDS] [OUTDIR]
# Prints libFuzzer's final statistics line (executions, coverage) per target.
set -eu
secs=${1:-30}
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${2:-$top/build/fuzz}
mkdir -p "$out"
command -v clang >/dev/null 2>&1 || { echo "fuzz: clang not installed, skipped"; exit 77; }
# config.h comes from a configured tree; make a minimal one for the fuzz build.
printf '#define _GNU_SOURCE 1\n#define HAVE_SYS_RSEQ_H 1\n' >"$out/config.h"
flags="-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$top/include -I$out -pthread"
lib=$(ls "$top"/lib/*.c)
status=0
for target in fuzz_conf fuzz_ops; do
	clang $flags -o "$out/$target" "$top/tests/fuzz/$target.c" $lib -latomic_ops_gpl -latomic_ops
	mkdir -p "$out/corpus-$target"
	echo "== $target: ${secs}s"
	if "$out/$target" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=4096 -close_fd_mask=2 \
		"$out/corpus-$target" >"$out/$target.log" 2>&1; then
		grep -E '^#[0-9]+.*(DONE|cov)' "$out/$target.log" | tail -1 || true
		grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$out/$target.log" || true
	else
		tail -40 "$out/$target.log"
		status=1
	fi
done
exit $status
