/* names: the suffixes a name on the mount may carry, and path joining.
 *
 * A name written on the mount may end in ".eph" (ephemeral), ".seq" (sequential) or
 * ".eph.seq" / ".seq.eph" (both). The suffix asks for a kind of create; it is not part of the
 * znode's name. ".data" inside a directory is that node's own data. Pure functions, any thread. */
#ifndef ZKFS_NAMES_H
#define ZKFS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* The file that shows a directory node's own data. */
#define NAMES_DATA_FILE ".data"

/* Longest ZooKeeper path the mount builds (bytes, without the NUL). */
#define NAMES_PATH_MAX 4096

struct names_parsed {
	char base[256];	 /* The name without its suffix (may be "" for a bare ".seq"). */
	bool ephemeral;	 /* ".eph" was given. */
	bool sequential; /* ".seq" was given. */
};

/* Split @name into its base and suffix flags.
 * @name: borrowed, one path component.
 * @out: filled on success.
 * Returns 0; -EINVAL when the name is empty, ".", "..", contains '/' or a control character
 * (tab, newline, ...: ZooKeeper refuses them), or is only a suffix without ".seq" (".eph");
 * -ENAMETOOLONG past 255 bytes. */
int names_parse(const char *name, struct names_parsed *out);

/* False for a server child the mount cannot show: a name over 255 bytes (no lookup could
 * reach it) or a real child named ".data" (the name of its parent's own data). readdir hides
 * them; ZooKeeper clients still see them. */
bool names_listable(const char *name);

/* True when @name carries a create suffix (so it can never be a literal node's lookup). */
bool names_has_suffix(const char *name);

/* Join @dir (a ZooKeeper path, "/" for the root) and @name into @out (size @size).
 * Returns 0 or -ENAMETOOLONG (the path would pass @size - 1 or NAMES_PATH_MAX bytes). */
int names_join(const char *dir, const char *name, char *out, size_t size);

/* The last component of @path ("" for "/"); a pointer into @path. */
const char *names_basename(const char *path);

/* Write the parent of @path into @out (size @size): "/a" for "/a/b", "/" for "/a".
 * Returns 0 or -EINVAL for "/" or a path without '/'. */
int names_dirname(const char *path, char *out, size_t size);

#endif
