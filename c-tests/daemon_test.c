/*
 * lws_daemonize as a server uses it:
 *
 *   daemon_test LOCKFILE REPORT SECONDS
 *
 * daemonizes with LOCKFILE, then (in the daemon) writes REPORT with what the
 * test checks (pid, session, cwd, where stdio points) and lives SECONDS before
 * exiting normally.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void
fd_target(int fd, char *out, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, out, len - 1);
	out[n < 0 ? 0 : n] = '\0';
}

int
main(int argc, char **argv)
{
	char cwd[PATH_MAX], fd0[PATH_MAX], fd1[PATH_MAX], fd2[PATH_MAX];
	mode_t mask;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: daemon_test LOCKFILE REPORT SECONDS\n");
		return 2;
	}
	if (lws_daemonize(argv[1])) {
		fprintf(stderr, "lws_daemonize failed\n");
		return 3;
	}
	mask = umask(0);
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "?");
	fd_target(0, fd0, sizeof(fd0));
	fd_target(1, fd1, sizeof(fd1));
	fd_target(2, fd2, sizeof(fd2));
	f = fopen(argv[2], "w");
	if (!f)
		return 4;
	fprintf(f, "pid=%d\nsid=%d\ncwd=%s\numask=%o\nfd0=%s\nfd1=%s\nfd2=%s\n",
		(int)getpid(), (int)getsid(0), cwd, (unsigned int)mask, fd0, fd1, fd2);
	fclose(f);
	sleep((unsigned int)atoi(argv[3]));
	return 0;
}
