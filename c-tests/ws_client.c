/*
 * A client written the way lws 2.0 applications are, against a server given
 * on the command line:
 *
 *   ws_client [OPTIONS] ws    HOST PORT PATH PROTOCOL COUNT SIZE
 *       echo test: send COUNT messages of SIZE bytes (text, or binary with
 *       -b) one after the other, check each echo byte for byte, then close
 *       with lws_close_reason(1000, "done")
 *   ws_client [OPTIONS] multi HOST PORT PROTOCOL N COUNT SIZE
 *       the echo test on N connections opened at once in one context
 *       (path "/"); each connection keeps its state in its pss
 *   ws_client [OPTIONS] recv  HOST PORT PATH PROTOCOL [MESSAGE]
 *       sends MESSAGE (text) once if given, then prints one line per
 *       received message until the connection closes:
 *       "recv LEN text|binary frames=F [payload if printable, <= 200 B]"
 *   ws_client [OPTIONS] http  HOST PORT PATH [METHOD [BODY]]
 *       HTTP request: prints "status <code>", the body (de-chunked) to
 *       stdout, then "\ncompleted\n" (or "\neof\n" when the server ends a
 *       body without length), and closes. BODY "@FILE" sends FILE's bytes.
 *
 * Options:
 *   -t SECS   info.timeout_secs (the wait for the server's reply)
 *   -l FILE   callback log: one line "<reason> <wsi-number>" per callback
 *             (GET_THREAD_ID excluded)
 *   -w SECS   give up after SECS (default 10)
 *   -b        binary messages in ws/multi mode
 *   -s FLAGS  TLS: ci.ssl_connection = FLAGS (LCCSCF_USE_SSL 1,
 *             ALLOW_SELFSIGNED 2, SKIP_SERVER_CERT_HOSTNAME_CHECK 4), with
 *             LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT on the context
 *   -D        LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS on the context
 * Built with -DWS_CLIENT_OPENSSL (and linked with -lssl -lcrypto):
 *   -A CAFILE loads CAFILE into the client SSL_CTX lws passes as `user` at
 *             LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS
 *   -X CAFILE info.provided_client_ssl_ctx = an SSL_CTX of its own
 *             (SSL_CTX_new(TLS_client_method()), CAFILE as verify
 *             locations, the verify mode left as OpenSSL's default), freed
 *             after lws_context_destroy
 *
 * Prints "established", "received N messages ok", "peer close <code>
 * <reason>", "pong <len>", "closed", "connection error: <text>", "status
 * <code>", "completed", "closed http" lines; exits 0 when everything
 * expected happened.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#ifdef WS_CLIENT_OPENSSL
#include <openssl/ssl.h>
#endif

enum { MODE_WS, MODE_MULTI, MODE_RECV, MODE_HTTP };

static int mode, binary, count, size, nconns;
static int done, failed, live, closed_ws, ok_conns, errors;
static const char *recv_message;
static unsigned char *body;
static size_t body_len, body_sent;
static int http_completed;
static struct lws *client_wsi;
#include "cblog.h"
static int ssl_flags;
static const char *extra_ca;    /* -A */
static const char *provided_ca; /* -X */

/* per connection (ws, multi and recv modes) */
struct pss {
	int established;
	int sent, received;
	int frames;
	unsigned char *message;   /* LWS_PRE + size */
	unsigned char *assembled; /* size (recv mode: grows) */
	size_t assembled_len, assembled_cap;
};

static double
now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void
fill(unsigned char *p, int n, int seq)
{
	int i;

	if (binary)
		for (i = 0; i < n; i++)
			p[i] = (unsigned char)((i * 7 + seq * 13 + (i >> 8)) & 0xff);
	else
		for (i = 0; i < n; i++)
			p[i] = (unsigned char)('a' + (i + seq) % 26);
}

static int
printable(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isprint(p[i]))
			return 0;
	return 1;
}

static void
conn_finished(void)
{
	if (closed_ws + errors >= nconns)
		done = 1;
}

