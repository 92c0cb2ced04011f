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
if [ -x build/demo/kmm-run ]; then
	exec build/demo/kmm-run --stats "${@:-python3}" ${1:+} \
		${@:+} $( [ $# -eq 0 ] && echo "-c 'import json; print(len(json.dumps([dict(a=i, b=str(i)*3) for i in range(200000)])))'" )
fi
exec build/demo/kmm-demo "mem=1G"
