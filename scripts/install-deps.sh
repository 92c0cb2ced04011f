#!/bin/sh
# Installs everything libkmm needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone by apt-get.
# (liburcu-dev: the kernel's test harnesses, scripts/kernel-tests.sh.)
#
# Usage: scripts/install-deps.sh [--bench]
#   --bench  also the packages only the benchmark matrix needs (the other
#            allocators, redis, gnuplot for the charts); bench/run-bench.sh
#            asks for them, CI's test run does not.
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config check
libatomic-ops-dev libjemalloc-dev libjemalloc2 valgrind linux-perf clang
libclang-rt-14-dev
mandoc python3 libpython3.11-testsuite sqlite3 git gcc g++ make coreutils time
liburcu-dev"

# bench/run-bench.sh: tcmalloc and mimalloc to compare with, redis-server
# and redis-benchmark (redis-tools) as a real workload, gnuplot for charts.
BENCH_PACKAGES="libgoogle-perftools4 libmimalloc2.0 redis-server redis-tools
gnuplot-nox"
if [ "${1:-}" = "--bench" ]; then
	PACKAGES="$PACKAGES $BENCH_PACKAGES"
fi

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "install-deps: not root and no sudo; run as root:" >&2
		echo "  apt-get update && apt-get install -y $(echo $PACKAGES)" >&2
		exit 1
	fi
else
	SUDO=
fi

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
