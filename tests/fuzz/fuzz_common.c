/* fuzz_common: see fuzz.h. */
#include <stdio.h>
#include <stdlib.h>

#include "common/zk_log.h"
#include "tests/fuzz/fuzz.h"

void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz invariant broken: %s\n", what);
	abort();
}

void fuzz_quiet(void)
{
	static int done;

	if (!done)
		zk_log_open(NULL, ZK_LOG_LEVEL_ERROR);
	done = 1;
}
