/*
 * A WebSocket echo server written the way lws 2.0 applications are: every
 * received chunk is queued and written back from SERVER_WRITEABLE with the
 * same fragmentation (TEXT/BINARY, NO_FIN, CONTINUATION), and reception is
 * paused with lws_rx_flow_control while too much waits to be sent.
 *
 *   ws_server [-p PORT] [-u] [-r RX_BUFFER_SIZE] [-i PING_INTERVAL]
 *             [-l CALLBACK_LOG] [-t TIMEOUT_SECS] [-q QUEUE_LIMIT]
 *             [-c CERT -k KEY [-a CA] [-C] [-V] [-x CIPHERS] [-N]]
 *
 * -u sets LWS_SERVER_OPTION_VALIDATE_UTF8. Prints "port N" when listening.
 * TLS: -c/-k serve wss with that certificate (PEM chain) and key, with
 * LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT as lws 2.0 applications set it (-N
 * leaves that option out); -a CA is info.ssl_ca_filepath, -C sets
 * LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT, -x CIPHERS is
 * info.ssl_cipher_list, -V makes protocols[0] refuse every step of a client
 * certificate's verification (1 from OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION).
 * Protocols: "http-only" (404 for HTTP), "echo" (the echo), "second" (echo
 * too, for protocol selection tests). Text commands on "echo":
 *   "close:<code>:<reason>"  lws_close_reason then return -1
 *   "drop"                   return -1 without a close reason
 *   "ping:<payload>"         send a PING with that payload
 *   "stats"                  reply "queued=<max queued bytes seen>"
 *   "tls"                    reply "is_ssl=<lws_is_ssl> ssl_at_established=<0|1>"
 *                            (whether ESTABLISHED's `in`, the SSL *, was set)
 * The callback log gets one line per callback: "<reason> <wsi-number>".
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cblog.h"
#include "serve.h"
static size_t queue_limit = 4 * 1024 * 1024;
static int refuse_client_certs;

struct chunk {
	struct chunk *next;
	size_t len;
	int mode;
	unsigned char buf[]; /* LWS_PRE + payload */
};

struct pss_echo {
	struct chunk *head, *tail;
	size_t queued, max_queued;
	int in_message; /* a fragmented message is being received */
	int paused;
	int ssl_at_established;
};

static int
queue(struct lws *wsi, struct pss_echo *pss, const void *data, size_t len, int mode)
{
	struct chunk *c = malloc(sizeof(*c) + LWS_PRE + len);

	if (!c)
		return -1;
	c->next = NULL;
	c->len = len;
	c->mode = mode;
	memcpy(c->buf + LWS_PRE, data, len);
	if (pss->tail)
		pss->tail->next = c;
	else
		pss->head = c;
	pss->tail = c;
	pss->queued += len;
	if (pss->queued > pss->max_queued)
		pss->max_queued = pss->queued;
	if (pss->queued > queue_limit && !pss->paused) {
		pss->paused = 1;
		lws_rx_flow_control(wsi, 0);
	}
	lws_callback_on_writable(wsi);
	return 0;
}

