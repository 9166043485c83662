/* zk_const: the numbers of ZooKeeper's client protocol (ZooDefs, KeeperException.Code,
 * Watcher.Event, CreateMode in Apache ZooKeeper 3.8) and the one table that maps each error
 * code to its name and to an errno. Header only: store/, zkfsd/, fuse/ and tools/ all include it.
 * Names carry ZK_ so they never clash with libzookeeper's ZOO_* and Z* names. */
#ifndef ZK_CONST_H
#define ZK_CONST_H

#include <errno.h>
#include <stdint.h>

/* Request opcodes (RequestHeader.type). */
enum zk_op {
	ZK_OP_NOTIFICATION = 0,
	ZK_OP_CREATE = 1,
	ZK_OP_DELETE = 2,
	ZK_OP_EXISTS = 3,
	ZK_OP_GET_DATA = 4,
	ZK_OP_SET_DATA = 5,
	ZK_OP_GET_ACL = 6,
	ZK_OP_SET_ACL = 7,
	ZK_OP_GET_CHILDREN = 8,
	ZK_OP_SYNC = 9,
	ZK_OP_PING = 11,
	ZK_OP_GET_CHILDREN2 = 12,
	ZK_OP_CHECK = 13,
	ZK_OP_MULTI = 14,
	ZK_OP_CREATE2 = 15,
	ZK_OP_RECONFIG = 16,
	ZK_OP_CHECK_WATCHES = 17,
	ZK_OP_REMOVE_WATCHES = 18,
	ZK_OP_CREATE_CONTAINER = 19,
	ZK_OP_DELETE_CONTAINER = 20,
	ZK_OP_CREATE_TTL = 21,
	ZK_OP_MULTI_READ = 22,
	ZK_OP_AUTH = 100,
	ZK_OP_SET_WATCHES = 101,
	ZK_OP_SASL = 102,
	ZK_OP_GET_EPHEMERALS = 103,
	ZK_OP_GET_ALL_CHILDREN_NUMBER = 104,
	ZK_OP_SET_WATCHES2 = 105,
	ZK_OP_ADD_WATCH = 106,
	ZK_OP_WHO_AM_I = 107,
	ZK_OP_CREATE_SESSION = -10,
	ZK_OP_CLOSE_SESSION = -11,
	ZK_OP_ERROR = -1,
};

/* Reserved xids. */
enum {
	ZK_XID_WATCH_EVENT = -1,
	ZK_XID_PING = -2,
	ZK_XID_AUTH = -4,
	ZK_XID_SET_WATCHES = -8,
};

/* Error codes: X(code, NAME, "Name as ZooKeeper prints it", errno). */
#define ZK_ERRORS(X)                                                                    \
	X(0, OK, "OK", 0)                                                               \
	X(-1, SYSTEMERROR, "SystemError", EIO)                                          \
	X(-2, RUNTIMEINCONSISTENCY, "RuntimeInconsistency", EIO)                        \
	X(-3, DATAINCONSISTENCY, "DataInconsistency", EIO)                              \
	X(-4, CONNECTIONLOSS, "ConnectionLoss", EIO)                                    \
	X(-5, MARSHALLINGERROR, "MarshallingError", EINVAL)                             \
	X(-6, UNIMPLEMENTED, "Unimplemented", ENOSYS)                                   \
	X(-7, OPERATIONTIMEOUT, "OperationTimeout", ETIMEDOUT)                          \
	X(-8, BADARGUMENTS, "BadArguments", EINVAL)                                     \
	X(-12, UNKNOWNSESSION, "UnknownSession", EIO)                                   \
	X(-13, NEWCONFIGNOQUORUM, "NewConfigNoQuorum", EIO)                             \
	X(-14, RECONFIGINPROGRESS, "ReconfigInProgress", EBUSY)                         \
	X(-100, APIERROR, "APIError", EIO)                                              \
	X(-101, NONODE, "NoNode", ENOENT)                                               \
	X(-102, NOAUTH, "NoAuth", EACCES)                                               \
	X(-103, BADVERSION, "BadVersion", ESTALE)                                       \
	X(-108, NOCHILDRENFOREPHEMERALS, "NoChildrenForEphemerals", ENOTDIR)            \
	X(-110, NODEEXISTS, "NodeExists", EEXIST)                                       \
	X(-111, NOTEMPTY, "NotEmpty", ENOTEMPTY)                                        \
	X(-112, SESSIONEXPIRED, "SessionExpired", EIO)                                  \
	X(-113, INVALIDCALLBACK, "InvalidCallback", EINVAL)                             \
	X(-114, INVALIDACL, "InvalidACL", EINVAL)                                       \
	X(-115, AUTHFAILED, "AuthFailed", EACCES)                                       \
	X(-118, SESSIONMOVED, "SessionMoved", EIO)                                      \
	X(-119, NOTREADONLY, "NotReadOnly", EROFS)                                      \
	X(-120, EPHEMERALONLOCALSESSION, "EphemeralOnLocalSession", EINVAL)             \
	X(-121, NOWATCHER, "NoWatcher", ENOENT)                                         \
	X(-123, RECONFIGDISABLED, "ReconfigDisabled", EPERM)                            \
	X(-124, SESSIONCLOSEDREQUIRESASLAUTH, "SessionClosedRequireSaslAuth", EACCES)   \
	X(-125, QUOTAEXCEEDED, "QuotaExceeded", EDQUOT)                                 \
	X(-127, THROTTLEDOP, "ThrottledOp", EAGAIN)

