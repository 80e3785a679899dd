/*
 * The demo application. For now it shows the library identifying itself and
 * logging the way an lws application does; the server milestones turn it into
 * an HTTP and WebSocket server.
 *
 *   demo [-d LOGLEVEL]    LOGLEVEL is a mask of LLL_* bits (default 7)
 */
#include <libwebsockets.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	int level = LLL_ERR | LLL_WARN | LLL_NOTICE;

	if (argc == 3 && !strcmp(argv[1], "-d"))
		level = atoi(argv[2]);
	lws_set_log_level(level, NULL);

	printf("libwebsockets %s (API %s, LWS_PRE %d)\n", lws_get_library_version(),
	       LWS_LIBRARY_VERSION, LWS_PRE);
	lwsl_notice("demo: log level mask 0x%x\n", level);
	lwsl_warn("demo: a warning, as lwsl_warn() logs it\n");
	lwsl_err("demo: an error, as lwsl_err() logs it\n");
	_lws_log(LLL_INFO, "demo: an info line (shown with -d 15)\n");

	return 0;
}
