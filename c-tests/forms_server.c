/*
 * A form-handling server written the way lws 2.0's test-server-http.c
 * handles POSTs: the per-session data holds a struct lws_spa *, created at
 * the first HTTP_BODY, fed every body piece, finalized at
 * HTTP_BODY_COMPLETION and destroyed at HTTP_DROP_PROTOCOL (or CLOSED_HTTP,
 * all a connection closed mid-body gets); file parts are written to the
 * upload directory by the upload callback.
 *
 *   forms_server [-p PORT] [-d UPLOAD_DIR] [-l CALLBACK_LOG] [-m MAX_STORAGE]
 *
 * Prints "port N" once listening (PORT 0 picks a free port). Routes:
 *   GET /           a page with a form
 *   POST <any>      the form, answered as text/plain:
 *                     body-calls=<HTTP_BODY callbacks>
 *                     finalize=<lws_spa_finalize result>
 *                     <name> len=<lws_spa_get_length> value=<lws_spa_get_string or (none)>
 *                     ... (one line per param name)
 *                     upload <field> <filename> length=<bytes> fnv=<FNV-1a 64 of them, hex>
 *                     ... (one line per uploaded file)
 *   anything else   404
 * A body lws_spa_create or lws_spa_process refuses closes the connection
 * (the callback returns -1); a body finalize finds incomplete gets a 400.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *docroot = ".";	/* the upload directory */
static int max_storage = 1024;
#include "cblog.h"
#include "serve.h"

static const char * const param_names[] = {
	"text", "send", "file", "upload", "empty", "flag", "long", "a b", "multi",
};
#define NPARAMS ((int)(sizeof(param_names) / sizeof(param_names[0])))

struct pss {
	struct lws_spa *spa;
	char filename[256];
	long file_length;
	unsigned long long fnv;
	int fd;
	int fd_open;	/* (pss starts zeroed: fd 0 is not ours) */
	int body_calls;
	char uploads[1024];	/* one "upload ..." line per finished file */
};

static int
file_upload_cb(void *data, const char *name, const char *filename, char *buf, int len,
	       enum lws_spa_fileupload_states state)
{
	struct pss *pss = (struct pss *)data;
	char path[1024];
	const char *base;
	int n;

	switch (state) {
	case LWS_UFS_OPEN:
		/* keep only the last path element of what the client sent */
		base = strrchr(filename, '/');
		base = base ? base + 1 : filename;
		if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
			base = "unnamed";
		snprintf(pss->filename, sizeof(pss->filename), "%s", base);
		snprintf(path, sizeof(path), "%s/%s", docroot, pss->filename);
		pss->file_length = 0;
		pss->fnv = 14695981039346656037ULL;
		pss->fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
		if (pss->fd < 0) {
			lwsl_err("upload: cannot open %s: %s\n", path, strerror(errno));
			return -1;
		}
		pss->fd_open = 1;
		break;
	case LWS_UFS_CONTENT:
	case LWS_UFS_FINAL_CONTENT:
		if (!pss->fd_open)
			return -1;
		if (len) {
			for (n = 0; n < len; n++) {
				pss->fnv ^= (unsigned char)buf[n];
				pss->fnv *= 1099511628211ULL;
			}
			pss->file_length += len;
			if (write(pss->fd, buf, (size_t)len) != len)
				return -1;
		}
		if (state == LWS_UFS_CONTENT)
			break;
		close(pss->fd);
		pss->fd_open = 0;
		snprintf(pss->uploads + strlen(pss->uploads),
			 sizeof(pss->uploads) - strlen(pss->uploads),
			 "upload %s %s length=%ld fnv=%016llx\n", name, pss->filename,
			 pss->file_length, pss->fnv);
		break;
	}
	return 0;
}

