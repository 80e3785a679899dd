/*
 * The demo server: an lws 2.0 application serving its own page and static
 * files over HTTP, plus three WebSocket protocols written like the classic
 * lws test-server ones:
 *
 *   "dumb-increment-protocol"  every ~50 ms each connection is sent its own
 *                              incrementing number as text; the text message
 *                              "reset\n" sets it back to 0
 *   "lws-mirror-protocol"      every complete message a client sends is sent
 *                              to every connected client (the sender too),
 *                              through a ring of recent messages kept in the
 *                              protocol's per-vhost data
 *   "lws-echo"                 every complete message comes back to its
 *                              sender, as text or binary like it came
 *
 * Messages are limited to MAX_MESSAGE bytes: a larger one closes the
 * connection with 1009 (message too big). The permessage-deflate extension
 * is offered to clients (info.extensions, as lws' test-server does).
 *
 *   demo-server [-p PORT] [-r RESOURCE_DIR] [-d LOGLEVEL] [-c CERT -k KEY]
 *
 * -c/-k serve HTTPS and WSS with that certificate and private key.
 *
 * Defaults: port 7681, resources from ./c-tests/demo, log level 7.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_MESSAGE 4096	/* largest message the ws protocols accept */
#define MIRROR_RING 64		/* messages the mirror keeps for slow readers */
#define ECHO_QUEUE 8		/* echoes waiting per connection before rx pauses */
#define TICK_MS 50		/* dumb-increment period */

static volatile int force_exit;
static const char *resource_path = "c-tests/demo";

enum demo_protocols {
	PROTOCOL_HTTP,
	PROTOCOL_DUMB_INCREMENT,
	PROTOCOL_MIRROR,
	PROTOCOL_ECHO,
};

/* Sends a close with `status` and tells the caller to return -1. */
static int
close_with(struct lws *wsi, enum lws_close_status status, const char *why)
{
	lws_close_reason(wsi, status, (unsigned char *)why, strlen(why));
	return -1;
}

/* ---------------------------------------------------------------- http */

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	char path[512], peer[64];
	const char *uri = (const char *)in, *mimetype;
	int n;

	(void)user;
	(void)len;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (!strcmp(uri, "/"))
			uri = "/index.html";
		/* the library has normalised the URI: it cannot climb out */
		snprintf(path, sizeof(path), "%s%s", resource_path, uri);
		mimetype = lws_get_mimetype(path, NULL);
		if (!mimetype) {
			lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "Not here");
			return -1;
		}
		lwsl_notice("%s GET %s\n",
			    lws_get_peer_simple(wsi, peer, sizeof(peer)) ? peer : "?", uri);
		n = lws_serve_http_file(wsi, path, mimetype, NULL, 0);
		if (n < 0) {
			lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "Not here");
			return -1;
		}
		if (n > 0 && lws_http_transaction_completed(wsi))
			return -1;
		return 0;

	default:
		return 0;
	}
}

/* ------------------------------------------------ dumb-increment-protocol */

struct pss_dumb_increment {
	int number;
};

static int
callback_dumb_increment(struct lws *wsi, enum lws_callback_reasons reason,
			void *user, void *in, size_t len)
{
	struct pss_dumb_increment *pss = (struct pss_dumb_increment *)user;
	unsigned char buf[LWS_PRE + 32];
	unsigned char *p = &buf[LWS_PRE];
	int n;

	switch (reason) {
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

/* ---------------------------------------------------- lws-mirror-protocol */

struct mirror_msg {
	unsigned char *payload;	/* LWS_PRE headroom, then len bytes */
	size_t len;
	int binary;
};

/* per vhost: the ring; message number `seq` sits in ring[seq % MIRROR_RING] */
struct vhd_mirror {
	struct mirror_msg ring[MIRROR_RING];
	uint64_t head;		/* number of the next message to be stored */
};

struct pss_mirror {
	uint64_t tail;		/* number of the next message to send */
	size_t rx_len;		/* bytes of the message being received */
	int rx_binary;
	int in_message;		/* its first fragment has arrived */
	unsigned char rx[MAX_MESSAGE];
};

/*
 * Gathers the fragments of a message into rx[]; 1 once it is complete, 0
 * while more is to come, -1 when it is too big.
 */
static int
gather(struct lws *wsi, unsigned char *rx, size_t *rx_len, int *in_message,
       int *rx_binary, const void *in, size_t len)
{
	if (!*in_message) {
		*in_message = 1;
		*rx_len = 0;
		*rx_binary = lws_frame_is_binary(wsi);
	}
	if (len > MAX_MESSAGE - *rx_len)
		return -1;
	memcpy(rx + *rx_len, in, len);
	*rx_len += len;
	if (!lws_is_final_fragment(wsi))
		return 0;
	*in_message = 0;
	return 1;
}

static int
callback_mirror(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		void *in, size_t len)
{
	struct pss_mirror *pss = (struct pss_mirror *)user;
	struct vhd_mirror *vhd = (struct vhd_mirror *)
		lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));
	struct mirror_msg *msg;
	int n, sent;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi), lws_get_protocol(wsi),
						  sizeof(struct vhd_mirror));
		if (!vhd) {
			lwsl_err("mirror: no per-vhost storage\n");
			return -1;
		}
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
		/* a new client sees what is sent from now on */
		pss->tail = vhd->head;
		pss->in_message = 0;
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!vhd)
			return -1;
		if (vhd->head - pss->tail > MIRROR_RING) {
			/* fell too far behind: what it missed is overwritten */
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
		n = gather(wsi, pss->rx, &pss->rx_len, &pss->in_message,
			   &pss->rx_binary, in, len);
		if (n < 0)
			return close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
					  "message too big");
		if (!n)
			break;
		msg = &vhd->ring[vhd->head % MIRROR_RING];
		free(msg->payload);
		msg->payload = malloc(LWS_PRE + pss->rx_len + 1);
		if (!msg->payload) {
			msg->len = 0;
			return -1;
		}
		memcpy(msg->payload + LWS_PRE, pss->rx, pss->rx_len);
		msg->len = pss->rx_len;
		msg->binary = pss->rx_binary;
		vhd->head++;
		/* the ring is this vhost's: wake this vhost's mirror clients */
		lws_callback_on_writable_all_protocol_vhost(lws_get_vhost(wsi),
							    lws_get_protocol(wsi));
		break;

	default:
		break;
	}

	return 0;
}

