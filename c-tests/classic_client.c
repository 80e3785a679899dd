/*
 * A client written the way lws 2.0's own test-client is: its protocols are
 * named by the lists they ask for ("dumb-increment-protocol,
 * fake-nonexistant-protocol" and "fake-nonexistant-protocol,
 * lws-mirror-protocol"), and connect_info.protocol is that name. The mirror
 * connection draws random circles ("c #RRGGBB x y r;") as fast as it may
 * write and counts those the mirror sends back; the dumb-increment
 * connection counts the numbers it receives.
 *
 *   classic_client [-s] [-n CIRCLES] [-w SECS] HOST PORT            ws mode
 *   classic_client [-s] -g PATH HOST PORT               HTTP GET of PATH
 *   classic_client [-s] -P PATH BODY HOST PORT   HTTP POST (urlencoded)
 *
 * ws mode prints "dumb established <protocol>", "mirror established
 * <protocol>", then "numbers N" and "circles N" and exits 0 once 20 numbers
 * and all CIRCLES circles came back. HTTP mode reads the body in 1024-byte
 * lws_http_client_read calls (as test-client does), prints it, then
 * "completed BYTES MS" (MS: from ESTABLISHED_CLIENT_HTTP to
 * COMPLETED_CLIENT_HTTP). Errors print "connection error: TEXT".
 * -s: TLS, allowing a self-signed certificate for another host name.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static struct lws *wsi_dumb, *wsi_mirror, *wsi_http;
static volatile int force_exit;
static int numbers, circles_sent, circles_back, circles_wanted = 100;
static int failed, http_done, http_bytes;
static const char *post_body;
static struct timeval http_start;
static char sent_circles[16][80];

static long
ms_since(const struct timeval *t0)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_usec - t0->tv_usec) / 1000;
}

static int
callback_dumb_increment(struct lws *wsi, enum lws_callback_reasons reason,
			void *user, void *in, size_t len)
{
	char buffer[1024 + LWS_PRE], *px = buffer + LWS_PRE;
	int lenx = sizeof(buffer) - LWS_PRE;
	unsigned char **p = (unsigned char **)in, *end;
	char clen[16];

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		printf("dumb established %s\n", lws_get_protocol(wsi)->name);
		break;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		((char *)in)[len] = '\0';
		if (atoi(in) != numbers) {
			printf("unexpected number '%s', wanted %d\n", (char *)in, numbers);
			failed = 1;
		}
		numbers++;
		break;

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		printf("connection error: %s\n", in ? (char *)in : "(null)");
		failed = 1;
		if (wsi == wsi_dumb)
			wsi_dumb = NULL;
		if (wsi == wsi_mirror)
			wsi_mirror = NULL;
		if (wsi == wsi_http)
			wsi_http = NULL;
		break;

	case LWS_CALLBACK_CLOSED:
		wsi_dumb = NULL;
		break;

	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (!post_body)
			break;
		end = *p + len;
		snprintf(clen, sizeof(clen), "%d", (int)strlen(post_body));
		if (lws_add_http_header_by_token(wsi,
				WSI_TOKEN_HTTP_CONTENT_TYPE,
				(unsigned char *)"application/x-www-form-urlencoded",
				33, p, end) ||
		    lws_add_http_header_by_token(wsi,
				WSI_TOKEN_HTTP_CONTENT_LENGTH,
				(unsigned char *)clen, strlen(clen), p, end))
			return -1;
		lws_client_http_body_pending(wsi, 1);
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
		if (!post_body)
			break;
		snprintf(buffer + LWS_PRE, sizeof(buffer) - LWS_PRE, "%s", post_body);
		if (lws_write(wsi, (unsigned char *)buffer + LWS_PRE,
			      strlen(post_body), LWS_WRITE_HTTP) < 0)
			return -1;
		lws_client_http_body_pending(wsi, 0);
		post_body = NULL;
		break;

	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		gettimeofday(&http_start, NULL);
		printf("established http\n");
		break;

	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		if (lws_http_client_read(wsi, &px, &lenx) < 0)
			return -1;
		break;

	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		fwrite(in, 1, len, stdout);
		http_bytes += (int)len;
		break;

	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		printf("\ncompleted %d %ld\n", http_bytes, ms_since(&http_start));
		http_done = 1;
		break;

	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		wsi_http = NULL;
		break;

	default:
		break;
	}

	return 0;
}

static int
callback_lws_mirror(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	unsigned char buf[LWS_PRE + 64];
	unsigned int rands[4];
	int l, n;

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		printf("mirror established %s\n", lws_get_protocol(wsi)->name);
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_CLOSED:
		wsi_mirror = NULL;
		break;

	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (circles_sent == circles_wanted)
			break;
		lws_get_random(lws_get_context(wsi), rands, sizeof(rands));
		l = sprintf((char *)&buf[LWS_PRE], "c #%06X %u %u %u;",
			    rands[0] & 0xffffff, rands[1] & 511, rands[2] & 255,
			    (rands[3] & 31) + 1);
		snprintf(sent_circles[circles_sent % 16], sizeof(sent_circles[0]),
			 "%s", (char *)&buf[LWS_PRE]);
		n = lws_write(wsi, &buf[LWS_PRE], l, LWS_WRITE_TEXT);
		if (n < 0)
			return -1;
		if (n < l) {
			lwsl_err("Partial write LWS_CALLBACK_CLIENT_WRITEABLE\n");
			return -1;
		}
		circles_sent++;
		/* the mirror sends each circle back: at most 16 in flight */
		if (circles_sent - circles_back < 16)
			lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (circles_back >= circles_sent ||
		    len != strlen(sent_circles[circles_back % 16]) ||
		    memcmp(in, sent_circles[circles_back % 16], len)) {
			printf("unexpected mirror message '%.*s'\n", (int)len, (char *)in);
			failed = 1;
			break;
		}
		circles_back++;
		lws_callback_on_writable(wsi);
		break;

	default:
		break;
	}

	return 0;
}

