//! Sockets and process-wide platform settings: listeners (address or
//! interface name, dual-stack IPv6, unix domain), socket options, fd limit,
//! privileges, host name.

use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

/// What a vhost listens on.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    pub fn fd(&self) -> RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l) => l.as_raw_fd(),
        }
    }
}

/// Accepts one pending connection, already non-blocking and close-on-exec
/// (accept4 saves the fcntl/ioctl a std accept needs afterwards).
pub fn accept_nonblocking<T: FromRawFd>(listener: RawFd) -> io::Result<T> {
    // SAFETY: NULL address arguments are allowed; a returned fd is new and
    // owned by nothing else, so the T built from it is its only owner.
    unsafe {
        let fd = check(libc::accept4(
            listener,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        ))?;
        Ok(T::from_raw_fd(fd))
    }
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: passes a pointer to a local int and its size.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// The address of interface `name` (IPv4 first unless `ipv6`).
fn interface_addr(name: &str, ipv6: bool) -> Option<IpAddr> {
    let mut found = None;
    // SAFETY: getifaddrs allocates a list we only read and then free.
    unsafe {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut list) != 0 {
            return None;
        }
        let mut cur = list;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || CStr::from_ptr(ifa.ifa_name).to_bytes() != name.as_bytes()
            {
                continue;
            }
            let family = i32::from((*ifa.ifa_addr).sa_family);
            let addr = match family {
                libc::AF_INET => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
                }
                libc::AF_INET6 => {
                    let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
                }
                _ => continue,
            };
            if addr.is_ipv6() == ipv6 {
                found = Some(addr);
                break;
            }
            found = found.or(Some(addr));
        }
        libc::freeifaddrs(list);
    }
    found
}

/// Resolves `iface` (an IP literal or an interface name; None = any).
pub fn bind_addr(iface: Option<&str>, port: u16, ipv6: bool) -> io::Result<SocketAddr> {
    let ip = match iface {
        None => {
            if ipv6 {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            }
        }
        Some(name) => match name.parse::<IpAddr>() {
            Ok(ip) => ip,
            // An interface's IPv4 address first, as lws (built without IPv6)
            // listened there; its IPv6 one only when it has no IPv4.
            Err(_) => interface_addr(name, false).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no interface or address {name}"),
                )
            })?,
        },
    };
    Ok(SocketAddr::new(ip, port))
}

/// A non-blocking TCP listener with SO_REUSEADDR (and SO_REUSEPORT when
/// several service threads each listen), dual-stack when bound to `[::]`.
/// A non-blocking, close-on-exec TCP socket for `addr`'s family.
fn tcp_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let family = if addr.is_ipv6() {
        libc::AF_INET6
    } else {
        libc::AF_INET
    };
    // SAFETY: plain syscall; the fd is owned from here on.
    let fd = check(unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    })?;
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn listen_tcp(
    addr: SocketAddr,
    reuseport: bool,
    v6only: Option<bool>,
) -> io::Result<TcpListener> {
    let owned = tcp_socket(&addr)?;
    let fd = owned.as_raw_fd();
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if reuseport {
        setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    }
    if addr.is_ipv6() {
        setsockopt_int(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            i32::from(v6only.unwrap_or(false)),
        )?;
    }
    let (storage, len) = sockaddr(&addr);
    // SAFETY: storage holds a sockaddr of `len` bytes.
    check(unsafe { libc::bind(fd, (&storage as *const libc::sockaddr_storage).cast(), len) })?;
    // SAFETY: plain syscall on our socket.
    check(unsafe { libc::listen(fd, libc::SOMAXCONN) })?;
    Ok(TcpListener::from(owned))
}

pub fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            let sin6 = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// The peer address of a connected socket.
pub fn peer_addr(fd: RawFd) -> Option<SocketAddr> {
    socket_addr(fd, libc::getpeername)
}

/// The local address of a socket.
pub fn local_addr(fd: RawFd) -> Option<SocketAddr> {
    socket_addr(fd, libc::getsockname)
}

type NameFn =
    unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;

fn socket_addr(fd: RawFd, name: NameFn) -> Option<SocketAddr> {
    // SAFETY: getpeername / getsockname fill a local sockaddr_storage of
    // the given size.
    unsafe {
        let mut storage: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if name(
            fd,
            (&mut storage as *mut libc::sockaddr_storage).cast(),
            &mut len,
        ) != 0
        {
            return None;
        }
        match i32::from(storage.ss_family) {
            libc::AF_INET => {
                let sin = &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                Some(SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))),
                    u16::from_be(sin.sin_port),
                ))
            }
            libc::AF_INET6 => {
                let sin6 =
                    &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
                Some(SocketAddr::new(
                    IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)),
                    u16::from_be(sin6.sin6_port),
                ))
            }
            _ => None,
        }
    }
}

