#!/bin/sh
# CPython's own tests of pickle and re under the shim, with PYTHONMALLOC=malloc
# so that every object goes through our malloc: pickle's framing tests
# realloc buffers of a few MiB (the large-block path) and compare every byte.
# Debian's python3 (/usr/bin, not a pyenv build on PATH): its test suite is
# the package libpython3.11-testsuite (scripts/install-deps.sh).  About 12 s.
. "${KMM_TOP_SRCDIR:-..}/tests/shim/common.sh"
scratch
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: no $PY"; exit 77; }
# A PYTHONPATH or PYTHONHOME meant for another python must not leak in.
unset PYTHONPATH PYTHONHOME
"$PY" -c 'import test.test_pickle, test.test_re' 2>/dev/null || {
	echo "SKIP: $PY has no test.test_pickle (Debian: libpython3.11-testsuite)"
	exit 77
}
# The preload works under this python at all (the banner of KMM_CONF=verbose).
"$KMM_RUN" --verbose "$PY" -c pass 2>"$T/err" || fail "python under kmm-run: $(cat "$T/err")"
grep -q "libkmm-malloc: active" "$T/err" || fail "no libkmm-malloc banner: $(cat "$T/err")"

cd "$T" || exit 1
TMPDIR=$T PYTHONMALLOC=malloc timeout 600 "$KMM_RUN" "$PY" -m test -v test_pickle test_re \
	>"$T/out" 2>&1
st=$?
sed -n "/^== Tests result/,\$p" "$T/out"
[ "$st" -eq 0 ] || {
	grep -E "^(FAIL|ERROR):|^AssertionError" "$T/out" | head -n 20
	fail "python3 -m test test_pickle test_re under kmm-run (status $st; 124 = hang)"
}
grep -q "Tests result: SUCCESS" "$T/out" || fail "no SUCCESS line"
echo "python: ok"
