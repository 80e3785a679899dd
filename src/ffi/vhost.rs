//! Virtual hosts and their per-protocol storage.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use super::guard;
use super::handle;
use super::types::{lws, lws_context, lws_context_creation_info, lws_protocols, lws_vhost};
use crate::service::vhost::{c_addr, zeroed, Vhost};

/// The vhost's protocol called `name`, or NULL.
///
/// # Safety
/// `vh` is NULL or a live vhost; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn lws_vhost_name_to_protocol(
    vh: *mut lws_vhost,
    name: *const c_char,
) -> *const lws_protocols {
    let Some(vhost) = handle::vhost("lws_vhost_name_to_protocol", vh) else {
        return ptr::null();
    };
    if name.is_null() {
        return ptr::null();
    }
    // SAFETY: per this function's contract.
    let name = unsafe { CStr::from_ptr(name) }.to_bytes();
    vhost.protocol_by_name(name).map_or(ptr::null(), |i| {
        vhost.protocols[i].c_addr as *const lws_protocols
    })
}

/// Allocates `size` zeroed bytes for `prot` on `vhost` (found by address,
/// else by name), kept until the context is destroyed.
///
/// # Safety
/// `vhost` is NULL or a live vhost; `prot` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lws_protocol_vh_priv_zalloc(
    vhost: *mut lws_vhost,
    prot: *const lws_protocols,
    size: c_int,
) -> *mut c_void {
    let Some(vh) = handle::vhost("lws_protocol_vh_priv_zalloc", vhost) else {
        return ptr::null_mut();
    };
    // SAFETY: per this function's contract.
    let Some(index) = (unsafe { protocol_index("lws_protocol_vh_priv_zalloc", &vh, prot) }) else {
        return ptr::null_mut();
    };
    let Ok(size) = usize::try_from(size) else {
        return ptr::null_mut();
    };
    guard("lws_protocol_vh_priv_zalloc", ptr::null_mut(), || {
        let Some(block) = zeroed(size, "per-vhost protocol data") else {
            return ptr::null_mut();
        };
        let addr = c_addr(&block);
        vh.privs.borrow()[index] = Some(block);
        addr as *mut c_void
    })
}

/// What lws_protocol_vh_priv_zalloc allocated for `prot`, or NULL.
///
/// # Safety
/// `vhost` is NULL or a live vhost; `prot` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lws_protocol_vh_priv_get(
    vhost: *mut lws_vhost,
    prot: *const lws_protocols,
) -> *mut c_void {
    let Some(vh) = handle::vhost("lws_protocol_vh_priv_get", vhost) else {
        return ptr::null_mut();
    };
    // SAFETY: per this function's contract.
    let Some(index) = (unsafe { protocol_index("lws_protocol_vh_priv_get", &vh, prot) }) else {
        return ptr::null_mut();
    };
    let privs = vh.privs.borrow();
    privs[index]
        .as_ref()
        .map_or(ptr::null_mut(), |b| c_addr(b) as *mut c_void)
}

/// # Safety
/// As for lws_protocol_vh_priv_get.
unsafe fn protocol_index(func: &str, vh: &Vhost, prot: *const lws_protocols) -> Option<usize> {
    // SAFETY: prot is NULL or a valid protocols entry.
    let Some(entry) = (unsafe { prot.as_ref() }) else {
        lwsl_err!("{func}: NULL protocol");
        return None;
    };
    let name = (!entry.name.is_null())
        // SAFETY: a protocol name is a C string.
        .then(|| unsafe { CStr::from_ptr(entry.name) }.to_bytes());
    vh.protocol_index(prot as usize, name)
}

/// Sets the HTTP proxy the vhost's clients connect through:
/// "[user:pass@]host:port". 0, or -1 for NULL, no port, or a too long
/// authorisation.
///
/// # Safety
/// `vhost` is NULL or live; `proxy` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn lws_set_proxy(vhost: *mut lws_vhost, proxy: *const c_char) -> c_int {
    let Some(vh) = handle::vhost("lws_set_proxy", vhost) else {
        return -1;
    };
    if proxy.is_null() {
        return -1;
    }
    // SAFETY: per this function's contract.
    let spec = unsafe { CStr::from_ptr(proxy) }.to_string_lossy();
    match crate::service::vhost::Proxy::parse(&spec, 0) {
        Some(p) => {
            *vh.proxy.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
            0
        }
        None => -1,
    }
}

/// Adds a vhost to the context (listening as `info` says); writes the bound
/// port back for port 0. NULL on failure.
///
/// # Safety
/// `context` is NULL or a live context; `info` NULL or valid for the
/// context's life.
#[no_mangle]
pub unsafe extern "C" fn lws_create_vhost(
    context: *mut lws_context,
    info: *mut lws_context_creation_info,
) -> *mut lws_vhost {
    // SAFETY: per this function's contract.
    let (Some(h), Some(info)) = (handle::context("lws_create_vhost", context), unsafe {
        info.as_mut()
    }) else {
        return ptr::null_mut();
    };
    guard("lws_create_vhost", ptr::null_mut(), || {
        // SAFETY: per this function's contract.
        unsafe { super::context::create_vhost(h, info) }
            .map_or(ptr::null_mut(), |vh| handle::vhost_ptr(&vh))
    })
}

/// Old name of lws_get_vhost.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[deprecated]
#[no_mangle]
pub unsafe extern "C" fn lws_vhost_get(wsi: *mut lws) -> *mut lws_vhost {
    // SAFETY: per this function's contract.
    unsafe { lws_get_vhost(wsi) }
}

/// The vhost a connection belongs to.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_get_vhost(wsi: *mut lws) -> *mut lws_vhost {
    handle::conn("lws_get_vhost", wsi).map_or(ptr::null_mut(), |c| handle::vhost_ptr(&c.vhost()))
}

/// Makes the vhost's TLS client context now (it is otherwise made when its
/// first TLS client connects): 0, or -1 if it cannot be made.
///
/// # Safety
/// `vhost` is NULL or a live vhost.
#[no_mangle]
pub unsafe extern "C" fn lws_init_vhost_client_ssl(
    info: *const lws_context_creation_info,
    vhost: *mut lws_vhost,
) -> c_int {
    let _ = info;
    let Some(vh) = handle::vhost("lws_init_vhost_client_ssl", vhost) else {
        return -1;
    };
    let Some(ctx) = crate::service::context::owner_of(&vh) else {
        return -1;
    };
    guard(
        "lws_init_vhost_client_ssl",
        -1,
        || match crate::conn::client::client_tls_context(&ctx, &vh) {
            Ok(_) => 0,
            Err(e) => {
                lwsl_err!("lws_init_vhost_client_ssl: {e}");
                -1
            }
        },
    )
}
