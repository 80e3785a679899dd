/*
 * One lws server, written the way lws' own test-echo / test-server /
 * test-server-libuv / test-server-libev are, run by the event loop chosen
 * on the command line:
 *
 *   evloop_server --loop own|poll|uv|uv-foreign|ev|ev-foreign
 *                 [-p PORT] [-d DOCROOT] [--ssl CERT KEY] [--threads N]
 *                 [--timeout-secs N] [--ping-interval N] [--keep-timer]
 *                 [--tick-thread] [--self-client] [--cgi SCRIPT]
 *
 *   own         while (!stop) lws_service(ctx, 50)
 *   poll        the application's own poll() array, kept from
 *               ADD_POLL_FD / DEL_POLL_FD / CHANGE_MODE_POLL_FD; ready fds go
 *               to lws_service_fd, plus lws_service_fd(ctx, NULL) every turn
 *   uv          LWS_SERVER_OPTION_LIBUV, lws_uv_initloop(ctx, NULL, 0),
 *               lws_libuv_run(ctx, 0); SIGINT/SIGTERM: lws' default handler
 *               (with --threads N: one lws-owned loop per service thread,
 *               each run by lws_libuv_run(ctx, tsi) on its own pthread;
 *               with --keep-timer the application leaves its tick timer
 *               running on lws' loop, as lws' test-server-libuv does)
 *   uv-foreign  the application's uv_loop_t, its own SIGINT/SIGTERM
 *               uv_signal_t (uv_stop), lws_uv_sigint_cfg(ctx, 0, NULL); after
 *               the loop stops: lws_context_destroy, close the application's
 *               handles, uv_run must return, prints "uv_loop_close N".
 *               Also keeps its own 10 ms timer counting ticks and a SIGUSR1
 *               uv_signal_t printing "usr1 <ticks>"
 *   ev          LWS_SERVER_OPTION_LIBEV, lws_ev_initloop(ctx, NULL, 0),
 *               lws_service runs ev_default_loop until lws' default SIGINT
 *               watcher breaks it
 *   ev-foreign  ev_loop_new(0), its own SIGINT/SIGTERM ev_signal (ev_break),
 *               lws_ev_sigint_cfg(ctx, 0, NULL), ev_run by the application;
 *               after lws_context_destroy (and stopping its own watchers)
 *               ev_run must return at once: prints "ev_run returned"
 *
 * Protocols:
 *   "http"                    files from DOCROOT (lws_serve_http_file), 404
 *   "lws-echo"                test-echo: each RECEIVE chunk is copied, rx
 *                             flow stopped, written back from WRITEABLE
 *                             with the message's opcode / CONTINUATION /
 *                             NO_FIN, rx flow allowed again: messages of any
 *                             size echo chunk by chunk, boundaries kept
 *   "dumb-increment-protocol" the connection's counter as text on every
 *                             50 ms tick of the loop's own timer
 *
 * With --tick-thread the dumb-increment ticks come from a worker pthread
 * instead of the loop's timer: lws_callback_on_writable_all_protocol from
 * another thread, then lws_cancel_service, as threaded lws applications do.
 *
 * With --self-client the first tick of the loop's timer opens a client
 * connection (lws_client_connect_via_info) to its own lws-echo, sends one
 * message and prints "self-client ok" when the echo matches (so client
 * sockets run on every loop too).
 *
 * With --cgi SCRIPT a CGI mount "/cgi" runs SCRIPT (its pipes are served
 * by whichever loop runs: the application's poll() table gets them through
 * ADD_POLL_FD like any socket).
 *
 * Prints "port N" once listening and "destroyed" after lws_context_destroy;
 * exits 0 on a clean stop. A RECEIVE that arrives while the previous chunk
 * is still unechoed (rx flow control not honoured) prints "FLOW VIOLATION"
 * on stderr.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <uv.h>
#include <ev.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHUNK (64 * 1024)
#define TICK_MS 50
#define SELF_CLIENT_MSG "hello from this process's own client"

enum loop_kind { L_OWN, L_POLL, L_UV, L_UV_FOREIGN, L_EV, L_EV_FOREIGN };

static const char *const kind_names[] = {
	"own", "poll", "uv", "uv-foreign", "ev", "ev-foreign"
};

static enum loop_kind kind;
static const char *docroot = ".";
static struct lws_context *context;
static volatile sig_atomic_t force_exit;

/* ------------------------------------------------------------ poll table */

