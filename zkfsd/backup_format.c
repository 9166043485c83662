/* backup_format: see backup_format.h. CRC32C is store_crc32c (store/digest.c), the checksum of
 * the snapshots themselves. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/zk_buf.h"
#include "store/store.h"
#include "zkfsd/backup_format.h"

uint64_t backup_size(uint64_t image_len)
{
	return BACKUP_HEADER + image_len + 4 * ((image_len + BACKUP_BLOCK - 1) / BACKUP_BLOCK);
}

int backup_encode(struct zk_buf *out, uint64_t zxid, const void *image, size_t len)
{
	size_t start = out->len;
	const uint8_t *p = image;
	int rv = zk_buf_reserve(out, (size_t)backup_size(len));

	if (rv == 0)
		rv = zk_buf_append(out, BACKUP_MAGIC, 8);
	if (rv == 0)
		rv = zk_buf_append_be64(out, zxid);
	if (rv == 0)
		rv = zk_buf_append_be64(out, len);
	if (rv == 0)
		rv = zk_buf_append_be32(out, store_crc32c(0, out->data + start, 24));
	for (size_t off = 0; rv == 0 && off < len; off += BACKUP_BLOCK) {
		size_t n = len - off < BACKUP_BLOCK ? len - off : BACKUP_BLOCK;

		rv = zk_buf_append(out, p + off, n);
		if (rv == 0)
			rv = zk_buf_append_be32(out, store_crc32c(0, p + off, n));
	}
	if (rv != 0)
		out->len = start;
	return rv;
}

int backup_check(const uint8_t *p, size_t len, uint64_t *zxid, uint64_t *image_len, char *err,
		 size_t err_len)
{
	uint64_t n, want, off = BACKUP_HEADER, pos = 0;

	if (len < BACKUP_HEADER) {
		snprintf(err, err_len, "truncated at byte %zu (a header is %d bytes)", len,
			 BACKUP_HEADER);
		return -EBADMSG;
	}
	if (memcmp(p, BACKUP_MAGIC, 8) != 0) {
		snprintf(err, err_len, "not a zkfsd backup: bad magic at byte 0");
		return -EBADMSG;
	}
	if (store_crc32c(0, p, 24) != zk_get_be32(p + 24)) {
		snprintf(err, err_len, "header CRC mismatch (bytes 0-23, CRC at byte 24)");
		return -EBADMSG;
	}
	n = zk_get_be64(p + 16);
	want = n > UINT64_MAX / 2 ? 0 : backup_size(n);
	if (want != len) {
		snprintf(err, err_len, "%zu bytes where the header says %" PRIu64
			 " (truncated or extended at byte %" PRIu64 ")", len, want,
			 len < want ? (uint64_t)len : want);
		return -EBADMSG;
	}
	while (pos < n) {
		uint64_t b = n - pos < BACKUP_BLOCK ? n - pos : BACKUP_BLOCK;

		if (store_crc32c(0, p + off, (size_t)b) != zk_get_be32(p + off + b)) {
			snprintf(err, err_len, "CRC mismatch in the block at byte %" PRIu64
				 " (%" PRIu64 " bytes)", off, b);
			return -EBADMSG;
		}
		off += b + 4;
		pos += b;
	}
	*zxid = zk_get_be64(p + 8);
	*image_len = n;
	return 0;
}

int backup_image(const uint8_t *p, size_t len, struct zk_buf *out)
{
	uint64_t n = zk_get_be64(p + 16), off = BACKUP_HEADER;
	int rv = zk_buf_reserve(out, (size_t)n);

	(void)len;
	for (uint64_t pos = 0; rv == 0 && pos < n;) {
		uint64_t b = n - pos < BACKUP_BLOCK ? n - pos : BACKUP_BLOCK;

		rv = zk_buf_append(out, p + off, (size_t)b);
		off += b + 4;
		pos += b;
	}
	return rv;
}