static void
free_queue(struct pss_echo *pss)
{
	while (pss->head) {
		struct chunk *c = pss->head;
		pss->head = c->next;
		free(c);
	}
	pss->tail = NULL;
	pss->queued = 0;
}

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss_echo *pss = (struct pss_echo *)user;
	char text[256];
	int mode, n;

	if (reason != LWS_CALLBACK_GET_THREAD_ID)
		log_cb(wsi, reason);
	switch (reason) {
	case LWS_CALLBACK_RECEIVE:
		if (!pss->in_message && lws_is_final_fragment(wsi) && !lws_frame_is_binary(wsi) &&
		    len < sizeof(text)) {
			memcpy(text, in, len);
			text[len] = '\0';
			if (!strncmp(text, "close:", 6)) {
				char *reason_text = strchr(text + 6, ':');
				reason_text = reason_text ? reason_text + 1 : text + len;
				lws_close_reason(wsi, (enum lws_close_status)atoi(text + 6),
						 (unsigned char *)reason_text, strlen(reason_text));
				return -1;
			}
			if (!strcmp(text, "drop"))
				return -1;
			if (!strncmp(text, "ping:", 5)) {
				unsigned char ping[LWS_PRE + 125];
				size_t pl = len - 5;
				memcpy(ping + LWS_PRE, text + 5, pl);
				if (lws_write(wsi, ping + LWS_PRE, pl, LWS_WRITE_PING) < (int)pl)
					return -1;
				return 0;
			}
			if (!strcmp(text, "tls")) {
				n = snprintf(text, sizeof(text), "is_ssl=%d ssl_at_established=%d",
					     lws_is_ssl(wsi), pss->ssl_at_established);
				return queue(wsi, pss, text, (size_t)n, LWS_WRITE_TEXT);
			}
			if (!strcmp(text, "stats")) {
				n = snprintf(text, sizeof(text), "queued=%zu", pss->max_queued);
				return queue(wsi, pss, text, (size_t)n, LWS_WRITE_TEXT);
			}
		}
		mode = pss->in_message ? LWS_WRITE_CONTINUATION :
		       (lws_frame_is_binary(wsi) ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		pss->in_message = !lws_is_final_fragment(wsi);
		if (pss->in_message)
			mode |= LWS_WRITE_NO_FIN;
		return queue(wsi, pss, in, len, mode);

	case LWS_CALLBACK_ESTABLISHED:
		pss->ssl_at_established = in != NULL;
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		while (pss->head && !lws_send_pipe_choked(wsi)) {
			struct chunk *c = pss->head;
			n = lws_write(wsi, c->buf + LWS_PRE, c->len, (enum lws_write_protocol)c->mode);
			if (n < (int)c->len)
				return -1;
			pss->head = c->next;
			if (!pss->head)
				pss->tail = NULL;
			pss->queued -= c->len;
			free(c);
		}
		if (pss->paused && pss->queued <= queue_limit / 2) {
			pss->paused = 0;
			lws_rx_flow_control(wsi, 1);
		}
		if (pss->head)
			lws_callback_on_writable(wsi);
		return 0;

	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pss)
			free_queue(pss);
		return 0;

	default:
		return 0;
	}
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	if (reason != LWS_CALLBACK_GET_THREAD_ID)
		log_cb(wsi, reason);
	if (reason == LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION)
		return refuse_client_certs;
	if (reason == LWS_CALLBACK_HTTP) {
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return -1;
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "http-only", callback_http, 0, 0, 0, NULL },
	{ "echo", callback_echo, sizeof(struct pss_echo), 0, 0, NULL },
	{ "second", callback_echo, sizeof(struct pss_echo), 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	int n, require_client_cert = 0, no_global_init = 0;

	memset(&info, 0, sizeof info);
	info.port = 7681;
	info.gid = -1;
	info.uid = -1;
	for (n = 1; n < argc; n++) {
		if (!strcmp(argv[n], "-p") && n + 1 < argc)
			info.port = atoi(argv[++n]);
		else if (!strcmp(argv[n], "-u"))
			info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8;
		else if (!strcmp(argv[n], "-r") && n + 1 < argc)
			protocols[1].rx_buffer_size = (size_t)atoi(argv[++n]);
		else if (!strcmp(argv[n], "-i") && n + 1 < argc)
			info.ws_ping_pong_interval = (unsigned short)atoi(argv[++n]);
		else if (!strcmp(argv[n], "-l") && n + 1 < argc)
			cblog = fopen(argv[++n], "w");
		else if (!strcmp(argv[n], "-t") && n + 1 < argc)
			info.timeout_secs = (unsigned int)atoi(argv[++n]);
		else if (!strcmp(argv[n], "-q") && n + 1 < argc)
			queue_limit = (size_t)atol(argv[++n]);
		else if (!strcmp(argv[n], "-c") && n + 1 < argc)
			info.ssl_cert_filepath = argv[++n];
		else if (!strcmp(argv[n], "-k") && n + 1 < argc)
			info.ssl_private_key_filepath = argv[++n];
		else if (!strcmp(argv[n], "-a") && n + 1 < argc)
			info.ssl_ca_filepath = argv[++n];
		else if (!strcmp(argv[n], "-x") && n + 1 < argc)
			info.ssl_cipher_list = argv[++n];
		else if (!strcmp(argv[n], "-C"))
			require_client_cert = 1;
		else if (!strcmp(argv[n], "-V"))
			refuse_client_certs = 1;
		else if (!strcmp(argv[n], "-N"))
			no_global_init = 1;
	}
	if (info.ssl_cert_filepath && !no_global_init)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (require_client_cert)
		info.options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
	info.protocols = protocols;
	return run_server(&info);
}
