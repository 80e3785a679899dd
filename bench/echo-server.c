/*
 * The benchmark's server: one program, built twice by bench/run, against our
 * libwebsockets.so.8 and against Debian's libwebsockets 4.1 (libwebsockets.so.17).
 * It therefore uses only API that both have, in the plain lws 2.0 style:
 * lws_create_context with a port, lws_service, lws_write with LWS_PRE,
 * lws_callback_on_writable, per-session data, lws_serve_http_file, lws_spa_*.
 *
 *   echo-server [-p PORT] [-d DOCROOT] [-r RX_BUFFER_SIZE] [--loop uv|ev]
 *               [--deflate] [--threads N] [--push-ms MS]
 *
 * --deflate registers permessage-deflate (RFC 7692) in info.extensions, as
 * lws' test servers do: { "permessage-deflate",
 * lws_extension_callback_pm_deflate, "permessage-deflate;
 * client_no_context_takeover; client_max_window_bits" }; the library
 * negotiates it with clients that offer it (both 2.0 and 4.1 export the
 * callback and have the same struct lws_extension). The library's own
 * settings for it are left alone (compression level, buffer sizes).
 *
 * --loop picks the event loop the library runs on (default: its own poll
 * loop, lws_service):
 *   lws 2.0 (ours)  uv: LWS_SERVER_OPTION_LIBUV, lws_uv_initloop(context,
 *                   NULL, 0) (the library makes the loop), lws_libuv_run;
 *                   ev: LWS_SERVER_OPTION_LIBEV, lws_ev_initloop(context,
 *                   NULL, 0) (ev_default_loop), ev_run. SIGINT is the
 *                   library's default handler (it stops the loop).
 *   lws 4.1         the option alone: lws_create_context loads the evlib
 *                   plugin (libwebsockets-evlib_uv.so / _ev.so) and
 *                   lws_service runs its loop until a signal_cb here
 *                   destroys the context. 4.1 looks for the plugin only in
 *                   its build-time libdir (see bench/run).
 * In every case SIGINT and SIGTERM end the server (lws_context_destroy).
 *
 * Protocols:
 *   0 "http"  serves DOCROOT (GET / is DOCROOT/index.html) with
 *             lws_serve_http_file, keep-alive as the library does it; a POST
 *             is parsed with lws_spa_* as lws' test-server does it (fields
 *             "text" and "send", file parts counted and dropped) and
 *             answered "text=<value>\nsend=<value>\nuploaded=<bytes>\n"
 *             (a missing value as "(none)")
 *   1 "echo"  every received message (text or binary, up to 16 MiB, in as
 *             many fragments and RECEIVE chunks as it arrives) is written
 *             back whole as one frame of the same type
 *   2 "flow-echo"  lws' test-echo pattern (test-server/test-echo.c): each
 *             RECEIVE is copied, then lws_rx_flow_control(wsi, 0) and
 *             lws_callback_on_writable; SERVER_WRITEABLE writes the copy
 *             back as a fragment (BINARY / TEXT, then CONTINUATION,
 *             LWS_WRITE_NO_FIN until the final one) and calls
 *             lws_rx_flow_control(wsi, 1). So one message is in flight per
 *             connection and every RECEIVE costs a flow-control toggle each
 *             way. (rx_buffer_size is the library's default: the RECEIVE
 *             chunks are whatever size the library delivers.)
 *   3 "lws-mirror-protocol"  lws' mirror protocol (plugins/
 *             protocol_lws_mirror.c in 2.0): every message received goes
 *             into a ring of 512 messages, then
 *             lws_callback_on_writable_all_protocol;
 *             SERVER_WRITEABLE writes each connection everything from its
 *             tail to the head (as text, a write per message, stopping when
 *             lws_send_pipe_choked); a sender about to overrun the ring is
 *             stopped with lws_rx_flow_control and let go again with
 *             lws_rx_flow_allow_all_protocol. Every connection of the
 *             protocol, the sender too, receives every message. (The
 *             plugin takes each RECEIVE for a message; both libraries
 *             may hand over a frame that straddles two reads in two
 *             RECEIVEs, so here the chunks are put together first, up to
 *             lws_is_final_fragment and no lws_remaining_packet_payload.)
 *   4 "dumb-increment-protocol"  lws' test-server dumb-increment: with
 *             --push-ms MS the service loop in main() calls
 *             lws_callback_on_writable_all_protocol every MS milliseconds,
 *             and each connection's SERVER_WRITEABLE writes its counter
 *             (0, 1, 2, ...) as text; here "<counter> <tick µs>", the
 *             CLOCK_MONOTONIC time of that tick, so that a client on the
 *             same machine can tell how long the fan-out took. lws 4.1's
 *             lws_service ignores its timeout (it sleeps until its next
 *             scheduled event), so a ticker thread wakes the loop with
 *             lws_cancel_service at every tick, for both libraries alike.
 *
 * --threads N sets info.count_threads and services each thread's
 * connections with lws_service_tsi from its own pthread, as lws'
 * test-server-pthreads does; the ready line says how many the library
 * really runs (lws_get_count_threads: a library built with LWS_MAX_SMP 1,
 * as Debian's 4.1 is, runs one).
 *
 * Once listening it prints "ready port=N version=<lws_get_library_version()>
 * threads=T loop=poll|uv|ev libs=<...> deflate=0|1" on stdout, libs being the event libraries and
 * evlib plugins mapped into the process (/proc/self/maps), so the caller can
 * check which library and backend it really runs on; against lws 2.0 with
 * --loop uv it adds "uv_handles=N", the handles on lws_uv_getloop's loop.
 */