static int
send_text(struct lws *wsi, unsigned int code, const char *body, size_t len)
{
	unsigned char head[LWS_PRE + 512], *start = &head[LWS_PRE], *p = start,
		      *end = &head[sizeof(head) - 1];
	unsigned char *out;
	int n;

	if (lws_add_http_header_status(wsi, code, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)"text/plain", 10, &p, end) ||
	    lws_add_http_header_content_length(wsi, len, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end))
		return -1;
	if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0)
		return -1;
	out = malloc(LWS_PRE + len + 1);
	if (!out)
		return -1;
	memcpy(out + LWS_PRE, body, len);
	n = len ? lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP) : 0;
	free(out);
	if (n < (int)len)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void
drop_spa(struct pss *pss)
{
	if (pss->spa) {
		lws_spa_destroy(pss->spa);
		pss->spa = NULL;
	}
	if (pss->fd_open) {
		close(pss->fd);
		pss->fd_open = 0;
	}
}

static int
body_completion(struct lws *wsi, struct pss *pss)
{
	char result[8192];
	const char *s;
	size_t used;
	int n, len, fin;

	if (!pss->spa) /* an empty body never reached HTTP_BODY */
		pss->spa = lws_spa_create(wsi, param_names, NPARAMS, max_storage,
					  file_upload_cb, pss);
	if (!pss->spa)
		return -1;
	fin = lws_spa_finalize(pss->spa);
	used = (size_t)snprintf(result, sizeof(result), "body-calls=%d\nfinalize=%d\n",
				pss->body_calls, fin);
	for (n = 0; n < NPARAMS; n++) {
		s = lws_spa_get_string(pss->spa, n);
		len = lws_spa_get_length(pss->spa, n);
		if (s && strlen(s) > (size_t)len)
			return -1; /* the length and the string disagree */
		used += (size_t)snprintf(result + used, sizeof(result) - used, "%s len=%d value=",
					 param_names[n], len);
		if (used + (size_t)len + 8 >= sizeof(result))
			return -1;
		/* all len bytes: a value may hold a NUL (%00) */
		memcpy(result + used, s ? s : "(none)", s ? (size_t)len : 6);
		used += s ? (size_t)len : 6;
		result[used++] = '\n';
	}
	used += (size_t)snprintf(result + used, sizeof(result) - used, "%s", pss->uploads);
	if (used >= sizeof(result))
		return -1;
	/* completing the transaction renews pss: let go of the parser first */
	drop_spa(pss);
	if (fin < 0) {
		lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, "incomplete form");
		return -1;
	}
	return send_text(wsi, HTTP_STATUS_OK, result, used);
}

static const char form_page[] =
	"<html><body><form method=\"post\" action=\"/form\" enctype=\"multipart/form-data\">"
	"<input name=\"text\"><input type=\"file\" name=\"file\">"
	"<input type=\"submit\" name=\"send\" value=\"Send\"></form></body></html>";

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;

	log_cb(wsi, reason);

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
			return 0; /* answered at HTTP_BODY_COMPLETION */
		if (!strcmp((const char *)in, "/"))
			return send_text(wsi, HTTP_STATUS_OK, form_page, sizeof(form_page) - 1);
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return -1;

	case LWS_CALLBACK_HTTP_BODY:
		pss->body_calls++;
		if (!pss->spa) {
			pss->spa = lws_spa_create(wsi, param_names, NPARAMS, max_storage,
						  file_upload_cb, pss);
			if (!pss->spa)
				return -1;
		}
		if (lws_spa_process(pss->spa, in, (int)len) < 0) {
			lwsl_notice("form: lws_spa_process failed\n");
			return -1;
		}
		return 0;

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return body_completion(wsi, pss);

	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		/* called when our wsi user_space is going to be destroyed */
	case LWS_CALLBACK_CLOSED_HTTP:
		/* (a connection closed mid-body gets only this one) */
		if (pss)
			drop_spa(pss);
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
		else if (!strcmp(argv[n], "-m"))
			max_storage = atoi(argv[n + 1]);
	}
	return run_server(&info);
}
