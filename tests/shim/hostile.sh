#!/bin/sh
# A hostile environment is an input too: address-space and data limits
# (before and after boot), valgrind, a setuid program, dlopen + dlclose of
# libkmm from C and from Python, a program linked with -lkmm under kmm-run,
# stats.signal with a signal whose default action matters, and fork() and
# malloc() from signal handlers.  Each must
# leave the program working (or failing as glibc would), never crash it.
. "${KMM_TOP_SRCDIR:-..}/tests/shim/common.sh"
scratch
H=$B/tests/shim/hostile
LIB=$B/.libs/libkmm.so

# Under RLIMIT_AS from 200 MB to 120 GB and RLIMIT_DATA from 100 MB: a
# program runs (on libkmm, or on glibc when nothing fits), never crashes.
for v in 200000 1048576 8388608 31457280 62914560 125829120; do
	out=$( (ulimit -v $v && "$KMM_RUN" /bin/echo hello) 2>&1) ||
		fail "ulimit -v $v: /bin/echo failed: $out"
	echo "$out" | grep -q '^hello$' || fail "ulimit -v $v: $out"
	out=$( (ulimit -v $v && "$KMM_RUN" python3 -c 'print(sum(len(bytes(1000)) for i in range(10000)))') 2>&1) ||
		fail "ulimit -v $v: python3 failed: $out"
	echo "$out" | grep -q '^10000000$' || fail "ulimit -v $v: python3: $out"
done
for d in 102400 1048576 33554432; do
	out=$( (ulimit -d $d && "$KMM_RUN" python3 -c 'x = [bytearray(1 << 20) for i in range(50)]; print("ok")') 2>&1) ||
		fail "ulimit -d $d: python3 failed: $out"
	echo "$out" | grep -q '^ok$' || fail "ulimit -d $d: $out"
done
echo "ok: limits: ulimit -v 200M .. 120G and ulimit -d 100M .. 32G"
# A boot that cannot fit says so once and leaves malloc to glibc.
out=$( (ulimit -v 60000 && KMM_CONF=verbose "$KMM_RUN" /bin/true) 2>&1)
echo "$out" | grep -q 'using glibc malloc' || fail "failed boot not reported: $out"
echo "ok: failed boot: $(echo "$out" | head -1)"

# RLIMIT_AS set after boot is honoured when memory comes online.
out=$("$KMM_RUN" "$H" aslimit) || fail "RLIMIT_AS after boot: $out"
echo "ok: $out"

# Memory freed by a (multi-threaded) program that then sleeps goes back to
# the host (the page-reporting worker), for small, page-sized and large
# blocks.
for size in 100 4000 200000; do
	out=$("$KMM_RUN" "$H" freesleep $size) || fail "$out"
	echo "ok: $out"
done

# One allocator per process for a program linked with -lkmm.
out=$("$KMM_RUN" "$H" instance) || fail "$out"
echo "ok: $out"

# dlopen + dlclose of libkmm, from C and from Python's ctypes.
out=$("$B/tests/shim/dlclose" "$LIB") || fail "dlclose from C: $out"
echo "ok: $out"
out=$(python3 - "$LIB" <<'PY'
import ctypes, _ctypes, sys, threading
for round in range(2):
    lib = ctypes.CDLL(sys.argv[1])
    lib.kmalloc.restype = ctypes.c_void_p
    lib.kmalloc.argtypes = [ctypes.c_size_t, ctypes.c_uint]
    lib.kfree.argtypes = [ctypes.c_void_p]
    for i in range(1000):
        lib.kfree(lib.kmalloc(64 + i, 0xcc0))
    _ctypes.dlclose(lib._handle)
    t = threading.Thread(target=lambda: [bytes(100) for i in range(1000)])
    t.start(); t.join()
print("ok")
PY
) || fail "dlclose from Python: $out"
echo "ok: dlclose from Python's ctypes"

# stats.signal may not take over a signal whose default action matters.
for sig in TERM INT 15 2 HUP QUIT; do
	KMM_CONF="stats.signal=$sig" "$KMM_RUN" /bin/sh -c 'kill -TERM $$; sleep 1' 2>"$T/err"
	rc=$?
	err=$(cat "$T/err")
	[ $rc -eq 143 ] || fail "stats.signal=$sig: SIGTERM did not end the program (status $rc)"
	echo "$err" | grep -q "stats.signal=$sig.*ignored" || fail "stats.signal=$sig not refused: $err"
done
KMM_CONF=stats.signal=USR2 "$KMM_RUN" /bin/true 2>&1 | grep -q . && fail "stats.signal=USR2 refused"
echo "ok: stats.signal refuses TERM, INT, HUP, QUIT"

# A setuid program ignores KMM_CONF (secure_getenv), as glibc ignores its
# tunables.  Needs root and setpriv; the binary is copied where an
# unprivileged user can run it.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	# Built here with an rpath: a setuid program ignores LD_LIBRARY_PATH.
	if ! ${CC:-cc} -I"$B" -I"$S/include" -o "$T/suid" "$S/tests/shim/hostile.c" \
		-L"$B/.libs" -lkmm -Wl,-rpath,"$B/.libs" 2>"$T/cc.err"; then
		echo "SKIP part: setuid: cannot build the probe: $(cat "$T/cc.err")"
	else
		chmod 755 "$T"
		chown root "$T/suid" && chmod 4755 "$T/suid"
		plain=$(KMM_CONF=mem=64M "$T/suid" conf)
		echo "$plain" | grep -q "MemTotal 65536 kB" || fail "KMM_CONF=mem=64M not honoured: $plain"
		got=$(KMM_CONF=mem=64M setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$T/suid" conf 2>&1) || true
		case $got in
		*"AT_SECURE 1"*)
			echo "$got" | grep -q "MemTotal 65536 kB" &&
				fail "a setuid program obeyed KMM_CONF: $got"
			echo "ok: setuid: KMM_CONF ignored ($got)" ;;
		*) echo "SKIP part: setuid: the probe did not run in secure mode: $got" ;;
		esac
	fi
else
	echo "SKIP part: setuid: needs root and setpriv"
fi

# fork() from a signal handler that interrupted malloc (glibc's
# tst-mallocfork2), and malloc inside that handler too.
out=$(timeout 120 "$KMM_RUN" "$B/tests/shim/sigfork") || fail "fork from a signal handler: $out (status $?)"
echo "ok: $out"
out=$(timeout 120 "$KMM_RUN" "$B/tests/shim/sigfork" -m) || fail "malloc in a signal handler: $out (status $?)"
echo "ok: with malloc in the handler: $out"

# valgrind with the default settings (its address space is smaller).
if command -v valgrind >/dev/null 2>&1; then
	out=$(LD_PRELOAD=$B/.libs/libkmm-malloc.so timeout 300 valgrind -q --error-exitcode=9 \
		/bin/echo hello 2>&1) || fail "valgrind: $out"
	echo "$out" | grep -q '^hello$' || fail "valgrind: $out"
	echo "ok: valgrind with default settings"
fi
echo "hostile: all passed"
