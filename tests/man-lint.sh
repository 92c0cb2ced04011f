#!/bin/sh
# The manual is clean and its examples compile.
#
#  1. Every page in man/ passes `mandoc -Tlint -W warning` (any warning
#     fails).  Link pages (".so man3/alloc_pages.3") are checked through
#     their target, so a link to a missing page fails too; the one warning
#     mandoc always gives for them (".so is fragile, better use ln(1)") is
#     excused, since link pages are how the manual names every function
#     (ln(1) links do not survive `make dist` and every packaging tool).
#  2. Every name in the NAME section of a page has a page of its own or a
#     link page, so `man NAME` finds it, and Makefile.am installs them all.
#  3. Every EXAMPLES program of a section-3 page, written between the roff
#     comments
#         .\" BEGIN EXAMPLE name
#         .\" END EXAMPLE
#     and the C example of README.md ("Using the library") are extracted and
#     compiled against the tree's headers with -Wall -Wextra -Werror.  They
#     are compiled only (-c), not linked.
#
# Skipped (exit 77) only when mandoc is not installed.
set -u
srcdir=${srcdir:-.}
CC=${CC:-cc}
top=$(cd "$srcdir" && pwd)
man=$top/man

if ! command -v mandoc >/dev/null 2>&1; then
	echo "man-lint: mandoc not found (apt-get install mandoc); skipped"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/man-lint.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
# mandoc resolves ".so man3/x.3" against the current directory.
for s in 1 3 5 7; do
	ln -s "$man" "$tmp/man$s"
done

fail=0
pages=0
for f in "$man"/*.[1-9]; do
	[ -f "$f" ] || continue
	pages=$((pages + 1))
	base=${f##*/}
	sec=${base##*.}
	out=$(cd "$tmp" && mandoc -Tlint -W warning "man$sec/$base" 2>&1)
	rc=$?
	if head -n 1 "$f" | grep -q '^\.so '; then
		# A link page is what was asked for; mandoc's advice to use
		# ln(1) instead is the one warning excused, and only there.
		out=$(printf '%s\n' "$out" | grep -v ': WARNING: \.so is fragile, better use ln(1): ')
		[ -z "$out" ] && rc=0
	fi
	if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
		echo "man-lint: $base:"
		echo "$out"
		fail=1
	fi
	if head -n 1 "$f" | grep -q '^\.so '; then
		target=$(sed -n '1s/^\.so //p' "$f")
		if [ ! -f "$man/${target##*/}" ] || [ "$(wc -l <"$f")" -ne 1 ]; then
			echo "man-lint: $base: a link page is one line, .so to an existing page"
			fail=1
		fi
	fi
done
[ "$pages" -gt 0 ] || { echo "man-lint: no pages in $man"; exit 1; }

# Every page is installed: Makefile.am lists it in dist_man_MANS.
if [ -f "$top/Makefile.am" ]; then
	for f in "$man"/*.[1-9]; do
		if ! grep -q "man/${f##*/}\( \|\$\)" "$top/Makefile.am"; then
			echo "man-lint: ${f##*/} is not in dist_man_MANS (Makefile.am)"
			fail=1
		fi
	done
fi

# Every .Nm of a page's NAME section has a file.
for f in "$man"/*.[1-9]; do
	head -n 1 "$f" | grep -q '^\.so ' && continue
	sec=${f##*.}
	for name in $(sed -n '/^\.Sh NAME/,/^\.Nd/s/^\.Nm \([^ ]*\).*/\1/p' "$f"); do
		if [ ! -f "$man/$name.$sec" ]; then
			echo "man-lint: ${f##*/} names $name, but man/$name.$sec is missing"
			fail=1
		fi
	done
done

# Examples: extract, unescape roff (\e is a backslash, \& is nothing), compile.
examples=0
for f in "$man"/*.3; do
	head -n 1 "$f" | grep -q '^\.so ' && continue
	base=${f##*/}
	awk -v dir="$tmp" -v page="${base%.3}" '
		/^\.\\" BEGIN EXAMPLE/ { n++; out = dir "/" page "-" n ".c"; on = 1; next }
		/^\.\\" END EXAMPLE/ { on = 0; close(out); next }
		on && /^\.(Bd|Ed)/ { next }
		on { gsub(/\\e/, "\\"); gsub(/\\&/, ""); print > out }
	' "$f"
	if ! ls "$tmp/${base%.3}"-*.c >/dev/null 2>&1; then
		echo "man-lint: $base has no EXAMPLES program between the markers"
		fail=1
	fi
done
awk '/^## Using the library/ { sec = 1; next }
     /^## / { sec = 0 }
     sec && /^```c/ { on = 1; next }
     on && /^```/ { on = 0; next }
     on { print }' "$top/README.md" >"$tmp/README-1.c"
[ -s "$tmp/README-1.c" ] || { echo "man-lint: README.md has no C example"; fail=1; }

for c in "$tmp"/*.c; do
	[ -s "$c" ] || continue
	examples=$((examples + 1))
	if ! $CC -std=gnu11 -Wall -Wextra -Werror -I"$top/include" -c "$c" \
	     -o "${c%.c}.o" 2>"$tmp/cc.err"; then
		echo "man-lint: example ${c##*/} does not compile:"
		cat "$tmp/cc.err"
		fail=1
	fi
done

echo "man-lint: $pages pages, $examples examples"
exit $fail
