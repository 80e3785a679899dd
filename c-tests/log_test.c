/*
 * Logging as applications use it: level masks, a custom emitter, the syslog
 * emitter, lwsl_timestamp, the default stderr sink and the lwsl_* macros that
 * _DEBUG compiles in or out. Built twice (with and without -D_DEBUG).
 *
 *   log_test checks   self-checking run of everything but the stderr sink
 *   log_test stderr   logs through the default sink, for the caller to read
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
	exit(1); } } while (0)

static int count, last_level;
static char last_line[1024];

static void
capture(int level, const char *line)
{
	count++;
	last_level = level;
	snprintf(last_line, sizeof(last_line), "%s", line);
}

/* syslog() interposed by the executable: records what lwsl_emit_syslog sends */
static int sys_count, sys_priority;
static char sys_line[1024];

void
syslog(int priority, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(sys_line, sizeof(sys_line), format, ap);
	va_end(ap);
	sys_priority = priority;
	sys_count++;
}

static void
via_logv(int filter, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	_lws_logv(filter, format, ap);
	va_end(ap);
}

static int
is_timestamp(const char *p, const char *name)
{
	int y, mo, d, h, mi, s, f, n = 0;
	char got[16];

	if (sscanf(p, "[%4d/%2d/%2d %2d:%2d:%2d:%4d] %15[A-Z]: %n",
		   &y, &mo, &d, &h, &mi, &s, &f, got, &n) != 8)
		return 0;
	return y >= 2000 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 &&
	       f >= 0 && f < 10000 && !strcmp(got, name) && (size_t)n == strlen(p) &&
	       p[5] == '/' && p[8] == '/' && p[11] == ' ' && p[20] == ':' && p[25] == ']';
}

static void
checks(void)
{
	char buf[64], big[400];
	int n;

	/* mask filtering with a custom emitter */
	lws_set_log_level(LLL_ERR | LLL_WARN, capture);
	lwsl_notice("not enabled\n");
	CHECK(count == 0);
	lwsl_err("error %d %s\n", 7, "seven");
	CHECK(count == 1 && last_level == LLL_ERR && !strcmp(last_line, "error 7 seven\n"));
	lwsl_warn("warned\n");
	CHECK(count == 2 && last_level == LLL_WARN && !strcmp(last_line, "warned\n"));

	/* a NULL emitter keeps the current one */
	lws_set_log_level(LLL_NOTICE, NULL);
	lwsl_err("now filtered\n");
	CHECK(count == 2);
	lwsl_notice("notice\n");
	CHECK(count == 3 && last_level == LLL_NOTICE);

	/* _lws_log / _lws_logv directly, with levels no macro has */
	lws_set_log_level(LLL_EXT | LLL_CLIENT, NULL);
	_lws_log(LLL_EXT, "ext %s\n", "x");
	CHECK(count == 4 && last_level == LLL_EXT && !strcmp(last_line, "ext x\n"));
	via_logv(LLL_CLIENT, "client %d\n", 3);
	CHECK(count == 5 && last_level == LLL_CLIENT && !strcmp(last_line, "client 3\n"));
	via_logv(LLL_DEBUG, "filtered\n");
	CHECK(count == 5);

	/* lines are cut at 255 bytes, as the original's 256-byte buffer does */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	_lws_log(LLL_EXT, "%s", big);
	CHECK(count == 6 && strlen(last_line) == 255);

	/* lwsl_timestamp */
	n = lwsl_timestamp(LLL_NOTICE, buf, sizeof(buf));
	CHECK(n == (int)strlen(buf) && is_timestamp(buf, "NOTICE"));
	n = lwsl_timestamp(LLL_LATENCY, buf, sizeof(buf));
	CHECK(n > 0 && is_timestamp(buf, "LATENCY"));
	n = lwsl_timestamp(LLL_ERR | LLL_WARN, buf, sizeof(buf));
	CHECK(n == 0 && buf[0] == '\0');
	n = lwsl_timestamp(LLL_ERR, buf, 10);
	CHECK(n == 9 && strlen(buf) == 9);

	/* the syslog emitter maps levels to priorities */
	lws_set_log_level(LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO | LLL_DEBUG |
			  LLL_HEADER, lwsl_emit_syslog);
	lwsl_err("to syslog %d\n", 1);
	CHECK(sys_count == 1 && sys_priority == LOG_ERR && !strcmp(sys_line, "to syslog 1\n"));
	lwsl_warn("w\n");
	CHECK(sys_count == 2 && sys_priority == LOG_WARNING);
	lwsl_notice("n\n");
	CHECK(sys_count == 3 && sys_priority == LOG_NOTICE);
	_lws_log(LLL_INFO, "i\n");
	CHECK(sys_count == 4 && sys_priority == LOG_INFO);
	_lws_log(LLL_DEBUG, "d\n");
	CHECK(sys_count == 5 && sys_priority == LOG_DEBUG);
	_lws_log(LLL_HEADER, "%% literal\n");
	CHECK(sys_count == 6 && sys_priority == LOG_DEBUG && !strcmp(sys_line, "% literal\n"));

	/* the debug-level macros exist only with _DEBUG */
	lws_set_log_level(0x3ff, capture);
	count = 0;
	lwsl_info("info\n");
	lwsl_debug("debug\n");
	lwsl_parser("parser\n");
	lwsl_header("header\n");
	lwsl_ext("ext\n");
	lwsl_client("client\n");
	lwsl_latency("latency\n");
	lwsl_hexdump(big, 20);
#ifdef _DEBUG
	/* 7 macros, then the hexdump: a PARSER "\n", 2 rows, a DEBUG "\n" */
	CHECK(count == 11 && last_level == LLL_DEBUG && !strcmp(last_line, "\n"));
	printf("debug build: debug macros compiled in\n");
#else
	CHECK(count == 0);
	printf("release build: debug macros compiled out\n");
#endif
	printf("log checks ok\n");
}

int
main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "stderr")) {
		/* default mask ERR|WARN|NOTICE, default sink */
		lwsl_notice("notice to stderr %d\n", 1);
		lwsl_err("error to stderr\n");
		_lws_log(LLL_INFO, "info is masked by default\n");
		lws_set_log_level(LLL_INFO, NULL);
		_lws_log(LLL_INFO, "info after enabling\n");
		return 0;
	}
	checks();
	return 0;
}
