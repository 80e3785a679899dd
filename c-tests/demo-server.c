/*
 * The demo server: an lws 2.0 application serving its own page and static
 * files over HTTP (the WebSocket parts arrive with the WebSocket milestone).
 *
 *   demo-server [-p PORT] [-r RESOURCE_DIR] [-d LOGLEVEL]
 *
 * Defaults: port 7681, resources from ./c-tests/demo, log level 7.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int force_exit;
static const char *resource_path = "c-tests/demo";

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	char path[512], peer[64];
	const char *uri = (const char *)in, *mimetype;
	int n;

	(void)user;
	(void)len;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (!strcmp(uri, "/"))
			uri = "/index.html";
		/* the library has normalised the URI: it cannot climb out */
		snprintf(path, sizeof(path), "%s%s", resource_path, uri);
		mimetype = lws_get_mimetype(path, NULL);
		if (!mimetype) {
			lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "Not here");
			return -1;
		}
		lwsl_notice("%s GET %s\n",
			    lws_get_peer_simple(wsi, peer, sizeof(peer)) ? peer : "?", uri);
		n = lws_serve_http_file(wsi, path, mimetype, NULL, 0);
		if (n < 0) {
			lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "Not here");
			return -1;
		}
		if (n > 0 && lws_http_transaction_completed(wsi))
			return -1;
		return 0;

	default:
		return 0;
	}
}

static struct lws_protocols protocols[] = {
	{ "http-only", callback_http, 0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void
sighandler(int sig)
{
	(void)sig;
	force_exit = 1;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *context;
	int n, level = LLL_ERR | LLL_WARN | LLL_NOTICE;

	memset(&info, 0, sizeof info);
	info.port = 7681;
	for (n = 1; n + 1 < argc; n += 2) {
		if (!strcmp(argv[n], "-p"))
			info.port = atoi(argv[n + 1]);
		else if (!strcmp(argv[n], "-r"))
			resource_path = argv[n + 1];
		else if (!strcmp(argv[n], "-d"))
			level = atoi(argv[n + 1]);
	}
	lws_set_log_level(level, NULL);
	signal(SIGINT, sighandler);
	signal(SIGTERM, sighandler);

	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;

	context = lws_create_context(&info);
	if (!context) {
		lwsl_err("libwebsockets init failed\n");
		return 1;
	}
	lwsl_notice("libwebsockets %s demo: http://localhost:%d/\n",
		    lws_get_library_version(), info.port);

	while (!force_exit)
		lws_service(context, 500);

	lws_context_destroy(context);
	lwsl_notice("demo exited cleanly\n");
	return 0;
}
