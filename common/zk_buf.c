/* zk_buf: see zk_buf.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"

void zk_buf_init(struct zk_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void zk_buf_close(struct zk_buf *b)
{
	zk_free(b->data);
	zk_buf_init(b);
}

int zk_buf_reserve(struct zk_buf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : 64;
	uint8_t *data;

	if (extra > SIZE_MAX - b->len)
		return -ENOMEM;
	if (b->len + extra <= b->cap)
		return 0;
	while (cap < b->len + extra)
		cap = cap > SIZE_MAX / 2 ? b->len + extra : cap * 2;
	data = zk_realloc(b->data, cap);
	if (data == NULL)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

int zk_buf_append(struct zk_buf *b, const void *data, size_t len)
{
	int rc;

	if (len == 0)
		return 0;
	rc = zk_buf_reserve(b, len);
	if (rc != 0)
		return rc;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int zk_buf_append_u8(struct zk_buf *b, uint8_t v)
{
	return zk_buf_append(b, &v, 1);
}

int zk_buf_append_be32(struct zk_buf *b, uint32_t v)
{
	uint8_t bytes[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return zk_buf_append(b, bytes, sizeof(bytes));
}

int zk_buf_append_be64(struct zk_buf *b, uint64_t v)
{
	int rc = zk_buf_append_be32(b, (uint32_t)(v >> 32));
	return rc != 0 ? rc : zk_buf_append_be32(b, (uint32_t)v);
}

int zk_buf_printf(struct zk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	int rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	rc = zk_buf_reserve(b, (size_t)n + 1);
	if (rc != 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void zk_buf_put_be32(struct zk_buf *b, size_t offset, uint32_t v)
{
	b->data[offset] = (uint8_t)(v >> 24);
	b->data[offset + 1] = (uint8_t)(v >> 16);
	b->data[offset + 2] = (uint8_t)(v >> 8);
	b->data[offset + 3] = (uint8_t)v;
}

void zk_buf_reset(struct zk_buf *b)
{
	b->len = 0;
}

uint8_t *zk_buf_steal(struct zk_buf *b, size_t *len)
{
	uint8_t *data = b->data;

	*len = b->len;
	zk_buf_init(b);
	return data;
}
