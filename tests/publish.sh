#!/bin/sh
# Live introspection: kmmstat PID reads a running program's dumps through
# the shared-memory page (stats.publish), and stats.signal dumps them to
# stderr on a signal.
set -u
B=${KMM_TOP_BUILDDIR:-.}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "publish: $*"; exit 1; }

mkfifo "$dir/in"
"$B/tests/publish_target" "mem=256M stats.publish stats.signal=USR2" \
	<"$dir/in" >"$dir/out" 2>"$dir/err" &
pid=$!
exec 3>"$dir/in"                       # keeps the target waiting
for i in $(seq 50); do grep -q ready "$dir/out" && break; sleep 0.1; done
grep -q ready "$dir/out" || fail "target did not start"
[ -e /dev/shm/kmm-stats.$pid ] || fail "no /dev/shm/kmm-stats.$pid"

"$B/kmmstat" "$pid" >"$dir/stat" || fail "kmmstat failed"
for f in buddyinfo slabinfo vmallocinfo meminfo vmstat; do
	grep -q "^--- /proc/$f" "$dir/stat" || fail "kmmstat output lacks $f"
done
grep -q "^slabinfo - version: 2.1" "$dir/stat" || fail "no slabinfo header"
grep -Eq "^MemTotal: *[1-9][0-9]* kB" "$dir/stat" || fail "no MemTotal"
grep -q "pages=256 vmalloc" "$dir/stat" || fail "the 1 MiB vmalloc is not listed"

"$B/kmmstat" -f meminfo "$pid" >"$dir/meminfo" || fail "kmmstat -f failed"
head -1 "$dir/meminfo" | grep -q "^MemTotal:" || fail "-f meminfo does not start at MemTotal"
grep -q "buddyinfo\|slabinfo" "$dir/meminfo" && fail "-f meminfo printed other dumps"
"$B/kmmstat" -n 3 -i 0.1 -f buddyinfo "$pid" >"$dir/three" || fail "kmmstat -n 3 failed"
[ "$(grep -c 'zone    DMA32' "$dir/three")" -eq 3 ] || fail "-n 3 did not print three reports"

kill -USR2 "$pid"
for i in $(seq 50); do grep -q "^--- /proc/vmstat" "$dir/err" && break; sleep 0.1; done
grep -q "^--- /proc/slabinfo" "$dir/err" || fail "stats.signal did not dump to stderr"

exec 3>&-
wait "$pid" || fail "target failed"
[ -e /dev/shm/kmm-stats.$pid ] && fail "/dev/shm/kmm-stats.$pid left behind"
"$B/kmmstat" "$pid" 2>/dev/null && fail "kmmstat of a gone process succeeded"
"$B/kmmstat" 2>/dev/null; [ $? -eq 2 ] || fail "usage error is not exit 2"

# A hostile /dev/shm.  A file that another user made at our name is not
# adopted: the program says so and runs on, the file stays untouched.
if [ "$(id -u)" -eq 0 ]; then
	sh -c 'f=/dev/shm/kmm-stats.$$; : >"$f"; chown 65534 "$f"; chmod 666 "$f"
		exec "$0" "mem=64M stats.publish" </dev/null' "$B/tests/publish_target" \
		>"$dir/out2" 2>"$dir/err2" || fail "target with a planted file failed: $(cat "$dir/err2")"
	grep -q "exists and is not ours" "$dir/err2" || fail "planted file not refused: $(cat "$dir/err2")"
	planted=$(ls -l /dev/shm | awk '$3 == "nobody" && $NF ~ /^kmm-stats/ {print $NF}')
	[ -n "$planted" ] || fail "the planted file was removed or adopted"
	for f in $planted; do
		[ "$(stat -c %s "/dev/shm/$f")" -eq 0 ] || fail "the planted file was written"
		rm -f "/dev/shm/$f"
	done
	echo "publish: a file planted by another user is refused"
	# A full /dev/shm (a 64 KiB tmpfs in a private mount namespace): an
	# error at start, never a SIGBUS.
	if command -v unshare >/dev/null 2>&1 &&
	   unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs /dev/shm' 2>/dev/null; then
		unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs /dev/shm &&
			exec "$0" "mem=64M stats.publish" </dev/null' "$B/tests/publish_target" \
			>"$dir/out3" 2>"$dir/err3" || fail "target on a full /dev/shm died: $(cat "$dir/err3")"
		grep -q "cannot create" "$dir/err3" || fail "full /dev/shm not reported: $(cat "$dir/err3")"
		echo "publish: a full /dev/shm is reported, not a SIGBUS"
	fi
fi
# kmmstat does not trust the page: a forged one with a terminal escape and
# a length past its end prints '?' for the escape and stops at the end.
sleep 30 &
victim=$!
python3 - "$victim" <<'PY'
import struct, sys, os
pid = int(sys.argv[1])
text = b"--- /proc/meminfo\nMemTotal: 1 kB\x1b[2J\x1b]0;owned\x07\n"
page = struct.pack("<IIiIIIQ", 0x6b6d6d73, 1, pid, 0, 0x7fffffff, 0, 1 << 40) + text
fd = os.open("/dev/shm/kmm-stats.%d" % pid, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
os.write(fd, page)
os.close(fd)
PY
"$B/kmmstat" "$victim" >"$dir/forged" 2>&1 || fail "kmmstat of a forged page failed: $(cat "$dir/forged")"
rm -f /dev/shm/kmm-stats.$victim
kill $victim 2>/dev/null
grep -q "$(printf '\033')" "$dir/forged" && fail "kmmstat printed an escape sequence"
grep -qF "MemTotal: 1 kB?[2J?]0;owned?" "$dir/forged" || fail "kmmstat output: $(cat "$dir/forged")"
echo "publish: kmmstat and stats.signal work"
