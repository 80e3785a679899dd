/*
 * An HTTP server written the way lws 2.0 applications are: one "http-only"
 * protocol whose callback answers requests with the header helpers,
 * lws_write, lws_serve_http_file and lws_return_http_status.
 *
 *   http_server [-p PORT] [-d DOCROOT] [-l CALLBACK_LOG] [-t TIMEOUT_SECS]
 *               [-c CERT -k KEY]   (serve HTTPS with that certificate and key)
 *               [-R 1]             (also take plain HTTP there, redirected to https://)
 *               [-P PASSWORD]      (info.ssl_private_key_password: the key's password)
 *               [-E CURVE]         (info.ecdh_curve)
 *               [-S 1]             (LWS_SERVER_OPTION_STS)
 *               [-O 1]             (info.ssl_options_set = SSL_OP_NO_TLSv1_3)
 *
 * Prints "port N" once listening (PORT 0 picks a free port). Routes:
 *   /                  DOCROOT/index.html (lws_serve_http_file)
 *   /file/<path>       DOCROOT/<path>, type by lws_get_mimetype
 *   /hello             "hello world" built with the header helpers
 *   /status/<code>     lws_return_http_status(code)
 *   /headers?...       the request's headers and URI args, as text
 *   /stream?n=K        K lines sent from HTTP_WRITEABLE, one per callback
 *   /slow              answers nothing (times out)
 *   POST /echo         the request body back, with its length
 * CALLBACK_LOG gets one line per callback: "<reason> <wsi-number>".
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *docroot = ".";
#include "cblog.h"
#include "serve.h"

struct pss {
	unsigned char *body;
	size_t body_len;
	int stream_left;
	int stream_total;
};

static int
send_text(struct lws *wsi, unsigned int code, const char *type, const char *body, size_t len)
{
	unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *p = start,
		      *end = &buf[sizeof(buf) - 1];

	if (lws_add_http_header_status(wsi, code, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)type, (int)strlen(type), &p, end) ||
	    lws_add_http_header_content_length(wsi, len, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end))
		return -1;
	if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0)
		return -1;
	if (len && lws_write(wsi, (unsigned char *)body, len, LWS_WRITE_HTTP) < (int)len)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void
append_header(char *out, size_t size, struct lws *wsi, const char *name, enum lws_token_indexes t)
{
	char value[256];
	int n = lws_hdr_copy(wsi, value, sizeof(value), t);

	if (n > 0)
		snprintf(out + strlen(out), size - strlen(out), "%s=%s\n", name, value);
}

static int
show_headers(struct lws *wsi)
{
	char out[2048] = "", frag[256], arg[128];
	const char *a;
	int n;

	append_header(out, sizeof(out), wsi, "host", WSI_TOKEN_HOST);
	append_header(out, sizeof(out), wsi, "user-agent", WSI_TOKEN_HTTP_USER_AGENT);
	append_header(out, sizeof(out), wsi, "cookie", WSI_TOKEN_HTTP_COOKIE);
	append_header(out, sizeof(out), wsi, "uri", WSI_TOKEN_GET_URI);
	snprintf(out + strlen(out), sizeof(out) - strlen(out), "args-length=%d\n",
		 lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS));
	for (n = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, n) >= 0; n++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "arg%d=%s\n", n, frag);
	a = lws_get_urlarg_by_name(wsi, "x=", arg, sizeof(arg));
	if (a)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "x=%s\n", a);
	return send_text(wsi, HTTP_STATUS_OK, "text/plain", out, strlen(out));
}

static int
serve(struct lws *wsi, const char *rel)
{
	char path[1024];
	const char *type;
	int n;

	snprintf(path, sizeof(path), "%s/%s", docroot, rel);
	type = lws_get_mimetype(path, NULL);
	n = lws_serve_http_file(wsi, path, type ? type : "application/octet-stream", NULL, 0);
	if (n < 0) {
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "no such file");
		return -1;
	}
	if (n > 0 && lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	const char *uri = (const char *)in;
	char line[64], num[16];
	unsigned char buf[LWS_PRE + 64];
	int n;

	log_cb(wsi, reason);

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI)) {
			if (!strcmp(uri, "/echo"))
				return 0; /* answered at BODY_COMPLETION */
			lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
			return -1;
		}
		if (!strcmp(uri, "/"))
			return serve(wsi, "index.html");
		if (!strncmp(uri, "/file/", 6))
			return serve(wsi, uri + 6);
		if (!strcmp(uri, "/hello"))
			return send_text(wsi, HTTP_STATUS_OK, "text/plain", "hello world", 11);
		if (!strncmp(uri, "/status/", 8)) {
			lws_return_http_status(wsi, (unsigned int)atoi(uri + 8), "custom");
			return -1;
		}
		if (!strcmp(uri, "/headers"))
			return show_headers(wsi);
		if (!strcmp(uri, "/slow"))
			return 0;
		if (!strcmp(uri, "/stream")) {
			pss->stream_total = 5;
			if (lws_get_urlarg_by_name(wsi, "n=", num, sizeof(num)))
				pss->stream_total = atoi(lws_get_urlarg_by_name(wsi, "n=", num, sizeof(num)));
			pss->stream_left = pss->stream_total;
			{
				unsigned char hb[LWS_PRE + 512], *start = &hb[LWS_PRE], *p = start,
					      *end = &hb[sizeof(hb) - 1];
				if (lws_add_http_header_status(wsi, 200, &p, end) ||
				    lws_add_http_header_by_name(wsi, (const unsigned char *)"content-type:",
								(const unsigned char *)"text/plain", 10, &p, end) ||
				    lws_add_http_header_content_length(wsi, (unsigned long)pss->stream_total * 8, &p, end) ||
				    lws_finalize_http_header(wsi, &p, end))
					return -1;
				if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0)
					return -1;
			}
			lws_callback_on_writable(wsi);
			return 0;
		}
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return -1;

	case LWS_CALLBACK_HTTP_BODY:
		pss->body = realloc(pss->body, pss->body_len + len);
		if (!pss->body)
			return -1;
		memcpy(pss->body + pss->body_len, in, len);
		pss->body_len += len;
		return 0;

	case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
		/* completing the transaction renews pss: take the body first */
		unsigned char *body = pss->body;
		size_t body_len = pss->body_len;

		pss->body = NULL;
		n = send_text(wsi, HTTP_STATUS_OK, "application/octet-stream",
			      (const char *)body, body_len);
		free(body);
		return n;
	}

	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss || pss->stream_left <= 0)
			return 0;
		snprintf(line, sizeof(line), "line%03d\n", pss->stream_total - pss->stream_left);
		memcpy(&buf[LWS_PRE], line, 8);
		if (lws_write(wsi, &buf[LWS_PRE], 8, LWS_WRITE_HTTP) < 8)
			return -1;
		if (--pss->stream_left)
			lws_callback_on_writable(wsi);
		else if (lws_http_transaction_completed(wsi))
			return -1;
		return 0;

	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pss && pss->body) {
			free(pss->body);
			pss->body = NULL;
		}
		return 0;

	default:
		return 0;
	}
}

