/* libprotocol_dumb_increment.so: "dumb-increment-protocol" answers each
 * message with the next number of its session. */
#define PLUGIN_ECHO 0
#include "protocol_test.h"

static const struct lws_protocols protocols[] = {
	{ "dumb-increment-protocol", callback_test,
	  sizeof(struct per_session_data), 256, 0, NULL },
};

LWS_VISIBLE int
init_protocol_dumb_increment(struct lws_context *context,
			     struct lws_plugin_capability *c)
{
	if (check_magic(c))
		return 1;
	c->protocols = protocols;
	c->count_protocols = sizeof(protocols) / sizeof(protocols[0]);
	c->extensions = NULL;
	c->count_extensions = 0;
	note("init dumb_increment context=%s", context ? "set" : "NULL");
	return 0;
}

LWS_VISIBLE int
destroy_protocol_dumb_increment(struct lws_context *context)
{
	note("destroy dumb_increment context=%s", context ? "set" : "NULL");
	return 0;
}
