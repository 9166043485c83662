/* bench_main: zkfs-bench's command line and its one output line. The line is key=value pairs
 * separated by spaces, so a script can `eval` or grep it:
 *   op=get sessions=32 outstanding=4 value_size=100 keys=1000 ops=... seconds=...
 *   ops_per_s=... p50_us=... p99_us=... p999_us=... max_us=... errors=0 ignored=0
 * (mixed adds read_/write_ percentiles; --rate puts rate=R in place of outstanding=K and adds
 * send_lag_p99_us/send_lag_max_us). No line, and exit status 1, when any op failed with an
 * error not listed in --ignore; exit status 4 when the achieved rate fell short of --rate. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench.h"
#include "common/zk_log.h"

enum {
	BENCH_EXIT_OK = 0,
	BENCH_EXIT_FAILED = 1,
	BENCH_EXIT_USAGE = 2,
	BENCH_EXIT_SETUP = 3,
	BENCH_EXIT_SHORT = 4
};

static const char *const bench_op_names[] = {
	[BENCH_CREATE] = "create", [BENCH_SET] = "set",		  [BENCH_GET] = "get",
	[BENCH_EXISTS] = "exists", [BENCH_CHILDREN] = "children", [BENCH_MIXED] = "mixed"};

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: zkfs-bench [--server HOSTS] [--op OP] [--sessions N] [--outstanding N]\n"
		"                  [--rate OPS_PER_S] [--value-size BYTES] [--keys N] [--ratio R:W]\n"
		"                  [--duration SEC | --ops N] [--warmup SEC] [--prefix PATH]\n"
		"                  [--ignore ERR[,ERR...]] [--timeout MS] [--per-thread N]\n"
		"                  [--server-pid PID] [-v]\n"
		"  --server      host:port list (default 127.0.0.1:2181; -server works too)\n"
		"  --op          create | set | get | exists | children | mixed (default get)\n"
		"                create makes PREFIX/k0, k1, ...; set/get/exists/mixed use keys\n"
		"                0..N-1 (created first if missing); children lists PREFIX\n"
		"  --sessions    client sessions (default 1)\n"
		"  --outstanding requests in flight per session (default 1): closed loop, each\n"
		"                completion issues the next request\n"
		"  --rate        open loop instead: OPS_PER_S requests a second over all sessions,\n"
		"                sent in turn on a fixed schedule whatever the replies; latency runs\n"
		"                from each request's scheduled send time, so a stall counts against\n"
		"                every request it delayed. ops_per_s is the completions inside the\n"
		"                measured interval per second; below 95%% of OPS_PER_S no figures\n"
		"                are printed (exit 4). --ops N then measures N / OPS_PER_S seconds\n"
		"  --value-size  bytes written by create/set (default 100)\n"
		"  --keys        key space of set/get/exists/mixed (default 1000)\n"
		"  --ratio       reads:writes of mixed, getData:setData (default 90:10)\n"
		"  --duration    measured seconds (default 10), or --ops: measured op count\n"
		"  --warmup      seconds of load before measuring (default 1)\n"
		"  --prefix      parent znode of the keys (default /zkfs-bench)\n"
		"  --ignore      ZooKeeper errors (e.g. NodeExists) counted, not fatal\n"
		"  --per-thread  sessions sharing one loop thread (default 16)\n"
		"  --server-pid  also report that process's CPU time per op (from /proc)\n"
		"Prints one line of key=value pairs. Exit status: 0 measured; 1 an op failed with\n"
		"an unexpected error (no figures printed); 2 usage; 3 could not connect or prefill;\n"
		"4 the achieved rate fell short of --rate (no figures printed).\n");
}

static int bench_parse_op(const char *s, enum bench_op *op)
{
	for (int i = 0; i <= BENCH_MIXED; i++) {
		if (strcmp(s, bench_op_names[i]) == 0) {
			*op = (enum bench_op)i;
			return 0;
		}
	}
	return -1;
}

static int bench_parse_ignore(char *list, struct bench_opts *o)
{
	for (char *save, *t = strtok_r(list, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		if (o->n_ignore == 16 || zkclient_err_parse(t, &o->ignore[o->n_ignore]) != 0) {
			fprintf(stderr, "zkfs-bench: --ignore: unknown error %s\n", t);
			return -1;
		}
		o->n_ignore++;
	}
	return 0;
}

/* A positive number in [1, max] from @s, or -1. */
static long long bench_num(const char *s, long long max)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	return end != s && *end == '\0' && v >= 1 && v <= max ? v : -1;
}

