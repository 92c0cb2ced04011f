#!/bin/bash
# The main job, from a fresh Debian 12 machine: installs the dependencies,
# builds libkmm, and runs a real program on it, showing the allocator's
# statistics at exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/install-deps.sh
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null
mkdir -p build/demo
[ -f build/demo/Makefile ] || (cd build/demo && "$top/configure" -q >/dev/null)
make -C build/demo -s -j"$(nproc)" >/dev/null
# The program: the arguments, or python3 doing real work (dicts, strings,
# JSON, sorting: some million allocations) on libkmm's kmalloc and vmalloc.
if [ $# -eq 0 ]; then
	set -- /usr/bin/python3 -c '
import collections, json, random
r = random.Random(1)
words = ["".join(r.choice("abcdefghij") for _ in range(r.randint(2, 9))) for _ in range(300000)]
freq = collections.Counter(words)
doc = json.dumps([{"word": w, "n": n, "tags": [w[:2], w[-2:]]} for w, n in freq.most_common()])
back = json.loads(doc)
print("python3 on libkmm: %d words, %d distinct, JSON %d bytes, top %s"
      % (len(words), len(freq), len(doc), back[0]["word"]))'
fi
echo "=== kmm-run --conf verbose --stats $1 ..." >&2
exec build/demo/kmm-run --conf verbose --stats "$@"
