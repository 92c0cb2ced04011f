#!/bin/sh
# Real programs from Debian under kmm-run: each workload of workloads.sh
# runs without and with the shim, and the two outputs must be equal.
. "${KMM_TOP_SRCDIR:-..}/tests/shim/common.sh"
. "$S/tests/shim/workloads.sh"
scratch
wl_setup "$T/inputs"
status=0
for w in $WL_NAMES; do
	mkdir -p "$T/glibc-$w" "$T/kmm-$w"
	(cd "$T/glibc-$w" && "wl_$w") >"$T/$w.glibc" 2>"$T/$w.glibc.err"
	rc1=$?
	start=$(date +%s%N)
	(cd "$T/kmm-$w" && "wl_$w" "$KMM_RUN") >"$T/$w.kmm" 2>"$T/$w.kmm.err"
	rc2=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ] || ! cmp -s "$T/$w.glibc" "$T/$w.kmm" || [ ! -s "$T/$w.kmm" ]; then
		echo "FAIL: $w: status $rc1 (glibc) / $rc2 (kmm)"
		diff "$T/$w.glibc" "$T/$w.kmm" | head -20
		tail -20 "$T/$w.kmm.err"
		status=1
	else
		echo "ok: $w ($(head -c 60 "$T/$w.kmm" | tr '\n' ' ')...) ${ms} ms under kmm"
	fi
done
exit $status
