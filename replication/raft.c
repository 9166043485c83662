/* raft.c: the libraft instance of zkfsd (uv backend), its lifecycle and the client API of
 * replication.h. */
#include "replication/replication.h"

#include <string.h>

void repl_config_init(struct repl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->election_timeout_ms = REPL_DEFAULT_ELECTION_TIMEOUT_MS;
	cfg->heartbeat_timeout_ms = REPL_DEFAULT_HEARTBEAT_TIMEOUT_MS;
	cfg->snapshot_threshold = REPL_DEFAULT_SNAPSHOT_THRESHOLD;
	cfg->snapshot_trailing = REPL_DEFAULT_SNAPSHOT_TRAILING;
}
