/* authfile: the credentials file of `-o auth_file=FILE` (issue 10).
 *
 * One identity per line, as ZooKeeper's addauth takes it: `SCHEME:CREDENTIAL`, e.g.
 * `digest:alice:secret` (everything after the first ':' is the credential, sent as is). Blank
 * lines and lines starting with '#' are skipped; spaces and tabs around a line are dropped. At
 * most AUTHFILE_MAX_IDS lines (the servers keep 16 ids per connection), each at most
 * AUTHFILE_MAX_LINE bytes. The file must be a regular file owned by root with no permission
 * for group or others (mode 0600 or stricter), like ssh's private keys: credentials a user
 * could read or change are refused before anything is mounted. */
#ifndef ZKFS_AUTHFILE_H
#define ZKFS_AUTHFILE_H

#include <stddef.h>

#define AUTHFILE_MAX_IDS 16
#define AUTHFILE_MAX_LINE 1024

/* Read @path. Returns 0 and *@out: the identities, one per line ("scheme:cred\n..."; malloc'd,
 * the caller frees; never empty), or -1 with a one-line reason in @err (no credential in it). */
int authfile_read(const char *path, char **out, char *err, size_t errlen);

/* Parse @text (the file's contents) as authfile_read does, without the file checks. */
int authfile_parse(const char *text, char **out, char *err, size_t errlen);

#endif
