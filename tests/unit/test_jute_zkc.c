/* Cross-check of proto/jute against the ZooKeeper C client's own serializers (the
 * serialize_* functions generated from zookeeper.jute into libzookeeper_mt, with the buffer
 * oarchive of recordio.h): for each record both encoders must produce the same bytes. An
 * independent implementation, so a field-order or width mistake in our tables shows here.
 * Those symbols are only in the static libzookeeper_mt.a; only this test links it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zookeeper/recordio.h>
#include <zookeeper/zookeeper.jute.h>

#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "proto/jute.h"

#define STR(s) ((struct jute_str){(s), (int32_t)sizeof(s) - 1})
#define BYTES(s) ((struct jute_bytes){(const uint8_t *)(s), (int32_t)sizeof(s) - 1})
#define CBUF(s) ((struct buffer){(int32_t)sizeof(s) - 1, (char *)(s)})

/* Encode @rec with ours and with the C client's serializer: same bytes. */
#define SAME_BYTES(ours_fn, ours_rec, zkc_fn, zkc_rec)                                     \
	do {                                                                               \
		struct zk_buf b_;                                                          \
		struct oarchive *oa_ = create_buffer_oarchive();                           \
		zk_buf_init(&b_);                                                          \
		assert_int_equal(ours_fn(&b_, &(ours_rec)), 0);                            \
		assert_int_equal(zkc_fn(oa_, "rec", &(zkc_rec)), 0);                       \
		assert_int_equal(b_.len, (size_t)get_buffer_len(oa_));                     \
		assert_memory_equal(b_.data, get_buffer(oa_), b_.len);                     \
		close_buffer_oarchive(&oa_, 1);                                            \
		zk_buf_close(&b_);                                                         \
	} while (0)

static struct jute_acl our_acls[] = {{31, {STR("world"), STR("anyone")}},
				     {1, {STR("digest"), STR("bob:h0Vc=")}}};
static struct ACL zkc_acls[] = {{31, {"world", "anyone"}}, {1, {"digest", "bob:h0Vc="}}};
static struct jute_str our_names[] = {STR("/a"), STR("/b/c")};
static char *zkc_names[] = {"/a", "/b/c"};

static const struct zk_stat our_stat = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const struct Stat zkc_stat = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

/* Session set-up and headers. */
static void test_zkc_session_records(void **state)
{
	static const char pw[16] = "0123456789abcdef";
	struct jute_connect_request ocr = {0, 0x100000002LL, 30000, 0x42, {(const uint8_t *)pw, 16},
					   false, false};
	struct ConnectRequest zcr = {0, 0x100000002LL, 30000, 0x42, {16, (char *)pw}};
	struct jute_connect_response ors = {0, 4000, 0x42, {(const uint8_t *)pw, 16}, false, true};
	struct ConnectResponse zrs = {0, 4000, 0x42, {16, (char *)pw}};
	struct jute_request_header orh = {-2, 11};
	struct RequestHeader zrh = {-2, 11};
	struct jute_reply_header oph = {9, 0x7fff000000000001LL, -110};
	struct ReplyHeader zph = {9, 0x7fff000000000001LL, -110};
	struct jute_watcher_event owe = {4, 3, STR("/parent")};
	struct WatcherEvent zwe = {4, 3, "/parent"};
	struct jute_auth_packet oap = {0, STR("digest"), BYTES("bob:secret")};
	struct AuthPacket zap = {0, "digest", CBUF("bob:secret")};
	struct jute_multi_header omh = {-1, true, -1};
	struct MultiHeader zmh = {-1, 1, -1};

	(void)state;
	SAME_BYTES(jute_encode_connect_request, ocr, serialize_ConnectRequest, zcr);
	SAME_BYTES(jute_encode_connect_response, ors, serialize_ConnectResponse, zrs);
	SAME_BYTES(jute_encode_request_header, orh, serialize_RequestHeader, zrh);
	SAME_BYTES(jute_encode_reply_header, oph, serialize_ReplyHeader, zph);
	SAME_BYTES(jute_encode_watcher_event, owe, serialize_WatcherEvent, zwe);
	SAME_BYTES(jute_encode_auth_packet, oap, serialize_AuthPacket, zap);
	SAME_BYTES(jute_encode_multi_header, omh, serialize_MultiHeader, zmh);
}

