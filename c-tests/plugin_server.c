/*
 * A server whose WebSocket protocols come from plugins, written the way
 * lws applications using plugins are (test-server-v2.0.c, lwsws):
 *
 *   plugin_server -p PORT -P DIR [-P DIR...] [-n] [-o] [-x] [-u]
 *
 *   -P DIR  a plugin directory (info.plugin_dirs)
 *   -n      info.protocols = NULL: every ws protocol is a plugin's
 *   -o      the default vhost has a pvo naming only "echo-protocol"
 *           (options greeting=hello-o)
 *   -x      LWS_SERVER_OPTION_EXPLICIT_VHOSTS and three vhosts, each on
 *           its own port ("port N", "port-b N", "port-c N"):
 *             a: pvo dumb-increment-protocol {default=1, greeting=hello-a}
 *             b: pvo echo-protocol {greeting=hello-b},
 *                    dumb-increment-protocol {greeting=hello-b2}
 *             c: no pvo (and the EXPLICIT_VHOSTS option): no plugin protocol
 *   -u      LWS_SERVER_OPTION_LIBUV: lws_uv_initloop(ctx, NULL, 0) and
 *           lws_libuv_run until lws' default SIGINT / SIGTERM handler stops it
 *
 * Serves until SIGINT / SIGTERM, destroys the context, prints "destroyed".
 */
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int interrupted;
static struct lws_context *context;
static int use_uv;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	(void)user;
	(void)len;
	if (reason == LWS_CALLBACK_HTTP) {
		if (lws_return_http_status(wsi, HTTP_STATUS_OK, (const char *)in))
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	return 0;
}

static struct lws_protocols app_protocols[] = {
	{ "http-only", callback_http, 0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

/* -o */
static const struct lws_protocol_vhost_options o_greeting = { NULL, NULL, "greeting", "hello-o" };
static const struct lws_protocol_vhost_options o_pvo = { NULL, &o_greeting, "echo-protocol", "" };

/* -x, vhost a */
static const struct lws_protocol_vhost_options a_greeting = { NULL, NULL, "greeting", "hello-a" };
static const struct lws_protocol_vhost_options a_default = { &a_greeting, NULL, "default", "1" };
static const struct lws_protocol_vhost_options a_pvo = { NULL, &a_default, "dumb-increment-protocol", "" };

/* -x, vhost b */
static const struct lws_protocol_vhost_options b2_greeting = { NULL, NULL, "greeting", "hello-b2" };
static const struct lws_protocol_vhost_options b_dumb = { NULL, &b2_greeting, "dumb-increment-protocol", "" };
static const struct lws_protocol_vhost_options b_greeting = { NULL, NULL, "greeting", "hello-b" };
static const struct lws_protocol_vhost_options b_pvo = { &b_dumb, &b_greeting, "echo-protocol", "" };

static struct lws_vhost *
vhost(struct lws_context_creation_info *base, const char *name,
      const struct lws_protocol_vhost_options *pvo, const char *label)
{
	struct lws_context_creation_info info = *base;
	struct lws_vhost *vh;

	info.port = 0;
	info.vhost_name = name;
	info.pvo = pvo;
	vh = lws_create_vhost(context, &info);
	if (!vh) {
		fprintf(stderr, "lws_create_vhost %s failed\n", name);
		return NULL;
	}
	printf("%s %d\n", label, info.port);
	return vh;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	const char *dirs[8];
	int ndirs = 0, explicit = 0, opt;

	memset(&info, 0, sizeof info);
	memset(dirs, 0, sizeof dirs);
	info.port = 7681;
	info.protocols = app_protocols;
	info.gid = -1;
	info.uid = -1;

	while ((opt = getopt(argc, argv, "p:P:noxu")) != -1) {
		switch (opt) {
		case 'p':
			info.port = atoi(optarg);
			break;
		case 'P':
			if (ndirs < 7)
				dirs[ndirs++] = optarg;
			break;
		case 'n':
			info.protocols = NULL;
			break;
		case 'o':
			info.pvo = &o_pvo;
			break;
		case 'x':
			explicit = 1;
			break;
		case 'u':
			use_uv = 1;
			break;
		default:
			return 2;
		}
	}
	info.plugin_dirs = dirs;
	if (explicit)
		info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	if (use_uv)
		info.options |= LWS_SERVER_OPTION_LIBUV;
	lws_set_log_level(LLL_ERR | LLL_WARN | LLL_NOTICE, NULL);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		return 1;
	}
	if (explicit) {
		if (!vhost(&info, "vh-a", &a_pvo, "port") ||
		    !vhost(&info, "vh-b", &b_pvo, "port-b") ||
		    !vhost(&info, "vh-c", NULL, "port-c")) {
			lws_context_destroy(context);
			return 1;
		}
		lws_finalize_startup(context);
	} else
		printf("port %d\n", info.port);
	fflush(stdout);

	if (use_uv) {
		if (lws_uv_initloop(context, NULL, 0)) {
			fprintf(stderr, "lws_uv_initloop failed\n");
			lws_context_destroy(context);
			return 1;
		}
		/* lws' own SIGINT / SIGTERM handler stops the loop */
		lws_libuv_run(context, 0);
	} else
		while (!interrupted)
			if (lws_service(context, 100) < 0)
				break;
	lws_context_destroy(context);
	printf("destroyed\n");
	return 0;
}
