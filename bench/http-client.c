/*
 * The benchmark's HTTP client: one program, built by bench/run against our
 * libwebsockets.so.8 and against Debian's libwebsockets 4.1, written the way
 * lws' test-client fetches a page: one connection per GET
 * (lws_client_connect_via_info with method "GET"), the body read in 1 KiB
 * lws_http_client_read calls from RECEIVE_CLIENT_HTTP.
 *
 *   http-client -p PORT -f PATH -n CONNS -t SECONDS -b BYTES
 *
 * Keeps CONNS GETs of PATH (BYTES long) going against 127.0.0.1:PORT for
 * SECONDS and prints one JSON line: completed GETs, GETs per second and the
 * client's CPU seconds (getrusage). Exits 1 if a GET failed or a body was
 * not BYTES long.
 */
#include <libwebsockets.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

static int port, conns = 8, bytes;
static const char *path = "/";
static struct lws_context *context;
static int live, completed, failed, stopping;

struct pss {
	int got;
	int done;
};

static double
now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static int
connect_one(void)
{
	struct lws_client_connect_info i;

	memset(&i, 0, sizeof(i));
	i.context = context;
	i.address = "127.0.0.1";
	i.port = port;
	i.path = path;
	i.host = i.address;
	i.origin = i.address;
	i.method = "GET";
	i.protocol = "http";
	if (!lws_client_connect_via_info(&i))
		return -1;
	live++;
	return 0;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	char buffer[1024 + LWS_PRE], *px = buffer + LWS_PRE;
	int lenx = sizeof(buffer) - LWS_PRE;

	switch (reason) {
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		if (lws_http_client_read(wsi, &px, &lenx) < 0 || pss->done)
			return -1; /* the body is in: this connection is done */
		return 0;

	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		pss->got += (int)len;
		return 0;

	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		pss->done = 1;
		if (pss->got != bytes) {
			fprintf(stderr, "http-client: body of %d bytes, wanted %d\n", pss->got, bytes);
			failed = 1;
		}
		completed++;
		return 0;

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "http-client: connection error: %s\n",
			in ? (const char *)in : "(null)");
		failed = 1;
		live--;
		return 0;

	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		if (pss && !pss->done && !stopping) {
			fprintf(stderr, "http-client: closed before the body was in\n");
			failed = 1;
		}
		live--;
		return 0;

	default:
		return 0;
	}
}

static struct lws_protocols protocols[] = {
	{ .name = "http", .callback = callback_http,
	  .per_session_data_size = sizeof(struct pss) },
	{ .name = NULL }
};

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	double seconds = 3, start, elapsed;
	struct rusage ru;
	int n;

	for (n = 1; n + 1 < argc; n += 2) {
		if (!strcmp(argv[n], "-p"))
			port = atoi(argv[n + 1]);
		else if (!strcmp(argv[n], "-f"))
			path = argv[n + 1];
		else if (!strcmp(argv[n], "-n"))
			conns = atoi(argv[n + 1]);
		else if (!strcmp(argv[n], "-t"))
			seconds = atof(argv[n + 1]);
		else if (!strcmp(argv[n], "-b"))
			bytes = atoi(argv[n + 1]);
	}
	if (!port || n != argc) {
		fprintf(stderr, "usage: %s -p PORT -f PATH -n CONNS -t SECONDS -b BYTES\n", argv[0]);
		return 2;
	}

	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "http-client: lws_create_context failed\n");
		return 1;
	}

	start = now();
	while (!failed && (elapsed = now() - start) < seconds) {
		while (live < conns && !failed)
			if (connect_one())
				failed = 1;
		lws_service(context, 10);
	}
	elapsed = now() - start;
	stopping = 1; /* GETs still in flight are cut off by the destroy */
	lws_context_destroy(context);

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"mode\":\"http-client\",\"conns\":%d,\"bytes\":%d,\"seconds\":%.3f,"
	       "\"gets\":%d,\"gps\":%.1f,\"client_cpu_s\":%.3f,\"errors\":%d}\n",
	       conns, bytes, elapsed, completed, completed / elapsed,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, failed);
	return failed;
}
