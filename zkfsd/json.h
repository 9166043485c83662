/* json: appending JSON text to a zk_buf, for the AdminServer. The writer tracks only whether
 * a comma is due; the caller nests objects and arrays correctly (asserted in debug builds by
 * the depth count). Appends are best-effort: an out-of-memory append is caught by the final
 * json_end(), which returns -ENOMEM if any append failed. */
#ifndef ZKFSD_JSON_H
#define ZKFSD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/zk_buf.h"

struct json {
	struct zk_buf *out; /* Borrowed. */
	bool comma;	    /* A value was written at this level: the next needs ','. */
	int depth;	    /* Open objects and arrays. */
	int err;	    /* First append error (0 or -ENOMEM). */
};

void json_begin(struct json *j, struct zk_buf *out); /* Opens the top object. */
int json_end(struct json *j);			      /* Closes it; 0 or -ENOMEM. */

/* "key": — then exactly one value call follows. */
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s); /* NULL writes null. */
void json_strn(struct json *j, const char *s, size_t len);
void json_i64(struct json *j, int64_t v);
void json_u64(struct json *j, uint64_t v);
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_open(struct json *j, char bracket);  /* '{' or '[' */
void json_close(struct json *j, char bracket); /* The one opened: '{' or '[' */

#endif
