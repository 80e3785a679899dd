//! Server status JSON (`lws_json_dump_vhost`, `lws_json_dump_context`) and
//! lwsws configuration (`lwsws_get_config_globals`,
//! `lwsws_get_config_vhosts`): the pointer side. The documents are built by
//! `service::status`; the configuration is read by `crate::lwsws`, and here
//! its strings and lists are carved out of the caller's `*cs` buffer, as the
//! original did, and the vhosts created.

use std::ffi::CStr;
use std::mem::{align_of, size_of};
use std::os::raw::{c_char, c_int, c_long};
use std::path::Path;
use std::ptr;

use super::enums::lws_context_options as O;
use super::guard;
use super::handle;
use super::types::{
    lws_context, lws_context_creation_info, lws_http_mount, lws_protocol_vhost_options, lws_vhost,
};
use crate::lwsws::{self, Global, MountSpec, VhostSpec};
use crate::service::status;

/// Copies `doc` into `buf` (`len` bytes), cut to fit with a NUL after it:
/// the bytes written, without the NUL.
///
/// # Safety
/// `buf` is writable for `len` bytes.
unsafe fn copy_out(doc: &str, buf: *mut c_char, len: usize) -> c_int {
    if len == 0 {
        return 0;
    }
    let n = doc.len().min(len - 1).min(c_int::MAX as usize);
    // SAFETY: n < len, and `buf` has room for len bytes.
    unsafe {
        ptr::copy_nonoverlapping(doc.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    n as c_int
}

/// The vhost's status as JSON into `buf`: the bytes written (cut to fit
/// `len` with a NUL after them), 0 if `len` < 100 as in the original, -1
/// for a NULL or dead vhost or a NULL buffer.
///
/// # Safety
/// `vh` is NULL or a live vhost; `buf` is writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_json_dump_vhost(
    vh: *const lws_vhost,
    buf: *mut c_char,
    len: c_int,
) -> c_int {
    let Some(vhost) = handle::vhost("lws_json_dump_vhost", vh.cast_mut()) else {
        return -1;
    };
    if buf.is_null() {
        lwsl_err!("lws_json_dump_vhost: NULL buffer");
        return -1;
    }
    if len < 100 {
        return 0;
    }
    guard("lws_json_dump_vhost", -1, || {
        let doc = status::vhost_json(&vhost);
        // SAFETY: per this function's contract; len >= 100.
        unsafe { copy_out(&doc, buf, len as usize) }
    })
}

/// The context's status as JSON into `buf` (cut to fit `len` with a NUL
/// after it): the bytes written, 0 for `len` < 1, -1 for a NULL or dead
/// context or a NULL buffer.
///
/// # Safety
/// `context` is NULL or a live context; `buf` is writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lws_json_dump_context(
    context: *const lws_context,
    buf: *mut c_char,
    len: c_int,
) -> c_int {
    let Some(h) = handle::context("lws_json_dump_context", context) else {
        return -1;
    };
    if buf.is_null() {
        lwsl_err!("lws_json_dump_context: NULL buffer");
        return -1;
    }
    let Ok(len) = usize::try_from(len) else {
        return 0;
    };
    guard("lws_json_dump_context", -1, || {
        let version = super::util::library_version();
        let doc = status::context_json(&h.ctx, version);
        // SAFETY: per this function's contract.
        unsafe { copy_out(&doc, buf, len) }
    })
}

/// The caller's `*cs` buffer: what is left of it, by address (so nothing
/// ever points outside it).
struct Arena {
    next: usize,
    end: usize,
}

/// The buffer ran out.
struct Full;

impl Arena {
    fn used_to(&self) -> (usize, usize) {
        (self.next, self.end - self.next)
    }

    fn take(&mut self, size: usize, align: usize) -> Result<usize, Full> {
        let at = self.next.checked_add(align - 1).ok_or(Full)? & !(align - 1);
        let stop = at.checked_add(size).ok_or(Full)?;
        if stop > self.end {
            return Err(Full);
        }
        self.next = stop;
        Ok(at)
    }

