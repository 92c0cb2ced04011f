#!/bin/sh
# The bounded soak run of make check: 8 seconds, 3 threads, every API.
exec "${KMM_TOP_BUILDDIR:-.}/tests/soak" 8 3 "mem=1G"
