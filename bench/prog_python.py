# prog_python.py - an allocation-heavy Python program for the benchmark:
# dicts, lists, strings and tuples built, serialised, parsed, sorted and
# dropped, as a data-processing script does.  Argument: a scale factor
# (1.0 takes about 2 s on glibc; below 0.2 the rounds shrink too).  Prints a checksum that must not depend
# on the allocator; bench/run-bench.sh compares it across allocators.
import json
import random
import sys
import zlib

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
rng = random.Random(1)
check = 0
rounds = max(1, round(5 * scale))
per_round = 40000 if scale >= 0.2 else max(100, int(200000 * scale))
for rnd in range(rounds):
    recs = []
    for i in range(per_round):
        recs.append({
            "id": i,
            "name": "user%d-%s" % (i, "x" * rng.randrange(1, 40)),
            "tags": [str(rng.randrange(1000)) for _ in range(rng.randrange(0, 8))],
            "score": rng.random(),
            "pos": (rng.randrange(100), rng.randrange(100)),
        })
    text = json.dumps(recs)
    back = json.loads(text)
    back.sort(key=lambda r: (r["score"], r["id"]))
    index = {}
    for r in back:
        for t in r["tags"]:
            index.setdefault(t, []).append(r["id"])
    words = " ".join(r["name"] for r in back).split("-")
    check = zlib.crc32(("%d %d %d" % (len(text), len(index), len(words))).encode(), check)
    del recs, back, index, words, text
print("checksum=%d" % check)