static int
echo_receive(struct lws *wsi, struct pss *pss, void *in, size_t len)
{
	unsigned char *expect;
	int n;

	/* a message may come in several chunks: collect it */
	if (pss->assembled_len + len > (size_t)size) {
		printf("echo %d too long\n", pss->received);
		failed = 1;
		return -1;
	}
	memcpy(pss->assembled + pss->assembled_len, in, len);
	pss->assembled_len += len;
	if (!lws_is_final_fragment(wsi))
		return 0;
	if (!lws_frame_is_binary(wsi) != !binary) {
		printf("echo %d has the wrong type\n", pss->received);
		failed = 1;
		return -1;
	}
	expect = malloc((size_t)size + 1);
	if (!expect)
		return -1;
	fill(expect, size, pss->received);
	n = pss->assembled_len != (size_t)size || memcmp(pss->assembled, expect, (size_t)size);
	free(expect);
	if (n) {
		printf("bad echo %d (%zu bytes)\n", pss->received, pss->assembled_len);
		failed = 1;
		return -1;
	}
	pss->assembled_len = 0;
	pss->received++;
	if (pss->received == count) {
		ok_conns++;
		if (mode == MODE_WS)
			printf("received %d messages ok\n", pss->received);
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
		return -1;
	}
	lws_callback_on_writable(wsi);
	return 0;
}

static int
recv_receive(struct lws *wsi, struct pss *pss, void *in, size_t len)
{
	if (pss->assembled_len + len + 1 > pss->assembled_cap) {
		size_t cap = (pss->assembled_len + len + 1) * 2;
		unsigned char *p = realloc(pss->assembled, cap);
		if (!p)
			return -1;
		pss->assembled = p;
		pss->assembled_cap = cap;
	}
	memcpy(pss->assembled + pss->assembled_len, in, len);
	pss->assembled_len += len;
	if (!lws_remaining_packet_payload(wsi))
		pss->frames++;
	if (!lws_is_final_fragment(wsi))
		return 0;
	printf("recv %zu %s frames=%d", pss->assembled_len,
	       lws_frame_is_binary(wsi) ? "binary" : "text", pss->frames);
	if (pss->assembled_len <= 200 && printable(pss->assembled, pss->assembled_len)) {
		putchar(' ');
		fwrite(pss->assembled, 1, pss->assembled_len, stdout);
	}
	putchar('\n');
	fflush(stdout);
	pss->assembled_len = 0;
	pss->frames = 0;
	pss->received++;
	return 0;
}

