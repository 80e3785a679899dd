/*
 * libprotocol_lws_echo.so: "lws-echo" (the demo page's echo box).
 *
 * Every complete message (up to 4 KiB; larger ones close with 1009) comes
 * back to its sender as text or binary like it came. Up to 8 echoes wait
 * per connection; reception pauses (rx flow control) while they do.
 */
#include "plugin_common.h"

#define MAX_MESSAGE 4096
#define ECHO_QUEUE 8

struct echo_msg {
	unsigned char *buf;	/* LWS_PRE headroom, then len bytes */
	size_t len;
	int binary;
};

struct pss_echo {
	struct echo_msg queue[ECHO_QUEUE];
	unsigned int head, tail;
	int paused;
	size_t rx_len;
	int rx_binary;
	int in_message;
	unsigned char rx[MAX_MESSAGE];
};

static int
callback_lws_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		  void *in, size_t len)
{
	struct pss_echo *pss = (struct pss_echo *)user;
	struct echo_msg *msg;
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->head = pss->tail = 0;
		pss->paused = 0;
		pss->in_message = 0;
		break;

	case LWS_CALLBACK_RECEIVE:
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
		if (pss->head - pss->tail == ECHO_QUEUE) {
			lwsl_warn("echo: queue full, message dropped\n");
			break;
		}
		msg = &pss->queue[pss->head % ECHO_QUEUE];
		msg->buf = (unsigned char *)malloc(LWS_PRE + pss->rx_len + 1);
		if (!msg->buf)
			return -1;
		memcpy(msg->buf + LWS_PRE, pss->rx, pss->rx_len);
		msg->len = pss->rx_len;
		msg->binary = pss->rx_binary;
		pss->head++;
		if (pss->head - pss->tail == ECHO_QUEUE && !pss->paused) {
			pss->paused = 1;
			lws_rx_flow_control(wsi, 0);
		}
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		while (pss->tail != pss->head && !lws_send_pipe_choked(wsi)) {
			msg = &pss->queue[pss->tail % ECHO_QUEUE];
			n = lws_write(wsi, msg->buf + LWS_PRE, msg->len,
				      msg->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
			if (n < (int)msg->len) {
				lwsl_err("echo: write failed\n");
				return -1;
			}
			free(msg->buf);
			msg->buf = NULL;
			pss->tail++;
		}
		if (pss->paused && pss->head - pss->tail <= ECHO_QUEUE / 2) {
			pss->paused = 0;
			lws_rx_flow_control(wsi, 1);
		}
		if (pss->tail != pss->head)
			lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_CLOSED:
		while (pss->tail != pss->head) {
			free(pss->queue[pss->tail % ECHO_QUEUE].buf);
			pss->queue[pss->tail % ECHO_QUEUE].buf = NULL;
			pss->tail++;
		}
		break;

	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "lws-echo", callback_lws_echo, sizeof(struct pss_echo), MAX_MESSAGE, 0, NULL },
};

PLUGIN_ENTRY_POINTS(lws_echo)
