#!/bin/sh
# The large-block path (vmalloc, above malloc.slab_max) under the shim:
# largestress fills every block over its whole malloc_usable_size() and
# verifies it before each malloc/calloc/realloc/reallocarray/memalign/free
# step on it, so realloc must keep every usable byte; then with other
# settings, with threads and forks, and with writes into freed large blocks
# (-u), which must harm nothing.  Every run is bounded (timeout: 124 is a
# hang; each takes a few seconds).  A first run under plain glibc checks
# the test itself.
. "${KMM_TOP_SRCDIR:-..}/tests/shim/common.sh"
scratch
P=$B/tests/shim/largestress
# The first lines of what a failed run printed (a hang may print a lot).
show() {
	cat "$@" | head -n 20 | cut -c 1-1000
}

# The test itself, under glibc's malloc (no -u: glibc unmaps a freed
# mmapped chunk, a write there faults).
timeout 60 "$P" -t 2 -f 250 >"$T/out" 2>&1 ||
	fail "under glibc (status $?): $(show "$T/out")"
echo "glibc: $(cat "$T/out")"

run() {
	conf=$1
	shift
	timeout 60 "$KMM_RUN" ${conf:+--conf "$conf"} "$P" "$@" >"$T/out" 2>"$T/err" ||
		fail "${conf:-default} largestress $* (status $?): $(show "$T/out" "$T/err")"
	grep -q "ignored\|BUG\|WARNING\|kmm_check" "$T/err" &&
		fail "${conf:-default} largestress $*: $(show "$T/err")"
	echo "${conf:-default} $*: $(cat "$T/out")"
}

run ""
run "malloc.slab_max=16k" -s 2
run "slab_freelist_random=0" -s 3
run "init_on_free=1 init_on_alloc=1" -s 4 -n 600
run "" -t 3 -n 600 -f 100 -s 5
run "" -u
run "init_on_free=1" -u -s 6
run "phys=memfd" -u -s 7
echo "large: ok"