static int bench_option(int opt, char *arg, struct bench_opts *o)
{
	long long v = 0;
	char *end;

	switch (opt) {
	case 's': o->hosts = arg; return 0;
	case 'o': return bench_parse_op(arg, &o->op);
	case 'n': v = o->sessions = (int)bench_num(arg, 4096); break;
	case 'k': v = o->outstanding = (int)bench_num(arg, 100000); break;
	case 'z': v = o->value_size = (int)bench_num(arg, 1 << 20); break;
	case 'K': v = o->keys = (int)bench_num(arg, 1 << 30); break;
	case 'N': v = o->ops = bench_num(arg, 1ll << 50); break;
	case 't': v = o->session_ms = (int)bench_num(arg, 1 << 30); break;
	case 'T': v = o->per_thread = (int)bench_num(arg, 4096); break;
	case 'p': v = o->server_pid = (int)bench_num(arg, 1 << 30); break;
	case 'P': o->prefix = arg; return arg[0] == '/' && strlen(arg) < 200 ? 0 : -1;
	case 'i': return bench_parse_ignore(arg, o);
	case 'v': o->verbose++; return 0;
	case 'r':
		o->ratio_read = (int)strtol(arg, &end, 10);
		if (*end != ':')
			return -1;
		o->ratio_write = (int)strtol(end + 1, &end, 10);
		return *end == '\0' && o->ratio_read >= 0 && o->ratio_write >= 0 &&
				       o->ratio_read + o->ratio_write > 0
			       ? 0
			       : -1;
	case 'd':
		o->duration_s = strtod(arg, &end);
		return *end == '\0' && o->duration_s > 0 ? 0 : -1;
	case 'w':
		o->warmup_s = strtod(arg, &end);
		return *end == '\0' && o->warmup_s >= 0 ? 0 : -1;
	case 'R':
		o->rate = strtod(arg, &end);
		return *end == '\0' && o->rate >= 1 && o->rate <= 1e7 ? 0 : -1;
	default: return -1;
	}
	return v > 0 ? 0 : -1;
}

