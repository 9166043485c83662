/* names: suffix parsing and path helpers of the mount (see names.h). */
#include "fuse/names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* Strip one of the known suffixes from the end of @name[0..*len). */
static bool strip_one(const char *name, size_t *len, struct names_parsed *out)
{
	if (ends_with(name, *len, ".eph") && !out->ephemeral) {
		out->ephemeral = true;
		*len -= 4;
		return true;
	}
	if (ends_with(name, *len, ".seq") && !out->sequential) {
		out->sequential = true;
		*len -= 4;
		return true;
	}
	return false;
}

/* True when @name holds a control character (C0, DEL, or C1 in UTF-8), which ZooKeeper
 * refuses in a path. */
static bool has_control(const char *name)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return true;
	}
	return false;
}

int names_parse(const char *name, struct names_parsed *out)
{
	size_t len = strlen(name);

	memset(out, 0, sizeof(*out));
	if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/') ||
	    has_control(name))
		return -EINVAL;
	if (len > 255)
		return -ENAMETOOLONG;
	/* At most two suffixes, in either order: ".eph.seq" or ".seq.eph". */
	if (strip_one(name, &len, out))
		strip_one(name, &len, out);
	/* A bare ".eph" has no name left to create; a bare ".seq" is a pure sequence number. */
	if (len == 0 && !out->sequential)
		return -EINVAL;
	memcpy(out->base, name, len);
	out->base[len] = '\0';
	if (strcmp(out->base, ".") == 0 || strcmp(out->base, "..") == 0)
		return -EINVAL;
	return 0;
}

bool names_listable(const char *name)
{
	return strlen(name) <= 255 && strcmp(name, NAMES_DATA_FILE) != 0;
}

bool names_has_suffix(const char *name)
{
	size_t len = strlen(name);

	return ends_with(name, len, ".eph") || ends_with(name, len, ".seq");
}

int names_join(const char *dir, const char *name, char *out, size_t size)
{
	int n;

	if (strcmp(dir, "/") == 0)
		n = snprintf(out, size, "/%s", name);
	else
		n = snprintf(out, size, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= size || n > NAMES_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

const char *names_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int names_dirname(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash || strcmp(path, "/") == 0)
		return -EINVAL;
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* The parent of "/a" is "/". */
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}
