/*
 * A client written the way lws 2.0 applications are, against a server given
 * on the command line:
 *
 *   ws_client ws   HOST PORT PATH PROTOCOL COUNT SIZE   echo test: send COUNT
 *                  messages of SIZE bytes (text), check each echo, close
 *   ws_client http HOST PORT PATH [METHOD [BODY]]      HTTP request: print
 *                  the status and the body (de-chunked) to stdout
 *
 * Prints "established", "received N bytes ok", "closed" or
 * "connection error: <text>" lines; exits 0 when everything expected
 * happened. Gives up after 10 s.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int done, failed, sent, received, count, size, http_mode;
static const char *body;
static size_t body_len;
static unsigned char *message, *assembled;
static size_t assembled_len;
static struct lws *client_wsi;

static void
fill(unsigned char *p, int n, int seq)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)('a' + (i + seq) % 26);
}

static int
callback_client(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	unsigned char *expect;
	char buf[LWS_PRE + 4096], *px;
	int n;

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		printf("established\n");
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (sent >= count || sent > received)
			break;
		fill(message + LWS_PRE, size, sent);
		if (lws_write(wsi, message + LWS_PRE, (size_t)size, LWS_WRITE_TEXT) < size)
			return -1;
		sent++;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		/* a message may come in several chunks: collect it */
		if (assembled_len + len > (size_t)size) {
			printf("echo %d too long\n", received);
			failed = 1;
			return -1;
		}
		memcpy(assembled + assembled_len, in, len);
		assembled_len += len;
		if (!lws_is_final_fragment(wsi))
			break;
		in = assembled;
		len = assembled_len;
		assembled_len = 0;
		expect = malloc((size_t)size);
		if (!expect)
			return -1;
		fill(expect, size, received);
		n = (int)len != size || memcmp(in, expect, len);
		free(expect);
		if (n) {
			printf("bad echo %d (%zu bytes)\n", received, len);
			failed = 1;
			return -1;
		}
		received++;
		if (received == count) {
			printf("received %d messages ok\n", received);
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
			return -1;
		}
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		printf("connection error: %s\n", in ? (char *)in : "(null)");
		failed = 1;
		done = 1;
		break;
	case LWS_CALLBACK_CLOSED:
		printf("closed\n");
		done = 1;
		break;

	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (http_mode && body) {
			char **p = (char **)in;
			if (len < 40)
				return -1;
			*p += sprintf(*p, "Content-Length: %zu\r\n", body_len);
			lws_client_http_body_pending(wsi, 1);
			lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
		memcpy(buf + LWS_PRE, body, body_len);
		if (lws_write(wsi, (unsigned char *)buf + LWS_PRE, body_len, LWS_WRITE_HTTP) < (int)body_len)
			return -1;
		lws_client_http_body_pending(wsi, 0);
		break;
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		n = lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP);
		printf("status %s\n", n > 0 ? buf : "?");
		break;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		px = buf + LWS_PRE;
		n = sizeof(buf) - LWS_PRE;
		if (lws_http_client_read(wsi, &px, &n) < 0)
			return -1;
		break;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		fwrite(in, 1, len, stdout);
		break;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		printf("\ncompleted\n");
		done = 1;
		break;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		printf("closed http\n");
		done = 1;
		break;
	default:
		break;
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "client", callback_client, 0, 1 << 16, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	struct lws_context *context;
	time_t start = time(NULL);

	if (argc < 5) {
		fprintf(stderr, "usage: see the header comment\n");
		return 2;
	}
	http_mode = !strcmp(argv[1], "http");
	/* the protocol the server will pick must exist here by that name */
	if (!http_mode && argc > 5)
		protocols[0].name = argv[5];
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	context = lws_create_context(&info);
	if (!context)
		return 1;

	memset(&ci, 0, sizeof ci);
	ci.context = context;
	ci.address = argv[2];
	ci.port = atoi(argv[3]);
	ci.path = argv[4];
	ci.host = ci.address;
	ci.origin = ci.address;
	ci.ietf_version_or_minus_one = -1;
	ci.pwsi = &client_wsi;
	if (http_mode) {
		ci.method = argc > 5 ? argv[5] : "GET";
		body = argc > 6 ? argv[6] : NULL;
		body_len = body ? strlen(body) : 0;
	} else {
		ci.protocol = argc > 5 ? argv[5] : NULL;
		count = argc > 6 ? atoi(argv[6]) : 1;
		size = argc > 7 ? atoi(argv[7]) : 16;
		message = malloc(LWS_PRE + (size_t)size);
		assembled = malloc((size_t)size);
	}
	if (!lws_client_connect_via_info(&ci)) {
		printf("connect failed at once (pwsi %s)\n", client_wsi ? "set" : "NULL");
		failed = 1;
		done = 1;
	}
	while (!done && time(NULL) - start < 10)
		lws_service(context, 50);
	lws_context_destroy(context);
	free(message);
	free(assembled);
	if (!done)
		printf("timed out\n");
	return failed || !done;
}