static struct pollfd *pollfds;
static int *fd_lookup;
static int count_pollfds;
static int max_poll_fds;

/* ------------------------------------------------------------------ http */

static const char *
mimetype_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot)
		return "application/octet-stream";
	if (!strcmp(dot, ".html"))
		return "text/html";
	if (!strcmp(dot, ".txt"))
		return "text/plain";
	if (!strcmp(dot, ".png"))
		return "image/png";
	if (!strcmp(dot, ".js"))
		return "application/javascript";
	return "application/octet-stream";
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct lws_pollargs *pa = (struct lws_pollargs *)in;
	char path[1024];
	struct stat st;
	int n, m;

	(void)user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (len < 1 || ((const char *)in)[0] != '/' || strstr(in, "..")) {
			lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
			goto try_to_reuse;
		}
		snprintf(path, sizeof(path), "%s%s", docroot, (const char *)in);
		if (stat(path, &st) || !S_ISREG(st.st_mode)) {
			lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
			goto try_to_reuse;
		}
		n = lws_serve_http_file(wsi, path, mimetype_of(path), NULL, 0);
		if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
			return -1;
		break;

	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		goto try_to_reuse;

	/* the external poll loop's table (test-server's pattern) */
	case LWS_CALLBACK_ADD_POLL_FD:
		if (kind != L_POLL)
			break;
		if (count_pollfds >= max_poll_fds || pa->fd >= max_poll_fds) {
			lwsl_err("too many fds\n");
			return 1;
		}
		fd_lookup[pa->fd] = count_pollfds;
		pollfds[count_pollfds].fd = pa->fd;
		pollfds[count_pollfds].events = (short)pa->events;
		pollfds[count_pollfds++].revents = 0;
		break;

	case LWS_CALLBACK_DEL_POLL_FD:
		if (kind != L_POLL)
			break;
		if (!--count_pollfds)
			break;
		m = fd_lookup[pa->fd];
		/* have the last guy take up the vacant slot */
		pollfds[m] = pollfds[count_pollfds];
		fd_lookup[pollfds[count_pollfds].fd] = m;
		break;

	case LWS_CALLBACK_CHANGE_MODE_POLL_FD:
		if (kind != L_POLL)
			break;
		pollfds[fd_lookup[pa->fd]].events = (short)pa->events;
		break;

	default:
		break;
	}

	return 0;

try_to_reuse:
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

/* -------------------------------------------------------------- lws-echo */

struct per_session_data__echo {
	unsigned char buf[LWS_PRE + MAX_CHUNK + 512];
	size_t len;
	int pending;		/* a chunk waits for WRITEABLE */
	int final;
	int binary;
	int continuation;	/* the next chunk continues a message */
};

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct per_session_data__echo *pss = user;
	int n, m;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->pending = 0;
		pss->continuation = 0;
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->pending)
			break;	/* one lws sends after rx flow is allowed */
		n = LWS_WRITE_CONTINUATION;
		if (!pss->continuation)
			n = pss->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
		if (!pss->final)
			n |= LWS_WRITE_NO_FIN;
		m = lws_write(wsi, &pss->buf[LWS_PRE], pss->len, n);
		if (m < (int)pss->len) {
			lwsl_err("ERROR %d writing %d to socket, hanging up\n",
				 m, (int)pss->len);
			return -1;
		}
		pss->continuation = !pss->final;
		pss->pending = 0;
		lws_rx_flow_control(wsi, 1);
		break;

	case LWS_CALLBACK_RECEIVE:
		if (pss->pending) {
			fprintf(stderr, "FLOW VIOLATION: RECEIVE %d while %d "
				"bytes wait to be echoed\n", (int)len, (int)pss->len);
			return -1;
		}
		if (len > sizeof(pss->buf) - LWS_PRE) {
			fprintf(stderr, "chunk of %d too big\n", (int)len);
			return -1;
		}
		pss->final = lws_is_final_fragment(wsi);
		pss->binary = lws_frame_is_binary(wsi);
		memcpy(&pss->buf[LWS_PRE], in, len);
		pss->len = len;
		pss->pending = 1;
		lws_rx_flow_control(wsi, 0);
		lws_callback_on_writable(wsi);
		break;

	/* --self-client: this process's own client connection to lws-echo */
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_CLIENT_WRITEABLE:
		n = (int)strlen(SELF_CLIENT_MSG);
		memcpy(&pss->buf[LWS_PRE], SELF_CLIENT_MSG, n);
		if (lws_write(wsi, &pss->buf[LWS_PRE], n, LWS_WRITE_TEXT) < n)
			return -1;
		break;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		n = len == strlen(SELF_CLIENT_MSG) &&
		    !memcmp(in, SELF_CLIENT_MSG, len);
		printf("self-client %s\n", n ? "ok" : "mismatch");
		fflush(stdout);
		return -1;

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		printf("self-client error %.*s\n", in ? (int)len : 0,
		       in ? (const char *)in : "");
		fflush(stdout);
		break;

	default:
		break;
	}

	return 0;
}

