/*
 * An lwsws-style server: globals and vhosts come from an lwsws
 * configuration directory, the way lwsws itself reads them.
 *
 *   lwsws_conf -c DIR [-b BUDGET] [-x] [-j] [-n] [-p IGNORED]
 *
 * Reads the globals (lwsws_get_config_globals) into a malloc'd strings
 * buffer of BUDGET bytes (default 65536), prints what they set, creates the
 * context (EXPLICIT_VHOSTS; the globals' uid/gid/plugin dirs are printed
 * but not applied), then the vhosts (lwsws_get_config_vhosts, same buffer).
 * The bytes after the buffer are checked for writes ("canary ok").
 *   -x  exit after reading ("exit N"); -j also dumps the context JSON into
 *       exactly sized buffers of several lengths first
 *   -n  call both functions with each NULL argument and print the results
 * Otherwise serves, printing "port N" (the first listening vhost's port as
 * reported by its JSON) and:
 *   "init <proto> <k=v,...>"   at each PROTOCOL_INIT (the pvo options)
 * Protocols (every vhost): "http-only" answers /status/vhost[/LEN] and
 * /status/context[/LEN] with lws_json_dump_vhost / _context into a LEN
 * byte buffer (default 64 KiB), else 404; "dumb" and "mirror" answer every
 * message with their own name.
 */
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANARY 64

static volatile int interrupted;

static void
print_opts(const char *proto, const struct lws_protocol_vhost_options *o)
{
	printf("init %s ", proto);
	for (; o; o = o->next)
		printf("%s=%s%s", o->name, o->value, o->next ? "," : "");
	printf("\n");
	fflush(stdout);
}

static int
reply(struct lws *wsi, int status, const char *body, size_t n)
{
	unsigned char hdr[LWS_PRE + 512], *start = &hdr[LWS_PRE], *p = start, *end = &hdr[sizeof(hdr) - 1];

	if (lws_add_http_header_status(wsi, (unsigned int)status, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)"application/json", 16, &p, end) ||
	    lws_add_http_header_content_length(wsi, (unsigned long)n, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end) ||
	    lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0 ||
	    (n && lws_write(wsi, (unsigned char *)body, n, LWS_WRITE_HTTP) < (int)n))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	const char *uri = in;
	char *buf, line[64];
	int blen = 65536, n, r, vh;

	(void)user;
	(void)len;
	if (reason == LWS_CALLBACK_PROTOCOL_INIT) {
		print_opts("http-only", in);
		return 0;
	}
	if (reason != LWS_CALLBACK_HTTP)
		return 0;
	if (strncmp(uri, "/status/", 8))
		return reply(wsi, 404, "{}", 2);
	vh = !strncmp(uri + 8, "vhost", 5);
	if (uri[8 + (vh ? 5 : 7)] == '/')
		blen = atoi(uri + 8 + (vh ? 6 : 8));
	/* exactly blen bytes + a canary after them */
	buf = malloc((size_t)blen + CANARY);
	if (!buf)
		return -1;
	memset(buf, 0x5a, (size_t)blen + CANARY);
	n = vh ? lws_json_dump_vhost(lws_get_vhost(wsi), buf, blen)
	       : lws_json_dump_context(lws_get_context(wsi), buf, blen);
	for (r = 0; r < CANARY; r++)
		if (buf[blen + r] != 0x5a)
			n = -1000;
	if (n >= 0 && n < blen && (n || !vh || blen >= 100) && buf[n]) /* NUL after the text */
		n = -2000;
	if (blen < 0 || n < 0 || (n == 0 && blen < 100)) {
		r = snprintf(line, sizeof line, "{\"ret\":\"%d\"}", n);
		free(buf);
		return reply(wsi, 200, line, (size_t)r);
	}
	r = reply(wsi, 200, buf, (size_t)n);
	free(buf);
	return r;
}

