/*
 * The variadic logging entry points. Stable Rust cannot define C variadic
 * functions, so these format with vsnprintf into the same 256-byte line the
 * original uses and hand the finished line to the Rust core.
 */
#include <stdarg.h>
#include <stdio.h>

int lws_rs_log_enabled(int filter);
void lws_rs_log_emit(int filter, const char *line);

void _lws_logv(int filter, const char *format, va_list vl);
void _lws_log(int filter, const char *format, ...);

void _lws_logv(int filter, const char *format, va_list vl)
{
	char buf[256];

	if (!lws_rs_log_enabled(filter) || !format)
		return;
	if (vsnprintf(buf, sizeof(buf), format, vl) < 0)
		return;
	lws_rs_log_emit(filter, buf);
}

void _lws_log(int filter, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	_lws_logv(filter, format, ap);
	va_end(ap);
}
