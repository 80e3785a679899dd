/*
 * The server half of lws 2.0's test-echo, as written: each message is
 * copied into the pss, rx flow is stopped until WRITEABLE has echoed it,
 * and the length field is then set to -1 - so a WRITEABLE the program did
 * not ask for (the one lws sends after rx flow is allowed again) makes it
 * call lws_write with (size_t)(unsigned int)-1. That must cost at most this
 * connection, never the process.
 *
 *   classic_echo -p PORT
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ECHO_PAYLOAD 1024

struct per_session_data__echo {
	size_t rx, tx;
	unsigned char buf[LWS_PRE + MAX_ECHO_PAYLOAD];
	unsigned int len;
	unsigned int index;
	int final;
	int continuation;
	int binary;
};

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct per_session_data__echo *pss = user;
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->index = 0;
		pss->len = -1;
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		n = LWS_WRITE_CONTINUATION;
		if (!pss->continuation) {
			n = pss->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
			pss->continuation = 1;
		}
		if (!pss->final)
			n |= LWS_WRITE_NO_FIN;
		pss->tx += pss->len;
		n = lws_write(wsi, &pss->buf[LWS_PRE], pss->len, n);
		if (n < 0) {
			lwsl_err("ERROR %d writing to socket, hanging up\n", n);
			printf("write failed\n");
			fflush(stdout);
			return 1;
		}
		if (n < (int)pss->len) {
			lwsl_err("Partial write\n");
			return -1;
		}
		pss->len = -1;
		if (pss->final)
			pss->continuation = 0;
		lws_rx_flow_control(wsi, 1);
		break;

	case LWS_CALLBACK_RECEIVE:
		if (len > MAX_ECHO_PAYLOAD)
			return -1;
		pss->final = lws_is_final_fragment(wsi);
		pss->binary = lws_frame_is_binary(wsi);
		memcpy(&pss->buf[LWS_PRE], in, len);
		pss->len = (unsigned int)len;
		pss->rx += len;
		lws_rx_flow_control(wsi, 0);
		lws_callback_on_writable(wsi);
		break;

	default:
		break;
	}

	return 0;
}

static struct lws_protocols protocols[] = {
	{ "", callback_echo, sizeof(struct per_session_data__echo), 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static volatile int force_exit;

static void
sighandler(int sig)
{
	(void)sig;
	force_exit = 1;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *context;
	int n;

	memset(&info, 0, sizeof info);
	info.port = 7681;
	for (n = 1; n + 1 < argc; n += 2)
		if (!strcmp(argv[n], "-p"))
			info.port = atoi(argv[n + 1]);
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;

	signal(SIGINT, sighandler);
	signal(SIGTERM, sighandler);
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		return 1;
	}
	printf("port %d\n", info.port);
	fflush(stdout);
	n = 0;
	while (n >= 0 && !force_exit)
		n = lws_service(context, 10);
	lws_context_destroy(context);
	printf("destroyed\n");
	return 0;
}
