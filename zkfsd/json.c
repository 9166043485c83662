/* json: see json.h. Strings are escaped per RFC 8259 section 7 (quote, backslash and the
 * control characters; other bytes pass through, so UTF-8 stays UTF-8). */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "zkfsd/json.h"

static void json_put(struct json *j, int rv)
{
	if (rv != 0 && j->err == 0)
		j->err = rv;
}

/* Before a value or key at the current level. */
static void json_sep(struct json *j)
{
	if (j->comma)
		json_put(j, zk_buf_append_u8(j->out, ','));
	j->comma = true;
}

void json_begin(struct json *j, struct zk_buf *out)
{
	j->out = out;
	j->comma = false;
	j->depth = 0;
	j->err = 0;
	json_open(j, '{');
}

int json_end(struct json *j)
{
	json_close(j, '{');
	assert(j->depth == 0);
	json_put(j, zk_buf_append_u8(j->out, '\n'));
	return j->err;
}

void json_key(struct json *j, const char *key)
{
	json_str(j, key);
	json_put(j, zk_buf_append_u8(j->out, ':'));
	j->comma = false; /* The value follows without a comma. */
}

void json_strn(struct json *j, const char *s, size_t len)
{
	json_sep(j);
	json_put(j, zk_buf_append_u8(j->out, '"'));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			json_put(j, zk_buf_printf(j->out, "\\%c", c));
		else if (c < 0x20)
			json_put(j, zk_buf_printf(j->out, "\\u%04x", c));
		else
			json_put(j, zk_buf_append_u8(j->out, c));
	}
	json_put(j, zk_buf_append_u8(j->out, '"'));
}

void json_str(struct json *j, const char *s)
{
	if (s == NULL) {
		json_sep(j);
		json_put(j, zk_buf_printf(j->out, "null"));
		return;
	}
	json_strn(j, s, strlen(s));
}

void json_i64(struct json *j, int64_t v)
{
	json_sep(j);
	json_put(j, zk_buf_printf(j->out, "%" PRId64, v));
}

void json_u64(struct json *j, uint64_t v)
{
	json_sep(j);
	json_put(j, zk_buf_printf(j->out, "%" PRIu64, v));
}

void json_double(struct json *j, double v)
{
	json_sep(j);
	json_put(j, zk_buf_printf(j->out, isfinite(v) ? "%.17g" : "null", v));
}

void json_bool(struct json *j, bool v)
{
	json_sep(j);
	json_put(j, zk_buf_printf(j->out, v ? "true" : "false"));
}

void json_open(struct json *j, char bracket)
{
	json_sep(j);
	json_put(j, zk_buf_append_u8(j->out, (uint8_t)bracket));
	j->comma = false;
	j->depth++;
}

void json_close(struct json *j, char bracket)
{
	assert(j->depth > 0);
	json_put(j, zk_buf_append_u8(j->out, (uint8_t)(bracket == '{' ? '}' : ']')));
	j->comma = true;
	j->depth--;
}
