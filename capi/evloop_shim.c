/*
 * libuv and libev for the Rust core. Their watchers are structs whose layout
 * and initialisers (ev_io_init, ev_timer_init, ... are macros) come from the
 * system headers, so they are made and driven here, behind one small API for
 * both libraries; the Rust side sees opaque pointers and epoll-style event
 * bits.
 *
 * A loop ("floop") carries the per-service-thread handles: the once-a-second
 * timer, an idle watcher that keeps the loop from blocking while the core has
 * queued work, an async watcher other threads wake it with, and the signal
 * watchers. A watch is one socket's uv_poll_t / ev_io.
 */
#include <ev.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <uv.h>

#define KIND_UV 1
#define KIND_EV 2

/* The Rust side: events on a socket, the 1 s tick, queued work's turn. */
void lws_rs_loop_io(void *owner, int fd, unsigned int events);
void lws_rs_loop_tick(void *owner);
void lws_rs_loop_work(void *owner);

struct floop {
	int kind;
	void *owner;
	int running;	  /* inside lws_rs_floop_run */
	int closed;	  /* lws_rs_floop_close ran while running: finish after */
	union {
		struct {
			uv_loop_t *loop;
			int own;
			int open; /* handles not yet closed */
			int nsig;
			uv_timer_t timer;
			uv_idle_t idle;
			uv_async_t async;
			uv_signal_t sig[2];
		} uv;
		struct {
			struct ev_loop *loop;
			int has_sig;
			ev_timer timer;
			ev_idle idle;
			ev_check check;
			ev_async async;
			ev_signal sig;
		} ev;
	} u;
};

struct watch {
	int kind;
	int fd;
	void *owner;
	struct floop *fl;
	union {
		uv_poll_t uv;
		ev_io ev;
	} u;
};

/* ------------------------------------------------------------------ libuv */

static void uv_tick(uv_timer_t *t) { lws_rs_loop_tick(((struct floop *)t->data)->owner); }
static void uv_idle(uv_idle_t *i) { lws_rs_loop_work(((struct floop *)i->data)->owner); }
static void uv_wake(uv_async_t *a) { lws_rs_loop_work(((struct floop *)a->data)->owner); }

static void uv_loop_handle_closed(uv_handle_t *h)
{
	struct floop *fl = h->data;

	if (!--fl->u.uv.open && !fl->running)
		free(fl);
}

static void uv_io(uv_poll_t *p, int status, int events)
{
	struct watch *w = p->data;
	unsigned int e = 0;

	if (status < 0)
		e = EPOLLERR | EPOLLHUP;
	if (events & UV_READABLE)
		e |= EPOLLIN;
	if (events & UV_WRITABLE)
		e |= EPOLLOUT;
	lws_rs_loop_io(w->owner, w->fd, e);
}

static void uv_watch_closed(uv_handle_t *h) { free(h->data); }

static int uv_floop_init(struct floop *fl, void *loop, void *sigcb, void *sigdata)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	uv_loop_t *l = loop;
	int n;

	if (!l) {
		l = malloc(sizeof(*l));
		if (!l || uv_loop_init(l)) {
			free(l);
			return -1;
		}
		fl->u.uv.own = 1;
	}
	fl->u.uv.loop = l;
	uv_timer_init(l, &fl->u.uv.timer);
	uv_idle_init(l, &fl->u.uv.idle);
	uv_async_init(l, &fl->u.uv.async, uv_wake);
	fl->u.uv.timer.data = fl->u.uv.idle.data = fl->u.uv.async.data = fl;
	fl->u.uv.open = 3;
	uv_timer_start(&fl->u.uv.timer, uv_tick, 1000, 1000);
	for (n = 0; sigcb && n < 2; n++) {
		uv_signal_init(l, &fl->u.uv.sig[n]);
		/* the handler finds the context here, as lws' handlers did */
		fl->u.uv.sig[n].data = sigdata;
		uv_signal_start(&fl->u.uv.sig[n], (uv_signal_cb)sigcb, sigs[n]);
		fl->u.uv.nsig++;
		fl->u.uv.open++;
	}
	return 0;
}

static void uv_walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* A loop of ours is run until every handle is closed, then closed and
 * freed; never from inside its own run (libuv runs are not re-entrant):
 * then the run's end does it. */
static int uv_own_loop_finish(uv_loop_t *l)
{
	int r;

	uv_stop(l);
	uv_walk(l, uv_walk_close, NULL);
	while (uv_run(l, UV_RUN_NOWAIT))
		;
	r = uv_loop_close(l);
	if (!r)
		free(l);
	return r;
}

