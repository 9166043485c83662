/* fuzz_path: jute_path_validate against a second, independent reading of ZooKeeper's rule:
 * decode the bytes to UTF-16 the way Java's String(bytes, UTF_8) does (malformed -> U+FFFD,
 * above U+FFFF -> a surrogate pair), then run PathUtils.validatePath's character loop as
 * written (previous char, '.' and "..", the inclusive ranges). The first input byte picks
 * sequential mode. Both answers must agree. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jute.h"
#include "tests/fuzz/fuzz.h"

/* Decode one UTF-8 sequence at @p (of @n bytes): the code point (0xFFFD when malformed) and
 * the bytes used. */
static uint32_t fuzz_utf8(const uint8_t *p, size_t n, size_t *used)
{
	static const uint32_t mins[] = {0, 0x80, 0x800, 0x10000};
	size_t want = p[0] < 0x80 ? 0 : p[0] >= 0xC2 && p[0] <= 0xDF ? 1
				   : p[0] >= 0xE0 && p[0] <= 0xEF    ? 2
				   : p[0] >= 0xF0 && p[0] <= 0xF4    ? 3
								     : 4;
	uint32_t cp = want == 0 ? p[0] : p[0] & (0x3F >> want);

	*used = 1;
	if (want == 4)
		return 0xFFFD;
	for (size_t i = 1; i <= want; i++) {
		if (i >= n || (p[i] & 0xC0) != 0x80)
			return 0xFFFD;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	*used = want + 1;
	if (cp < mins[want] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0xFFFD;
	return cp;
}

/* Java's UTF-16 view of @p, plus a '1' when sequential. Returns the unit count. */
static size_t fuzz_utf16(const uint8_t *p, size_t n, bool seq, uint16_t *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n;) {
		size_t used;
		uint32_t cp = fuzz_utf8(p + i, n - i, &used);
		i += used;
		if (cp > 0xFFFF) {
			out[k++] = (uint16_t)(0xD800 + ((cp - 0x10000) >> 10));
			out[k++] = (uint16_t)(0xDC00 + ((cp - 0x10000) & 0x3FF));
		} else {
			out[k++] = (uint16_t)cp;
		}
	}
	if (seq)
		out[k++] = '1';
	return k;
}

static bool fuzz_java_valid(const uint16_t *c, size_t n)
{
	uint16_t last = '/';

	if (n == 0 || c[0] != '/')
		return false;
	if (n == 1)
		return true;
	if (c[n - 1] == '/')
		return false;
	for (size_t i = 1; i < n; last = c[i], i++) {
		bool ends = i + 1 == n || c[i + 1] == '/';
		if (c[i] == 0 || (c[i] == '/' && last == '/'))
			return false;
		if (c[i] == '.' && last == '.') {
			if (c[i - 2] == '/' && ends)
				return false;
		} else if (c[i] == '.') {
			if (c[i - 1] == '/' && ends)
				return false;
		} else if ((c[i] > 0 && c[i] <= 0x1F) || (c[i] >= 0x7F && c[i] <= 0x9F) ||
			   (c[i] >= 0xD800 && c[i] <= 0xF8FF) || c[i] >= 0xFFF0) {
			return false;
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t *units;
	bool seq;
	bool want;
	int rc;

	if (size == 0 || size > 4096)
		return 0;
	seq = data[0] & 1;
	units = malloc((size * 2 + 1) * sizeof(*units));
	if (units == NULL)
		return 0;
	want = fuzz_java_valid(units, fuzz_utf16(data + 1, size - 1, seq, units));
	free(units);
	rc = jute_path_validate((const char *)data + 1, size - 1, seq);
	if ((rc == 0) != want)
		fuzz_fail(want ? "valid in Java, refused by jute_path_validate"
			       : "invalid in Java, accepted by jute_path_validate");
	return 0;
}
