/*
 * libprotocol_lws_mirror.so: "lws-mirror-protocol".
 *
 * Every complete message a client sends (up to 4 KiB, larger ones close
 * with 1009) goes to every client of the protocol on the same vhost, the
 * sender too, through a per-vhost ring of the last 64 messages; a client
 * that falls further behind skips ahead to the oldest one kept.
 */
#include "plugin_common.h"

#include <stdint.h>

#define MAX_MESSAGE 4096
#define MIRROR_RING 64

struct mirror_msg {
	unsigned char *payload;	/* LWS_PRE headroom, then len bytes */
	size_t len;
	int binary;
};

/* message number `seq` sits in ring[seq % MIRROR_RING] */
struct vhd_mirror {
	struct mirror_msg ring[MIRROR_RING];
	uint64_t head;		/* number of the next message to be stored */
};

struct pss_mirror {
	uint64_t tail;		/* number of the next message to send */
	size_t rx_len;
	int rx_binary;
	int in_message;
	unsigned char rx[MAX_MESSAGE];
};

static int
callback_lws_mirror(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len)
{
	struct pss_mirror *pss = (struct pss_mirror *)user;
	struct vhd_mirror *vhd = (struct vhd_mirror *)
		lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));
	struct mirror_msg *msg;
	int n, sent;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = (struct vhd_mirror *)lws_protocol_vh_priv_zalloc(
			lws_get_vhost(wsi), lws_get_protocol(wsi), sizeof(*vhd));
		if (!vhd)
			return -1;
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (!vhd)
			break;
		for (n = 0; n < MIRROR_RING; n++) {
			free(vhd->ring[n].payload);
			vhd->ring[n].payload = NULL;
		}
		break;

	case LWS_CALLBACK_ESTABLISHED:
		if (!vhd)
			return -1;
		pss->tail = vhd->head;	/* sees what is sent from now on */
		pss->in_message = 0;
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!vhd)
			return -1;
		if (vhd->head - pss->tail > MIRROR_RING) {
			lwsl_notice("mirror: slow client skips %llu messages\n",
				    (unsigned long long)(vhd->head - MIRROR_RING - pss->tail));
			pss->tail = vhd->head - MIRROR_RING;
		}
		for (sent = 0; pss->tail != vhd->head; sent++) {
			if (sent == MIRROR_RING || lws_send_pipe_choked(wsi)) {
				lws_callback_on_writable(wsi);
				break;
			}
			msg = &vhd->ring[pss->tail % MIRROR_RING];
			n = lws_write(wsi, msg->payload + LWS_PRE, msg->len,
				      msg->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
			if (n < (int)msg->len) {
				lwsl_err("mirror: write failed\n");
				return -1;
			}
			pss->tail++;
		}
		break;

	case LWS_CALLBACK_RECEIVE:
		if (!vhd)
			return -1;
		if (!pss->in_message) {
			pss->in_message = 1;
			pss->rx_len = 0;
			pss->rx_binary = lws_frame_is_binary(wsi);
		}
		if (len > MAX_MESSAGE - pss->rx_len) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
					 (unsigned char *)"message too big", 15);
			return -1;
		}
		memcpy(pss->rx + pss->rx_len, in, len);
		pss->rx_len += len;
		if (!lws_is_final_fragment(wsi))
			break;
		pss->in_message = 0;
		msg = &vhd->ring[vhd->head % MIRROR_RING];
		free(msg->payload);
		msg->payload = (unsigned char *)malloc(LWS_PRE + pss->rx_len + 1);
		if (!msg->payload) {
			msg->len = 0;
			return -1;
		}
		memcpy(msg->payload + LWS_PRE, pss->rx, pss->rx_len);
		msg->len = pss->rx_len;
		msg->binary = pss->rx_binary;
		vhd->head++;
		lws_callback_on_writable_all_protocol_vhost(lws_get_vhost(wsi),
							    lws_get_protocol(wsi));
		break;

	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "lws-mirror-protocol", callback_lws_mirror, sizeof(struct pss_mirror),
	  MAX_MESSAGE, 0, NULL },
};

PLUGIN_ENTRY_POINTS(lws_mirror)