static int uv_floop_close(struct floop *fl)
{
	uv_loop_t *l = fl->u.uv.loop;
	int own = fl->u.uv.own, n;

	uv_close((uv_handle_t *)&fl->u.uv.timer, uv_loop_handle_closed);
	uv_close((uv_handle_t *)&fl->u.uv.idle, uv_loop_handle_closed);
	uv_close((uv_handle_t *)&fl->u.uv.async, uv_loop_handle_closed);
	for (n = 0; n < fl->u.uv.nsig; n++) {
		fl->u.uv.sig[n].data = fl;
		uv_close((uv_handle_t *)&fl->u.uv.sig[n], uv_loop_handle_closed);
	}
	if (fl->running) {
		fl->closed = 1;
		uv_stop(l);
		return 0;
	}
	/* fl is freed by the last close callback: only l from here on */
	return own ? uv_own_loop_finish(l) : 0;
}

/* ------------------------------------------------------------------ libev */

static void ev_tick(struct ev_loop *l, ev_timer *t, int revents)
{
	(void)l;
	(void)revents;
	lws_rs_loop_tick(((struct floop *)t->data)->owner);
}

static void ev_work_idle(struct ev_loop *l, ev_idle *i, int revents)
{
	(void)l;
	(void)revents;
	lws_rs_loop_work(((struct floop *)i->data)->owner);
}

/* libev runs idle watchers only when nothing else is pending: under steady
 * I/O the queued work gets its turn here, after every poll */
static void ev_work_check(struct ev_loop *l, ev_check *c, int revents)
{
	struct floop *fl = c->data;

	(void)revents;
	if (ev_is_active(&fl->u.ev.idle))
		lws_rs_loop_work(fl->owner);
	(void)l;
}

static void ev_wake(struct ev_loop *l, ev_async *a, int revents)
{
	(void)l;
	(void)revents;
	lws_rs_loop_work(((struct floop *)a->data)->owner);
}

static void ev_io_ready(struct ev_loop *l, ev_io *io, int revents)
{
	struct watch *w = io->data;
	unsigned int e = 0;

	(void)l;
	if (revents & EV_ERROR)
		e = EPOLLERR | EPOLLHUP;
	if (revents & EV_READ)
		e |= EPOLLIN;
	if (revents & EV_WRITE)
		e |= EPOLLOUT;
	lws_rs_loop_io(w->owner, w->fd, e);
}

static int ev_floop_init(struct floop *fl, void *loop, void *sigcb, void *sigdata)
{
	struct ev_loop *l = loop ? loop : ev_default_loop(0);

	if (!l)
		return -1;
	fl->u.ev.loop = l;
	ev_timer_init(&fl->u.ev.timer, ev_tick, 1., 1.);
	ev_idle_init(&fl->u.ev.idle, ev_work_idle);
	ev_check_init(&fl->u.ev.check, ev_work_check);
	ev_async_init(&fl->u.ev.async, ev_wake);
	fl->u.ev.timer.data = fl->u.ev.idle.data = fl->u.ev.check.data = fl->u.ev.async.data = fl;
	ev_timer_start(l, &fl->u.ev.timer);
	ev_check_start(l, &fl->u.ev.check);
	ev_unref(l); /* the check watcher alone keeps no loop running */
	ev_async_start(l, &fl->u.ev.async);
	ev_unref(l); /* nor does the async one: only sockets and the timer do */
	if (sigcb) {
		ev_signal_init(&fl->u.ev.sig, (void (*)(struct ev_loop *, ev_signal *, int))sigcb,
			       SIGINT);
		fl->u.ev.sig.data = sigdata;
		ev_signal_start(l, &fl->u.ev.sig);
		fl->u.ev.has_sig = 1;
	}
	return 0;
}

static int ev_floop_close(struct floop *fl)
{
	struct ev_loop *l = fl->u.ev.loop;

	ev_timer_stop(l, &fl->u.ev.timer);
	ev_idle_stop(l, &fl->u.ev.idle);
	ev_ref(l);
	ev_check_stop(l, &fl->u.ev.check);
	ev_ref(l);
	ev_async_stop(l, &fl->u.ev.async);
	if (fl->u.ev.has_sig)
		ev_signal_stop(l, &fl->u.ev.sig);
	if (fl->running) {
		fl->closed = 1;
		ev_break(l, EVBREAK_ALL);
	} else
		free(fl);
	return 0;
}

/* ------------------------------------------------------------ the API */

void *lws_rs_floop_new(int kind, void *loop, void *owner, void *sigcb, void *sigdata);
void *lws_rs_floop_native(void *p);
void lws_rs_floop_kick(void *p);
void lws_rs_floop_rest(void *p);
void lws_rs_floop_wake(void *p);
int lws_rs_floop_run(void *p);
void lws_rs_floop_stop(void *p);
int lws_rs_floop_close(void *p);
void *lws_rs_watch_new(void *fl, int fd, void *owner);
int lws_rs_watch_set(void *p, unsigned int events);
void lws_rs_watch_close(void *p);
void *lws_rs_watcher_data(int kind, void *w);

/* The data member of a libuv handle / libev watcher (the signal handlers
 * find the context there). */
void *lws_rs_watcher_data(int kind, void *w)
{
	return kind == KIND_UV ? ((uv_handle_t *)w)->data : ((ev_watcher *)w)->data;
}