/* ----------------------------------------------- dumb-increment-protocol */

struct per_session_data__dumb_increment {
	int number;
};

static int
callback_dumb_increment(struct lws *wsi, enum lws_callback_reasons reason,
			void *user, void *in, size_t len)
{
	struct per_session_data__dumb_increment *pss = user;
	unsigned char buf[LWS_PRE + 32];
	int n, m;

	(void)in;
	(void)len;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->number = 0;
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		n = sprintf((char *)&buf[LWS_PRE], "%d", pss->number++);
		m = lws_write(wsi, &buf[LWS_PRE], n, LWS_WRITE_TEXT);
		if (m < n) {
			lwsl_err("ERROR %d writing to di socket\n", m);
			return -1;
		}
		break;

	default:
		break;
	}

	return 0;
}

static struct lws_protocols protocols[] = {
	{ "http", callback_http, 0, 0, 0, NULL },
	{ "lws-echo", callback_echo, sizeof(struct per_session_data__echo),
	  MAX_CHUNK, 0, NULL },
	{ "dumb-increment-protocol", callback_dumb_increment,
	  sizeof(struct per_session_data__dumb_increment), 10, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static int tick_thread;
static int self_client;
static int ssl_in_use;
static int port;
static pthread_t ticker;
static volatile sig_atomic_t ticker_stop;

/* the first tick opens the --self-client connection: from the loop's thread */
static void
self_client_connect(void)
{
	struct lws_client_connect_info i;

	memset(&i, 0, sizeof i);
	i.context = context;
	i.address = "127.0.0.1";
	i.port = port;
	i.path = "/";
	i.host = "127.0.0.1";
	i.origin = "127.0.0.1";
	i.protocol = "lws-echo";
	i.ssl_connection = ssl_in_use ? LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
					 LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK : 0;
	if (!lws_client_connect_via_info(&i)) {
		printf("self-client error connect\n");
		fflush(stdout);
	}
}

static void
tick(void)
{
	if (self_client) {
		self_client = 0;
		self_client_connect();
	}
	if (!tick_thread)
		lws_callback_on_writable_all_protocol(context, &protocols[2]);
}

static void *
ticker_run(void *arg)
{
	(void)arg;
	while (!ticker_stop) {
		usleep(TICK_MS * 1000);
		lws_callback_on_writable_all_protocol(context, &protocols[2]);
		lws_cancel_service(context);
	}
	return NULL;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "port N" once the loop is set up (the listen socket exists earlier) */
static void
announce(void)
{
	printf("port %d\n", port);
	fflush(stdout);
}

static void
sighandler(int sig)
{
	(void)sig;
	force_exit = 1;
}

/* ------------------------------------------------------------- the loops */

static int
run_own(void)
{
	long long last = now_ms();

	while (!force_exit) {
		if (lws_service(context, TICK_MS) < 0)
			return 1;
		if (now_ms() - last >= TICK_MS) {
			last = now_ms();
			tick();
		}
	}
	return 0;
}

static int
run_poll(void)
{
	long long last = now_ms();
	int n, fd;

	while (!force_exit) {
		n = poll(pollfds, count_pollfds, TICK_MS);
		if (n < 0 && errno != EINTR) {
			perror("poll");
			return 1;
		}
		if (n > 0)
			for (n = 0; n < count_pollfds; n++) {
				if (!pollfds[n].revents)
					continue;
				fd = pollfds[n].fd;
				if (lws_service_fd(context, &pollfds[n]) < 0)
					return 1;
				/* closed: the last slot may have moved here */
				if (n < count_pollfds && pollfds[n].fd != fd)
					n--;
			}
		/* timeouts and anything else lws does without fd activity */
		lws_service_fd(context, NULL);
		if (now_ms() - last >= TICK_MS) {
			last = now_ms();
			tick();
		}
	}
	return 0;
}

/* uv */

static uv_timer_t uv_tick_timer;
static int keep_timer;

static void
uv_tick_cb(uv_timer_t *t)
{
	(void)t;
	tick();
}

struct uv_thread_arg {
	pthread_t thread;
	int tsi;
};

static void *
uv_thread(void *p)
{
	struct uv_thread_arg *a = p;

	lws_libuv_run(context, a->tsi);
	return NULL;
}

static int
run_uv(int threads)
{
	struct uv_thread_arg args[8];
	int n;

	for (n = 0; n < threads; n++)
		if (lws_uv_initloop(context, NULL, n)) {
			fprintf(stderr, "lws_uv_initloop tsi %d failed\n", n);
			return 1;
		}
	if (!lws_uv_getloop(context, 0)) {
		fprintf(stderr, "lws_uv_getloop: NULL\n");
		return 1;
	}
	/* a service thread has one loop: a second attach is refused */
	if (!lws_uv_initloop(context, NULL, 0)) {
		fprintf(stderr, "a second lws_uv_initloop succeeded\n");
		return 1;
	}
	if (threads == 1) {
		uv_timer_init(lws_uv_getloop(context, 0), &uv_tick_timer);
		uv_timer_start(&uv_tick_timer, uv_tick_cb, TICK_MS, TICK_MS);
	}
	announce();

	if (threads == 1)
		lws_libuv_run(context, 0);
	else {
		for (n = 0; n < threads; n++) {
			args[n].tsi = n;
			pthread_create(&args[n].thread, NULL, uv_thread, &args[n]);
		}
		for (n = 0; n < threads; n++)
			pthread_join(args[n].thread, NULL);
	}
	printf("loop returned\n");
	fflush(stdout);

	if (threads == 1 && !keep_timer) {
		uv_timer_stop(&uv_tick_timer);
		uv_close((uv_handle_t *)&uv_tick_timer, NULL);
	}
	return 0;
}

/* uv-foreign */

static uv_loop_t app_loop;
static uv_signal_t sig_int, sig_term, sig_usr1;
static uv_timer_t app_timer;
static unsigned long app_ticks;

static void
app_stop_cb(uv_signal_t *w, int signum)
{
	printf("signal %d\n", signum);
	fflush(stdout);
	uv_stop(w->loop);
}

static void
app_usr1_cb(uv_signal_t *w, int signum)
{
	(void)w;
	(void)signum;
	printf("usr1 %lu\n", app_ticks);
	fflush(stdout);
}

static void
app_timer_cb(uv_timer_t *t)
{
	(void)t;
	app_ticks++;
}

static int
run_uv_foreign(void)
{
	uv_signal_init(&app_loop, &sig_int);
	uv_signal_start(&sig_int, app_stop_cb, SIGINT);
	uv_signal_init(&app_loop, &sig_term);
	uv_signal_start(&sig_term, app_stop_cb, SIGTERM);
	uv_signal_init(&app_loop, &sig_usr1);
	uv_signal_start(&sig_usr1, app_usr1_cb, SIGUSR1);
	uv_timer_init(&app_loop, &app_timer);
	uv_timer_start(&app_timer, app_timer_cb, 10, 10);
	uv_timer_init(&app_loop, &uv_tick_timer);
	uv_timer_start(&uv_tick_timer, uv_tick_cb, TICK_MS, TICK_MS);

	if (lws_uv_sigint_cfg(context, 0, NULL))
		fprintf(stderr, "lws_uv_sigint_cfg failed\n");
	if (lws_uv_initloop(context, &app_loop, 0)) {
		fprintf(stderr, "lws_uv_initloop failed\n");
		return 1;
	}
	if (lws_uv_getloop(context, 0) != &app_loop)
		fprintf(stderr, "lws_uv_getloop is not the app's loop\n");
	announce();

	uv_run(&app_loop, UV_RUN_DEFAULT);
	printf("loop returned\n");
	fflush(stdout);
	return 0;
}

static void
close_app_uv_handles(void)
{
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_usr1, NULL);
	uv_close((uv_handle_t *)&app_timer, NULL);
	uv_close((uv_handle_t *)&uv_tick_timer, NULL);
}

/* ev */

static struct ev_timer ev_tick_timer;
static struct ev_signal ev_sig_int, ev_sig_term;
static struct ev_loop *ev_foreign;

static void
ev_tick_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	tick();
}

static void
ev_stop_cb(struct ev_loop *loop, struct ev_signal *w, int revents)
{
	(void)revents;
	printf("signal %d\n", w->signum);
	fflush(stdout);
	ev_break(loop, EVBREAK_ALL);
}

/* --threads N with ev: service thread 0 on the default loop (lws_service in
 * main), the others each on an ev_loop_new() run by its own pthread; lws'
 * SIGINT watcher (on the first loop only: libev lets one loop watch a
 * signal) breaks them all */
static struct ev_loop *ev_extra[8];
static pthread_t ev_extra_thread[8];

static void *
ev_thread(void *p)
{
	ev_run(p, 0);
	return NULL;
}

static int
run_ev(int threads)
{
	struct ev_loop *loop = ev_default_loop(0);
	int n;

	if (lws_ev_initloop(context, NULL, 0)) {
		fprintf(stderr, "lws_ev_initloop failed\n");
		return 1;
	}
	for (n = 1; n < threads; n++) {
		ev_extra[n] = ev_loop_new(0);
		if (!ev_extra[n] || lws_ev_initloop(context, ev_extra[n], n)) {
			fprintf(stderr, "lws_ev_initloop tsi %d failed\n", n);
			return 1;
		}
	}
	ev_timer_init(&ev_tick_timer, ev_tick_cb, TICK_MS / 1000.0, TICK_MS / 1000.0);
	ev_timer_start(loop, &ev_tick_timer);
	announce();
	for (n = 1; n < threads; n++)
		pthread_create(&ev_extra_thread[n], NULL, ev_thread, ev_extra[n]);

	/* with LIBEV, lws_service runs the loop until it is broken */
	lws_service(context, TICK_MS);
	for (n = 1; n < threads; n++)
		pthread_join(ev_extra_thread[n], NULL);
	printf("loop returned\n");
	fflush(stdout);
	ev_timer_stop(loop, &ev_tick_timer);
	return 0;
}

static int
run_ev_foreign(void)
{
	ev_foreign = ev_loop_new(0);
	if (!ev_foreign) {
		fprintf(stderr, "ev_loop_new failed\n");
		return 1;
	}
	ev_signal_init(&ev_sig_int, ev_stop_cb, SIGINT);
	ev_signal_start(ev_foreign, &ev_sig_int);
	ev_signal_init(&ev_sig_term, ev_stop_cb, SIGTERM);
	ev_signal_start(ev_foreign, &ev_sig_term);
	ev_timer_init(&ev_tick_timer, ev_tick_cb, TICK_MS / 1000.0, TICK_MS / 1000.0);
	ev_timer_start(ev_foreign, &ev_tick_timer);

	if (lws_ev_sigint_cfg(context, 0, NULL))
		fprintf(stderr, "lws_ev_sigint_cfg failed\n");
	if (lws_ev_initloop(context, ev_foreign, 0)) {
		fprintf(stderr, "lws_ev_initloop failed\n");
		return 1;
	}
	announce();

	ev_run(ev_foreign, 0);
	printf("loop returned\n");
	fflush(stdout);
	ev_timer_stop(ev_foreign, &ev_tick_timer);
	ev_signal_stop(ev_foreign, &ev_sig_int);
	ev_signal_stop(ev_foreign, &ev_sig_term);
	return 0;
}

/* ------------------------------------------------------------------ main */

static void
usage(void)
{
	fprintf(stderr, "usage: evloop_server --loop own|poll|uv|uv-foreign|ev|"
		"ev-foreign [-p PORT] [-d DOCROOT] [--ssl CERT KEY] "
		"[--threads N] [--keep-timer] [--timeout-secs N] "
		"[--ping-interval N] [--tick-thread] [--self-client] [--cgi SCRIPT]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	static struct lws_http_mount cgi_mount;
	const char *cert = NULL, *key = NULL;
	int n, threads = 1, loop_set = 0, ret = 0;

	memset(&info, 0, sizeof info);
	info.port = 7681;

	for (n = 1; n < argc; n++) {
		if (!strcmp(argv[n], "--loop") && n + 1 < argc) {
			unsigned int k;

			n++;
			for (k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
				if (!strcmp(argv[n], kind_names[k]))
					break;
			if (k == sizeof(kind_names) / sizeof(kind_names[0]))
				usage();
			kind = (enum loop_kind)k;
			loop_set = 1;
		} else if (!strcmp(argv[n], "-p") && n + 1 < argc)
			info.port = atoi(argv[++n]);
		else if (!strcmp(argv[n], "-d") && n + 1 < argc)
			docroot = argv[++n];
		else if (!strcmp(argv[n], "--ssl") && n + 2 < argc) {
			cert = argv[++n];
			key = argv[++n];
		} else if (!strcmp(argv[n], "--timeout-secs") && n + 1 < argc)
			info.timeout_secs = atoi(argv[++n]);
		else if (!strcmp(argv[n], "--ping-interval") && n + 1 < argc)
			info.ws_ping_pong_interval = atoi(argv[++n]);
		else if (!strcmp(argv[n], "--keep-timer"))
			keep_timer = 1;
		else if (!strcmp(argv[n], "--tick-thread"))
			tick_thread = 1;
		else if (!strcmp(argv[n], "--self-client"))
			self_client = 1;
		else if (!strcmp(argv[n], "--threads") && n + 1 < argc)
			threads = atoi(argv[++n]);
		else if (!strcmp(argv[n], "--cgi") && n + 1 < argc) {
			cgi_mount.mountpoint = "/cgi";
			cgi_mount.mountpoint_len = 4;
			cgi_mount.origin = argv[++n];
			cgi_mount.origin_protocol = LWSMPRO_CGI;
			info.mounts = &cgi_mount;
		} else
			usage();
	}
	if (!loop_set || threads < 1 || threads > 8)
		usage();
	if (threads > 1 && kind != L_UV && kind != L_EV) {
		fprintf(stderr, "--threads needs --loop uv or ev\n");
		return 2;
	}

	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);

	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	info.count_threads = threads;
	if (cert) {
		ssl_in_use = 1;
		info.ssl_cert_filepath = cert;
		info.ssl_private_key_filepath = key;
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	}

	switch (kind) {
	case L_OWN:
		signal(SIGINT, sighandler);
		signal(SIGTERM, sighandler);
		break;
	case L_POLL:
		signal(SIGINT, sighandler);
		signal(SIGTERM, sighandler);
		max_poll_fds = getdtablesize();
		pollfds = calloc(max_poll_fds, sizeof(*pollfds));
		fd_lookup = calloc(max_poll_fds, sizeof(*fd_lookup));
		if (!pollfds || !fd_lookup)
			return 1;
		break;
	case L_UV:
	case L_UV_FOREIGN:
		info.options |= LWS_SERVER_OPTION_LIBUV;
		if (kind == L_UV_FOREIGN && uv_loop_init(&app_loop)) {
			fprintf(stderr, "uv_loop_init failed\n");
			return 1;
		}
		break;
	case L_EV:
	case L_EV_FOREIGN:
		info.options |= LWS_SERVER_OPTION_LIBEV;
		break;
	}

	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		return 1;
	}
	port = info.port;
	if (kind == L_OWN || kind == L_POLL)
		announce();
	if (tick_thread && pthread_create(&ticker, NULL, ticker_run, NULL)) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}