#define ZK_ERR_ENUM_(code, name, text, err) ZK_ERR_##name = code,
enum zk_err { ZK_ERRORS(ZK_ERR_ENUM_) };
#undef ZK_ERR_ENUM_

/* "NoNode" for -101; "Unknown" for a code not in the table. */
static inline const char *zk_err_name(int code)
{
#define ZK_ERR_NAME_(c, name, text, err) \
	case c:                          \
		return text;
	switch (code) {
		ZK_ERRORS(ZK_ERR_NAME_)
	}
#undef ZK_ERR_NAME_
	return "Unknown";
}

/* The positive errno a filesystem returns for a ZooKeeper error code (EIO when unknown). */
static inline int zk_err_to_errno(int code)
{
#define ZK_ERR_ERRNO_(c, name, text, err) \
	case c:                           \
		return err;
	switch (code) {
		ZK_ERRORS(ZK_ERR_ERRNO_)
	}
#undef ZK_ERR_ERRNO_
	return EIO;
}

/* CreateMode values carried in CreateRequest.flags. */
enum zk_create_mode {
	ZK_MODE_PERSISTENT = 0,
	ZK_MODE_EPHEMERAL = 1,
	ZK_MODE_PERSISTENT_SEQUENTIAL = 2,
	ZK_MODE_EPHEMERAL_SEQUENTIAL = 3,
	ZK_MODE_CONTAINER = 4,
	ZK_MODE_PERSISTENT_WITH_TTL = 5,
	ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL = 6,
};

/* WatcherEvent.type */
enum zk_event_type {
	ZK_EVENT_NONE = -1,
	ZK_EVENT_NODE_CREATED = 1,
	ZK_EVENT_NODE_DELETED = 2,
	ZK_EVENT_NODE_DATA_CHANGED = 3,
	ZK_EVENT_NODE_CHILDREN_CHANGED = 4,
	ZK_EVENT_DATA_WATCH_REMOVED = 5,
	ZK_EVENT_CHILD_WATCH_REMOVED = 6,
	ZK_EVENT_PERSISTENT_WATCH_REMOVED = 7,
};

/* WatcherEvent.state */
enum zk_keeper_state {
	ZK_STATE_DISCONNECTED = 0,
	ZK_STATE_SYNC_CONNECTED = 3,
	ZK_STATE_AUTH_FAILED = 4,
	ZK_STATE_CONNECTED_READ_ONLY = 5,
	ZK_STATE_SASL_AUTHENTICATED = 6,
	ZK_STATE_CLOSED = 7,
	ZK_STATE_EXPIRED = -112,
};

/* ACL permission bits. */
enum zk_perm {
	ZK_PERM_READ = 1,
	ZK_PERM_WRITE = 2,
	ZK_PERM_CREATE = 4,
	ZK_PERM_DELETE = 8,
	ZK_PERM_ADMIN = 16,
	ZK_PERM_ALL = 31,
};

/* AddWatchRequest.mode */
enum zk_add_watch_mode {
	ZK_ADD_WATCH_PERSISTENT = 0,
	ZK_ADD_WATCH_PERSISTENT_RECURSIVE = 1,
};

/* RemoveWatchesRequest.type / CheckWatchesRequest.type (WatcherType). */
enum zk_watcher_type {
	ZK_WATCHER_CHILDREN = 1,
	ZK_WATCHER_DATA = 2,
	ZK_WATCHER_ANY = 3,
};

/* The Stat record, field for field (zookeeper.jute org.apache.zookeeper.data.Stat). */
struct zk_stat {
	int64_t czxid;		 /* zxid of the create. */
	int64_t mzxid;		 /* zxid of the last setData (or the create). */
	int64_t ctime;		 /* Leader's clock at create, ms since the epoch. */
	int64_t mtime;		 /* Leader's clock at the last setData, ms. */
	int32_t version;	 /* Number of setData since create. */
	int32_t cversion;	 /* Number of child creates and deletes. */
	int32_t aversion;	 /* Number of setACL. */
	int64_t ephemeral_owner; /* Session id of the owner, 0 unless ephemeral. */
	int32_t data_length;	 /* Bytes of data. */
	int32_t num_children;	 /* Direct children. */
	int64_t pzxid;		 /* zxid of the last child create or delete (or the create). */
};

/* Session timeouts and limits shared by servers and clients. */
#define ZK_SESSION_PASSWD_LEN 16

#endif