/* Write requests. */
static void test_zkc_write_requests(void **state)
{
	struct jute_create_request ocr = {STR("/n"), BYTES("v"), {2, our_acls}, 3};
	struct CreateRequest zcr = {"/n", CBUF("v"), {2, zkc_acls}, 3};
	struct jute_create_ttl_request ott = {STR("/t"), {NULL, -1}, {1, our_acls}, 5, 99999};
	struct CreateTTLRequest ztt = {"/t", {-1, NULL}, {1, zkc_acls}, 5, 99999};
	struct jute_delete_request odr = {STR("/d"), 7};
	struct DeleteRequest zdr = {"/d", 7};
	struct jute_set_data_request osd = {STR("/s"), BYTES("data"), -1};
	struct SetDataRequest zsd = {"/s", CBUF("data"), -1};
	struct jute_set_acl_request osa = {STR("/a"), {2, our_acls}, 4};
	struct SetACLRequest zsa = {"/a", {2, zkc_acls}, 4};
	struct jute_check_version_request ocv = {STR("/c"), 2};
	struct CheckVersionRequest zcv = {"/c", 2};
	struct jute_reconfig_request orc = {STR("server.5=h:1:2;3"), STR("4"), STR(""), 0x10};
	struct ReconfigRequest zrc = {"server.5=h:1:2;3", "4", "", 0x10};

	(void)state;
	SAME_BYTES(jute_encode_create_request, ocr, serialize_CreateRequest, zcr);
	SAME_BYTES(jute_encode_create_ttl_request, ott, serialize_CreateTTLRequest, ztt);
	SAME_BYTES(jute_encode_delete_request, odr, serialize_DeleteRequest, zdr);
	SAME_BYTES(jute_encode_set_data_request, osd, serialize_SetDataRequest, zsd);
	SAME_BYTES(jute_encode_set_acl_request, osa, serialize_SetACLRequest, zsa);
	SAME_BYTES(jute_encode_check_version_request, ocv, serialize_CheckVersionRequest, zcv);
	SAME_BYTES(jute_encode_reconfig_request, orc, serialize_ReconfigRequest, zrc);
}

/* Read and watch requests. */
static void test_zkc_read_requests(void **state)
{
	struct jute_exists_request oex = {STR("/e"), true};
	struct ExistsRequest zex = {"/e", 1};
	struct jute_get_data_request ogd = {STR("/g"), false};
	struct GetDataRequest zgd = {"/g", 0};
	struct jute_get_acl_request oga = {STR("/ga")};
	struct GetACLRequest zga = {"/ga"};
	struct jute_get_children_request ogc = {STR("/c"), true};
	struct GetChildrenRequest zgc = {"/c", 1};
	struct jute_get_children2_request ogc2 = {STR("/c2"), false};
	struct GetChildren2Request zgc2 = {"/c2", 0};
	struct jute_sync_request osy = {STR("/")};
	struct SyncRequest zsy = {"/"};
	struct jute_get_ephemerals_request oge = {STR("/p")};
	struct GetEphemeralsRequest zge = {"/p"};
	struct jute_get_all_children_number_request ogn = {STR("/n")};
	struct GetAllChildrenNumberRequest zgn = {"/n"};
	struct jute_set_watches osw = {77, {2, our_names}, {0, NULL}, {1, our_names}};
	struct SetWatches zsw = {77, {2, zkc_names}, {0, NULL}, {1, zkc_names}};
	struct jute_set_watches2 osw2 = {78, {1, our_names}, {2, our_names}, {0, NULL},
					 {1, our_names}, {2, our_names}};
	struct SetWatches2 zsw2 = {78, {1, zkc_names}, {2, zkc_names}, {0, NULL},
				   {1, zkc_names}, {2, zkc_names}};
	struct jute_add_watch_request oaw = {STR("/w"), 1};
	struct AddWatchRequest zaw = {"/w", 1};
	struct jute_remove_watches_request orw = {STR("/w"), 2};
	struct RemoveWatchesRequest zrw = {"/w", 2};
	struct jute_check_watches_request ocw = {STR("/w"), 3};
	struct CheckWatchesRequest zcw = {"/w", 3};

	(void)state;
	SAME_BYTES(jute_encode_exists_request, oex, serialize_ExistsRequest, zex);
	SAME_BYTES(jute_encode_get_data_request, ogd, serialize_GetDataRequest, zgd);
	SAME_BYTES(jute_encode_get_acl_request, oga, serialize_GetACLRequest, zga);
	SAME_BYTES(jute_encode_get_children_request, ogc, serialize_GetChildrenRequest, zgc);
	SAME_BYTES(jute_encode_get_children2_request, ogc2, serialize_GetChildren2Request, zgc2);
	SAME_BYTES(jute_encode_sync_request, osy, serialize_SyncRequest, zsy);
	SAME_BYTES(jute_encode_get_ephemerals_request, oge, serialize_GetEphemeralsRequest, zge);
	SAME_BYTES(jute_encode_get_all_children_number_request, ogn,
		   serialize_GetAllChildrenNumberRequest, zgn);
	SAME_BYTES(jute_encode_set_watches, osw, serialize_SetWatches, zsw);
	SAME_BYTES(jute_encode_set_watches2, osw2, serialize_SetWatches2, zsw2);
	SAME_BYTES(jute_encode_add_watch_request, oaw, serialize_AddWatchRequest, zaw);
	SAME_BYTES(jute_encode_remove_watches_request, orw, serialize_RemoveWatchesRequest, zrw);
	SAME_BYTES(jute_encode_check_watches_request, ocw, serialize_CheckWatchesRequest, zcw);
}

