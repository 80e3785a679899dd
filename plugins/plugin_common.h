/*
 * Helpers shared by the example plugins (each plugin is one .c file that
 * includes this; nothing here is exported).
 *
 *  - PLUGIN_ENTRY_POINTS(name): init_protocol_<name> (the
 *    LWS_PLUGIN_API_MAGIC check, then the file's `protocols` array) and
 *    destroy_protocol_<name>
 *  - a periodic timer on the context's libuv loop (lwsws runs on libuv; in a
 *    host without one, plugin_timer_start() logs and returns NULL and the
 *    plugin simply gets no ticks). The timer is allocated apart from the
 *    per-vhost data and freed by its uv_close callback, so it may outlive
 *    the per-vhost data the library frees at context destruction; its close
 *    callback runs when the host lets the loop run after
 *    lws_context_destroy (lwsws does); the library keeps plugins mapped
 *    when the context ran on a libuv loop, so that code is still there.
 *  - http_reply(): a complete 200 response with a body in one write.
 *  - html_escape(): for values echoed into HTML.
 */
#ifndef PLUGIN_COMMON_H
#define PLUGIN_COMMON_H

#include <libwebsockets.h>

#include <stdlib.h>
#include <string.h>

struct plugin_timer {
	uv_timer_t handle;
	void (*cb)(void *arg);
	void *arg;
};

#define PLUGIN_ENTRY_POINTS(name)						\
LWS_VISIBLE int									\
init_protocol_##name(struct lws_context *context,				\
		     struct lws_plugin_capability *c)				\
{										\
	(void)context;								\
	if (c->api_magic != LWS_PLUGIN_API_MAGIC) {				\
		lwsl_err("Plugin API %d, library API %d\n",			\
			 LWS_PLUGIN_API_MAGIC, c->api_magic);			\
		return 1;							\
	}									\
	c->protocols = protocols;						\
	c->count_protocols = sizeof(protocols) / sizeof(protocols[0]);		\
	c->extensions = NULL;							\
	c->count_extensions = 0;						\
	return 0;								\
}										\
										\
LWS_VISIBLE int									\
destroy_protocol_##name(struct lws_context *context)				\
{										\
	(void)context;								\
	return 0;								\
}

static inline void
plugin_timer_fire(uv_timer_t *h)
{
	struct plugin_timer *t = (struct plugin_timer *)h->data;

	t->cb(t->arg);
}

static inline void
plugin_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static inline struct plugin_timer *
plugin_timer_start(struct lws_context *context, unsigned int ms,
		   void (*cb)(void *arg), void *arg)
{
	uv_loop_t *loop = lws_uv_getloop(context, 0);
	struct plugin_timer *t;

	if (!loop) {
		lwsl_warn("plugin: no libuv loop, no periodic updates\n");
		return NULL;
	}
	t = (struct plugin_timer *)calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cb = cb;
	t->arg = arg;
	t->handle.data = t;
	uv_timer_init(loop, &t->handle);
	uv_timer_start(&t->handle, plugin_timer_fire, ms, ms);
	return t;
}

static inline void
plugin_timer_stop(struct plugin_timer *t)
{
	if (!t)
		return;
	uv_timer_stop(&t->handle);
	uv_close((uv_handle_t *)&t->handle, plugin_timer_closed);
}

static inline int
http_reply(struct lws *wsi, int status, const char *type, const char *body, size_t n)
{
	unsigned char *buf, *start, *p, *end;
	size_t cap = LWS_PRE + 512 + n;
	int m;

	buf = (unsigned char *)malloc(cap);
	if (!buf)
		return -1;
	start = p = buf + LWS_PRE;
	end = buf + cap;
	if (lws_add_http_header_status(wsi, status, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)type, (int)strlen(type),
					 &p, end) ||
	    lws_add_http_header_content_length(wsi, n, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end)) {
		free(buf);
		return -1;
	}
	memcpy(p, body, n);
	p += n;
	n = (size_t)(p - start);
	m = lws_write(wsi, start, n, LWS_WRITE_HTTP);
	free(buf);
	if (m != (int)n)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Appends `in`, HTML-escaped, at out[*pos] (out has cap bytes, stays NUL-terminated). */
static inline void
html_escape(char *out, size_t cap, size_t *pos, const char *in)
{
	const char *rep;
	size_t n;

	for (; in && *in; in++) {
		switch (*in) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		default: rep = NULL; break;
		}
		n = rep ? strlen(rep) : 1;
		if (*pos + n + 1 > cap)
			break;
		if (rep)
			memcpy(out + *pos, rep, n);
		else
			out[*pos] = *in;
		*pos += n;
	}
	if (*pos < cap)
		out[*pos] = '\0';
}

#endif
