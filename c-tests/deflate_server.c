/*
 * A WebSocket echo server with permessage-deflate registered the way lws
 * applications (lws' test-server, test-echo) do it:
 *
 *   info.extensions = { "permessage-deflate", lws_extension_callback_pm_deflate,
 *                       "permessage-deflate; client_no_context_takeover;
 *                        client_max_window_bits" }
 *
 *   deflate_server [-p PORT] [--mode flow|whole|count] [--rx N] [--no-ext]
 *                  [--refuse] [--set NAME=VALUE]... [--validate-utf8]
 *
 * -p 0 picks a free port; "port N" is printed once listening. It builds
 * against our lws 2.0 and against lws 4.x (Debian's 4.1) alike.
 *
 * Modes (protocol 0, "echo", is the only protocol):
 *   flow   lws test-echo style: each RECEIVE chunk is copied,
 *          lws_rx_flow_control(wsi, 0), lws_callback_on_writable; WRITEABLE
 *          writes it back with TEXT / BINARY / CONTINUATION and NO_FIN from
 *          lws_frame_is_binary / lws_is_final_fragment, then
 *          lws_rx_flow_control(wsi, 1). A RECEIVE that arrives while rx flow
 *          is off is counted as an error (and queued, so nothing is lost).
 *   whole  messages are reassembled (up to 32 MiB, beyond: close 1009) and
 *          each echoed with one lws_write; reception is paused while more
 *          than 4 MiB wait to be written.
 *   count  nothing is echoed: messages and bytes are counted; a text
 *          message "count" is answered "<messages> <bytes>".
 * In every mode a text message "stats" (in one chunk) is answered
 * "messages=M bytes=B chunks=C maxchunk=X errors=E" and neither it nor
 * "count" is counted. errors counts RECEIVEs that break the API's promises:
 * one during rx flow off (flow mode), lws_frame_is_binary changing inside a
 * message, lws_remaining_packet_payload != 0 on a message's last chunk.
 *
 * Options:
 *   --rx N            protocol rx_buffer_size
 *   --no-ext          no info.extensions
 *   --refuse          LWS_CALLBACK_CONFIRM_EXTENSION_OKAY returns 1
 *   --set NAME=VALUE  lws_set_extension_option(wsi, "permessage-deflate",
 *                     NAME, VALUE) in ESTABLISHED; prints
 *                     "set NAME=VALUE -> RET" (one line per option and
 *                     connection); several --set allowed
 *   --direct NAME=VALUE  the same through the extension's callback, as an
 *                     application may call it: lws_extension_callback_pm_deflate
 *                     (context, ext, wsi, LWS_EXT_CB_NAMED_OPTION_SET, NULL,
 *                     &(struct lws_ext_option_arg){NAME, 0, VALUE, len}, 0);
 *                     prints "direct NAME=VALUE -> RET" (our library only:
 *                     the original wants its private per-connection data as
 *                     `user`)
 *   --validate-utf8   LWS_SERVER_OPTION_VALIDATE_UTF8
 * stdout also gets "filter" for each FILTER_PROTOCOL_CONNECTION, "confirm
 * <in> pss=<0|1>" for each CONFIRM_EXTENSION_OKAY, "established" for each
 * ESTABLISHED and, at CLOSED, "closed messages=M
 * bytes=B chunks=C maxchunk=X errors=E".
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WHOLE (32u * 1024u * 1024u)
#define WHOLE_QUEUE_PAUSE (4u * 1024u * 1024u)

enum mode { MODE_FLOW, MODE_WHOLE, MODE_COUNT };

static enum mode mode = MODE_FLOW;
static int refuse;
static const char *set_opts[16], *direct_opts[16];
static int nset, ndirect;
static const struct lws_extension exts[];

struct chunk {
	struct chunk *next;
	size_t len;
	int wmode;
	unsigned char buf[]; /* LWS_PRE + payload */
};

struct pss {
	struct chunk *head, *tail;
	size_t queued;
	int paused;		/* rx flow is off */
	int in_message;		/* a message's first chunk was seen, not its last */
	int binary;		/* of the current message */
	unsigned char *msg;	/* whole mode: the message being reassembled */
	size_t msg_len, msg_cap;
	unsigned long messages, chunks, errors;
	unsigned long long bytes;
	size_t maxchunk;
};

static int
queue(struct lws *wsi, struct pss *pss, const void *data, size_t len, int wmode)
{
	struct chunk *c = malloc(sizeof(*c) + LWS_PRE + len);

	if (!c)
		return -1;
	c->next = NULL;
	c->len = len;
	c->wmode = wmode;
	if (len)
		memcpy(c->buf + LWS_PRE, data, len);
	if (pss->tail)
		pss->tail->next = c;
	else
		pss->head = c;
	pss->tail = c;
	pss->queued += len;
	lws_callback_on_writable(wsi);
	return 0;
}