#include <libwebsockets.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE (16u * 1024u * 1024u)

static volatile int interrupted;
static const char *docroot = ".";
static struct lws_context *context;

enum loop_kind { LOOP_POLL, LOOP_UV, LOOP_EV };
static const char * const loop_names[] = { "poll", "uv", "ev" };

/* ---------------------------------------------------------------- http */

static const char *
mimetype(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot)
		return "application/octet-stream";
	if (!strcmp(dot, ".html"))
		return "text/html";
	if (!strcmp(dot, ".txt"))
		return "text/plain";
	if (!strcmp(dot, ".js"))
		return "application/javascript";
	if (!strcmp(dot, ".css"))
		return "text/css";
	return "application/octet-stream";
}

struct pss_http {
	struct lws_spa *spa;
	unsigned long uploaded;
};

static const char * const form_names[] = { "text", "send" };

static int
count_upload(void *data, const char *name, const char *filename, char *buf,
	     int len, enum lws_spa_fileupload_states state)
{
	struct pss_http *pss = (struct pss_http *)data;

	(void)name;
	(void)filename;
	(void)buf;
	(void)state;
	pss->uploaded += (unsigned long)len;
	return 0;
}

/* the parsed form as text/plain; the transaction completes */
static int
answer_form(struct lws *wsi, struct pss_http *pss)
{
	unsigned char head[LWS_PRE + 512], body[LWS_PRE + 2200];
	unsigned char *p = head + LWS_PRE, *end = head + sizeof(head);
	const char *text, *send;
	int n;

	lws_spa_finalize(pss->spa);
	text = lws_spa_get_string(pss->spa, 0);
	send = lws_spa_get_string(pss->spa, 1);
	n = snprintf((char *)body + LWS_PRE, sizeof(body) - LWS_PRE,
		     "text=%s\nsend=%s\nuploaded=%lu\n", text ? text : "(none)",
		     send ? send : "(none)", pss->uploaded);
	lws_spa_destroy(pss->spa);
	pss->spa = NULL;
	if (lws_add_http_header_status(wsi, HTTP_STATUS_OK, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (unsigned char *)"text/plain", 10, &p, end) ||
	    lws_add_http_header_content_length(wsi, (unsigned long)n, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end))
		return -1;
	if (lws_write(wsi, head + LWS_PRE, (size_t)(p - (head + LWS_PRE)),
		      LWS_WRITE_HTTP_HEADERS) < 0 ||
	    lws_write(wsi, body + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_FINAL) < 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss_http *pss = (struct pss_http *)user;
	const char *uri = (const char *)in;
	char path[1024];
	int n;

	switch (reason) {
	case LWS_CALLBACK_HTTP_BODY:
		if (!pss->spa) {
			pss->uploaded = 0;
			pss->spa = lws_spa_create(wsi, form_names, 2, 1024,
						  count_upload, pss);
			if (!pss->spa)
				return -1;
		}
		return lws_spa_process(pss->spa, (const char *)in, (int)len) ? -1 : 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return pss->spa ? answer_form(wsi, pss) : -1;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss && pss->spa) {
			lws_spa_destroy(pss->spa);
			pss->spa = NULL;
		}
		return 0;
	default:
		break;
	}

#if LWS_LIBRARY_VERSION_MAJOR >= 3
	/*
	 * lws 2.0 completes the transaction itself once a file served from
	 * POLLOUT is out (and lws_serve_http_file returns 1 when it went out in
	 * the call); later versions leave that to FILE_COMPLETION.
	 */
	if (reason == LWS_CALLBACK_HTTP_FILE_COMPLETION)
		return lws_http_transaction_completed(wsi) ? -1 : 0;
#endif
	if (reason != LWS_CALLBACK_HTTP)
		return 0;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
		return 0; /* the body follows */

	if (!uri || uri[0] != '/' || strstr(uri, "..")) {
		lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
		return -1;
	}
	if (!strcmp(uri, "/"))
		uri = "/index.html";
	snprintf(path, sizeof(path), "%s%s", docroot, uri);
	n = lws_serve_http_file(wsi, path, mimetype(path), NULL, 0);
	if (n < 0)
		return -1; /* not found: the library has answered / closes */
	if (n > 0 && lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- echo */

struct pss_echo {
	unsigned char *buf; /* LWS_PRE bytes of headroom, then the message */
	size_t cap;	    /* payload capacity after the headroom */
	size_t len;	    /* payload bytes of the message so far */
	int binary;
	int pending;	    /* a whole message waits for SERVER_WRITEABLE */
};

static int
append(struct pss_echo *pss, const void *in, size_t len)
{
	if (pss->len + len > MAX_MESSAGE) {
		fprintf(stderr, "echo-server: message over %u bytes\n", MAX_MESSAGE);
		return -1;
	}
	if (pss->len + len > pss->cap) {
		size_t cap = pss->cap ? pss->cap : 256;
		unsigned char *nb;

		while (cap < pss->len + len)
			cap *= 2;
		nb = realloc(pss->buf, LWS_PRE + cap);
		if (!nb)
			return -1;
		pss->buf = nb;
		pss->cap = cap;
	}
	if (len)
		memcpy(pss->buf + LWS_PRE + pss->len, in, len);
	pss->len += len;
	return 0;
}

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss_echo *pss = (struct pss_echo *)user;
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(pss, 0, sizeof(*pss));
		return 0;

	case LWS_CALLBACK_RECEIVE:
		if (pss->pending) {
			/* the load generator keeps one message in flight */
			fprintf(stderr, "echo-server: message before the echo was sent\n");
			return -1;
		}
		if (!pss->len)
			pss->binary = lws_frame_is_binary(wsi);
		if (append(pss, in, len))
			return -1;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			pss->pending = 1;
			lws_callback_on_writable(wsi);
		}
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->pending)
			return 0;
		if (lws_send_pipe_choked(wsi)) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		/*
		 * One frame, however long: what the socket does not take now the
		 * library keeps (lws_partial_buffered) and sends before it calls
		 * SERVER_WRITEABLE again; it returns the whole length then.
		 */
		n = lws_write(wsi, pss->buf + LWS_PRE, pss->len,
			      pss->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		if (n < (int)pss->len) {
			fprintf(stderr, "echo-server: lws_write %d of %zu\n", n, pss->len);
			return -1;
		}
		pss->len = 0;
		pss->pending = 0;
		/* a big message's buffer is not kept for the connection's life */
		if (pss->cap > 64 * 1024) {
			free(pss->buf);
			pss->buf = NULL;
			pss->cap = 0;
		}
		return 0;

	case LWS_CALLBACK_CLOSED:
		if (!pss)
			return 0;
		free(pss->buf);
		pss->buf = NULL;
		pss->cap = pss->len = 0;
		return 0;

	default:
		return 0;
	}
}

