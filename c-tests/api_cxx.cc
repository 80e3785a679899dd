/*
 * The same kind of application in C++11, built with g++ through pkg-config:
 * the header must compile cleanly as C++ and link with C linkage.
 */
#include <libwebsockets.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

static_assert(LWS_PRE == 16, "LWS_PRE");
static_assert(sizeof(lws_context_creation_info) == 320, "creation info size");
static_assert(sizeof(lws_client_connect_info) == 160, "client connect info size");
static_assert(sizeof(lws_http_mount) == 80, "mount size");
static_assert(LWS_CALLBACK_USER == 1000, "LWS_CALLBACK_USER");

namespace {

std::vector<std::pair<int, std::string>> logged;

extern "C" void emit(int level, const char *line)
{
	logged.emplace_back(level, line);
}

int callback_chat(lws *wsi, lws_callback_reasons reason, void *, void *in, size_t len)
{
	if (reason == LWS_CALLBACK_RECEIVE) {
		std::vector<unsigned char> buf(LWS_PRE + len);
		std::memcpy(buf.data() + LWS_PRE, in, len);
		return lws_write(wsi, buf.data() + LWS_PRE, len, LWS_WRITE_TEXT) < 0 ? -1 : 0;
	}
	return 0;
}

lws_protocols protocols[] = {
	{ "chat", callback_chat, 0, 4096, 0, nullptr },
	{ nullptr, nullptr, 0, 0, 0, nullptr },
};

} // namespace

int main()
{
	lws_context_creation_info info{};
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;

	lws_set_log_level(LLL_ERR | LLL_NOTICE, emit);
	lwsl_notice("hello from %s\n", "c++");
	lwsl_warn("filtered out\n");
	lwsl_err("err %d\n", 42);

	const std::string version = lws_get_library_version();
	if (version.compare(0, 5, "2.0.0") != 0 || info.port != -1 || logged.size() != 2 ||
	    logged[0] != std::make_pair(int(LLL_NOTICE), std::string("hello from c++\n")) ||
	    logged[1] != std::make_pair(int(LLL_ERR), std::string("err 42\n"))) {
		std::fprintf(stderr, "c++ consumer: unexpected results\n");
		return 1;
	}
	std::printf("c++ consumer ok: %s\n", version.c_str());
	return 0;
}
