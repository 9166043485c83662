/* zk_alloc: see zk_alloc.h. */
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"

struct zk_fault {
	int countdown; /* Allocations left before the first failure; 0 = disarmed. */
	int repeat;    /* Failures still to make after the first; -1 = forever. */
	int fired;     /* Failures made since armed. */
	bool failing;  /* The countdown reached zero. */
};

static struct zk_fault fault;

void zk_alloc_fault_set(int countdown, int repeat)
{
	fault.countdown = countdown;
	fault.repeat = repeat;
	fault.fired = 0;
	fault.failing = false;
}

int zk_alloc_fault_fired(void)
{
	return fault.fired;
}

/* True when this allocation must fail. */
static bool fault_tick(void)
{
	if (fault.failing) {
		if (fault.repeat == 0)
			return false;
		if (fault.repeat > 0)
			fault.repeat--;
		fault.fired++;
		return true;
	}
	if (fault.countdown <= 0)
		return false;
	if (--fault.countdown > 0)
		return false;
	fault.failing = true;
	fault.fired++;
	return true;
}

void *zk_malloc(size_t size)
{
	return fault_tick() ? NULL : malloc(size);
}

void *zk_calloc(size_t count, size_t size)
{
	return fault_tick() ? NULL : calloc(count, size);
}

void *zk_realloc(void *ptr, size_t size)
{
	return fault_tick() ? NULL : realloc(ptr, size);
}

char *zk_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *copy = zk_malloc(len + 1);

	if (copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

char *zk_strdup(const char *s)
{
	return zk_strndup(s, strlen(s));
}

void zk_free(void *ptr)
{
	free(ptr);
}

static void *protobuf_alloc(void *data, size_t size)
{
	(void)data;
	return zk_malloc(size);
}

static void protobuf_free(void *data, void *ptr)
{
	(void)data;
	zk_free(ptr);
}

struct ProtobufCAllocator *zk_alloc_protobuf(void)
{
	static ProtobufCAllocator allocator = {protobuf_alloc, protobuf_free, NULL};
	return &allocator;
}