/* ----------------------------------------------------------- flow-echo */

/* lws' test-echo, with a buffer that takes any RECEIVE chunk */
struct pss_flow {
	unsigned char *buf; /* LWS_PRE bytes of headroom, then the chunk */
	size_t cap;
	size_t len;
	int final;
	int continuation;
	int binary;
	int pending;	    /* a chunk waits for SERVER_WRITEABLE, rx is off */
};

static int
callback_flow_echo(struct lws *wsi, enum lws_callback_reasons reason,
		   void *user, void *in, size_t len)
{
	struct pss_flow *pss = (struct pss_flow *)user;
	int n, m;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(pss, 0, sizeof(*pss));
		return 0;

	case LWS_CALLBACK_RECEIVE:
		if (pss->pending) {
			/* the library must hold input while rx flow is off */
			fprintf(stderr, "flow-echo: RECEIVE while rx flow control is off\n");
			return -1;
		}
		pss->final = lws_is_final_fragment(wsi);
		pss->binary = lws_frame_is_binary(wsi);
		if (len > pss->cap) {
			unsigned char *nb = realloc(pss->buf, LWS_PRE + len);

			if (!nb)
				return -1;
			pss->buf = nb;
			pss->cap = len;
		}
		if (len)
			memcpy(pss->buf + LWS_PRE, in, len);
		pss->len = len;
		pss->pending = 1;
		lws_rx_flow_control(wsi, 0);
		lws_callback_on_writable(wsi);
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->pending)
			return 0;
		n = LWS_WRITE_CONTINUATION;
		if (!pss->continuation)
			n = pss->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
		if (!pss->final)
			n |= LWS_WRITE_NO_FIN;
		m = lws_write(wsi, pss->buf + LWS_PRE, pss->len, n);
		if (m < (int)pss->len) {
			fprintf(stderr, "flow-echo: lws_write %d of %zu\n", m, pss->len);
			return -1;
		}
		pss->continuation = !pss->final;
		pss->pending = 0;
		lws_rx_flow_control(wsi, 1);
		return 0;

	case LWS_CALLBACK_CLOSED:
		if (pss) {
			free(pss->buf);
			pss->buf = NULL;
			pss->cap = 0;
		}
		return 0;

	default:
		return 0;
	}
}

