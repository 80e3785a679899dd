//! Virtual hosts and the protocols they serve.

use super::confined::Confined;
use crate::ffi::callback::ProtocolCallback;

/// One entry of the application's protocols array.
pub struct Protocol {
    pub name: Vec<u8>,
    pub callback: ProtocolCallback,
    pub per_session_data_size: usize,
    pub rx_buffer_size: usize,
    /// Address of the application's `struct lws_protocols` entry, which
    /// `lws_get_protocol` returns and protocol lookups compare.
    pub c_addr: usize,
    /// Address of the `options` list of the vhost's pvo entry named like the
    /// protocol (PROTOCOL_INIT's `in`), or 0.
    pub pvo_options: usize,
}

/// Zeroed memory handed to C (per-session and per-vhost protocol data), from
/// the application's allocator when it installed one (`plat::alloc`).
pub type CBytes = crate::plat::alloc::AppBytes;

/// `size` zeroed bytes of `what`, None (logged) when the allocator refuses.
pub fn zeroed(size: usize, what: &str) -> Option<CBytes> {
    CBytes::zeroed(size, what)
}

pub fn c_addr(bytes: &CBytes) -> usize {
    bytes.as_ptr() as usize
}

/// How a mount is served (`enum lws_mount_protocols`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountKind {
    Http,
    Https,
    File,
    Cgi,
    RedirHttp,
    RedirHttps,
    Callback,
}

/// A part of the URL space served in a given way (`struct lws_http_mount`).
#[derive(Clone, Debug)]
pub struct Mount {
    pub mountpoint: Vec<u8>,
    pub origin: Vec<u8>,
    pub def: Option<Vec<u8>>,
    pub protocol: Option<Vec<u8>>,
    pub kind: MountKind,
    pub extra_mimetypes: Vec<(Vec<u8>, Vec<u8>)>,
    /// (file suffix, protocol name): files PROCESS_HTML-filtered, chunked
    pub interpret: Vec<(Vec<u8>, Vec<u8>)>,
    /// address of the application's `cgienv` list (0 = none), handed to
    /// HTTP_PMO as it is
    pub cgienv: usize,
    /// the same list's pairs: a CGI mount's extra environment
    pub cgi_env: Vec<(Vec<u8>, Vec<u8>)>,
    /// seconds a CGI mount's script may go without activity (0: 5)
    pub cgi_timeout: u32,
    pub cache_max_age: i32,
    pub cache_reusable: bool,
    pub cache_revalidate: bool,
    pub cache_intermediaries: bool,
    pub auth_mask: u32,
}

impl Mount {
    /// The URI is inside this mount: it starts with the mountpoint, followed
    /// by the end or a '/' (any URI for a one-character mountpoint).
    pub fn matches(&self, uri: &[u8]) -> bool {
        uri.starts_with(&self.mountpoint)
            && (self.mountpoint.len() == 1
                || matches!(uri.get(self.mountpoint.len()), None | Some(b'/')))
    }
}

/// The mount serving `uri` for a request: callback mounts win whenever they
/// match (the last listed), other mounts only for GET, CGI or when they name
/// a protocol, the longest mountpoint winning (CONTRACT §9).
pub fn find_mount<'a>(mounts: &'a [Mount], uri: &[u8], is_get: bool) -> Option<&'a Mount> {
    if let Some(m) = mounts
        .iter()
        .rev()
        .find(|m| m.kind == MountKind::Callback && m.matches(uri))
    {
        return Some(m);
    }
    mounts
        .iter()
        .filter(|m| m.matches(uri) && (is_get || m.kind == MountKind::Cgi || m.protocol.is_some()))
        .max_by_key(|m| m.mountpoint.len())
}

/// An HTTP proxy clients go through with CONNECT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    /// "user:pass", sent as Proxy-authorization: basic
    pub auth: Option<String>,
}

impl Proxy {
    /// Parses "[user:pass@]host[:port]", the port defaulting to `port`
    /// (none: invalid). An authorisation over 95 characters is refused, as
    /// the original's buffer was that small.
    pub fn parse(spec: &str, port: u16) -> Option<Proxy> {
        let (auth, hostport) = match spec.rsplit_once('@') {
            Some((auth, rest)) => (Some(auth.to_string()), rest),
            None => (None, spec),
        };
        if auth.as_ref().is_some_and(|a| a.len() > 95) {
            return None;
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (hostport, port),
        };
        (port != 0 && !host.is_empty()).then(|| Proxy {
            host: host.to_string(),
            port,
            auth,
        })
    }
}

/// Where and how a vhost listens.
#[derive(Clone, Debug, Default)]
pub struct ListenSpec {
    /// None for CONTEXT_PORT_NO_LISTEN
    pub port: Option<u16>,
    pub iface: Option<String>,
    pub unix: bool,
    pub ipv6: bool,
}

