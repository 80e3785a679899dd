//! Connection accessors and protocol-wide callbacks.

use std::ffi::CStr;
use std::net::{IpAddr, SocketAddr};
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;
use std::sync::Arc;

use super::guard;
use super::handle;
use super::types::{lws, lws_context, lws_protocols, lws_sockfd_type, lws_vhost, sockaddr_in};
use crate::conn::{Conn, Role};
use crate::service::vhost::Vhost;

/// The protocol the connection is bound to.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_get_protocol(wsi: *mut lws) -> *const lws_protocols {
    let Some(conn) = handle::conn("lws_get_protocol", wsi) else {
        return ptr::null();
    };
    let idx = conn.protocol_index();
    conn.vhost()
        .protocols
        .get(idx)
        .map_or(ptr::null(), |p| p.c_addr as *const lws_protocols)
}

/// Old name of lws_get_protocol.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[deprecated]
#[no_mangle]
pub unsafe extern "C" fn lws_protocol_get(wsi: *mut lws) -> *const lws_protocols {
    // SAFETY: per this function's contract.
    unsafe { lws_get_protocol(wsi) }
}

/// The vhost's protocol matching `protocol` (same callback and name).
pub(crate) fn same_protocol(vhost: &Vhost, protocol: &lws_protocols) -> Option<usize> {
    let callback = protocol.callback? as usize;
    let name = (!protocol.name.is_null())
        // SAFETY: a protocol name is a C string.
        .then(|| unsafe { CStr::from_ptr(protocol.name) }.to_bytes());
    vhost
        .protocols
        .iter()
        .position(|p| p.callback as usize == callback && Some(p.name.as_slice()) == name)
}

/// Calls `reason` on every live connection of `vhosts` bound to `protocol`.
fn callback_all(
    ctx: &crate::service::context::Context,
    vhosts: &[Arc<Vhost>],
    protocol: &lws_protocols,
    reason: c_int,
) {
    for vhost in vhosts {
        let Some(index) = same_protocol(vhost, protocol) else {
            continue;
        };
        for pt in &ctx.pts {
            for conn in connections(pt) {
                if Arc::ptr_eq(&conn.vhost(), vhost)
                    && conn.protocol_index() == index
                    && !conn.is_dead()
                {
                    conn.callback(reason as u32, ptr::null_mut(), 0);
                }
            }
        }
    }
}

fn connections(pt: &crate::service::pt::Pt) -> Vec<Arc<Conn>> {
    pt.connections()
        .into_iter()
        .filter(|c| matches!(c.state().role, Role::Http(_)))
        .collect()
}

/// Calls `reason` on every connection using `protocol`, on every vhost.
///
/// # Safety
/// `context` is NULL or a live context; `protocol` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lws_callback_all_protocol(
    context: *mut lws_context,
    protocol: *const lws_protocols,
    reason: c_int,
) -> c_int {
    // SAFETY: per this function's contract.
    let (Some(h), Some(protocol)) = (
        handle::context("lws_callback_all_protocol", context),
        unsafe { protocol.as_ref() },
    ) else {
        return -1;
    };
    guard("lws_callback_all_protocol", -1, || {
        callback_all(&h.ctx, &h.ctx.vhosts(), protocol, reason);
        0
    })
}

/// Calls `reason` on every connection of `vh` using `protocol`.
///
/// # Safety
/// `vh` is NULL or a live vhost; `protocol` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lws_callback_all_protocol_vhost(
    vh: *mut lws_vhost,
    protocol: *const lws_protocols,
    reason: c_int,
) -> c_int {
    // SAFETY: per this function's contract.
    let (Some(vhost), Some(protocol)) = (
        handle::vhost("lws_callback_all_protocol_vhost", vh),
        unsafe { protocol.as_ref() },
    ) else {
        return -1;
    };
    let Some(ctx) = vhost_context(&vhost) else {
        return -1;
    };
    guard("lws_callback_all_protocol_vhost", -1, || {
        callback_all(&ctx, &[vhost], protocol, reason);
        0
    })
}

/// The context a vhost belongs to, found through any connection of it.
fn vhost_context(vhost: &Arc<Vhost>) -> Option<Arc<crate::service::context::Context>> {
    crate::service::context::owner_of(vhost)
}

/// Calls every protocol of the connection's vhost with `reason`, for this
/// connection; returns non-zero if any callback did.
///
/// # Safety
/// `wsi` is NULL or a live connection; `in` as the reason defines.
#[no_mangle]
pub unsafe extern "C" fn lws_callback_vhost_protocols(
    wsi: *mut lws,
    reason: c_int,
    r#in: *mut c_void,
    len: c_int,
) -> c_int {
    let Some(conn) = handle::conn("lws_callback_vhost_protocols", wsi) else {
        return -1;
    };
    guard("lws_callback_vhost_protocols", -1, || {
        let user = conn.user_ptr();
        let mut any = 0;
        for i in 0..conn.vhost().protocols.len() {
            if conn.callback_protocol(i, reason as u32, user, r#in, len.max(0) as usize) != 0 {
                any = 1;
            }
        }
        any
    })
}

/// The connection's socket, or -1.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_get_socket_fd(wsi: *mut lws) -> c_int {
    handle::conn("lws_get_socket_fd", wsi).map_or(-1, |c| if c.is_dead() { -1 } else { c.fd() })
}

/// The connection's per-session data.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_wsi_user(wsi: *mut lws) -> *mut c_void {
    handle::conn("lws_wsi_user", wsi).map_or(ptr::null_mut(), |c| c.user_ptr())
}

