#!/bin/sh
# fork() from a multi-threaded parent 100 times (bounded: a deadlock fails
# the test, it does not hang it), dlopen/dlclose with TLS, C++.
. "${KMM_TOP_SRCDIR:-..}/tests/shim/common.sh"

timeout 120 "$KMM_RUN" "$B/tests/shim/forkstress" || fail "forkstress (status $?; 124 = deadlock)"
timeout 120 "$KMM_RUN" "$B/tests/shim/tls" "$B/tests/shim/.libs/tlsmod.so" || fail "tls (status $?)"
if [ -x "$B/tests/shim/cxx" ]; then
	timeout 120 "$KMM_RUN" "$B/tests/shim/cxx" || fail "cxx (status $?)"
fi
echo "threads: ok"