    /// A copy of `s` with a NUL after it.
    fn string(&mut self, s: &str) -> Result<*const c_char, Full> {
        let at = self.take(s.len() + 1, 1)?;
        // SAFETY: `take` reserved s.len() + 1 bytes at `at` inside the buffer.
        unsafe {
            ptr::copy_nonoverlapping(s.as_ptr(), at as *mut u8, s.len());
            *((at + s.len()) as *mut u8) = 0;
        }
        Ok(at as *const c_char)
    }

    /// A zeroed, aligned `T`.
    fn zeroed<T>(&mut self) -> Result<*mut T, Full> {
        let at = self.take(size_of::<T>(), align_of::<T>())?;
        // SAFETY: reserved and aligned for a T; all-zero is a valid T here
        // (plain pointers and integers).
        unsafe { ptr::write_bytes(at as *mut u8, 0, size_of::<T>()) };
        Ok(at as *mut T)
    }

    /// A `lws_protocol_vhost_options` entry pushed in front of `head`, as
    /// the original built its lists (so they read in reverse file order).
    fn pvo(
        &mut self,
        head: *const lws_protocol_vhost_options,
        name: &str,
        value: &str,
    ) -> Result<*const lws_protocol_vhost_options, Full> {
        let e = self.zeroed::<lws_protocol_vhost_options>()?;
        let name = self.string(name)?;
        let value = self.string(value)?;
        // SAFETY: `e` was just reserved for this entry.
        unsafe {
            (*e).next = head;
            (*e).name = name;
            (*e).value = value;
        }
        Ok(e)
    }

    fn pvo_list(
        &mut self,
        pairs: &[(String, String)],
    ) -> Result<*const lws_protocol_vhost_options, Full> {
        let mut head = ptr::null();
        for (n, v) in pairs {
            head = self.pvo(head, n, v)?;
        }
        Ok(head)
    }
}

/// The checked C arguments of both calls: the directory and the buffer.
///
/// # Safety
/// The pointers are NULL or valid as the calls document.
unsafe fn args(
    func: &str,
    d: *const c_char,
    cs: *mut *mut c_char,
    len: *mut c_int,
) -> Option<(String, Arena)> {
    // SAFETY: per the caller's contract.
    let (Some(start), Some(&n)) = (unsafe { cs.as_ref() }, unsafe { len.as_ref() }) else {
        lwsl_err!("{func}: NULL strings buffer or length");
        return None;
    };
    if d.is_null() || start.is_null() {
        lwsl_err!("{func}: NULL directory or strings buffer");
        return None;
    }
    let Ok(n) = usize::try_from(n) else {
        lwsl_err!("{func}: negative buffer length");
        return None;
    };
    // SAFETY: a non-NULL `d` is a C string.
    let dir = unsafe { CStr::from_ptr(d) }.to_string_lossy().into_owned();
    let next = *start as usize;
    let end = next.checked_add(n)?;
    Some((dir, Arena { next, end }))
}

fn full(func: &str) -> c_int {
    lwsl_err!("{func}: the configuration strings buffer is too small");
    1
}

