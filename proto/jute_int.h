/* jute_int: proto/'s private helpers shared by jute.c, jute_records.c and jute_request.c.
 *
 * Records are described by tables of fields (kind + offset), and one generic encoder, decoder,
 * sizer and free walk those tables: each record's public functions are thin wrappers, so the
 * 50-odd records of zookeeper.jute cannot drift apart in how they check lengths or free. */
#ifndef JUTE_INT_H
#define JUTE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/zk_buf.h"
#include "proto/jute.h"

enum jute_kind {
	JUTE_INT,    /* int32_t */
	JUTE_LONG,   /* int64_t */
	JUTE_BOOL,   /* bool */
	JUTE_STR,    /* struct jute_str */
	JUTE_BYTES,  /* struct jute_bytes */
	JUTE_REC,    /* a nested record of type sub */
	JUTE_VEC,    /* { int32_t count; T *items; } with T described by sub */
};

struct jute_type;

struct jute_field {
	enum jute_kind kind;
	size_t offset;		     /* Of the field in the C struct. */
	const struct jute_type *sub; /* JUTE_REC: the record; JUTE_VEC: the element. */
};

struct jute_type {
	const char *name;		 /* The record (or "ustring"), for log lines. */
	size_t size;			 /* sizeof the C struct. */
	const struct jute_field *fields; /* In wire order. */
	size_t n_fields;
};

/* Types of the records of zookeeper.jute (jute_records.c). */
extern const struct jute_type jute_type_create_request, jute_type_create_ttl_request,
	jute_type_delete_request, jute_type_exists_request, jute_type_get_data_request,
	jute_type_set_data_request, jute_type_get_acl_request, jute_type_set_acl_request,
	jute_type_get_children_request, jute_type_get_children2_request, jute_type_sync_request,
	jute_type_check_version_request, jute_type_reconfig_request,
	jute_type_check_watches_request, jute_type_remove_watches_request,
	jute_type_auth_packet, jute_type_set_watches, jute_type_set_watches2,
	jute_type_get_sasl_request, jute_type_get_ephemerals_request,
	jute_type_get_all_children_number_request, jute_type_add_watch_request,
	jute_type_create_response, jute_type_create2_response, jute_type_set_data_response,
	jute_type_get_children_response, jute_type_get_data_response, jute_type_error_response,
	jute_type_stat, jute_type_str_vec;

/* Generic walkers over a type table. @rec points at the C struct of @type.
 * jute_rec_decode: 0, -EBADMSG or -ENOMEM; on error @rec owns nothing.
 * jute_rec_put: appends; the caller reserved jute_rec_size bytes. */
int jute_rec_decode(struct jute_in *in, const struct jute_type *type, void *rec);
size_t jute_rec_size(const struct jute_type *type, const void *rec);
void jute_rec_put(struct zk_buf *out, const struct jute_type *type, const void *rec);
void jute_rec_free(const struct jute_type *type, void *rec);
/* Reserve jute_rec_size then put: 0 or -ENOMEM. */
int jute_rec_encode(struct zk_buf *out, const struct jute_type *type, const void *rec);

/* Unchecked writers (room already reserved) and the size of a string/buffer field (jute.c). */
void jute_put_int(struct zk_buf *out, int32_t v);
void jute_put_long(struct zk_buf *out, int64_t v);
void jute_put_bool(struct zk_buf *out, bool v);
void jute_put_run(struct zk_buf *out, const void *p, int32_t len);
size_t jute_run_size(int32_t len);

#endif
