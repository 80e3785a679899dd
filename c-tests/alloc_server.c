/*
 * lws_set_allocator with a counting allocator, installed before the
 * context is created: what the library allocates on the application's
 * behalf must come from it and go back to it.
 *
 *   alloc_server -d DOCROOT
 *
 * Prints "port N" when listening. Protocols: "http" (per-session data of
 * HTTP_PSS bytes, 64 bytes of lws_protocol_vh_priv_zalloc at
 * PROTOCOL_INIT), "echo" (WebSocket, per-session data of WS_PSS bytes,
 * echoes each message; as a client it sends "ping" and closes on the
 * echo). Routes:
 *   /stats        "allocs A frees F live L pss P bad B client C errors E"
 *                 (P: blocks of a pss size; B: callbacks whose user / vhost
 *                 data did not come from the allocator; C: echoes clients
 *                 got; E: CLIENT_CONNECTION_ERRORs)
 *   /client[?refuse=1]  starts an "echo" client connection to this server
 *                 (with refuse=1 its first allocation returns NULL): the
 *                 body is "started" or "refused"
 *   /refuse?n=N[&size=S]  the next N allocations (of S bytes) return NULL
 *   /file/NAME    DOCROOT/NAME through lws_serve_http_file
 * At exit, after lws_context_destroy, prints the same "allocs ..." line,
 * "unknown-frees U" (frees of blocks it never made) and "destroyed".
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_PSS 200
#define WS_PSS 312
#define MAGIC 0x6c77735fa110c8edULL
#define FREED 0xdeadULL

static volatile int interrupted;
static const char *docroot = ".";
static long allocs, frees, live, pss_blocks, bad, unknown_frees;
static long refuse_n, refuse_size, client_got, client_errors;
static int port;

/* a 16-byte header keeps what it returns 16-aligned */
struct hdr {
	uint64_t magic;
	uint64_t size;
};

static int
ours(void *p)
{
	return p && ((struct hdr *)p - 1)->magic == MAGIC;
}

static void *
counting_realloc(void *p, size_t size)
{
	struct hdr *h;

	if (!size) {
		if (!p)
			return NULL;
		h = (struct hdr *)p - 1;
		if (h->magic != MAGIC) {
			__atomic_add_fetch(&unknown_frees, 1, __ATOMIC_SEQ_CST);
			return NULL;
		}
		h->magic = FREED;
		__atomic_add_fetch(&frees, 1, __ATOMIC_SEQ_CST);
		__atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
		free(h);
		return NULL;
	}
	if (p) { /* the library does not grow blocks today; support it anyway */
		h = (struct hdr *)p - 1;
		h = realloc(h, sizeof(*h) + size);
		if (!h)
			return NULL;
		h->size = size;
		return h + 1;
	}
	if (refuse_n > 0 && (!refuse_size || (long)size == refuse_size)) {
		refuse_n--;
		return NULL;
	}
	h = malloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->magic = MAGIC;
	h->size = size;
	__atomic_add_fetch(&allocs, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
	if (size == HTTP_PSS || size == WS_PSS)
		__atomic_add_fetch(&pss_blocks, 1, __ATOMIC_SEQ_CST);
	return h + 1;
}

static void
stats(char *buf, size_t len)
{
	snprintf(buf, len, "allocs %ld frees %ld live %ld pss %ld bad %ld client %ld errors %ld\n",
		 allocs, frees, live, pss_blocks, bad, client_got, client_errors);
}

static int
reply(struct lws *wsi, const char *body)
{
	unsigned char hb[LWS_PRE + 1024], *start = &hb[LWS_PRE], *p = start,
		      *end = &hb[sizeof(hb) - 1];
	int n = (int)strlen(body);

	if (lws_add_http_header_status(wsi, 200, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)"text/plain", 10, &p, end) ||
	    lws_add_http_header_content_length(wsi, (unsigned long)n, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end))
		return -1;
	memcpy(p, body, (size_t)n);
	p += n;
	if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP) != p - start)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
	      size_t len)
{
	const char *uri = in;
	char body[256], v[32], path[1024];
	const char *a;
	void *vh;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vh = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi), lws_get_protocol(wsi), 64);
		if (!ours(vh))
			bad++;
		break;
	case LWS_CALLBACK_HTTP:
		if (!ours(user) || ((struct hdr *)user - 1)->size != HTTP_PSS)
			bad++;
		if (!ours(lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi))))
			bad++;
		if (!strcmp(uri, "/stats")) {
			stats(body, sizeof(body));
			return reply(wsi, body);
		}
		if (!strcmp(uri, "/refuse")) {
			a = lws_get_urlarg_by_name(wsi, "n=", v, sizeof(v));
			if (a)
				refuse_n = atol(a);
			a = lws_get_urlarg_by_name(wsi, "size=", v, sizeof(v));
			refuse_size = a ? atol(a) : 0;
			return reply(wsi, "ok\n");
		}
		if (!strcmp(uri, "/client")) {
			struct lws_client_connect_info ci;
			struct lws *c;

			memset(&ci, 0, sizeof(ci));
			ci.context = lws_get_context(wsi);
			ci.address = "127.0.0.1";
			ci.port = port;
			ci.path = "/";
			ci.host = "127.0.0.1";
			ci.origin = "127.0.0.1";
			ci.protocol = "echo";
			ci.ietf_version_or_minus_one = -1;
			a = lws_get_urlarg_by_name(wsi, "refuse=", v, sizeof(v));
			refuse_size = 0;
			refuse_n = a && atoi(a) ? 1 : 0;
			c = lws_client_connect_via_info(&ci);
			refuse_n = 0;
			return reply(wsi, c ? "started\n" : "refused\n");
		}
		if (!strncmp(uri, "/file/", 6) && !strstr(uri, "..")) {
			int n;

			snprintf(path, sizeof(path), "%s/%s", docroot, uri + 6);
			n = lws_serve_http_file(wsi, path, "text/plain", NULL, 0);
			if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
				return -1;
			return 0;
		}
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		/* a connection that failed before it had a protocol: protocols[0] */
		client_errors++;
		break;
	default:
		break;
	}
	(void)len;
	return 0;
}

