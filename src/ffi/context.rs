//! Creating and destroying the library context, and context-wide queries.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;
use std::sync::Arc;

use super::enums::lws_context_options as O;
use super::fops::{default_table, CFileOps};
use super::guard;
use super::handle::{self, ContextHandle};
use super::plugin::{self, Plugin};
use super::types::{
    lws_context, lws_context_creation_info, lws_http_mount, lws_protocol_vhost_options,
    lws_protocols,
};
use crate::service::context::{has_option, Context, ContextConfig, VhostConfig};
use crate::service::vhost::{ListenSpec, Mount, MountKind, Protocol, Proxy};

/// What `info->protocols == NULL` stands for: one HTTP protocol served by
/// `lws_callback_http_dummy`.
#[repr(transparent)]
struct BuiltinProtocols([lws_protocols; 2]);
// SAFETY: immutable static data (string literal, function pointer).
unsafe impl Sync for BuiltinProtocols {}

static DUMMY_PROTOCOLS: BuiltinProtocols = BuiltinProtocols([
    lws_protocols {
        name: c"http-only".as_ptr(),
        callback: Some(super::http::lws_callback_http_dummy),
        per_session_data_size: 0,
        rx_buffer_size: 0,
        id: 0,
        user: ptr::null_mut(),
    },
    lws_protocols {
        name: ptr::null(),
        callback: None,
        per_session_data_size: 0,
        rx_buffer_size: 0,
        id: 0,
        user: ptr::null_mut(),
    },
]);

/// # Safety
/// `s` is NULL or a C string.
unsafe fn opt_string(s: *const c_char) -> Option<String> {
    // SAFETY: per this function's contract.
    (!s.is_null()).then(|| unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
}

/// # Safety
/// `list` is NULL or a valid `next`-linked list of C strings.
unsafe fn pvo_list(
    mut list: *const lws_protocol_vhost_options,
) -> Vec<&'static lws_protocol_vhost_options> {
    let mut out = Vec::new();
    // SAFETY: the application keeps the list alive for the context's life.
    while let Some(entry) = unsafe { list.as_ref() } {
        out.push(entry);
        list = entry.next;
    }
    out
}

/// # Safety
/// `info` fields are valid as the API documents.
pub(crate) unsafe fn context_config(info: &lws_context_creation_info) -> ContextConfig {
    let count_threads = (info.count_threads as usize).clamp(1, 32);
    let max_fds = crate::plat::sock::max_fds();
    let token_limits = (!info.token_limits.is_null())
        // SAFETY: a non-NULL token_limits points at a struct lws_token_limits.
        .then(|| unsafe { (*info.token_limits).token_limit.to_vec() });
    ContextConfig {
        count_threads,
        pt_serv_buf_size: if info.pt_serv_buf_size == 0 {
            4096
        } else {
            info.pt_serv_buf_size as usize
        },
        timeout_secs: if info.timeout_secs == 0 {
            20
        } else {
            info.timeout_secs
        },
        max_http_header_data: match (info.max_http_header_data, info.max_http_header_data2) {
            (0, 0) => 4096,
            (0, d2) => d2 as usize,
            (d, _) => d.max(0) as usize,
        },
        max_http_header_pool: if info.max_http_header_pool <= 0 {
            4
        } else {
            info.max_http_header_pool as usize
        },
        token_limits,
        // SAFETY: server_string is NULL or a C string.
        server_string: unsafe { opt_string(info.server_string) }
            .unwrap_or_else(|| "libwebsockets".into())
            .into_bytes(),
        options: info.options,
        uid: info.uid,
        gid: info.gid,
        fd_limit_per_thread: if info.fd_limit_per_thread == 0 {
            max_fds / count_threads
        } else {
            info.fd_limit_per_thread as usize
        },
        user: info.user as usize,
        ws_ping_pong_interval: info.ws_ping_pong_interval,
    }
}

