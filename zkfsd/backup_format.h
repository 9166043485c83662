/* backup_format: the file of a backup (GET /commands/snapshot?streaming=true, zkfs-cli
 * backup, zkfsd restore): a store image (store_snapshot_write's bytes, as libraft stores
 * them) with the zxid it was taken at, checksummed in blocks so damage is reported with its
 * byte offset.
 *
 *   0   "ZKFSBAK1"                      magic
 *   8   zxid                            u64, big-endian: the image's last applied zxid
 *   16  image length N                  u64, big-endian
 *   24  CRC32C of bytes 0..23           u32, big-endian
 *   28  the image in blocks of BACKUP_BLOCK bytes (the last one shorter), each followed by
 *       the CRC32C of its bytes (u32, big-endian)
 *
 * Pure functions, any thread; compiled into zkfsd and zkfs-cli. */
#ifndef ZKFSD_BACKUP_FORMAT_H
#define ZKFSD_BACKUP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "common/zk_buf.h"

#define BACKUP_MAGIC "ZKFSBAK1"
#define BACKUP_HEADER 28
#define BACKUP_BLOCK 65536

/* Bytes of a backup holding an image of @image_len bytes. */
uint64_t backup_size(uint64_t image_len);

/* Append the backup of the @len-byte @image taken at @zxid to @out. Returns 0 or -ENOMEM
 * (@out then keeps what it had). */
int backup_encode(struct zk_buf *out, uint64_t zxid, const void *image, size_t len);

/* Check the @len bytes at @p. Returns 0 with *@zxid and *@image_len set, or -EBADMSG with
 * @err (@err_len bytes) naming the first damage and its byte offset: bad magic, header CRC,
 * a block's CRC, a truncated or over-long file. */
int backup_check(const uint8_t *p, size_t len, uint64_t *zxid, uint64_t *image_len, char *err,
		 size_t err_len);

/* Append the image of the checked backup at @p to @out (blocks without their CRCs).
 * Must be called after backup_check returned 0 on the same bytes. Returns 0 or -ENOMEM. */
int backup_image(const uint8_t *p, size_t len, struct zk_buf *out);

#endif