/* -------------------------------------------------------------- mirror */

#define MIRROR_RING 512 /* MAX_MESSAGE_QUEUE of lws' mirror protocol */

struct mirror_message {
	unsigned char *payload; /* LWS_PRE bytes of headroom, then the message */
	size_t len;
};

/* (one vhost: the ring is the protocol's, as the plugin's per-vhost one) */
static struct mirror_message mirror_ring[MIRROR_RING];
static int mirror_head;

struct pss_mirror {
	int tail;
	unsigned char *part; /* a message arriving in several RECEIVEs */
	size_t part_len, part_cap;
};

static int
callback_mirror(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		void *in, size_t len)
{
	struct pss_mirror *pss = (struct pss_mirror *)user;
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(pss, 0, sizeof(*pss));
		pss->tail = mirror_head;
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		while (pss->tail != mirror_head) {
			struct mirror_message *m = &mirror_ring[pss->tail];

			n = lws_write(wsi, m->payload + LWS_PRE, m->len, LWS_WRITE_TEXT);
			if (n < 0) {
				fprintf(stderr, "mirror: lws_write failed\n");
				return -1;
			}
			if (n < (int)m->len)
				fprintf(stderr, "mirror: partial write %d of %zu\n", n, m->len);
			pss->tail = (pss->tail + 1) & (MIRROR_RING - 1);
			if (((mirror_head - pss->tail) & (MIRROR_RING - 1)) == MIRROR_RING - 15)
				lws_rx_flow_allow_all_protocol(lws_get_context(wsi),
							       lws_get_protocol(wsi));
			if (lws_send_pipe_choked(wsi)) {
				lws_callback_on_writable(wsi);
				break;
			}
		}
		return 0;

	case LWS_CALLBACK_RECEIVE:
		if (pss->part_len || !lws_is_final_fragment(wsi) ||
		    lws_remaining_packet_payload(wsi)) {
			/* a part: kept until the message is whole */
			if (pss->part_len + len > MAX_MESSAGE)
				return -1;
			if (pss->part_len + len > pss->part_cap) {
				size_t cap = (pss->part_len + len) * 2;
				unsigned char *nb = realloc(pss->part, cap);

				if (!nb)
					return -1;
				pss->part = nb;
				pss->part_cap = cap;
			}
			memcpy(pss->part + pss->part_len, in, len);
			pss->part_len += len;
			if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
				return 0;
			in = pss->part;
			len = pss->part_len;
			pss->part_len = 0;
		}
		if (((mirror_head - pss->tail) & (MIRROR_RING - 1)) == MIRROR_RING - 1) {
			fprintf(stderr, "mirror: dropping a message (ring full)\n");
			goto choke;
		}
		free(mirror_ring[mirror_head].payload);
		mirror_ring[mirror_head].payload = malloc(LWS_PRE + len);
		if (!mirror_ring[mirror_head].payload)
			return -1;
		mirror_ring[mirror_head].len = len;
		memcpy(mirror_ring[mirror_head].payload + LWS_PRE, in, len);
		mirror_head = (mirror_head + 1) & (MIRROR_RING - 1);
		if (((mirror_head - pss->tail) & (MIRROR_RING - 1)) != MIRROR_RING - 2)
			goto done;
choke:
		lws_rx_flow_control(wsi, 0);
done:
		lws_callback_on_writable_all_protocol(lws_get_context(wsi),
						      lws_get_protocol(wsi));
		return 0;

	case LWS_CALLBACK_CLOSED:
		if (pss) {
			free(pss->part);
			pss->part = NULL;
			pss->part_len = pss->part_cap = 0;
		}
		return 0;

	default:
		return 0;
	}
}

