#!/bin/sh
# A large part of libkmm's own build, compiled by gcc running on libkmm:
# every lib/*.c and shim/*.c, with and without kmm-run; the objects must be
# identical (gcc is deterministic), and the kmm-built ones link.
. "${KMM_TOP_SRCDIR:-..}/tests/shim/common.sh"
scratch
mkdir -p "$T/glibc" "$T/kmm"
flags="-std=gnu11 -O2 -g -fPIC -pthread -I$S/include -I$S/lib -I$B -fvisibility=hidden"
n=0
for src in "$S"/lib/*.c "$S"/shim/*.c; do
	obj=$(basename "$src" .c).o
	gcc $flags -c "$src" -o "$T/glibc/$obj" || fail "gcc $src"
	"$KMM_RUN" gcc $flags -c "$src" -o "$T/kmm/$obj" || fail "kmm-run gcc $src"
	cmp -s "$T/glibc/$obj" "$T/kmm/$obj" || fail "$obj differs when gcc runs on libkmm"
	n=$((n + 1))
done
"$KMM_RUN" gcc -shared -o "$T/kmm/libkmm-test.so" "$T"/kmm/*.o -latomic_ops_gpl -latomic_ops -pthread ||
	fail "link under kmm-run"
echo "selfbuild: $n files compiled under kmm-run, objects identical, linked"
