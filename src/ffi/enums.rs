//! The C enums of the API.
//!
//! The `#[repr(C)]` enums exist so that cbindgen writes the C definitions and so
//! Rust code can name the constants (`lws_callback_reasons::LWS_CALLBACK_HTTP as
//! c_uint`). Values cross the boundary only as the integer newtypes below: C
//! passes values no enum lists (private callback reasons, close codes 4000+,
//! OR-ed write flags), and such a value in a Rust enum is undefined behaviour.

#![allow(non_camel_case_types, clippy::enum_variant_names)]

use std::os::raw::c_uint;

/// Log level bits for `lws_set_log_level` and `_lws_log`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_log_levels {
    LLL_ERR = 1,
    LLL_WARN = 2,
    LLL_NOTICE = 4,
    LLL_INFO = 8,
    LLL_DEBUG = 16,
    LLL_PARSER = 32,
    LLL_HEADER = 64,
    LLL_EXT = 128,
    LLL_CLIENT = 256,
    LLL_LATENCY = 512,
    LLL_COUNT = 10,
}

/// WebSocket close status codes (RFC 6455 section 7.4.1).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_close_status {
    LWS_CLOSE_STATUS_NOSTATUS = 0,
    LWS_CLOSE_STATUS_NORMAL = 1000,
    LWS_CLOSE_STATUS_GOINGAWAY = 1001,
    LWS_CLOSE_STATUS_PROTOCOL_ERR = 1002,
    LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE = 1003,
    LWS_CLOSE_STATUS_RESERVED = 1004,
    LWS_CLOSE_STATUS_NO_STATUS = 1005,
    LWS_CLOSE_STATUS_ABNORMAL_CLOSE = 1006,
    LWS_CLOSE_STATUS_INVALID_PAYLOAD = 1007,
    LWS_CLOSE_STATUS_POLICY_VIOLATION = 1008,
    LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE = 1009,
    LWS_CLOSE_STATUS_EXTENSION_REQUIRED = 1010,
    LWS_CLOSE_STATUS_UNEXPECTED_CONDITION = 1011,
    LWS_CLOSE_STATUS_TLS_FAILURE = 1015,
    LWS_CLOSE_STATUS_NOSTATUS_CONTEXT_DESTROY = 9999,
}

/// `enum lws_close_status` as C passes it: a close status code (any u16 an application chooses).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseStatus(pub c_uint);

/// Why a protocol callback is being called.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_callback_reasons {
    LWS_CALLBACK_ESTABLISHED = 0,
    LWS_CALLBACK_CLIENT_CONNECTION_ERROR = 1,
    LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH = 2,
    LWS_CALLBACK_CLIENT_ESTABLISHED = 3,
    LWS_CALLBACK_CLOSED = 4,
    LWS_CALLBACK_CLOSED_HTTP = 5,
    LWS_CALLBACK_RECEIVE = 6,
    LWS_CALLBACK_RECEIVE_PONG = 7,
    LWS_CALLBACK_CLIENT_RECEIVE = 8,
    LWS_CALLBACK_CLIENT_RECEIVE_PONG = 9,
    LWS_CALLBACK_CLIENT_WRITEABLE = 10,
    LWS_CALLBACK_SERVER_WRITEABLE = 11,
    LWS_CALLBACK_HTTP = 12,
    LWS_CALLBACK_HTTP_BODY = 13,
    LWS_CALLBACK_HTTP_BODY_COMPLETION = 14,
    LWS_CALLBACK_HTTP_FILE_COMPLETION = 15,
    LWS_CALLBACK_HTTP_WRITEABLE = 16,
    LWS_CALLBACK_FILTER_NETWORK_CONNECTION = 17,
    LWS_CALLBACK_FILTER_HTTP_CONNECTION = 18,
    LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED = 19,
    LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION = 20,
    LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS = 21,
    LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS = 22,
    LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION = 23,
    LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER = 24,
    LWS_CALLBACK_CONFIRM_EXTENSION_OKAY = 25,
    LWS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED = 26,
    LWS_CALLBACK_PROTOCOL_INIT = 27,
    LWS_CALLBACK_PROTOCOL_DESTROY = 28,
    LWS_CALLBACK_WSI_CREATE = 29,
    LWS_CALLBACK_WSI_DESTROY = 30,
    LWS_CALLBACK_GET_THREAD_ID = 31,
    LWS_CALLBACK_ADD_POLL_FD = 32,
    LWS_CALLBACK_DEL_POLL_FD = 33,
    LWS_CALLBACK_CHANGE_MODE_POLL_FD = 34,
    LWS_CALLBACK_LOCK_POLL = 35,
    LWS_CALLBACK_UNLOCK_POLL = 36,
    LWS_CALLBACK_OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY = 37,
    LWS_CALLBACK_WS_PEER_INITIATED_CLOSE = 38,
    LWS_CALLBACK_WS_EXT_DEFAULTS = 39,
    LWS_CALLBACK_CGI = 40,
    LWS_CALLBACK_CGI_TERMINATED = 41,
    LWS_CALLBACK_CGI_STDIN_DATA = 42,
    LWS_CALLBACK_CGI_STDIN_COMPLETED = 43,
    LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP = 44,
    LWS_CALLBACK_CLOSED_CLIENT_HTTP = 45,
    LWS_CALLBACK_RECEIVE_CLIENT_HTTP = 46,
    LWS_CALLBACK_COMPLETED_CLIENT_HTTP = 47,
    LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ = 48,
    LWS_CALLBACK_HTTP_BIND_PROTOCOL = 49,
    LWS_CALLBACK_HTTP_DROP_PROTOCOL = 50,
    LWS_CALLBACK_CHECK_ACCESS_RIGHTS = 51,
    LWS_CALLBACK_PROCESS_HTML = 52,
    LWS_CALLBACK_ADD_HEADERS = 53,
    LWS_CALLBACK_SESSION_INFO = 54,
    LWS_CALLBACK_GS_EVENT = 55,
    LWS_CALLBACK_HTTP_PMO = 56,
    LWS_CALLBACK_CLIENT_HTTP_WRITEABLE = 57,
    LWS_CALLBACK_USER = 1000,
}

