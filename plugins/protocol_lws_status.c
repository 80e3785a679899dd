/*
 * libprotocol_lws_status.so: "lws-status".
 *
 * Keeps the list of this vhost's lws-status connections (peer address,
 * user agent, connection time) and sends every one of them the whole list
 * as JSON whenever a connection comes or goes:
 *
 *   {"conns":[{"peer":"127.0.0.1","time":"1700000000","ua":"..."}, ...]}
 *
 * Up to 32 connections are listed. A WRITEABLE when the list has not
 * changed since this connection was last sent it sends nothing.
 */
#include "plugin_common.h"

#include <stdio.h>
#include <time.h>

#define MAX_LISTED 32

struct pss_lws_status {
	struct pss_lws_status *next;
	char peer[64];
	char ua[128];
	time_t time;
	unsigned int sent;	/* list generation last sent */
};

struct vhd_lws_status {
	struct pss_lws_status *list;
	unsigned int generation;	/* advanced by every change */
};

static int
status_json(struct vhd_lws_status *vhd, char *out, size_t cap)
{
	struct pss_lws_status *p;
	char ua[256 + 1], peer[128 + 1];
	size_t n;
	int count = 0;

	n = (size_t)snprintf(out, cap, "{\"conns\":[");
	for (p = vhd->list; p && count < MAX_LISTED && n < cap; p = p->next, count++) {
		lws_json_purify(ua, p->ua, sizeof(ua));
		lws_json_purify(peer, p->peer, sizeof(peer));
		n += (size_t)snprintf(out + n, cap - n,
				      "%s{\"peer\":\"%s\",\"time\":\"%lld\",\"ua\":\"%s\"}",
				      count ? "," : "", peer, (long long)p->time, ua);
	}
	if (n < cap)
		n += (size_t)snprintf(out + n, cap - n, "]}");
	return n < cap ? (int)n : -1;
}

static int
callback_lws_status(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len)
{
	struct pss_lws_status *pss = (struct pss_lws_status *)user, **pp;
	struct vhd_lws_status *vhd = (struct vhd_lws_status *)
		lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));
	unsigned char buf[LWS_PRE + MAX_LISTED * 512 + 64];
	int n;

	(void)in;
	(void)len;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = (struct vhd_lws_status *)lws_protocol_vh_priv_zalloc(
			lws_get_vhost(wsi), lws_get_protocol(wsi), sizeof(*vhd));
		if (!vhd)
			return -1;
		break;

	case LWS_CALLBACK_ESTABLISHED:
		if (!vhd)
			return -1;
		/* the upgrade's headers are still there during ESTABLISHED */
		if (lws_hdr_copy(wsi, pss->ua, sizeof(pss->ua), WSI_TOKEN_HTTP_USER_AGENT) < 0)
			pss->ua[0] = '\0';
		if (!lws_get_peer_simple(wsi, pss->peer, sizeof(pss->peer)))
			strcpy(pss->peer, "?");
		pss->time = time(NULL);
		pss->next = vhd->list;
		vhd->list = pss;
		pss->sent = vhd->generation++;
		lws_callback_on_writable_all_protocol_vhost(lws_get_vhost(wsi),
							    lws_get_protocol(wsi));
		break;

	case LWS_CALLBACK_CLOSED:
		if (!vhd)
			break;
		for (pp = &vhd->list; *pp; pp = &(*pp)->next)
			if (*pp == pss) {
				*pp = pss->next;
				break;
			}
		vhd->generation++;
		lws_callback_on_writable_all_protocol_vhost(lws_get_vhost(wsi),
							    lws_get_protocol(wsi));
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!vhd)
			return -1;
		if (pss->sent == vhd->generation)
			break;
		pss->sent = vhd->generation;
		n = status_json(vhd, (char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE);
		if (n < 0)
			return -1;
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;

	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "lws-status", callback_lws_status, sizeof(struct pss_lws_status), 128, 0, NULL },
};

PLUGIN_ENTRY_POINTS(lws_status)
