/*
 * A C99 application of the kind written for libwebsockets 2.0: it declares
 * its protocols and extensions, fills the creation info and logs through the
 * lwsl_* macros. Built only through pkg-config (or CMake) with
 * -std=c99 -Wall -Wextra -Werror; exits non-zero on any mismatch.
 */
#define _POSIX_C_SOURCE 200809L
#include <libwebsockets.h>

#include <stdio.h>
#include <string.h>

struct per_session_data__echo {
	unsigned char buf[LWS_PRE + 128];
	size_t len;
};

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	(void)user; (void)in; (void)len;
	if (reason == LWS_CALLBACK_HTTP)
		return lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
	return 0;
}

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct per_session_data__echo *pss = (struct per_session_data__echo *)user;

	switch (reason) {
	case LWS_CALLBACK_RECEIVE:
		if (len > sizeof(pss->buf) - LWS_PRE)
			return -1;
		memcpy(&pss->buf[LWS_PRE], in, len);
		pss->len = len;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (lws_write(wsi, &pss->buf[LWS_PRE], pss->len, LWS_WRITE_TEXT) < (int)pss->len)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "http-only", callback_http, 0, 0, 0, NULL },
	{ "echo", callback_echo, sizeof(struct per_session_data__echo), 128, 1, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static const struct lws_extension exts[] = {
	{ "permessage-deflate", lws_extension_callback_pm_deflate,
	  "permessage-deflate; client_max_window_bits" },
	{ NULL, NULL, NULL }
};

static int lines, last_level;
static char last_line[300];

static void
emit(int level, const char *line)
{
	lines++;
	last_level = level;
	strncpy(last_line, line, sizeof(last_line) - 1);
}

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
	return 1; } } while (0)

int
main(void)
{
	struct lws_context_creation_info info;
	const char *version = lws_get_library_version();

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.extensions = exts;
	info.gid = -1;
	info.uid = -1;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;

	CHECK(!strncmp(version, "2.0.0", 5));
	CHECK(!strcmp(version, LWS_LIBRARY_VERSION " " LWS_BUILD_HASH));
	CHECK(LWS_LIBRARY_VERSION_NUMBER == 2000000);
	CHECK(LWS_PRE == 16 && sizeof(struct per_session_data__echo) == 152);
	CHECK(sizeof(info) == 320 && sizeof(protocols[0]) == 48);

	lws_set_log_level(LLL_ERR | LLL_WARN | LLL_NOTICE, emit);
	lwsl_notice("version %s\n", version);
	CHECK(lines == 1 && last_level == LLL_NOTICE);
	CHECK(!strcmp(last_line, "version " LWS_LIBRARY_VERSION " " LWS_BUILD_HASH "\n"));
	lwsl_info("compiled out without _DEBUG\n");
	CHECK(lines == 1);

	printf("c99 consumer ok: %s\n", version);
	return 0;
}
