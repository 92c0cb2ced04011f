# common.sh - sourced by the shim's test scripts.
#
# KMM_TOP_BUILDDIR and KMM_TOP_SRCDIR come from make check's
# AM_TESTS_ENVIRONMENT.  A sanitizer build cannot preload its shim under an
# uninstrumented program (ASan must come first): the tests skip (77).
B=${KMM_TOP_BUILDDIR:-$(pwd)}
S=${KMM_TOP_SRCDIR:-$B/..}
KMM_RUN=$B/kmm-run
if [ "${KMM_SANITIZE:-no}" = yes ]; then
	echo "SKIP: sanitizer build: libkmm-malloc.so cannot be preloaded"
	exit 77
fi
[ -x "$KMM_RUN" ] || { echo "FAIL: $KMM_RUN not built"; exit 1; }
[ -f "$B/.libs/libkmm-malloc.so" ] || { echo "FAIL: libkmm-malloc.so not built"; exit 1; }
fail() {
	echo "FAIL: $*"
	exit 1
}
# A scratch directory, removed at exit.
scratch() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/kmm-shim.XXXXXX")
	trap 'rm -rf "$T"' EXIT
}
