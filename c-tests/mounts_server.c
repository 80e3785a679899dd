/*
 * Every kind of mount lws serves by itself, set up the way lws apps (and
 * lwsws) write them. Prints "port N" once listening; the event log (one
 * line per callback of interest, "<protocol> <REASON> ...") goes to stdout.
 *
 *   mounts_server -d DOCROOT [-c CGIDIR]
 *
 * Protocols: "http" (p[0], pss 16), "form" (pss sizeof(struct form_pss),
 * 4096 + checked), "filter" (pss 8; PROCESS_HTML upper-cases), "hdrs"
 * (ADD_HEADERS "x-hdrs: 1").
 * Mounts:
 *   /               FILE DOCROOT (def "index.html")
 *   /docs           FILE DOCROOT/docs, def "start.html", cache 60 s
 *                   reusable + revalidate, extra_mimetypes ".md" and ".bin"
 *   /pub/           FILE DOCROOT/docs (trailing '/'), cache 30 s reusable
 *                   + revalidate + intermediaries
 *   /nocache        FILE DOCROOT/docs, cache 60 s reusable, no revalidate
 *   /any            FILE DOCROOT/docs, extra_mimetypes "*" -> application/x-any
 *   /interp         FILE DOCROOT/docs, interpret ".shtml" -> "filter"
 *                   (extra_mimetypes ".shtml" -> text/html)
 *   /hdrs           FILE DOCROOT/docs, protocol "hdrs"
 *   /form           CALLBACK, origin "form" (no protocol field), cgienv
 *                   FOO=bar -> HTTP_PMO
 *   /formp          CALLBACK, protocol "form"
 *   /go             REDIR_HTTP  "example.com/target"
 *   /gos            REDIR_HTTPS "example.org/secure/"
 * With -c CGIDIR, CGI mounts /cgi/NAME -> CGIDIR/NAME for each NAME of
 * cgi_names[] (cgienv FOO=bar BAZ=qux; "hang" has cgi_timeout 2), and
 * p[0] runs scripts itself with lws_cgi (as lws' test-server's "/cgitest"):
 *   /appcgi/NAME    CGIDIR/NAME, SCRIPT_NAME "/appcgi"; p[0] writes
 *                   "200 + connection: close" first (no blank line) and
 *                   handles every CGI callback itself, like test-server
 *   /appcgi2/NAME   the same without a head of its own, every CGI callback
 *                   delegated to lws_callback_http_dummy
 *   /appcgi/NAME/kill  as /appcgi/NAME, but p[0] calls lws_cgi_kill at the
 *                   script's first output ("http lws_cgi_kill N")
 * printing "http lws_cgi ...", "http CGI_STDIN_COMPLETED", "http
 * CGI_TERMINATED ..." events.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <stdarg.h>
#include <unistd.h>

static volatile int stop;
static char docs[1024];
static const char *cgidir;

static struct lws_protocol_vhost_options env2 = { NULL, NULL, "BAZ", "qux" };
static struct lws_protocol_vhost_options env1 = { &env2, NULL, "FOO", "bar" };

struct http_pss {
	int cgi;		/* 1: app-driven like test-server, 2: via dummy */
	int kill;		/* lws_cgi_kill at the first output */
	int reason_bf;
	int stdout_events, stdin_calls, stdin_bytes, stdin_done;
};

static void
ev(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int
reply(struct lws *wsi, const char *type, const char *body)
{
	unsigned char buf[LWS_PRE + 4096], *start = buf + LWS_PRE, *p = start,
		      *end = buf + sizeof(buf);
	size_t n = strlen(body);

	if (lws_add_http_header_status(wsi, 200, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)type, (int)strlen(type), &p, end) ||
	    lws_add_http_header_content_length(wsi, n, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end))
		return -1;
	memcpy(p, body, n);
	p += n;
	if (lws_write(wsi, start, p - start, LWS_WRITE_HTTP) != p - start)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- p[0] ---- */

static int
start_cgi(struct lws *wsi, struct http_pss *pss, const char *uri)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
		      *end = buf + sizeof(buf);
	int own = !strncmp(uri, "/appcgi/", 8);
	const char *name = uri + (own ? 8 : 9);
	char path[1024];
	const char *cmd[] = { path, NULL };

	/* CGIDIR/NAME for /appcgi/NAME[/more] */
	snprintf(path, sizeof(path), "%s/%.*s", cgidir, (int)strcspn(name, "/"), name);
	if (lws_cgi(wsi, cmd, own ? 7 : 8, 5, &env1)) {
		ev("http lws_cgi failed");
		return -1;
	}
	pss->cgi = own ? 1 : 2;
	pss->kill = own && strstr(name, "/kill") != NULL;
	ev("http lws_cgi %s is_cgi=%d", uri, lws_is_cgi(wsi));
	if (!own)
		return 0;
	/* test-server: the status and "connection: close", no blank line:
	 * lws_cgi_write_split_stdout_headers adds the script's headers */
	if (lws_add_http_header_status(wsi, 200, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
					 (unsigned char *)"close", 5, &p, end))
		return -1;
	if (lws_write(wsi, start, p - start, LWS_WRITE_HTTP_HEADERS) != p - start)
		return -1;
	return 0;
}

