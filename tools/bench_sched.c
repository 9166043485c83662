/* bench_sched: see bench.h. Pure arithmetic, so that tests/unit/test_bench checks it alone. */
#include "tools/bench.h"

uint64_t bench_sched_at(uint64_t start_ns, double rate, uint64_t n)
{
	/* A double holds n * 1e9 exactly up to 2^53 ns (104 days of schedule). */
	return start_ns + (uint64_t)((double)n * 1e9 / rate);
}

bool bench_sched_short(double achieved, double target)
{
	return achieved < target * (1.0 - BENCH_RATE_MARGIN);
}

int bench_sched_inflight(double rate, int sessions)
{
	double n = rate * 5.0 / (double)sessions;

	return n < 16 ? 16 : n > 4096 ? 4096 : (int)n;
}
