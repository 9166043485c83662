/* Unit tests of fuse/authfile.c: the parser of -o auth_file= (lines, comments, limits) and the
 * file checks (owner, mode, kind). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fuse/authfile.h"

/* Parse @text; on success compare with @want, on failure the reason must contain @want. */
static void parse_gives(const char *text, int want_rc, const char *want)
{
	char err[256] = "", *out = NULL;
	int rc = authfile_parse(text, &out, err, sizeof(err));

	assert_int_equal(rc, want_rc);
	if (rc == 0)
		assert_string_equal(out, want);
	else
		assert_non_null(strstr(err, want));
	free(out);
}

static void test_lines(void **state)
{
	parse_gives("digest:alice:secret\n", 0, "digest:alice:secret\n");
	parse_gives("# who\n\n  digest:a:b \t\r\nip:10.0.0.1", 0, "digest:a:b\nip:10.0.0.1\n");
	parse_gives("digest:a:b c", 0, "digest:a:b c\n"); /* The credential is taken as is. */
}

static void test_refused(void **state)
{
	char many[32 * 16] = "";

	parse_gives("", -1, "no SCHEME:CREDENTIAL line");
	parse_gives("# only\n\n", -1, "no SCHEME:CREDENTIAL line");
	parse_gives("digest:a:b\nalice pw\n", -1, "line 2:");
	parse_gives(":cred\n", -1, "line 1:");
	parse_gives("digest:\n", -1, "line 1:");
	parse_gives("di gest:x\n", -1, "line 1:");
	for (int i = 0; i < AUTHFILE_MAX_IDS + 1; i++)
		strcat(many, "digest:a:b\n");
	parse_gives(many, -1, "more than 16");
}

static void test_long_line(void **state)
{
	char *text = malloc(AUTHFILE_MAX_LINE + 16);

	strcpy(text, "digest:");
	memset(text + 7, 'x', AUTHFILE_MAX_LINE);
	text[AUTHFILE_MAX_LINE + 7] = '\0';
	parse_gives(text, -1, "longer than");
	free(text);
}

/* A file the test writes with @mode; returns its path (static). */
static const char *file_with(mode_t mode, const char *text)
{
	static char path[] = "/tmp/test_authfile.XXXXXX";
	int fd;

	strcpy(path, "/tmp/test_authfile.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void test_file_checks(void **state)
{
	char err[256] = "", *out = NULL;
	const char *path = file_with(0644, "digest:a:b\n");

	assert_int_equal(authfile_read(path, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0600 or stricter"));
	unlink(path);
	path = file_with(0600, "digest:a:b\n");
	if (geteuid() == 0) {
		assert_int_equal(authfile_read(path, &out, err, sizeof(err)), 0);
		assert_string_equal(out, "digest:a:b\n");
		free(out);
	} else { /* Not root's own. */
		assert_int_equal(authfile_read(path, &out, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "owned by root"));
	}
	unlink(path);
	assert_int_equal(authfile_read("/", &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(authfile_read("/nonexistent/auth", &out, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_file_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
