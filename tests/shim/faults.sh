#!/bin/sh
# Fault injection under the shim: with a share of page and slab allocations
# made to fail, malloc and friends return NULL with ENOMEM (and otherwise
# usable memory), the program goes on, and the allocator stays consistent.
. "${KMM_TOP_SRCDIR:-..}/tests/shim/common.sh"
scratch
# Let the first 4 MiB through, so that the shim's own boot succeeds.
for conf in "fail_page_alloc=1,5,4194304,-1" "failslab=1,5,4194304,-1" \
	    "fail_page_alloc=3,20,4194304,-1 failslab=3,20,4194304,-1"; do
	out=$("$KMM_RUN" --conf "$conf" "$B/tests/shim/faults" 2>"$T/err") ||
		fail "$conf: faults failed: $out $(cat "$T/err")"
	failed=$(echo "$out" | sed -n 's/.*calls, \([0-9]*\) failed/\1/p')
	[ "${failed:-0}" -gt 0 ] || fail "$conf: no allocation failed: $out"
	grep -q "kmm_check\|BUG" "$T/err" && fail "$conf: $(cat "$T/err")"
	echo "$conf: $out"
done
