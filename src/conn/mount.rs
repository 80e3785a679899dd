//! Serving a request that falls into one of the vhost's mounts (CONTRACT
//! §9): access check, redirects, callback mounts, and file mounts with
//! default documents, ETags and cache control.

use std::ffi::CString;
use std::sync::Arc;

use super::http::{self, Flow};
use super::Conn;
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
    /// the HTTP callback of `protocol` answers, with `uri` as `in`
    Http { protocol: usize, uri: Vec<u8> },
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
    if mount.kind == MountKind::Callback || mount.protocol.is_some() {
        let Some(protocol) = mount
            .protocol
            .as_deref()
            .and_then(|p| conn.vhost().protocol_by_name(p))
        else {
            lwsl_err!(
                "mount {}: no protocol {:?}",
                String::from_utf8_lossy(&mount.mountpoint),
                mount.protocol
            );
            return Outcome::Done(Flow::Close(CloseWhy::Error));
        };
        if mount.kind == MountKind::Callback {
            let target = if method == Method::Get {
                uri.to_vec()
            } else {
                rest.to_vec()
            };
            return Outcome::Http {
                protocol,
                uri: target,
            };
        }
        return serve_from(conn, mount, rest, Some(protocol)).unwrap_or(Outcome::Http {
            protocol,
            uri: rest.to_vec(),
        });
    }
    if mount.kind == MountKind::File {
        return serve_from(conn, mount, rest, None).unwrap_or(Outcome::Http {
            protocol: 0,
            uri: uri.to_vec(),
        });
    }
    // HTTP proxying and CGI mounts are not built: the application answers.
    Outcome::Http {
        protocol: 0,
        uri: uri.to_vec(),
    }
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
            [b"http://".as_slice(), &host, uri, b"/"].concat()
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
    let etag = response::etag(meta.len(), mtime);
    if http::header_text(conn, tokens::WSI_TOKEN_HTTP_IF_NONE_MATCH).as_deref()
        == Some(etag.as_bytes())
    {
        return Some(Outcome::Done(not_modified(conn, &etag)));
    }
    let cache = if mount.cache_max_age != 0 && mount.cache_reusable {
        if mount.cache_revalidate {
            response::cache_control(mount.cache_max_age, true, true, mount.cache_intermediaries)
        } else {
            "no-cache".to_string()
        }
    } else {
        "no-store".to_string()
    };
    let mut other = format!("etag: {etag}\r\n").into_bytes();
    if let Some(index) = protocol {
        let mut buf = vec![0; ADD_HEADERS_ROOM];
        let (r, n) = callback::add_headers(conn, index, &mut buf);
        if r != 0 {
            return None;
        }
        other.extend_from_slice(&buf[..n]);
    }
    let path = CString::new(path).ok()?;
    let flow = match http::serve_file_with(conn, &path, &mimetype, cache.as_bytes(), &other) {
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