/// The host name of an address (blocking reverse DNS).
pub fn reverse_lookup(addr: &SocketAddr) -> Option<String> {
    let (storage, len) = sockaddr(addr);
    let mut host = [0u8; 256];
    // SAFETY: getnameinfo reads the sockaddr and writes at most host.len() bytes.
    let r = unsafe {
        libc::getnameinfo(
            (&storage as *const libc::sockaddr_storage).cast(),
            len,
            host.as_mut_ptr().cast(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            0,
        )
    };
    if r != 0 {
        return None;
    }
    let end = host.iter().position(|&b| b == 0).unwrap_or(host.len());
    Some(String::from_utf8_lossy(&host[..end]).into_owned())
}

/// A non-blocking TCP socket connecting to `addr` (the connect completes,
/// or fails, later: watch for POLLOUT). Fails at once for errors the
/// kernel reports immediately.
pub fn connect_nonblocking(addr: SocketAddr) -> io::Result<crate::conn::transport::Stream> {
    let owned = tcp_socket(&addr)?;
    let fd = owned.as_raw_fd();
    let (storage, len) = sockaddr(&addr);
    // SAFETY: storage holds a sockaddr of `len` bytes.
    let r = unsafe { libc::connect(fd, (&storage as *const libc::sockaddr_storage).cast(), len) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    let stream = std::net::TcpStream::from(owned);
    let _ = stream.set_nodelay(true);
    Ok(crate::conn::transport::Stream::Tcp(stream))
}

/// A unix domain listener at `path` (a leading '@' names an abstract socket).
pub fn listen_unix(path: &str) -> io::Result<UnixListener> {
    let listener = if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        UnixListener::bind_addr(&addr)?
    } else {
        let _ = std::fs::remove_file(path);
        UnixListener::bind(path)?
    };
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// TCP keepalive as the vhost's ka_time / ka_probes / ka_interval ask.
pub fn set_keepalive(fd: RawFd, idle: i32, probes: i32, interval: i32) -> io::Result<()> {
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle)?;
    setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, interval)?;
    setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, probes)
}

/// Sends what the socket takes of `buf` now, telling TCP more follows at
/// once (MSG_MORE): it goes out in one segment with the next send.
pub fn send_more(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: reads `buf.len()` bytes of a live slice.
    let n = unsafe {
        libc::send(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_MORE | libc::MSG_NOSIGNAL,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Copies up to `count` bytes from file `in_fd` (at its current offset) to
/// socket `out_fd` in the kernel.
pub fn sendfile(out_fd: RawFd, in_fd: RawFd, count: usize) -> io::Result<usize> {
    // SAFETY: plain syscall; a NULL offset uses and advances the file offset.
    let n = unsafe { libc::sendfile(out_fd, in_fd, std::ptr::null_mut(), count) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Shuts down the sending side of a socket (the peer sees EOF).
pub fn shutdown_write(fd: RawFd) {
    // SAFETY: plain syscall; errors (not connected) are irrelevant here.
    unsafe { libc::shutdown(fd, libc::SHUT_WR) };
}

/// The process's fd limit (RLIMIT_NOFILE soft), as getdtablesize() reports it.
pub fn max_fds() -> usize {
    // SAFETY: getrlimit fills a local struct.
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur != libc::RLIM_INFINITY
        {
            rl.rlim_cur as usize
        } else {
            1024
        }
    }
}

/// Writing to a socket the peer closed must fail with EPIPE, not kill the
/// process.
pub fn ignore_sigpipe() {
    // SAFETY: installs SIG_IGN, which needs no handler code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Changes group then user, as info->gid / info->uid ask (-1 keeps them).
/// Failures are logged only, as in the original.
pub fn drop_privileges(uid: i32, gid: i32) {
    // SAFETY: plain credential syscalls.
    unsafe {
        if gid != -1 && libc::setgid(gid as libc::gid_t) != 0 {
            lwsl_err!("setgid({gid}): {}", io::Error::last_os_error());
        }
        if uid != -1 {
            let pw = libc::getpwuid(uid as libc::uid_t);
            if !pw.is_null() {
                libc::initgroups((*pw).pw_name, gid as libc::gid_t);
            }
            if libc::setuid(uid as libc::uid_t) != 0 {
                lwsl_err!("setuid({uid}): {}", io::Error::last_os_error());
            }
        }
    }
}

/// This machine's host name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listens_on_a_free_port_dual_stack() {
        let l = listen_tcp(bind_addr(None, 0, true).unwrap(), false, None).unwrap();
        let port = l.local_addr().unwrap().port();
        assert_ne!(port, 0);
        std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    }

    #[test]
    fn interface_names_resolve() {
        assert_eq!(
            bind_addr(Some("lo"), 80, false).unwrap().ip(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert!(bind_addr(Some("no-such-if0"), 80, false).is_err());
        assert_eq!(
            bind_addr(Some("127.0.0.2"), 1, false).unwrap().to_string(),
            "127.0.0.2:1"
        );
    }
}
