/*
 * The body of the test plugins, written the way lws plugins are: one
 * protocol callback with per-vhost data made at PROTOCOL_INIT from the
 * vhost's pvo options, per-session data, and init_ / destroy_ entry points
 * that check the API magic.
 *
 * Every step of interest is appended as a line to the file named by
 * $PLUGIN_TEST_LOG, so the test sees what was called and how often.
 *
 * The includer defines PLUGIN_FILE (a tag for the log), PLUGIN_ECHO (1: the
 * protocol echoes; 0: it answers with an incrementing number) and then
 * lists its protocols with callback_test.
 */
#include <libwebsockets.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct per_vhost_data {
	char opts[256];		/* "name=value;" per pvo option */
	int inits;
};

struct per_session_data {
	unsigned int number;
};

static void
note(const char *fmt, ...)
{
	const char *path = getenv("PLUGIN_TEST_LOG");
	va_list ap;
	FILE *f;

	if (!path || !(f = fopen(path, "a")))
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

static int
callback_test(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct per_session_data *pss = user;
	const struct lws_protocols *prot = lws_get_protocol(wsi);
	struct per_vhost_data *vhd = lws_protocol_vh_priv_get(lws_get_vhost(wsi), prot);
	const struct lws_protocol_vhost_options *pvo;
	unsigned char buf[LWS_PRE + 512];
	char *p = (char *)buf + LWS_PRE;
	int n;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi), prot, sizeof(*vhd));
		if (!vhd)
			return -1;
		for (pvo = in; pvo; pvo = pvo->next) {
			n = strlen(vhd->opts);
			snprintf(vhd->opts + n, sizeof(vhd->opts) - n, "%s=%s;",
				 pvo->name, pvo->value);
		}
		vhd->inits++;
		note("PROTOCOL_INIT %s opts=%s", prot->name, vhd->opts);
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		note("PROTOCOL_DESTROY %s opts=%s", prot->name, vhd ? vhd->opts : "NONE");
		break;

	case LWS_CALLBACK_ESTABLISHED:
		pss->number = 0;
		break;

	case LWS_CALLBACK_RECEIVE:
		if (len == 3 && !memcmp(in, "who", 3))
			n = snprintf(p, 500, "%s opts=%s inits=%d", prot->name,
				     vhd ? vhd->opts : "NONE", vhd ? vhd->inits : 0);
		else if (PLUGIN_ECHO) {
			n = len > 500 ? 500 : (int)len;
			memcpy(p, in, n);
		} else
			n = snprintf(p, 500, "%u", pss->number++);
		if (lws_write(wsi, (unsigned char *)p, n, LWS_WRITE_TEXT) < n)
			return -1;
		break;

	default:
		break;
	}

	return 0;
}

static inline int
check_magic(struct lws_plugin_capability *c)
{
	if (c->api_magic != LWS_PLUGIN_API_MAGIC) {
		lwsl_err("Plugin API %d, library API %d", LWS_PLUGIN_API_MAGIC,
			 c->api_magic);
		return 1;
	}
	return 0;
}