static int
cgi_events(struct lws *wsi, struct http_pss *pss, enum lws_callback_reasons reason,
	   void *in, size_t len)
{
	struct lws_cgi_args *args = in;
	char buf[128];
	int n;

	switch (reason) {
	case LWS_CALLBACK_CGI:
		if (args->ch == LWS_STDOUT)
			pss->stdout_events++;
		break;
	case LWS_CALLBACK_CGI_STDIN_DATA:
		pss->stdin_calls++;
		break;
	case LWS_CALLBACK_CGI_STDIN_COMPLETED:
		pss->stdin_done++;
		ev("http CGI_STDIN_COMPLETED calls=%d bytes=%d", pss->stdin_calls,
		   pss->stdin_bytes);
		break;
	case LWS_CALLBACK_CGI_TERMINATED:
		ev("http CGI_TERMINATED mode=%d stdout_events=%d stdin_done=%d",
		   pss->cgi, pss->stdout_events > 0, pss->stdin_done);
		break;
	default:
		break;
	}
	if (pss->cgi == 2) {
		n = lws_callback_http_dummy(wsi, reason, pss, in, len);
		if (reason == LWS_CALLBACK_CGI_STDIN_DATA && n > 0)
			pss->stdin_bytes += n;
		return n;
	}
	switch (reason) {
	case LWS_CALLBACK_CGI:
		switch (args->ch) {
		case LWS_STDOUT:
			if (pss->kill) {
				pss->kill = 0;
				ev("http lws_cgi_kill %d", lws_cgi_kill(wsi));
				break;
			}
			pss->reason_bf |= 1;
			lws_callback_on_writable(wsi);
			break;
		case LWS_STDERR:
			n = read(lws_get_socket_fd(args->stdwsi[LWS_STDERR]), buf, sizeof(buf) - 1);
			if (n > 0)
				ev("http CGI-stderr %.*s", n - (buf[n - 1] == '\n'), buf);
			break;
		default:
			break;
		}
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (pss->reason_bf & 1) {
			pss->reason_bf &= ~1;
			if (lws_cgi_write_split_stdout_headers(wsi) < 0)
				return -1;
		}
		return 0;
	case LWS_CALLBACK_CGI_STDIN_DATA:
		args->data[args->len] = '\0'; /* as the original's handlers did */
		n = write(lws_get_socket_fd(args->stdwsi[LWS_STDIN]), args->data, args->len);
		if (n < 0)
			n = 0;
		pss->stdin_bytes += n;
		return n;
	case LWS_CALLBACK_CGI_TERMINATED:
		return -1; /* the response ends with the connection */
	default:
		return 0;
	}
}

static int
cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct http_pss *pss = user;
	char body[512];

	if (pss && pss->cgi && (reason == LWS_CALLBACK_HTTP_WRITEABLE ||
		    (reason >= LWS_CALLBACK_CGI && reason <= LWS_CALLBACK_CGI_STDIN_COMPLETED)))
		return cgi_events(wsi, pss, reason, in, len);

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (cgidir && (!strncmp(in, "/appcgi/", 8) || !strncmp(in, "/appcgi2/", 9)))
			return start_cgi(wsi, pss, in);
		snprintf(body, sizeof(body), "http uri=%.*s\n", (int)len, (const char *)in);
		ev("http HTTP %.*s", (int)len, (const char *)in);
		return reply(wsi, "text/plain", body);
	case LWS_CALLBACK_HTTP_BODY:
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return reply(wsi, "text/plain", "http body done\n");
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* ---- "form": a CALLBACK mount's protocol, own pss ---- */

static const char * const names[] = { "text", "upload" };

struct form_pss {
	unsigned int magic;
	char uri[256];
	struct lws_spa *spa;
	unsigned long upload_len;
	unsigned long long fnv;
	char filename[128];
	int body_calls;
	char fill[4096];
	unsigned int magic2;
};

static int
upload_cb(void *data, const char *name, const char *filename, char *buf, int len,
	  enum lws_spa_fileupload_states state)
{
	struct form_pss *pss = data;
	int n;

