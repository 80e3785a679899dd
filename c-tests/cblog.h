/*
 * The callback log the tests read (-l FILE): a "reason wsi-number" line per
 * callback, wsis numbered in the order they first appear (-1 for none).
 */

static FILE *cblog;

#define WSI_MAX 4096
static const struct lws *wsi_ids[WSI_MAX];

static int
wsi_number(const struct lws *wsi)
{
	int n;

	if (!wsi)
		return -1;
	for (n = 0; n < WSI_MAX && wsi_ids[n]; n++)
		if (wsi_ids[n] == wsi)
			return n;
	if (n < WSI_MAX)
		wsi_ids[n] = wsi;
	return n;
}

static void
log_cb(struct lws *wsi, enum lws_callback_reasons reason)
{
	if (cblog) {
		fprintf(cblog, "%d %d\n", (int)reason, wsi_number(wsi));
		fflush(cblog);
	}
}
