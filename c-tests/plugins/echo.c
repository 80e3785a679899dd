/* protocol_echo.so (no "lib" prefix): "echo-protocol" and
 * "echo-protocol-2" echo each message. */
#define PLUGIN_ECHO 1
#include "protocol_test.h"

static const struct lws_protocols protocols[] = {
	{ "echo-protocol", callback_test, sizeof(struct per_session_data), 1024, 0, NULL },
	{ "echo-protocol-2", callback_test, sizeof(struct per_session_data), 1024, 0, NULL },
};

LWS_VISIBLE int
init_protocol_echo(struct lws_context *context, struct lws_plugin_capability *c)
{
	if (check_magic(c))
		return 1;
	c->protocols = protocols;
	c->count_protocols = sizeof(protocols) / sizeof(protocols[0]);
	c->extensions = NULL;
	c->count_extensions = 0;
	note("init echo context=%s", context ? "set" : "NULL");
	return 0;
}

LWS_VISIBLE int
destroy_protocol_echo(struct lws_context *context)
{
	note("destroy echo context=%s", context ? "set" : "NULL");
	return 0;
}
