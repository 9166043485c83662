/* replay: run a fuzz target's entry point over every file of its seed corpus (or of the
 * files and directories given as arguments), without libFuzzer, so `make check` catches a
 * regression on inputs that once mattered. Exit 0 when all ran (a broken invariant aborts). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0;
	size_t cap = 0;
	size_t n;

	if (fp == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *p = realloc(data, cap = cap ? cap * 2 : 4096);
			if (p == NULL) {
				free(data);
				fclose(fp);
				return -1;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int replay_path(const char *path, int *count)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	d = opendir(path);
	if (d == NULL)
		return -1;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char sub[4096];
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rc = replay_path(sub, count);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	int count = 0;
	int rc = 0;

	if (argc < 2)
		rc = replay_path(FUZZ_CORPUS_DIR, &count);
	for (int i = 1; i < argc && rc == 0; i++)
		rc = replay_path(argv[i], &count);
	if (rc == 0 && count == 0) {
		fprintf(stderr, "replay: no input found\n");
		rc = -1;
	}
	if (rc == 0)
		printf("replayed %d inputs\n", count);
	return rc == 0 ? 0 : 1;
}
