# Sourced by the benchmark scripts: perf_hw_counters succeeds when perf
# counts hardware events here.  perf stat exits 0 even when it prints
# "<not supported>", so the count itself is what is looked for.
perf_hw_counters() {
	command -v perf >/dev/null 2>&1 &&
		perf stat -x, -e instructions true 2>&1 | grep -q '^[0-9][0-9]*,,*instructions'
}
