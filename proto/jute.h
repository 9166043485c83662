/* jute: the codec of ZooKeeper's client wire protocol (zookeeper.jute, Apache ZooKeeper 3.8/3.9).
 *
 * Decoders read one frame body (the bytes after the 4-byte length) through a bounds-checked
 * struct jute_in and never allocate except for vectors; strings and buffers in decoded records
 * are borrowed pointers into the frame (valid while the frame is). Encoders append to a
 * struct zk_buf, reserving the whole record once; on -ENOMEM the buffer is left as it was.
 * Malformed input is reported with ZK_CORRUPT() (a log line with file:line) and -EBADMSG.
 * Pure functions, no global state: any thread may call them on its own objects.
 */
#ifndef JUTE_H
#define JUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/zk_buf.h"
#include "proto/zk_const.h"

/* ---- Primitives ------------------------------------------------------------------------- */

/* A reader over one frame body. */
struct jute_in {
	const uint8_t *p; /* Borrowed: the body. */
	size_t len;	  /* Bytes in the body. */
	size_t pos;	  /* Next byte to read. */
};

/* A jute ustring: borrowed, NOT NUL-terminated. len -1 means null (p is then NULL). */
struct jute_str {
	const char *p; /* Borrowed (from the frame when decoded, from the caller when encoded). */
	int32_t len;   /* Bytes, or -1 for null. */
};

/* A jute buffer: borrowed. len -1 means null (p is then NULL). */
struct jute_bytes {
	const uint8_t *p; /* Borrowed. */
	int32_t len;	  /* Bytes, or -1 for null. */
};

/* Start reading @len bytes at @p (borrowed; must outlive every record decoded from it). */
void jute_in_init(struct jute_in *in, const void *p, size_t len);

/* Bytes not yet read. */
size_t jute_in_remaining(const struct jute_in *in);

/* Read one field. Each returns 0, or -EBADMSG (logged through ZK_CORRUPT) when the field runs
 * past the end, or a string/buffer length is negative other than -1; on error @in->pos is
 * unspecified and the output unchanged. A bool is one byte, any non-zero value is true (as
 * Java's DataInput.readBoolean). Strings are not checked for UTF-8 here: jute_path_validate
 * does that for paths. */
int jute_read_int(struct jute_in *in, int32_t *v);
int jute_read_long(struct jute_in *in, int64_t *v);
int jute_read_bool(struct jute_in *in, bool *v);
int jute_read_string(struct jute_in *in, struct jute_str *v);
int jute_read_buffer(struct jute_in *in, struct jute_bytes *v);

/* Append one field, big-endian as Java's DataOutput. Return 0 or -ENOMEM (buffer unchanged).
 * For _string and _buffer a negative @len writes a null (-1) and @p may be NULL. */
int jute_write_int(struct zk_buf *out, int32_t v);
int jute_write_long(struct zk_buf *out, int64_t v);
int jute_write_bool(struct zk_buf *out, bool v);
int jute_write_string(struct zk_buf *out, const char *p, int32_t len);
int jute_write_buffer(struct zk_buf *out, const void *p, int32_t len);

/* A NUL-terminated copy of @s (zk_malloc'ed, caller frees with zk_free); NULL when out of
 * memory or when @s is null (len -1). A string with an embedded NUL is copied whole. */
char *jute_str_dup(const struct jute_str *s);

/* True when @s holds exactly the NUL-terminated @c (a null @s equals nothing). */
bool jute_str_eq(const struct jute_str *s, const char *c);

/* "create", "getData", ... for an opcode (as ZooKeeper's Request.op2String); "unknown" else. */
const char *jute_op_name(int32_t type);

/* ---- Records (zookeeper.jute, field order as there) ---------------------------------------
 *
 * For every record Foo below: int jute_decode_foo(struct jute_in *in, struct jute_foo *out)
 * returns 0 or -EBADMSG (the output owns nothing after an error), or -ENOMEM when a vector
 * cannot be allocated; int jute_encode_foo(struct zk_buf *out, const struct jute_foo *in)
 * returns 0 or -ENOMEM. Records holding a vector have void jute_foo_free(struct jute_foo *)
 * which frees what decode allocated (safe on a zeroed record, and twice). Encoding never
 * frees nor keeps a pointer. Decoding a vector checks the count against the bytes left, so a
 * hostile count cannot make it allocate more than the frame could describe. */

