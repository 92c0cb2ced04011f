#!/bin/sh
# libkmm-malloc.so exports the malloc interface and libkmm's public API
# (exactly the names libkmm.so exports, so that a program linked with -lkmm
# under kmm-run binds to the preloaded instance), and nothing else.
# A sanitizer build links the sanitizers' runtime symbols in: skip.
[ "${KMM_SANITIZE:-no}" = yes ] && { echo "exports: sanitizer build, skipped"; exit 77; }
lib=${KMM_TOP_BUILDDIR:-.}/.libs/libkmm-malloc.so
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
want="aligned_alloc calloc free mallinfo mallinfo2 malloc malloc_stats malloc_trim
malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc
$(nm -D --defined-only "${KMM_TOP_BUILDDIR:-.}/.libs/libkmm.so" | awk '{print $3}')"
got=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort | tr '\n' ' ')
want=$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')
if [ "$got" != "$want" ]; then
	echo "FAIL: libkmm-malloc.so exports: $got"
	echo "      expected:                 $want"
	exit 1
fi
undef=$(nm -D --undefined-only "$lib" | awk '$1 == "U" && $2 !~ /@/ {print $2}')
[ -z "$undef" ] || { echo "FAIL: unresolved: $undef"; exit 1; }
echo "exports: $want"