static void
free_all(struct pss *pss)
{
	while (pss->head) {
		struct chunk *c = pss->head;
		pss->head = c->next;
		free(c);
	}
	pss->tail = NULL;
	pss->queued = 0;
	free(pss->msg);
	pss->msg = NULL;
	pss->msg_len = pss->msg_cap = 0;
}

static void
pause_rx(struct lws *wsi, struct pss *pss)
{
	if (!pss->paused) {
		pss->paused = 1;
		lws_rx_flow_control(wsi, 0);
	}
}

static void
resume_rx(struct lws *wsi, struct pss *pss)
{
	if (pss->paused) {
		pss->paused = 0;
		lws_rx_flow_control(wsi, 1);
	}
}

static int
command(struct lws *wsi, struct pss *pss, const char *in, size_t len)
{
	char text[200];
	int n;

	if (len == 5 && !memcmp(in, "stats", 5))
		n = snprintf(text, sizeof(text), "messages=%lu bytes=%llu chunks=%lu maxchunk=%zu errors=%lu",
			     pss->messages, pss->bytes, pss->chunks, pss->maxchunk, pss->errors);
	else if (mode == MODE_COUNT && len == 5 && !memcmp(in, "count", 5))
		n = snprintf(text, sizeof(text), "%lu %llu", pss->messages, pss->bytes);
	else
		return 1;
	if (queue(wsi, pss, text, (size_t)n, LWS_WRITE_TEXT))
		return -1;
	if (mode == MODE_FLOW)
		pause_rx(wsi, pss);
	return 0;
}

static int
receive(struct lws *wsi, struct pss *pss, void *in, size_t len)
{
	int final = lws_is_final_fragment(wsi);
	int binary = lws_frame_is_binary(wsi);
	int first = !pss->in_message;
	int wmode, n;

	if (mode == MODE_FLOW && pss->paused) {
		lwsl_err("RECEIVE while rx flow control is off\n");
		pss->errors++;
	}
	if (first && final && !binary && len <= 5) {
		n = command(wsi, pss, in, len);
		if (n <= 0)
			return n;
	}
	if (first)
		pss->binary = binary;
	else if (binary != pss->binary) {
		lwsl_err("lws_frame_is_binary changed inside a message\n");
		pss->errors++;
	}
	if (final && lws_remaining_packet_payload(wsi)) {
		lwsl_err("lws_remaining_packet_payload %zu on a final chunk\n",
			 lws_remaining_packet_payload(wsi));
		pss->errors++;
	}
	pss->in_message = !final;
	pss->chunks++;
	pss->bytes += len;
	if (len > pss->maxchunk)
		pss->maxchunk = len;
	if (final)
		pss->messages++;

	switch (mode) {
	case MODE_FLOW:
		wmode = first ? (binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) : LWS_WRITE_CONTINUATION;
		if (!final)
			wmode |= LWS_WRITE_NO_FIN;
		if (queue(wsi, pss, in, len, wmode))
			return -1;
		pause_rx(wsi, pss);
		return 0;

	case MODE_WHOLE:
		if (pss->msg_len + len > MAX_WHOLE) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"too big", 7);
			return -1;
		}
		if (pss->msg_len + len > pss->msg_cap) {
			size_t cap = pss->msg_cap ? pss->msg_cap : 4096;
			unsigned char *m;

			while (cap < pss->msg_len + len)
				cap *= 2;
			m = realloc(pss->msg, cap);
			if (!m)
				return -1;
			pss->msg = m;
			pss->msg_cap = cap;
		}
		if (len)
			memcpy(pss->msg + pss->msg_len, in, len);
		pss->msg_len += len;
		if (final) {
			if (queue(wsi, pss, pss->msg, pss->msg_len,
				  pss->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT))
				return -1;
			pss->msg_len = 0;
			if (pss->msg_cap > 65536) {
				free(pss->msg);
				pss->msg = NULL;
				pss->msg_cap = 0;
			}
			if (pss->queued > WHOLE_QUEUE_PAUSE)
				pause_rx(wsi, pss);
		}
		return 0;

	case MODE_COUNT:
		return 0;
	}
	return 0;
}