struct jute_request_header {
	int32_t xid;  /* Client's request id (ZK_XID_* for the reserved ones). */
	int32_t type; /* ZK_OP_*. */
};

struct jute_reply_header {
	int32_t xid;  /* The request's xid, or ZK_XID_WATCH_EVENT / ZK_XID_PING / ... */
	int64_t zxid; /* Last zxid the server has applied. */
	int32_t err;  /* ZK_ERR_* (0 = OK). */
};

/* ConnectRequest: the first frame of a connection (no RequestHeader). The trailing readOnly
 * byte was added in ZooKeeper 3.4; older clients omit it. */
struct jute_connect_request {
	int32_t protocol_version; /* 0. */
	int64_t last_zxid_seen;	  /* Highest zxid the client has seen. */
	int32_t timeout;	  /* Requested session timeout, ms. */
	int64_t session_id;	  /* 0 for a new session. */
	struct jute_bytes passwd; /* Session password (16 bytes; zeros for a new session). */
	bool read_only;		  /* Client accepts a read-only server. */
	bool has_read_only;	  /* The readOnly byte was present (decode) / is written (encode). */
};

/* ConnectResponse. A server writes readOnly unless the client's request lacked it (as
 * ZooKeeperServer does for "old clients"): set omit_read_only for those. Decoding reads it
 * when a byte remains and sets omit_read_only when none does. */
struct jute_connect_response {
	int32_t protocol_version; /* 0. */
	int32_t timeout;	  /* Negotiated timeout, ms; 0 = session expired/invalid. */
	int64_t session_id;	  /* 0 when invalid. */
	struct jute_bytes passwd; /* 16 bytes. */
	bool read_only;		  /* Server is read-only. */
	bool omit_read_only;	  /* Addition: leave the readOnly byte out (old clients). */
};

struct jute_watcher_event {
	int32_t type;	      /* ZK_EVENT_*. */
	int32_t state;	      /* ZK_STATE_*. */
	struct jute_str path; /* Node path (null/empty for session events). */
};

struct jute_id {
	struct jute_str scheme; /* "world", "digest", "ip", ... */
	struct jute_str id;	/* "anyone", "user:hash", ... */
};

struct jute_acl {
	int32_t perms;	   /* ZK_PERM_* bits. */
	struct jute_id id; /* Who. */
};

/* vector<ACL>. count -1 = null vector (acls NULL). */
struct jute_acl_vec {
	int32_t count;		/* Entries, or -1. */
	struct jute_acl *acls;	/* Owned by the record after decode; borrowed for encode. */
};

/* vector<ustring>. count -1 = null vector (items NULL). */
struct jute_str_vec {
	int32_t count;		/* Entries, or -1. */
	struct jute_str *items; /* Owned by the record after decode; borrowed for encode. */
};
void jute_acl_vec_free(struct jute_acl_vec *v);
void jute_str_vec_free(struct jute_str_vec *v);

/* The Stat record (struct zk_stat is defined in proto/zk_const.h). */
int jute_read_stat(struct jute_in *in, struct zk_stat *out);
int jute_write_stat(struct zk_buf *out, const struct zk_stat *st);

/* MultiHeader: precedes each op of a multi request/response; {-1, true, -1} ends the list. */
struct jute_multi_header {
	int32_t type; /* Op code of what follows, -1 at the end (ZK_OP_ERROR in responses). */
	bool done;    /* True only on the terminator. */
	int32_t err;  /* -1 in requests; the op's error (0 = OK) in responses. */
};

