/*
 * The OpenSSL hooks of a TLS vhost, as applications use them:
 *
 *   tls_hooks CERT KEY load     the key path is left NULL; the application
 *                               loads KEY at OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY
 *   tls_hooks CERT KEY refuse   it refuses there: context creation fails
 *
 * Prints what the hooks saw ("extra_verify_ctx=1", "requires_key_ctx=1")
 * and "created" or "refused".
 */
#include <libwebsockets.h>

#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

static const char *key_path;
static int refuse, saw_extra_verify, saw_requires_key;

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)wsi;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		saw_extra_verify = user != NULL;
		break;
	case LWS_CALLBACK_OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY:
		saw_requires_key = user != NULL;
		if (refuse)
			return 1;
		return SSL_CTX_use_PrivateKey_file((SSL_CTX *)user, key_path, SSL_FILETYPE_PEM) != 1;
	default:
		break;
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "http-only", callback, 0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, NULL }
};

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *context;

	if (argc != 4)
		return 2;
	key_path = argv[2];
	refuse = !strcmp(argv[3], "refuse");
	memset(&info, 0, sizeof info);
	info.port = 0;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.ssl_cert_filepath = argv[1];
	context = lws_create_context(&info);
	printf("extra_verify_ctx=%d\nrequires_key_ctx=%d\n%s\n", saw_extra_verify, saw_requires_key,
	       context ? "created" : "refused");
	if (context)
		lws_context_destroy(context);
	return 0;
}