/// The context the connection belongs to.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_get_context(wsi: *const lws) -> *mut lws_context {
    handle::conn("lws_get_context", wsi).map_or(ptr::null_mut(), |c| handle::context_ptr(&c.ctx))
}

/// The connection this one was opened for (`parent_wsi`), or NULL.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_get_parent(wsi: *const lws) -> *mut lws {
    handle::conn("lws_get_parent", wsi)
        .and_then(|c| c.parent())
        .map_or(ptr::null_mut(), |p| handle::wsi_of(&p))
}

/// The first open connection that has this one as parent, or NULL.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_get_child(wsi: *const lws) -> *mut lws {
    handle::conn("lws_get_child", wsi)
        .and_then(|c| c.first_child())
        .map_or(ptr::null_mut(), |p| handle::wsi_of(&p))
}

/// Whether the connection uses TLS.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_is_ssl(wsi: *mut lws) -> c_int {
    handle::conn("lws_is_ssl", wsi).map_or(0, |c| c_int::from(crate::conn::http::is_tls(&c)))
}

/// Whether a CGI script runs for this connection (`lws_cgi` or a CGI
/// mount): 1 or 0.
///
/// # Safety
/// `wsi` is NULL or a live connection.
#[no_mangle]
pub unsafe extern "C" fn lws_is_cgi(wsi: *mut lws) -> c_int {
    handle::conn("lws_is_cgi", wsi).map_or(0, |c| c_int::from(crate::conn::cgi::is_cgi(&c)))
}

fn peer_of(conn: &Conn) -> Option<SocketAddr> {
    match &conn.state().role {
        Role::Http(h) => h.stream.peer_addr(),
        _ => None,
    }
}

/// Copies `s` into `buf` (`len` bytes with the NUL), truncating.
///
/// # Safety
/// `buf` is NULL or has `len` writable bytes.
unsafe fn copy_out(s: &str, buf: *mut c_char, len: c_int) -> bool {
    let Ok(len) = usize::try_from(len) else {
        return false;
    };
    if buf.is_null() || len == 0 {
        return false;
    }
    let n = s.len().min(len - 1);
    // SAFETY: n + 1 <= len bytes are writable at buf.
    unsafe {
        ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    true
}

fn numeric(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        v4 => v4.to_string(),
    }
}

/// The peer's numeric address in `name`; returns `name`, or NULL.
///
/// # Safety
/// `wsi` is NULL or a live connection; `name` NULL or `namelen` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_get_peer_simple(
    wsi: *mut lws,
    name: *mut c_char,
    namelen: c_int,
) -> *const c_char {
    let Some(conn) = handle::conn("lws_get_peer_simple", wsi) else {
        return ptr::null();
    };
    let Some(peer) = peer_of(&conn) else {
        return ptr::null();
    };
    // SAFETY: per this function's contract.
    if unsafe { copy_out(&numeric(peer.ip()), name, namelen) } {
        name
    } else {
        ptr::null()
    }
}

/// The peer of socket `fd`: host name (reverse DNS, blocking) in `name`,
/// numeric address in `rip`; empty strings when unknown.
///
/// # Safety
/// `name` / `rip` NULL or with `name_len` / `rip_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_get_peer_addresses(
    wsi: *mut lws,
    fd: lws_sockfd_type,
    name: *mut c_char,
    name_len: c_int,
    rip: *mut c_char,
    rip_len: c_int,
) {
    let _ = wsi;
    // SAFETY: per this function's contract.
    unsafe {
        copy_out("", name, name_len);
        copy_out("", rip, rip_len);
    }
    let Some(peer) = crate::plat::sock::peer_addr(fd) else {
        return;
    };
    let host = crate::plat::sock::reverse_lookup(&peer).unwrap_or_default();
    // SAFETY: per this function's contract.
    unsafe {
        copy_out(&host, name, name_len);
        copy_out(&numeric(peer.ip()), rip, rip_len);
    }
}

/// The address of interface (or IP literal) `ifname` into `addr`: a
/// `sockaddr_in`, or with `ipv6` a `sockaddr_in6` (IPv4 mapped). 0 or -1.
///
/// # Safety
/// `ifname` NULL or a C string; `addr` NULL or `addrlen` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_interface_to_sa(
    ipv6: c_int,
    ifname: *const c_char,
    addr: *mut sockaddr_in,
    addrlen: usize,
) -> c_int {
    if ifname.is_null() || addr.is_null() {
        return -1;
    }
    // SAFETY: per this function's contract.
    let Ok(name) = unsafe { CStr::from_ptr(ifname) }.to_str() else {
        return -1;
    };
    let Ok(found) = crate::plat::sock::bind_addr(Some(name), 0, ipv6 != 0) else {
        return -1;
    };
    let ip = match (found.ip(), ipv6 != 0) {
        (IpAddr::V4(v4), true) => IpAddr::V6(v4.to_ipv6_mapped()),
        (IpAddr::V6(v6), false) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => return -1,
        },
        (ip, _) => ip,
    };
    let (storage, len) = crate::plat::sock::sockaddr(&SocketAddr::new(ip, 0));
    if addrlen < len as usize {
        return -1;
    }
    // SAFETY: addr has addrlen >= len writable bytes.
    unsafe {
        ptr::copy_nonoverlapping(
            (&storage as *const libc::sockaddr_storage).cast::<u8>(),
            addr.cast::<u8>(),
            len as usize,
        )
    };
    0
}
