/* replication_int.h: what the files of replication/ share (not for other modules).
 *
 * raft.c        struct repl config, create, start, leader polling, role queries
 * request.c     submit/barrier, completion, requests waiting for a local apply
 * close.c       repl_close: leadership hand-over, drain, libraft and handle closes
 * fsm.c         the raft_fsm over struct store (apply, snapshot, restore)
 * transport.c   the raft_uv_transport: TCP or none (standalone), with a delayed close
 * membership.c  configuration from repl_config, repl_reconfig, repl_members
 * forward.c     the peer port: forwarded writes and barriers, session touches
 * log_check.c   the pre-start check of libraft's log segments (its own header, log_check.h)
 */
#ifndef REPLICATION_INT_H
#define REPLICATION_INT_H

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "replication/replication.h"

/* repl_req.kind */
enum { REPL_REQ_APPLY = 1, REPL_REQ_BARRIER, REPL_REQ_CHANGE, REPL_REQ_ADD };

/* The state machine: applies committed entries to the store. Usable without a struct repl
 * (the raft_fixture tests build one per fixture server). */
struct repl_fsm {
	struct raft *raft;	   /* Whose last_applied + 1 is the index being applied. */
	struct store *store;	   /* Borrowed. */
	repl_applied_cb applied;   /* May be NULL. */
	void *ctx;
	void (*replaced)(void *ctx, int64_t zxid); /* Store replaced by a snapshot; may be NULL. */
	void (*after_apply)(void *arg, int64_t index); /* raft.c: wake waiting requests. */
	void *after_apply_arg;
	bool started;		   /* false while raft_start restores: no replaced() then. */
	uint64_t n_snapshots;	   /* Snapshots taken (tests). */
	size_t last_snapshot_len;  /* Bytes of the last snapshot taken (disk space check). */
	double last_snapshot_ms;   /* Time the child took to write it (repl_stats). */
	unsigned threshold, trailing; /* Configured snapshot figures (0: log_bytes unused). */
	size_t log_bytes;	   /* Snapshot once this many entry bytes piled up (0 = off). */
	size_t log_bytes_now;	   /* Entry bytes applied since the last snapshot. */
	size_t log_entries_now;
	bool forced;		   /* Threshold lowered by limit_log_bytes. */
	int64_t snapshot_retry_ns; /* No snapshot before this CLOCK_MONOTONIC time (fsm.c). */
	uint64_t n_skipped;	   /* Entries that did not decode (logged, applied as no-ops). */
	struct repl_req *own_first, *own_last; /* Leader's submitted txns not applied or failed
					   yet, in index order (repl_fsm_own_add). */
};

/* The leader applies a txn it submitted from @req->own_txn, a copy made at submit, instead of
 * decoding the entry it just encoded (19% of a create's instructions). fsm_apply takes the copy
 * only when the first listed request's index and entry buffer are the entry's: libraft hands
 * fsm->apply the very buffer raft_apply took, and answers every pending apply (with an error
 * when the leader steps down) before an entry of its can be truncated and freed, so a listed
 * request names its own entry. Add @req after raft_apply gave it its index, with @txn (owned
 * from then on) and @entry; drop it (freeing the copy) from its apply callback. */
void repl_fsm_own_add(struct repl_fsm *f, struct repl_req *req, struct store_txn *txn,
		      const void *entry);
void repl_fsm_own_drop(struct repl_fsm *f, struct repl_req *req);

/* Fill @out with the fsm callbacks over @state (both owned by the caller). */
void repl_fsm_init(struct raft_fsm *out, struct repl_fsm *state, struct store *store,
		   repl_applied_cb applied, void *ctx);

/* A log entry holding the @len txn bytes at @p: libraft's segment encoder needs entry
 * lengths that are multiples of 8 (src/uv_segment.c uvSegmentBufferAppend, asserted only in
 * debug builds: a release build writes segments it cannot read back), so the entry is the
 * txn, 0-7 zero bytes, and one last byte holding the pad length (1-8). out->base comes from
 * raft_malloc, since libraft frees the entries it owns with raft_free. Returns 0 or -ENOMEM. */
int repl_entry_pad(const void *p, size_t len, struct raft_buffer *out);

/* Length of the txn inside a log entry (see repl_entry_pad). Returns 0 or -EBADMSG. */
int repl_entry_unpad(const struct raft_buffer *buf, size_t *len);

/* Result pointer handed to raft_apply callbacks for an entry that did not decode. */
extern int repl_fsm_skipped;

/* The transport of the uv io (transport.c): libraft's TCP one when @tcp, else one that never
 * connects or listens (a standalone server needs no network); close() completes a little
 * later, after libraft's segment writers (see transport.c). Returns 0, -ENOMEM or -EIO. */
int repl_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, bool tcp);

struct repl_fwd;
struct repl_qtls;

/* transport.c: make a dead quorum TCP connection fail fast (TCP_USER_TIMEOUT of two election
 * timeouts, fast keepalive); a no-op for anything but a TCP socket. Best effort (logged). */
void repl_tcp_tune(struct repl *r, uv_stream_t *stream);

/* refusal.c: log a refused quorum connection from @ip (WARN), at most one line per source
 * per REPL_REFUSAL_INTERVAL_MS; the rest are counted and the count logged. */