/* ------------------------------------------------------ dumb-increment */

/* the CLOCK_MONOTONIC µs of the last tick (--push-ms) */
static volatile long long push_tick_us;

static long long
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct pss_dumb_increment {
	int number;
};

static int
callback_dumb_increment(struct lws *wsi, enum lws_callback_reasons reason,
			void *user, void *in, size_t len)
{
	struct pss_dumb_increment *pss = (struct pss_dumb_increment *)user;
	unsigned char buf[LWS_PRE + 64];
	unsigned char *p = &buf[LWS_PRE];
	int n, m;

	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->number = 0;
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		n = snprintf((char *)p, 64, "%d %lld", pss->number++, push_tick_us);
		m = lws_write(wsi, p, (size_t)n, LWS_WRITE_TEXT);
		if (m < n) {
			fprintf(stderr, "dumb-increment: lws_write %d of %d\n", m, n);
			return -1;
		}
		return 0;

	default:
		return 0;
	}
}

static struct lws_protocols protocols[] = {
	{ .name = "http", .callback = callback_http,
	  .per_session_data_size = sizeof(struct pss_http) },
	{ .name = "echo", .callback = callback_echo,
	  .per_session_data_size = sizeof(struct pss_echo) },
	{ .name = "flow-echo", .callback = callback_flow_echo,
	  .per_session_data_size = sizeof(struct pss_flow) },
	{ .name = "lws-mirror-protocol", .callback = callback_mirror,
	  .per_session_data_size = sizeof(struct pss_mirror) },
	{ .name = "dumb-increment-protocol", .callback = callback_dumb_increment,
	  .per_session_data_size = sizeof(struct pss_dumb_increment) },
	{ .name = NULL } /* terminator */
};
#define PROTOCOL_DUMB_INCREMENT 4

