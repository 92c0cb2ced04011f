# workloads.sh - real Debian programs doing real work, shared by the tests
# (tests/shim/programs.sh: output under kmm-run equals output without) and
# the benchmark (bench/run-programs.sh: timed under glibc, jemalloc, kmm).
#
# Sourced.  wl_setup DIR makes the inputs once; then each workload runs as
#   wl_NAME RUNNER...
# in the current directory (a scratch directory), where RUNNER is a command
# prefix (empty, "kmm-run", "env LD_PRELOAD=...", "/usr/bin/time ... env
# ..."); every workload is one command so a prefix wraps all of it, and
# every child it spawns inherits the same LD_PRELOAD.  Each prints a short
# deterministic digest of its result on stdout.

WL_NAMES="shell_forks py_threads py_subprocess py_dict gcc sqlite git sort"
PY=/usr/bin/python3

wl_setup() {
	WL_DIR=$1
	mkdir -p "$WL_DIR"
	# A C file of a few thousand lines: 400 functions and a main.
	if [ ! -f "$WL_DIR/big.c" ]; then
		$PY - "$WL_DIR/big.c" <<'PYEOF'
import sys
out = ['#include <stdio.h>', '#include <string.h>', '']
n = 400
for i in range(n):
    out.append('struct s%d { int a[%d]; char name[32]; double w; };' % (i, i % 17 + 1))
    out.append('static long f%d(long x)\n{' % i)
    out.append('\tstruct s%d v;\n\tmemset(&v, 0, sizeof(v));\n\tlong acc = x;' % i)
    out.append('\tfor (int k = 0; k < %d; k++) {' % (i % 17 + 1))
    out.append('\t\tv.a[k] = (int)(acc * %d + k);' % (i * 31 + 7))
    out.append('\t\tacc ^= v.a[k] << (k %% 5);\n\t\tif (acc %% %d == 0)\n\t\t\tacc += %d;\n\t\telse\n\t\t\tacc -= k;' % (i % 13 + 2, i))
    out.append('\t}\n\tv.w = (double)acc / %d.0;\n\tsnprintf(v.name, sizeof(v.name), "f%d-%%ld", acc);' % (i + 1, i))
    out.append('\treturn acc + (long)v.w + (long)strlen(v.name);\n}\n')
out.append('int main(void)\n{\n\tlong x = 1;')
for i in range(n):
    out.append('\tx = f%d(x) %% 1000003;' % i)
out.append('\tprintf("%ld\\n", x);\n\treturn 0;\n}')
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
PYEOF
	fi
	# 100k rows for sqlite3.
	if [ ! -f "$WL_DIR/sqlite.sql" ]; then
		cat >"$WL_DIR/sqlite.sql" <<'SQLEOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL, note TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000)
INSERT INTO t SELECT i, 'name' || (i * 7919 % 100000), i % 97, (i * 31 % 1000) / 7.0,
       substr(hex(randomblob(0)) || printf('%040d', i * 13), 1, 20 + i % 60) FROM c;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, val);
UPDATE t SET val = val * 2 WHERE grp % 3 = 0;
DELETE FROM t WHERE id % 11 = 0;
SELECT count(*), sum(grp), round(sum(val), 2) FROM t;
SELECT grp, count(*), round(avg(val), 3), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 5;
SELECT count(DISTINCT name) FROM t;
SELECT a.grp, count(*) FROM t a JOIN t b ON a.name = b.name AND a.id < b.id GROUP BY a.grp ORDER BY 2 DESC, 1 LIMIT 3;
SELECT group_concat(name, ',') IS NOT NULL, length(group_concat(note, '')) FROM (SELECT name, note FROM t ORDER BY val DESC, id LIMIT 20000);
SQLEOF
	fi
	# ~50 MB of lines to sort.
	if [ ! -f "$WL_DIR/sort.in" ]; then
		$PY - "$WL_DIR/sort.in" <<'PYEOF'
