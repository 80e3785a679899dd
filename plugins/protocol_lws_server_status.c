/*
 * libprotocol_lws_server_status.so: "lws-server-status".
 *
 * Sends each client the server's status as JSON (lws_json_dump_context)
 * when it connects, and then every "update-ms" milliseconds (pvo, default
 * 5000) on a per-vhost libuv timer. A WRITEABLE with nothing new to send
 * (the library may offer one after a big write, as the original did after
 * a partial send) sends nothing.
 */
#include "plugin_common.h"

#define DUMP_MAX 24576

struct vhd_server_status {
	struct lws_context *context;
	struct lws_vhost *vhost;
	const struct lws_protocols *protocol;
	struct plugin_timer *timer;
	unsigned int generation;	/* advanced by each tick */
};

struct pss_server_status {
	unsigned int sent;		/* generation last sent */
};

static void
tick(void *arg)
{
	struct vhd_server_status *vhd = (struct vhd_server_status *)arg;

	vhd->generation++;
	lws_callback_on_writable_all_protocol_vhost(vhd->vhost, vhd->protocol);
}

static int
callback_lws_server_status(struct lws *wsi, enum lws_callback_reasons reason,
			   void *user, void *in, size_t len)
{
	struct vhd_server_status *vhd = (struct vhd_server_status *)
		lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));
	const struct lws_protocol_vhost_options *pvo;
	unsigned int ms = 5000;
	unsigned char *buf;
	int n;

	struct pss_server_status *pss = (struct pss_server_status *)user;

	(void)len;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = (struct vhd_server_status *)lws_protocol_vh_priv_zalloc(
			lws_get_vhost(wsi), lws_get_protocol(wsi), sizeof(*vhd));
		if (!vhd)
			return -1;
		vhd->context = lws_get_context(wsi);
		vhd->vhost = lws_get_vhost(wsi);
		vhd->protocol = lws_get_protocol(wsi);
		for (pvo = (const struct lws_protocol_vhost_options *)in; pvo; pvo = pvo->next)
			if (!strcmp(pvo->name, "update-ms") && atoi(pvo->value) > 0)
				ms = (unsigned int)atoi(pvo->value);
		vhd->timer = plugin_timer_start(vhd->context, ms, tick, vhd);
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (vhd) {
			plugin_timer_stop(vhd->timer);
			vhd->timer = NULL;
		}
		break;

	case LWS_CALLBACK_ESTABLISHED:
		if (!vhd)
			return -1;
		pss->sent = vhd->generation - 1;
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!vhd)
			return -1;
		if (pss->sent == vhd->generation || lws_send_pipe_choked(wsi))
			break;
		pss->sent = vhd->generation;
		buf = (unsigned char *)malloc(LWS_PRE + DUMP_MAX);
		if (!buf)
			return -1;
		n = lws_json_dump_context(vhd->context, (char *)buf + LWS_PRE, DUMP_MAX);
		if (n <= 0) {
			lwsl_err("server-status: lws_json_dump_context failed\n");
			free(buf);
			return -1;
		}
		n = lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n ? -1 : 0;
		free(buf);
		return n;

	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "lws-server-status", callback_lws_server_status,
	  sizeof(struct pss_server_status), 128, 0, NULL },
};

PLUGIN_ENTRY_POINTS(lws_server_status)
