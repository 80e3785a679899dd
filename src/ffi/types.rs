//! `#[repr(C)]` mirrors of the API's structs and opaque handles.
//!
//! Layouts follow the libwebsockets.so.8 ABI byte for byte (checked by
//! `check-abi`). Function pointers are spelled out in full rather than through
//! Rust aliases so that cbindgen writes them inline; the header's named
//! function types (`lws_callback_function`, ...) come from
//! `capi/header-post.h`.

#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_long, c_short, c_uchar, c_uint, c_ulong, c_ushort, c_void};

use super::enums::{
    CallbackReason, CgiHdrState, ExtCallbackReason, ExtOptionType, GsEvent, SpaFileuploadState,
    StdInOutErr,
};

/// A connection (`struct lws *`, "wsi").
pub struct lws {
    _opaque: [u8; 0],
}

/// A library instance (`struct lws_context *`).
pub struct lws_context {
    _opaque: [u8; 0],
}

/// A virtual host (`struct lws_vhost *`).
pub struct lws_vhost {
    _opaque: [u8; 0],
}

/// A form parser (`struct lws_spa *`).
pub struct lws_spa {
    _opaque: [u8; 0],
}

pub type lws_sockfd_type = c_int;
pub type lws_filefd_type = c_int;

/// `struct lws_pollfd`, which the header maps to the system's `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct lws_pollfd {
    pub fd: c_int,
    pub events: c_short,
    pub revents: c_short,
}

/// Opaque stand-ins for the external event-loop and TLS types the API passes
/// by pointer; their definitions come from the system headers.
pub struct SSL_CTX {
    _opaque: [u8; 0],
}
pub struct ev_loop {
    _opaque: [u8; 0],
}
pub struct ev_signal {
    _opaque: [u8; 0],
}
pub struct uv_loop_t {
    _opaque: [u8; 0],
}
pub struct uv_signal_t {
    _opaque: [u8; 0],
}
pub struct sockaddr_in {
    _opaque: [u8; 0],
}
pub type uv_signal_cb = Option<unsafe extern "C" fn(*mut uv_signal_t, c_int)>;

/// libuv's `uv_lib_t` (a `void *` handle and an error string), held by value
/// in `struct lws_plugin`.
#[repr(C)]
pub struct uv_lib_t {
    pub handle: *mut c_void,
    pub errmsg: *mut c_char,
}

/// Arguments of the poll-fd callbacks (`LWS_CALLBACK_ADD_POLL_FD`, ...).
#[repr(C)]
pub struct lws_pollargs {
    /// the fd
    pub fd: lws_sockfd_type,
    /// the events now wanted
    pub events: c_int,
    /// the events wanted before
    pub prev_events: c_int,
}

/// One option an extension understands.
#[repr(C)]
pub struct lws_ext_options {
    /// option name
    pub name: *const c_char,
    /// how the option takes its value
    pub r#type: ExtOptionType,
}

/// An option value handed to an extension.
#[repr(C)]
pub struct lws_ext_option_arg {
    /// may be NULL if option_index used
    pub option_name: *const c_char,
    /// index into the extension's option table
    pub option_index: c_int,
    /// value
    pub start: *const c_char,
    /// length of value
    pub len: c_int,
}

/// An extension the application offers (e.g. permessage-deflate).
#[repr(C)]
pub struct lws_extension {
    /// formal extension name, eg, "permessage-deflate"
    pub name: *const c_char,
    /// the extension's callback
    pub callback: Option<
        unsafe extern "C" fn(
            *mut lws_context,
            *const lws_extension,
            *mut lws,
            ExtCallbackReason,
            *mut c_void,
            *mut c_void,
            usize,
        ) -> c_int,
    >,
    /// string containing the options this side offers
    pub client_offer: *const c_char,
}

/// A protocol the application serves; the array ends with a NULL callback.
#[repr(C)]
pub struct lws_protocols {
    /// protocol name (the subprotocol a client asks for)
    pub name: *const c_char,
    /// the protocol's callback
    pub callback: Option<
        unsafe extern "C" fn(*mut lws, CallbackReason, *mut c_void, *mut c_void, usize) -> c_int,
    >,
    /// bytes of per-connection user data the library allocates
    pub per_session_data_size: usize,
    /// receive buffer size (0 = default)
    pub rx_buffer_size: usize,
    /// free for the application (protocol version, say)
    pub id: c_uint,
    /// free for the application
    pub user: *mut c_void,
}

