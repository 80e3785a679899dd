/*
 * The run of a test server (include after cblog.h): create the context,
 * print "port N", serve until SIGINT / SIGTERM, destroy the context, close
 * the callback log and print "destroyed". Returns main's exit status.
 */

static volatile int interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int
run_server(struct lws_context_creation_info *info)
{
	struct lws_context *context;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	context = lws_create_context(info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		return 1;
	}
	printf("port %d\n", info->port);
	fflush(stdout);
	while (!interrupted)
		if (lws_service(context, 100) < 0)
			break;
	lws_context_destroy(context);
	if (cblog)
		fclose(cblog);
	printf("destroyed\n");
	return 0;
}