/* --------------------------------------------------------------- lws-echo */

struct echo_msg {
	unsigned char *buf;	/* LWS_PRE headroom, then len bytes */
	size_t len;
	int binary;
};

struct pss_echo {
	struct echo_msg queue[ECHO_QUEUE];
	unsigned int head, tail;	/* queued: head - tail */
	int paused;
	size_t rx_len;
	int rx_binary;
	int in_message;
	unsigned char rx[MAX_MESSAGE];
};

static void
echo_free(struct pss_echo *pss)
{
	while (pss->tail != pss->head) {
		free(pss->queue[pss->tail % ECHO_QUEUE].buf);
		pss->queue[pss->tail % ECHO_QUEUE].buf = NULL;
		pss->tail++;
	}
}

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
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
		n = gather(wsi, pss->rx, &pss->rx_len, &pss->in_message,
			   &pss->rx_binary, in, len);
		if (n < 0)
			return close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
					  "message too big");
		if (!n)
			break;
		if (pss->head - pss->tail == ECHO_QUEUE) {
			/* reception is paused when the queue fills: not expected */
			lwsl_warn("echo: queue full, message dropped\n");
			break;
		}
		msg = &pss->queue[pss->head % ECHO_QUEUE];
		msg->buf = malloc(LWS_PRE + pss->rx_len + 1);
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
		echo_free(pss);
		break;

	default:
		break;
	}

	return 0;
}

/* ------------------------------------------------------------------ main */

static struct lws_protocols protocols[] = {
	/* first protocol must always be HTTP handler */
	{ "http-only", callback_http, 0, 0, 0, NULL },
	{ "dumb-increment-protocol", callback_dumb_increment,
	  sizeof(struct pss_dumb_increment), 0, 0, NULL },
	{ "lws-mirror-protocol", callback_mirror,
	  sizeof(struct pss_mirror), MAX_MESSAGE, 0, NULL },
	{ "lws-echo", callback_echo,
	  sizeof(struct pss_echo), MAX_MESSAGE, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

/* permessage-deflate, registered as lws' test-server does */
static const struct lws_extension exts[] = {
	{
		"permessage-deflate",
		lws_extension_callback_pm_deflate,
		"permessage-deflate"
	},
	{ NULL, NULL, NULL /* terminator */ }
};

static void
sighandler(int sig)
{
	(void)sig;
	force_exit = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *context;
	int n, level = LLL_ERR | LLL_WARN | LLL_NOTICE;
	uint64_t next_tick, t;

	memset(&info, 0, sizeof info);
	info.port = 7681;
	for (n = 1; n + 1 < argc; n += 2) {
		if (!strcmp(argv[n], "-p"))
			info.port = atoi(argv[n + 1]);
		else if (!strcmp(argv[n], "-r"))
			resource_path = argv[n + 1];
		else if (!strcmp(argv[n], "-c")) {
			info.ssl_cert_filepath = argv[n + 1];
			info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		} else if (!strcmp(argv[n], "-k"))
			info.ssl_private_key_filepath = argv[n + 1];
		else if (!strcmp(argv[n], "-d"))
			level = atoi(argv[n + 1]);
	}
	lws_set_log_level(level, NULL);
	signal(SIGINT, sighandler);
	signal(SIGTERM, sighandler);

	info.protocols = protocols;
	info.extensions = exts;
	info.gid = -1;
	info.uid = -1;

	context = lws_create_context(&info);
	if (!context) {
		lwsl_err("libwebsockets init failed\n");
		return 1;
	}
	lwsl_notice("libwebsockets %s demo: http://localhost:%d/\n",
		    lws_get_library_version(), info.port);

	next_tick = now_ms() + TICK_MS;
	while (!force_exit) {
		if (lws_service(context, TICK_MS) < 0)
			break;
		t = now_ms();
		if (t >= next_tick) {
			/* every dumb-increment connection sends its next number */
			lws_callback_on_writable_all_protocol(context,
					&protocols[PROTOCOL_DUMB_INCREMENT]);
			next_tick = t + TICK_MS;
		}
	}

	lws_context_destroy(context);
	lwsl_notice("demo exited cleanly\n");
	return 0;
}