enum demo_protocols { PROTOCOL_DUMB_INCREMENT, PROTOCOL_LWS_MIRROR };

static struct lws_protocols protocols[] = {
	{ "dumb-increment-protocol,fake-nonexistant-protocol",
	  callback_dumb_increment, 0, 20, 0, NULL },
	{ "fake-nonexistant-protocol,lws-mirror-protocol",
	  callback_lws_mirror, 0, 128, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

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
	struct lws_client_connect_info i;
	struct lws_context *context;
	const char *get_path = NULL, *post_path = NULL;
	int n, use_ssl = 0, secs = 10;
	struct timeval t0;

	memset(&info, 0, sizeof info);
	memset(&i, 0, sizeof(i));
	for (n = 1; n < argc && argv[n][0] == '-'; n++) {
		if (!strcmp(argv[n], "-s"))
			use_ssl = LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
				  LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
		else if (!strcmp(argv[n], "-n") && n + 1 < argc)
			circles_wanted = atoi(argv[++n]);
		else if (!strcmp(argv[n], "-w") && n + 1 < argc)
			secs = atoi(argv[++n]);
		else if (!strcmp(argv[n], "-g") && n + 1 < argc)
			get_path = argv[++n];
		else if (!strcmp(argv[n], "-P") && n + 2 < argc) {
			post_path = argv[++n];
			post_body = argv[++n];
		}
	}
	if (n + 2 != argc) {
		fprintf(stderr, "usage: classic_client [-s] [-n N] [-w S] "
			"[-g PATH | -P PATH BODY] HOST PORT\n");
		return 2;
	}

	signal(SIGINT, sighandler);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	if (use_ssl)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	context = lws_create_context(&info);
	if (context == NULL) {
		fprintf(stderr, "Creating libwebsocket context failed\n");
		return 1;
	}

	i.context = context;
	i.address = argv[n];
	i.port = atoi(argv[n + 1]);
	i.ssl_connection = use_ssl;
	i.host = i.address;
	i.origin = i.address;
	i.ietf_version_or_minus_one = -1;

	if (get_path || post_path) {
		i.path = get_path ? get_path : post_path;
		i.method = get_path ? "GET" : "POST";
		i.pwsi = &wsi_http;
		lws_client_connect_via_info(&i);
	} else {
		i.path = "/";
		i.protocol = protocols[PROTOCOL_DUMB_INCREMENT].name;
		i.pwsi = &wsi_dumb;
		lws_client_connect_via_info(&i);
		i.protocol = protocols[PROTOCOL_LWS_MIRROR].name;
		i.pwsi = &wsi_mirror;
		lws_client_connect_via_info(&i);
	}

	gettimeofday(&t0, NULL);
	while (!force_exit && !failed && ms_since(&t0) < secs * 1000) {
		if (get_path || post_path) {
			if (http_done || !wsi_http)
				break;
		} else {
			if (!wsi_dumb || !wsi_mirror)
				break;
			if (numbers >= 20 && circles_back == circles_wanted)
				break;
		}
		lws_service(context, 50);
	}
	if (!get_path && !post_path)
		printf("numbers %d\ncircles %d\n", numbers, circles_back);

	lws_context_destroy(context);

	if (get_path || post_path)
		return !(http_done && !failed);
	return !(numbers >= 20 && circles_back == circles_wanted && !failed);
}