pub struct Vhost {
    pub name: String,
    pub protocols: Vec<Protocol>,
    /// extra headers for every lws-built response head (`info->headers`)
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub mounts: Vec<Mount>,
    /// protocol for upgrades naming none (pvo "default"), if not the first
    pub default_protocol: Option<usize>,
    /// `info->extensions` and the plugins' extensions: what upgrades may
    /// negotiate and what clients offer
    pub extensions: Vec<crate::ext::Declared>,
    /// the HTTP proxy its clients use (lws_set_proxy may change it)
    pub proxy: std::sync::Mutex<Option<Proxy>>,
    /// the TLS context of a TLS vhost's listeners
    pub tls_server: Option<openssl::ssl::SslContext>,
    pub tls_config: crate::tls::TlsConfig,
    /// the context its TLS clients use, made on first use
    pub tls_client: std::sync::Mutex<Option<openssl::ssl::SslContext>>,
    pub options: u32,
    pub keepalive_timeout: u32,
    /// TCP keepalive (idle, probes, interval), if ka_time was set
    pub tcp_keepalive: Option<(i32, i32, i32)>,
    pub listen: ListenSpec,
    /// the port actually bound (the kernel's choice for port 0)
    pub bound_port: Cell32,
    /// `lws_protocol_vh_priv_zalloc` storage, per protocol
    pub privs: Confined<Vec<Option<CBytes>>>,
    /// traffic counters for the server-status JSON
    pub stats: super::stats::ConnStats,
    pub ctx: std::sync::Weak<super::context::Context>,
}

/// An atomically readable port number.
#[derive(Default)]
pub struct Cell32(std::sync::atomic::AtomicI32);

impl Cell32 {
    pub fn get(&self) -> i32 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub fn set(&self, v: i32) {
        self.0.store(v, std::sync::atomic::Ordering::Relaxed)
    }
}

impl Vhost {
    /// The protocol at `c_addr`, or else the one named like it.
    pub fn protocol_index(&self, c_addr: usize, name: Option<&[u8]>) -> Option<usize> {
        self.protocols
            .iter()
            .position(|p| p.c_addr == c_addr)
            .or_else(|| name.and_then(|n| self.protocols.iter().position(|p| p.name == n)))
    }

    /// The protocol for upgrades that name none: the one whose pvo has a
    /// "default" option, else the first.
    pub fn default_ws_protocol(&self) -> usize {
        self.default_protocol.unwrap_or(0)
    }

    pub fn protocol_by_name(&self, name: &[u8]) -> Option<usize> {
        self.protocols.iter().position(|p| p.name == name)
    }
}

impl Drop for Vhost {
    /// Freed: C's `struct lws_vhost *` for it is no longer accepted.
    fn drop(&mut self) {
        crate::service::registry::VHOSTS.remove(std::ptr::from_ref(self) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(point: &str, kind: MountKind) -> Mount {
        Mount {
            mountpoint: point.as_bytes().to_vec(),
            origin: b"/srv".to_vec(),
            def: None,
            protocol: None,
            kind,
            extra_mimetypes: Vec::new(),
            interpret: Vec::new(),
            cgienv: 0,
            cgi_env: Vec::new(),
            cgi_timeout: 0,
            cache_max_age: 0,
            cache_reusable: false,
            cache_revalidate: false,
            cache_intermediaries: false,
            auth_mask: 0,
        }
    }

    #[test]
    fn proxy_specs() {
        assert_eq!(
            Proxy::parse("u:p@proxy.example:3128", 0),
            Some(Proxy {
                host: "proxy.example".into(),
                port: 3128,
                auth: Some("u:p".into())
            })
        );
        assert_eq!(Proxy::parse("proxy", 8080).map(|p| p.port), Some(8080));
        assert_eq!(Proxy::parse("proxy", 0), None);
        assert_eq!(Proxy::parse(&format!("{}@h:1", "a".repeat(96)), 0), None);
    }

    #[test]
    fn mount_selection_follows_the_contract() {
        let mounts = [
            mount("/", MountKind::File),
            mount("/docs", MountKind::File),
            mount("/api", MountKind::Callback),
        ];
        assert_eq!(
            find_mount(&mounts, b"/docs/a.html", true)
                .unwrap()
                .mountpoint,
            b"/docs"
        );
        assert_eq!(
            find_mount(&mounts, b"/docsx", true).unwrap().mountpoint,
            b"/"
        );
        assert_eq!(
            find_mount(&mounts, b"/api/x", false).unwrap().mountpoint,
            b"/api"
        );
        assert!(
            find_mount(&mounts, b"/docs/a.html", false).is_none(),
            "plain file mounts serve GET only"
        );
        assert_eq!(
            find_mount(&mounts, b"/docs", true).unwrap().mountpoint,
            b"/docs"
        );
    }
}