/// `enum lws_callback_reasons` as C passes it: a callback reason (applications add their own from LWS_CALLBACK_USER).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallbackReason(pub c_uint);

/// Why an extension callback is being called.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_extension_callback_reasons {
    LWS_EXT_CB_SERVER_CONTEXT_CONSTRUCT = 0,
    LWS_EXT_CB_CLIENT_CONTEXT_CONSTRUCT = 1,
    LWS_EXT_CB_SERVER_CONTEXT_DESTRUCT = 2,
    LWS_EXT_CB_CLIENT_CONTEXT_DESTRUCT = 3,
    LWS_EXT_CB_CONSTRUCT = 4,
    LWS_EXT_CB_CLIENT_CONSTRUCT = 5,
    LWS_EXT_CB_CHECK_OK_TO_REALLY_CLOSE = 6,
    LWS_EXT_CB_CHECK_OK_TO_PROPOSE_EXTENSION = 7,
    LWS_EXT_CB_DESTROY = 8,
    LWS_EXT_CB_DESTROY_ANY_WSI_CLOSING = 9,
    LWS_EXT_CB_ANY_WSI_ESTABLISHED = 10,
    LWS_EXT_CB_PACKET_RX_PREPARSE = 11,
    LWS_EXT_CB_PACKET_TX_PRESEND = 12,
    LWS_EXT_CB_PACKET_TX_DO_SEND = 13,
    LWS_EXT_CB_HANDSHAKE_REPLY_TX = 14,
    LWS_EXT_CB_FLUSH_PENDING_TX = 15,
    LWS_EXT_CB_EXTENDED_PAYLOAD_RX = 16,
    LWS_EXT_CB_CAN_PROXY_CLIENT_CONNECTION = 17,
    LWS_EXT_CB_1HZ = 18,
    LWS_EXT_CB_REQUEST_ON_WRITEABLE = 19,
    LWS_EXT_CB_IS_WRITEABLE = 20,
    LWS_EXT_CB_PAYLOAD_TX = 21,
    LWS_EXT_CB_PAYLOAD_RX = 22,
    LWS_EXT_CB_OPTION_DEFAULT = 23,
    LWS_EXT_CB_OPTION_SET = 24,
    LWS_EXT_CB_OPTION_CONFIRM = 25,
    LWS_EXT_CB_NAMED_OPTION_SET = 26,
}

/// `enum lws_extension_callback_reasons` as C passes it: an extension callback reason.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtCallbackReason(pub c_uint);

/// How an extension option takes its value.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_ext_options_types {
    EXTARG_NONE = 0,
    EXTARG_DEC = 1,
    EXTARG_OPT_DEC = 2,
}

/// `enum lws_ext_options_types` as C passes it: an extension option type.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtOptionType(pub c_uint);

/// Generic-sessions authorisation bits.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lwsgs_auth_bits {
    LWSGS_AUTH_LOGGED_IN = 1,
    LWSGS_AUTH_ADMIN = 2,
    LWSGS_AUTH_VERIFIED = 4,
    LWSGS_AUTH_FORGOT_FLOW = 8,
}

