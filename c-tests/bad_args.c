/*
 * Every class of bad argument an application can pass, against a real
 * context: NULL pointers, impossible lengths, bad enum values, tsi out of
 * range, wsis after WSI_DESTROY, a destroyed context. Each call must give
 * the API's failure value and the process must survive. Also the test-echo
 * mistake: lws_write(wsi, buf, (size_t)(unsigned int)-1, ...) inside
 * SERVER_WRITEABLE returns -1 and closes only that connection.
 *
 * Two ws clients connect to the program's own server; A makes the mistake,
 * B must still get its echo afterwards. BAD_ARGS_NO_OVERREAD=1 skips the
 * one check that deliberately sends past a buffer (valgrind flags that as
 * the application's error). Prints "checks N failed M"; exit 0 iff M == 0.
 */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int checks, failed;
#define CHECK(expr, want) do { long long got_ = (long long)(expr); checks++; \
	if (got_ != (long long)(want)) { failed++; \
		printf("FAIL line %d: %s = %lld, want %lld\n", __LINE__, #expr, got_, (long long)(want)); } \
	} while (0)
#define CHECK_NULL(expr) CHECK((expr) == NULL, 1)

static struct lws_context *ctx;
static struct lws *srv[2], *cli[2], *dead_wsi;
static int srv_count, established, a_closed, b_echoed, b_closed, mistake_done;
static int destroy_checked;
static unsigned char scratch[LWS_PRE + 64];

struct pss { int id; };

static unsigned char *mapped_edge(void)
{
	/* a page followed by a hole */
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	munmap(p + pg, pg);
	memset(p, 'x', pg);
	return p + pg - 64; /* 64 bytes before the hole */
}

static const char * const names[] = { "a" };
static const char * const null_names[] = { NULL };

static void wsi_checks(struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 64];
	char out[64];

	/* bad enums and lengths on a live, established wsi */
	CHECK(lws_write(wsi, buf + LWS_PRE, 5, (enum lws_write_protocol)99), -1);
	CHECK(lws_write(wsi, NULL, 5, LWS_WRITE_TEXT), -1);
	CHECK(lws_hdr_total_length(wsi, (enum lws_token_indexes)-1), 0);
	CHECK(lws_hdr_total_length(wsi, (enum lws_token_indexes)10000), 0);
	CHECK(lws_hdr_copy(wsi, out, sizeof(out), (enum lws_token_indexes)10000) <= 0, 1);
	CHECK(lws_hdr_copy(wsi, NULL, 10, WSI_TOKEN_GET_URI), -1);
	CHECK(lws_hdr_copy(wsi, out, -1, WSI_TOKEN_GET_URI), -1);
	CHECK(lws_hdr_copy_fragment(wsi, out, sizeof(out), WSI_TOKEN_GET_URI, -1) <= 0, 1);
	CHECK(lws_hdr_copy_fragment(wsi, out, sizeof(out), WSI_TOKEN_GET_URI, 10000) <= 0, 1);
	CHECK_NULL(lws_get_urlarg_by_name(wsi, NULL, out, sizeof(out)));
	CHECK_NULL(lws_get_urlarg_by_name(wsi, "a", out, -1));
	CHECK_NULL(lws_get_peer_simple(wsi, NULL, 10));
	lws_get_peer_addresses(wsi, lws_get_socket_fd(wsi), NULL, 0, NULL, 0);
	lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 100);
	lws_close_reason(wsi, (enum lws_close_status)-5, buf, (size_t)-1);
	lws_set_timeout(wsi, (enum pending_timeout)-1, 0);
	lws_set_timeout(wsi, (enum pending_timeout)1000, -5);
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	CHECK(lws_read(wsi, NULL, 10), -1);
	CHECK(lws_read(wsi, buf, (size_t)-1), -1);
	CHECK(lws_set_extension_option(wsi, NULL, NULL, NULL), -1);
	CHECK(lws_add_http_header_status(wsi, 200, NULL, NULL), 1);
	CHECK(lws_add_http_header_by_token(wsi, (enum lws_token_indexes)10000,
		(unsigned char *)"x", 1, NULL, NULL), 1);
	CHECK(lws_finalize_http_header(wsi, NULL, NULL), 1);
	CHECK(lws_http_redirect(wsi, 302, NULL, -1, NULL, NULL), -1);
	CHECK_NULL(lws_spa_create(wsi, NULL, 2, 100, NULL, NULL));
	CHECK_NULL(lws_spa_create(wsi, names, -1, 100, NULL, NULL));
	CHECK_NULL(lws_spa_create(wsi, names, 1, -5, NULL, NULL));
	CHECK_NULL(lws_spa_create(wsi, null_names, 1, 100, NULL, NULL));
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason,
		   void *user, void *in, size_t len)
{
	(void)user; (void)in; (void)len;
	if (reason == LWS_CALLBACK_WSI_DESTROY && wsi == dead_wsi && !destroy_checked) {
		/* closed, not yet freed */
		destroy_checked = 1;
		CHECK(lws_write(wsi, scratch + LWS_PRE, 1, LWS_WRITE_TEXT), -1);
		/* out of the poll set by now: -1, as the original */
		CHECK(lws_callback_on_writable(wsi), -1);
	}
	return 0;
}