/* Requests, body of a frame after the RequestHeader. */
struct jute_create_request { /* create, create2, createContainer */
	struct jute_str path;
	struct jute_bytes data;
	struct jute_acl_vec acl;
	int32_t flags; /* ZK_MODE_*. */
};
struct jute_create_ttl_request { /* createTTL */
	struct jute_str path;
	struct jute_bytes data;
	struct jute_acl_vec acl;
	int32_t flags; /* ZK_MODE_*_WITH_TTL. */
	int64_t ttl;   /* ms. */
};
struct jute_delete_request {
	struct jute_str path;
	int32_t version; /* -1 = any. */
};
struct jute_exists_request {
	struct jute_str path;
	bool watch;
};
struct jute_get_data_request {
	struct jute_str path;
	bool watch;
};
struct jute_set_data_request {
	struct jute_str path;
	struct jute_bytes data;
	int32_t version; /* -1 = any. */
};
struct jute_get_acl_request {
	struct jute_str path;
};
struct jute_set_acl_request {
	struct jute_str path;
	struct jute_acl_vec acl;
	int32_t version; /* Expected aversion, -1 = any. */
};
struct jute_get_children_request {
	struct jute_str path;
	bool watch;
};
struct jute_get_children2_request {
	struct jute_str path;
	bool watch;
};
struct jute_sync_request {
	struct jute_str path;
};
struct jute_check_version_request { /* check (in a multi) */
	struct jute_str path;
	int32_t version;
};
struct jute_get_ephemerals_request {
	struct jute_str prefix_path;
};
struct jute_get_all_children_number_request {
	struct jute_str path;
};
struct jute_set_watches {
	int64_t relative_zxid; /* Client's last zxid: events after it are delivered. */
	struct jute_str_vec data_watches;
	struct jute_str_vec exist_watches;
	struct jute_str_vec child_watches;
};
struct jute_set_watches2 {
	int64_t relative_zxid;
	struct jute_str_vec data_watches;
	struct jute_str_vec exist_watches;
	struct jute_str_vec child_watches;
	struct jute_str_vec persistent_watches;
	struct jute_str_vec persistent_recursive_watches;
};
struct jute_add_watch_request {
	struct jute_str path;
	int32_t mode; /* ZK_ADD_WATCH_*. */
};
struct jute_remove_watches_request {
	struct jute_str path;
	int32_t type; /* ZK_WATCHER_*. */
};
struct jute_check_watches_request {
	struct jute_str path;
	int32_t type; /* ZK_WATCHER_*. */
};
struct jute_auth_packet {
	int32_t type; /* 0. */
	struct jute_str scheme;
	struct jute_bytes auth;
};
struct jute_get_sasl_request {
	struct jute_bytes token;
};
struct jute_reconfig_request {
	struct jute_str joining_servers;
	struct jute_str leaving_servers;
	struct jute_str new_members;
	int64_t cur_config_id;
};

/* Responses, body of a frame after the ReplyHeader (only when err is 0, except multi). */
struct jute_create_response {
	struct jute_str path; /* Created path (with the sequence suffix). */
};
struct jute_create2_response {
	struct jute_str path;
	struct zk_stat stat;
};
struct jute_exists_response {
	struct zk_stat stat;
};
struct jute_get_data_response { /* also the answer to reconfig */
	struct jute_bytes data;
	struct zk_stat stat;
};
struct jute_set_data_response {
	struct zk_stat stat;
};
struct jute_get_acl_response {
	struct jute_acl_vec acl;
	struct zk_stat stat;
};
struct jute_set_acl_response {
	struct zk_stat stat;
};
struct jute_get_children_response {
	struct jute_str_vec children; /* Names, not paths. */
};
struct jute_get_children2_response {
	struct jute_str_vec children;
	struct zk_stat stat;
};
struct jute_sync_response {
	struct jute_str path;
};
struct jute_get_all_children_number_response {
	int32_t total_number;
};
struct jute_get_ephemerals_response {
	struct jute_str_vec ephemerals; /* Full paths. */
};
struct jute_client_info {
	struct jute_str auth_scheme;
	struct jute_str user;
};
struct jute_client_info_vec {
	int32_t count;
	struct jute_client_info *items; /* Owned after decode; borrowed for encode. */
};
struct jute_who_am_i_response {
	struct jute_client_info_vec client_info;
};
struct jute_error_response {
	int32_t err;
};
struct jute_set_sasl_response {
	struct jute_bytes token;
};

#define JUTE_RECORD_FUNCS(name)                                                     \
	int jute_decode_##name(struct jute_in *in, struct jute_##name *out);       \
	int jute_encode_##name(struct zk_buf *out, const struct jute_##name *rec);
#define JUTE_RECORD_FREE(name) void jute_##name##_free(struct jute_##name *rec);

