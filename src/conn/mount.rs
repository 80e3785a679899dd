//! Serving a request that falls into one of the vhost's mounts (CONTRACT
//! §9): access check, redirects, callback mounts, and file mounts with
//! default documents, ETags and cache control.

use std::ffi::CString;
use std::sync::Arc;

use std::os::unix::ffi::OsStringExt;

use super::http::{self, Flow};
use super::{cgi, Conn};
use crate::ffi::callback;
use crate::http::request::Method;
use crate::http::{mime, response, tokens};
use crate::service::pt::CloseWhy;
use crate::service::vhost::{Mount, MountKind};

/// Room ADD_HEADERS callbacks get for their headers.
const ADD_HEADERS_ROOM: usize = 2048;

pub enum Outcome {
    /// answered (or closing) without the HTTP callback
    Done(Flow),
    /// the HTTP callback of `protocol` answers, with `uri` as `in`; `pmo`
    /// is the mount's `cgienv` list, for HTTP_PMO first (0: none)
    Http {
        protocol: usize,
        uri: Vec<u8>,
        pmo: usize,
    },
}

/// The protocol a mount hands requests to: its `protocol`, or for a
/// CALLBACK mount without one its `origin` (lwsws writes
/// `callback://name` as origin `name`, and the original looks it up so).
fn protocol_name(mount: &Mount) -> Option<&[u8]> {
    match (&mount.protocol, mount.kind) {
        (Some(p), _) => Some(p),
        (None, MountKind::Callback) => Some(&mount.origin),
        (None, _) => None,
    }
}

pub fn handle(conn: &Arc<Conn>, mount: &Mount, uri: &[u8], method: Method) -> Outcome {
    let mut uri_buf = uri.to_vec();
    uri_buf.push(0);
    let (denied, handled) =
        callback::check_access_rights(conn, &mut uri_buf[..uri.len()], mount.auth_mask);
    if denied != 0 {
        http::return_status(conn, 401, b"");
        return Outcome::Done(Flow::Close(CloseWhy::App));
    }
    if handled != 0 {
        return Outcome::Done(Flow::Continue);
    }
    let redirect = matches!(mount.kind, MountKind::RedirHttp | MountKind::RedirHttps);
    let is_dir_without_slash = mount.mountpoint.len() > 1 && uri == mount.mountpoint.as_slice();
    if redirect
        || (is_dir_without_slash && !matches!(mount.kind, MountKind::Cgi | MountKind::Callback))
    {
        return Outcome::Done(redirect_to(conn, mount, uri));
    }
    let rest = &uri[mount.mountpoint.len().min(uri.len())..];
    if let Some(name) = protocol_name(mount) {
        let Some(protocol) = conn.vhost().protocol_by_name(name) else {
            lwsl_err!(
                "mount {}: no protocol {}",
                String::from_utf8_lossy(&mount.mountpoint),
                String::from_utf8_lossy(name)
            );
            return Outcome::Done(Flow::Close(CloseWhy::Error));
        };
        if mount.kind == MountKind::Callback {
            // POST gets the URI after the mountpoint, the rest the whole URI
            let target = if method == Method::Post {
                rest.to_vec()
            } else {
                uri.to_vec()
            };
            return Outcome::Http {
                protocol,
                uri: target,
                pmo: mount.cgienv,
            };
        }
        return serve_from(conn, mount, rest, Some(protocol)).unwrap_or(Outcome::Http {
            protocol,
            uri: rest.to_vec(),
            pmo: mount.cgienv,
        });
    }
    if mount.kind == MountKind::File {
        return serve_from(conn, mount, rest, None).unwrap_or(Outcome::Http {
            protocol: 0,
            uri: uri.to_vec(),
            pmo: 0,
        });
    }
    if mount.kind == MountKind::Cgi {
        return Outcome::Done(run_cgi(conn, mount));
    }
    // HTTP proxying is not built: the application answers.
    Outcome::Http {
        protocol: 0,
        uri: uri.to_vec(),
        pmo: 0,
    }
}

/// A CGI mount: its origin is the script, the mountpoint SCRIPT_NAME and
/// the rest PATH_INFO; the library answers with what the script writes
/// (conn::cgi). A script that cannot be started gets a 500.
fn run_cgi(conn: &Arc<Conn>, mount: &Mount) -> Flow {
    let origin = mount
        .origin
        .strip_prefix(b"cgi://")
        .unwrap_or(&mount.origin);
    let spec = cgi::Spec {
        argv: vec![std::ffi::OsString::from_vec(origin.to_vec())],
        script_len: mount.mountpoint.len(),
        timeout_secs: mount.cgi_timeout,
        extra: mount.cgi_env.clone(),
        mode: cgi::Mode::Mount,
    };
    if cgi::start(conn, spec) {
        return Flow::Continue;
    }
    // (the request body, if any, is not read: the connection closes)
    with_http_keepalive_off(conn);
    if http::return_status(conn, 500, b"") < 0 {
        return Flow::Close(CloseWhy::App);
    }
    Flow::Close(CloseWhy::App)
}