/* --deflate: the extension list lws' test servers pass */
static const struct lws_extension exts[] = {
	{ "permessage-deflate", lws_extension_callback_pm_deflate,
	  "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
	{ NULL, NULL, NULL } /* terminator */
};

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/*
 * With an event loop the library (or its plugin) watches SIGINT itself; a
 * SIGTERM it does not watch is passed on as a SIGINT.
 */
static void
forward_to_sigint(int sig)
{
	(void)sig;
	kill(getpid(), SIGINT);
}

#if LWS_LIBRARY_VERSION_MAJOR >= 4
/* 4.1's evlib plugins hand SIGINT (uv: also SIGTERM...) to info.signal_cb */
static void
evlib_signal(void *handle, int signum)
{
	(void)handle;
	(void)signum;
	interrupted = 1;
	lws_context_destroy(context); /* stops the loop; lws_service returns */
}
#endif

#if LWS_LIBRARY_VERSION_MAJOR < 4
static void
count_handle(uv_handle_t *h, void *arg)
{
	(void)h;
	(*(int *)arg)++;
}
#endif

/* the event libraries and evlib plugins mapped into this process */
static void
mapped_libs(char *out, size_t size)
{
	static const char * const wanted[] = { "libuv.so", "libev.so",
		"libwebsockets-evlib_uv.so", "libwebsockets-evlib_ev.so" };
	char line[4096];
	size_t used = 0, i;
	int found[4] = { 0 };
	FILE *f = fopen("/proc/self/maps", "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *base = strrchr(line, '/');

		if (!base)
			continue;
		base++;
		for (i = 0; i < 4; i++)
			if (!found[i] && !strncmp(base, wanted[i], strlen(wanted[i]))) {
				size_t n = strcspn(base, "\n");

				found[i] = 1;
				if (used + n + 2 < size) {
					if (used)
						out[used++] = ',';
					memcpy(out + used, base, n);
					used += n;
					out[used] = '\0';
				}
			}
	}
	fclose(f);
	if (!used)
		snprintf(out, size, "-");
}

/* --push-ms: wakes the service loop at every tick (see the header) */
static int push_ms;
static long long push_epoch_us;

static void *
ticker(void *arg)
{
	long long k = 1;

	(void)arg;
	while (!interrupted) {
		long long at = push_epoch_us + k * push_ms * 1000LL;
		struct timespec ts = { .tv_sec = (time_t)(at / 1000000),
				       .tv_nsec = (long)(at % 1000000) * 1000 };

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
			if (interrupted)
				return NULL;
		lws_cancel_service(context);
		k++;
	}
	return NULL;
}

/* --threads: service thread tsi (1, 2, ...) */
static void *
service_thread(void *arg)
{
	int tsi = (int)(long)arg;

	while (!interrupted)
		if (lws_service_tsi(context, 1000, tsi) < 0)
			break;
	return NULL;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	enum loop_kind loop = LOOP_POLL;
	char libs[512];
	int n, deflate = 0, threads = 1, running_threads;
	pthread_t tids[32], tick_tid;
	long long next_tick = 0;

	memset(&info, 0, sizeof info);
	info.port = 7681;
	for (n = 1; n < argc; n++) {
		if (!strcmp(argv[n], "-p") && n + 1 < argc)
			info.port = atoi(argv[++n]);
		else if (!strcmp(argv[n], "-d") && n + 1 < argc)
			docroot = argv[++n];
		else if (!strcmp(argv[n], "-r") && n + 1 < argc)
			protocols[1].rx_buffer_size = (size_t)atoi(argv[++n]);
		else if (!strcmp(argv[n], "--loop") && n + 1 < argc &&
			 (!strcmp(argv[n + 1], "uv") || !strcmp(argv[n + 1], "ev") ||
			  !strcmp(argv[n + 1], "poll"))) {
			n++;
			loop = !strcmp(argv[n], "uv") ? LOOP_UV :
			       !strcmp(argv[n], "ev") ? LOOP_EV : LOOP_POLL;
		} else if (!strcmp(argv[n], "--deflate"))
			deflate = 1;
		else if (!strcmp(argv[n], "--threads") && n + 1 < argc &&
			 atoi(argv[n + 1]) >= 1 && atoi(argv[n + 1]) <= 32)
			threads = atoi(argv[++n]);
		else if (!strcmp(argv[n], "--push-ms") && n + 1 < argc &&
			 atoi(argv[n + 1]) >= 1)
			push_ms = atoi(argv[++n]);
		else {
			fprintf(stderr, "usage: %s [-p PORT] [-d DOCROOT] [-r RX_BUFFER_SIZE] "
				"[--loop uv|ev] [--deflate] [--threads N] [--push-ms MS]\n", argv[0]);
			return 2;
		}
	}
	if ((threads > 1 || push_ms) && loop != LOOP_POLL) {
		fprintf(stderr, "echo-server: --threads and --push-ms run on the poll loop only\n");
		return 2;
	}
	if (threads > 1 && push_ms) {
		fprintf(stderr, "echo-server: --threads and --push-ms do not go together\n");
		return 2;
	}

	if (loop == LOOP_POLL) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	} else
		signal(SIGTERM, forward_to_sigint);
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(LLL_ERR, NULL);

	info.protocols = protocols;
	if (deflate)
		info.extensions = exts;
	info.gid = -1;
	info.uid = -1;
	info.count_threads = (unsigned int)threads;
	if (loop == LOOP_UV)
		info.options |= LWS_SERVER_OPTION_LIBUV;
	if (loop == LOOP_EV)
		info.options |= LWS_SERVER_OPTION_LIBEV;
#if LWS_LIBRARY_VERSION_MAJOR >= 4
	if (loop != LOOP_POLL)
		info.signal_cb = evlib_signal;
#endif
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "echo-server: lws_create_context failed\n");
		return 1;
	}
