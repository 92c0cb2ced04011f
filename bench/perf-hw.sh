# Sourced by the benchmark scripts.  perf_hw_counters succeeds when perf
# counts hardware events here: perf stat exits 0 even when it prints
# "<not supported>", so the count itself is what is looked for.
# perf_hw_say prints the line the reports carry about it.
perf_hw_counters() {
	command -v perf >/dev/null 2>&1 &&
		perf stat -x, -e instructions true 2>&1 | grep -q '^[0-9][0-9]*,,*instructions'
}

perf_hw_say() {
	if perf_hw_counters; then
		echo "perf: hardware counters available (software events used here)"
	else
		echo "perf: hardware counters not supported on this machine; software events only"
	fi
}