JUTE_RECORD_FUNCS(request_header)
JUTE_RECORD_FUNCS(reply_header)
JUTE_RECORD_FUNCS(connect_request)
JUTE_RECORD_FUNCS(connect_response)
JUTE_RECORD_FUNCS(watcher_event)
JUTE_RECORD_FUNCS(id)
JUTE_RECORD_FUNCS(acl)
JUTE_RECORD_FUNCS(multi_header)
JUTE_RECORD_FUNCS(create_request)
JUTE_RECORD_FUNCS(create_ttl_request)
JUTE_RECORD_FUNCS(delete_request)
JUTE_RECORD_FUNCS(exists_request)
JUTE_RECORD_FUNCS(get_data_request)
JUTE_RECORD_FUNCS(set_data_request)
JUTE_RECORD_FUNCS(get_acl_request)
JUTE_RECORD_FUNCS(set_acl_request)
JUTE_RECORD_FUNCS(get_children_request)
JUTE_RECORD_FUNCS(get_children2_request)
JUTE_RECORD_FUNCS(sync_request)
JUTE_RECORD_FUNCS(check_version_request)
JUTE_RECORD_FUNCS(get_ephemerals_request)
JUTE_RECORD_FUNCS(get_all_children_number_request)
JUTE_RECORD_FUNCS(set_watches)
JUTE_RECORD_FUNCS(set_watches2)
JUTE_RECORD_FUNCS(add_watch_request)
JUTE_RECORD_FUNCS(remove_watches_request)
JUTE_RECORD_FUNCS(check_watches_request)
JUTE_RECORD_FUNCS(auth_packet)
JUTE_RECORD_FUNCS(get_sasl_request)
JUTE_RECORD_FUNCS(reconfig_request)
JUTE_RECORD_FUNCS(create_response)
JUTE_RECORD_FUNCS(create2_response)
JUTE_RECORD_FUNCS(exists_response)
JUTE_RECORD_FUNCS(get_data_response)
JUTE_RECORD_FUNCS(set_data_response)
JUTE_RECORD_FUNCS(get_acl_response)
JUTE_RECORD_FUNCS(set_acl_response)
JUTE_RECORD_FUNCS(get_children_response)
JUTE_RECORD_FUNCS(get_children2_response)
JUTE_RECORD_FUNCS(sync_response)
JUTE_RECORD_FUNCS(get_all_children_number_response)
JUTE_RECORD_FUNCS(get_ephemerals_response)
JUTE_RECORD_FUNCS(client_info)
JUTE_RECORD_FUNCS(who_am_i_response)
JUTE_RECORD_FUNCS(error_response)
JUTE_RECORD_FUNCS(set_sasl_response)

JUTE_RECORD_FREE(create_request)
JUTE_RECORD_FREE(create_ttl_request)
JUTE_RECORD_FREE(set_acl_request)
JUTE_RECORD_FREE(set_watches)
JUTE_RECORD_FREE(set_watches2)
JUTE_RECORD_FREE(get_acl_response)
JUTE_RECORD_FREE(get_children_response)
JUTE_RECORD_FREE(get_children2_response)
JUTE_RECORD_FREE(get_ephemerals_response)
JUTE_RECORD_FREE(who_am_i_response)

/* Decode a whole ConnectRequest frame body: the record, the optional readOnly byte, and
 * nothing after it. Returns 0, or -EBADMSG (truncated, bad lengths, trailing bytes). Borrowed
 * pointers into @body. No allocation. */
int jute_decode_connect(const void *body, size_t len, struct jute_connect_request *out);

/* ---- Whole requests ---------------------------------------------------------------------- */

/* One op of a multi (write ops) or multiRead (getChildren, getData). */
struct jute_multi_op {
	int32_t type; /* ZK_OP_CREATE/CREATE2/CREATE_CONTAINER (u.create), CREATE_TTL
			 (u.create_ttl), DELETE, SET_DATA, CHECK (u.check_version); in multiRead
			 GET_CHILDREN, GET_DATA. */
	union {
		struct jute_create_request create;
		struct jute_create_ttl_request create_ttl;
		struct jute_delete_request delete;
		struct jute_set_data_request set_data;
		struct jute_check_version_request check_version;
		struct jute_get_children_request get_children;
		struct jute_get_data_request get_data;
	} u;
};

