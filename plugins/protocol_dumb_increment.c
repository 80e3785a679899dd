/*
 * libprotocol_dumb_increment.so: "dumb-increment-protocol".
 *
 * Every connection is sent its own incrementing number, as text, on a
 * per-vhost libuv timer (pvo "update-ms", default 50); the text message
 * "reset" (or "reset\n") sets it back to 0.
 */
#include "plugin_common.h"

#include <stdio.h>

struct vhd_dumb_increment {
	struct lws_vhost *vhost;
	const struct lws_protocols *protocol;
	struct plugin_timer *timer;
};

struct pss_dumb_increment {
	int number;
};

static void
tick(void *arg)
{
	struct vhd_dumb_increment *vhd = (struct vhd_dumb_increment *)arg;

	lws_callback_on_writable_all_protocol_vhost(vhd->vhost, vhd->protocol);
}

static int
callback_dumb_increment(struct lws *wsi, enum lws_callback_reasons reason,
			void *user, void *in, size_t len)
{
	struct pss_dumb_increment *pss = (struct pss_dumb_increment *)user;
	struct vhd_dumb_increment *vhd = (struct vhd_dumb_increment *)
		lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));
	const struct lws_protocol_vhost_options *pvo;
	unsigned char buf[LWS_PRE + 32], *p = &buf[LWS_PRE];
	unsigned int ms = 50;
	int n;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = (struct vhd_dumb_increment *)lws_protocol_vh_priv_zalloc(
			lws_get_vhost(wsi), lws_get_protocol(wsi), sizeof(*vhd));
		if (!vhd)
			return -1;
		vhd->vhost = lws_get_vhost(wsi);
		vhd->protocol = lws_get_protocol(wsi);
		for (pvo = (const struct lws_protocol_vhost_options *)in; pvo; pvo = pvo->next)
			if (!strcmp(pvo->name, "update-ms") && atoi(pvo->value) > 0)
				ms = (unsigned int)atoi(pvo->value);
		vhd->timer = plugin_timer_start(lws_get_context(wsi), ms, tick, vhd);
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (vhd) {
			plugin_timer_stop(vhd->timer);
			vhd->timer = NULL;
		}
		break;

	case LWS_CALLBACK_ESTABLISHED:
		pss->number = 0;
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		/* a tick finding earlier output still queued is skipped */
		if (lws_send_pipe_choked(wsi))
			break;
		n = snprintf((char *)p, sizeof(buf) - LWS_PRE, "%d", pss->number++);
		if (lws_write(wsi, p, (size_t)n, LWS_WRITE_TEXT) < n) {
			lwsl_err("dumb-increment: write failed\n");
			return -1;
		}
		break;

	case LWS_CALLBACK_RECEIVE:
		if ((len == 6 && !memcmp(in, "reset\n", 6)) ||
		    (len == 5 && !memcmp(in, "reset", 5)))
			pss->number = 0;
		break;

	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "dumb-increment-protocol", callback_dumb_increment,
	  sizeof(struct pss_dumb_increment), 16, 0, NULL },
};

PLUGIN_ENTRY_POINTS(dumb_increment)
