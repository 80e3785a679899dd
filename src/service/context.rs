//! The context: settings, vhosts, service threads, and its lifecycle
//! (creation, lazy protocol init, destruction).

use std::fs::File;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::confined::Confined;
use super::files::FileOps;
use super::pt::Pt;
use super::vhost::{Cell32, ListenSpec, Protocol, Vhost};
use crate::conn::{reason, Conn, Role};
use crate::ffi::enums::lws_callback_reasons as R;
use crate::ffi::enums::lws_context_options as O;
use crate::plat::sock::{self, Listener};

/// Context-wide settings (CONTRACT §12 defaults applied).
#[derive(Clone, Debug)]
pub struct ContextConfig {
    pub count_threads: usize,
    pub pt_serv_buf_size: usize,
    pub timeout_secs: u32,
    pub max_http_header_data: usize,
    pub max_http_header_pool: usize,
    pub token_limits: Option<Vec<u16>>,
    pub server_string: Vec<u8>,
    pub options: u32,
    pub uid: i32,
    pub gid: i32,
    pub fd_limit_per_thread: usize,
    /// `info->user`, returned by lws_context_user
    pub user: usize,
    /// idle seconds before an established WebSocket is pinged (0: never)
    pub ws_ping_pong_interval: u16,
}

/// What lws_create_vhost needs besides the context.
pub struct VhostConfig {
    pub name: String,
    pub protocols: Vec<Protocol>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub mounts: Vec<super::vhost::Mount>,
    pub default_protocol: Option<usize>,
    /// extensions negotiated (server) and offered (client)
    pub extensions: Vec<crate::ext::Declared>,
    pub proxy: Option<super::vhost::Proxy>,
    pub tls: crate::tls::TlsConfig,
    /// the application's own client SSL_CTX (`provided_client_ssl_ctx`)
    pub provided_client_tls: Option<openssl::ssl::SslContext>,
    pub options: u32,
    pub keepalive_timeout: u32,
    pub tcp_keepalive: Option<(i32, i32, i32)>,
    pub listen: ListenSpec,
}

pub struct Context {
    pub cfg: ContextConfig,
    pub vhosts: RwLock<Vec<Arc<Vhost>>>,
    pub pts: Vec<Pt>,
    pub files: Box<dyn FileOps>,
    pub hostname: String,
    pub max_fds: usize,
    /// PROTOCOL_INIT has run to completion
    protocols_ready: AtomicBool,
    init_lock: Mutex<()>,
    random: Mutex<Option<File>>,
    destroying: AtomicBool,
    /// when the context was made (server-status `context_uptime`)
    pub created: std::time::Instant,
    /// address of the C-side handle (`struct lws_context *`)
    c_handle: std::sync::atomic::AtomicUsize,
    /// CGI scripts started, and those still running (server-status)
    pub cgi_spawned: std::sync::atomic::AtomicUsize,
    pub cgi_alive: std::sync::atomic::AtomicUsize,
}

/// The context a vhost belongs to, while it lives.
pub fn owner_of(vhost: &Vhost) -> Option<Arc<Context>> {
    vhost.ctx.upgrade()
}

pub fn has_option(options: u32, option: O) -> bool {
    let bits = option as u32;
    options & bits == bits
}

impl Context {
    pub fn new(cfg: ContextConfig, files: Box<dyn FileOps>) -> io::Result<Arc<Context>> {
        sock::ignore_sigpipe();
        let max_fds = sock::max_fds();
        let pts = (0..cfg.count_threads)
            .map(|tsi| Pt::new(tsi, &cfg))
            .collect::<io::Result<Vec<_>>>()?;
        let hostname = if has_option(cfg.options, O::LWS_SERVER_OPTION_SKIP_SERVER_CANONICAL_NAME) {
            "unknown".to_string()
        } else {
            sock::hostname()
        };
        Ok(Arc::new(Context {
            cfg,
            vhosts: RwLock::new(Vec::new()),
            pts,
            files,
            hostname,
            max_fds,
            protocols_ready: AtomicBool::new(false),
            init_lock: Mutex::new(()),
            random: Mutex::new(File::open("/dev/urandom").ok()),
            destroying: AtomicBool::new(false),
            created: std::time::Instant::now(),
            c_handle: std::sync::atomic::AtomicUsize::new(0),
            cgi_spawned: std::sync::atomic::AtomicUsize::new(0),
            cgi_alive: std::sync::atomic::AtomicUsize::new(0),
        }))
    }