static int
callback_client(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	char buf[LWS_PRE + 4096], *px;
	size_t i, chunk;
	int n;

	if (reason != LWS_CALLBACK_GET_THREAD_ID)
		log_cb(wsi, reason);
	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
#ifdef WS_CLIENT_OPENSSL
		if (extra_ca && SSL_CTX_load_verify_locations((SSL_CTX *)user, extra_ca, NULL) != 1) {
			printf("cannot load %s\n", extra_ca);
			failed = 1;
		}
#endif
		break;
	case LWS_CALLBACK_WSI_CREATE:
		live++;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		live--;
		break;

	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		if (mode != MODE_HTTP && !pss) {
			printf("no pss in CLIENT_FILTER_PRE_ESTABLISH\n");
			failed = 1;
		}
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!pss || pss != lws_wsi_user(wsi)) {
			printf("bad pss in CLIENT_ESTABLISHED\n");
			failed = 1;
			return -1;
		}
		for (i = 0; i < sizeof(*pss); i++)
			if (((unsigned char *)pss)[i]) {
				printf("pss not zeroed\n");
				failed = 1;
				break;
			}
		pss->established = 1;
		if (mode != MODE_MULTI)
			printf("established\n");
		fflush(stdout);
		if (mode == MODE_RECV) {
			if (recv_message)
				lws_callback_on_writable(wsi);
			break;
		}
		pss->message = malloc(LWS_PRE + (size_t)size);
		pss->assembled = malloc((size_t)size + 1);
		if (!pss->message || !pss->assembled)
			return -1;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (mode == MODE_RECV) {
			if (recv_message && !pss->sent) {
				n = (int)strlen(recv_message);
				memcpy(buf + LWS_PRE, recv_message, (size_t)n);
				if (lws_write(wsi, (unsigned char *)buf + LWS_PRE, (size_t)n,
					      LWS_WRITE_TEXT) < n)
					return -1;
				pss->sent = 1;
			}
			break;
		}
		if (pss->sent >= count || pss->sent > pss->received)
			break;
		/* lws masks the payload in place: fill it every time */
		fill(pss->message + LWS_PRE, size, pss->sent);
		if (lws_write(wsi, pss->message + LWS_PRE, (size_t)size,
			      binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < size)
			return -1;
		pss->sent++;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (mode == MODE_RECV)
			return recv_receive(wsi, pss, in, len);
		return echo_receive(wsi, pss, in, len);
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		printf("pong %zu\n", len);
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2) {
			unsigned char *p = in;
			printf("peer close %d ", p[0] << 8 | p[1]);
			fwrite(p + 2, 1, len - 2, stdout);
			putchar('\n');
		} else
			printf("peer close none\n");
		fflush(stdout);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		printf("connection error: %s\n", in ? (char *)in : "(null)");
		fflush(stdout);
		failed = 1;
		errors++;
		conn_finished();
		break;
	case LWS_CALLBACK_CLOSED:
		if (mode != MODE_MULTI)
			printf("closed\n");
		fflush(stdout);
		if (pss) {
			free(pss->message);
			free(pss->assembled);
			pss->message = pss->assembled = NULL;
		}
		closed_ws++;
		conn_finished();
		break;

	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (mode == MODE_HTTP && body) {
			char **p = (char **)in;
			if (len < 40)
				return -1;
			*p += sprintf(*p, "Content-Length: %zu\r\n", body_len);
			lws_client_http_body_pending(wsi, 1);
			lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
		chunk = body_len - body_sent;
		if (chunk > 4096)
			chunk = 4096;
		memcpy(buf + LWS_PRE, body + body_sent, chunk);
		if (lws_write(wsi, (unsigned char *)buf + LWS_PRE, chunk, LWS_WRITE_HTTP) < (int)chunk)
			return -1;
		body_sent += chunk;
		if (body_sent < body_len)
			lws_callback_on_writable(wsi);
		else
			lws_client_http_body_pending(wsi, 0);
		break;
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		/* an HTTP client gets protocols[0]'s pss at connect */
		if (!pss || pss != lws_wsi_user(wsi)) {
			printf("bad pss in ESTABLISHED_CLIENT_HTTP\n");
			failed = 1;
		}
		n = lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP);
		printf("status %s\n", n > 0 ? buf : "?");
		fflush(stdout);
		break;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		px = buf + LWS_PRE;
		n = sizeof(buf) - LWS_PRE;
		if (lws_http_client_read(wsi, &px, &n) < 0)
			return -1;
		if (http_completed)
			return -1; /* done with this connection */
		if (!n) {
			/* the server ended a body it gave no length for */
			printf("\neof\n");
			fflush(stdout);
			return -1;
		}
		break;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		fwrite(in, 1, len, stdout);
		break;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		printf("\ncompleted\n");
		fflush(stdout);
		http_completed = 1;
		break;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		printf("closed http\n");
		fflush(stdout);
		done = 1;
		break;
	default:
		break;
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "client", callback_client, sizeof(struct pss), 1 << 16, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static int
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	body = malloc((size_t)n + 1);
	if (!body || fread(body, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		return -1;
	}
	fclose(f);
	body_len = (size_t)n;
	return 0;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	struct lws_context *context;
	double start = now(), wait = 10, grace_end = 0;
	unsigned int timeout_secs = 0;
	int a = 1, i, ok, timed_out, disable_os_ca = 0;
#ifdef WS_CLIENT_OPENSSL
	SSL_CTX *own_ctx = NULL;
#endif

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "-t") && a + 1 < argc)
			timeout_secs = (unsigned int)atoi(argv[++a]);
		else if (!strcmp(argv[a], "-l") && a + 1 < argc)
			cblog = fopen(argv[++a], "w");
		else if (!strcmp(argv[a], "-w") && a + 1 < argc)
			wait = atof(argv[++a]);
		else if (!strcmp(argv[a], "-b"))
			binary = 1;
		else if (!strcmp(argv[a], "-s") && a + 1 < argc)
			ssl_flags = atoi(argv[++a]);
		else if (!strcmp(argv[a], "-D"))
			disable_os_ca = 1;
		else if (!strcmp(argv[a], "-A") && a + 1 < argc)
			extra_ca = argv[++a];
		else if (!strcmp(argv[a], "-X") && a + 1 < argc)
			provided_ca = argv[++a];
		else {
			fprintf(stderr, "unknown option %s\n", argv[a]);
			return 2;
		}
	}
#ifndef WS_CLIENT_OPENSSL
	if (extra_ca || provided_ca) {
		fprintf(stderr, "-A and -X need a build with -DWS_CLIENT_OPENSSL\n");
		return 2;
	}
