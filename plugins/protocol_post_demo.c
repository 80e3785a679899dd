/*
 * libprotocol_post_demo.so: "protocol-post-demo", an HTTP protocol for a
 * callback mount (lwsws: "origin": "callback://protocol-post-demo").
 *
 * GET: a page with two forms (urlencoded, and multipart with a file).
 * POST: the body is parsed with lws_spa_* (fields "text" and "send";
 * uploaded files under any name go to a callback that counts their bytes
 * and hashes them, FNV-1a 32), and the answer is an HTML page listing what
 * arrived, one line each in <pre id="result">:
 *
 *   text: <value>            (HTML-escaped; "(none)" when absent)
 *   send: <value>
 *   file: <filename> <bytes> <fnv1a32 hex>      (one line per upload)
 *   finalize: <lws_spa_finalize's result>
 */
#include "plugin_common.h"

#include <stdarg.h>
#include <stdio.h>

#define MAX_FILES 8

static const char * const param_names[] = { "text", "send" };

struct upload {
	char name[128];
	unsigned long len;
	unsigned int fnv;
};

struct pss_post_demo {
	struct lws_spa *spa;
	struct upload files[MAX_FILES];
	int nfiles;
	int post;
};

static const char form_page[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	"<title>lwsws post demo</title><link rel=\"stylesheet\" href=\"/demo.css\">"
	"</head><body><main><h1>POST demo <small><code>protocol-post-demo</code></small></h1>"
	"<form method=\"post\" action=\"/formtest\">"
	"<p><input type=\"text\" name=\"text\" placeholder=\"some text\"> "
	"<input type=\"submit\" name=\"send\" value=\"send urlencoded\"></p></form>"
	"<form method=\"post\" action=\"/formtest\" enctype=\"multipart/form-data\">"
	"<p><input type=\"text\" name=\"text\" placeholder=\"some text\"> "
	"<input type=\"file\" name=\"file\"> "
	"<input type=\"submit\" name=\"send\" value=\"send multipart\"></p></form>"
	"<p><a href=\"/\">back to the demo</a></p></main></body></html>\n";

static int
file_cb(void *data, const char *name, const char *filename, char *buf, int len,
	enum lws_spa_fileupload_states state)
{
	struct pss_post_demo *pss = (struct pss_post_demo *)data;
	struct upload *u;
	int n;

	(void)name;
	if (state == LWS_UFS_OPEN) {
		if (pss->nfiles == MAX_FILES)
			return -1;
		u = &pss->files[pss->nfiles++];
		snprintf(u->name, sizeof(u->name), "%s", filename ? filename : "");
		u->len = 0;
		u->fnv = 2166136261u;
		return 0;
	}
	if (!pss->nfiles)
		return -1;
	u = &pss->files[pss->nfiles - 1];
	for (n = 0; n < len; n++) {
		u->fnv ^= (unsigned char)buf[n];
		u->fnv *= 16777619u;
	}
	u->len += (unsigned long)len;
	return 0;
}

/* snprintf at out[*pos] that never writes past cap, however far *pos has
 * run (snprintf returns what it would have written: a cut line leaves *pos
 * past cap, and cap - *pos would wrap to a huge size) */
static void
append(char *out, size_t cap, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *pos, cap - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

static int
result_page(struct lws *wsi, struct pss_post_demo *pss, int finalize)
{
	char out[8192];
	const char *v;
	size_t pos;
	int n;

	pos = (size_t)snprintf(out, sizeof(out),
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<title>lwsws post demo: result</title></head><body>"
		"<h1>Form received</h1><pre id=\"result\">");
	for (n = 0; n < 2; n++) {
		v = pss->spa ? lws_spa_get_string(pss->spa, n) : NULL;
		append(out, sizeof(out), &pos, "%s: ", param_names[n]);
		html_escape(out, sizeof(out), &pos, v ? v : "(none)");
		append(out, sizeof(out), &pos, "\n");
	}
	for (n = 0; n < pss->nfiles && pos < sizeof(out); n++) {
		append(out, sizeof(out), &pos, "file: ");
		html_escape(out, sizeof(out), &pos, pss->files[n].name);
		append(out, sizeof(out), &pos, " %lu %08x\n", pss->files[n].len,
		       pss->files[n].fnv);
	}
	append(out, sizeof(out), &pos,
	       "finalize: %d\n</pre><p><a href=\"/formtest\">again</a></p>"
	       "</body></html>\n", finalize);
	if (pos >= sizeof(out))
		pos = sizeof(out) - 1;
	return http_reply(wsi, 200, "text/html", out, pos);
}

static int
callback_post_demo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		   void *in, size_t len)
{
	struct pss_post_demo *pss = (struct pss_post_demo *)user;
	int n;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI)) {
			pss->post = 1;
			return 0;	/* the body follows */
		}
		return http_reply(wsi, 200, "text/html", form_page, sizeof(form_page) - 1);

	case LWS_CALLBACK_HTTP_BODY:
		if (!pss->spa) {
			pss->spa = lws_spa_create(wsi, param_names, 2, 1024, file_cb, pss);
			if (!pss->spa)
				return -1;
		}
		return lws_spa_process(pss->spa, (const char *)in, (int)len) < 0 ? -1 : 0;

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		n = pss->spa ? lws_spa_finalize(pss->spa) : 0;
		lwsl_notice("post-demo: form with %d file(s), finalize %d\n", pss->nfiles, n);
		return result_page(wsi, pss, n);

	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pss && pss->spa) {
			lws_spa_destroy(pss->spa);
			pss->spa = NULL;
		}
		break;

	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "protocol-post-demo", callback_post_demo, sizeof(struct pss_post_demo),
	  1024, 0, NULL },
};

PLUGIN_ENTRY_POINTS(post_demo)