/// The (name, value) pairs of a pvo list, skipping entries with a NULL.
///
/// # Safety
/// `list` is NULL or a valid pvo list of C strings.
pub(crate) unsafe fn pvo_pairs(list: *const lws_protocol_vhost_options) -> Vec<(Vec<u8>, Vec<u8>)> {
    // SAFETY: per the caller.
    unsafe { pvo_list(list) }
        .into_iter()
        .filter(|o| !o.name.is_null() && !o.value.is_null())
        // SAFETY: checked non-NULL C strings.
        .map(|o| unsafe {
            (
                CStr::from_ptr(o.name).to_bytes().to_vec(),
                CStr::from_ptr(o.value).to_bytes().to_vec(),
            )
        })
        .collect()
}

/// # Safety
/// `list` is NULL or a valid `mount_next`-linked list of mounts.
unsafe fn mount_list(mut list: *const lws_http_mount) -> Vec<Mount> {
    let mut out = Vec::new();
    // SAFETY: the application keeps its mounts alive for the context's life.
    while let Some(m) = unsafe { list.as_ref() } {
        list = m.mount_next;
        // SAFETY: mount strings are NULL or C strings.
        let (Some(point), Some(origin)) = (unsafe { opt_string(m.mountpoint) }, unsafe {
            opt_string(m.origin)
        }) else {
            continue;
        };
        let mut mountpoint = point.into_bytes();
        if m.mountpoint_len > 0 {
            mountpoint.truncate(usize::from(m.mountpoint_len));
        }
        // "/docs/" mounts "/docs": with the slash kept it matched only the
        // URI "/docs/" and answered it with a 301 to itself
        while mountpoint.len() > 1 && mountpoint.ends_with(b"/") {
            mountpoint.pop();
        }
        let kind = match m.origin_protocol {
            0 => MountKind::Http,
            1 => MountKind::Https,
            2 => MountKind::File,
            3 => MountKind::Cgi,
            4 => MountKind::RedirHttp,
            5 => MountKind::RedirHttps,
            6 => MountKind::Callback,
            other => {
                lwsl_err!(
                    "mount {}: unknown origin_protocol {other}",
                    String::from_utf8_lossy(&mountpoint)
                );
                continue;
            }
        };
        // SAFETY: extra_mimetypes and interpret are NULL or valid lists of
        // C strings.
        let (extra_mimetypes, interpret) =
            unsafe { (pvo_pairs(m.extra_mimetypes), pvo_pairs(m.interpret)) };
        out.push(Mount {
            mountpoint,
            origin: origin.into_bytes(),
            // SAFETY: def and protocol are NULL or C strings.
            def: unsafe { opt_string(m.def) }.map(String::into_bytes),
            // SAFETY: as above.
            protocol: unsafe { opt_string(m.protocol) }.map(String::into_bytes),
            kind,
            extra_mimetypes,
            interpret,
            cgienv: m.cgienv as usize,
            // SAFETY: cgienv is NULL or a valid list of C strings.
            cgi_env: unsafe { pvo_pairs(m.cgienv) },
            cgi_timeout: u32::try_from(m.cgi_timeout).unwrap_or(0),
            cache_max_age: m.cache_max_age,
            cache_reusable: m.cache_flags & 1 != 0,
            cache_revalidate: m.cache_flags & 2 != 0,
            cache_intermediaries: m.cache_flags & 4 != 0,
            auth_mask: m.auth_mask,
        });
    }
    out
}

