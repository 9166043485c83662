/* Unit tests of zkfs-bench's arithmetic: tools/bench_hist.c (latency quantiles) and
 * tools/bench_sched.c (the open-loop schedule and its shortfall check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tools/bench.h"

/* |got - want| <= want * @frac. */
static void assert_near(uint64_t got, uint64_t want, double frac)
{
	double d = (double)got - (double)want;

	if (d < 0)
		d = -d;
	if (d > (double)want * frac)
		fail_msg("got %llu, want %llu within %.1f%%", (unsigned long long)got,
			 (unsigned long long)want, frac * 100);
}

/* An empty histogram has no latency at any quantile. */
static void test_hist_empty(void **state)
{
	struct bench_hist *h = calloc(1, sizeof(*h));

	assert_int_equal(bench_hist_quantile(h, 0.5), 0);
	assert_int_equal(bench_hist_quantile(h, 0.999), 0);
	free(h);
}

/* Below 128 ns the buckets are exact: 1..100 gives the rank itself. */
static void test_hist_exact_small(void **state)
{
	struct bench_hist *h = calloc(1, sizeof(*h));

	for (uint64_t v = 1; v <= 100; v++)
		bench_hist_add(h, v);
	assert_int_equal(bench_hist_quantile(h, 0.50), 50);
	assert_int_equal(bench_hist_quantile(h, 0.99), 99);
	assert_int_equal(bench_hist_quantile(h, 1.0), 100);
	assert_int_equal(bench_hist_quantile(h, 0.0), 1);
	free(h);
}

/* 1 ms .. 1 s in 1 ms steps: each quantile within the 1.6% bucket resolution of its rank, never
 * above the maximum, and monotone in q. */
static void test_hist_resolution(void **state)
{
	struct bench_hist *h = calloc(1, sizeof(*h));
	uint64_t prev = 0;

	for (uint64_t ms = 1; ms <= 1000; ms++)
		bench_hist_add(h, ms * 1000000);
	assert_near(bench_hist_quantile(h, 0.50), 500000000, 0.016);
	assert_near(bench_hist_quantile(h, 0.99), 990000000, 0.016);
	assert_near(bench_hist_quantile(h, 0.999), 999000000, 0.016);
	assert_int_equal(bench_hist_quantile(h, 1.0), 1000000000);
	for (double q = 0; q <= 1.0; q += 0.01) {
		uint64_t v = bench_hist_quantile(h, q);

		assert_true(v >= prev);
		assert_true(v <= h->max_ns);
		prev = v;
	}
	free(h);
}

/* A tail of 1% slow ops shows in p99.9 and not in p50: what open loop must not hide. */
static void test_hist_tail(void **state)
{
	struct bench_hist *h = calloc(1, sizeof(*h));

	for (int i = 0; i < 9900; i++)
		bench_hist_add(h, 200000);
	for (int i = 0; i < 100; i++)
		bench_hist_add(h, 50000000);
	assert_near(bench_hist_quantile(h, 0.50), 200000, 0.016);
	assert_near(bench_hist_quantile(h, 0.99), 200000, 0.016);
	assert_near(bench_hist_quantile(h, 0.999), 50000000, 0.016);
	free(h);
}

/* Merging per-session histograms equals recording everything in one. */
static void test_hist_merge(void **state)
{
	struct bench_hist *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bench_hist *all = calloc(1, sizeof(*all)), *m = calloc(1, sizeof(*m));

	for (uint64_t v = 1; v < 100000; v += 7) {
		bench_hist_add(v % 2 ? a : b, v * 13);
		bench_hist_add(all, v * 13);
	}
	bench_hist_merge(m, a);
	bench_hist_merge(m, b);
	assert_int_equal(m->total, all->total);
	assert_int_equal(m->max_ns, all->max_ns);
	for (double q = 0.05; q < 1.0; q += 0.05)
		assert_int_equal(bench_hist_quantile(m, q), bench_hist_quantile(all, q));
	free(a);
	free(b);
	free(all);
	free(m);
}

/* Requests are evenly spaced at 1/rate, starting at the start. */
static void test_sched_spacing(void **state)
{
	const uint64_t start = 123456789;
	uint64_t prev = bench_sched_at(start, 12345.6, 0);

	assert_int_equal(prev, start);
	assert_int_equal(bench_sched_at(start, 3, 1) - start, 333333333);
	assert_int_equal(bench_sched_at(start, 3, 3) - start, 1000000000);
	for (uint64_t n = 1; n < 1000000; n++) {
		uint64_t at = bench_sched_at(start, 12345.6, n);

		/* 81000.5 ns apart, truncated to whole ns. */
		assert_true(at - prev == 81000 || at - prev == 81001);
		prev = at;
	}
}

/* The schedule is computed, not accumulated: after an hour it is still exact. */
static void test_sched_no_drift(void **state)
{
	assert_int_equal(bench_sched_at(0, 7000, 7000ull * 3600), 3600000000000ull);
	assert_int_equal(bench_sched_at(5, 50000, 50000ull * 86400), 86400000000005ull);
	assert_near(bench_sched_at(0, 333.3, 3333000), 10000000000000ull, 1e-9);
}

/* Short means more than 5% below the target; above the target is fine. */
static void test_sched_short(void **state)
{
	assert_false(bench_sched_short(100, 100));
	assert_false(bench_sched_short(95.01, 100));
	assert_true(bench_sched_short(94.9, 100));
	assert_true(bench_sched_short(0, 100));
	assert_false(bench_sched_short(130, 100));
}

/* Slots per session: 5 s of the session's share, clamped to [16, 4096]. */
static void test_sched_inflight(void **state)
{
	assert_int_equal(bench_sched_inflight(6400, 32), 1000);
	assert_int_equal(bench_sched_inflight(10, 32), 16);
	assert_int_equal(bench_sched_inflight(1e6, 1), 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_empty),	  cmocka_unit_test(test_hist_exact_small),
		cmocka_unit_test(test_hist_resolution), cmocka_unit_test(test_hist_tail),
		cmocka_unit_test(test_hist_merge),	  cmocka_unit_test(test_sched_spacing),
		cmocka_unit_test(test_sched_no_drift),	  cmocka_unit_test(test_sched_short),
		cmocka_unit_test(test_sched_inflight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