import random, sys
r = random.Random(42)
words = ['alpha', 'beta', 'gamma', 'delta', 'kmalloc', 'vmalloc', 'buddy', 'slab', 'page']
with open(sys.argv[1], 'w') as f:
    size = 0
    while size < 50 * 1024 * 1024:
        line = '%s %08d %s %s\n' % (r.choice(words), r.randrange(10**8),
                                    ''.join(r.choice('abcdefghijklmnop') for _ in range(r.randrange(5, 40))),
                                    r.choice(words))
        f.write(line)
        size += len(line)
PYEOF
	fi
}

# A shell script that forks many children (pipelines, subshells, seds).
wl_shell_forks() {
	"$@" /bin/sh -c '
		i=0; out=
		while [ $i -lt 400 ]; do
			x=$(echo "$i" | sed "s/1/one/g" | tr a-z A-Z)
			( y=$((i * i)); echo "$y" ) >/dev/null
			out="$out$x"
			i=$((i + 1))
		done
		echo "$out" | md5sum'
}

wl_py_threads() {
	"$@" $PY -c '
import threading, hashlib
res = [None] * 4
def work(k):
    d = {}
    for i in range(200000):
        d[("k%d" % (i * (k + 1))) * 2] = [i, str(i), (i, k)]
    s = sorted(d.items())[:1000]
    res[k] = hashlib.md5(repr(s).encode()).hexdigest()
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print(res)'
}

wl_py_subprocess() {
	"$@" $PY -c '
import subprocess, sys
out = []
for i in range(25):
    out.append(subprocess.run([sys.executable, "-c", "import json; print(json.dumps(list(range(%d))))" % i],
                              capture_output=True, text=True).stdout.strip()[-8:])
    out.append(subprocess.run(["sh", "-c", "echo $((%d * 3))" % i], capture_output=True, text=True).stdout.strip())
print(len(out), out[-4:])'
}

wl_py_dict() {
	"$@" $PY -c '
import json
d = {}
for i in range(600000):
    d["key-%d" % i] = ["v" * (i % 23), i, {"n": i % 97}]
l = sorted(d, key=lambda k: (len(d[k][0]), k))
s = "".join(k[-3:] for k in l[:100000])
blob = json.dumps([d[k] for k in l[:50000]])
words = {}
for w in blob.split(","):
    words[w] = words.get(w, 0) + 1
del d
print(len(l), len(s), len(blob), len(words), sum(words.values()))'
}

wl_gcc() {
	"$@" /bin/sh -c "gcc -O1 -Wall -o big '$WL_DIR/big.c' && ./big && md5sum <big.c 2>/dev/null; wc -l <'$WL_DIR/big.c'"
}

wl_sqlite() {
	"$@" sqlite3 :memory: <"$WL_DIR/sqlite.sql"
}

wl_git() {
	rm -rf repo
	"$@" /bin/sh -c '
		set -e
		export GIT_AUTHOR_NAME=kmm GIT_AUTHOR_EMAIL=kmm@example.org
		export GIT_COMMITTER_NAME=kmm GIT_COMMITTER_EMAIL=kmm@example.org
		export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
		export GIT_CONFIG_NOSYSTEM=1 HOME=$PWD
		git init -q repo && cd repo
		i=0
		while [ $i -lt 30 ]; do
			mkdir -p d$i
			seq -f "line %g of file" 1 $((i * 10 + 5)) >d$i/base
			i=$((i + 1))
		done
		for d in d*; do
			for j in $(seq 1 100); do cp $d/base $d/f$j; echo $j >>$d/f$j; done
		done
		git add -A && git commit -q -m "3000 files"
		for d in d1 d2 d3; do echo change >>$d/f1; done
		git commit -q -a -m change
		git gc -q --aggressive 2>/dev/null
		git rev-parse HEAD
		git count-objects -v | grep -E "^(count|in-pack|packs)"
		git fsck --no-progress 2>&1 | wc -l'
}

wl_sort() {
	"$@" /bin/sh -c "sort --parallel=2 -S 64M '$WL_DIR/sort.in' | md5sum; sort -k2,2n -k1,1 '$WL_DIR/sort.in' | tail -c 200 | md5sum"
}