/// # Safety
/// `info` fields are valid as the API documents; `info.protocols` non-NULL.
pub(crate) unsafe fn vhost_config(
    info: &lws_context_creation_info,
    plugins: &[Plugin],
) -> Option<VhostConfig> {
    if info.ka_time > 0 && info.ka_interval == 0 {
        lwsl_err!("ka_time set without ka_interval");
        return None;
    }
    // SAFETY: pvo is NULL or a valid list.
    let pvos = unsafe { pvo_list(info.pvo) };
    let named = |name: &[u8]| {
        pvos.iter()
            // SAFETY: pvo names are C strings.
            .find(|o| !o.name.is_null() && unsafe { CStr::from_ptr(o.name) }.to_bytes() == name)
            .copied()
    };
    let mut protocols = Vec::new();
    let mut default_protocol = None;
    let mut add = |entry: &lws_protocols, callback| {
        // SAFETY: a protocol name is NULL or a C string.
        let name = unsafe { opt_string(entry.name) }
            .unwrap_or_default()
            .into_bytes();
        let pvo = named(&name);
        let pvo_options = pvo.map_or(0, |o| o.options as usize);
        // SAFETY: a pvo's options is NULL or a valid list.
        let options = pvo
            .map(|o| unsafe { pvo_list(o.options) })
            .unwrap_or_default();
        // SAFETY: option names are C strings.
        if options.iter().any(|o| {
            !o.name.is_null() && unsafe { CStr::from_ptr(o.name) }.to_bytes() == b"default"
        }) {
            default_protocol = Some(protocols.len());
        }
        protocols.push(Protocol {
            name,
            callback,
            per_session_data_size: entry.per_session_data_size,
            rx_buffer_size: entry.rx_buffer_size,
            c_addr: entry as *const lws_protocols as usize,
            pvo_options,
        });
    };
    let mut p = info.protocols;
    // SAFETY: the array ends with an entry whose callback is NULL.
    while let Some(entry) = unsafe { p.as_ref() } {
        let Some(callback) = entry.callback else {
            break;
        };
        add(entry, callback);
        // SAFETY: still inside the application's array.
        p = unsafe { p.add(1) };
    }
    // Plugin protocols follow, the last loaded first: on every vhost when
    // it has no pvo and is not explicitly created, else only where its pvo
    // names them (CONTRACT §9).
    let all = info.pvo.is_null() && !has_option(info.options, O::LWS_SERVER_OPTION_EXPLICIT_VHOSTS);
    for plugin in plugins.iter().rev() {
        for entry in plugin.protocols() {
            let Some(callback) = entry.callback else {
                continue;
            };
            // SAFETY: a protocol name is NULL or a C string.
            let name = unsafe { opt_string(entry.name) }.unwrap_or_default();
            if all || named(name.as_bytes()).is_some() {
                add(entry, callback);
            }
        }
    }
    // SAFETY: headers is NULL or a valid list of C strings.
    let headers = unsafe { pvo_list(info.headers) }
        .into_iter()
        .filter(|h| !h.name.is_null() && !h.value.is_null())
        // SAFETY: checked non-NULL C strings.
        .map(|h| unsafe {
            (
                CStr::from_ptr(h.name).to_bytes().to_vec(),
                CStr::from_ptr(h.value).to_bytes().to_vec(),
            )
        })
        .collect();
    // SAFETY: mounts is NULL or a valid list.
    let mounts = unsafe { mount_list(info.mounts) };
    let listen = ListenSpec {
        port: (info.port != super::CONTEXT_PORT_NO_LISTEN)
            .then(|| u16::try_from(info.port).unwrap_or(0)),
        // SAFETY: iface is NULL or a C string.
        iface: unsafe { opt_string(info.iface) },
        unix: has_option(info.options, O::LWS_SERVER_OPTION_UNIX_SOCK),
        ipv6: !has_option(info.options, O::LWS_SERVER_OPTION_DISABLE_IPV6),
    };
    Some(VhostConfig {
        // SAFETY: vhost_name is NULL or a C string.
        name: unsafe { opt_string(info.vhost_name) }.unwrap_or_else(|| "default".into()),
        protocols,
        headers,
        mounts,
        default_protocol,
        // SAFETY: extensions is NULL or a NULL-callback terminated array.
        extensions: unsafe { super::ext::declared(info.extensions, usize::MAX) }
            .into_iter()
            .chain(plugins.iter().flat_map(|p| p.extensions.iter().cloned()))
            .collect(),
        // SAFETY: the ssl_* strings are NULL or C strings.
        tls: unsafe {
            crate::tls::TlsConfig {
                cert: opt_string(info.ssl_cert_filepath),
                key: opt_string(info.ssl_private_key_filepath),
                key_password: opt_string(info.ssl_private_key_password),
                ca: opt_string(info.ssl_ca_filepath),
                cipher_list: opt_string(info.ssl_cipher_list),
                ecdh_curve: opt_string(info.ecdh_curve),
                options: info.options,
                ssl_options_set: info.ssl_options_set,
                ssl_options_clear: info.ssl_options_clear,
            }
        },
        provided_client_tls: (!info.provided_client_ssl_ctx.is_null()).then(|| {
            use foreign_types::ForeignType;
            let raw = info.provided_client_ssl_ctx.cast::<openssl_sys::SSL_CTX>();
            // SAFETY: the application's live SSL_CTX; our reference keeps it
            // alive and is dropped without freeing theirs.
            unsafe {
                openssl_sys::SSL_CTX_up_ref(raw);
                openssl::ssl::SslContext::from_ptr(raw)
            }
        }),
        // SAFETY: http_proxy_address is NULL or a C string.
        proxy: unsafe { opt_string(info.http_proxy_address) }
            .or_else(|| std::env::var("http_proxy").ok())
            .and_then(|spec| Proxy::parse(&spec, u16::try_from(info.http_proxy_port).unwrap_or(0))),
        options: info.options,
        keepalive_timeout: if info.keepalive_timeout <= 0 {
            5
        } else {
            info.keepalive_timeout as u32
        },
        tcp_keepalive: (info.ka_time > 0).then_some((
            info.ka_time,
            info.ka_probes,
            info.ka_interval,
        )),
        listen,
    })
}