	(void)name;
	if (state == LWS_UFS_OPEN) {
		snprintf(pss->filename, sizeof(pss->filename), "%s", filename);
		pss->fnv = 0xcbf29ce484222325ULL;
	}
	for (n = 0; n < len; n++) {
		pss->fnv ^= (unsigned char)buf[n];
		pss->fnv *= 0x100000001b3ULL;
	}
	pss->upload_len += len;
	return 0;
}

static int
cb_form(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct form_pss *pss = user;
	const struct lws_protocol_vhost_options *pvo;
	char body[1024];
	int n;

	switch (reason) {
	case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
		/* a fresh, zeroed pss of this protocol's size */
		for (n = 0; n < (int)sizeof(pss->fill); n++)
			if (pss->fill[n])
				break;
		ev("form BIND zeroed=%d", n == (int)sizeof(pss->fill) && !pss->magic && !pss->magic2);
		pss->magic = 0x1234;
		pss->magic2 = 0x5678;
		break;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		ev("form DROP intact=%d", pss && pss->magic == 0x1234 && pss->magic2 == 0x5678);
		if (pss && pss->spa) {
			lws_spa_destroy(pss->spa);
			pss->spa = NULL;
		}
		break;
	case LWS_CALLBACK_HTTP_PMO:
		for (pvo = in; pvo; pvo = pvo->next)
			ev("form PMO %s=%s", pvo->name, pvo->value);
		break;
	case LWS_CALLBACK_HTTP:
		ev("form HTTP %.*s", (int)len, (const char *)in);
		snprintf(pss->uri, sizeof(pss->uri), "%.*s", (int)len, (const char *)in);
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
			return 0; /* the body follows */
		snprintf(body, sizeof(body), "form uri=%s\n", pss->uri);
		return reply(wsi, "text/plain", body);
	case LWS_CALLBACK_HTTP_BODY:
		pss->body_calls++;
		if (!pss->spa) {
			pss->spa = lws_spa_create(wsi, names, 2, 256, upload_cb, pss);
			if (!pss->spa)
				return -1;
		}
		return lws_spa_process(pss->spa, in, (int)len) < 0 ? -1 : 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		ev("form BODY_COMPLETION");
		n = pss->spa ? lws_spa_finalize(pss->spa) : -1;
		snprintf(body, sizeof(body),
			 "form uri=%s finalize=%d text=%s upload=%s len=%lu fnv=%016llx magic=%d\n",
			 pss->uri, n,
			 pss->spa && lws_spa_get_string(pss->spa, 0) ? lws_spa_get_string(pss->spa, 0) : "(none)",
			 pss->filename, pss->upload_len, pss->fnv,
			 pss->magic == 0x1234 && pss->magic2 == 0x5678);
		return reply(wsi, "text/plain", body);
	default:
		break;
	}
	return 0;
}

/* ---- "filter": interprets .shtml, upper-casing it ---- */

static int
cb_filter(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_process_html_args *args = in;
	int n;

	(void)wsi; (void)user; (void)len;
	switch (reason) {
	case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
		ev("filter BIND");
		break;
	case LWS_CALLBACK_PROCESS_HTML:
		ev("filter PROCESS_HTML len=%d final=%d room=%d", args->len, args->final,
		   args->max_len >= args->len + 7);
		for (n = 0; n < args->len; n++)
			args->p[n] = toupper((unsigned char)args->p[n]);
		if (args->final) { /* grows the last piece */
			memcpy(args->p + args->len, "<!--x-->", 7);
			args->len += 7;
		}
		break;
	default:
		break;
	}
	return 0;
}

