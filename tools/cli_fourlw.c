/* cli_fourlw: four-letter words (ZooKeeper Administrator's Guide, "ZooKeeper Commands: The Four
 * Letter Words") sent as is to the first reachable server, its answer copied to stdout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tools/cli.h"

/* Words accepted directly as commands; `4lw WORD` sends any other ("stat" is the znode
 * command, so the word stat goes through `4lw stat`). dgst is zkfsd's tree digest. */
static const char *const cli_words[] = {"ruok", "srvr", "mntr", "conf", "cons", "crst",
					"dump", "envi", "srst", "wchs", "wchc", "wchp",
					"isro", "dirs", "dgst"};

bool cli_fourlw_known(const char *word)
{
	for (size_t i = 0; i < sizeof(cli_words) / sizeof(cli_words[0]); i++) {
		if (strcmp(word, cli_words[i]) == 0)
			return true;
	}
	return false;
}

int cli_fourlw(struct cli *c, const char *word)
{
	char buf[4096];
	ssize_t n;
	char last = '\n';
	struct timeval tv = {.tv_sec = c->connect_ms / 1000, .tv_usec = c->connect_ms % 1000 * 1000};
	int fd;

	if (strlen(word) != 4) {
		fprintf(stderr, "zkfs-cli: \"%s\" is not a four-letter word\n", word);
		return CLI_EXIT_USAGE;
	}
	fd = zkclient_tcp_connect(c->hosts, c->connect_ms);
	if (fd < 0) {
		fprintf(stderr, "zkfs-cli: %s: cannot connect to %s: %s\n", word, c->hosts,
			strerror(errno));
		return CLI_EXIT_CONNECTION;
	}
	/* A server that accepts but never answers must not hang a script. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, word, 4) != 4) {
		fprintf(stderr, "zkfs-cli: %s: %s\n", word, strerror(errno));
		close(fd);
		return CLI_EXIT_IO;
	}
	/* The server answers and closes; a reset after the answer is still an answer. */
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		last = buf[n - 1];
	}
	close(fd);
	if (last != '\n')
		putchar('\n');
	return CLI_EXIT_OK;
}
