//! A thin epoll poll set and an eventfd waker (what `lws_cancel_service`
//! needs): level-triggered, each fd registered with its own number as key.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub const READABLE: u32 = libc::EPOLLIN as u32;
pub const WRITABLE: u32 = libc::EPOLLOUT as u32;
pub const HANGUP: u32 = (libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLRDHUP) as u32;

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// One ready fd: its number and the epoll event bits.
#[derive(Clone, Copy, Debug)]
pub struct Ready {
    pub fd: RawFd,
    pub events: u32,
}

pub struct Poller {
    epfd: OwnedFd,
}

/// The buffer epoll_wait fills; one per service thread.
pub struct Events(Vec<libc::epoll_event>);

impl Events {
    pub fn with_capacity(n: usize) -> Events {
        Events(vec![libc::epoll_event { events: 0, u64: 0 }; n.max(1)])
    }
}

impl Poller {
    pub fn new() -> io::Result<Poller> {
        // SAFETY: plain syscall; the fd it returns is owned from here on.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let epfd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Poller { epfd })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events,
            u64: fd as u64,
        };
        // SAFETY: ev outlives the call; the kernel validates fd.
        check(unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), op, fd, &mut ev) }).map(drop)
    }

    pub fn add(&self, fd: RawFd, events: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, events)
    }

    pub fn modify(&self, fd: RawFd, events: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, events)
    }

    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0)
    }

    /// Waits up to `timeout_ms` (-1: forever) and appends what is ready to
    /// `out`. EINTR counts as "nothing ready".
    pub fn wait(&self, buf: &mut Events, timeout_ms: i32, out: &mut Vec<Ready>) -> io::Result<()> {
        let max = buf.0.len() as libc::c_int;
        // SAFETY: the kernel writes at most `max` entries into our buffer.
        let n =
            unsafe { libc::epoll_wait(self.epfd.as_raw_fd(), buf.0.as_mut_ptr(), max, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        }
        out.extend(buf.0[..n as usize].iter().map(|e| Ready {
            fd: e.u64 as RawFd,
            events: e.events,
        }));
        Ok(())
    }
}

/// Wakes a poll set from any thread.
pub struct Waker {
    fd: OwnedFd,
}

impl Waker {
    pub fn new() -> io::Result<Waker> {
        // SAFETY: plain syscall; the fd it returns is owned from here on.
        let fd = check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: fd is a fresh descriptor nobody else owns.
        Ok(Waker {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a local; failure (counter full) still
        // leaves the fd readable, which is all a wake needs.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Consumes pending wakes.
    pub fn reset(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a local.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waker_wakes_the_poller() {
        let p = Poller::new().unwrap();
        let mut buf = Events::with_capacity(8);
        let w = Waker::new().unwrap();
        p.add(w.fd(), READABLE).unwrap();
        let mut out = Vec::new();
        p.wait(&mut buf, 0, &mut out).unwrap();
        assert!(out.is_empty());
        w.wake();
        p.wait(&mut buf, 1000, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].fd, w.fd());
        w.reset();
        out.clear();
        p.wait(&mut buf, 0, &mut out).unwrap();
        assert!(out.is_empty());
    }
}
