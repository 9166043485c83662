/* zk_alloc: the one allocator of store/, proto/ and replication/, with a fault hook.
 *
 * Those modules allocate only through zk_malloc/zk_calloc/zk_realloc/zk_strdup/zk_free and
 * return -ENOMEM when one fails. Tests arm a fault (zk_alloc_fault_set) so that allocation
 * number @countdown fails, then @repeat more after it (-1: every later one), and check the code
 * path returns -ENOMEM with nothing changed and nothing leaked (STYLE.md §9). The same hooks are
 * handed to libuv (uv_replace_allocator), libraft (raft_heap_set) and protobuf-c
 * (zk_alloc_protobuf). The fault state is process-wide: tests are single-threaded. */
#ifndef ZK_ALLOC_H
#define ZK_ALLOC_H

#include <stddef.h>

struct ProtobufCAllocator;

void *zk_malloc(size_t size);
void *zk_calloc(size_t count, size_t size);
void *zk_realloc(void *ptr, size_t size);
char *zk_strdup(const char *s);
char *zk_strndup(const char *s, size_t n);
void zk_free(void *ptr);

/* Fail the @countdown-th allocation from now (1 = the next one), and @repeat more after it
 * (-1 = all later ones). zk_alloc_fault_set(0, 0) disarms. */
void zk_alloc_fault_set(int countdown, int repeat);

/* Number of allocations that failed on purpose since the last zk_alloc_fault_set. */
int zk_alloc_fault_fired(void);

/* A protobuf-c allocator that goes through zk_malloc/zk_free (static storage, never freed). */
struct ProtobufCAllocator *zk_alloc_protobuf(void);

#endif