/// Reads the `"global"` settings of directory `d` (`conf`, then `conf.d/*`)
/// into `info`, storing strings and the plugin dir list in `*cs` (advanced
/// past them, `*len` reduced): 0, or 1 on a parse error, a wrong type, too
/// many plugin dirs or a full buffer.
///
/// # Safety
/// `info` is NULL or writable; `d` NULL or a C string; `cs` and `len` NULL
/// or valid, `*cs` writable for `*len` bytes and alive as long as `info` is
/// used.
#[no_mangle]
pub unsafe extern "C" fn lwsws_get_config_globals(
    info: *mut lws_context_creation_info,
    d: *const c_char,
    cs: *mut *mut c_char,
    len: *mut c_int,
) -> c_int {
    const F: &str = "lwsws_get_config_globals";
    // SAFETY: per this function's contract.
    let Some(info) = (unsafe { info.as_mut() }) else {
        lwsl_err!("{F}: NULL info");
        return 1;
    };
    // SAFETY: per this function's contract.
    let Some((dir, mut arena)) = (unsafe { args(F, d, cs, len) }) else {
        return 1;
    };
    guard(F, 1, || {
        // the plugin dir array, then any dirs the info already named
        let Ok(dirs) = arena.take(
            (lwsws::MAX_PLUGIN_DIRS + 1) * size_of::<*const c_char>(),
            align_of::<*const c_char>(),
        ) else {
            return full(F);
        };
        let dirs = dirs as *mut *const c_char;
        let mut count = 0;
        let mut old = info.plugin_dirs;
        // SAFETY: `info->plugin_dirs` is NULL or a NULL-terminated array.
        while !old.is_null() && !unsafe { *old }.is_null() {
            if count == lwsws::MAX_PLUGIN_DIRS {
                lwsl_err!("{F}: Too many plugin dirs");
                return 1;
            }
            // SAFETY: count < MAX_PLUGIN_DIRS slots reserved; `old` in bounds.
            unsafe {
                *dirs.add(count) = *old;
                old = old.add(1);
            }
            count += 1;
        }
        // SAFETY: the slot after the last is reserved.
        unsafe { *dirs.add(count) = ptr::null() };
        info.plugin_dirs = dirs;
        for file in lwsws::files(Path::new(&dir)) {
            let doc = match lwsws::load(&file) {
                Ok(Some(doc)) => doc,
                Ok(None) => continue,
                Err(lwsws::Unparsable) => return 1,
            };
            let items = match lwsws::globals(&doc) {
                Ok(items) => items,
                Err(why) => {
                    lwsl_err!("{}: {why}", file.display());
                    return 1;
                }
            };
            for item in items {
                match item {
                    Global::Uid(n) => info.uid = n,
                    Global::Gid(n) => info.gid = n,
                    Global::CountThreads(n) => info.count_threads = n as u32,
                    Global::InitSsl(true) => {
                        info.options |= O::LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT as u32;
                    }
                    Global::InitSsl(false) => {}
                    Global::ServerString(s) => match arena.string(&s) {
                        Ok(p) => info.server_string = p,
                        Err(Full) => return full(F),
                    },
                    Global::PluginDir(s) => {
                        if count == lwsws::MAX_PLUGIN_DIRS {
                            lwsl_err!("{}: Too many plugin dirs", file.display());
                            return 1;
                        }
                        let Ok(p) = arena.string(&s) else {
                            return full(F);
                        };
                        // SAFETY: count < MAX_PLUGIN_DIRS, the array has one more slot.
                        unsafe {
                            *dirs.add(count) = p;
                            *dirs.add(count + 1) = ptr::null();
                        }
                        count += 1;
                    }
                    Global::PingPongSecs(n) => info.ws_ping_pong_interval = n as u16,
                }
            }
        }
        let (next, left) = arena.used_to();
        // SAFETY: checked non-NULL by `args`.
        unsafe {
            *cs = next as *mut c_char;
            *len = left as c_int;
        }
        0
    })
}

/// The cipher list each configured vhost starts with.
const STRONG_CIPHERS: &CStr = c"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-SHA384:HIGH:!aNULL:!eNULL:!EXPORT:!DES:!MD5:!PSK:!RC4:!HMAC_SHA1:!SHA1:!DHE-RSA-AES128-GCM-SHA256:!DHE-RSA-AES128-SHA256:!AES128-GCM-SHA256:!AES128-SHA256:!DHE-RSA-AES256-SHA256:!AES256-GCM-SHA384:!AES256-SHA256";

fn set_option(info: &mut lws_context_creation_info, option: O, on: bool) {
    if on {
        info.options |= option as u32;
    } else {
        info.options &= !(option as u32);
    }
}

