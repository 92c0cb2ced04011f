#!/bin/sh
# valgrind memcheck understands libkmm's heap (lib/slab_harden.c): a use
# after free, a leak and a double free of a kmalloc object are reported as
# for glibc's malloc, and a clean program gets no report at all.
# Skipped (77) without valgrind, and in sanitizer builds.
set -u
B=${KMM_TOP_BUILDDIR:-.}
command -v valgrind >/dev/null 2>&1 || { echo "valgrind not installed"; exit 77; }
[ "${KMM_SANITIZE:-no}" = yes ] && { echo "sanitizer build: no valgrind"; exit 77; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail=0

# run MODE EXPECTED-EXIT TEXT...
run() {
	mode=$1 want=$2
	shift 2
	"$B/libtool" --mode=execute valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite "$B/tests/vg_kmalloc" "$mode" >"$out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: vg_kmalloc $mode: exit $rc, expected $want"; cat "$out"; fail=1
		return
	fi
	for text in "$@"; do
		if ! grep -q -- "$text" "$out"; then
			echo "FAIL: vg_kmalloc $mode: no \"$text\" in:"; cat "$out"; fail=1
			return
		fi
	done
	echo "ok: vg_kmalloc $mode"
}

# Blocks are object_size long (what ksize() answers: kmalloc(100) is a
# block of 128), and the innermost frame is the slab hook, then the caller
# of kmalloc/kfree (the fast paths tail-call their slow paths).
run clean 0
run uaf 99 "Invalid read of size 1" "inside a block of size 64 free'd" "main (vg_kmalloc.c"
run leak 99 "128 bytes in 1 blocks are definitely lost" "slab_alloc_hooked"
run double-free 99 "Invalid free()" "main (vg_kmalloc.c"
exit $fail
