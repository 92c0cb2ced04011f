#!/bin/sh
# kmm-run: options, environment, exit status, the banner, settings, and
# finding the library in the installed layout.
. "${KMM_TOP_SRCDIR:-..}/tests/shim/common.sh"
scratch
lib=$B/.libs/libkmm-malloc.so

"$KMM_RUN" --version | grep -Eq '^kmm-run \(libkmm\) [0-9.]+$' || fail "--version"
"$KMM_RUN" --help | grep -q '^Usage: kmm-run' || fail "--help"
"$KMM_RUN" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no program: status is not 2"
"$KMM_RUN" --bogus true >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad option: status is not 2"
"$KMM_RUN" /bin/sh -c 'exit 7'; [ $? -eq 7 ] || fail "exit status not passed on"
"$KMM_RUN" /bin/sh -c 'kill -TERM $$'; [ $? -eq 143 ] || fail "signal status not passed on"

# LD_PRELOAD is prepended, KMM_CONF appended.
got=$(LD_PRELOAD= KMM_CONF= "$KMM_RUN" /bin/sh -c 'echo "$LD_PRELOAD"')
[ "$got" = "$(cd "$B/.libs" && pwd)/libkmm-malloc.so" ] || fail "LD_PRELOAD is '$got'"
got=$(LD_PRELOAD=libfoo.so "$KMM_RUN" /bin/sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
case $got in *libkmm-malloc.so:libfoo.so) ;; *) fail "LD_PRELOAD not prepended: '$got'" ;; esac
got=$(KMM_CONF=mem=1G "$KMM_RUN" --conf 'malloc.slab_max=8k' --stats /bin/sh -c 'echo "$KMM_CONF"' 2>/dev/null)
[ "$got" = "mem=1G malloc.slab_max=8k stats" ] || fail "KMM_CONF is '$got'"
got=$("$KMM_RUN" --conf=verbose /bin/sh -c 'echo "$KMM_CONF"' 2>/dev/null)
[ "$got" = "verbose" ] || fail "--conf=: KMM_CONF is '$got'"

# The banner, from a program that never calls malloc itself.
err=$(KMM_CONF= "$KMM_RUN" --conf verbose /bin/true 2>&1)
echo "$err" | grep -Eq "^libkmm-malloc: active \(pid [0-9]+\)" || fail "no banner: $err"
echo "$err" | grep -Eq "^libkmm [0-9.]+: pid [0-9]+" || fail "no libkmm banner: $err"
err=$(KMM_CONF= "$KMM_RUN" /bin/true 2>&1)
[ -z "$err" ] || fail "silent run printed: $err"

# Malformed shim settings: reported once each, ignored, program runs.
err=$(KMM_CONF= "$KMM_RUN" --conf 'malloc.bogus=1 malloc.slab_max=huge,malloc.classes=odd mem=1G' \
	/bin/echo hi 2>&1 >/dev/null)
[ "$(echo "$err" | grep -c "'malloc.bogus=1': unknown setting; ignored")" -eq 1 ] || fail "bogus: $err"
[ "$(echo "$err" | grep -c "'malloc.slab_max=huge': expected")" -eq 1 ] || fail "slab_max: $err"
[ "$(echo "$err" | grep -c "'malloc.classes=odd': expected")" -eq 1 ] || fail "classes: $err"
[ "$(echo "$err" | wc -l)" -eq 3 ] || fail "unexpected messages: $err"
# Valid ones are taken (the banner tells), libkmm does not complain of them.
err=$(KMM_CONF= "$KMM_RUN" --conf 'verbose malloc.slab_max=4k malloc.classes=kmalloc' /bin/true 2>&1)
echo "$err" | grep -q "slab classes up to 4096 bytes (11 classes)" || fail "settings not taken: $err"
echo "$err" | grep -q "KMM_CONF" && fail "a valid setting was reported: $err"

err=$(KMM_CONF= "$KMM_RUN" --conf 'verbose malloc.glibc_above=2G' /bin/true 2>&1)
echo "$err" | grep -q "glibc above 2048M" || fail "glibc_above not taken: $err"
err=$(KMM_CONF= "$KMM_RUN" --conf 'malloc.glibc_above=10k' /bin/true 2>&1)
echo "$err" | grep -q "'malloc.glibc_above=10k': expected" || fail "glibc_above=10k: $err"

# --stats: libkmm's dumps at exit, also for coreutils programs, which
# fclose(stderr) in their own atexit handler (the dumps use a copy of it).
for prog in "/usr/bin/python3 -c pass" "ls /"; do
	err=$(KMM_CONF= "$KMM_RUN" --stats $prog 2>&1 >/dev/null)
	for dump in buddyinfo slabinfo vmallocinfo meminfo vmstat; do
		echo "$err" | grep -q "^--- /proc/$dump" || fail "--stats $prog: no $dump in: $err"
	done
done

# The installed layout: kmm-run in bin/, the library in libdir, no .libs.
mkdir -p "$T/bin" "$T/lib"
sed -e "s|@libdir[@]|$T/lib|g" -e 's|@PACKAGE_VERSION[@]|0|g' "$S/shim/kmm-run.in" >"$T/bin/kmm-run"
chmod +x "$T/bin/kmm-run"
"$T/bin/kmm-run" /bin/true 2>/dev/null && fail "installed kmm-run ran without its library"
cp "$lib" "$T/lib/"
[ "$("$T/bin/kmm-run" --lib)" = "$T/lib/libkmm-malloc.so" ] || fail "installed --lib"
got=$("$T/bin/kmm-run" /bin/sh -c 'echo "$LD_PRELOAD"')
[ "$got" = "$T/lib/libkmm-malloc.so" ] || fail "installed LD_PRELOAD is '$got'"
echo "kmm-run: ok"