/// Generic-sessions events.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_gs_event {
    LWSGSE_CREATED = 0,
    LWSGSE_DELETED = 1,
}

/// `enum lws_gs_event` as C passes it: a generic-sessions event.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GsEvent(pub c_uint);

/// Option bits of `lws_context_creation_info.options`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_context_options {
    LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT = 4098,
    LWS_SERVER_OPTION_SKIP_SERVER_CANONICAL_NAME = 4,
    LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT = 4104,
    LWS_SERVER_OPTION_LIBEV = 16,
    LWS_SERVER_OPTION_DISABLE_IPV6 = 32,
    LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS = 64,
    LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED = 128,
    LWS_SERVER_OPTION_VALIDATE_UTF8 = 256,
    LWS_SERVER_OPTION_SSL_ECDH = 4608,
    LWS_SERVER_OPTION_LIBUV = 1024,
    LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS = 6144,
    LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT = 4096,
    LWS_SERVER_OPTION_EXPLICIT_VHOSTS = 8192,
    LWS_SERVER_OPTION_UNIX_SOCK = 16384,
    LWS_SERVER_OPTION_STS = 32768,
    LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY = 65536,
    LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE = 131072,
    LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN = 262144,
}

/// How a mount is served (`lws_http_mount.origin_protocol`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_mount_protocols {
    LWSMPRO_HTTP = 0,
    LWSMPRO_HTTPS = 1,
    LWSMPRO_FILE = 2,
    LWSMPRO_CGI = 3,
    LWSMPRO_REDIR_HTTP = 4,
    LWSMPRO_REDIR_HTTPS = 5,
    LWSMPRO_CALLBACK = 6,
}

/// Bits of `lws_client_connect_info.ssl_connection`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_client_connect_ssl_connection_flags {
    LCCSCF_USE_SSL = 1,
    LCCSCF_ALLOW_SELFSIGNED = 2,
    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK = 4,
}

/// HTTP status codes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum http_status {
    HTTP_STATUS_OK = 200,
    HTTP_STATUS_NO_CONTENT = 204,
    HTTP_STATUS_MOVED_PERMANENTLY = 301,
    HTTP_STATUS_FOUND = 302,
    HTTP_STATUS_SEE_OTHER = 303,
    HTTP_STATUS_BAD_REQUEST = 400,
    HTTP_STATUS_UNAUTHORIZED = 401,
    HTTP_STATUS_PAYMENT_REQUIRED = 402,
    HTTP_STATUS_FORBIDDEN = 403,
    HTTP_STATUS_NOT_FOUND = 404,
    HTTP_STATUS_METHOD_NOT_ALLOWED = 405,
    HTTP_STATUS_NOT_ACCEPTABLE = 406,
    HTTP_STATUS_PROXY_AUTH_REQUIRED = 407,
    HTTP_STATUS_REQUEST_TIMEOUT = 408,
    HTTP_STATUS_CONFLICT = 409,
    HTTP_STATUS_GONE = 410,
    HTTP_STATUS_LENGTH_REQUIRED = 411,
    HTTP_STATUS_PRECONDITION_FAILED = 412,
    HTTP_STATUS_REQ_ENTITY_TOO_LARGE = 413,
    HTTP_STATUS_REQ_URI_TOO_LONG = 414,
    HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE = 415,
    HTTP_STATUS_REQ_RANGE_NOT_SATISFIABLE = 416,
    HTTP_STATUS_EXPECTATION_FAILED = 417,
    HTTP_STATUS_INTERNAL_SERVER_ERROR = 500,
    HTTP_STATUS_NOT_IMPLEMENTED = 501,
    HTTP_STATUS_BAD_GATEWAY = 502,
    HTTP_STATUS_SERVICE_UNAVAILABLE = 503,
    HTTP_STATUS_GATEWAY_TIMEOUT = 504,
    HTTP_STATUS_HTTP_VERSION_NOT_SUPPORTED = 505,
}