/// Creates a context (and, unless EXPLICIT_VHOSTS, its default vhost) from
/// `info`. Writes back into `info`: the built-in protocol list for NULL
/// `protocols`, and the bound port for port 0. NULL on any failure.
///
/// # Safety
/// `info` is NULL or a valid creation info whose pointers stay valid for the
/// context's life.
#[no_mangle]
pub unsafe extern "C" fn lws_create_context(
    info: *mut lws_context_creation_info,
) -> *mut lws_context {
    // SAFETY: per this function's contract.
    let Some(info) = (unsafe { info.as_mut() }) else {
        return ptr::null_mut();
    };
    guard("lws_create_context", ptr::null_mut(), || {
        if info.protocols.is_null() {
            info.protocols = DUMMY_PROTOCOLS.0.as_ptr();
        }
        // SAFETY: info is valid per the contract.
        let cfg = unsafe { context_config(info) };
        let fops = default_table();
        let files = Box::new(CFileOps {
            table: fops.get() as usize,
        });
        let ctx = match Context::new(cfg, files) {
            Ok(ctx) => ctx,
            Err(e) => {
                lwsl_err!("lws_create_context: {e}");
                return ptr::null_mut();
            }
        };
        let hostname = CString::new(ctx.hostname.clone()).unwrap_or_default();
        let handle = Box::into_raw(Box::new(ContextHandle {
            ctx: ctx.clone(),
            fops,
            hostname,
            uv_sigint: super::eventlib::default_uv_sigint(),
            ev_sigint: super::eventlib::default_ev_sigint(),
            plugins: std::sync::Mutex::new(Vec::new()),
        }));
        ctx.set_c_handle(handle as usize);
        handle::register_context(handle);
        // SAFETY: plugin_dirs is NULL or a NULL-terminated array of strings.
        let plugins = unsafe { plugin::load(handle.cast(), info.plugin_dirs) };
        // SAFETY: handle came from Box::into_raw above and is still ours.
        let h = unsafe { &*handle };
        *h.plugins.lock().unwrap_or_else(|e| e.into_inner()) = plugins;
        if !has_option(info.options, O::LWS_SERVER_OPTION_EXPLICIT_VHOSTS) {
            // SAFETY: info is valid per the contract.
            if unsafe { create_vhost(h, info) }.is_none() {
                handle::unregister_context(handle);
                // SAFETY: handle came from Box::into_raw above.
                let h = unsafe { Box::from_raw(handle) };
                h.ctx.destroy();
                let plugins =
                    std::mem::take(&mut *h.plugins.lock().unwrap_or_else(|e| e.into_inner()));
                // SAFETY: the plugins were loaded for this context.
                unsafe { plugin::destroy(handle.cast(), plugins, false) };
                return ptr::null_mut();
            }
            crate::plat::sock::drop_privileges(info.uid, info.gid);
        }
        handle.cast()
    })
}

