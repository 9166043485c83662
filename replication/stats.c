/* stats.c: repl_stats, the replication figures /metrics and the AdminServer show, read from
 * libraft's public struct raft (raft.h: terms, indexes, the leader's per-member progress). */
#include <string.h>

#include "replication/replication_int.h"

static void stats_peers(struct repl *r, struct repl_stats *out)
{
	const struct raft_configuration *c = &r->raft.configuration;

	for (unsigned i = 0; i < c->n; i++) {
		struct repl_peer_stats *p;

		if (c->servers[i].id == r->raft.id || out->n_peers == REPL_STATS_MAX_PEERS)
			continue;
		p = &out->peers[out->n_peers++];
		p->id = c->servers[i].id;
		p->voter = c->servers[i].role == RAFT_VOTER;
		p->match_index = r->raft.leader_state.progress[i].match_index;
		p->recent = r->raft.leader_state.progress[i].recent_recv;
	}
}

void repl_stats(struct repl *r, struct repl_stats *out)
{
	const struct raft_configuration *c = &r->raft.configuration;

	memset(out, 0, sizeof(*out));
	out->disk_low = r->disk_low;
	out->n_snapshots = r->fsm_state.n_snapshots;
	out->last_snapshot_bytes = r->fsm_state.last_snapshot_len;
	out->last_snapshot_ms = r->fsm_state.last_snapshot_ms;
	if (!r->raft_ready)
		return;
	out->term = r->raft.current_term;
	out->commit_index = r->raft.commit_index;
	out->applied_index = r->raft.last_applied;
	out->last_index = repl_last_index(r);
	out->snapshot_index = r->raft.log.snapshot.last_index;
	for (unsigned i = 0; i < c->n; i++) {
		out->n_members++;
		if (c->servers[i].role == RAFT_VOTER)
			out->n_voters++;
	}
	if (raft_state(&r->raft) == RAFT_LEADER)
		stats_peers(r, out);
}
