#!/bin/sh
# The malloc contract suite (contract.c) under kmm-run, then the death
# scenarios: each must abort (SIGABRT, status 134) with a precise message.
. "${KMM_TOP_SRCDIR:-..}/tests/shim/common.sh"
prog=$B/tests/shim/contract

"$KMM_RUN" "$prog" || fail "contract suite"
# Again with slab debugging: wider slots, red zones, poisoning.
KMM_CONF="slub_debug=FZP" "$KMM_RUN" "$prog" || fail "contract suite under slub_debug=FZP"
# And with the kmalloc caches only, and a small slab_max.
KMM_CONF="malloc.classes=kmalloc malloc.slab_max=4k" "$KMM_RUN" "$prog" ||
	fail "contract suite under malloc.classes=kmalloc malloc.slab_max=4k"
# With memory cleared on allocation (warm large blocks too).  Not with
# init_on_free=1: it clears the word free() tags, and the death tests of
# double frees then meet the slab layer's checks instead of free()'s.
KMM_CONF="init_on_alloc=1" "$KMM_RUN" "$prog" ||
	fail "contract suite under init_on_alloc=1"

# expect_death SCENARIO EXTENDED-REGEX
expect_death() {
	msg=$("$KMM_RUN" "$prog" "$1" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 134 ] || fail "$1: exit status $rc, expected 134 (SIGABRT); stderr: $msg"
	echo "$msg" | grep -Eq "$2" || fail "$1: message '$msg' does not match '$2'"
	echo "ok: $1: $msg"
}
P='0x[0-9a-f]+'
expect_death double-free "^free\(\): double free detected $P in cache kmalloc-64$"
expect_death double-free-48 "^free\(\): double free detected $P in cache malloc-48$"
expect_death interior "^free\(\): invalid pointer $P \(not the start of an object in cache kmalloc-64\)$"
expect_death interior-48 "^free\(\): invalid pointer $P \(not the start of an object in cache malloc-48\)$"
expect_death double-free-large "^free\(\): invalid pointer $P \(not in a live vmalloc area: freed already\?\)$"
expect_death double-free-reused "^free\(\): invalid pointer $P \(not in a live vmalloc area: freed already\?\)$"
expect_death realloc-freed-large "^realloc\(\): invalid pointer $P \(not in a live vmalloc area: freed already\?\)$"
expect_death usable-freed-large "^malloc_usable_size\(\): invalid pointer $P \(not in a live vmalloc area: freed already\?\)$"
expect_death interior-large "^free\(\): invalid pointer $P \(not the start of a vmalloc area\)$"
expect_death double-free-aligned "^free\(\): invalid pointer $P \(not in a live vmalloc area: freed already\?\)$"
expect_death free-frame "^free\(\): invalid pointer $P \(in a free page frame, pfn $P: freed already\?\)$"
expect_death realloc-freed "^realloc\(\): invalid pointer $P \(freed already, in cache kmalloc-256\)$"

# And a clean run prints nothing at all.
msg=$("$KMM_RUN" "$prog" ok 2>&1) || fail "scenario ok failed: $msg"
[ -z "$msg" ] || fail "scenario ok printed: $msg"
echo "contract: ok"
