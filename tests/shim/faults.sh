#!/bin/sh
# Fault injection under the shim: with a share of page and slab allocations
# made to fail, malloc and friends return NULL with ENOMEM (and otherwise
# usable memory), the program goes on, and the allocator stays consistent.
. "${KMM_TOP_SRCDIR:-..}/tests/shim/common.sh"
scratch
# Let the first 4 MiB through, so that the shim's own boot succeeds.  The
# shim allocates with GFP_KERNEL, which may sleep: as in the kernel, the
# default ignore_gfp_wait=1 spares such requests, and fail_page_alloc's
# defaults ignore_gfp_highmem=1 and min_order=1 spare vmalloc's frames
# (order 0, __GFP_HIGHMEM), so each run lifts them.  A last run keeps the
# defaults: nothing may fail then.
PA="fail_page_alloc.ignore_gfp_wait=0 fail_page_alloc.ignore_gfp_highmem=0"
PA="$PA fail_page_alloc.min_order=0"
SL="failslab.ignore_gfp_wait=0"
for conf in "fail_page_alloc=1,5,4194304,-1 $PA" "failslab=1,5,4194304,-1 $SL" \
	    "fail_page_alloc=3,20,4194304,-1 failslab=3,20,4194304,-1 $PA $SL"; do
	out=$("$KMM_RUN" --conf "$conf" "$B/tests/shim/faults" 2>"$T/err") ||
		fail "$conf: faults failed: $out $(cat "$T/err")"
	failed=$(echo "$out" | sed -n 's/.*calls, \([0-9]*\) failed/\1/p')
	[ "${failed:-0}" -gt 0 ] || fail "$conf: no allocation failed: $out"
	grep -q "kmm_check\|BUG" "$T/err" && fail "$conf: $(cat "$T/err")"
	echo "$conf: $out"
done
# The kernel's defaults: malloc's GFP_KERNEL requests may sleep, so they
# are never failed on purpose.  (failslab's side needs the slab hook to ask
# should_failslab() with the request's gfp.)
conf="fail_page_alloc=1,100,4194304,-1"
out=$("$KMM_RUN" --conf "$conf" "$B/tests/shim/faults" 2>"$T/err") ||
	fail "$conf: faults failed: $out $(cat "$T/err")"
failed=$(echo "$out" | sed -n 's/.*calls, \([0-9]*\) failed/\1/p')
[ "${failed:-1}" -eq 0 ] || fail "$conf: GFP_KERNEL allocations failed: $out"
echo "$conf: $out"