/// Puts one vhost's settings into `info`, strings and lists in the arena.
fn apply_vhost(
    info: &mut lws_context_creation_info,
    v: &VhostSpec,
    arena: &mut Arena,
) -> Result<(), Full> {
    let mut s = |o: &Option<String>, dst: &mut *const c_char| -> Result<(), Full> {
        if let Some(o) = o {
            *dst = arena.string(o)?;
        }
        Ok(())
    };
    s(&v.name, &mut info.vhost_name)?;
    s(&v.iface, &mut info.iface)?;
    s(&v.key, &mut info.ssl_private_key_filepath)?;
    s(&v.cert, &mut info.ssl_cert_filepath)?;
    s(&v.ca, &mut info.ssl_ca_filepath)?;
    s(&v.access_log, &mut info.log_filepath)?;
    s(&v.ciphers, &mut info.ssl_cipher_list)?;
    s(&v.ecdh_curve, &mut info.ecdh_curve)?;
    info.port = v.port;
    if let Some(on) = v.unix_socket {
        set_option(info, O::LWS_SERVER_OPTION_UNIX_SOCK, on);
    }
    if let Some(on) = v.sts {
        set_option(info, O::LWS_SERVER_OPTION_STS, on);
    }
    if let Some(on) = v.noipv6 {
        set_option(info, O::LWS_SERVER_OPTION_DISABLE_IPV6, on);
    }
    if let Some(on) = v.ipv6only {
        set_option(info, O::LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY, true);
        set_option(info, O::LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE, on);
    }
    if let Some(k) = v.keepalive_timeout {
        info.keepalive_timeout = k;
    }
    info.ssl_options_set |= v.ssl_option_set as c_long;
    info.ssl_options_clear |= v.ssl_option_clear as c_long;
    let mut headers = ptr::null();
    for (name, value) in &v.headers {
        headers = arena.pvo(headers, &format!("{name}:"), value)?;
    }
    info.headers = headers;
    let mut pvo: *const lws_protocol_vhost_options = ptr::null();
    for (name, opts) in &v.protocols {
        let options = arena.pvo_list(opts)?;
        let e = arena.pvo(pvo, name, "")?.cast_mut();
        // SAFETY: `e` was just made in the arena.
        unsafe { (*e).options = options };
        pvo = e;
    }
    info.pvo = pvo;
    let mut head: *const lws_http_mount = ptr::null();
    let mut last: *mut lws_http_mount = ptr::null_mut();
    for m in &v.mounts {
        let c = mount(m, arena)?;
        if last.is_null() {
            head = c;
        } else {
            // SAFETY: `last` is the previous mount, made in the arena.
            unsafe { (*last).mount_next = c };
        }
        last = c;
    }
    info.mounts = head;
    Ok(())
}

fn mount(m: &MountSpec, arena: &mut Arena) -> Result<*mut lws_http_mount, Full> {
    let c = arena.zeroed::<lws_http_mount>()?;
    let mountpoint = arena.string(&m.mountpoint)?;
    let origin = arena.string(&m.origin)?;
    let def = m.def.as_deref().map(|d| arena.string(d)).transpose()?;
    let protocol = m.protocol.as_deref().map(|p| arena.string(p)).transpose()?;
    let cgienv = arena.pvo_list(&m.cgienv)?;
    let extra = arena.pvo_list(&m.extra_mimetypes)?;
    let interpret = arena.pvo_list(&m.interpret)?;
    // SAFETY: `c` was just reserved (zeroed) in the arena.
    let c_ref = unsafe { &mut *c };
    c_ref.mountpoint = mountpoint;
    c_ref.mountpoint_len = m.mountpoint.len() as u8;
    c_ref.origin = origin;
    c_ref.def = def.unwrap_or(ptr::null());
    c_ref.protocol = protocol.unwrap_or(ptr::null());
    c_ref.cgienv = cgienv;
    c_ref.extra_mimetypes = extra;
    c_ref.interpret = interpret;
    c_ref.cgi_timeout = m.cgi_timeout;
    c_ref.cache_max_age = m.cache_max_age;
    c_ref.auth_mask = m.auth_mask;
    c_ref.cache_flags = u8::from(m.cache_reuse)
        | u8::from(m.cache_revalidate) << 1
        | u8::from(m.cache_intermediaries) << 2;
    c_ref.origin_protocol = m.origin_protocol;
    Ok(c)
}