/// Header table indexes (`WSI_TOKEN_*`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_token_indexes {
    WSI_TOKEN_GET_URI = 0,
    WSI_TOKEN_POST_URI = 1,
    WSI_TOKEN_OPTIONS_URI = 2,
    WSI_TOKEN_HOST = 3,
    WSI_TOKEN_CONNECTION = 4,
    WSI_TOKEN_UPGRADE = 5,
    WSI_TOKEN_ORIGIN = 6,
    WSI_TOKEN_DRAFT = 7,
    WSI_TOKEN_CHALLENGE = 8,
    WSI_TOKEN_EXTENSIONS = 9,
    WSI_TOKEN_KEY1 = 10,
    WSI_TOKEN_KEY2 = 11,
    WSI_TOKEN_PROTOCOL = 12,
    WSI_TOKEN_ACCEPT = 13,
    WSI_TOKEN_NONCE = 14,
    WSI_TOKEN_HTTP = 15,
    WSI_TOKEN_HTTP2_SETTINGS = 16,
    WSI_TOKEN_HTTP_ACCEPT = 17,
    WSI_TOKEN_HTTP_AC_REQUEST_HEADERS = 18,
    WSI_TOKEN_HTTP_IF_MODIFIED_SINCE = 19,
    WSI_TOKEN_HTTP_IF_NONE_MATCH = 20,
    WSI_TOKEN_HTTP_ACCEPT_ENCODING = 21,
    WSI_TOKEN_HTTP_ACCEPT_LANGUAGE = 22,
    WSI_TOKEN_HTTP_PRAGMA = 23,
    WSI_TOKEN_HTTP_CACHE_CONTROL = 24,
    WSI_TOKEN_HTTP_AUTHORIZATION = 25,
    WSI_TOKEN_HTTP_COOKIE = 26,
    WSI_TOKEN_HTTP_CONTENT_LENGTH = 27,
    WSI_TOKEN_HTTP_CONTENT_TYPE = 28,
    WSI_TOKEN_HTTP_DATE = 29,
    WSI_TOKEN_HTTP_RANGE = 30,
    WSI_TOKEN_HTTP_REFERER = 31,
    WSI_TOKEN_KEY = 32,
    WSI_TOKEN_VERSION = 33,
    WSI_TOKEN_SWORIGIN = 34,
    WSI_TOKEN_HTTP_COLON_AUTHORITY = 35,
    WSI_TOKEN_HTTP_COLON_METHOD = 36,
    WSI_TOKEN_HTTP_COLON_PATH = 37,
    WSI_TOKEN_HTTP_COLON_SCHEME = 38,
    WSI_TOKEN_HTTP_COLON_STATUS = 39,
    WSI_TOKEN_HTTP_ACCEPT_CHARSET = 40,
    WSI_TOKEN_HTTP_ACCEPT_RANGES = 41,
    WSI_TOKEN_HTTP_ACCESS_CONTROL_ALLOW_ORIGIN = 42,
    WSI_TOKEN_HTTP_AGE = 43,
    WSI_TOKEN_HTTP_ALLOW = 44,
    WSI_TOKEN_HTTP_CONTENT_DISPOSITION = 45,
    WSI_TOKEN_HTTP_CONTENT_ENCODING = 46,
    WSI_TOKEN_HTTP_CONTENT_LANGUAGE = 47,
    WSI_TOKEN_HTTP_CONTENT_LOCATION = 48,
    WSI_TOKEN_HTTP_CONTENT_RANGE = 49,
    WSI_TOKEN_HTTP_ETAG = 50,
    WSI_TOKEN_HTTP_EXPECT = 51,
    WSI_TOKEN_HTTP_EXPIRES = 52,
    WSI_TOKEN_HTTP_FROM = 53,
    WSI_TOKEN_HTTP_IF_MATCH = 54,
    WSI_TOKEN_HTTP_IF_RANGE = 55,
    WSI_TOKEN_HTTP_IF_UNMODIFIED_SINCE = 56,
    WSI_TOKEN_HTTP_LAST_MODIFIED = 57,
    WSI_TOKEN_HTTP_LINK = 58,
    WSI_TOKEN_HTTP_LOCATION = 59,
    WSI_TOKEN_HTTP_MAX_FORWARDS = 60,
    WSI_TOKEN_HTTP_PROXY_AUTHENTICATE = 61,
    WSI_TOKEN_HTTP_PROXY_AUTHORIZATION = 62,
    WSI_TOKEN_HTTP_REFRESH = 63,
    WSI_TOKEN_HTTP_RETRY_AFTER = 64,
    WSI_TOKEN_HTTP_SERVER = 65,
    WSI_TOKEN_HTTP_SET_COOKIE = 66,
    WSI_TOKEN_HTTP_STRICT_TRANSPORT_SECURITY = 67,
    WSI_TOKEN_HTTP_TRANSFER_ENCODING = 68,
    WSI_TOKEN_HTTP_USER_AGENT = 69,
    WSI_TOKEN_HTTP_VARY = 70,
    WSI_TOKEN_HTTP_VIA = 71,
    WSI_TOKEN_HTTP_WWW_AUTHENTICATE = 72,
    WSI_TOKEN_PATCH_URI = 73,
    WSI_TOKEN_PUT_URI = 74,
    WSI_TOKEN_DELETE_URI = 75,
    WSI_TOKEN_HTTP_URI_ARGS = 76,
    WSI_TOKEN_PROXY = 77,
    WSI_TOKEN_HTTP_X_REAL_IP = 78,
    WSI_TOKEN_HTTP1_0 = 79,
    _WSI_TOKEN_CLIENT_SENT_PROTOCOLS = 80,
    _WSI_TOKEN_CLIENT_PEER_ADDRESS = 81,
    _WSI_TOKEN_CLIENT_URI = 82,
    _WSI_TOKEN_CLIENT_HOST = 83,
    _WSI_TOKEN_CLIENT_ORIGIN = 84,
    _WSI_TOKEN_CLIENT_METHOD = 85,
    WSI_TOKEN_COUNT = 86,
    WSI_TOKEN_NAME_PART = 87,
    WSI_TOKEN_SKIPPING = 88,
    WSI_TOKEN_SKIPPING_SAW_CR = 89,
    WSI_PARSING_COMPLETE = 90,
    WSI_INIT_TOKEN_MUXURL = 91,
}

