/*
 * Exercises the context, vhost, protocol, file-ops, mount and service APIs
 * the way applications use them, answering HTTP requests with what it saw.
 *
 *   api_server -d DOCROOT [-e] [-u UNIX_PATH] [-i IFACE] [-n THREADS]
 *
 * -n serves with THREADS service threads (lws_service_tsi on each).
 * -U UID / -G GID drop privileges after listening (info.uid / info.gid).
 * -4 sets LWS_SERVER_OPTION_DISABLE_IPV6 (IPv4 only; else dual stack).
 * At start-up one end of a socketpair is handed to lws_adopt_socket_readbuf
 * with the start of a request; a thread sends the rest on the other end and
 * prints "adopted: <status line>".
 * -e runs an external poll() loop fed by the ADD/DEL/CHANGE_MODE_POLL_FD
 * callbacks and lws_service_fd(). Prints "port N" when listening. Routes:
 *   /info        facts from the accessor APIs, one "name=value" per line
 *   /virtual/... a file that exists only in the replaced lws_plat_file_ops
 *   /broadcast   lws_callback_all_protocol(LWS_CALLBACK_USER): how many got it
 *   /redirect    lws_http_redirect(302) to /info
 *   /m/...       file mount on DOCROOT          /cb/...  callback mount ("api")
 *   /auth/...    file mount needing CHECK_ACCESS_RIGHTS (cookie auth=1)
 *   /old         redirect mount to example.com/new
 *   /hdr/...     file mount whose protocol adds a header (ADD_HEADERS)
 *   /stream      the body in STREAM_PARTS writes, each from HTTP_WRITEABLE
 *                asked for with lws_callback_on_writable
 *   /later       the same, but the first lws_callback_on_writable comes from
 *                another thread 300 ms later, while the loop sleeps
 * A helper thread calls lws_cancel_service once after start-up; the service
 * loop, waiting 60 s per call, prints "woken" when that returns it early.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile int interrupted, cancel_sent;
static struct lws_context *context;
static struct lws_plat_file_ops fops_plat;
static const char *docroot = ".";
static int user_seen, init_count, destroy_count;
static char context_marker[] = "ctx-user";

static const char virtual_body[] = "this file lives in the application's fops\n";

/* replaced file ops: /virtual/... is served from memory */
static lws_filefd_type
fops_open(struct lws *wsi, const char *filename, unsigned long *filelen, int flags)
{
	if (!strncmp(filename, "/virtual/", 9)) {
		*filelen = sizeof(virtual_body) - 1;
		return 1000; /* a handle only fops_read knows */
	}
	return fops_plat.open(wsi, filename, filelen, flags);
}

static int
fops_read(struct lws *wsi, lws_filefd_type fd, unsigned long *amount, unsigned char *buf,
	  unsigned long len)
{
	if (fd == 1000) {
		*amount = len < sizeof(virtual_body) - 1 ? len : sizeof(virtual_body) - 1;
		memcpy(buf, virtual_body, *amount);
		return 0;
	}
	return fops_plat.read(wsi, fd, amount, buf, len);
}

static int
fops_close(struct lws *wsi, lws_filefd_type fd)
{
	if (fd == 1000)
		return 0;
	return fops_plat.close(wsi, fd);
}

static int
reply(struct lws *wsi, const char *body)
{
	unsigned char buf[LWS_PRE + 512], *start = &buf[LWS_PRE], *p = start, *end = &buf[sizeof(buf) - 1];
	size_t len = strlen(body);

	if (lws_add_http_header_status(wsi, 200, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, (const unsigned char *)"text/plain",
					 10, &p, end) ||
	    lws_add_http_header_content_length(wsi, len, &p, end) || lws_finalize_http_header(wsi, &p, end))
		return -1;
	if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0 ||
	    lws_write(wsi, (unsigned char *)body, len, LWS_WRITE_HTTP) < (int)len)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