static int
cb_hdrs(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_process_html_args *args = in;

	(void)user; (void)len;
	switch (reason) {
	case LWS_CALLBACK_ADD_HEADERS:
		ev("hdrs ADD_HEADERS");
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"x-hdrs:",
						(const unsigned char *)"1", 1,
						(unsigned char **)&args->p,
						(unsigned char *)args->p + args->max_len))
			return 1;
		break;
	case LWS_CALLBACK_HTTP:
		ev("hdrs HTTP %.*s", (int)len, (const char *)in);
		return reply(wsi, "text/plain", "hdrs fallback\n");
	default:
		break;
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "http", cb_http, sizeof(struct http_pss), 0, 0, NULL },
	{ "form", cb_form, sizeof(struct form_pss), 0, 0, NULL },
	{ "filter", cb_filter, 8, 0, 0, NULL },
	{ "hdrs", cb_hdrs, 0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static struct lws_protocol_vhost_options mime_bin = { NULL, NULL, ".bin", "application/x-bin" };
static struct lws_protocol_vhost_options mime_md = { &mime_bin, NULL, ".md", "text/markdown" };
static struct lws_protocol_vhost_options mime_any = { NULL, NULL, "*", "application/x-any" };
static struct lws_protocol_vhost_options mime_shtml = { NULL, NULL, ".shtml", "text/html" };
static struct lws_protocol_vhost_options interp = { NULL, NULL, ".shtml", "filter" };

static const char * const cgi_names[] = {
	"env", "echo", "cat", "redirect", "status", "noheaders", "big", "silent",
	"crash", "hang", "slow", "stdin_ignorer", "bad_status",
};
#define CGI_COUNT (sizeof(cgi_names) / sizeof(cgi_names[0]))
static struct lws_http_mount m_cgi[CGI_COUNT];
static char cgi_points[CGI_COUNT][64], cgi_origins[CGI_COUNT][1024];

static struct lws_http_mount m_root, m_docs, m_pub, m_nocache, m_any, m_interp, m_hdrs,
	m_form, m_formp, m_go, m_gos;

static void
mount(struct lws_http_mount *m, struct lws_http_mount *next, const char *point,
      const char *origin, int proto)
{
	m->mount_next = next;
	m->mountpoint = point;
	m->mountpoint_len = (unsigned char)strlen(point);
	m->origin = origin;
	m->origin_protocol = (unsigned char)proto;
}

static void
sigint(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *ctx;
	const char *docroot = ".";
	int n;

	for (n = 1; n < argc - 1; n++)
		if (!strcmp(argv[n], "-d"))
			docroot = argv[++n];
		else if (!strcmp(argv[n], "-c"))
			cgidir = argv[++n];
	snprintf(docs, sizeof(docs), "%s/docs", docroot);

	mount(&m_gos, NULL, "/gos", "example.org/secure/", LWSMPRO_REDIR_HTTPS);
	mount(&m_go, &m_gos, "/go", "example.com/target", LWSMPRO_REDIR_HTTP);
	mount(&m_formp, &m_go, "/formp", "ignored", LWSMPRO_CALLBACK);
	m_formp.protocol = "form";
	mount(&m_form, &m_formp, "/form", "form", LWSMPRO_CALLBACK);
	m_form.cgienv = &env1;
	mount(&m_hdrs, &m_form, "/hdrs", docs, LWSMPRO_FILE);
	m_hdrs.protocol = "hdrs";
	mount(&m_interp, &m_hdrs, "/interp", docs, LWSMPRO_FILE);
	m_interp.interpret = &interp;
	m_interp.extra_mimetypes = &mime_shtml; /* interpreted files need a mimetype too */
	mount(&m_any, &m_interp, "/any", docs, LWSMPRO_FILE);
	m_any.extra_mimetypes = &mime_any;
	mount(&m_nocache, &m_any, "/nocache", docs, LWSMPRO_FILE);
	m_nocache.cache_max_age = 60;
	m_nocache.cache_reusable = 1;
	mount(&m_pub, &m_nocache, "/pub/", docs, LWSMPRO_FILE);
	m_pub.cache_max_age = 30;
	m_pub.cache_reusable = 1;
	m_pub.cache_revalidate = 1;
	m_pub.cache_intermediaries = 1;
	mount(&m_docs, &m_pub, "/docs", docs, LWSMPRO_FILE);
	m_docs.def = "start.html";
	m_docs.cache_max_age = 60;
	m_docs.cache_reusable = 1;
	m_docs.cache_revalidate = 1;
	m_docs.extra_mimetypes = &mime_md;
	mount(&m_root, &m_docs, "/", docroot, LWSMPRO_FILE);
	m_root.def = "index.html";

	memset(&info, 0, sizeof(info));
	info.port = 0;
	info.protocols = protocols;
	info.mounts = &m_root;
	if (cgidir) {
		for (n = 0; n < (int)CGI_COUNT; n++) {
			snprintf(cgi_points[n], sizeof(cgi_points[n]), "/cgi/%s", cgi_names[n]);
			snprintf(cgi_origins[n], sizeof(cgi_origins[n]), "%s/%s", cgidir,
				 cgi_names[n]);
			mount(&m_cgi[n], n + 1 < (int)CGI_COUNT ? &m_cgi[n + 1] : &m_root,
			      cgi_points[n], cgi_origins[n], LWSMPRO_CGI);
			m_cgi[n].cgienv = &env1;
			if (!strcmp(cgi_names[n], "hang"))
				m_cgi[n].cgi_timeout = 2;
		}
		info.mounts = &m_cgi[0];
	}
	info.gid = -1;
	info.uid = -1;
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	ctx = lws_create_context(&info);
	if (!ctx)
		return 1;
	printf("port %d\n", info.port);
	fflush(stdout);
	signal(SIGTERM, sigint);
	signal(SIGINT, sigint);
	while (!stop)
		lws_service(ctx, 100);
	lws_context_destroy(ctx);
	return 0;
}