static struct lws_protocols protocols[] = {
	{ "http-only", callback_http, sizeof(struct pss), 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	int n;

	memset(&info, 0, sizeof info);
	info.port = 7681;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;

	for (n = 1; n + 1 < argc; n += 2) {
		if (!strcmp(argv[n], "-p"))
			info.port = atoi(argv[n + 1]);
		else if (!strcmp(argv[n], "-d"))
			docroot = argv[n + 1];
		else if (!strcmp(argv[n], "-l"))
			cblog = fopen(argv[n + 1], "w");
		else if (!strcmp(argv[n], "-t"))
			info.timeout_secs = (unsigned int)atoi(argv[n + 1]);
		else if (!strcmp(argv[n], "-c"))
			info.ssl_cert_filepath = argv[n + 1];
		else if (!strcmp(argv[n], "-k"))
			info.ssl_private_key_filepath = argv[n + 1];
		else if (!strcmp(argv[n], "-R") && atoi(argv[n + 1]))
			/* plain HTTP on the TLS port, redirected to https:// */
			info.options |= LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT |
					LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS;
		else if (!strcmp(argv[n], "-P"))
			info.ssl_private_key_password = argv[n + 1];
		else if (!strcmp(argv[n], "-E"))
			info.ecdh_curve = argv[n + 1];
		else if (!strcmp(argv[n], "-S") && atoi(argv[n + 1]))
			info.options |= LWS_SERVER_OPTION_STS;
		else if (!strcmp(argv[n], "-O") && atoi(argv[n + 1]))
			info.ssl_options_set = (long)SSL_OP_NO_TLSv1_3;
	}
	/* lws 2.0 serves TLS only with this option (test-server.c sets it too) */
	if (info.ssl_cert_filepath)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	return run_server(&info);
}