info_page(struct lws *wsi)
{
	char out[1200], peer[64], name[128], rip[64];
	unsigned char rnd[16];
	const struct lws_protocols *pr = lws_get_protocol(wsi);
	int *vh = (int *)lws_protocol_vh_priv_get(lws_get_vhost(wsi), pr);

	lws_get_peer_addresses(wsi, lws_get_socket_fd(wsi), name, sizeof(name), rip, sizeof(rip));
	snprintf(out, sizeof(out),
		 "hostname=%s\nrandom=%d\nuser=%s\nthreads=%d\nprotocol=%s\nvhpriv=%d\n"
		 "peer=%s\nrip=%s\nfd_ok=%d\nname_to_protocol=%s\ncontext_ok=%d\nnow_ok=%d\n"
		 "wsi_user_ok=%d\ninit=%d\nuid=%d\ngid=%d\ntoken=%s\n",
		 lws_canonical_hostname(context), lws_get_random(context, rnd, sizeof(rnd)),
		 lws_context_user(context) == context_marker ? "ok" : "bad",
		 lws_get_count_threads(context), pr ? pr->name : "?", vh ? *vh : -1,
		 lws_get_peer_simple(wsi, peer, sizeof(peer)) ? peer : "?", rip,
		 lws_get_socket_fd(wsi) > 2,
		 lws_vhost_name_to_protocol(lws_get_vhost(wsi), "api") ? "ok" : "missing",
		 lws_get_context(wsi) == context, lws_now_secs() > 1500000000ul,
		 lws_wsi_user(wsi) != NULL, init_count, (int)getuid(), (int)getgid(),
		 (const char *)lws_token_to_string(WSI_TOKEN_HTTP_CONTENT_LENGTH));
	return reply(wsi, out);
}

#define STREAM_PARTS 3
#define STREAM_PART_LEN 9 /* "part N/3\n" */

struct pss_http {
	int streaming;
	int part;
};

/* helper threads leave SIGINT/SIGTERM to the main thread */
static void block_stop_signals(void);

static void *
writable_later(void *wsi)
{
	block_stop_signals();
	usleep(300 * 1000);
	lws_callback_on_writable((struct lws *)wsi);
	return NULL;
}

static int
stream_start(struct lws *wsi, struct pss_http *pss, int from_thread)
{
	unsigned char hb[LWS_PRE + 256], *start = &hb[LWS_PRE], *p = start, *end = &hb[sizeof(hb) - 1];
	pthread_t t;

	if (lws_add_http_header_status(wsi, 200, &p, end) ||
	    lws_add_http_header_content_length(wsi, STREAM_PARTS * STREAM_PART_LEN, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end) ||
	    lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0)
		return -1;
	pss->streaming = 1;
	pss->part = 0;
	if (!from_thread) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (pthread_create(&t, NULL, writable_later, wsi))
		return -1;
	pthread_detach(t);
	return 0;
}

static int
stream_part(struct lws *wsi, struct pss_http *pss)
{
	char chunk[32];

	if (!pss->streaming)
		return 0;
	snprintf(chunk, sizeof(chunk), "part %d/%d\n", pss->part + 1, STREAM_PARTS);
	if (lws_write(wsi, (unsigned char *)chunk, STREAM_PART_LEN, LWS_WRITE_HTTP) < STREAM_PART_LEN)
		return -1;
	if (++pss->part < STREAM_PARTS) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	const char *uri = (const char *)in;
	char body[128];
	int n;

	(void)user;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT: {
		int *vh = (int *)lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi), lws_get_protocol(wsi),
							     sizeof(int));
		if (!vh)
			return -1;
		*vh = 42;
		init_count++;
		break;
	}
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		destroy_count++;
		break;
	case LWS_CALLBACK_HTTP:
		if (!strcmp(uri, "/info"))
			return info_page(wsi);
		if (!strncmp(uri, "/virtual/", 9)) {
			static const char other[] = "x-other: 1\r\n";

			n = lws_serve_http_file(wsi, uri, "text/plain", other, sizeof(other) - 1);
			if (n < 0)
				return -1;
			return n > 0 && lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		if (!strcmp(uri, "/redirect")) {
			unsigned char hb[LWS_PRE + 256], *p = &hb[LWS_PRE], *end = &hb[sizeof(hb) - 1];

			if (lws_http_redirect(wsi, 302, (const unsigned char *)"/info", 5, &p, end) < 0)
				return -1;
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		if (!strcmp(uri, "/stream") || !strcmp(uri, "/later"))
			return stream_start(wsi, (struct pss_http *)user, uri[1] == 'l');
		if (!strcmp(uri, "/broadcast")) {
			user_seen = 0;
			lws_callback_all_protocol(context, lws_get_protocol(wsi), LWS_CALLBACK_USER);
			snprintf(body, sizeof(body), "user-callbacks=%d\n", user_seen);
			return reply(wsi, body);
		}
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return -1;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return user ? stream_part(wsi, (struct pss_http *)user) : 0;
	case LWS_CALLBACK_USER:
		user_seen++;
		break;
	case LWS_CALLBACK_CHECK_ACCESS_RIGHTS: {
		struct lws_process_html_args *args = (struct lws_process_html_args *)in;
		char cookie[64];

		if (!args->max_len) /* the mount's auth_mask asks for nothing */
			return 0;
		if (lws_hdr_copy(wsi, cookie, sizeof(cookie), WSI_TOKEN_HTTP_COOKIE) > 0 &&
		    strstr(cookie, "auth=1"))
			return 0;
		return 1;
	}
	default:
		break;
	}
	return 0;
}

