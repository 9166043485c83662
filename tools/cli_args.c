/* cli_args: the word splitting of interactive lines and multi files, a small subset of the
 * POSIX shell's: blanks separate words, quotes group, backslash escapes. */
#include <stdlib.h>

#include "tools/cli.h"

/* Scan one word starting at @p, unquoting it in place. Returns the character after it, or
 * NULL on an unterminated quote; *@end is where the (shorter) word ends. */
static char *cli_word(char *p, char **end)
{
	char *out = p, quote = 0;

	for (; *p != '\0'; p++) {
		if (quote == 0 && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			break;
		if (quote == 0 && (*p == '\'' || *p == '"')) {
			quote = *p;
		} else if (quote != 0 && *p == quote) {
			quote = 0;
		} else if (*p == '\\' && quote != '\'' && p[1] != '\0') {
			*out++ = *++p;
		} else {
			*out++ = *p;
		}
	}
	*end = out;
	return quote != 0 ? NULL : p;
}

int cli_split(char *line, char ***argv)
{
	char **words = NULL, **grown, *p = line, *end;
	int n = 0, cap = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		if (n + 2 > cap) {
			cap = cap == 0 ? 8 : cap * 2;
			grown = realloc(words, (size_t)cap * sizeof(*words));
			if (grown == NULL)
				goto err;
			words = grown;
		}
		words[n++] = p;
		p = cli_word(p, &end);
		if (p == NULL)
			goto err;
		if (*p != '\0')
			p++;
		*end = '\0';
	}
	if (words == NULL && (words = malloc(sizeof(*words))) == NULL)
		return -1;
	words[n] = NULL;
	*argv = words;
	return n;

err:
	free(words);
	return -1;
}
