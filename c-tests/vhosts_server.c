/*
 * Name-based virtual hosting as lws 2.0 applications set it up: one context
 * with LWS_SERVER_OPTION_EXPLICIT_VHOSTS and three vhosts on one port.
 *
 *   vhosts_server -p PORT [-c CERT -k KEY -C CERT2 -K KEY2]
 *
 * The vhosts, in creation order: "localhost", "example.com" and
 * "wrong.example". The first binds PORT (with 0 the others take the port it
 * got) and the others share its listener. With -c / -k all three use TLS,
 * "wrong.example" with CERT2 / KEY2 (a client's SNI picks it).
 *
 * Each vhost has its own protocols, whose `user` is the vhost name:
 *   "http"  (protocols[0], per-session data of a different size per vhost)
 *           answers every request with "vhost=<name> fresh=<0|1>", where
 *           fresh says the per-session data arrived zeroed at its full size
 *           (the callback then fills all of it)
 *   "echo"  answers each text message with "<name>:<message>"
 * Prints "port N" once listening.
 */
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int interrupted;

static const size_t pss_sizes[] = { 16, 4096, 200 };

static int
all_zero(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return 0;
	return 1;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	const struct lws_protocols *pr = lws_get_protocol(wsi);
	unsigned char buf[LWS_PRE + 512], *start = &buf[LWS_PRE], *p = start, *end = &buf[sizeof(buf) - 1];
	char body[128];
	int fresh, n;

	(void)in;
	(void)len;
	if (reason != LWS_CALLBACK_HTTP)
		return 0;
	fresh = user && all_zero(user, pr->per_session_data_size);
	if (user)
		memset(user, 0xa5, pr->per_session_data_size);
	n = snprintf(body, sizeof(body), "vhost=%s fresh=%d\n", (const char *)pr->user, fresh);
	if (lws_add_http_header_status(wsi, 200, &p, end) ||
	    lws_add_http_header_content_length(wsi, (unsigned long)n, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end) ||
	    lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0 ||
	    lws_write(wsi, (unsigned char *)body, (size_t)n, LWS_WRITE_HTTP) < n)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	unsigned char out[LWS_PRE + 256];
	int n;

	(void)user;
	if (reason != LWS_CALLBACK_RECEIVE)
		return 0;
	n = snprintf((char *)out + LWS_PRE, sizeof(out) - LWS_PRE, "%s:%.*s",
		     (const char *)lws_get_protocol(wsi)->user, (int)(len > 128 ? 128 : len), (const char *)in);
	return lws_write(wsi, out + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n ? -1 : 0;
}

static char name0[] = "localhost", name1[] = "example.com", name2[] = "wrong.example";
static char *names[] = { name0, name1, name2 };
static struct lws_protocols protocols[3][3];

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *context;
	const char *cert = NULL, *key = NULL, *cert2 = NULL, *key2 = NULL;
	int n, port = 0;

	for (n = 1; n < argc; n++) {
		if (!strcmp(argv[n], "-p") && n + 1 < argc)
			port = atoi(argv[++n]);
		else if (!strcmp(argv[n], "-c") && n + 1 < argc)
			cert = argv[++n];
		else if (!strcmp(argv[n], "-k") && n + 1 < argc)
			key = argv[++n];
		else if (!strcmp(argv[n], "-C") && n + 1 < argc)
			cert2 = argv[++n];
		else if (!strcmp(argv[n], "-K") && n + 1 < argc)
			key2 = argv[++n];
	}

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.gid = -1;
	info.uid = -1;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	if (cert)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		return 1;
	}

	for (n = 0; n < 3; n++) {
		protocols[n][0].name = "http";
		protocols[n][0].callback = callback_http;
		protocols[n][0].per_session_data_size = pss_sizes[n];
		protocols[n][0].user = names[n];
		protocols[n][1].name = "echo";
		protocols[n][1].callback = callback_echo;
		protocols[n][1].user = names[n];

		info.port = port;
		info.vhost_name = names[n];
		info.protocols = protocols[n];
		info.ssl_cert_filepath = n == 2 && cert2 ? cert2 : cert;
		info.ssl_private_key_filepath = n == 2 && key2 ? key2 : key;
		if (!lws_create_vhost(context, &info)) {
			fprintf(stderr, "lws_create_vhost %s failed\n", names[n]);
			return 1;
		}
		port = info.port;
	}
	printf("port %d\n", port);
	fflush(stdout);

	while (!interrupted)
		lws_service(context, 1000);
	lws_context_destroy(context);
	return 0;
}
