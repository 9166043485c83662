/* zk_hash: SipHash-1-3 (one compression round per word, three finalisation rounds: the
 * variant hash tables use, e.g. Rust's std and Python's), streamed. See zk_hash.h. */
#include <endian.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/zk_hash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(struct zk_hash *h)
{
	h->v0 += h->v1;
	h->v1 = ROTL(h->v1, 13);
	h->v1 ^= h->v0;
	h->v0 = ROTL(h->v0, 32);
	h->v2 += h->v3;
	h->v3 = ROTL(h->v3, 16);
	h->v3 ^= h->v2;
	h->v0 += h->v3;
	h->v3 = ROTL(h->v3, 21);
	h->v3 ^= h->v0;
	h->v2 += h->v1;
	h->v1 = ROTL(h->v1, 17);
	h->v1 ^= h->v2;
	h->v2 = ROTL(h->v2, 32);
}

static void sip_word(struct zk_hash *h, uint64_t m)
{
	h->v3 ^= m;
	sip_round(h);
	h->v0 ^= m;
}

void zk_hash_init(struct zk_hash *h, const struct zk_hash_key *key)
{
	h->v0 = key->k0 ^ 0x736f6d6570736575ULL;
	h->v1 = key->k1 ^ 0x646f72616e646f6dULL;
	h->v2 = key->k0 ^ 0x6c7967656e657261ULL;
	h->v3 = key->k1 ^ 0x7465646279746573ULL;
	h->tail = 0;
	h->len = 0;
}

void zk_hash_update(struct zk_hash *h, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t m;
	size_t i = 0;

	/* Whole little-endian words while no partial word is pending. */
	for (; h->len % 8 == 0 && len - i >= 8; i += 8, h->len += 8) {
		memcpy(&m, b + i, 8);
		sip_word(h, le64toh(m));
	}
	for (; i < len; i++) {
		h->tail |= (uint64_t)b[i] << (8 * (h->len % 8));
		h->len++;
		if (h->len % 8 == 0) {
			sip_word(h, h->tail);
			h->tail = 0;
		}
	}
}

uint64_t zk_hash_final(const struct zk_hash *h)
{
	struct zk_hash f = *h;

	sip_word(&f, f.tail | (uint64_t)(f.len & 0xff) << 56);
	f.v2 ^= 0xff;
	sip_round(&f);
	sip_round(&f);
	sip_round(&f);
	return f.v0 ^ f.v1 ^ f.v2 ^ f.v3;
}

uint64_t zk_hash_bytes(const struct zk_hash_key *key, const void *p, size_t len)
{
	struct zk_hash h;

	zk_hash_init(&h, key);
	zk_hash_update(&h, p, len);
	return zk_hash_final(&h);
}

static struct zk_hash_key zk_hash_key;
static pthread_once_t zk_hash_once = PTHREAD_ONCE_INIT;

static void zk_hash_make_key(void)
{
	struct timespec ts;

	if (getrandom(&zk_hash_key, sizeof(zk_hash_key), GRND_NONBLOCK) ==
	    (ssize_t)sizeof(zk_hash_key))
		return;
	/* No entropy yet (early boot): still different per process and start. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	zk_hash_key.k0 = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	zk_hash_key.k1 = (uint64_t)ts.tv_sec * 0xbf58476d1ce4e5b9ULL ^ (uint64_t)&zk_hash_key;
}

const struct zk_hash_key *zk_hash_process_key(void)
{
	pthread_once(&zk_hash_once, zk_hash_make_key);
	return &zk_hash_key;
}