static int
callback_api(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	char body[256];
	struct lws_process_html_args *args = (struct lws_process_html_args *)in;

	(void)user;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		snprintf(body, sizeof(body), "api protocol=%s uri=%s\n", lws_get_protocol(wsi)->name,
			 (const char *)in);
		return reply(wsi, body);
	case LWS_CALLBACK_ADD_HEADERS:
		args->p += sprintf(args->p, "x-added: 1\r\n");
		break;
	case LWS_CALLBACK_CHECK_ACCESS_RIGHTS:
		return 0;
	default:
		break;
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "http", callback_http, sizeof(struct pss_http), 0, 0, NULL },
	{ "api", callback_api, 0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static struct lws_http_mount mount_hdr, mount_old, mount_auth, mount_cb, mount_m;

static void
setup_mounts(void)
{
	mount_m.mountpoint = "/m";
	mount_m.origin = docroot;
	mount_m.def = "index.html";
	mount_m.origin_protocol = LWSMPRO_FILE;
	mount_m.mountpoint_len = 2;
	mount_m.cache_max_age = 60;
	mount_m.cache_reusable = 1;
	mount_m.cache_revalidate = 1;

	mount_cb.mount_next = &mount_m;
	mount_cb.mountpoint = "/cb";
	mount_cb.origin = "api";
	mount_cb.protocol = "api";
	mount_cb.origin_protocol = LWSMPRO_CALLBACK;
	mount_cb.mountpoint_len = 3;

	mount_auth.mount_next = &mount_cb;
	mount_auth.mountpoint = "/auth";
	mount_auth.origin = docroot;
	mount_auth.origin_protocol = LWSMPRO_FILE;
	mount_auth.mountpoint_len = 5;
	mount_auth.auth_mask = 1;

	mount_old.mount_next = &mount_auth;
	mount_old.mountpoint = "/old";
	mount_old.origin = "example.com/new";
	mount_old.origin_protocol = LWSMPRO_REDIR_HTTP;
	mount_old.mountpoint_len = 4;

	mount_hdr.mount_next = &mount_old;
	mount_hdr.mountpoint = "/hdr";
	mount_hdr.origin = docroot;
	mount_hdr.protocol = "api";
	mount_hdr.origin_protocol = LWSMPRO_FILE;
	mount_hdr.mountpoint_len = 4;
}

/* external poll loop state */
static struct pollfd pfds[1024];
static int npfds;

static int
callback_poll(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_pollargs *pa = (struct lws_pollargs *)in;
	int n;

	switch (reason) {
	case LWS_CALLBACK_ADD_POLL_FD:
		pfds[npfds].fd = pa->fd;
		pfds[npfds].events = (short)pa->events;
		pfds[npfds++].revents = 0;
		return 0;
	case LWS_CALLBACK_DEL_POLL_FD:
		for (n = 0; n < npfds; n++)
			if (pfds[n].fd == pa->fd) {
				pfds[n] = pfds[--npfds];
				break;
			}
		return 0;
	case LWS_CALLBACK_CHANGE_MODE_POLL_FD:
		for (n = 0; n < npfds; n++)
			if (pfds[n].fd == pa->fd)
				pfds[n].events = (short)pa->events;
		return 0;
	default:
		return callback_http(wsi, reason, user, in, len);
	}
}

/* helper threads leave SIGINT/SIGTERM to the main thread, whose wait they end */
static void
block_stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *
canceller(void *arg)
{
	(void)arg;
	block_stop_signals();
	usleep(300000);
	cancel_sent = 1;
	lws_cancel_service(context);
	return NULL;
}

static int adopt_pair[2];

static void *
adopted_client(void *arg)
{
	char buf[256];
	ssize_t n;

	(void)arg;
	block_stop_signals();
	usleep(100000);
	if (write(adopt_pair[1], "Host: adopted\r\n\r\n", 17) != 17)
		return NULL;
	n = read(adopt_pair[1], buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		*strchr(buf, '\r') = '\0';
		printf("adopted: %s\n", buf);
		fflush(stdout);
	}
	return NULL;
}

static void *
service_thread(void *arg)
{
	int tsi = (int)(long)arg;

	block_stop_signals();
	while (!interrupted)
		lws_service_tsi(context, 100, tsi);
	return NULL;
}

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
	struct lws_protocol_vhost_options extra_header = { NULL, NULL, "x-vhost:", "yes" };
	int n, external = 0, woken_reported = 0, threads = 1;
	pthread_t thread, adopter, servers[LWS_MAX_SMP];
	static const char request_start[] = "GET /virtual/adopted HTTP/1.1\r\n";

	memset(&info, 0, sizeof info);
	info.port = 0;
	info.gid = -1;
	info.uid = -1;
	for (n = 1; n < argc; n++) {
		if (!strcmp(argv[n], "-d") && n + 1 < argc)
			docroot = argv[++n];
		else if (!strcmp(argv[n], "-e"))
			external = 1;
		else if (!strcmp(argv[n], "-u") && n + 1 < argc) {
			info.iface = argv[++n];
			info.options |= LWS_SERVER_OPTION_UNIX_SOCK;
		} else if (!strcmp(argv[n], "-i") && n + 1 < argc)
			info.iface = argv[++n];
		else if (!strcmp(argv[n], "-n") && n + 1 < argc)
			threads = atoi(argv[++n]);
		else if (!strcmp(argv[n], "-4"))
			info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
		else if (!strcmp(argv[n], "-U") && n + 1 < argc)
			info.uid = atoi(argv[++n]);
		else if (!strcmp(argv[n], "-G") && n + 1 < argc)
			info.gid = atoi(argv[++n]);
	}
	info.count_threads = (unsigned int)threads;
	if (external)
		protocols[0].callback = callback_poll;
	setup_mounts();
	info.protocols = protocols;
	info.mounts = &mount_hdr;
	info.user = context_marker;
	info.server_string = "api-server";
	info.headers = &extra_header;
	info.keepalive_timeout = 3;
	info.ka_time = 30;
	info.ka_probes = 3;
	info.ka_interval = 5;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		return 1;
	}
	fops_plat = *lws_get_fops(context);
	lws_get_fops(context)->open = fops_open;
	lws_get_fops(context)->read = fops_read;
	lws_get_fops(context)->close = fops_close;

	printf("port %d\n", info.port);
	fflush(stdout);
	pthread_create(&thread, NULL, canceller, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, adopt_pair) ||
	    !lws_adopt_socket_readbuf(context, adopt_pair[0], request_start, sizeof(request_start) - 1)) {
		fprintf(stderr, "adopting a socket failed\n");
		return 1;
	}
	pthread_create(&adopter, NULL, adopted_client, NULL);
	for (n = 1; n < lws_get_count_threads(context); n++)
		pthread_create(&servers[n], NULL, service_thread, (void *)(long)n);

	while (!interrupted) {
		if (external) {
			n = poll(pfds, (nfds_t)npfds, 200);
			if (n < 0)
				continue;
			lws_service_fd(context, NULL);
			for (n = 0; n < npfds; n++) {
				struct lws_pollfd *p = &pfds[n];
				if (!p->revents)
					continue;
				if (lws_service_fd(context, p) > 0)
					n--; /* the slot was refilled by a DEL */
			}
		} else {
			lws_service(context, 60000);
		}
		if (cancel_sent && !woken_reported && !external) {
			printf("woken\n");
			fflush(stdout);
			woken_reported = 1;
		}
	}
	pthread_join(thread, NULL);
	for (n = 1; n < lws_get_count_threads(context); n++)
		pthread_join(servers[n], NULL);
	lws_context_destroy(context);
	/* destroying the context closed our end: the adopted client sees EOF */
	pthread_join(adopter, NULL);
	printf("protocol_destroy=%d\n", destroy_count);
	return 0;
}
