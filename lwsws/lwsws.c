/*
 * lwsws: the libwebsockets web server, configured by JSON files and
 * extended by protocol plugins, as the original lwsws.
 *
 *   lwsws [-c CONFIG_DIR] [-d LOG_LEVEL] [-D] [-h]
 *
 *   -c DIR   configuration directory: DIR/conf ("global" settings) and
 *            every file in DIR/conf.d (one per set of vhosts); default
 *            LWSWS_CONFIG_DIR (PREFIX/etc/lwsws)
 *   -d N     log level mask (default 7: ERR | WARN | NOTICE)
 *   -D       run as a daemon (lws_daemonize, lock /tmp/.lwsws-lock); the
 *            log then goes to syslog (facility daemon, ident "lwsws")
 *            instead of stderr
 *
 * The context is created with LWS_SERVER_OPTION_EXPLICIT_VHOSTS and
 * LWS_SERVER_OPTION_LIBUV; its plugins come from LWSWS_PLUGIN_DIR plus the
 * "plugin-dir" entries of the configuration's globals. The vhosts, their
 * mounts and the protocols enabled on them come from conf.d; every vhost
 * offers the permessage-deflate extension. Everything
 * then runs on a libuv loop; SIGINT or SIGTERM stop it, the context is
 * destroyed (plugins' PROTOCOL_DESTROY and destroy_*) and lwsws exits 0.
 */
#include <libwebsockets.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#ifndef LWSWS_CONFIG_DIR
#define LWSWS_CONFIG_DIR "/usr/local/etc/lwsws"
#endif
#ifndef LWSWS_PLUGIN_DIR
#define LWSWS_PLUGIN_DIR "/usr/local/lib/lwsws/plugins"
#endif

#define CONFIG_STRINGS 32768	/* what the config's strings may take */

static struct lws_context *context;
static char config_strings[CONFIG_STRINGS];

static const char * const plugin_dirs[] = {
	LWSWS_PLUGIN_DIR,
	NULL
};

/* Every vhost's protocols start with this one: HTTP that no mount or
 * plugin claims (404s, and the stock CGI plumbing). */
static const struct lws_protocols protocols[] = {
	{ "http-only", lws_callback_http_dummy, 0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

/* Every vhost offers permessage-deflate, as the original lwsws does. */
static const struct lws_extension exts[] = {
	{
		"permessage-deflate",
		lws_extension_callback_pm_deflate,
		"permessage-deflate"
	},
	{ NULL, NULL, NULL /* terminator */ }
};

static void
signal_cb(uv_signal_t *watcher, int signum)
{
	(void)watcher;
	lwsl_notice("lwsws: signal %d caught, stopping\n", signum);
	lws_libuv_stop(context);
}

static void
walk_close(uv_handle_t *handle, void *arg)
{
	(void)arg;
	if (!uv_is_closing(handle))
		uv_close(handle, NULL);
}

static void
usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-c CONFIG_DIR] [-d LOG_LEVEL] [-D] [-h]\n"
		"  -c DIR  configuration directory (default %s)\n"
		"  -d N    log level mask (default 7)\n"
		"  -D      run as a daemon, logging to syslog\n",
		argv0, LWSWS_CONFIG_DIR);
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	const char *config_dir = LWSWS_CONFIG_DIR;
	int debug_level = LLL_ERR | LLL_WARN | LLL_NOTICE;
	int daemonize = 0, opt, cs_len, n;
	uv_loop_t loop;
	char *cs;

	while ((opt = getopt(argc, argv, "c:d:Dh")) != -1) {
		switch (opt) {
		case 'c':
			config_dir = optarg;
			break;
		case 'd':
			debug_level = atoi(optarg);
			break;
		case 'D':
			daemonize = 1;
			break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 1;
		}
	}
	if (optind != argc) {
		usage(argv[0]);
		return 1;
	}

	if (daemonize) {
		if (lws_daemonize("/tmp/.lwsws-lock")) {
			fprintf(stderr, "Failed to daemonize\n");
			return 10;
		}
		setlogmask(LOG_UPTO(LOG_DEBUG));
		openlog("lwsws", LOG_PID, LOG_DAEMON);
		lws_set_log_level(debug_level, lwsl_emit_syslog);
	} else
		lws_set_log_level(debug_level, lwsl_emit_stderr);

	lwsl_notice("lwsws: libwebsockets web server, library %s\n",
		    lws_get_library_version());
	lwsl_notice("Using config dir: \"%s\"\n", config_dir);

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBUV |
		       LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.uid = -1;
	info.gid = -1;
	info.plugin_dirs = plugin_dirs;

	cs = config_strings;
	cs_len = sizeof(config_strings);
	if (lwsws_get_config_globals(&info, config_dir, &cs, &cs_len)) {
		lwsl_err("lwsws: failed to read the global configuration in %s\n", config_dir);
		return 1;
	}

	context = lws_create_context(&info);
	if (!context) {
		lwsl_err("lwsws: context creation failed\n");
		return 1;
	}

	/* the vhosts, each with the http-only protocol and its plugins, and
	 * the permessage-deflate extension */
	info.protocols = protocols;
	info.extensions = exts;
	if (lwsws_get_config_vhosts(context, &info, config_dir, &cs, &cs_len)) {
		lwsl_err("lwsws: failed to create the vhosts of %s\n", config_dir);
		lws_context_destroy(context);
		return 1;
	}

	if (uv_loop_init(&loop)) {
		lwsl_err("lwsws: uv_loop_init failed\n");
		lws_context_destroy(context);
		return 1;
	}
	lws_uv_sigint_cfg(context, 1, signal_cb);
	if (lws_uv_initloop(context, &loop, 0)) {
		lwsl_err("lwsws: lws_uv_initloop failed\n");
		lws_context_destroy(context);
		uv_loop_close(&loop);
		return 1;
	}

	lwsl_notice("lwsws: serving\n");
	lws_libuv_run(context, 0);

	lws_context_destroy(context);

	/* what the plugins closed at PROTOCOL_DESTROY finishes closing here */
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_walk(&loop, walk_close, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	n = uv_loop_close(&loop);
	if (n)
		lwsl_warn("lwsws: uv_loop_close: %s\n", uv_strerror(n));

	lwsl_notice("lwsws exited cleanly\n");
	if (daemonize)
		closelog();

	return 0;
}
