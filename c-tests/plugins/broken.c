/*
 * Broken plugins, one per BROKEN_* variant:
 *   BROKEN_NOSYM  libprotocol_nosym.so: its init has the wrong name
 *   BROKEN_MAGIC  libprotocol_badmagic.so: reports another API magic
 *   BROKEN_INIT   libprotocol_fails.so: init returns non-zero
 * Each offers a protocol that must not be reachable, and a destroy_ that
 * must not be called.
 */
#define PLUGIN_ECHO 1
#include "protocol_test.h"

static const struct lws_protocols protocols[] = {
	{ "broken-protocol", callback_test, sizeof(struct per_session_data), 256, 0, NULL },
};

#if defined(BROKEN_NOSYM)
#define INIT init_protocol_something_else
#define DESTROY destroy_protocol_nosym
#define TAG "nosym"
#elif defined(BROKEN_MAGIC)
#define INIT init_protocol_badmagic
#define DESTROY destroy_protocol_badmagic
#define TAG "badmagic"
#else
#define INIT init_protocol_fails
#define DESTROY destroy_protocol_fails
#define TAG "fails"
#endif

LWS_VISIBLE int
INIT(struct lws_context *context, struct lws_plugin_capability *c)
{
	(void)context;
	note("init " TAG);
	c->protocols = protocols;
	c->count_protocols = 1;
#if defined(BROKEN_MAGIC)
	c->api_magic = LWS_PLUGIN_API_MAGIC + 1;
	return 0;
#elif defined(BROKEN_NOSYM)
	return 0;
#else
	return 1;
#endif
}

LWS_VISIBLE int
DESTROY(struct lws_context *context)
{
	(void)context;
	note("destroy " TAG);
	return 0;
}
