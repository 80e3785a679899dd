/*
 * A server written the way lws 2.0's own test-server is: an HTTP protocol
 * serving files from a docroot, "dumb-increment-protocol" pushing a counter
 * every 50 ms and "lws-mirror-protocol" sending every message to every
 * mirror connection through a shared ring buffer, with rx flow control when
 * a reader falls behind.
 *
 * Like the original's handlers, these dereference `user` (their
 * per-session data) without a NULL check in every callback where lws passes
 * the connection's per-session data; each pss carries a magic word so a
 * pss that is NULL or belongs to another protocol aborts the process
 * ("BAD PSS" on stderr).
 *
 *   classic_server -p PORT -d DOCROOT [-c CERT -k KEY]
 *
 * GET / serves DOCROOT/test.html, other paths the file under DOCROOT;
 * /stream sends 64 KiB from HTTP_WRITEABLE in 4 KiB pieces, its progress
 * kept in the pss.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define HTTP_MAGIC 0x48545450u
#define DUMB_MAGIC 0x44554d42u
#define MIRROR_MAGIC 0x4d495252u
#define STREAM_TOTAL (64 * 1024)

static const char *docroot = ".";

struct pss_http {
	unsigned int magic;
	int streamed;
	int streaming;
	void *spa;	/* what test-server keeps here: freed at DROP_PROTOCOL */
};

struct pss_dumb {
	unsigned int magic;
	int number;
};

struct pss_mirror {
	unsigned int magic;
	int ringbuffer_tail;
};

static void
check_pss(const void *user, unsigned int magic, const char *where)
{
	const unsigned int *m = user;

	if (*m != magic) {	/* a NULL pss crashes here, as in the original */
		fprintf(stderr, "BAD PSS in %s: %p\n", where, user);
		abort();
	}
}

static const char *
mimetype_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot && !strcmp(dot, ".html"))
		return "text/html";
	if (dot && !strcmp(dot, ".png"))
		return "image/png";
	if (dot && !strcmp(dot, ".js"))
		return "text/javascript";
	return "text/plain";
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss_http *pss = user;
	unsigned char buf[LWS_PRE + 4096], *p, *start, *end;
	char path[1024];
	int n;

	(void)len;
	switch (reason) {
	case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
		/* a fresh pss: lws renews it before LWS_CALLBACK_HTTP */
		pss->streamed = 0;
		break;

	case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
		pss->magic = HTTP_MAGIC;
		break;

	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pss->spa) {
			free(pss->spa);
			pss->spa = NULL;
		}
		break;

	case LWS_CALLBACK_HTTP:
		check_pss(pss, HTTP_MAGIC, "HTTP");
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
			return 0;	/* the body follows */
		if (!strcmp(in, "/stream")) {
			start = p = buf + LWS_PRE;
			end = buf + sizeof(buf);
			if (lws_add_http_header_status(wsi, 200, &p, end) ||
			    lws_add_http_header_by_token(wsi,
					WSI_TOKEN_HTTP_CONTENT_TYPE,
					(unsigned char *)"application/octet-stream",
					24, &p, end) ||
			    lws_add_http_header_content_length(wsi,
					STREAM_TOTAL, &p, end) ||
			    lws_finalize_http_header(wsi, &p, end))
				return 1;
			if (lws_write(wsi, start, p - start,
				      LWS_WRITE_HTTP_HEADERS) < 0)
				return 1;
			pss->streaming = 1;
			lws_callback_on_writable(wsi);
			return 0;
		}
		snprintf(path, sizeof(path), "%s%s", docroot,
			 strcmp(in, "/") ? (const char *)in : "/test.html");
		n = lws_serve_http_file(wsi, path, mimetype_of(path), NULL, 0);
		if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
			return -1;
		break;

	case LWS_CALLBACK_HTTP_BODY:
		check_pss(pss, HTTP_MAGIC, "HTTP_BODY");
		if (!pss->spa)
			pss->spa = malloc(16);
		break;

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		check_pss(pss, HTTP_MAGIC, "HTTP_BODY_COMPLETION");
		lws_return_http_status(wsi, HTTP_STATUS_OK, "posted");
		if (lws_http_transaction_completed(wsi))
			return -1;
		break;

	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		check_pss(pss, HTTP_MAGIC, "HTTP_FILE_COMPLETION");
		if (lws_http_transaction_completed(wsi))
			return -1;
		break;

	case LWS_CALLBACK_HTTP_WRITEABLE:
		check_pss(pss, HTTP_MAGIC, "HTTP_WRITEABLE");
		if (!pss->streaming)
			break;
		memset(buf + LWS_PRE, 'a' + pss->streamed / 4096 % 26, 4096);
		if (lws_write(wsi, buf + LWS_PRE, 4096, LWS_WRITE_HTTP) != 4096)
			return -1;
		pss->streamed += 4096;
		if (pss->streamed < STREAM_TOTAL) {
			lws_callback_on_writable(wsi);
			break;
		}
		pss->streaming = 0;
		if (lws_http_transaction_completed(wsi))
			return -1;
		break;

	default:
		break;
	}

	return 0;
}