void *lws_rs_floop_new(int kind, void *loop, void *owner, void *sigcb, void *sigdata)
{
	struct floop *fl = calloc(1, sizeof(*fl));
	int r;

	if (!fl)
		return NULL;
	fl->kind = kind;
	fl->owner = owner;
	r = kind == KIND_UV ? uv_floop_init(fl, loop, sigcb, sigdata)
			    : ev_floop_init(fl, loop, sigcb, sigdata);
	if (r) {
		free(fl);
		return NULL;
	}
	return fl;
}

void *lws_rs_floop_native(void *p)
{
	struct floop *fl = p;

	return fl->kind == KIND_UV ? (void *)fl->u.uv.loop : (void *)fl->u.ev.loop;
}

/* The core has queued work: the loop must not block before its turn
 * (loop thread only). */
void lws_rs_floop_kick(void *p)
{
	struct floop *fl = p;

	if (fl->kind == KIND_UV)
		uv_idle_start(&fl->u.uv.idle, uv_idle);
	else
		ev_idle_start(fl->u.ev.loop, &fl->u.ev.idle);
}

/* The queued work is done: the loop may block again. */
void lws_rs_floop_rest(void *p)
{
	struct floop *fl = p;

	if (fl->kind == KIND_UV)
		uv_idle_stop(&fl->u.uv.idle);
	else
		ev_idle_stop(fl->u.ev.loop, &fl->u.ev.idle);
}

/* Any thread. */
void lws_rs_floop_wake(void *p)
{
	struct floop *fl = p;

	if (fl->kind == KIND_UV)
		uv_async_send(&fl->u.uv.async);
	else
		ev_async_send(fl->u.ev.loop, &fl->u.ev.async);
}

/* Runs the loop; if the library's handles were closed meanwhile (the
 * context destroyed from a callback), finishes that here. */
int lws_rs_floop_run(void *p)
{
	struct floop *fl = p;
	int r;

	fl->running++;
	r = fl->kind == KIND_UV ? uv_run(fl->u.uv.loop, UV_RUN_DEFAULT)
				: ev_run(fl->u.ev.loop, 0);
	if (--fl->running || !fl->closed)
		return r;
	if (fl->kind == KIND_UV) {
		uv_loop_t *l = fl->u.uv.loop;
		int own = fl->u.uv.own;

		/* the close callbacks may not all have run yet */
		while (fl->u.uv.open && uv_run(l, UV_RUN_NOWAIT))
			;
		if (!fl->u.uv.open)
			free(fl);
		if (own)
			uv_own_loop_finish(l);
	} else
		free(fl);
	return r;
}

void lws_rs_floop_stop(void *p)
{
	struct floop *fl = p;

	if (fl->kind == KIND_UV)
		uv_stop(fl->u.uv.loop);
	else
		ev_break(fl->u.ev.loop, EVBREAK_ALL);
}

/* Stops and releases every handle; a loop the library made is run until
 * they are closed and then closed itself. */
int lws_rs_floop_close(void *p)
{
	struct floop *fl = p;

	return fl->kind == KIND_UV ? uv_floop_close(fl) : ev_floop_close(fl);
}

void *lws_rs_watch_new(void *p, int fd, void *owner)
{
	struct floop *fl = p;
	struct watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->kind = fl->kind;
	w->fd = fd;
	w->owner = owner;
	w->fl = fl;
	if (fl->kind == KIND_UV) {
		if (uv_poll_init_socket(fl->u.uv.loop, &w->u.uv, fd)) {
			free(w);
			return NULL;
		}
		w->u.uv.data = w;
	} else {
		ev_io_init(&w->u.ev, ev_io_ready, fd, 0);
		w->u.ev.data = w;
	}
	return w;
}

/* Watches for EPOLLIN / EPOLLOUT as `events` says (0: nothing). */
int lws_rs_watch_set(void *p, unsigned int events)
{
	struct watch *w = p;
	int want = 0;

	if (w->kind == KIND_UV) {
		if (events & EPOLLIN)
			want |= UV_READABLE;
		if (events & EPOLLOUT)
			want |= UV_WRITABLE;
		return want ? uv_poll_start(&w->u.uv, want, uv_io) : uv_poll_stop(&w->u.uv);
	}
	if (events & EPOLLIN)
		want |= EV_READ;
	if (events & EPOLLOUT)
		want |= EV_WRITE;
	ev_io_stop(w->fl->u.ev.loop, &w->u.ev);
	if (want) {
		ev_io_set(&w->u.ev, w->fd, want);
		ev_io_start(w->fl->u.ev.loop, &w->u.ev);
	}
	return 0;
}

/* Before the socket is closed. */
void lws_rs_watch_close(void *p)
{
	struct watch *w = p;

	if (w->kind == KIND_UV) {
		uv_close((uv_handle_t *)&w->u.uv, uv_watch_closed);
		return;
	}
	ev_io_stop(w->fl->u.ev.loop, &w->u.ev);
	free(w);
}