struct pss_echo {
	int len;
	unsigned char buf[LWS_PRE + 256];
};

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
	      size_t len)
{
	struct pss_echo *pss = user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		if (!ours(user) || ((struct hdr *)user - 1)->size != WS_PSS)
			bad++;
		break;
	case LWS_CALLBACK_RECEIVE:
		if (len > 256)
			return -1;
		memcpy(&pss->buf[LWS_PRE], in, len);
		pss->len = (int)len;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (lws_write(wsi, &pss->buf[LWS_PRE], (size_t)pss->len, LWS_WRITE_TEXT) < pss->len)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!ours(user) || ((struct hdr *)user - 1)->size != WS_PSS)
			bad++;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		memcpy(&pss->buf[LWS_PRE], "ping", 4);
		if (lws_write(wsi, &pss->buf[LWS_PRE], 4, LWS_WRITE_TEXT) < 4)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (len == 4 && !memcmp(in, "ping", 4))
			client_got++;
		return -1;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		client_errors++;
		break;
	default:
		break;
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "http", callback_http, HTTP_PSS, 0, 0, NULL },
	{ "echo", callback_echo, WS_PSS, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL },
};

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
	struct lws_context *ctx;
	char line[256];
	int n;

	for (n = 1; n < argc - 1; n++)
		if (!strcmp(argv[n], "-d"))
			docroot = argv[++n];

	/* the pss structs fit their advertised sizes */
	if (sizeof(struct pss_echo) > WS_PSS)
		return 2;

	lws_set_allocator(counting_realloc);

	memset(&info, 0, sizeof(info));
	info.port = 0;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	ctx = lws_create_context(&info);
	if (!ctx)
		return 1;
	port = info.port;
	printf("port %d\n", info.port);
	fflush(stdout);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!interrupted)
		lws_service(ctx, 100);
	lws_context_destroy(ctx);
	stats(line, sizeof(line));
	printf("%sunknown-frees %ld\n", line, unknown_frees);
	lws_set_allocator(NULL);
	printf("destroyed\n");
	return 0;
}