/* A decoded client request. Which member of u is valid follows hdr.type:
 *   CREATE, CREATE2, CREATE_CONTAINER -> create;  CREATE_TTL -> create_ttl;  DELETE -> delete;
 *   EXISTS -> exists;  GET_DATA -> get_data;  SET_DATA -> set_data;  GET_ACL -> get_acl;
 *   SET_ACL -> set_acl;  GET_CHILDREN -> get_children;  GET_CHILDREN2 -> get_children2;
 *   SYNC -> sync;  CHECK -> check_version;  RECONFIG -> reconfig;
 *   CHECK_WATCHES -> check_watches;  REMOVE_WATCHES -> remove_watches;  AUTH -> auth;
 *   SET_WATCHES -> set_watches;  SET_WATCHES2 -> set_watches2;  SASL -> sasl;
 *   GET_EPHEMERALS -> get_ephemerals;  GET_ALL_CHILDREN_NUMBER -> get_all_children_number;
 *   ADD_WATCH -> add_watch;
 *   MULTI, MULTI_READ -> ops/n_ops;  PING, CLOSE_SESSION, WHO_AM_I -> no body. */
struct jute_request {
	struct jute_request_header hdr;
	union {
		struct jute_create_request create;
		struct jute_create_ttl_request create_ttl;
		struct jute_delete_request delete;
		struct jute_exists_request exists;
		struct jute_get_data_request get_data;
		struct jute_set_data_request set_data;
		struct jute_get_acl_request get_acl;
		struct jute_set_acl_request set_acl;
		struct jute_get_children_request get_children;
		struct jute_get_children2_request get_children2;
		struct jute_sync_request sync;
		struct jute_check_version_request check_version;
		struct jute_reconfig_request reconfig;
		struct jute_check_watches_request check_watches;
		struct jute_remove_watches_request remove_watches;
		struct jute_auth_packet auth;
		struct jute_set_watches set_watches;
		struct jute_set_watches2 set_watches2;
		struct jute_get_sasl_request sasl;
		struct jute_get_ephemerals_request get_ephemerals;
		struct jute_get_all_children_number_request get_all_children_number;
		struct jute_add_watch_request add_watch;
	} u;
	struct jute_multi_op *ops; /* MULTI / MULTI_READ: owned after decode (jute_request_free);
				      borrowed for encode. */
	int32_t n_ops;		   /* Entries in ops. */
};

/* Decode one request frame body (RequestHeader + record) of @len bytes at @body (borrowed:
 * @out points into it). Returns:
 *   0        - @out is filled; free it with jute_request_free.
 *   -EBADMSG - malformed: truncated, bad lengths or counts, trailing bytes after the record
 *              (ZooKeeper ignores those; we refuse them), a multi op of a type that multi
 *              does not allow (write ops only in MULTI, getChildren/getData only in
 *              MULTI_READ). Create flags are not checked here (ZooKeeper 3.8 answers a bad
 *              one with BadArguments for that op; 3.9 refuses the whole multi). Logged;
 *              @out owns nothing. When @len >= 8 @out->hdr is still filled, so a server
 *              may answer ZK_ERR_MARSHALLINGERROR to that xid as ZooKeeper does for a body
 *              it cannot read, or close the connection.
 *   -ENOTSUP - an opcode clients do not send (or unknown): @out->hdr is filled so the server
 *              can answer ZK_ERR_UNIMPLEMENTED to that xid; nothing else is; owns nothing.
 *   -ENOMEM  - a vector could not be allocated; @out owns nothing.
 * ZK_OP_CREATE_SESSION has no RequestHeader: use jute_decode_connect. */
int jute_decode_request(const void *body, size_t len, struct jute_request *out);

/* Free what jute_decode_request allocated (vectors, the ops array). Safe on a zeroed request
 * and after a failed decode; the request must not be used afterwards (except to free again). */
void jute_request_free(struct jute_request *req);

/* Append the body of @req (RequestHeader + record, no frame length) to @out. Returns 0,
 * -ENOMEM (buffer unchanged) or -ENOTSUP for an opcode jute_decode_request does not accept.
 * For tests, fuzzers and clients. */
int jute_encode_request(struct zk_buf *out, const struct jute_request *req);

/* ---- Multi responses --------------------------------------------------------------------- */

