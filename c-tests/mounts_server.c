/*
 * Every kind of mount lws serves by itself, set up the way lws apps (and
 * lwsws) write them. Prints "port N" once listening; the event log (one
 * line per callback of interest, "<protocol> <REASON> ...") goes to stdout.
 *
 *   mounts_server -d DOCROOT
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
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <stdarg.h>

static volatile int stop;
static char docs[1024];

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
cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	char body[512];

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
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
	{ "http", cb_http, 16, 0, 0, NULL },
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
static struct lws_protocol_vhost_options env2 = { NULL, NULL, "BAZ", "qux" };
static struct lws_protocol_vhost_options env1 = { &env2, NULL, "FOO", "bar" };

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