/// What a plugin offers (`LWS_PLUGIN_API_MAGIC`).
#[repr(C)]
pub struct lws_plugin_capability {
    /// caller sets this to LWS_PLUGIN_API_MAGIC
    pub api_magic: c_uint,
    /// array of supported protocols provided by plugin
    pub protocols: *const lws_protocols,
    /// how many protocols
    pub count_protocols: c_int,
    /// array of extensions provided by plugin
    pub extensions: *const lws_extension,
    /// how many extensions
    pub count_extensions: c_int,
}

pub type lws_plugin_init_func =
    Option<unsafe extern "C" fn(*mut lws_context, *mut lws_plugin_capability) -> c_int>;
pub type lws_plugin_destroy_func = Option<unsafe extern "C" fn(*mut lws_context) -> c_int>;

/// A loaded plugin.
#[repr(C)]
pub struct lws_plugin {
    pub list: *mut lws_plugin,
    pub lib: uv_lib_t,
    pub name: [c_char; 64],
    pub caps: lws_plugin_capability,
}

/// Generic-sessions user information.
#[repr(C)]
pub struct lws_session_info {
    pub username: [c_char; 32],
    pub email: [c_char; 100],
    pub ip: [c_char; 72],
    pub mask: c_uint,
    pub session: [c_char; 42],
}

/// Generic-sessions event arguments.
#[repr(C)]
pub struct lws_gs_event_args {
    pub event: GsEvent,
    pub username: *const c_char,
    pub email: *const c_char,
}

/// A linked list of name/value options (per-vhost protocol options, extra
/// headers, CGI environment, extra mimetypes).
#[repr(C)]
pub struct lws_protocol_vhost_options {
    pub next: *const lws_protocol_vhost_options,
    pub options: *const lws_protocol_vhost_options,
    pub name: *const c_char,
    pub value: *const c_char,
}

/// `struct lws_http_mount`. The header defines it in C (capi/header-pre.h)
/// because of its three 1-bit fields, which live in `cache_flags` here.
#[repr(C)]
pub struct lws_http_mount {
    pub mount_next: *const lws_http_mount,
    pub mountpoint: *const c_char,
    pub origin: *const c_char,
    pub def: *const c_char,
    pub protocol: *const c_char,
    pub cgienv: *const lws_protocol_vhost_options,
    pub extra_mimetypes: *const lws_protocol_vhost_options,
    pub interpret: *const lws_protocol_vhost_options,
    pub cgi_timeout: c_int,
    pub cache_max_age: c_int,
    pub auth_mask: c_uint,
    /// bit 0 cache_reusable, bit 1 cache_revalidate, bit 2 cache_intermediaries
    pub cache_flags: c_uchar,
    pub origin_protocol: c_uchar,
    pub mountpoint_len: c_uchar,
}

/// Parameters of `lws_create_context` and `lws_create_vhost`.
#[repr(C)]
pub struct lws_context_creation_info {
    /// port to listen on (0: any free port, written back; CONTEXT_PORT_NO_LISTEN: none)
    pub port: c_int,
    /// interface name or address to bind to, NULL for all
    pub iface: *const c_char,
    /// the protocols, ending with a NULL callback
    pub protocols: *const lws_protocols,
    /// the extensions offered, ending with a NULL callback, or NULL
    pub extensions: *const lws_extension,
    /// per-header size limits, or NULL
    pub token_limits: *const lws_token_limits,
    pub ssl_private_key_password: *const c_char,
    pub ssl_cert_filepath: *const c_char,
    pub ssl_private_key_filepath: *const c_char,
    pub ssl_ca_filepath: *const c_char,
    pub ssl_cipher_list: *const c_char,
    pub http_proxy_address: *const c_char,
    pub http_proxy_port: c_uint,
    /// group to change to after listening, -1 to keep
    pub gid: c_int,
    /// user to change to after listening, -1 to keep
    pub uid: c_int,
    /// LWS_SERVER_OPTION_* bits
    pub options: c_uint,
    /// returned by lws_context_user()
    pub user: *mut c_void,
    /// TCP keepalive idle seconds (0: no keepalive)
    pub ka_time: c_int,
    pub ka_probes: c_int,
    pub ka_interval: c_int,
    pub provided_client_ssl_ctx: *mut SSL_CTX,
    pub max_http_header_data: c_short,
    pub max_http_header_pool: c_short,
    pub count_threads: c_uint,
    pub fd_limit_per_thread: c_uint,
    pub timeout_secs: c_uint,
    pub ecdh_curve: *const c_char,
    pub vhost_name: *const c_char,
    pub plugin_dirs: *const *const c_char,
    pub pvo: *const lws_protocol_vhost_options,
    pub keepalive_timeout: c_int,
    pub log_filepath: *const c_char,
    pub mounts: *const lws_http_mount,
    pub server_string: *const c_char,
    pub pt_serv_buf_size: c_uint,
    pub max_http_header_data2: c_uint,
    pub ssl_options_set: c_long,
    pub ssl_options_clear: c_long,
    pub ws_ping_pong_interval: c_ushort,
    pub headers: *const lws_protocol_vhost_options,
    /// reserved: keep zero
    pub _unused: [*mut c_void; 8],
}