#if LWS_LIBRARY_VERSION_MAJOR < 4
	if (loop == LOOP_UV && lws_uv_initloop(context, NULL, 0)) {
		fprintf(stderr, "echo-server: lws_uv_initloop failed\n");
		lws_context_destroy(context);
		return 1;
	}
	if (loop == LOOP_EV && lws_ev_initloop(context, NULL, 0)) {
		fprintf(stderr, "echo-server: lws_ev_initloop failed\n");
		lws_context_destroy(context);
		return 1;
	}
#endif
	mapped_libs(libs, sizeof(libs));
#if LWS_LIBRARY_VERSION_MAJOR < 4
	if (loop == LOOP_UV) {
		/* the handles the library has put on its libuv loop */
		uv_loop_t *l = lws_uv_getloop(context, 0);
		int handles = 0;

		if (l)
			uv_walk(l, count_handle, &handles);
		snprintf(libs + strlen(libs), sizeof(libs) - strlen(libs),
			 " uv_handles=%d", handles);
	}
#endif
	running_threads = lws_get_count_threads(context);
	if (running_threads < 1 || running_threads > threads)
		running_threads = 1;
	printf("ready port=%d version=%s threads=%d loop=%s libs=%s deflate=%d\n", info.port,
	       lws_get_library_version(), running_threads, loop_names[loop], libs, deflate);
	fflush(stdout);

	for (n = 1; n < running_threads; n++)
		if (pthread_create(&tids[n], NULL, service_thread, (void *)(long)n)) {
			fprintf(stderr, "echo-server: pthread_create failed\n");
			return 1;
		}
	if (push_ms) {
		push_epoch_us = monotonic_us();
		next_tick = push_epoch_us;
		if (pthread_create(&tick_tid, NULL, ticker, NULL)) {
			fprintf(stderr, "echo-server: pthread_create failed\n");
			return 1;
		}
	}

	switch (loop) {
	case LOOP_POLL:
		while (!interrupted) {
			if (push_ms) {
				/*
				 * lws' test-server: the service loop asks every
				 * dumb-increment connection for a WRITEABLE
				 */
				long long now = monotonic_us();

				if (now >= next_tick) {
					push_tick_us = now;
					lws_callback_on_writable_all_protocol(context,
						&protocols[PROTOCOL_DUMB_INCREMENT]);
					next_tick += push_ms * 1000LL;
					if (next_tick <= now) /* late: no burst of ticks */
						next_tick = now + push_ms * 1000LL;
				}
			}
			if (lws_service(context, push_ms ? push_ms : 1000) < 0)
				break;
		}
		/* the other threads return from lws_service_tsi at once */
		lws_cancel_service(context);
		for (n = 1; n < running_threads; n++)
			pthread_join(tids[n], NULL);
		if (push_ms)
			pthread_join(tick_tid, NULL);
		break;
#if LWS_LIBRARY_VERSION_MAJOR < 4
	case LOOP_UV:
		/* until the library's SIGINT / SIGTERM handler stops the loop */
		lws_libuv_run(context, 0);
		break;
	case LOOP_EV:
		/* until the library's SIGINT handler breaks it */
		ev_run(ev_default_loop(0), 0);
		break;
#else
	default:
		/* lws_service runs the plugin's loop until it is stopped */
		while (!interrupted)
			if (lws_service(context, 0))
				break;
		break;
#endif
	}

	lws_context_destroy(context);
	return 0;
}
