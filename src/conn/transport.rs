//! The byte stream under a connection. Plain sockets now; TLS plugs in here
//! as another variant without the loop changing.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// What a non-blocking read produced.
pub enum ReadOutcome {
    Data(usize),
    WouldBlock,
    Eof,
}

impl Stream {
    pub fn fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok(),
            Stream::Unix(_) => None,
        }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<ReadOutcome> {
        let r = match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        };
        match r {
            Ok(0) => Ok(ReadOutcome::Eof),
            Ok(n) => Ok(ReadOutcome::Data(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(ReadOutcome::WouldBlock),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(ReadOutcome::WouldBlock),
            Err(e) => Err(e),
        }
    }

    /// Writes what the socket takes now: Ok(0) when it takes nothing.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        };
        match r {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            r => r,
        }
    }
}

/// Accepts one pending connection as a non-blocking stream with TCP_NODELAY;
/// None when nothing is pending.
pub fn accept(listener: &crate::plat::sock::Listener) -> io::Result<Option<Stream>> {
    use crate::plat::sock::Listener;
    let r = match listener {
        Listener::Tcp(l) => l.accept().map(|(s, _)| {
            let _ = s.set_nodelay(true);
            Stream::Tcp(s)
        }),
        Listener::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
    };
    match r {
        Ok(s) => {
            match &s {
                Stream::Tcp(t) => t.set_nonblocking(true)?,
                Stream::Unix(u) => u.set_nonblocking(true)?,
            }
            Ok(Some(s))
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(None)
        }
        // the peer gave up before we accepted: nothing to do
        Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => Ok(None),
        Err(e) => Err(e),
    }
}