#endif
	argc -= a - 1;
	argv += a - 1;
	if (argc < 5) {
		fprintf(stderr, "usage: see the header comment\n");
		return 2;
	}
	if (!strcmp(argv[1], "ws"))
		mode = MODE_WS;
	else if (!strcmp(argv[1], "multi"))
		mode = MODE_MULTI;
	else if (!strcmp(argv[1], "recv"))
		mode = MODE_RECV;
	else if (!strcmp(argv[1], "http"))
		mode = MODE_HTTP;
	else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	nconns = 1;
	count = 1;
	size = 16;
	/* the protocol the server will pick must exist here by that name */
	if (mode == MODE_WS || mode == MODE_RECV) {
		if (argc > 5)
			protocols[0].name = argv[5];
		if (mode == MODE_WS) {
			count = argc > 6 ? atoi(argv[6]) : 1;
			size = argc > 7 ? atoi(argv[7]) : 16;
		} else
			recv_message = argc > 6 ? argv[6] : NULL;
	} else if (mode == MODE_MULTI) {
		protocols[0].name = argv[4];
		nconns = argc > 5 ? atoi(argv[5]) : 1;
		count = argc > 6 ? atoi(argv[6]) : 1;
		size = argc > 7 ? atoi(argv[7]) : 16;
	}
	if (count < 1 || size < 0 || nconns < 1) {
		fprintf(stderr, "bad numbers\n");
		return 2;
	}

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	info.timeout_secs = timeout_secs;
	if (ssl_flags)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (disable_os_ca)
		info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
#ifdef WS_CLIENT_OPENSSL
	if (provided_ca) {
		own_ctx = SSL_CTX_new(TLS_client_method());
		if (!own_ctx || SSL_CTX_load_verify_locations(own_ctx, provided_ca, NULL) != 1) {
			fprintf(stderr, "cannot make an SSL_CTX with %s\n", provided_ca);
			return 2;
		}
		info.provided_client_ssl_ctx = own_ctx;
	}
#endif
	context = lws_create_context(&info);
	if (!context)
		return 1;

	for (i = 0; i < nconns; i++) {
		memset(&ci, 0, sizeof ci);
		ci.context = context;
		ci.address = argv[2];
		ci.port = atoi(argv[3]);
		ci.path = mode == MODE_MULTI ? "/" : argv[4];
		ci.host = ci.address;
		ci.origin = ci.address;
		ci.ietf_version_or_minus_one = -1;
		ci.ssl_connection = ssl_flags;
		client_wsi = (struct lws *)&client_wsi; /* must be overwritten */
		ci.pwsi = &client_wsi;
		if (mode == MODE_HTTP) {
			ci.method = argc > 5 ? argv[5] : "GET";
			if (argc > 6 && argv[6][0] == '@') {
				if (read_file(argv[6] + 1)) {
					fprintf(stderr, "cannot read %s\n", argv[6] + 1);
					return 2;
				}
			} else if (argc > 6) {
				body = (unsigned char *)strdup(argv[6]);
				body_len = strlen(argv[6]);
			}
		} else
			ci.protocol = mode == MODE_MULTI ? argv[4] : (argc > 5 ? argv[5] : NULL);
		if (!lws_client_connect_via_info(&ci)) {
			printf("connect failed at once (pwsi %s)\n",
			       !client_wsi ? "NULL" :
			       client_wsi == (struct lws *)&client_wsi ? "untouched" : "set");
			failed = 1;
			done = 1;
			break;
		}
	}
	fflush(stdout);
	/*
	 * Serve until done; then a short grace for the connections to be torn
	 * down (WSI_DESTROY) so the callback log shows the natural ending.
	 */
	while (now() - start < wait) {
		if (done && live <= 0)
			break;
		if (done && !grace_end)
			grace_end = now() + 1.0;
		if (grace_end && now() > grace_end)
			break;
		lws_service(context, 20);
	}
	if (done && live > 0)
		printf("%d wsi not destroyed yet\n", live);
	/* decided before the destroy, whose callbacks may set done */
	timed_out = !done;
	if (timed_out)
		printf("timed out\n");
	fflush(stdout);
	lws_context_destroy(context);
#ifdef WS_CLIENT_OPENSSL
	/* lws does not free an SSL_CTX the application provided */
	if (own_ctx)
		SSL_CTX_free(own_ctx);
#endif
	if (cblog)
		fclose(cblog);
	free(body);
	ok = !timed_out && !failed;
	if (mode == MODE_MULTI) {
		printf("%d of %d connections ok, %d closed, %d errors\n", ok_conns, nconns,
		       closed_ws, errors);
		ok = ok && ok_conns == nconns;
	}
	if (mode == MODE_WS && ok_conns != 1)
		ok = 0;
	return !ok;
}
