/* bench_hist: see bench.h. The bucket of v >= 128 is fixed by its highest set bit e and the 6
 * bits below it, as in HdrHistogram's log-linear layout, so adding is O(1) with no allocation. */
#include <string.h>

#include "tools/bench.h"

static unsigned bench_hist_bucket(uint64_t ns)
{
	unsigned e;

	if (ns < 128)
		return (unsigned)ns;
	e = 63u - (unsigned)__builtin_clzll(ns);
	return 128u + (e - 7u) * 64u + (unsigned)((ns >> (e - 6u)) & 63u);
}

/* Middle of bucket @b's range. */
static uint64_t bench_hist_value(unsigned b)
{
	unsigned e, sub;

	if (b < 128)
		return b;
	e = (b - 128u) / 64u + 7u;
	sub = (b - 128u) % 64u;
	return ((64ull + sub) << (e - 6u)) + (1ull << (e - 6u)) / 2u;
}

void bench_hist_add(struct bench_hist *h, uint64_t ns)
{
	h->count[bench_hist_bucket(ns)]++;
	h->total++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from)
{
	for (unsigned b = 0; b < BENCH_HIST_BUCKETS; b++)
		into->count[b] += from->count[b];
	into->total += from->total;
	if (from->max_ns > into->max_ns)
		into->max_ns = from->max_ns;
}

uint64_t bench_hist_quantile(const struct bench_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->total == 0)
		return 0;
	want = (uint64_t)(q * (double)h->total + 0.999999);
	if (want == 0)
		want = 1;
	for (unsigned b = 0; b < BENCH_HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= want) {
			uint64_t v = bench_hist_value(b);

			return v < h->max_ns ? v : h->max_ns;
		}
	}
	return h->max_ns;
}