    pub fn vhosts(&self) -> Vec<Arc<Vhost>> {
        self.vhosts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn first_vhost(&self) -> Option<Arc<Vhost>> {
        self.vhosts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .first()
            .cloned()
    }

    /// An earlier vhost listening on the same TCP port and interface: a
    /// vhost created for it shares its listeners (CONTRACT §9).
    fn listener_to_share(&self, listen: &ListenSpec) -> Option<Arc<Vhost>> {
        let port = listen.port.filter(|&p| p != 0 && !listen.unix)?;
        self.vhosts().into_iter().find(|v| {
            v.bound_port.get() == i32::from(port)
                && !v.listen.unix
                && v.listen.iface == listen.iface
        })
    }

    /// The vhost a request's Host (or a TLS client's SNI) names among those
    /// sharing `accepting`'s port (CONTRACT §9): the first whose name starts
    /// with the host (":port" stripped), else the first the host ends with
    /// as ".name", else `accepting`.
    pub fn vhost_for_host(&self, accepting: &Arc<Vhost>, host: &[u8]) -> Arc<Vhost> {
        let host = host.split(|&b| b == b':').next().unwrap_or_default();
        let port = accepting.bound_port.get();
        if host.is_empty() || port <= 0 || accepting.listen.unix {
            return accepting.clone();
        }
        let vhosts = self.vhosts.read().unwrap_or_else(|p| p.into_inner());
        let sharing = || {
            vhosts
                .iter()
                .filter(|v| v.bound_port.get() == port && !v.listen.unix)
        };
        let prefix = || sharing().find(|v| v.name.as_bytes().starts_with(host));
        let suffix = || {
            sharing().find(|v| {
                let name = v.name.as_bytes();
                host.len() > name.len()
                    && host.ends_with(name)
                    && host[host.len() - name.len() - 1] == b'.'
            })
        };
        prefix()
            .or_else(suffix)
            .cloned()
            .unwrap_or_else(|| accepting.clone())
    }

    /// More than one vhost: a request's Host may pick another.
    pub fn has_vhost_choice(&self) -> bool {
        self.vhosts.read().unwrap_or_else(|p| p.into_inner()).len() > 1
    }

    /// Creates a vhost and its listeners (one per service thread, sharing the
    /// port through SO_REUSEPORT); returns it with the port bound.
    pub fn add_vhost(self: &Arc<Self>, vcfg: VhostConfig) -> io::Result<Arc<Vhost>> {
        // The client-certificate check calls the vhost's protocols[0], which
        // exists only once the context is built.
        let owner: Arc<std::sync::OnceLock<std::sync::Weak<Vhost>>> = Arc::default();
        let tls_server = match vcfg.tls.cert {
            // TLS needs DO_SSL_GLOBAL_INIT on the vhost, as in lws (CONTRACT §8)
            Some(_)
                if vcfg.listen.port.is_some()
                    && has_option(vcfg.options, O::LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT) =>
            {
                // the context and this vhost, for OpenSSL's callbacks once
                // both exist
                let (ctx, me) = (Arc::downgrade(self), owner.clone());
                let parties = move || Some((ctx.upgrade()?, me.get()?.upgrade()?));
                let parties2 = parties.clone();
                let check: crate::tls::ClientCertCheck = Box::new(move |store, ok| {
                    let Some((ctx, vh)) = parties2() else {
                        return ok;
                    };
                    let fake = Conn::fake(&ctx, &vh, 0);
                    let r = fake.callback_protocol(
                        0,
                        reason(R::LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION),
                        store as *mut std::os::raw::c_void,
                        crate::ffi::callback::ssl_of_store(store) as *mut std::os::raw::c_void,
                        usize::from(ok),
                    );
                    // the application may refuse what OpenSSL accepts, not the
                    // reverse (the original let a 0 accept any certificate)
                    ok && r == 0
                });
                let sni: crate::tls::SniSelect = Box::new(move |name| {
                    let (ctx, vh) = parties()?;
                    ctx.vhost_for_host(&vh, name.as_bytes()).tls_server.clone()
                });
                Some(crate::tls::server_context(&vcfg.tls, check, sni).map_err(io::Error::other)?)
            }
            _ => None,
        };
        let mut listeners = Vec::new();
        let mut bound = -1;
        if let Some(first) = self.listener_to_share(&vcfg.listen) {
            // served by the first vhost's listeners; Host (and SNI) decide
            bound = first.bound_port.get();
        } else if let Some(port) = vcfg.listen.port {
            if vcfg.listen.unix {
                let path = vcfg.listen.iface.clone().unwrap_or_default();
                listeners.push(Listener::Unix(sock::listen_unix(&path)?));
                bound = 0;
            } else {
                let v6only = has_option(vcfg.options, O::LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY)
                    .then(|| has_option(vcfg.options, O::LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE));
                let reuseport = self.pts.len() > 1;
                let mut port = port;
                for _ in 0..self.pts.len() {
                    let addr =
                        sock::bind_addr(vcfg.listen.iface.as_deref(), port, vcfg.listen.ipv6)?;
                    let l = sock::listen_tcp(addr, reuseport, v6only)?;
                    port = l.local_addr()?.port();
                    listeners.push(Listener::Tcp(l));
                }
                bound = i32::from(port);
            }
        }
        let privs = (0..vcfg.protocols.len()).map(|_| None).collect();
        let vhost = Arc::new(Vhost {
            name: vcfg.name,
            protocols: vcfg.protocols,
            headers: vcfg.headers,
            mounts: vcfg.mounts,
            default_protocol: vcfg.default_protocol,
            extensions: vcfg.extensions,
            proxy: std::sync::Mutex::new(vcfg.proxy),
            tls_server,
            tls_config: vcfg.tls,
            tls_client: std::sync::Mutex::new(vcfg.provided_client_tls),
            options: vcfg.options,
            keepalive_timeout: vcfg.keepalive_timeout,
            tcp_keepalive: vcfg.tcp_keepalive,
            listen: vcfg.listen,
            bound_port: Cell32::default(),
            privs: Confined::new(privs),
            stats: Default::default(),
            ctx: Arc::downgrade(self),
        });
        crate::service::registry::VHOSTS.insert(&vhost);
        vhost.bound_port.set(bound);
        if let (Some(tls), None) = (&vhost.tls_server, &vhost.tls_config.key) {
            use foreign_types::ForeignType;
            let fake = Conn::fake(self, &vhost, 0);
            let refused = fake.callback_protocol(
                0,
                reason(R::LWS_CALLBACK_OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY),
                // the SSL_CTX goes as `user`, as lws passed it
                tls.as_ptr().cast(),
                std::ptr::null_mut(),
                0,
            ) != 0;
            if refused || !crate::tls::key_ready(tls) {
                return Err(io::Error::other("TLS vhost without a usable private key"));
            }
        }
        for (tsi, listener) in listeners.into_iter().enumerate() {
            let fd = listener.fd();
            let conn = Conn::new(
                self.clone(),
                vhost.clone(),
                tsi,
                fd,
                Role::Listener(listener),
            );
            self.pts[tsi].insert(&conn, crate::plat::epoll::READABLE)?;
        }
        let _ = owner.set(Arc::downgrade(&vhost));
        self.vhosts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(vhost.clone());
        if let Some(tls) = &vhost.tls_server {
            use foreign_types::ForeignType;
            let fake = Conn::fake(self, &vhost, 0);
            fake.callback_protocol(
                0,
                reason(R::LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS),
                // the SSL_CTX goes as `user`, as lws passed it
                tls.as_ptr().cast(),
                std::ptr::null_mut(),
                0,
            );
        }
        Ok(vhost)
    }

    /// PROTOCOL_INIT for every vhost and protocol, once; a failure leaves it
    /// to be retried (all of it) on the next service call, as lws does.
    pub fn init_protocols(self: &Arc<Self>) {
        if self.protocols_ready.load(Ordering::Acquire) {
            return;
        }
        let Ok(_once) = self.init_lock.try_lock() else {
            return;
        };
        if self.protocols_ready.load(Ordering::Acquire) {
            return;
        }
        for vhost in self.vhosts() {
            for (i, p) in vhost.protocols.iter().enumerate() {
                let fake = Conn::fake(self, &vhost, i);
                let r = fake.callback_protocol(
                    i,
                    reason(R::LWS_CALLBACK_PROTOCOL_INIT),
                    std::ptr::null_mut(),
                    p.pvo_options as *mut std::os::raw::c_void,
                    0,
                );
                if r != 0 {
                    lwsl_err!(
                        "PROTOCOL_INIT failed for protocol {}",
                        String::from_utf8_lossy(&p.name)
                    );
                    return;
                }
            }
        }
        if has_option(self.cfg.options, O::LWS_SERVER_OPTION_EXPLICIT_VHOSTS) {
            sock::drop_privileges(self.cfg.uid, self.cfg.gid);
        }
        self.protocols_ready.store(true, Ordering::Release);
    }

    pub fn set_c_handle(&self, addr: usize) {
        self.c_handle.store(addr, Ordering::Release);
    }

    pub fn c_handle(&self) -> usize {
        self.c_handle.load(Ordering::Acquire)
    }

    pub fn is_destroying(&self) -> bool {
        self.destroying.load(Ordering::Acquire)
    }

    /// Closes every connection (listeners included), then PROTOCOL_DESTROY
    /// per vhost and protocol if init completed, then frees vhost storage.
    pub fn destroy(self: &Arc<Self>) {
        if self.destroying.swap(true, Ordering::AcqRel) {
            return;
        }
        for pt in &self.pts {
            pt.close_all();
        }
        // the scripts their connections ran end with the context
        crate::conn::cgi::reap_all(self);
        if self.protocols_ready.load(Ordering::Acquire) {
            for vhost in self.vhosts() {
                for i in 0..vhost.protocols.len() {
                    let fake = Conn::fake(self, &vhost, i);
                    fake.callback_protocol(
                        i,
                        reason(R::LWS_CALLBACK_PROTOCOL_DESTROY),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        0,
                    );
                }
            }
        }
        for pt in &self.pts {
            pt.reap();
        }
        super::pt::detach_loops(self);
        self.vhosts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Fills `buf` from /dev/urandom; the number of bytes read.
    pub fn random(&self, buf: &mut [u8]) -> usize {
        let mut f = self.random.lock().unwrap_or_else(|p| p.into_inner());
        f.as_mut().and_then(|f| f.read(buf).ok()).unwrap_or(0)
    }
}