	switch (kind) {
	case L_OWN:
		ret = run_own();
		break;
	case L_POLL:
		ret = run_poll();
		break;
	case L_UV:
		ret = run_uv(threads);
		break;
	case L_UV_FOREIGN:
		ret = run_uv_foreign();
		break;
	case L_EV:
		ret = run_ev(threads);
		break;
	case L_EV_FOREIGN:
		ret = run_ev_foreign();
		break;
	}

	if (tick_thread) {
		ticker_stop = 1;
		pthread_join(ticker, NULL);
	}
	lws_context_destroy(context);
	printf("destroyed\n");
	fflush(stdout);

	if (kind == L_UV_FOREIGN) {
		close_app_uv_handles();
		/* every handle is closed: this must return */
		uv_run(&app_loop, UV_RUN_DEFAULT);
		n = uv_loop_close(&app_loop);
		printf("uv_loop_close %d\n", n);
		fflush(stdout);
		if (n)
			ret = 1;
	}
	if (kind == L_EV_FOREIGN && ev_foreign) {
		/* nothing of lws' may stay active on the application's loop */
		ev_run(ev_foreign, 0);
		printf("ev_run returned\n");
		fflush(stdout);
		ev_loop_destroy(ev_foreign);
	}

	for (n = 1; n < threads; n++)
		if (ev_extra[n])
			ev_loop_destroy(ev_extra[n]);
	free(pollfds);
	free(fd_lookup);

	return ret;
}
