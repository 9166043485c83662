/* jute_path: ZooKeeper's PathUtils.validatePath(path, isSequential) on UTF-8 bytes.
 *
 * Java checks the String, i.e. UTF-16 code units after decoding the wire bytes as UTF-8:
 * malformed UTF-8 becomes U+FFFD (refused, in U+FFF0-U+FFFF) and a code point above U+FFFF
 * becomes a surrogate pair (refused, in U+D800-U+F8FF). So here: decode strictly, refuse
 * anything malformed or above U+FFFF, and apply Java's ranges to the rest. A sequential path
 * is checked with a digit appended, as Java appends "1". */
#include <errno.h>

#include "proto/jute.h"

/* Decode the code point at @p[*i] (advancing *i); -1 when malformed (bad lead or continuation
 * byte, truncated, overlong, surrogate) or above U+FFFF. */
static int32_t jute_path_next(const uint8_t *p, size_t len, size_t *i)
{
	uint8_t b = p[(*i)++];
	int32_t cp;
	int32_t min;
	int extra;

	if (b < 0x80)
		return b;
	if ((b & 0xE0) == 0xC0) {
		cp = b & 0x1F;
		extra = 1;
		min = 0x80;
	} else if ((b & 0xF0) == 0xE0) {
		cp = b & 0x0F;
		extra = 2;
		min = 0x800;
	} else {
		return -1; /* 4-byte sequences are above U+FFFF; the rest is malformed. */
	}
	if (len - *i < (size_t)extra)
		return -1;
	while (extra-- > 0) {
		b = p[(*i)++];
		if ((b & 0xC0) != 0x80)
			return -1;
		cp = cp << 6 | (b & 0x3F);
	}
	return cp < min ? -1 : cp;
}

static bool jute_path_char_ok(int32_t c)
{
	return c > 0 && !(c <= 0x1F) && !(c >= 0x7F && c <= 0x9F) &&
	       !(c >= 0xD800 && c <= 0xF8FF) && !(c >= 0xFFF0);
}

/* A component ends at @i: refuse it when empty, "." or "..". */
static bool jute_path_component_ok(size_t start, size_t end, const uint8_t *p)
{
	size_t n = end - start;

	if (n == 0)
		return false;
	if (n == 1 && p[start] == '.')
		return false;
	return !(n == 2 && p[start] == '.' && p[start + 1] == '.');
}

int jute_path_validate(const char *path, size_t len, bool sequential)
{
	const uint8_t *p = (const uint8_t *)path;
	size_t start = 1;
	size_t i = 1;

	if (len == 0 || p[0] != '/')
		return -EINVAL;
	if (len == 1)
		return 0;
	if (p[len - 1] == '/' && !sequential)
		return -EINVAL;
	while (i < len) {
		size_t at = i;
		int32_t c = jute_path_next(p, len, &i);

		if (c < 0 || !jute_path_char_ok(c))
			return -EINVAL;
		if (c != '/')
			continue;
		if (!jute_path_component_ok(start, at, p))
			return -EINVAL;
		start = i;
	}
	/* The last component; with sequential the appended digit makes it non-empty and
	 * neither "." nor "..". */
	if (!sequential && !jute_path_component_ok(start, len, p))
		return -EINVAL;
	return 0;
}
