/* zk_hash: the one keyed hash of the project (SipHash-1-3, Aumasson & Bernstein, with a
 * 128-bit key), for every hash table whose keys a client chooses (child names, watch paths,
 * ACL entries): without the key a client cannot aim names at one bucket.
 *
 * The key: zk_hash_process_key() is random per process, for tables whose order nobody else
 * sees; a table whose iteration order is replicated or written out must use a key shared by
 * the ensemble instead (none needs one today). A hash is streamed: init, update any number of
 * times, final; equal byte strings give equal hashes however they were split. Pure functions,
 * callable from any thread (the process key is set once, thread-safely). */
#ifndef ZK_HASH_H
#define ZK_HASH_H

#include <stddef.h>
#include <stdint.h>

struct zk_hash_key {
	uint64_t k0, k1; /* The 128-bit key. */
};

struct zk_hash {
	uint64_t v0, v1, v2, v3; /* SipHash state. */
	uint64_t tail;		 /* Bytes not yet in a full 8-byte word, little-endian. */
	size_t len;		 /* Bytes hashed so far. */
};

/* This process's random key (from getrandom; a clock-and-pid mix if that fails). */
const struct zk_hash_key *zk_hash_process_key(void);

void zk_hash_init(struct zk_hash *h, const struct zk_hash_key *key);
void zk_hash_update(struct zk_hash *h, const void *p, size_t len);
uint64_t zk_hash_final(const struct zk_hash *h);

/* One-shot: zk_hash_init + update + final. */
uint64_t zk_hash_bytes(const struct zk_hash_key *key, const void *p, size_t len);

#endif