static int
writeable(struct lws *wsi, struct pss *pss)
{
	int n;

	while (pss->head) {
		struct chunk *c = pss->head;

		n = lws_write(wsi, c->buf + LWS_PRE, c->len, (enum lws_write_protocol)c->wmode);
		if (n < (int)c->len) {
			lwsl_err("lws_write returned %d for %zu\n", n, c->len);
			return -1;
		}
		pss->head = c->next;
		if (!pss->head)
			pss->tail = NULL;
		pss->queued -= c->len;
		free(c);
		/* flow mode writes one chunk per WRITEABLE, as test-echo does */
		if (mode == MODE_FLOW || lws_send_pipe_choked(wsi))
			break;
	}
	if (mode == MODE_FLOW) {
		if (!pss->head)
			resume_rx(wsi, pss);
	} else if (pss->paused && pss->queued <= WHOLE_QUEUE_PAUSE / 2)
		resume_rx(wsi, pss);
	if (pss->head)
		lws_callback_on_writable(wsi);
	return 0;
}

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	int n, i;

	switch (reason) {
	case LWS_CALLBACK_CONFIRM_EXTENSION_OKAY:
		printf("confirm %s pss=%d\n", in ? (const char *)in : "(null)", user != NULL);
		fflush(stdout);
		return refuse;

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		printf("filter\n");
		fflush(stdout);
		return 0;

	case LWS_CALLBACK_ESTABLISHED:
		printf("established\n");
		for (i = 0; i < nset + ndirect; i++) {
			const char *opt = i < nset ? set_opts[i] : direct_opts[i - nset];
			const char *eq = strchr(opt, '='), *val = eq ? eq + 1 : "";
			size_t nl = eq ? (size_t)(eq - opt) : strlen(opt);
			char name[64];

			if (nl >= sizeof(name))
				nl = sizeof(name) - 1;
			memcpy(name, opt, nl);
			name[nl] = '\0';
			if (i < nset) {
				n = lws_set_extension_option(wsi, "permessage-deflate", name, val);
				printf("set %s -> %d\n", opt, n);
			} else {
				struct lws_ext_option_arg oa;

				memset(&oa, 0, sizeof(oa));
				oa.option_name = name;
				oa.start = val;
				oa.len = (int)strlen(val);
				n = lws_extension_callback_pm_deflate(lws_get_context(wsi), &exts[0], wsi,
								      LWS_EXT_CB_NAMED_OPTION_SET, NULL, &oa, 0);
				printf("direct %s -> %d\n", opt, n);
			}
		}
		fflush(stdout);
		return 0;

	case LWS_CALLBACK_RECEIVE:
		return receive(wsi, pss, in, len);

	case LWS_CALLBACK_SERVER_WRITEABLE:
		return writeable(wsi, pss);

	case LWS_CALLBACK_CLOSED:
		printf("closed messages=%lu bytes=%llu chunks=%lu maxchunk=%zu errors=%lu\n",
		       pss->messages, pss->bytes, pss->chunks, pss->maxchunk, pss->errors);
		fflush(stdout);
		free_all(pss);
		return 0;

	case LWS_CALLBACK_HTTP:
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return -1;

	default:
		return 0;
	}
}

static struct lws_protocols protocols[] = {
	{ "echo", callback_echo, sizeof(struct pss), 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static const struct lws_extension exts[] = {
	{ "permessage-deflate", lws_extension_callback_pm_deflate,
	  "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
	{ NULL, NULL, NULL }
};

static volatile int interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *context;
	int n, port, no_ext = 0;

	memset(&info, 0, sizeof info);
	info.port = 7681;
	info.gid = -1;
	info.uid = -1;
	for (n = 1; n < argc; n++) {
		if (!strcmp(argv[n], "-p") && n + 1 < argc)
			info.port = atoi(argv[++n]);
		else if (!strcmp(argv[n], "--mode") && n + 1 < argc) {
			n++;
			if (!strcmp(argv[n], "flow"))
				mode = MODE_FLOW;
			else if (!strcmp(argv[n], "whole"))
				mode = MODE_WHOLE;
			else if (!strcmp(argv[n], "count"))
				mode = MODE_COUNT;
			else {
				fprintf(stderr, "unknown mode %s\n", argv[n]);
				return 64;
			}
		} else if (!strcmp(argv[n], "--rx") && n + 1 < argc)
			protocols[0].rx_buffer_size = (size_t)atol(argv[++n]);
		else if (!strcmp(argv[n], "--no-ext"))
			no_ext = 1;
		else if (!strcmp(argv[n], "--refuse"))
			refuse = 1;
		else if (!strcmp(argv[n], "--set") && n + 1 < argc) {
			if (nset < (int)(sizeof(set_opts) / sizeof(set_opts[0])))
				set_opts[nset++] = argv[++n];
		} else if (!strcmp(argv[n], "--direct") && n + 1 < argc) {
			if (ndirect < (int)(sizeof(direct_opts) / sizeof(direct_opts[0])))
				direct_opts[ndirect++] = argv[++n];
		} else if (!strcmp(argv[n], "--validate-utf8"))
			info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8;
		else {
			fprintf(stderr, "unknown option %s\n", argv[n]);
			return 64;
		}
	}
	info.protocols = protocols;
	if (!no_ext)
		info.extensions = exts;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		return 1;
	}
#if LWS_LIBRARY_VERSION_MAJOR >= 3
	port = lws_get_vhost_listen_port(lws_get_vhost_by_name(context, "default"));
#else
	port = info.port;
#endif
	printf("port %d\n", port);
	fflush(stdout);
	while (!interrupted)
		if (lws_service(context, 100) < 0)
			break;
	lws_context_destroy(context);
	printf("destroyed\n");
	return 0;
}
