/*
 * A permessage-deflate client written the way lws 2.0's test-client is: the
 * extension table { "permessage-deflate", lws_extension_callback_pm_deflate,
 * "permessage-deflate; client_max_window_bits" } in info.extensions (or in
 * ccinfo.client_exts), lws_client_connect_via_info, then an echo test:
 *
 *   deflate_client [OPTIONS] HOST PORT
 *
 * sends COUNT x SIZES messages and checks every echo byte for byte, chunk by
 * chunk as CLIENT_RECEIVE delivers it, then closes with
 * lws_close_reason(1000, "done").
 *
 * Options:
 *   -P PATH     request path (default "/")
 *   -p PROTO    the subprotocol asked for (default "echo"; also protocols[0]'s
 *               name); "-" asks for none
 *   -e WHERE    where the extension table goes: "ctx" (info.extensions, the
 *               default), "cc" (ccinfo.client_exts only), "both" (a table in
 *               info.extensions whose offer is "permessage-deflate;
 *               client_no_context_takeover" and the -o one in client_exts),
 *               "testclient" (info.extensions with test-client's second entry
 *               { "deflate-frame", pm_deflate, "deflate_frame" } too),
 *               "foreign" (info.extensions: "permessage-deflate" with a callback
 *               of this program's, which prints "foreign callback REASON"), "none"
 *   -o OFFER    the table's client offer (default "permessage-deflate;
 *               client_max_window_bits")
 *   -V          veto: return 1 from LWS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED
 *   -s SIZES    comma separated message sizes (default "0,1,125,16384")
 *   -n COUNT    the sizes list is sent COUNT times (default 1)
 *   -t TYPE     text (default), binary or mixed (odd messages binary)
 *   -d DATA     random (default), compressible (a sentence repeated, the same
 *               in every message but for a "msg N" prefix), repeat (one random
 *               1500 byte block repeated: matches only at distance 1500), zeros
 *               or utf8 (random words with 2, 3 and 4 byte UTF-8 sequences)
 *   -f FRAG     send each message in fragments of at most FRAG bytes
 *               (LWS_WRITE_NO_FIN / LWS_WRITE_CONTINUATION), one per WRITEABLE
 *   -g          with -f: a PING between fragments ("pongs N" is printed)
 *   -q          pipelined: send every message without waiting for echoes
 *   -r BYTES    protocols[0].rx_buffer_size (default 4096)
 *   -c BYTES    fail when a CLIENT_RECEIVE chunk is longer (default: the
 *               rx_buffer_size, or 4096 when 0)
 *   -O NAME=VAL lws_set_extension_option(wsi, "permessage-deflate", NAME, VAL)
 *               at CLIENT_ESTABLISHED (repeatable); prints "option NAME=VAL -> RC"
 *   -F K        rx flow control: after every K-th chunk received,
 *               lws_rx_flow_control(wsi, 0), re-enabled ~5 ms later from the
 *               service loop (with lws_callback_on_writable); a CLIENT_RECEIVE
 *               while disabled is a failure
 *   -U          LWS_SERVER_OPTION_VALIDATE_UTF8 on the context
 *   -H          write over the LWS_PRE bytes of headroom before every received
 *               chunk (spec: "LWS_PRE headroom before in"; for ASan builds)
 *   -S          sink: received messages are counted, not compared ("sink
 *               message N: BYTES bytes" per message), for servers that answer
 *               with other messages (e.g. a decompression bomb)
 *   -w SECS     give up after SECS (default 30)
 *   -v LEVEL    lws log level (default LLL_ERR | LLL_WARN)
 *
 * Prints "confirm NAME len LEN" per CLIENT_CONFIRM_EXTENSION_SUPPORTED,
 * "append-handshake-header" at CLIENT_APPEND_HANDSHAKE_HEADER, "extensions:
 * VALUE" (the reply's Sec-WebSocket-Extensions, "-" without one) at
 * CLIENT_FILTER_PRE_ESTABLISH, "established", "option ...", then "received N
 * messages ok, B bytes, max chunk C, chunks K, flow pauses P", "pongs N",
 * "closed" - or "connection error: <text>", "FAIL: <why>", "timed out" - and
 * last "peak rss N KiB" (VmHWM of /proc/self/status after the context is
 * destroyed: the process's peak resident memory).
 * Exits 0 when every echo came back right and the connection closed.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define MAX_OPTS 16
#define REPEAT_BLOCK 1500

static struct lws_extension exts[4];
static struct lws_extension exts_ctx[2]; /* -e both: the context's table */
static const char *where = "ctx", *offer = "permessage-deflate; client_max_window_bits";
static const char *path = "/", *proto = "echo", *type = "text", *data_kind = "random";
static const char *opt_names[MAX_OPTS], *opt_values[MAX_OPTS];
static int nopts, veto, sink, validate_utf8, headroom, frag, ping_between, pipelined, flow_every, max_chunk_allowed;
static int rx_buffer_size = 4096;