fn with_http_keepalive_off(conn: &Arc<Conn>) {
    http::with_http(conn, |h| h.keepalive = false);
}

/// 301 to the mount's directory form or its redirect target.
fn redirect_to(conn: &Arc<Conn>, mount: &Mount, uri: &[u8]) -> Flow {
    let location = match mount.kind {
        MountKind::RedirHttp => [b"http://".as_slice(), &mount.origin].concat(),
        MountKind::RedirHttps => [b"https://".as_slice(), &mount.origin].concat(),
        _ => {
            let Some(host) = http::header_text(conn, tokens::WSI_TOKEN_HOST) else {
                return Flow::Close(CloseWhy::Error);
            };
            let scheme: &[u8] = if http::is_tls(conn) {
                b"https://"
            } else {
                b"http://"
            };
            [scheme, &host, uri, b"/"].concat()
        }
    };
    if http::redirect(conn, 301, &location) < 0 || http::transaction_completed(conn) != 0 {
        return Flow::Close(CloseWhy::App);
    }
    Flow::Continue
}

/// Serves `<origin>/<rest>` (the default document for a directory); None
/// when there is no such file or no mimetype for it, so the HTTP callback
/// answers instead.
fn serve_from(
    conn: &Arc<Conn>,
    mount: &Mount,
    rest: &[u8],
    protocol: Option<usize>,
) -> Option<Outcome> {
    let rest = rest.strip_prefix(b"/").unwrap_or(rest);
    let name: &[u8] = if rest.is_empty() {
        mount.def.as_deref().unwrap_or(b"index.html")
    } else {
        rest
    };
    let origin = mount
        .origin
        .strip_prefix(b"file://")
        .unwrap_or(&mount.origin);
    let mut path = [origin, b"/", name].concat();
    let meta = std::fs::metadata(std::str::from_utf8(&path).ok()?).ok()?;
    let meta = if meta.is_dir() {
        path.extend_from_slice(b"/index.html");
        std::fs::metadata(std::str::from_utf8(&path).ok()?).ok()?
    } else {
        meta
    };
    let extra: Vec<(&[u8], &[u8])> = mount
        .extra_mimetypes
        .iter()
        .map(|(n, v)| (n.as_slice(), v.as_slice()))
        .collect();
    let mimetype = mime::mimetype(&path, extra)?.to_vec();
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let etag = response::quoted_etag(meta.len(), mtime);
    if http::header_text(conn, tokens::WSI_TOKEN_HTTP_IF_NONE_MATCH)
        .is_some_and(|v| response::if_none_match(&v, &etag))
    {
        return Some(Outcome::Done(not_modified(conn, &etag)));
    }
    let cache = response::cache_control(
        mount.cache_max_age,
        mount.cache_reusable,
        mount.cache_revalidate,
        mount.cache_intermediaries,
    );
    // a suffix listed in `interpret` goes through that protocol's PROCESS_HTML
    let interpret = mount
        .interpret
        .iter()
        .find(|(suffix, _)| path.len() > suffix.len() && path.ends_with(suffix))
        .and_then(|(_, name)| {
            let found = conn.vhost().protocol_by_name(name);
            if found.is_none() {
                lwsl_err!(
                    "mount {}: ignoring unknown interpret protocol {}",
                    String::from_utf8_lossy(&mount.mountpoint),
                    String::from_utf8_lossy(name)
                );
            }
            found
        });
    let mut other = format!("etag: {etag}\r\n").into_bytes();
    if let Some(index) = protocol {
        // the mount's protocol is bound for the transaction (its own
        // per-session data) and adds its headers
        if conn.bound_protocol() != index && conn.rebind(index) != 0 {
            return Some(Outcome::Done(Flow::Close(CloseWhy::App)));
        }
        let mut buf = vec![0; ADD_HEADERS_ROOM];
        let (r, n) = callback::add_headers(conn, index, &mut buf);
        if r != 0 {
            // refused: the HTTP callback answers instead
            return None;
        }
        other.extend_from_slice(&buf[..n]);
    }
    if let Some(index) = interpret {
        if conn.bound_protocol() != index && conn.rebind(index) != 0 {
            return Some(Outcome::Done(Flow::Close(CloseWhy::App)));
        }
    }
    let path = CString::new(path).ok()?;
    let served = http::serve_file_with(conn, &path, &mimetype, cache.as_bytes(), &other, interpret);
    let flow = match served {
        n if n < 0 => return None,
        0 => Flow::Continue,
        _ if http::transaction_completed(conn) != 0 => Flow::Close(CloseWhy::App),
        _ => Flow::Continue,
    };
    Some(Outcome::Done(flow))
}

fn not_modified(conn: &Arc<Conn>, etag: &str) -> Flow {
    let head = http::build_head(conn, |c, block| {
        c.add_status(block, 304)?;
        c.add_by_name(b"etag:", etag.as_bytes())?;
        c.add_content_length(0)?;
        c.finalize()
    });
    match head {
        Some(head) if http::write(conn, &head) >= 0 && http::transaction_completed(conn) == 0 => {
            Flow::Continue
        }
        _ => Flow::Close(CloseWhy::App),
    }
}