static int bench_options(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longs[] = {
		{"server", required_argument, NULL, 's'},
		{"op", required_argument, NULL, 'o'},
		{"sessions", required_argument, NULL, 'n'},
		{"outstanding", required_argument, NULL, 'k'},
		{"value-size", required_argument, NULL, 'z'},
		{"keys", required_argument, NULL, 'K'},
		{"ratio", required_argument, NULL, 'r'},
		{"duration", required_argument, NULL, 'd'},
		{"ops", required_argument, NULL, 'N'},
		{"warmup", required_argument, NULL, 'w'},
		{"rate", required_argument, NULL, 'R'},
		{"prefix", required_argument, NULL, 'P'},
		{"ignore", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 't'},
		{"per-thread", required_argument, NULL, 'T'},
		{"server-pid", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int opt;

	/* zkCli spells it -server: accept that too. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-server") == 0)
			argv[i] = "--server";
	}
	while ((opt = getopt_long(argc, argv, "hv", longs, NULL)) != -1) {
		if (opt == 'h') {
			bench_usage(stdout);
			exit(BENCH_EXIT_OK);
		}
		if (opt == '?' || bench_option(opt, optarg, o) != 0) {
			if (opt != '?')
				fprintf(stderr, "zkfs-bench: bad value %s\n", argv[optind - 1]);
			bench_usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "zkfs-bench: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	return 0;
}

static void bench_print_hist(const char *prefix, const struct bench_hist *h)
{
	printf(" %sp50_us=%.1f %sp99_us=%.1f %sp999_us=%.1f", prefix,
	       (double)bench_hist_quantile(h, 0.50) / 1e3, prefix,
	       (double)bench_hist_quantile(h, 0.99) / 1e3, prefix,
	       (double)bench_hist_quantile(h, 0.999) / 1e3);
}

/* Open loop: refuse figures when the server (or this client) did not keep up with --rate. */
static int bench_check_rate(const struct bench_opts *o, const struct bench_result *r)
{
	if (o->rate == 0 || !bench_sched_short(r->achieved, o->rate))
		return BENCH_EXIT_OK;
	fprintf(stderr,
		"zkfs-bench: refusing to report: achieved %.1f ops/s, short of --rate %.0f by "
		"more than %.0f%% (p99 so far %.1f us, send lag max %.1f us): the server or this "
		"client did not keep up\n",
		r->achieved, o->rate, BENCH_RATE_MARGIN * 100,
		(double)bench_hist_quantile(&r->all, 0.99) / 1e3, (double)r->lag.max_ns / 1e3);
	return BENCH_EXIT_SHORT;
}

static void bench_print_shape(const struct bench_opts *o)
{
	printf("op=%s sessions=%d", bench_op_names[o->op], o->sessions);
	if (o->rate > 0)
		printf(" rate=%.0f", o->rate);
	else
		printf(" outstanding=%d", o->outstanding);
	printf(" value_size=%d keys=%d", o->value_size, o->keys);
	if (o->op == BENCH_MIXED)
		printf(" ratio=%d:%d", o->ratio_read, o->ratio_write);
}

static int bench_report(const struct bench_opts *o, const struct bench_result *r)
{
	if (r->errors > 0) {
		fprintf(stderr,
			"zkfs-bench: refusing to report: %llu op(s) failed unexpectedly (first: "
			"%s (%d) on %s; pass --ignore %s if that is expected)\n",
			(unsigned long long)r->errors, zk_err_name(r->first_error), r->first_error,
			r->first_error_path, zk_err_name(r->first_error));
		return BENCH_EXIT_FAILED;
	}
	/* Before the next check: a sender far behind may not have reached the measured part of
	 * its schedule at all. */
	if (bench_check_rate(o, r) != BENCH_EXIT_OK)
		return BENCH_EXIT_SHORT;
	if (r->ops == 0 || r->seconds <= 0) {
		fprintf(stderr, "zkfs-bench: refusing to report: no op completed in the measured "
				"interval\n");
		return BENCH_EXIT_FAILED;
	}
	bench_print_shape(o);
	printf(" ops=%llu seconds=%.3f ops_per_s=%.1f", (unsigned long long)r->ops, r->seconds,
	       o->rate > 0 ? r->achieved : (double)r->ops / r->seconds);
	bench_print_hist("", &r->all);
	printf(" max_us=%.1f", (double)r->all.max_ns / 1e3);
	if (o->op == BENCH_MIXED) {
		bench_print_hist("read_", &r->reads);
		bench_print_hist("write_", &r->writes);
	}
	if (o->rate > 0)
		printf(" send_lag_p99_us=%.1f send_lag_max_us=%.1f",
		       (double)bench_hist_quantile(&r->lag, 0.99) / 1e3, (double)r->lag.max_ns / 1e3);
	printf(" client_cpu_us_per_op=%.2f", r->client_cpu_s * 1e6 / (double)r->ops);
	if (o->server_pid > 0)
		printf(" server_cpu_us_per_op=%.2f", r->server_cpu_s * 1e6 / (double)r->ops);
	printf(" errors=0 ignored=%llu\n", (unsigned long long)r->ignored);
	return BENCH_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct bench_opts o = {.hosts = "127.0.0.1:2181", .op = BENCH_GET, .sessions = 1,
			       .outstanding = 1, .value_size = 100, .keys = 1000,
			       .ratio_read = 90, .ratio_write = 10, .duration_s = 10,
			       .warmup_s = 1, .prefix = "/zkfs-bench", .session_ms = 30000,
			       .per_thread = 16};
	struct bench_result *res;
	int rc;

	if (bench_options(argc, argv, &o) != 0)
		return BENCH_EXIT_USAGE;
	zk_log_open(NULL, o.verbose >= 2 ? ZK_LOG_LEVEL_DEBUG
					 : o.verbose == 1 ? ZK_LOG_LEVEL_WARN : ZK_LOG_LEVEL_ERROR);
	res = calloc(1, sizeof(*res));
	if (res == NULL)
		return BENCH_EXIT_SETUP;
	rc = bench_load_run(&o, res) != 0 ? BENCH_EXIT_SETUP : bench_report(&o, res);
	free(res);
	return rc;
}