/// # Safety
/// As for lws_create_vhost.
pub(crate) unsafe fn create_vhost(
    h: &ContextHandle,
    info: &mut lws_context_creation_info,
) -> Option<Arc<crate::service::vhost::Vhost>> {
    if info.protocols.is_null() {
        info.protocols = DUMMY_PROTOCOLS.0.as_ptr();
    }
    let vcfg = {
        let plugins = h.plugins.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: per the caller's contract.
        unsafe { vhost_config(info, &plugins) }?
    };
    match h.ctx.add_vhost(vcfg) {
        Ok(vh) => {
            if info.port == 0 {
                info.port = vh.bound_port.get();
            }
            Some(vh)
        }
        Err(e) => {
            lwsl_err!("vhost: cannot listen on port {}: {e}", info.port);
            None
        }
    }
}

/// Closes every connection, runs PROTOCOL_DESTROY, destroys and unloads the
/// plugins and frees the context.
/// NULL, a context already destroyed or a foreign pointer is refused with
/// an error.
///
/// # Safety
/// `context` is NULL or a pointer lws_create_context returned; it is
/// invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn lws_context_destroy(context: *mut lws_context) {
    if context.is_null() {
        return;
    }
    let Some(h) = handle::context("lws_context_destroy", context) else {
        return;
    };
    // Callbacks run during the teardown may still use the context pointer:
    // it stays registered (and allocated) until they are done.
    let on_a_loop = crate::service::pt::has_foreign_loop(&h.ctx);
    guard("lws_context_destroy", (), || h.ctx.destroy());
    // plugins go after PROTOCOL_DESTROY and the vhosts' private data
    let plugins = std::mem::take(&mut *h.plugins.lock().unwrap_or_else(|e| e.into_inner()));
    guard("lws_context_destroy", (), || {
        // SAFETY: the plugins were loaded for this context.
        unsafe { plugin::destroy(context, plugins, on_a_loop) }
    });
    if handle::unregister_context(context.cast()) {
        // SAFETY: a registered context is a leaked Box<ContextHandle>, and
        // only the call that unregistered it frees it.
        drop(unsafe { Box::from_raw(context.cast::<ContextHandle>()) });
    }
}

/// The `user` pointer given at creation.
///
/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lws_context_user(context: *mut lws_context) -> *mut c_void {
    handle::context("lws_context_user", context)
        .map_or(ptr::null_mut(), |h| h.ctx.cfg.user as *mut c_void)
}

/// The host name found at creation ("unknown" with SKIP_SERVER_CANONICAL_NAME).
///
/// # Safety
/// `context` is NULL or a live context.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_canonical_hostname(context: *mut lws_context) -> *const c_char {
    handle::context("lws_canonical_hostname", context).map_or(ptr::null(), |h| h.hostname.as_ptr())
}

/// Fills `buf` with `len` random bytes; returns how many were read.
///
/// # Safety
/// `context` is NULL or a live context; `buf` has `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_get_random(
    context: *mut lws_context,
    buf: *mut c_void,
    len: c_int,
) -> c_int {
    let Some(h) = handle::context("lws_get_random", context) else {
        return -1;
    };
    let Ok(len) = usize::try_from(len) else {
        return -1;
    };
    if buf.is_null() {
        return -1;
    }
    // SAFETY: the caller gives len writable bytes.
    let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    guard("lws_get_random", -1, || h.ctx.random(out) as c_int)
}

/// The number of service threads.
///
/// # Safety
/// `context` is NULL or a live context.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_get_count_threads(context: *mut lws_context) -> c_int {
    handle::context("lws_get_count_threads", context).map_or(-1, |h| h.ctx.pts.len() as c_int)
}

/// Ends start-up: with EXPLICIT_VHOSTS, drops to the configured uid/gid now
/// that the application has created its vhosts.
///
/// # Safety
/// `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lws_finalize_startup(context: *mut lws_context) -> c_int {
    let Some(h) = handle::context("lws_finalize_startup", context) else {
        return -1;
    };
    if has_option(h.ctx.cfg.options, O::LWS_SERVER_OPTION_EXPLICIT_VHOSTS) {
        crate::plat::sock::drop_privileges(h.ctx.cfg.uid, h.ctx.cfg.gid);
    }
    0
}
