/* jute records: the tables describing each record of zookeeper.jute (ZooKeeper 3.8/3.9,
 * modules org.apache.zookeeper.data and org.apache.zookeeper.proto), the generic walkers that
 * decode, size, encode and free a record from its table, and the public per-record functions.
 * Field order is the order of zookeeper.jute; any change there is a wire change. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "proto/jute.h"
#include "proto/jute_int.h"

/* Every vector struct shares one layout so the walkers can handle them alike. */
_Static_assert(offsetof(struct jute_acl_vec, count) == offsetof(struct jute_str_vec, count) &&
		       offsetof(struct jute_acl_vec, acls) == offsetof(struct jute_str_vec, items) &&
		       offsetof(struct jute_client_info_vec, items) ==
			       offsetof(struct jute_str_vec, items),
	       "vector layouts differ");
#define JUTE_VEC_COUNT offsetof(struct jute_str_vec, count)
#define JUTE_VEC_ITEMS offsetof(struct jute_str_vec, items)

/* ---- Tables ------------------------------------------------------------------------------ */

#define JUTE_F(kind, st, member) {JUTE_##kind, offsetof(struct st, member), NULL}
#define JUTE_FS(kind, st, member, sub) {JUTE_##kind, offsetof(struct st, member), &jute_type_##sub}
#define JUTE_TYPE_NAMED(name, label, st, ...)                                           \
	static const struct jute_field jute_fields_##name[] = {__VA_ARGS__};           \
	const struct jute_type jute_type_##name = {label, sizeof(struct st),          \
						   jute_fields_##name,                 \
						   sizeof(jute_fields_##name) /        \
							   sizeof(jute_fields_##name[0])};
#define JUTE_TYPE_AS(name, st, ...) JUTE_TYPE_NAMED(name, #name, st, __VA_ARGS__)
#define JUTE_TYPE(name, ...) JUTE_TYPE_AS(name, jute_##name, __VA_ARGS__)

JUTE_TYPE_AS(stat, zk_stat, JUTE_F(LONG, zk_stat, czxid), JUTE_F(LONG, zk_stat, mzxid),
	     JUTE_F(LONG, zk_stat, ctime), JUTE_F(LONG, zk_stat, mtime),
	     JUTE_F(INT, zk_stat, version), JUTE_F(INT, zk_stat, cversion),
	     JUTE_F(INT, zk_stat, aversion), JUTE_F(LONG, zk_stat, ephemeral_owner),
	     JUTE_F(INT, zk_stat, data_length), JUTE_F(INT, zk_stat, num_children),
	     JUTE_F(LONG, zk_stat, pzxid))
/* A vector<ustring> element is a bare jute_str. */
JUTE_TYPE_NAMED(str_vec, "ustring", jute_str, {JUTE_STR, 0, NULL})

JUTE_TYPE(id, JUTE_F(STR, jute_id, scheme), JUTE_F(STR, jute_id, id))
JUTE_TYPE(acl, JUTE_F(INT, jute_acl, perms), JUTE_FS(REC, jute_acl, id, id))
JUTE_TYPE(client_info, JUTE_F(STR, jute_client_info, auth_scheme),
	  JUTE_F(STR, jute_client_info, user))
JUTE_TYPE(request_header, JUTE_F(INT, jute_request_header, xid),
	  JUTE_F(INT, jute_request_header, type))
JUTE_TYPE(reply_header, JUTE_F(INT, jute_reply_header, xid),
	  JUTE_F(LONG, jute_reply_header, zxid), JUTE_F(INT, jute_reply_header, err))
JUTE_TYPE(watcher_event, JUTE_F(INT, jute_watcher_event, type),
	  JUTE_F(INT, jute_watcher_event, state), JUTE_F(STR, jute_watcher_event, path))
JUTE_TYPE(multi_header, JUTE_F(INT, jute_multi_header, type),
	  JUTE_F(BOOL, jute_multi_header, done), JUTE_F(INT, jute_multi_header, err))
/* ConnectRequest/Response without the optional trailing readOnly byte. */
JUTE_TYPE_AS(connect_request_base, jute_connect_request,
	     JUTE_F(INT, jute_connect_request, protocol_version),
	     JUTE_F(LONG, jute_connect_request, last_zxid_seen),
	     JUTE_F(INT, jute_connect_request, timeout),
	     JUTE_F(LONG, jute_connect_request, session_id),
	     JUTE_F(BYTES, jute_connect_request, passwd))
JUTE_TYPE_AS(connect_response_base, jute_connect_response,
	     JUTE_F(INT, jute_connect_response, protocol_version),
	     JUTE_F(INT, jute_connect_response, timeout),
	     JUTE_F(LONG, jute_connect_response, session_id),
	     JUTE_F(BYTES, jute_connect_response, passwd))

/* Requests. */
JUTE_TYPE(create_request, JUTE_F(STR, jute_create_request, path),
	  JUTE_F(BYTES, jute_create_request, data), JUTE_FS(VEC, jute_create_request, acl, acl),
	  JUTE_F(INT, jute_create_request, flags))
JUTE_TYPE(create_ttl_request, JUTE_F(STR, jute_create_ttl_request, path),
	  JUTE_F(BYTES, jute_create_ttl_request, data),
	  JUTE_FS(VEC, jute_create_ttl_request, acl, acl),
	  JUTE_F(INT, jute_create_ttl_request, flags), JUTE_F(LONG, jute_create_ttl_request, ttl))
JUTE_TYPE(delete_request, JUTE_F(STR, jute_delete_request, path),
	  JUTE_F(INT, jute_delete_request, version))
JUTE_TYPE(exists_request, JUTE_F(STR, jute_exists_request, path),
	  JUTE_F(BOOL, jute_exists_request, watch))
JUTE_TYPE(get_data_request, JUTE_F(STR, jute_get_data_request, path),
	  JUTE_F(BOOL, jute_get_data_request, watch))
JUTE_TYPE(set_data_request, JUTE_F(STR, jute_set_data_request, path),
	  JUTE_F(BYTES, jute_set_data_request, data), JUTE_F(INT, jute_set_data_request, version))
JUTE_TYPE(get_acl_request, JUTE_F(STR, jute_get_acl_request, path))
JUTE_TYPE(set_acl_request, JUTE_F(STR, jute_set_acl_request, path),
	  JUTE_FS(VEC, jute_set_acl_request, acl, acl), JUTE_F(INT, jute_set_acl_request, version))
JUTE_TYPE(get_children_request, JUTE_F(STR, jute_get_children_request, path),
	  JUTE_F(BOOL, jute_get_children_request, watch))
JUTE_TYPE(get_children2_request, JUTE_F(STR, jute_get_children2_request, path),
	  JUTE_F(BOOL, jute_get_children2_request, watch))
JUTE_TYPE(sync_request, JUTE_F(STR, jute_sync_request, path))
JUTE_TYPE(check_version_request, JUTE_F(STR, jute_check_version_request, path),
	  JUTE_F(INT, jute_check_version_request, version))
JUTE_TYPE(get_ephemerals_request, JUTE_F(STR, jute_get_ephemerals_request, prefix_path))
JUTE_TYPE(get_all_children_number_request,
	  JUTE_F(STR, jute_get_all_children_number_request, path))
JUTE_TYPE(set_watches, JUTE_F(LONG, jute_set_watches, relative_zxid),
	  JUTE_FS(VEC, jute_set_watches, data_watches, str_vec),
	  JUTE_FS(VEC, jute_set_watches, exist_watches, str_vec),
	  JUTE_FS(VEC, jute_set_watches, child_watches, str_vec))
JUTE_TYPE(set_watches2, JUTE_F(LONG, jute_set_watches2, relative_zxid),
	  JUTE_FS(VEC, jute_set_watches2, data_watches, str_vec),
	  JUTE_FS(VEC, jute_set_watches2, exist_watches, str_vec),
	  JUTE_FS(VEC, jute_set_watches2, child_watches, str_vec),
	  JUTE_FS(VEC, jute_set_watches2, persistent_watches, str_vec),
	  JUTE_FS(VEC, jute_set_watches2, persistent_recursive_watches, str_vec))
JUTE_TYPE(add_watch_request, JUTE_F(STR, jute_add_watch_request, path),
	  JUTE_F(INT, jute_add_watch_request, mode))
JUTE_TYPE(remove_watches_request, JUTE_F(STR, jute_remove_watches_request, path),
	  JUTE_F(INT, jute_remove_watches_request, type))
JUTE_TYPE(check_watches_request, JUTE_F(STR, jute_check_watches_request, path),
	  JUTE_F(INT, jute_check_watches_request, type))
JUTE_TYPE(auth_packet, JUTE_F(INT, jute_auth_packet, type),
	  JUTE_F(STR, jute_auth_packet, scheme), JUTE_F(BYTES, jute_auth_packet, auth))
JUTE_TYPE(get_sasl_request, JUTE_F(BYTES, jute_get_sasl_request, token))
JUTE_TYPE(reconfig_request, JUTE_F(STR, jute_reconfig_request, joining_servers),
	  JUTE_F(STR, jute_reconfig_request, leaving_servers),
	  JUTE_F(STR, jute_reconfig_request, new_members),
	  JUTE_F(LONG, jute_reconfig_request, cur_config_id))

/* Responses. */
JUTE_TYPE(create_response, JUTE_F(STR, jute_create_response, path))
JUTE_TYPE(create2_response, JUTE_F(STR, jute_create2_response, path),
	  JUTE_FS(REC, jute_create2_response, stat, stat))
JUTE_TYPE(exists_response, JUTE_FS(REC, jute_exists_response, stat, stat))
JUTE_TYPE(get_data_response, JUTE_F(BYTES, jute_get_data_response, data),
	  JUTE_FS(REC, jute_get_data_response, stat, stat))
JUTE_TYPE(set_data_response, JUTE_FS(REC, jute_set_data_response, stat, stat))
JUTE_TYPE(get_acl_response, JUTE_FS(VEC, jute_get_acl_response, acl, acl),
	  JUTE_FS(REC, jute_get_acl_response, stat, stat))
JUTE_TYPE(set_acl_response, JUTE_FS(REC, jute_set_acl_response, stat, stat))
JUTE_TYPE(get_children_response, JUTE_FS(VEC, jute_get_children_response, children, str_vec))
JUTE_TYPE(get_children2_response, JUTE_FS(VEC, jute_get_children2_response, children, str_vec),
	  JUTE_FS(REC, jute_get_children2_response, stat, stat))
JUTE_TYPE(sync_response, JUTE_F(STR, jute_sync_response, path))
JUTE_TYPE(get_all_children_number_response,
	  JUTE_F(INT, jute_get_all_children_number_response, total_number))
JUTE_TYPE(get_ephemerals_response,
	  JUTE_FS(VEC, jute_get_ephemerals_response, ephemerals, str_vec))
JUTE_TYPE(who_am_i_response, JUTE_FS(VEC, jute_who_am_i_response, client_info, client_info))
JUTE_TYPE(error_response, JUTE_F(INT, jute_error_response, err))
JUTE_TYPE(set_sasl_response, JUTE_F(BYTES, jute_set_sasl_response, token))

/* ---- Walkers ----------------------------------------------------------------------------- */

static void jute_vec_get(const void *field, int32_t *count, uint8_t **items)
{
	memcpy(count, (const uint8_t *)field + JUTE_VEC_COUNT, sizeof(*count));
	memcpy(items, (const uint8_t *)field + JUTE_VEC_ITEMS, sizeof(*items));
}

static void jute_vec_set(void *field, int32_t count, uint8_t *items)
{
	memcpy((uint8_t *)field + JUTE_VEC_COUNT, &count, sizeof(count));
	memcpy((uint8_t *)field + JUTE_VEC_ITEMS, &items, sizeof(items));
}

/* The fewest bytes one record of @type takes on the wire (empty strings and vectors). */
static size_t jute_min_size(const struct jute_type *type)
{
	static const size_t fixed[] = {[JUTE_INT] = 4, [JUTE_LONG] = 8, [JUTE_BOOL] = 1,
				       [JUTE_STR] = 4, [JUTE_BYTES] = 4, [JUTE_VEC] = 4};
	size_t n = 0;

	for (size_t i = 0; i < type->n_fields; i++) {
		const struct jute_field *f = &type->fields[i];
		n += f->kind == JUTE_REC ? jute_min_size(f->sub) : fixed[f->kind];
	}
	return n;
}

static int jute_vec_decode(struct jute_in *in, const struct jute_type *elem, void *field)
{
	int32_t count;
	uint8_t *items;
	int rc = jute_read_int(in, &count);

	if (rc != 0)
		return rc;
	/* Each element takes at least jute_min_size bytes: a count the rest of the frame
	 * cannot hold is refused before anything is allocated. A count below -1 is an empty
	 * vector, as ZooKeeper's BinaryInputArchive reads it (its index is done at once); -1 is
	 * a null one. */
	if (count < -1)
		count = 0;
	if (count > 0 && (size_t)count > jute_in_remaining(in) / jute_min_size(elem)) {
		zk_log_warn("jute: vector<%s> count %d with %zu bytes left", elem->name, count,
			    jute_in_remaining(in));
		return ZK_CORRUPT();
	}
	if (count <= 0) {
		jute_vec_set(field, count, NULL);
		return 0;
	}
	items = zk_calloc((size_t)count, elem->size);
	if (items == NULL)
		return -ENOMEM;
	jute_vec_set(field, count, items);
	for (int32_t i = 0; i < count; i++) {
		rc = jute_rec_decode(in, elem, items + (size_t)i * elem->size);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int jute_field_decode(struct jute_in *in, const struct jute_field *f, void *rec)
{
	uint8_t *p = (uint8_t *)rec + f->offset;

	switch (f->kind) {
	case JUTE_INT:
		return jute_read_int(in, (int32_t *)p);
	case JUTE_LONG:
		return jute_read_long(in, (int64_t *)p);
	case JUTE_BOOL:
		return jute_read_bool(in, (bool *)p);
	case JUTE_STR:
		return jute_read_string(in, (struct jute_str *)p);
	case JUTE_BYTES:
		return jute_read_buffer(in, (struct jute_bytes *)p);
	case JUTE_REC:
		return jute_rec_decode(in, f->sub, p);
	case JUTE_VEC:
		return jute_vec_decode(in, f->sub, p);
	}
	return ZK_CORRUPT();
}

int jute_rec_decode(struct jute_in *in, const struct jute_type *type, void *rec)
{
	int rc = 0;

	memset(rec, 0, type->size);
	for (size_t i = 0; i < type->n_fields && rc == 0; i++)
		rc = jute_field_decode(in, &type->fields[i], rec);
	if (rc != 0)
		jute_rec_free(type, rec);
	return rc;
}

static bool jute_type_has_vec(const struct jute_type *type)
{
	for (size_t i = 0; i < type->n_fields; i++) {
		const struct jute_field *f = &type->fields[i];
		if (f->kind == JUTE_VEC || (f->kind == JUTE_REC && jute_type_has_vec(f->sub)))
			return true;
	}
	return false;
}

void jute_rec_free(const struct jute_type *type, void *rec)
{
	for (size_t i = 0; i < type->n_fields; i++) {
		const struct jute_field *f = &type->fields[i];
		uint8_t *p = (uint8_t *)rec + f->offset;
		int32_t count;
		uint8_t *items;

		if (f->kind == JUTE_REC) {
			jute_rec_free(f->sub, p);
			continue;
		}
		if (f->kind != JUTE_VEC)
			continue;
		jute_vec_get(p, &count, &items);
		if (items != NULL && jute_type_has_vec(f->sub))
			for (int32_t j = 0; j < count; j++)
				jute_rec_free(f->sub, items + (size_t)j * f->sub->size);
		zk_free(items);
		jute_vec_set(p, 0, NULL);
	}
}

static size_t jute_field_size(const struct jute_field *f, const void *rec)
{
	const uint8_t *p = (const uint8_t *)rec + f->offset;
	int32_t count;
	uint8_t *items;
	size_t n;

	switch (f->kind) {
	case JUTE_INT:
		return 4;
	case JUTE_LONG:
		return 8;
	case JUTE_BOOL:
		return 1;
	case JUTE_STR:
		return jute_run_size(((const struct jute_str *)p)->len);
	case JUTE_BYTES:
		return jute_run_size(((const struct jute_bytes *)p)->len);
	case JUTE_REC:
		return jute_rec_size(f->sub, p);
	case JUTE_VEC:
		jute_vec_get(p, &count, &items);
		n = 4;
		for (int32_t i = 0; i < count; i++)
			n += jute_rec_size(f->sub, items + (size_t)i * f->sub->size);
		return n;
	}
	return 0;
}

size_t jute_rec_size(const struct jute_type *type, const void *rec)
{
	size_t n = 0;

	for (size_t i = 0; i < type->n_fields; i++)
		n += jute_field_size(&type->fields[i], rec);
	return n;
}

static void jute_field_put(struct zk_buf *out, const struct jute_field *f, const void *rec)
{
	const uint8_t *p = (const uint8_t *)rec + f->offset;
	int32_t count;
	uint8_t *items;

	switch (f->kind) {
	case JUTE_INT:
		jute_put_int(out, *(const int32_t *)p);
		return;
	case JUTE_LONG:
		jute_put_long(out, *(const int64_t *)p);
		return;
	case JUTE_BOOL:
		jute_put_bool(out, *(const bool *)p);
		return;
	case JUTE_STR:
		jute_put_run(out, ((const struct jute_str *)p)->p, ((const struct jute_str *)p)->len);
		return;
	case JUTE_BYTES:
		jute_put_run(out, ((const struct jute_bytes *)p)->p,
			     ((const struct jute_bytes *)p)->len);
		return;
	case JUTE_REC:
		jute_rec_put(out, f->sub, p);
		return;
	case JUTE_VEC:
		jute_vec_get(p, &count, &items);
		assert(count <= 0 || items != NULL);
		jute_put_int(out, count < 0 ? -1 : count);
		for (int32_t i = 0; i < count; i++)
			jute_rec_put(out, f->sub, items + (size_t)i * f->sub->size);
		return;
	}
}

void jute_rec_put(struct zk_buf *out, const struct jute_type *type, const void *rec)
{
	for (size_t i = 0; i < type->n_fields; i++)
		jute_field_put(out, &type->fields[i], rec);
}

int jute_rec_encode(struct zk_buf *out, const struct jute_type *type, const void *rec)
{
	int rc = zk_buf_reserve(out, jute_rec_size(type, rec));

	if (rc == 0)
		jute_rec_put(out, type, rec);
	return rc;
}

/* ---- Public per-record functions --------------------------------------------------------- */

#define JUTE_DEFINE_FUNCS(name)                                                          \
	int jute_decode_##name(struct jute_in *in, struct jute_##name *out)             \
	{                                                                                \
		return jute_rec_decode(in, &jute_type_##name, out);                     \
	}                                                                                \
	int jute_encode_##name(struct zk_buf *out, const struct jute_##name *rec)       \
	{                                                                                \
		return jute_rec_encode(out, &jute_type_##name, rec);                    \
	}
#define JUTE_DEFINE_FREE(name)                                 \
	void jute_##name##_free(struct jute_##name *rec)       \
	{                                                      \
		jute_rec_free(&jute_type_##name, rec);         \
	}

JUTE_DEFINE_FUNCS(request_header)
JUTE_DEFINE_FUNCS(reply_header)
JUTE_DEFINE_FUNCS(watcher_event)
JUTE_DEFINE_FUNCS(id)
JUTE_DEFINE_FUNCS(acl)
JUTE_DEFINE_FUNCS(multi_header)
JUTE_DEFINE_FUNCS(create_request)
JUTE_DEFINE_FUNCS(create_ttl_request)
JUTE_DEFINE_FUNCS(delete_request)
JUTE_DEFINE_FUNCS(exists_request)
JUTE_DEFINE_FUNCS(get_data_request)
JUTE_DEFINE_FUNCS(set_data_request)
JUTE_DEFINE_FUNCS(get_acl_request)
JUTE_DEFINE_FUNCS(set_acl_request)
JUTE_DEFINE_FUNCS(get_children_request)
JUTE_DEFINE_FUNCS(get_children2_request)
JUTE_DEFINE_FUNCS(sync_request)
JUTE_DEFINE_FUNCS(check_version_request)
JUTE_DEFINE_FUNCS(get_ephemerals_request)
JUTE_DEFINE_FUNCS(get_all_children_number_request)
JUTE_DEFINE_FUNCS(set_watches)
JUTE_DEFINE_FUNCS(set_watches2)
JUTE_DEFINE_FUNCS(add_watch_request)
JUTE_DEFINE_FUNCS(remove_watches_request)
JUTE_DEFINE_FUNCS(check_watches_request)
JUTE_DEFINE_FUNCS(auth_packet)
JUTE_DEFINE_FUNCS(get_sasl_request)
JUTE_DEFINE_FUNCS(reconfig_request)
JUTE_DEFINE_FUNCS(create_response)
JUTE_DEFINE_FUNCS(create2_response)
JUTE_DEFINE_FUNCS(exists_response)
JUTE_DEFINE_FUNCS(get_data_response)
JUTE_DEFINE_FUNCS(set_data_response)
JUTE_DEFINE_FUNCS(get_acl_response)
JUTE_DEFINE_FUNCS(set_acl_response)
JUTE_DEFINE_FUNCS(get_children_response)
JUTE_DEFINE_FUNCS(get_children2_response)
JUTE_DEFINE_FUNCS(sync_response)
JUTE_DEFINE_FUNCS(get_all_children_number_response)
JUTE_DEFINE_FUNCS(get_ephemerals_response)
JUTE_DEFINE_FUNCS(client_info)
JUTE_DEFINE_FUNCS(who_am_i_response)
JUTE_DEFINE_FUNCS(error_response)
JUTE_DEFINE_FUNCS(set_sasl_response)

JUTE_DEFINE_FREE(create_request)
JUTE_DEFINE_FREE(create_ttl_request)
JUTE_DEFINE_FREE(set_acl_request)
JUTE_DEFINE_FREE(set_watches)
JUTE_DEFINE_FREE(set_watches2)
JUTE_DEFINE_FREE(get_acl_response)
JUTE_DEFINE_FREE(get_children_response)
JUTE_DEFINE_FREE(get_children2_response)
JUTE_DEFINE_FREE(get_ephemerals_response)
JUTE_DEFINE_FREE(who_am_i_response)

void jute_acl_vec_free(struct jute_acl_vec *v)
{
	zk_free(v->acls);
	v->acls = NULL;
	v->count = 0;
}

void jute_str_vec_free(struct jute_str_vec *v)
{
	zk_free(v->items);
	v->items = NULL;
	v->count = 0;
}

int jute_read_stat(struct jute_in *in, struct zk_stat *out)
{
	return jute_rec_decode(in, &jute_type_stat, out);
}

int jute_write_stat(struct zk_buf *out, const struct zk_stat *st)
{
	return jute_rec_encode(out, &jute_type_stat, st);
}

/* ConnectRequest: the record, then readOnly only if a byte is left (clients before 3.4 do
 * not send it). */
int jute_decode_connect_request(struct jute_in *in, struct jute_connect_request *out)
{
	int rc = jute_rec_decode(in, &jute_type_connect_request_base, out);

	if (rc != 0 || jute_in_remaining(in) == 0)
		return rc;
	out->has_read_only = true;
	return jute_read_bool(in, &out->read_only);
}

/* A base record then, when @with_flag, one trailing bool (the readOnly of ConnectRequest and
 * ConnectResponse), reserved together. */
static int jute_encode_with_flag(struct zk_buf *out, const struct jute_type *type,
				 const void *rec, bool with_flag, bool flag)
{
	size_t n = jute_rec_size(type, rec);
	int rc = zk_buf_reserve(out, n + (with_flag ? 1 : 0));

	if (rc != 0)
		return rc;
	jute_rec_put(out, type, rec);
	if (with_flag)
		jute_put_bool(out, flag);
	return 0;
}

int jute_encode_connect_request(struct zk_buf *out, const struct jute_connect_request *rec)
{
	return jute_encode_with_flag(out, &jute_type_connect_request_base, rec,
				     rec->has_read_only, rec->read_only);
}

int jute_decode_connect(const void *body, size_t len, struct jute_connect_request *out)
{
	struct jute_in in;
	int rc;

	jute_in_init(&in, body, len);
	rc = jute_decode_connect_request(&in, out);
	if (rc == 0 && jute_in_remaining(&in) != 0) {
		zk_log_hex(ZK_LOG_LEVEL_WARN, __FILE__, __LINE__, body, len,
			   "jute: %zu bytes after ConnectRequest:", jute_in_remaining(&in));
		rc = ZK_CORRUPT();
	}
	return rc;
}

int jute_decode_connect_response(struct jute_in *in, struct jute_connect_response *out)
{
	int rc = jute_rec_decode(in, &jute_type_connect_response_base, out);

	if (rc != 0)
		return rc;
	if (jute_in_remaining(in) == 0) {
		out->omit_read_only = true;
		return 0;
	}
	return jute_read_bool(in, &out->read_only);
}

int jute_encode_connect_response(struct zk_buf *out, const struct jute_connect_response *rec)
{
	return jute_encode_with_flag(out, &jute_type_connect_response_base, rec,
				     !rec->omit_read_only, rec->read_only);
}
