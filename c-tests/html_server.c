/*
 * lws_chunked_html_process the way applications use it: files streamed
 * from HTTP_WRITEABLE in pieces, each piece substituted and framed as one
 * HTTP/1.1 chunk, and a file mount whose interpret protocol calls it from
 * LWS_CALLBACK_PROCESS_HTML (as the original's plugins did).
 *
 *   html_server -d DOCROOT
 *
 * Prints "port N" when listening. Routes:
 *   /page/NAME?first=F&size=S
 *        DOCROOT/NAME, chunked: the first piece is F bytes (default S), the
 *        others S bytes (default 4096, at most 8192), one per WRITEABLE
 *   /interp/NAME.shtml
 *        file mount on DOCROOT interpreting ".shtml" with protocol "subst"
 * Variables (the same in both): $user -> alice, ${user} -> <b>ALICE</b>,
 * $a -> [A], $ab -> (empty), $abc_def -> [DEF], $self -> $user (not scanned
 * again), $null -> NULL from the callback, $n -> how many substitutions
 * this response has had, this one included.
 * Prints "pieces P empty E" (calls, and calls that gave nothing to send)
 * and "destroyed" at exit.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PIECE_MAX 8192
#define ROOM 512 /* what substitution may grow a piece by */

static volatile int interrupted;
static const char *docroot = ".";
static int pieces, empty_pieces;

static const char * const vars[] = {
	"$user", "${user}", "$a", "$ab", "$abc_def", "$self", "$null", "$n",
};

struct subst {
	struct lws_process_html_state st;
	int count;
	char num[16];
};

static const char *
replace(void *data, int index)
{
	struct subst *sb = data;

	sb->count++;
	switch (index) {
	case 0: return "alice";
	case 1: return "<b>ALICE</b>";
	case 2: return "[A]";
	case 3: return "";
	case 4: return "[DEF]";
	case 5: return "$user";
	case 6: return NULL;
	case 7:
		snprintf(sb->num, sizeof(sb->num), "%d", sb->count);
		return sb->num;
	}
	return "?";
}

static void
subst_init(struct subst *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->st.vars = vars;
	sb->st.count_vars = (int)(sizeof(vars) / sizeof(vars[0]));
	sb->st.replace = replace;
	sb->st.data = sb;
}

/* ---- protocols[0]: /page/... from HTTP_WRITEABLE ---- */

struct pss_http {
	FILE *f;
	long remaining;
	int first, size, started;
	struct subst sb;
};

static int
arg_int(struct lws *wsi, const char *name, int def)
{
	const char *a;
	char v[32];

	a = lws_get_urlarg_by_name(wsi, name, v, sizeof(v));
	return a ? atoi(a) : def;
}

static int
page_start(struct lws *wsi, struct pss_http *pss, const char *name)
{
	unsigned char hb[LWS_PRE + 512], *start = &hb[LWS_PRE], *p = start,
		      *end = &hb[sizeof(hb) - 1];
	char path[1024];
	struct stat sta;

	snprintf(path, sizeof(path), "%s/%s", docroot, name);
	if (strstr(name, "..") || stat(path, &sta) || !(pss->f = fopen(path, "rb"))) {
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	pss->remaining = (long)sta.st_size;
	pss->size = arg_int(wsi, "size=", 4096);
	if (pss->size < 1 || pss->size > PIECE_MAX)
		pss->size = 4096;
	pss->first = arg_int(wsi, "first=", pss->size);
	if (pss->first < 0 || pss->first > PIECE_MAX)
		pss->first = pss->size;
	pss->started = 0;
	subst_init(&pss->sb);
	if (lws_add_http_header_status(wsi, 200, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)"text/html", 9, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING,
					 (const unsigned char *)"chunked", 7, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end) ||
	    lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0)
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int
page_piece(struct lws *wsi, struct pss_http *pss)
{
	/* LWS_PRE and then room for the chunk-size line before the data */
	static unsigned char buf[LWS_PRE + 16 + PIECE_MAX + ROOM];
	unsigned char *data = &buf[LWS_PRE + 16];
	struct lws_process_html_args args;
	size_t want, got;

	if (!pss->f)
		return 0;
	want = (size_t)(pss->started ? pss->size : pss->first);
	if ((long)want > pss->remaining)
		want = (size_t)pss->remaining;
	got = want ? fread(data, 1, want, pss->f) : 0;
	if (got != want)
		return -1;
	pss->started = 1;
	pss->remaining -= (long)got;

	memset(&args, 0, sizeof(args));
	args.p = (char *)data;
	args.len = (int)got;
	args.max_len = PIECE_MAX + ROOM;
	args.final = !pss->remaining;
	if (lws_chunked_html_process(&args, &pss->sb.st)) {
		fprintf(stderr, "lws_chunked_html_process failed\n");
		return -1;
	}
	pieces++;
	if (!args.len)
		empty_pieces++;
	if (args.len && lws_write(wsi, (unsigned char *)args.p, (size_t)args.len,
				  LWS_WRITE_HTTP) != args.len)
		return -1;
	if (!args.final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	fclose(pss->f);
	pss->f = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
	      size_t len)
{
	struct pss_http *pss = user;
	const char *uri = in;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (!strncmp(uri, "/page/", 6))
			return page_start(wsi, pss, uri + 6);
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return page_piece(wsi, pss);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss && pss->f) {
			fclose(pss->f);
			pss->f = NULL;
		}
		break;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
	return 0;
}

/* ---- "subst": a mount's interpret protocol ---- */

static int
callback_subst(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
	       size_t len)
{
	struct subst *sb = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
		subst_init(sb);
		break;
	case LWS_CALLBACK_PROCESS_HTML:
		if (!sb->st.vars) /* bound without BIND: be safe */
			subst_init(sb);
		pieces++;
		if (lws_chunked_html_process(in, &sb->st))
			return -1;
		if (((struct lws_process_html_args *)in)->final)
			sb->count = 0; /* the next document counts from 1 */
		break;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "http-only", callback_http, sizeof(struct pss_http), 0, 0, NULL },
	{ "subst", callback_subst, sizeof(struct subst), 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL },
};

static const struct lws_protocol_vhost_options mime_shtml = { NULL, NULL, ".shtml", "text/html" };
static const struct lws_protocol_vhost_options interp = { NULL, NULL, ".shtml", "subst" };
static struct lws_http_mount m_interp;

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
	int n;

	for (n = 1; n < argc - 1; n++)
		if (!strcmp(argv[n], "-d"))
			docroot = argv[++n];

	m_interp.mountpoint = "/interp";
	m_interp.mountpoint_len = 7;
	m_interp.origin = docroot;
	m_interp.origin_protocol = LWSMPRO_FILE;
	m_interp.protocol = "subst";
	m_interp.interpret = &interp;
	m_interp.extra_mimetypes = &mime_shtml;

	memset(&info, 0, sizeof(info));
	info.port = 0;
	info.protocols = protocols;
	info.mounts = &m_interp;
	info.gid = -1;
	info.uid = -1;
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	ctx = lws_create_context(&info);
	if (!ctx)
		return 1;
	printf("port %d\n", info.port);
	fflush(stdout);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!interrupted)
		lws_service(ctx, 100);
	lws_context_destroy(ctx);
	printf("pieces %d empty %d\ndestroyed\n", pieces, empty_pieces);
	return 0;
}