/// Parameters of `lws_client_connect_via_info`.
#[repr(C)]
pub struct lws_client_connect_info {
    pub context: *mut lws_context,
    pub address: *const c_char,
    pub port: c_int,
    /// LCCSCF_* bits
    pub ssl_connection: c_int,
    pub path: *const c_char,
    pub host: *const c_char,
    pub origin: *const c_char,
    pub protocol: *const c_char,
    pub ietf_version_or_minus_one: c_int,
    pub userdata: *mut c_void,
    pub client_exts: *const lws_extension,
    pub method: *const c_char,
    pub parent_wsi: *mut lws,
    pub uri_replace_from: *const c_char,
    pub uri_replace_to: *const c_char,
    pub vhost: *mut lws_vhost,
    /// filled with the new connection before any callback can name it
    pub pwsi: *mut *mut lws,
    /// reserved: keep zero
    pub _unused: [*mut c_void; 4],
}

/// Arguments of `lws_chunked_html_process`.
#[repr(C)]
pub struct lws_process_html_args {
    pub p: *mut c_char,
    pub len: c_int,
    pub max_len: c_int,
    pub r#final: c_int,
}

pub type lws_process_html_state_cb =
    Option<unsafe extern "C" fn(*mut c_void, c_int) -> *const c_char>;

/// State of `lws_chunked_html_process` across calls.
#[repr(C)]
pub struct lws_process_html_state {
    pub start: *mut c_char,
    pub swallow: [c_char; 16],
    pub pos: c_int,
    pub data: *mut c_void,
    pub vars: *const *const c_char,
    pub count_vars: c_int,
    pub replace: lws_process_html_state_cb,
}

/// A token and its length.
#[repr(C)]
pub struct lws_tokens {
    pub token: *mut c_char,
    pub token_len: c_int,
}

/// Per-header size limits (`WSI_TOKEN_COUNT` entries).
#[repr(C)]
pub struct lws_token_limits {
    pub token_limit: [c_ushort; 86],
}

/// Arguments of the CGI callbacks.
#[repr(C)]
pub struct lws_cgi_args {
    /// get fd with lws_get_socket_fd()
    pub stdwsi: *mut *mut lws,
    /// channel index
    pub ch: StdInOutErr,
    /// for messages with payload
    pub data: *mut c_uchar,
    /// accessible by the CGI callback
    pub hdr_state: CgiHdrState,
    /// length
    pub len: c_int,
}

/// The context's file operations (`lws_get_fops`); applications may replace
/// or wrap any member.
#[repr(C)]
pub struct lws_plat_file_ops {
    pub open: Option<
        unsafe extern "C" fn(*mut lws, *const c_char, *mut c_ulong, c_int) -> lws_filefd_type,
    >,
    pub close: Option<unsafe extern "C" fn(*mut lws, lws_filefd_type) -> c_int>,
    pub seek_cur: Option<unsafe extern "C" fn(*mut lws, lws_filefd_type, c_long) -> c_ulong>,
    pub read: Option<
        unsafe extern "C" fn(
            *mut lws,
            lws_filefd_type,
            *mut c_ulong,
            *mut c_uchar,
            c_ulong,
        ) -> c_int,
    >,
    pub write: Option<
        unsafe extern "C" fn(
            *mut lws,
            lws_filefd_type,
            *mut c_ulong,
            *mut c_uchar,
            c_ulong,
        ) -> c_int,
    >,
}

/// Receives file uploads from `lws_spa_process`.
pub type lws_spa_fileupload_cb = Option<
    unsafe extern "C" fn(
        *mut c_void,
        *const c_char,
        *const c_char,
        *mut c_char,
        c_int,
        SpaFileuploadState,
    ) -> c_int,
>;