/* Responses a server sends. */
static void test_zkc_responses(void **state)
{
	struct jute_client_info oci[] = {{STR("ip"), STR("127.0.0.1")}, {STR("digest"), STR("bob")}};
	struct ClientInfo zci[] = {{"ip", "127.0.0.1"}, {"digest", "bob"}};
	struct jute_create_response ocr = {STR("/q0000000007")};
	struct CreateResponse zcr = {"/q0000000007"};
	struct jute_create2_response oc2 = {STR("/x"), our_stat};
	struct Create2Response zc2 = {"/x", zkc_stat};
	struct jute_exists_response oex = {our_stat};
	struct ExistsResponse zex = {zkc_stat};
	struct jute_get_data_response ogd = {BYTES("hello"), our_stat};
	struct GetDataResponse zgd = {CBUF("hello"), zkc_stat};
	struct jute_set_data_response osd = {our_stat};
	struct SetDataResponse zsd = {zkc_stat};
	struct jute_get_acl_response oga = {{2, our_acls}, our_stat};
	struct GetACLResponse zga = {{2, zkc_acls}, zkc_stat};
	struct jute_get_children2_response ogc = {{2, our_names}, our_stat};
	struct GetChildren2Response zgc = {{2, zkc_names}, zkc_stat};
	struct jute_get_ephemerals_response oge = {{2, our_names}};
	struct GetEphemeralsResponse zge = {{2, zkc_names}};
	struct jute_get_all_children_number_response ogn = {1234};
	struct GetAllChildrenNumberResponse zgn = {1234};
	struct jute_who_am_i_response owh = {{2, oci}};
	struct WhoAmIResponse zwh = {{2, zci}};
	struct jute_error_response oer = {-101};
	struct ErrorResponse zer = {-101};

	(void)state;
	SAME_BYTES(jute_encode_create_response, ocr, serialize_CreateResponse, zcr);
	SAME_BYTES(jute_encode_create2_response, oc2, serialize_Create2Response, zc2);
	SAME_BYTES(jute_encode_exists_response, oex, serialize_ExistsResponse, zex);
	SAME_BYTES(jute_encode_get_data_response, ogd, serialize_GetDataResponse, zgd);
	SAME_BYTES(jute_encode_set_data_response, osd, serialize_SetDataResponse, zsd);
	SAME_BYTES(jute_encode_get_acl_response, oga, serialize_GetACLResponse, zga);
	SAME_BYTES(jute_encode_get_children2_response, ogc, serialize_GetChildren2Response, zgc);
	SAME_BYTES(jute_encode_get_ephemerals_response, oge, serialize_GetEphemeralsResponse, zge);
	SAME_BYTES(jute_encode_get_all_children_number_response, ogn,
		   serialize_GetAllChildrenNumberResponse, zgn);
	SAME_BYTES(jute_encode_who_am_i_response, owh, serialize_WhoAmIResponse, zwh);
	SAME_BYTES(jute_encode_error_response, oer, serialize_ErrorResponse, zer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zkc_session_records),
		cmocka_unit_test(test_zkc_write_requests),
		cmocka_unit_test(test_zkc_read_requests),
		cmocka_unit_test(test_zkc_responses),
	};

	zk_log_open(NULL, ZK_LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
