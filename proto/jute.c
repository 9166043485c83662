/* jute primitives: the bounds-checked reader, the big-endian writers, string helpers and the
 * frame length prefix of ZooKeeper's client protocol (org.apache.jute.BinaryInputArchive /
 * BinaryOutputArchive: int and long big-endian, boolean one byte, ustring and buffer as an int
 * length then the bytes, -1 for null). */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "proto/jute.h"
#include "proto/jute_int.h"

void jute_in_init(struct jute_in *in, const void *p, size_t len)
{
	in->p = p;
	in->len = len;
	in->pos = 0;
}

size_t jute_in_remaining(const struct jute_in *in)
{
	return in->pos <= in->len ? in->len - in->pos : 0;
}

int jute_read_int(struct jute_in *in, int32_t *v)
{
	if (jute_in_remaining(in) < 4)
		return ZK_CORRUPT();
	*v = (int32_t)zk_get_be32(in->p + in->pos);
	in->pos += 4;
	return 0;
}

int jute_read_long(struct jute_in *in, int64_t *v)
{
	if (jute_in_remaining(in) < 8)
		return ZK_CORRUPT();
	*v = (int64_t)zk_get_be64(in->p + in->pos);
	in->pos += 8;
	return 0;
}

int jute_read_bool(struct jute_in *in, bool *v)
{
	if (jute_in_remaining(in) < 1)
		return ZK_CORRUPT();
	*v = in->p[in->pos] != 0;
	in->pos++;
	return 0;
}

/* The length-prefixed byte run shared by ustring and buffer. */
static int jute_read_run(struct jute_in *in, const uint8_t **p, int32_t *len)
{
	int32_t n;
	int rc = jute_read_int(in, &n);

	if (rc != 0)
		return rc;
	if (n < -1 || (n > 0 && (size_t)n > jute_in_remaining(in))) {
		zk_log_warn("jute: length %d at offset %zu, %zu bytes left", n, in->pos - 4,
			    jute_in_remaining(in));
		return ZK_CORRUPT();
	}
	/* An empty run points at a static "" so callers may use p whenever len >= 0. */
	*p = n > 0 ? in->p + in->pos : (n == 0 ? (const uint8_t *)"" : NULL);
	*len = n;
	if (n > 0)
		in->pos += (size_t)n;
	return 0;
}

int jute_read_string(struct jute_in *in, struct jute_str *v)
{
	const uint8_t *p;
	int32_t len;
	int rc = jute_read_run(in, &p, &len);

	if (rc != 0)
		return rc;
	v->p = (const char *)p;
	v->len = len;
	return 0;
}

int jute_read_buffer(struct jute_in *in, struct jute_bytes *v)
{
	const uint8_t *p;
	int32_t len;
	int rc = jute_read_run(in, &p, &len);

	if (rc != 0)
		return rc;
	v->p = p;
	v->len = len;
	return 0;
}

/* Writers that assume the room was reserved: encoders reserve a whole record once. */
void jute_put_int(struct zk_buf *out, int32_t v)
{
	uint32_t u = (uint32_t)v;
	uint8_t *d = out->data + out->len;

	d[0] = (uint8_t)(u >> 24);
	d[1] = (uint8_t)(u >> 16);
	d[2] = (uint8_t)(u >> 8);
	d[3] = (uint8_t)u;
	out->len += 4;
}

void jute_put_long(struct zk_buf *out, int64_t v)
{
	jute_put_int(out, (int32_t)(uint32_t)((uint64_t)v >> 32));
	jute_put_int(out, (int32_t)(uint32_t)(uint64_t)v);
}

void jute_put_bool(struct zk_buf *out, bool v)
{
	out->data[out->len++] = v ? 1 : 0;
}

void jute_put_run(struct zk_buf *out, const void *p, int32_t len)
{
	assert(p != NULL || len <= 0);
	if (len < 0) {
		jute_put_int(out, -1);
		return;
	}
	jute_put_int(out, len);
	if (len > 0) {
		memcpy(out->data + out->len, p, (size_t)len);
		out->len += (size_t)len;
	}
}

size_t jute_run_size(int32_t len)
{
	return 4 + (len > 0 ? (size_t)len : 0);
}

int jute_write_int(struct zk_buf *out, int32_t v)
{
	int rc = zk_buf_reserve(out, 4);

	if (rc == 0)
		jute_put_int(out, v);
	return rc;
}

int jute_write_long(struct zk_buf *out, int64_t v)
{
	int rc = zk_buf_reserve(out, 8);

	if (rc == 0)
		jute_put_long(out, v);
	return rc;
}

int jute_write_bool(struct zk_buf *out, bool v)
{
	int rc = zk_buf_reserve(out, 1);

	if (rc == 0)
		jute_put_bool(out, v);
	return rc;
}

int jute_write_string(struct zk_buf *out, const char *p, int32_t len)
{
	return jute_write_buffer(out, p, len);
}

int jute_write_buffer(struct zk_buf *out, const void *p, int32_t len)
{
	int rc = zk_buf_reserve(out, jute_run_size(len));

	if (rc == 0)
		jute_put_run(out, p, len);
	return rc;
}

char *jute_str_dup(const struct jute_str *s)
{
	char *c;

	if (s->len < 0)
		return NULL;
	c = zk_malloc((size_t)s->len + 1);
	if (c == NULL)
		return NULL;
	if (s->len > 0)
		memcpy(c, s->p, (size_t)s->len);
	c[s->len] = '\0';
	return c;
}

bool jute_str_eq(const struct jute_str *s, const char *c)
{
	size_t n = strlen(c);

	return s->len >= 0 && (size_t)s->len == n && (n == 0 || memcmp(s->p, c, n) == 0);
}

size_t jute_frame_begin(struct zk_buf *out)
{
	size_t offset = out->len;

	if (jute_write_int(out, 0) != 0)
		return JUTE_FRAME_NOMEM;
	return offset;
}

void jute_frame_end(struct zk_buf *out, size_t offset)
{
	zk_buf_put_be32(out, offset, (uint32_t)(out->len - offset - 4));
}

int jute_frame_peek(const void *p, size_t len, size_t max, size_t *body_len)
{
	int32_t n;

	if (len < 4)
		return -EAGAIN;
	n = (int32_t)zk_get_be32(p);
	if (n < 0 || (size_t)n > max)
		return -EMSGSIZE;
	if (len - 4 < (size_t)n)
		return -EAGAIN;
	*body_len = (size_t)n;
	return 0;
}