static int cb_echo(struct lws *wsi, enum lws_callback_reasons reason,
		   void *user, void *in, size_t len)
{
	struct pss *pss = user;
	unsigned char buf[LWS_PRE + 128];
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->id = srv_count;
		srv[srv_count++] = wsi;
		/* headers are still readable here */
		CHECK(lws_hdr_total_length(wsi, (enum lws_token_indexes)-1), 0);
		CHECK(lws_hdr_copy(wsi, (char *)buf, -5, WSI_TOKEN_HOST), -1);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		established++;
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->id == 0 && !mistake_done) {
			mistake_done = 1;
			/* test-echo's mistake: its length field holds -1 */
			n = lws_write(wsi, buf + LWS_PRE, (size_t)(unsigned int)-1, LWS_WRITE_TEXT);
			CHECK(n, -1);
			CHECK(lws_write(wsi, buf + LWS_PRE, (size_t)-1, LWS_WRITE_BINARY), -1);
			dead_wsi = wsi;
			return 0; /* even if the app ignores it, only A closes */
		}
		break;
	case LWS_CALLBACK_RECEIVE:
		if (len > 100)
			len = 100;
		memcpy(buf + LWS_PRE, in, len);
		CHECK(lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT), (int)len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (wsi == cli[1] && a_closed) {
			memcpy(buf + LWS_PRE, "hello", 5);
			CHECK(lws_write(wsi, buf + LWS_PRE, 5, LWS_WRITE_TEXT), 5);
		}
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (wsi == cli[1] && len == 5 && !memcmp(in, "hello", 5))
			b_echoed = 1;
		break;
	case LWS_CALLBACK_CLOSED:
		if (wsi == cli[0])
			a_closed = 1;
		if (wsi == cli[1] || wsi == srv[1])
			b_closed = 1;
		break;
	default:
		break;
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "http-only", cb_http, 0, 0, 0, NULL },
	{ "echo", cb_echo, sizeof(struct pss), 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void null_checks(void)
{
	char out[64];
	unsigned char md[20];
	const char *a, *b, *c;
	int port;
	struct lws_client_connect_info ci;

	/* NULL wsi / context / vhost everywhere */
	CHECK(lws_write(NULL, (unsigned char *)out, 1, LWS_WRITE_TEXT), -1);
	CHECK(lws_callback_on_writable(NULL), -1);
	CHECK(lws_callback_on_writable_all_protocol(NULL, &protocols[1]), -1);
	CHECK(lws_callback_on_writable_all_protocol(ctx, NULL), -1);
	CHECK(lws_callback_on_writable_all_protocol_vhost(NULL, &protocols[1]), -1);
	/* (no failure value of their own: they must only survive) */
	lws_callback_all_protocol(NULL, &protocols[1], LWS_CALLBACK_USER);
	lws_callback_all_protocol(ctx, NULL, LWS_CALLBACK_USER);
	CHECK(lws_callback_all_protocol(ctx, &protocols[1], (enum lws_callback_reasons)99999), 0);
	CHECK(lws_callback_all_protocol(ctx, &protocols[1], (enum lws_callback_reasons)-1), 0);
	lws_callback_all_protocol_vhost(NULL, &protocols[1], LWS_CALLBACK_USER);
	lws_callback_vhost_protocols(NULL, LWS_CALLBACK_USER, NULL, 0);
	CHECK(lws_rx_flow_control(NULL, 1), -1);
	lws_rx_flow_allow_all_protocol(NULL, &protocols[1]);
	lws_rx_flow_allow_all_protocol(ctx, NULL);
	CHECK(lws_remaining_packet_payload(NULL), 0);
	CHECK(lws_read(NULL, (unsigned char *)out, 1), -1);
	CHECK(lws_send_pipe_choked(NULL), 1);
	CHECK(lws_is_final_fragment(NULL), 0);
	CHECK(lws_partial_buffered(NULL), 0);
	CHECK(lws_frame_is_binary(NULL), 0);
	lws_close_reason(NULL, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
	lws_set_timeout(NULL, NO_PENDING_TIMEOUT, 0);
	lws_cancel_service_pt(NULL);
	lws_cancel_service(NULL);
	CHECK_NULL(lws_get_context(NULL));
	CHECK_NULL(lws_get_protocol(NULL));
	CHECK_NULL(lws_get_vhost(NULL));
	CHECK_NULL(lws_get_parent(NULL));
	CHECK_NULL(lws_get_child(NULL));
	CHECK_NULL(lws_wsi_user(NULL));
	CHECK(lws_get_socket_fd(NULL), -1);
	CHECK(lws_is_ssl(NULL), 0);
	CHECK(lws_is_cgi(NULL), 0);
	CHECK_NULL(lws_get_peer_simple(NULL, out, sizeof(out)));
	CHECK(lws_hdr_total_length(NULL, WSI_TOKEN_GET_URI), 0);
	CHECK(lws_hdr_fragment_length(NULL, WSI_TOKEN_GET_URI, 0), 0);
	CHECK(lws_hdr_copy(NULL, out, sizeof(out), WSI_TOKEN_GET_URI), -1);
	CHECK(lws_hdr_copy_fragment(NULL, out, sizeof(out), WSI_TOKEN_GET_URI, 0), -1);
	CHECK(lws_http_transaction_completed(NULL), 1);
	CHECK(lws_serve_http_file(NULL, "x", "text/plain", NULL, 0), -1);
	CHECK(lws_serve_http_file_fragment(NULL), -1);
	CHECK(lws_return_http_status(NULL, 404, NULL), -1);
	CHECK(lws_http_client_read(NULL, NULL, NULL), -1);
	lws_client_http_body_pending(NULL, 1);
	CHECK(lws_service(NULL, 0), 1);
	CHECK(lws_service_tsi(NULL, 0, 0), 1);
	CHECK(lws_service_fd(NULL, NULL), -1);
	CHECK(lws_service_tsi(ctx, 0, -1), -1);
	CHECK(lws_service_tsi(ctx, 0, 99), -1);
	CHECK(lws_service_fd_tsi(ctx, NULL, -1), -1);
	CHECK(lws_service_fd_tsi(ctx, NULL, 32), -1);
	/* event libraries: NULL / out-of-range / no loop attached */
	CHECK(lws_uv_initloop(NULL, NULL, 0), -1);
	CHECK(lws_uv_initloop(ctx, NULL, -1), -1);
	CHECK(lws_uv_initloop(ctx, NULL, 32), -1);
	CHECK(lws_ev_initloop(NULL, NULL, 0), -1);
	CHECK(lws_ev_initloop(ctx, NULL, 99), -1);
	CHECK(lws_uv_sigint_cfg(NULL, 1, NULL), -1);
	CHECK(lws_ev_sigint_cfg(NULL, 1, NULL), -1);
	CHECK_NULL(lws_uv_getloop(NULL, 0));
	CHECK_NULL(lws_uv_getloop(ctx, 0));
	CHECK_NULL(lws_uv_getloop(ctx, 99));
	lws_libuv_run(NULL, 0);
	lws_libuv_run(ctx, 0);
	lws_libuv_run(ctx, 99);
	lws_libuv_stop(NULL);
	lws_uv_sigint_cb(NULL, 2);
	CHECK_NULL(lws_context_user(NULL));
	CHECK_NULL(lws_canonical_hostname(NULL));
	CHECK(lws_get_random(NULL, out, 4), -1);
	CHECK(lws_get_random(ctx, NULL, 4), -1);
	CHECK(lws_get_random(ctx, out, -4), -1);
	CHECK(lws_get_count_threads(NULL), -1);
	CHECK_NULL(lws_get_fops(NULL));
	CHECK(lws_finalize_startup(NULL), -1);
	CHECK_NULL(lws_create_context(NULL));
	CHECK_NULL(lws_create_vhost(NULL, NULL));
	CHECK_NULL(lws_create_vhost(ctx, NULL));
	CHECK_NULL(lws_vhost_get(NULL));
	CHECK_NULL(lws_protocol_get(NULL));
	CHECK_NULL(lws_vhost_name_to_protocol(NULL, "echo"));
	CHECK_NULL(lws_protocol_vh_priv_zalloc(NULL, &protocols[1], 10));
	CHECK_NULL(lws_protocol_vh_priv_get(NULL, &protocols[1]));
	CHECK(lws_set_proxy(NULL, "a:1"), -1);
	CHECK(lws_init_vhost_client_ssl(NULL, NULL), -1);
	CHECK_NULL(lws_client_connect_via_info(NULL));
	memset(&ci, 0, sizeof(ci));
	CHECK_NULL(lws_client_connect_via_info(&ci));
	ci.context = ctx;
	CHECK_NULL(lws_client_connect_via_info(&ci)); /* no address */
	CHECK_NULL(lws_adopt_socket(NULL, -1));
	CHECK_NULL(lws_adopt_socket_readbuf(NULL, -1, NULL, 0));
	lws_json_dump_context(NULL, out, sizeof(out));
	/* strings and buffers */
	CHECK(lws_b64_encode_string(NULL, 5, out, sizeof(out)), -1);
	CHECK(lws_b64_encode_string("abc", -1, out, sizeof(out)), -1);
	CHECK(lws_b64_encode_string("abc", 3, NULL, 10), -1);
	CHECK(lws_b64_encode_string("abc", 3, out, -1), -1);
	CHECK(lws_b64_decode_string(NULL, out, sizeof(out)), -1);
	CHECK(lws_b64_decode_string("YWJj", NULL, 10), -1);
	CHECK(lws_b64_decode_string("YWJj", out, -1), -1);
	CHECK_NULL(lws_SHA1(NULL, 3, md));
	CHECK_NULL(lws_SHA1((const unsigned char *)"abc", 3, NULL));
	CHECK(lws_urldecode(NULL, "a", 5), -1);
	CHECK(lws_urldecode(out, NULL, 5), -1);
	lws_urlencode(out, NULL, sizeof(out));
	lws_urlencode(NULL, "a", 5);
	lws_urlencode(out, "a", -1);
	lws_sql_purify(out, NULL, sizeof(out));
	lws_sql_purify(NULL, "a", 5);
	lws_sql_purify(out, "a", -1);
	lws_json_purify(NULL, "a", 5);
	lws_json_purify(out, "a", -1);
	CHECK(lws_parse_uri(NULL, &a, &b, &port, &c), -1);
	CHECK_NULL(lws_token_to_string((enum lws_token_indexes)-1));
	CHECK_NULL(lws_token_to_string((enum lws_token_indexes)10000));
	CHECK_NULL(lws_get_mimetype(NULL, NULL));
	CHECK(lwsl_timestamp(LLL_ERR, NULL, 10), 0);
	CHECK(lwsl_timestamp(LLL_ERR, out, -1), 0);
	CHECK(lws_chunked_html_process(NULL, NULL), -1);
	/* form parsing */
	CHECK_NULL(lws_spa_create(NULL, NULL, 0, 10, NULL, NULL));
	CHECK(lws_spa_process(NULL, "a=1", 3), -1);
	CHECK(lws_spa_finalize(NULL), -1);
	CHECK(lws_spa_get_length(NULL, 0), 0);
	CHECK_NULL(lws_spa_get_string(NULL, 0));
	CHECK(lws_spa_destroy(NULL), 0);
	CHECK(lws_interface_to_sa(0, NULL, NULL, 0), -1);
}

static struct lws *connect_echo(int port)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = ctx;
	ci.address = "127.0.0.1";
	ci.port = port;
	ci.path = "/";
	ci.host = "127.0.0.1";
	ci.origin = "127.0.0.1";
	ci.protocol = "echo";
	return lws_client_connect_via_info(&ci);
}

int main(void)
{
	struct lws_context_creation_info info;
	struct lws_vhost *vh;
	struct lws_context *dead_ctx;
	unsigned char *edge;
	int i, n, overread = !getenv("BAD_ARGS_NO_OVERREAD");

	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	memset(&info, 0, sizeof(info));
	info.port = 0;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	ctx = lws_create_context(&info);
	if (!ctx) {
		printf("no context\n");
		return 2;
	}
	null_checks();

	for (i = 0; i < 2; i++) {
		cli[i] = connect_echo(info.port);
	}
	for (n = 0; n < 2000 && (established < 2 || srv_count < 2); n++)
		lws_service(ctx, 10);
	CHECK(established, 2);
	CHECK(srv_count, 2);
	if (srv_count < 2 || established < 2)
		goto out;

	vh = lws_get_vhost(srv[0]);
	CHECK_NULL(lws_protocol_vh_priv_zalloc(vh, NULL, 10));
	CHECK_NULL(lws_protocol_vh_priv_zalloc(vh, &protocols[1], -1));
	CHECK(lws_callback_on_writable_all_protocol_vhost(vh, NULL), -1);
	wsi_checks(srv[1]);
	wsi_checks(cli[1]);

	/* client frames are masked in place: a length past the buffer fails */
	edge = mapped_edge();
	if (edge && overread) {
		/* server side: sent from the app's memory, the kernel refuses the
		 * hole; client side: refused before masking */
		CHECK(lws_write(cli[1], edge, 1 << 20, LWS_WRITE_BINARY), -1);
		/* bytes fed to a parser are copied through the kernel too */
		CHECK(lws_read(srv[1], edge, 1 << 20), -1);
	}
	CHECK(lws_write(cli[1], edge, (size_t)-1, LWS_WRITE_BINARY), -1);
	/* that closed client B: reconnect it */
	cli[1] = NULL;
	srv_count = 1;
	established = 1;
	b_closed = 0;
	cli[1] = connect_echo(info.port);
	for (n = 0; n < 2000 && (established < 2 || srv_count < 2); n++)
		lws_service(ctx, 10);
	CHECK(established, 2);
	b_closed = 0;

	/* the test-echo mistake on A, requested WRITEABLE */
	CHECK(lws_callback_on_writable(srv[0]), 1);
	for (n = 0; n < 500 && !a_closed; n++)
		lws_service(ctx, 10);
	CHECK(mistake_done, 1);
	CHECK(a_closed, 1);
	CHECK(destroy_checked, 1);
	/* A's server wsi is freed now: a stale pointer */
	for (n = 0; n < 5; n++)
		lws_service(ctx, 1);
	CHECK(lws_write(dead_wsi, scratch + LWS_PRE, 1, LWS_WRITE_TEXT), -1);
	CHECK(lws_callback_on_writable(dead_wsi), -1);
	CHECK_NULL(lws_get_context(dead_wsi));
	CHECK(lws_get_socket_fd(dead_wsi), -1);
	CHECK_NULL(lws_wsi_user(dead_wsi));
	CHECK(lws_hdr_total_length(dead_wsi, WSI_TOKEN_GET_URI), 0);
	CHECK(lws_rx_flow_control(dead_wsi, 0), -1);

	/* B keeps working */
	CHECK(lws_callback_on_writable(cli[1]), 1);
	for (n = 0; n < 500 && !b_echoed; n++)
		lws_service(ctx, 10);
	CHECK(b_echoed, 1);
	CHECK(b_closed, 0);

	if (edge && overread) {
		/* a server write past the end of a buffer: the kernel refuses the
		 * hole, -1 and only B's server side closes */
		CHECK(lws_write(srv[1], edge, 8 << 20, LWS_WRITE_BINARY), -1);
		for (n = 0; n < 300 && !b_closed; n++)
			lws_service(ctx, 10);
		CHECK(b_closed, 1);
	}

out:
	dead_ctx = ctx;
	lws_context_destroy(ctx);
	ctx = NULL;
	/* a destroyed context */
	CHECK(lws_service(dead_ctx, 0), 1);
	CHECK(lws_get_count_threads(dead_ctx), -1);
	CHECK_NULL(lws_context_user(dead_ctx));
	CHECK_NULL(lws_vhost_get(NULL));
	lws_cancel_service(dead_ctx);
	CHECK(lws_uv_initloop(dead_ctx, NULL, 0), -1);
	CHECK_NULL(lws_uv_getloop(dead_ctx, 0));
	lws_libuv_stop(dead_ctx);
	lws_context_destroy(dead_ctx);
	lws_context_destroy(NULL);

	printf("checks %d failed %d\n", checks, failed);
	return failed ? 1 : 0;
}
