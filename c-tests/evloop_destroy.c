/*
 * lws_context_destroy called from inside a callback of the loop the
 * library runs: an application timer on the library's own libuv loop
 * (lws_uv_getloop) or on libev's default loop destroys the context while
 * lws_libuv_run / lws_service is running that loop. The run must return
 * and nothing may be touched after it is freed (run under valgrind).
 *
 *   evloop_destroy uv|ev PORT
 *
 * Prints "destroyed in callback" and then "run returned".
 */
#include <libwebsockets.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lws_context *context;
static uv_timer_t uv_timer;
static ev_timer ev_t;

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	(void)wsi;
	(void)reason;
	(void)user;
	(void)in;
	(void)len;
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "http", callback_http, 0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void
destroy_now(void)
{
	lws_context_destroy(context);
	context = NULL;
	printf("destroyed in callback\n");
	fflush(stdout);
}

static void
on_uv_timer(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, NULL);
	destroy_now();
}

static void
on_ev_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	ev_timer_stop(loop, w);
	destroy_now();
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	int uv;

	if (argc < 3)
		return 2;
	uv = !strcmp(argv[1], "uv");
	memset(&info, 0, sizeof info);
	info.port = atoi(argv[2]);
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	info.options = uv ? LWS_SERVER_OPTION_LIBUV : LWS_SERVER_OPTION_LIBEV;
	context = lws_create_context(&info);
	if (!context)
		return 1;
	if (uv) {
		if (lws_uv_initloop(context, NULL, 0))
			return 1;
		uv_timer_init(lws_uv_getloop(context, 0), &uv_timer);
		uv_timer_start(&uv_timer, on_uv_timer, 200, 0);
		lws_libuv_run(context, 0);
	} else {
		if (lws_ev_initloop(context, NULL, 0))
			return 1;
		ev_timer_init(&ev_t, on_ev_timer, 0.2, 0.);
		ev_timer_start(EV_DEFAULT, &ev_t);
		lws_service(context, 0);
	}
	printf("run returned\n");
	if (context)
		lws_context_destroy(context);
	return 0;
}