/* One op's result in a multi/multiRead response, as MultiResponse serialises it: a
 * MultiHeader {type, false, err} and then, by type:
 *   ZK_OP_CREATE -> CreateResponse(path);
 *   ZK_OP_CREATE2 -> Create2Response(path, stat) (also the answer to createTTL and
 *   createContainer ops: MultiResponse has no result type for those, clients throw on them);
 *   ZK_OP_DELETE, ZK_OP_CHECK -> nothing;   ZK_OP_SET_DATA -> SetDataResponse(stat);
 *   ZK_OP_GET_CHILDREN -> GetChildrenResponse(children);
 *   ZK_OP_GET_DATA -> GetDataResponse(data, stat);
 *   ZK_OP_ERROR -> ErrorResponse(err), and the header's err is err too.
 * (Results of a failed multi are all ZK_OP_ERROR: the failing op's code, ZK_ERR_RUNTIMEINCONSISTENCY
 * (-2) for the ops after it and ZK_ERR_OK for those before; the caller builds them.) */
struct jute_multi_result {
	int32_t type;		      /* As above. */
	int32_t err;		      /* ZK_OP_ERROR: the op's code; otherwise ignored (0). */
	struct jute_str path;	      /* Created path (create*). Borrowed. */
	struct zk_stat stat;	      /* create2, set_data, get_data. */
	struct jute_bytes data;	      /* get_data. Borrowed. */
	struct jute_str_vec children; /* get_children. Borrowed for encode; owned after decode. */
};

/* Append the body of a multi response (after the ReplyHeader): each result, then the
 * terminating MultiHeader {-1, true, -1}. Returns 0, -ENOMEM (buffer unchanged), or -EINVAL
 * for a result type not listed above. */
int jute_encode_multi_response(struct zk_buf *out, const struct jute_multi_result *results,
			       int32_t n);

/* Decode a multi response body (tests, clients): *results is zk_malloc'ed (NULL when *n is
 * 0) and freed with jute_multi_response_free. Returns 0, -EBADMSG (also for trailing bytes
 * after the terminator) or -ENOMEM; on error nothing is owned. */
int jute_decode_multi_response(struct jute_in *in, struct jute_multi_result **results,
			       int32_t *n);
void jute_multi_response_free(struct jute_multi_result *results, int32_t n);

/* ---- Framing ----------------------------------------------------------------------------- */

/* Returned by jute_frame_begin when the 4 bytes cannot be reserved. */
#define JUTE_FRAME_NOMEM SIZE_MAX

/* Append a 4-byte placeholder for a frame length; returns its offset in @out, to pass to
 * jute_frame_end after the body is appended, or JUTE_FRAME_NOMEM (buffer unchanged). */
size_t jute_frame_begin(struct zk_buf *out);

/* Fill the length placeholder at @offset with the number of bytes appended after it. Must be
 * called with an offset jute_frame_begin returned for this buffer (not JUTE_FRAME_NOMEM). */
void jute_frame_end(struct zk_buf *out, size_t offset);

/* Does @p (@len bytes received so far) start with a whole frame? Returns 0 and sets
 * *body_len (the frame is then 4 + *body_len bytes, body at p + 4); -EAGAIN when more bytes
 * are needed; -EMSGSIZE when the announced length is negative or above @max (the connection
 * should be closed: ZooKeeper does the same, "Len error"). A length of 0 is a whole (empty)
 * frame. */
int jute_frame_peek(const void *p, size_t len, size_t max, size_t *body_len);

/* ---- Paths ------------------------------------------------------------------------------- */

/* Check @len bytes at @p (need not be NUL-terminated) with ZooKeeper's
 * PathUtils.validatePath(path, sequential): starts with '/', no trailing '/' except the root,
 * no empty, "." or ".." component, valid UTF-8 (Java would decode invalid bytes to U+FFFD,
 * which is refused), no U+0000, U+0001-U+001F, U+007F-U+009F, U+D800-U+F8FF, U+FFF0-U+FFFF,
 * nor anything above U+FFFF (a surrogate pair in Java). With @sequential true the path is
 * checked as if a digit followed it (so "/a/" is valid: the server appends the counter).
 * Returns 0 or -EINVAL (no log line: the caller answers ZK_ERR_BADARGUMENTS and logs). */
int jute_path_validate(const char *p, size_t len, bool sequential);

#endif
