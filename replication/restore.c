/* restore.c: repl_restore, a data dir made from a store image, through libraft's own uv I/O
 * (raft_io: load, set_term, snapshot_put), so the files are exactly those libraft writes and
 * reads back: metadata1/2 with term 1, snapshot-1-INDEX-TIME and its .meta. The snapshot's
 * configuration is this server alone; the first raft_start elects it at once (one voter). */
#include <stdio.h>
#include <string.h>

#include "common/zk_log.h"
#include "replication/replication_int.h"

struct restore {
	struct raft_io io;
	struct raft_uv_transport transport;
	struct raft_io_snapshot_put put;
	int status;		/* snapshot_put's result; 1 while pending. */
	bool closed;		/* io close callback ran. */
};

static void restore_on_put(struct raft_io_snapshot_put *req, int status)
{
	((struct restore *)req->data)->status = status;
}

static void restore_on_close(struct raft_io *io)
{
	((struct restore *)io->data)->closed = true;
}

/* The one member: its raft address as raft.c's init_io makes it. */
static int restore_member(const struct repl_config *cfg, struct raft_configuration *conf,
			  uint64_t *id, char *address, size_t len)
{
	*id = 1;
	snprintf(address, len, "127.0.0.1:0");
	for (int i = 0; i < cfg->n_servers; i++)
		if (cfg->servers[i].id == cfg->id) {
			*id = cfg->id;
			if (repl_server_address(&cfg->servers[i], address, len) != 0)
				return -EINVAL;
		}
	if (cfg->n_servers > 0 && *id != cfg->id)
		return -EINVAL;
	raft_configuration_init(conf);
	return raft_configuration_add(conf, *id, address, RAFT_VOTER) == 0 ? 0 : -ENOMEM;
}

/* Load (the dir must hold no state), set the term, put the snapshot and wait for it. */
static int restore_write(struct restore *r, uv_loop_t *loop, struct raft_snapshot *snap,
			 char *err, size_t err_len)
{
	raft_term term;
	raft_id vote;
	struct raft_snapshot *old = NULL;
	raft_index start;
	struct raft_entry *entries;
	size_t n;
	int rv = r->io.load(&r->io, &term, &vote, &old, &start, &entries, &n);

	if (rv == 0 && (term != 0 || old != NULL || n != 0))
		rv = RAFT_CANTBOOTSTRAP;
	if (rv == 0)
		rv = r->io.set_term(&r->io, 1);
	if (rv == 0) {
		r->status = 1;
		r->put.data = r;
		rv = r->io.snapshot_put(&r->io, 0, &r->put, snap, restore_on_put);
	}
	while (rv == 0 && r->status == 1)
		uv_run(loop, UV_RUN_ONCE);
	if (rv == 0)
		rv = r->status;
	if (rv != 0)
		snprintf(err, err_len, "libraft: %s (%s)", r->io.errmsg, raft_strerror(rv));
	return rv == 0 ? 0 : -EIO;
}

int repl_restore(const struct repl_config *cfg, const void *image, size_t len, uint64_t index,
		 char *err, size_t err_len)
{
	struct restore r = {0};
	struct raft_configuration conf;
	struct raft_buffer buf = {(void *)image, len};
	struct raft_snapshot snap = {0};
	char address[REPL_ADDRESS_MAX];
	uv_loop_t loop;
	uint64_t id;
	int rv;

	if (index == 0 || restore_member(cfg, &conf, &id, address, sizeof(address)) != 0) {
		snprintf(err, err_len, "no server.%llu line for this server, or zxid 0",
			 (unsigned long long)cfg->id);
		return -EINVAL;
	}
	snap = (struct raft_snapshot){.index = index, .term = 1, .configuration = conf,
				      .configuration_index = index, .bufs = &buf, .n_bufs = 1};
	uv_loop_init(&loop);
	/* libraft's TCP transport, never started: nothing listens or connects. */
	rv = raft_uv_tcp_init(&r.transport, &loop) == 0 ? 0 : -ENOMEM;
	if (rv == 0 && raft_uv_init(&r.io, &loop, cfg->data_dir, &r.transport) != 0) {
		snprintf(err, err_len, "libraft: %s", r.io.errmsg);
		raft_uv_tcp_close(&r.transport);
		rv = -EIO;
	}
	if (rv == 0) {
		r.io.data = &r;
		raft_uv_set_snapshot_compression(&r.io, false); /* As raft.c: our own image. */
		rv = r.io.init(&r.io, id, address) == 0 ? 0 : -EIO;
		if (rv == 0)
			rv = restore_write(&r, &loop, &snap, err, err_len);
		else
			snprintf(err, err_len, "libraft: %s", r.io.errmsg);
		r.io.close(&r.io, restore_on_close); /* Closes the transport too. */
		while (!r.closed)
			uv_run(&loop, UV_RUN_ONCE);
		/* Then their memory (as raft.c's close path does). */
		raft_uv_close(&r.io);
		raft_uv_tcp_close(&r.transport);
	}
	raft_configuration_close(&conf);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return rv;
}