static size_t *sizes;
static int nsizes, total;
static unsigned char **expect; /* expected content of each message, NULL once checked */

static struct lws *wsi_main;
static int established, closed, failed, done, errors;
static int send_idx, recv_idx, ping_due, pings_sent, pongs;
static size_t send_off, recv_off, max_chunk, bytes_ok;
static long chunks;
static int flow_paused, flow_pauses;
static double paused_at;
static unsigned char *sendbuf;

static long
peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			kib = atol(line + 6);
	fclose(f);
	return kib;
}

static double
now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	failed = 1;
}

static uint64_t
rnd(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
is_binary(int i)
{
	if (!strcmp(type, "binary"))
		return 1;
	if (!strcmp(type, "mixed"))
		return i & 1;
	return 0;
}

static size_t
msg_size(int i)
{
	return sizes[i % nsizes];
}

/* message i's content; text stays ASCII (valid UTF-8) */
static unsigned char *
generate(int i)
{
	static const char alnum[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static const char sentence[] =
		"The quick brown fox jumps over the lazy dog; permessage-deflate "
		"squeezes this line again and again. ";
	size_t n = msg_size(i), k;
	int bin = is_binary(i);
	unsigned char *p = malloc(n + 1), block[REPEAT_BLOCK];
	uint64_t s = (uint64_t)i * 7919 + 1;
	char prefix[32];
	int plen;

	if (!p)
		return NULL;
	if (!strcmp(data_kind, "compressible")) {
		plen = snprintf(prefix, sizeof prefix, "msg %d ", i);
		for (k = 0; k < n; k++)
			p[k] = k < (size_t)plen ? (unsigned char)prefix[k] :
				(unsigned char)sentence[(k - (size_t)plen) % (sizeof(sentence) - 1)];
	} else if (!strcmp(data_kind, "repeat")) {
		uint64_t bs = 12345;

		for (k = 0; k < REPEAT_BLOCK; k++) {
			uint64_t r = rnd(&bs);
			block[k] = bin ? (unsigned char)r : (unsigned char)alnum[r % 62];
		}
		for (k = 0; k < n; k++)
			p[k] = block[k % REPEAT_BLOCK];
	} else if (!strcmp(data_kind, "utf8")) {
		static const char *const words[] = {
			"h\xc3\xa9llo ", "w\xc3\xb6rld ", "\xe2\x9c\x93 ", "\xf0\x9f\x98\x80 ",
			"plain ", "\xc3\xa9\xc3\xa9\xc3\xa9", "\xe6\xbc\xa2\xe5\xad\x97"
		};

		for (k = 0; k < n;) {
			const char *w = words[rnd(&s) % (sizeof(words) / sizeof(words[0]))];
			size_t wl = strlen(w);

			if (k + wl > n) {
				memset(p + k, 'x', n - k);
				break;
			}
			memcpy(p + k, w, wl);
			k += wl;
		}
	} else if (!strcmp(data_kind, "zeros")) {
		memset(p, bin ? 0 : 'a', n);
	} else {
		for (k = 0; k < n; k++) {
			uint64_t r = rnd(&s);
			p[k] = bin ? (unsigned char)r : (unsigned char)alnum[r % 62];
		}
	}
	return p;
}

static int
more_to_send(void)
{
	if (send_idx >= total)
		return 0;
	return pipelined || send_idx <= recv_idx;
}

static int
write_next(struct lws *wsi)
{
	size_t size, n;
	int flags, rc;

	if (ping_due) {
		char ping[LWS_PRE + 32];
		int len = snprintf(ping + LWS_PRE, 32, "ping %d", pings_sent);

		rc = lws_write(wsi, (unsigned char *)ping + LWS_PRE, (size_t)len, LWS_WRITE_PING);
		if (rc < len) {
			fail("lws_write(PING) returned %d for %d", rc, len);
			return -1;
		}
		ping_due = 0;
		pings_sent++;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (!more_to_send())
		return 0;
	if (!expect[send_idx] && !(expect[send_idx] = generate(send_idx)))
		return -1;
	size = msg_size(send_idx);
	n = size - send_off;
	if (frag && n > (size_t)frag)
		n = (size_t)frag;
	flags = send_off ? LWS_WRITE_CONTINUATION :
		(is_binary(send_idx) ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
	if (send_off + n < size)
		flags |= LWS_WRITE_NO_FIN;
	/* lws may change the buffer (masking): a fresh copy every time */
	memcpy(sendbuf + LWS_PRE, expect[send_idx] + send_off, n);
	rc = lws_write(wsi, sendbuf + LWS_PRE, n, flags);
	if (rc < 0 || (size_t)rc != n) {
		fail("lws_write(message %d) returned %d for %zu", send_idx, rc, n);
		return -1;
	}
	send_off += n;
	if (send_off == size) {
		send_idx++;
		send_off = 0;
	} else if (ping_between)
		ping_due = 1;
	if (ping_due || more_to_send())
		lws_callback_on_writable(wsi);
	return 0;
}

static int
receive(struct lws *wsi, unsigned char *in, size_t len)
{
	size_t size;
	int final;

	if (flow_paused) {
		fail("CLIENT_RECEIVE while rx flow control is disabled (%zu bytes, message %d)",
		     len, recv_idx);
		return -1;
	}
	if (recv_idx >= send_idx) {
		fail("a message not sent yet (%zu bytes, index %d, sent %d)", len, recv_idx,
		     send_idx);
		return -1;
	}
	if (headroom)
		memset(in - LWS_PRE, 0x5a, LWS_PRE);
	size = msg_size(recv_idx);
	chunks++;
	if (len > max_chunk)
		max_chunk = len;
	if (len > (size_t)max_chunk_allowed) {
		fail("chunk of %zu bytes, more than %d (message %d)", len, max_chunk_allowed,
		     recv_idx);
		return -1;
	}
	if (!sink && !lws_frame_is_binary(wsi) != !is_binary(recv_idx)) {
		fail("echo %d has the wrong type (lws_frame_is_binary %d)", recv_idx,
		     lws_frame_is_binary(wsi));
		return -1;
	}
	if (!sink && recv_off + len > size) {
		fail("echo %d longer than sent (%zu bytes of %zu)", recv_idx, recv_off + len, size);
		return -1;
	}
	if (!sink && len && memcmp(in, expect[recv_idx] + recv_off, len)) {
		size_t k = 0;

		while (in[k] == expect[recv_idx][recv_off + k])
			k++;
		fail("echo %d (%zu bytes) differs at offset %zu", recv_idx, size, recv_off + k);
		return -1;
	}
	recv_off += len;
	final = lws_is_final_fragment(wsi);
	if (final) {
		if (lws_remaining_packet_payload(wsi)) {
			fail("final chunk with %zu bytes of payload remaining (echo %d)",
			     lws_remaining_packet_payload(wsi), recv_idx);
			return -1;
		}
		if (sink) {
			printf("sink message %d: %zu bytes %s\n", recv_idx, recv_off,
			       lws_frame_is_binary(wsi) ? "binary" : "text");
			fflush(stdout);
			size = recv_off;
		} else if (recv_off != size) {
			fail("echo %d ends after %zu of %zu bytes", recv_idx, recv_off, size);
			return -1;
		}
		bytes_ok += size;
		free(expect[recv_idx]);
		expect[recv_idx] = NULL;
		recv_idx++;
		recv_off = 0;
		if (recv_idx == total) {
			printf("received %d messages ok, %zu bytes, max chunk %zu, chunks %ld, "
			       "flow pauses %d\n", total, bytes_ok, max_chunk, chunks, flow_pauses);
			if (ping_between)
				printf("pings %d pongs %d\n", pings_sent, pongs);
			fflush(stdout);
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
			return -1;
		}
		if (more_to_send())
			lws_callback_on_writable(wsi);
	}
	if (flow_every && chunks % flow_every == 0) {
		lws_rx_flow_control(wsi, 0);
		flow_paused = 1;
		flow_pauses++;
		paused_at = now();
	}
	return 0;
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	char buf[1024];
	int n, i;

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED:
		printf("confirm %s len %zu\n", in ? (const char *)in : "(null)", len);
		fflush(stdout);
		return veto;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		printf("append-handshake-header\n");
		fflush(stdout);
		break;
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_EXTENSIONS);
		printf("extensions: %s\n", n > 0 ? buf : "-");
		fflush(stdout);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		established = 1;
		printf("established\n");
		for (i = 0; i < nopts; i++)
			printf("option %s=%s -> %d\n", opt_names[i], opt_values[i],
			       lws_set_extension_option(wsi, "permessage-deflate",
							opt_names[i], opt_values[i]));
		fflush(stdout);
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return write_next(wsi);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return receive(wsi, in, len);
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		pongs++;
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
		errors++;
		failed = 1;
		done = 1;
		break;
	case LWS_CALLBACK_CLOSED:
		printf("closed\n");
		fflush(stdout);
		closed = 1;
		done = 1;
		break;
	default:
		break;
	}
	return 0;
}

static int
foreign_callback(struct lws_context *context, const struct lws_extension *ext,
		 struct lws *wsi, enum lws_extension_callback_reasons reason,
		 void *user, void *in, size_t len)
{
	(void)context;
	(void)ext;
	(void)wsi;
	(void)user;
	(void)in;
	(void)len;
	printf("foreign callback %d\n", (int)reason);
	fflush(stdout);
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "echo", callback, 0, 4096, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static int
parse_sizes(const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int cap = 8;

	sizes = malloc(sizeof(*sizes) * (size_t)cap);
	if (!copy || !sizes)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nsizes == cap) {
			cap *= 2;
			sizes = realloc(sizes, sizeof(*sizes) * (size_t)cap);
			if (!sizes)
				return -1;
		}
		sizes[nsizes++] = (size_t)strtoul(tok, NULL, 0);
	}
	free(copy);
	return nsizes ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	struct lws_context *context;
	double start = now(), wait = 30, grace_end = 0;
	const char *sizes_arg = "0,1,125,16384";
	int a, count = 1, level = LLL_ERR | LLL_WARN, ok;
	size_t biggest = 0;

	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (!strcmp(o, "-V"))
			veto = 1;
		else if (!strcmp(o, "-g"))
			ping_between = 1;
		else if (!strcmp(o, "-q"))
			pipelined = 1;
		else if (!strcmp(o, "-S"))
			sink = 1;
		else if (!strcmp(o, "-U"))
			validate_utf8 = 1;
		else if (!strcmp(o, "-H"))
			headroom = 1;
		else if (!v) {
			fprintf(stderr, "option %s needs a value\n", o);
			return 2;
		} else {
			a++;
			if (!strcmp(o, "-P"))
				path = v;
			else if (!strcmp(o, "-p"))
				proto = v;
			else if (!strcmp(o, "-e"))
				where = v;
			else if (!strcmp(o, "-o"))
				offer = v;
			else if (!strcmp(o, "-s"))
				sizes_arg = v;
			else if (!strcmp(o, "-n"))
				count = atoi(v);
			else if (!strcmp(o, "-t"))
				type = v;
			else if (!strcmp(o, "-d"))
				data_kind = v;
			else if (!strcmp(o, "-f"))
				frag = atoi(v);
			else if (!strcmp(o, "-r"))
				rx_buffer_size = atoi(v);
			else if (!strcmp(o, "-c"))
				max_chunk_allowed = atoi(v);
			else if (!strcmp(o, "-F"))
				flow_every = atoi(v);
			else if (!strcmp(o, "-w"))
				wait = atof(v);
			else if (!strcmp(o, "-v"))
				level = atoi(v);
			else if (!strcmp(o, "-O") && nopts < MAX_OPTS && strchr(v, '=')) {
				char *eq = strdup(v);

				if (!eq)
					return 2;
				opt_names[nopts] = eq;
				eq = strchr(eq, '=');
				*eq = '\0';
				opt_values[nopts++] = eq + 1;
			} else {
				fprintf(stderr, "unknown option %s\n", o);
				return 2;
			}
		}
	}
	if (argc - a != 2 || count < 1 || parse_sizes(sizes_arg)) {
		fprintf(stderr, "usage: deflate_client [OPTIONS] HOST PORT (see the source)\n");
		return 2;
	}
	lws_set_log_level(level, NULL);
	total = count * nsizes;
	expect = calloc((size_t)total, sizeof(*expect));
	for (int i = 0; i < nsizes; i++)
		if (sizes[i] > biggest)
			biggest = sizes[i];
	sendbuf = malloc(LWS_PRE + biggest + 1);
	if (!expect || !sendbuf)
		return 1;
	protocols[0].name = strcmp(proto, "-") ? proto : "echo";
	protocols[0].rx_buffer_size = (size_t)rx_buffer_size;
	if (!max_chunk_allowed)
		max_chunk_allowed = rx_buffer_size ? rx_buffer_size : 4096;

	/* the test-client's table */
	exts[0].name = "permessage-deflate";
	exts[0].callback = lws_extension_callback_pm_deflate;
	exts[0].client_offer = offer;
	if (!strcmp(where, "testclient")) {
		exts[1].name = "deflate-frame";
		exts[1].callback = lws_extension_callback_pm_deflate;
		exts[1].client_offer = "deflate_frame";
	}
	if (!strcmp(where, "foreign"))
		exts[0].callback = foreign_callback;
	exts_ctx[0].name = "permessage-deflate";
	exts_ctx[0].callback = lws_extension_callback_pm_deflate;
	exts_ctx[0].client_offer = "permessage-deflate; client_no_context_takeover";

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	if (validate_utf8)
		info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8;
	if (!strcmp(where, "ctx") || !strcmp(where, "testclient") || !strcmp(where, "foreign"))
		info.extensions = exts;
	else if (!strcmp(where, "both"))
		info.extensions = exts_ctx;
	else if (strcmp(where, "cc") && strcmp(where, "none")) {
		fprintf(stderr, "bad -e %s\n", where);
		return 2;
	}
	context = lws_create_context(&info);
	if (!context) {
		printf("context creation failed\n");
		return 1;
	}

	memset(&ci, 0, sizeof ci);
	ci.context = context;
	ci.address = argv[a];
	ci.port = atoi(argv[a + 1]);
	ci.path = path;
	ci.host = ci.address;
	ci.origin = ci.address;
	ci.protocol = strcmp(proto, "-") ? proto : NULL;
	ci.ietf_version_or_minus_one = -1;
	if (!strcmp(where, "cc") || !strcmp(where, "both"))
		ci.client_exts = exts;
	ci.pwsi = &wsi_main;
	if (!lws_client_connect_via_info(&ci)) {
		printf("connect failed at once\n");
		failed = 1;
		done = 1;
	}
	fflush(stdout);

	while (now() - start < wait) {
		if (done && !grace_end)
			grace_end = now() + 0.3;
		if (grace_end && now() > grace_end)
			break;
		if (flow_paused && now() - paused_at > 0.005) {
			flow_paused = 0;
			lws_rx_flow_control(wsi_main, 1);
			lws_callback_on_writable(wsi_main);
		}
		lws_service(context, flow_paused ? 2 : 20);
	}
	if (!done)
		printf("timed out (sent %d, received %d of %d messages)\n", send_idx, recv_idx, total);
	fflush(stdout);
	lws_context_destroy(context);
	printf("peak rss %ld KiB\n", peak_rss_kib());
	ok = done && !failed && closed && recv_idx == total;
	for (int i = 0; i < total; i++)
		free(expect[i]);
	free(expect);
	free(sendbuf);
	free(sizes);
	return !ok;
}
