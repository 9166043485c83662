/* zk_buf: a growable byte buffer, the output side of every encoder (jute, protobuf, snapshots).
 *
 * Embedded by its owner: zk_buf_init, append, then zk_buf_close frees the bytes (or
 * zk_buf_steal hands them over). Appends return 0 or -ENOMEM; after -ENOMEM the buffer keeps
 * what it had. */
#ifndef ZK_BUF_H
#define ZK_BUF_H

#include <stddef.h>
#include <stdint.h>

struct zk_buf {
	uint8_t *data;	 /* Owned; NULL until the first append. */
	size_t len;	 /* Bytes in use. */
	size_t cap;	 /* Bytes allocated. */
};

void zk_buf_init(struct zk_buf *b);
void zk_buf_close(struct zk_buf *b);

/* Make room for @extra more bytes. */
int zk_buf_reserve(struct zk_buf *b, size_t extra);
int zk_buf_append(struct zk_buf *b, const void *data, size_t len);
int zk_buf_append_u8(struct zk_buf *b, uint8_t v);
int zk_buf_append_be32(struct zk_buf *b, uint32_t v);
int zk_buf_append_be64(struct zk_buf *b, uint64_t v);
int zk_buf_printf(struct zk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Overwrite 4 bytes at @offset (which must already be in use) with @v big-endian: used to
 * fill in a frame length once the body is encoded. */
void zk_buf_put_be32(struct zk_buf *b, size_t offset, uint32_t v);

/* Read 4 or 8 bytes at @p as a big-endian number: the readers of the writers above, for any
 * byte array (frames, snapshot and backup headers). */
static inline uint32_t zk_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t zk_get_be64(const uint8_t *p)
{
	return (uint64_t)zk_get_be32(p) << 32 | zk_get_be32(p + 4);
}

/* Empty the buffer, keeping its memory. */
void zk_buf_reset(struct zk_buf *b);

/* Hand the bytes to the caller (who frees them with zk_free); the buffer is left empty. */
uint8_t *zk_buf_steal(struct zk_buf *b, size_t *len);

#endif