void repl_refused(struct repl *r, const char *ip, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Log the counts still pending and close the limiter's timer: true and @done(@arg) later,
 * or false (nothing to close). Refusals after this are logged one by one. */
bool repl_refusals_close(struct repl *r, void (*done)(void *arg), void *arg);

/* Longest member address: "host:raft_port:peer_port;client_address:client_port" with a
 * client host name of up to 253 characters. */
#define REPL_ADDRESS_MAX 320

struct repl {
	uv_loop_t *loop;
	struct store *store;
	struct repl_config cfg;	     /* data_dir and servers point at the owned copies below. */
	char *data_dir;		     /* Owned. */
	struct repl_server *servers; /* Owned array, hosts owned (zk_strdup). */
	char address[REPL_ADDRESS_MAX]; /* This server's member address (repl_server_address). */
	struct repl_hooks hooks;
	struct repl_fsm fsm_state;
	struct raft_fsm fsm;
	struct raft_io io;
	struct raft_uv_transport transport;
	struct raft raft;
	bool io_ready, transport_ready, raft_ready, started, closing;
	uv_timer_t timer;	     /* Leader polling, touch flushing, close deadline. */
	uint64_t last_leader;	     /* Last leader id logged. */
	struct repl_req *waiting;    /* Requests done on the leader, waiting for local apply. */
	struct repl_fwd *fwd;	     /* forward.c; NULL for a standalone server. */
	struct repl_qtls *qtls;	     /* quorum_tls.c, owned by the transport; NULL without
					sslQuorum. */
	struct repl_refusals *refusals; /* refusal.c; NULL until a first refusal. */
	struct raft_transfer transfer;
	bool transferring;
	bool disk_low;		     /* Free space under repl_min_free: writes refused. */
	unsigned inflight;	     /* Local raft_apply/raft_barrier not completed yet. */
	bool draining;		     /* Closing: waiting for inflight to reach 0. */
	struct raft_barrier close_barrier; /* Closing: the apply round that takes the last
					   snapshot (close.c). */
	struct repl_req close_sync;  /* Closing follower: its forwarded barrier (close.c). */
	raft_index close_index;	     /* Closing: the barrier's index (0 until known). */
	bool snapshotting;	     /* Closing: waiting for that snapshot. */
	uint64_t close_t0;	     /* uv_now when it started. */
	void (*close_cb)(struct repl *r);
	char errmsg[256];	     /* Last start error of ours (repl_errmsg). */
};

/* Free the copies of the configuration (raft.c) held by @r. */
void repl_config_free(struct repl *r);

/* close.c: a draining close continues (all local appends completed). */
void repl_close_resume(struct repl *r);

#define REPL_CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* Log an error line about @r and keep it for repl_errmsg. */
void repl_error(struct repl *r, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define REPL_ERROR(r, ...) repl_error(r, __FILE__, __LINE__, __VA_ARGS__)

/* Map a RAFT_* code to a negative errno (see replication.h). */
int repl_errno(int raft_rv);

/* Complete @req with @status: unlink it and call its callback. */
void repl_req_done(struct repl_req *req, int status);

/* Queue @req until the entry at @index is applied here (completes at once when it is). */
void repl_wait_applied(struct repl *r, struct repl_req *req, int64_t index);

/* Leader side of submit/barrier (also for requests forwarded by followers). @entry (may be
 * NULL) gets the buffer of the entry appended. */
int repl_append_local(struct repl *r, struct repl_req *req, const void *p, size_t len,
		      const void **entry);
int repl_barrier_local(struct repl *r, struct repl_req *req);

/* membership.c */
int repl_membership_bootstrap(struct repl *r);
/* After start: warn when the configured servers differ from the membership in the log. */
void repl_membership_check(struct repl *r);
const struct repl_server *repl_server_find(const struct repl *r, uint64_t id);
/* The member address of @srv (see struct repl_server): "host:raft_port:peer_port", plus
 * ";client_address:client_port" when srv->client_port != 0. Returns 0 or -EINVAL (does not
 * fit in @len, or a client address holding ';' or whitespace). */
int repl_server_address(const struct repl_server *srv, char *buf, size_t len);
/* Parse a member address into @srv: host and client_address point into @buf (@len bytes, the
 * caller's); a missing peer port or client part leaves 0 / NULL (addresses written before the
 * client part existed). Returns 0 or -EINVAL. */
int repl_address_parse(const char *address, char *buf, size_t len, struct repl_server *srv);
/* Length of the part of a member address before ';' ("host:raft_port:peer_port"): all that
 * libraft's transport sees (transport.c). */
size_t repl_address_raft_len(const char *address);
/* Without quorum TLS a member is known by its address: is @ip the host of member @id (0: of
 * any member) in the configuration in use or in the configured ensemble? */
bool repl_member_at(const struct repl *r, uint64_t id, const char *ip);
/* Does member @id (0: any member) of the configuration in use or of the configured ensemble
 * have a host for which @match(@arg, host) is true (@match NULL: is @id a member)? */
bool repl_member_match(const struct repl *r, uint64_t id, bool (*match)(void *arg,
		       const char *host), void *arg);
/* The peer address of TCP @stream as text into @ip (@len bytes, INET6_ADDRSTRLEN will do).
 * 0 or a uv error. */
int repl_peer_ip(uv_stream_t *stream, char *ip, size_t len);

/* forward.c */
int repl_fwd_create(struct repl *r, struct repl_fwd **out);
void repl_fwd_tick(struct repl_fwd *f);
int repl_fwd_request(struct repl_fwd *f, struct repl_req *req, const struct repl_client_req *in);
int repl_fwd_barrier(struct repl_fwd *f, struct repl_req *req);
int repl_fwd_touch(struct repl_fwd *f, int64_t session_id);
int repl_fwd_reconfig(struct repl_fwd *f, struct repl_req *req, enum repl_change_op op,
		      const struct repl_server *srv, const struct repl_change_auth *auth);
/* Fail in-flight requests with -ECANCELED, close sockets, then call done(r). */
void repl_fwd_close(struct repl_fwd *f, void (*done)(struct repl *r));

#endif
