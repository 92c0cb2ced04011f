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
grep -q "^MemTotal: *262144 kB" "$dir/stat" || fail "wrong MemTotal"
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
echo "publish: kmmstat and stats.signal work"
