/* lws_config.h: the build configuration of this libwebsockets (generated from
 * capi/lws_config.h.in; do not edit). It matches the configuration the
 * libwebsockets.so.8 ABI was recorded under, except that _DEBUG is left to the
 * application: define it before including libwebsockets.h to compile in
 * lwsl_info() and the other debug-level log macros. */

#ifndef LWS_CONFIG_H_INCLUDED
#define LWS_CONFIG_H_INCLUDED

#define LWS_INSTALL_DATADIR "/usr/local/share"

/* The Libwebsocket version */
#define LWS_LIBRARY_VERSION "2.0.0"

#define LWS_LIBRARY_VERSION_MAJOR 2
#define LWS_LIBRARY_VERSION_MINOR 0
#define LWS_LIBRARY_VERSION_PATCH 0
/* LWS_LIBRARY_VERSION_NUMBER looks like 1005001 for e.g. version 1.5.1 */
#define LWS_LIBRARY_VERSION_NUMBER (LWS_LIBRARY_VERSION_MAJOR * 1000000) + \
				   (LWS_LIBRARY_VERSION_MINOR * 1000) + \
				   LWS_LIBRARY_VERSION_PATCH

/* The build identity lws_get_library_version() appends to the version */
#define LWS_BUILD_HASH "rust"

/* Plugins, CGI and server-status are part of the API */
#define LWS_WITH_PLUGINS
#define LWS_WITH_CGI
#define LWS_WITH_SERVER_STATUS

/* TLS is OpenSSL (LWS_WITH_SSL is the later releases' name for it) */
#define LWS_OPENSSL_SUPPORT
#define LWS_WITH_SSL
#define LWS_SSL_CLIENT_USE_OS_CA_CERTS
#define LWS_OPENSSL_CLIENT_CERTS "/etc/ssl/certs"
#define LWS_HAVE_SSL_CTX_set1_param
#define LWS_HAVE_X509_VERIFY_PARAM_set1_host
#define LWS_HAVE_OPENSSL_ECDH_H

/* External event loops */
#define LWS_USE_LIBEV
#define LWS_USE_LIBUV
#define LWS_WITH_LIBEV
#define LWS_WITH_LIBUV

/* Maximum supported service threads */
#define LWS_MAX_SMP 32

#endif
