#!/bin/bash
# The whole test suite, from a fresh Debian 12 machine: installs the
# dependencies, builds with -Werror, runs `make check` (and, once the shim
# is built, the benchmark matrix in its quick mode), `make distcheck`,
# then `make check` again in an ASan+UBSan build and in a ThreadSanitizer
# build, and both fuzzers briefly.  After the first build's check, the
# kernel's own test suites run on libkmm in their quick set
# (scripts/kernel-tests.sh --quick; skipped with a message when Debian's
# kernel source cannot be fetched or built).  Check's own summary lines are
# printed for every suite, then one "N passed, N failed" line that counts
# every Check test, every script test of every build and every kernel test
# run, and names the steps that failed.
#
# Usage: scripts/test.sh [--quick]   (--quick: the first build's check only)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
quick=no
[ "${1:-}" = "--quick" ] && quick=yes

scripts/install-deps.sh
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null

jobs=$(nproc 2>/dev/null || echo 2)
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
failed_steps=""

# run_check NAME BUILDDIR CONFIGURE-ARGS...
run_check() {
	local name=$1 dir=$2
	shift 2
	echo "=== $name: configure $*"
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q "$@" >/dev/null)
	echo "=== $name: build"
	make -C "$dir" -s -j"$jobs" >/dev/null
	echo "=== $name: make check"
	local rc=0
	make -C "$dir" -s -j"$jobs" check >"$dir/check.out" 2>&1 || rc=$?
	grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$dir/check.out" || true
	# A Check suite counts its checks; a script test counts as one.
	local trs log result
	for trs in $(find "$dir/tests" -name '*.trs' | sort); do
		log=${trs%.trs}.log
		result=$(sed -n 's/^:test-result: //p' "$trs" | head -1)
		if grep -q -E '^[0-9]+%: Checks: ' "$log"; then
			grep -H -E '^[0-9]+%: Checks: ' "$log" | sed "s|^$dir/||"
			grep -h -E '^[0-9]+%: Checks: ' "$log" >>"$summary"
			case $result in FAIL|ERROR|XPASS)
				grep -q -E 'Failures: [1-9]|Errors: [1-9]' "$log" ||
					echo "0%: Checks: 1, Failures: 1, Errors: 0" >>"$summary" ;;
			esac
		else
			case $result in
			PASS|XFAIL) echo "100%: Checks: 1, Failures: 0, Errors: 0" >>"$summary" ;;
			FAIL|ERROR|XPASS) echo "0%: Checks: 1, Failures: 1, Errors: 0" >>"$summary" ;;
			esac
		fi
	done
	if [ "$rc" -ne 0 ]; then
		failed_steps="$failed_steps, $name"
		echo "=== $name: FAILED; failing logs:"
		for log in $(grep -l -E ':test-result: (FAIL|ERROR)' $(find "$dir/tests" -name '*.trs') 2>/dev/null); do
			cat "${log%.trs}.log"
		done
		tail -40 "$dir/check.out"
		return 1
	fi
}

status=0
run_check "default build" build/ci --enable-werror || status=1
# The kernel's xarray, radix-tree (multiorder) and VMA test suites on the
# default build's libkmm, plain and under slub_debug=FZPU: each run counts
# as one test.  A fetch or build problem (no network, apt failure) skips
# them with a message and does not fail the run.
if [ "$status" -eq 0 ]; then
	echo "=== kernel tests (quick): scripts/kernel-tests.sh --quick build/ci"
	krc=0
	scripts/kernel-tests.sh --quick build/ci >build/ci/kernel-tests.out 2>&1 || krc=$?
	grep -E '^(PASS|FAIL|SKIP):' build/ci/kernel-tests.out || true
	grep '^PASS:' build/ci/kernel-tests.out | sed 's/.*/100%: Checks: 1, Failures: 0, Errors: 0/' >>"$summary" || true
	grep '^FAIL:' build/ci/kernel-tests.out | sed 's/.*/0%: Checks: 1, Failures: 1, Errors: 0/' >>"$summary" || true
	if [ "$krc" -eq 77 ]; then
		echo "=== kernel tests: skipped (not a failure)"
	elif [ "$krc" -ne 0 ]; then
		grep -q '^FAIL:' build/ci/kernel-tests.out ||
			echo "0%: Checks: 1, Failures: 1, Errors: 0" >>"$summary"
		tail -20 build/ci/kernel-tests.out
		failed_steps="$failed_steps, kernel tests"
		status=1
	fi
fi
# The benchmark matrix once, with small sizes, under every allocator: a
# smoke test of the shim under real programs.  It fails on a crash or a
# wrong result only, never on slowness.
if [ "$status" -eq 0 ] && [ -x build/ci/kmm-run ]; then
	echo "=== benchmark smoke test: bench/run-bench.sh --quick"
	if bench/run-bench.sh --quick build/ci >build/ci/bench-quick.out 2>&1; then
		tail -1 build/ci/bench-quick.out
	else
		tail -30 build/ci/bench-quick.out
		failed_steps="$failed_steps, benchmark smoke test"
		status=1
	fi
fi
if [ "$quick" = no ] && [ "$status" -eq 0 ]; then
	echo "=== make distcheck"
	if make -C build/ci -s -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror \
		>build/ci/distcheck.out 2>&1; then
		grep -E 'archives ready|\.tar\.gz' build/ci/distcheck.out | head -3
	else
		tail -60 build/ci/distcheck.out
		failed_steps="$failed_steps, make distcheck"
		status=1
	fi
	run_check "sanitizer build (ASan+UBSan)" build/asan --enable-werror \
		--enable-sanitizers || status=1
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
		run_check "ThreadSanitizer build" build/tsan --enable-werror --enable-tsan || status=1
	echo "=== fuzzers (libFuzzer, 20 s each)"
	if ! tests/fuzz/run-fuzzers.sh 20 build/fuzz; then
		failed_steps="$failed_steps, fuzzers"
		status=1
	fi
fi

passed=0 failed=0
while read -r line; do
	# "94%: Checks: 17, Failures: 1, Errors: 0"
	n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2 \3/')
	set -- $n
	passed=$((passed + $1 - $2 - $3))
	failed=$((failed + $2 + $3))
done <"$summary"
echo "$passed passed, $failed failed"
[ -z "$failed_steps" ] || echo "FAILED steps: ${failed_steps#, }"
[ "$failed" -eq 0 ] || status=1
exit $status