/// `enum lws_token_indexes` as C passes it: a header table index.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenIndex(pub c_uint);

/// States passed to the form upload callback.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_spa_fileupload_states {
    LWS_UFS_CONTENT = 0,
    LWS_UFS_FINAL_CONTENT = 1,
    LWS_UFS_OPEN = 2,
}

/// `enum lws_spa_fileupload_states` as C passes it: a form upload state.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaFileuploadState(pub c_uint);

/// Reasons for `lws_set_timeout`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pending_timeout {
    NO_PENDING_TIMEOUT = 0,
    PENDING_TIMEOUT_AWAITING_PROXY_RESPONSE = 1,
    PENDING_TIMEOUT_AWAITING_CONNECT_RESPONSE = 2,
    PENDING_TIMEOUT_ESTABLISH_WITH_SERVER = 3,
    PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE = 4,
    PENDING_TIMEOUT_AWAITING_PING = 5,
    PENDING_TIMEOUT_CLOSE_ACK = 6,
    PENDING_TIMEOUT_AWAITING_EXTENSION_CONNECT_RESPONSE = 7,
    PENDING_TIMEOUT_SENT_CLIENT_HANDSHAKE = 8,
    PENDING_TIMEOUT_SSL_ACCEPT = 9,
    PENDING_TIMEOUT_HTTP_CONTENT = 10,
    PENDING_TIMEOUT_AWAITING_CLIENT_HS_SEND = 11,
    PENDING_FLUSH_STORED_SEND_BEFORE_CLOSE = 12,
    PENDING_TIMEOUT_SHUTDOWN_FLUSH = 13,
    PENDING_TIMEOUT_CGI = 14,
    PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE = 15,
    PENDING_TIMEOUT_WS_PONG_CHECK_SEND_PING = 16,
    PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG = 17,
    PENDING_TIMEOUT_CLIENT_ISSUE_PAYLOAD = 18,
}

/// `enum pending_timeout` as C passes it: a timeout reason.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingTimeout(pub c_uint);

/// Modes of `lws_write`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_write_protocol {
    LWS_WRITE_TEXT = 0,
    LWS_WRITE_BINARY = 1,
    LWS_WRITE_CONTINUATION = 2,
    LWS_WRITE_HTTP = 3,
    LWS_WRITE_PING = 5,
    LWS_WRITE_PONG = 6,
    LWS_WRITE_HTTP_FINAL = 7,
    LWS_WRITE_HTTP_HEADERS = 8,
    LWS_WRITE_NO_FIN = 64,
    LWS_WRITE_CLIENT_IGNORE_XOR_MASK = 128,
}

/// `enum lws_write_protocol` as C passes it: a write mode, possibly OR-ed with LWS_WRITE_NO_FIN.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteProtocol(pub c_uint);

/// CGI pipes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_enum_stdinouterr {
    LWS_STDIN = 0,
    LWS_STDOUT = 1,
    LWS_STDERR = 2,
}

/// `enum lws_enum_stdinouterr` as C passes it: a CGI pipe index.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StdInOutErr(pub c_uint);

/// CGI response header parser states.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lws_cgi_hdr_state {
    LCHS_HEADER = 0,
    LCHS_CR1 = 1,
    LCHS_LF1 = 2,
    LCHS_CR2 = 3,
    LCHS_LF2 = 4,
    LHCS_PAYLOAD = 5,
    LCHS_SINGLE_0A = 6,
}

/// `enum lws_cgi_hdr_state` as C passes it: a CGI header parser state.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgiHdrState(pub c_uint);
