//! The byte stream under a connection. Plain sockets now; TLS plugs in here
//! as another variant without the loop changing.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use openssl::ssl::{ErrorCode, Ssl, SslStream};

pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// TLS over TCP; the handshake may still be in progress
    Tls(Box<SslStream<TcpStream>>),
}

/// Where a TLS handshake stands.
pub enum Handshake {
    Done,
    /// waiting for the socket: readable (false) or writable (true)
    Again {
        want_write: bool,
    },
    Failed(String),
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
            Stream::Tls(s) => s.get_ref().as_raw_fd(),
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// The address of the `SSL` of a TLS stream (0 otherwise), which
    /// ESTABLISHED hands to the application.
    pub fn ssl_addr(&self) -> usize {
        use foreign_types::ForeignTypeRef;
        match self {
            Stream::Tls(s) => s.ssl().as_ptr() as usize,
            _ => 0,
        }
    }

    /// Decrypted bytes OpenSSL holds that no poll will announce.
    pub fn tls_pending(&self) -> bool {
        matches!(self, Stream::Tls(s) if s.ssl().pending() > 0)
    }

    /// Wraps a TCP stream for TLS as server (`accept`) or client.
    pub fn tls(tcp: TcpStream, ssl: Ssl, accept: bool) -> io::Result<Stream> {
        let mut ssl = ssl;
        crate::tls::allow_buffered_retries(&mut ssl);
        if accept {
            ssl.set_accept_state();
        } else {
            ssl.set_connect_state();
        }
        let s = SslStream::new(ssl, tcp).map_err(io::Error::other)?;
        Ok(Stream::Tls(Box::new(s)))
    }

    /// Turns this TCP stream into TLS in place, keeping its fd (and so its
    /// poll registration): a duplicate holds the place while the socket
    /// moves into the TLS stream.
    pub fn start_tls(&mut self, ssl: Ssl, accept: bool) -> io::Result<()> {
        let Stream::Tcp(tcp) = self else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a TCP stream",
            ));
        };
        let placeholder = Stream::Tcp(tcp.try_clone()?);
        let Stream::Tcp(tcp) = std::mem::replace(self, placeholder) else {
            unreachable!("checked above")
        };
        *self = Stream::tls(tcp, ssl, accept)?;
        Ok(())
    }

    /// The first byte waiting on a plain socket, without taking it.
    pub fn peek_byte(&self) -> io::Result<Option<u8>> {
        let mut b = [0u8; 1];
        let r = match self {
            Stream::Tcp(s) => s.peek(&mut b),
            _ => return Ok(None),
        };
        match r {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(b[0])),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Advances a TLS handshake.
    pub fn handshake(&mut self) -> Handshake {
        let Stream::Tls(s) = self else {
            return Handshake::Done;
        };
        match s.do_handshake() {
            Ok(()) => Handshake::Done,
            Err(e) => match e.code() {
                ErrorCode::WANT_READ => Handshake::Again { want_write: false },
                ErrorCode::WANT_WRITE => Handshake::Again { want_write: true },
                _ => Handshake::Failed(
                    e.ssl_error()
                        .map_or_else(|| e.to_string(), |s| s.to_string()),
                ),
            },
        }
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok(),
            Stream::Unix(_) => None,
            Stream::Tls(s) => s.get_ref().peer_addr().ok(),
        }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<ReadOutcome> {
        let r = match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Tls(s) => {
                return match s.ssl_read(buf) {
                    Ok(0) => Ok(ReadOutcome::Eof),
                    Ok(n) => Ok(ReadOutcome::Data(n)),
                    Err(e) => match e.code() {
                        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => Ok(ReadOutcome::WouldBlock),
                        ErrorCode::ZERO_RETURN => Ok(ReadOutcome::Eof),
                        _ if e
                            .io_error()
                            .is_some_and(|io| io.kind() == io::ErrorKind::WouldBlock) =>
                        {
                            Ok(ReadOutcome::WouldBlock)
                        }
                        _ => Err(io::Error::other(e)),
                    },
                }
            }
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
        self.send(buf, false)
    }

    /// `write`; with `more`, a plain TCP socket holds the bytes back for the
    /// send that follows at once (a response head before its sendfile body).
    pub fn send(&mut self, buf: &[u8], more: bool) -> io::Result<usize> {
        let r = match self {
            Stream::Tcp(s) if more => crate::plat::sock::send_more(s.as_raw_fd(), buf),
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            // OpenSSL keeps a refused record and takes the rest of the same
            // bytes on the retry (partial writes, moving buffers allowed).
            Stream::Tls(s) => {
                return match s.ssl_write(buf) {
                    Ok(n) => Ok(n),
                    Err(e) => match e.code() {
                        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => Ok(0),
                        _ if e
                            .io_error()
                            .is_some_and(|io| io.kind() == io::ErrorKind::WouldBlock) =>
                        {
                            Ok(0)
                        }
                        _ => Err(io::Error::other(e)),
                    },
                }
            }
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
    use crate::plat::sock::{accept_nonblocking, Listener};
    let r = match listener {
        Listener::Tcp(l) => accept_nonblocking(l.as_raw_fd()).map(|s: TcpStream| {
            let _ = s.set_nodelay(true);
            Stream::Tcp(s)
        }),
        Listener::Unix(l) => accept_nonblocking(l.as_raw_fd()).map(Stream::Unix),
    };
    match r {
        Ok(s) => Ok(Some(s)),
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