static int
callback_named(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	const char *name = lws_get_protocol(wsi)->name;
	unsigned char out[LWS_PRE + 64];
	int n;

	(void)user;
	(void)len;
	if (reason == LWS_CALLBACK_PROTOCOL_INIT) {
		print_opts(name, in);
		return 0;
	}
	if (reason != LWS_CALLBACK_RECEIVE)
		return 0;
	n = snprintf((char *)out + LWS_PRE, sizeof(out) - LWS_PRE, "%s", name);
	return lws_write(wsi, out + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n ? -1 : 0;
}

static struct lws_protocols protocols[] = {
	{ "http-only", callback_http, 0, 0, 0, NULL },
	{ "dumb", callback_named, 0, 0, 0, NULL },
	{ "mirror", callback_named, 0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int
canary_ok(const char *base, int budget)
{
	int n;

	for (n = 0; n < CANARY; n++)
		if (base[budget + n] != (char)0xa5)
			return 0;
	return 1;
}

static void
null_args(const char *dir)
{
	struct lws_context_creation_info info;
	struct lws_context *context;
	char buf[4096], *cs = buf;
	int len = sizeof buf;

	memset(&info, 0, sizeof info);
	printf("null globals info %d\n", lwsws_get_config_globals(NULL, dir, &cs, &len));
	printf("null globals dir %d\n", lwsws_get_config_globals(&info, NULL, &cs, &len));
	printf("null globals cs %d\n", lwsws_get_config_globals(&info, dir, NULL, &len));
	printf("null globals len %d\n", lwsws_get_config_globals(&info, dir, &cs, NULL));
	cs = NULL;
	printf("null globals *cs %d\n", lwsws_get_config_globals(&info, dir, &cs, &len));
	cs = buf;
	len = -5;
	printf("negative len %d\n", lwsws_get_config_globals(&info, dir, &cs, &len));
	len = sizeof buf;
	printf("null vhosts context %d\n", lwsws_get_config_vhosts(NULL, &info, dir, &cs, &len));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.uid = info.gid = -1;
	context = lws_create_context(&info);
	printf("null vhosts info %d\n", lwsws_get_config_vhosts(context, NULL, dir, &cs, &len));
	printf("null vhosts dir %d\n", lwsws_get_config_vhosts(context, &info, NULL, &cs, &len));
	printf("null vhosts cs %d\n", lwsws_get_config_vhosts(context, &info, dir, NULL, &len));
	printf("null vhosts len %d\n", lwsws_get_config_vhosts(context, &info, dir, &cs, NULL));
	printf("null dump context %d\n", lws_json_dump_context(NULL, buf, sizeof buf));
	printf("null dump buf %d\n", lws_json_dump_context(context, NULL, 100));
	printf("null dump vhost %d\n", lws_json_dump_vhost(NULL, buf, sizeof buf));
	printf("unchanged %d\n", cs == buf && len == (int)sizeof buf);
	lws_context_destroy(context);
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *context;
	const char *dir = NULL;
	int n, budget = 65536, len, exit_early = 0, dumps = 0;
	char *base, *cs;
	static const int dump_lens[] = { 0, 1, 2, 10, 99, 100, 101, 500, 100000 };

	for (n = 1; n < argc; n++) {
		if (!strcmp(argv[n], "-c") && n + 1 < argc)
			dir = argv[++n];
		else if (!strcmp(argv[n], "-b") && n + 1 < argc)
			budget = atoi(argv[++n]);
		else if (!strcmp(argv[n], "-p") && n + 1 < argc)
			n++;
		else if (!strcmp(argv[n], "-x"))
			exit_early = 1;
		else if (!strcmp(argv[n], "-j"))
			dumps = 1;
		else if (!strcmp(argv[n], "-n")) {
			null_args(dir ? dir : "/nonexistent");
			return 0;
		}
	}
	if (!dir) {
		fprintf(stderr, "usage: lwsws_conf -c DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	base = malloc((size_t)budget + CANARY);
	memset(base, 0xa5, (size_t)budget + CANARY);
	cs = base;
	len = budget;

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.uid = -1;
	info.gid = -1;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	n = lwsws_get_config_globals(&info, dir, &cs, &len);
	printf("globals %d used %d left %d\n", n, (int)(cs - base), len);
	if (!n) {
		const char * const *pd;

		printf("uid %d gid %d count_threads %u ssl_init %d pingpong %u\n", info.uid, info.gid,
		       info.count_threads, !!(info.options & LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT),
		       info.ws_ping_pong_interval);
		printf("server_string %s\n", info.server_string ? info.server_string : "(null)");
		for (pd = info.plugin_dirs; pd && *pd; pd++)
			printf("plugin_dir %s\n", *pd);
	}
	printf("canary %s\n", canary_ok(base, budget) ? "ok" : "BROKEN");
	if (n) {
		printf("exit 1\n");
		free(base);
		return 0;
	}

	info.uid = -1;
	info.gid = -1;
	info.plugin_dirs = NULL;
	info.protocols = protocols;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		free(base);
		return 1;
	}
	n = lwsws_get_config_vhosts(context, &info, dir, &cs, &len);
	printf("vhosts %d used %d left %d\n", n, (int)(cs - base), len);
	printf("canary %s\n", canary_ok(base, budget) ? "ok" : "BROKEN");
	if (dumps) {
		unsigned int i;

		for (i = 0; i < sizeof(dump_lens) / sizeof(dump_lens[0]); i++) {
			int dl = dump_lens[i], r;
			char *b = malloc((size_t)dl + 1);

			r = lws_json_dump_context(context, b, dl);
			printf("dump %d ret %d strlen %d\n", dl, r, dl ? (int)strlen(b) : -1);
			free(b);
		}
	}
	if (n || exit_early) {
		printf("exit %d\n", n);
		lws_context_destroy(context);
		free(base);
		return 0;
	}
	{
		/* the port of the first listening vhost, from the context JSON */
		char *js = malloc(65536), *p;

		lws_json_dump_context(context, js, 65536);
		p = strstr(js, "\"port\":\"");
		printf("port %d\n", p ? atoi(p + 8) : 0);
		free(js);
	}
	while (!interrupted)
		lws_service(context, 100);
	lws_context_destroy(context);
	free(base);
	return 0;
}
