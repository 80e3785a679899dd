
/* Function types the API names; cbindgen spells the pointers out in full. */
typedef int
lws_callback_function(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len);

typedef int
lws_extension_callback_function(struct lws_context *context,
			const struct lws_extension *ext, struct lws *wsi,
			enum lws_extension_callback_reasons reason,
			void *user, void *in, size_t len);

#if defined(LWS_USE_LIBEV)
typedef void (lws_ev_signal_cb_t)(EV_P_ struct ev_signal *w, int revents);
#endif

#define lws_write_http(wsi, buf, len) \
	lws_write(wsi, (unsigned char *)(buf), len, LWS_WRITE_HTTP)

#ifdef __cplusplus
extern "C" {
#endif

#ifdef _DEBUG
LWS_VISIBLE LWS_EXTERN void lwsl_hexdump(void *buf, size_t len);
#endif

#ifdef __cplusplus
}
#endif

/* Extensions are chosen by the application since lws 1.6: no internal list. */
static LWS_INLINE LWS_WARN_DEPRECATED const struct lws_extension *
lws_get_internal_extensions() { return NULL; }

/*
 * File access goes through the context's lws_plat_file_ops, which the
 * application may replace or wrap (lws_get_fops()).
 */
static LWS_INLINE lws_filefd_type LWS_WARN_UNUSED_RESULT
lws_plat_file_open(struct lws *wsi, const char *filename,
		   unsigned long *filelen, int flags)
{
	return lws_get_fops(lws_get_context(wsi))->open(wsi, filename,
						    filelen, flags);
}

static LWS_INLINE int
lws_plat_file_close(struct lws *wsi, lws_filefd_type fd)
{
	return lws_get_fops(lws_get_context(wsi))->close(wsi, fd);
}

static LWS_INLINE unsigned long
lws_plat_file_seek_cur(struct lws *wsi, lws_filefd_type fd, long offset)
{
	return lws_get_fops(lws_get_context(wsi))->seek_cur(wsi, fd, offset);
}

static LWS_INLINE int LWS_WARN_UNUSED_RESULT
lws_plat_file_read(struct lws *wsi, lws_filefd_type fd, unsigned long *amount,
		   unsigned char *buf, unsigned long len)
{
	return lws_get_fops(lws_get_context(wsi))->read(wsi, fd, amount, buf,
						    len);
}

static LWS_INLINE int LWS_WARN_UNUSED_RESULT
lws_plat_file_write(struct lws *wsi, lws_filefd_type fd, unsigned long *amount,
		    unsigned char *buf, unsigned long len)
{
	return lws_get_fops(lws_get_context(wsi))->write(wsi, fd, amount, buf,
						     len);
}

#endif /* LIBWEBSOCKET_H_3060898B846849FF9F88F5DB59B5950C */