/// Reads the `"vhosts"` of directory `d` and creates each with
/// `lws_create_vhost(context, info)` (info reset to the defaults first,
/// strings and lists in `*cs`), then `lws_finalize_startup`: 0, or 1 on a
/// parse error, a wrong type, a missing port / mountpoint / origin, an
/// unknown mount scheme, a vhost that cannot be created, a full buffer, or
/// no vhost at all.
///
/// # Safety
/// As for lwsws_get_config_globals; `context` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn lwsws_get_config_vhosts(
    context: *mut lws_context,
    info: *mut lws_context_creation_info,
    d: *const c_char,
    cs: *mut *mut c_char,
    len: *mut c_int,
) -> c_int {
    const F: &str = "lwsws_get_config_vhosts";
    let Some(h) = handle::context(F, context) else {
        return 1;
    };
    // SAFETY: per this function's contract.
    let Some(info) = (unsafe { info.as_mut() }) else {
        lwsl_err!("{F}: NULL info");
        return 1;
    };
    // SAFETY: per this function's contract.
    let Some((dir, mut arena)) = (unsafe { args(F, d, cs, len) }) else {
        return 1;
    };
    guard(F, 1, || {
        let (protocols, extensions) = (info.protocols, info.extensions);
        let mut any = false;
        for file in lwsws::files(Path::new(&dir)) {
            let doc = match lwsws::load(&file) {
                Ok(Some(doc)) => doc,
                Ok(None) => continue,
                Err(lwsws::Unparsable) => return 1,
            };
            let nodes = match lwsws::vhost_nodes(&doc) {
                Ok(n) => n,
                Err(why) => {
                    lwsl_err!("{}: {why}", file.display());
                    return 1;
                }
            };
            for node in nodes {
                let spec = match lwsws::vhost(node) {
                    Ok(s) => s,
                    Err(why) => {
                        lwsl_err!("{}: {why}", file.display());
                        return 1;
                    }
                };
                // the defaults every vhost starts from
                info.port = 0;
                info.iface = ptr::null();
                info.protocols = protocols;
                info.extensions = extensions;
                info.ssl_cert_filepath = ptr::null();
                info.ssl_private_key_filepath = ptr::null();
                info.ssl_ca_filepath = ptr::null();
                info.timeout_secs = 5;
                info.ssl_cipher_list = STRONG_CIPHERS.as_ptr();
                info.pvo = ptr::null();
                info.headers = ptr::null();
                info.keepalive_timeout = 5;
                info.log_filepath = ptr::null();
                info.options &=
                    !(O::LWS_SERVER_OPTION_UNIX_SOCK as u32 | O::LWS_SERVER_OPTION_STS as u32);
                if apply_vhost(info, &spec, &mut arena).is_err() {
                    return full(F);
                }
                if info.port == 0 {
                    lwsl_err!("{}: Port required (eg, 443)", file.display());
                    return 1;
                }
                // SAFETY: `info` now holds strings and lists in the caller's
                // buffer or the caller's own pointers.
                let Some(vh) = (unsafe { super::context::create_vhost(h, info) }) else {
                    lwsl_err!(
                        "{}: Failed to create vhost {}",
                        file.display(),
                        spec.name.as_deref().unwrap_or("(unnamed)")
                    );
                    return 1;
                };
                any = true;
                if spec.enable_client_ssl {
                    if let Err(e) = crate::conn::client::client_tls_context(&h.ctx, &vh) {
                        lwsl_err!("{}: client TLS for vhost {}: {e}", file.display(), vh.name);
                    }
                }
            }
        }
        if !any {
            lwsl_err!("{F}: Need at least one vhost");
            return 1;
        }
        // SAFETY: `context` is live (checked above).
        unsafe { super::context::lws_finalize_startup(context) };
        let (next, left) = arena.used_to();
        // SAFETY: checked non-NULL by `args`.
        unsafe {
            *cs = next as *mut c_char;
            *len = left as c_int;
        }
        0
    })
}