static int
callback_dumb_increment(struct lws *wsi, enum lws_callback_reasons reason,
			void *user, void *in, size_t len)
{
	struct pss_dumb *pss = user;
	unsigned char buf[LWS_PRE + 32];
	int n, m;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->magic = DUMB_MAGIC;
		pss->number = 0;
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		check_pss(pss, DUMB_MAGIC, "dumb WRITEABLE");
		n = sprintf((char *)buf + LWS_PRE, "%d", pss->number++);
		m = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
		if (m < n)
			return -1;
		break;

	case LWS_CALLBACK_RECEIVE:
		check_pss(pss, DUMB_MAGIC, "dumb RECEIVE");
		if (len >= 6 && !strncmp(in, "reset\n", 6))
			pss->number = 0;
		break;

	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		check_pss(pss, DUMB_MAGIC, "dumb CLOSED");
		break;

	default:
		break;
	}

	return 0;
}

#define MAX_MESSAGE_QUEUE 512

struct a_message {
	unsigned char *payload;
	size_t len;
};

static struct a_message ringbuffer[MAX_MESSAGE_QUEUE];
static int ringbuffer_head;

static int
callback_lws_mirror(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct pss_mirror *pss = user;
	int n, m;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->magic = MIRROR_MAGIC;
		pss->ringbuffer_tail = ringbuffer_head;
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		for (n = 0; n < MAX_MESSAGE_QUEUE; n++)
			free(ringbuffer[n].payload);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		check_pss(pss, MIRROR_MAGIC, "mirror WRITEABLE");
		while (pss->ringbuffer_tail != ringbuffer_head) {
			struct a_message *msg = &ringbuffer[pss->ringbuffer_tail];

			m = lws_write(wsi, msg->payload + LWS_PRE, msg->len,
				      LWS_WRITE_TEXT);
			if (m < (int)msg->len)
				return -1;
			pss->ringbuffer_tail = (pss->ringbuffer_tail + 1) &
					       (MAX_MESSAGE_QUEUE - 1);
			if (((ringbuffer_head - pss->ringbuffer_tail) &
			     (MAX_MESSAGE_QUEUE - 1)) == (MAX_MESSAGE_QUEUE - 15))
				lws_rx_flow_allow_all_protocol(lws_get_context(wsi),
							       lws_get_protocol(wsi));
			if (lws_send_pipe_choked(wsi)) {
				lws_callback_on_writable(wsi);
				break;
			}
		}
		break;

	case LWS_CALLBACK_RECEIVE:
		check_pss(pss, MIRROR_MAGIC, "mirror RECEIVE");
		if (((ringbuffer_head - pss->ringbuffer_tail) &
		     (MAX_MESSAGE_QUEUE - 1)) == (MAX_MESSAGE_QUEUE - 1)) {
			lwsl_err("dropping!\n");
			goto choke;
		}
		free(ringbuffer[ringbuffer_head].payload);
		ringbuffer[ringbuffer_head].payload = malloc(LWS_PRE + len);
		ringbuffer[ringbuffer_head].len = len;
		memcpy(ringbuffer[ringbuffer_head].payload + LWS_PRE, in, len);
		ringbuffer_head = (ringbuffer_head + 1) & (MAX_MESSAGE_QUEUE - 1);
		if (((ringbuffer_head - pss->ringbuffer_tail) &
		     (MAX_MESSAGE_QUEUE - 1)) != (MAX_MESSAGE_QUEUE - 2))
			goto done;
choke:
		lws_rx_flow_control(wsi, 0);
done:
		lws_callback_on_writable_all_protocol(lws_get_context(wsi),
						      lws_get_protocol(wsi));
		break;

	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		check_pss(pss, MIRROR_MAGIC, "mirror CLOSED");
		break;

	default:
		break;
	}

	return 0;
}

enum { PROTOCOL_HTTP, PROTOCOL_DUMB_INCREMENT, PROTOCOL_LWS_MIRROR };

static struct lws_protocols protocols[] = {
	{ "http-only", callback_http, sizeof(struct pss_http), 0, 0, NULL },
	{ "dumb-increment-protocol", callback_dumb_increment,
	  sizeof(struct pss_dumb), 10, 0, NULL },
	{ "lws-mirror-protocol", callback_lws_mirror,
	  sizeof(struct pss_mirror), 128, 0, NULL },
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
	unsigned int ms, oldms = 0;
	struct timeval tv;
	int n;

	memset(&info, 0, sizeof(info));
	info.port = 7681;
	for (n = 1; n < argc; n++) {
		if (!strcmp(argv[n], "-p") && n + 1 < argc)
			info.port = atoi(argv[++n]);
		else if (!strcmp(argv[n], "-d") && n + 1 < argc)
			docroot = argv[++n];
		else if (!strcmp(argv[n], "-c") && n + 1 < argc)
			info.ssl_cert_filepath = argv[++n];
		else if (!strcmp(argv[n], "-k") && n + 1 < argc)
			info.ssl_private_key_filepath = argv[++n];
	}
	if (info.ssl_cert_filepath)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	info.timeout_secs = 5;

	signal(SIGINT, sighandler);
	signal(SIGTERM, sighandler);
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		return 1;
	}
	printf("port %d\n", info.port);
	fflush(stdout);

	while (!force_exit) {
		gettimeofday(&tv, NULL);
		ms = (tv.tv_sec * 1000) + (tv.tv_usec / 1000);
		if (ms - oldms > 50) {
			lws_callback_on_writable_all_protocol(context,
				&protocols[PROTOCOL_DUMB_INCREMENT]);
			oldms = ms;
		}
		if (lws_service(context, 50) < 0)
			break;
	}

	lws_context_destroy(context);
	printf("destroyed\n");
	return 0;
}
