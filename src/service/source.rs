//! Where a service thread's socket events come from. Four backends share
//! one interface and one service pass (`pt::after_events`):
//!
//! - our own epoll set, waited on by `lws_service`;
//! - the application's poll loop, told of every interest change through
//!   the `*_POLL_FD` callbacks and handing ready fds to `lws_service_fd`
//!   (the callbacks are made for every backend, as lws does; the epoll set
//!   simply goes unused);
//! - a libuv or libev loop (`lws_uv_initloop` / `lws_ev_initloop`), where
//!   each socket gets a watcher and the loop calls the core back.
//!
//! Work the core queues between events (held input, assumed-writable
//! connections, deferred frees) must get its turn without an event:
//! `kick` wakes an epoll wait, makes a foreign loop run an idle pass, and
//! for the application's poll loop the pt announces held input as POLLOUT.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::plat::epoll::{Events, Poller, Ready, Waker, READABLE};
use crate::plat::evloop::{Loop, LoopRef, Setup, Watch};
use crate::plat::thread;

struct Foreign {
    lp: Loop,
    /// one watcher per socket, indexed by fd
    watches: Vec<Option<Watch>>,
    owner: usize,
}

pub struct Source {
    poller: Poller,
    waker: Waker,
    /// in epoll_wait: work queued from another thread must wake it
    waiting: AtomicBool,
    /// `lws_service` has run this thread's loop: it finds held input itself
    own_loop: AtomicBool,
    foreign: Mutex<Option<Foreign>>,
    has_foreign: AtomicBool,
    /// the thread that last ran a foreign loop's callbacks
    loop_thread: AtomicUsize,
}

impl Source {
    pub fn new() -> io::Result<Source> {
        let poller = Poller::new()?;
        let waker = Waker::new()?;
        poller.add(waker.fd(), READABLE)?;
        Ok(Source {
            poller,
            waker,
            waiting: AtomicBool::new(false),
            own_loop: AtomicBool::new(false),
            foreign: Mutex::new(None),
            has_foreign: AtomicBool::new(false),
            loop_thread: AtomicUsize::new(0),
        })
    }

    fn foreign(&self) -> std::sync::MutexGuard<'_, Option<Foreign>> {
        self.foreign.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_foreign(&self) -> bool {
        self.has_foreign.load(Ordering::Acquire)
    }

    /// Neither `lws_service` nor a foreign loop: the application polls.
    pub fn app_polls(&self) -> bool {
        !self.own_loop.load(Ordering::Relaxed) && !self.is_foreign()
    }

    pub fn add(&self, fd: RawFd, events: u32) -> io::Result<()> {
        if self.is_foreign() {
            if let Some(f) = self.foreign().as_mut() {
                return f.watch(fd, events);
            }
        }
        self.poller.add(fd, events)
    }

    pub fn modify(&self, fd: RawFd, events: u32) -> io::Result<()> {
        if self.is_foreign() {
            if let Some(f) = self.foreign().as_mut() {
                let ok = usize::try_from(fd)
                    .ok()
                    .and_then(|i| f.watches.get(i))
                    .and_then(Option::as_ref)
                    .is_some_and(|w| w.set(events));
                return if ok {
                    Ok(())
                } else {
                    Err(io::Error::other("no watcher"))
                };
            }
        }
        self.poller.modify(fd, events)
    }

    /// Before the socket is closed.
    pub fn delete(&self, fd: RawFd) {
        if self.is_foreign() {
            if let Some(f) = self.foreign().as_mut() {
                if let Some(slot) = usize::try_from(fd).ok().and_then(|i| f.watches.get_mut(i)) {
                    *slot = None;
                }
                return;
            }
        }
        let _ = self.poller.delete(fd);
    }

    /// Makes the thread's loop return from its wait (any thread).
    pub fn wake(&self) {
        if self.is_foreign() {
            if let Some(f) = self.foreign().as_ref() {
                f.lp.wake();
                return;
            }
        }
        self.waker.wake();
    }

    /// The core queued work: it must run without waiting for an event.
    pub fn kick(&self) {
        if self.is_foreign() {
            if let Some(f) = self.foreign().as_ref() {
                if self.loop_thread.load(Ordering::Relaxed) == thread::current() {
                    f.lp.kick();
                } else {
                    f.lp.wake();
                }
            }
        } else if self.waiting.load(Ordering::SeqCst) {
            self.waker.wake();
        }
    }

    /// The foreign loop's queued-work pass found nothing left.
    pub fn rest(&self) {
        if let Some(f) = self.foreign().as_ref() {
            f.lp.rest();
        }
    }

    /// A foreign loop called back on this thread.
    pub fn on_loop_thread(&self) {
        self.loop_thread.store(thread::current(), Ordering::Relaxed);
    }

    /// Waits on our epoll set (`lws_service`); the waker's own events are
    /// consumed here. `queued` is checked after announcing the wait, so
    /// work queued from another thread meanwhile cannot be slept through.
    pub fn wait(
        &self,
        buf: &mut Events,
        timeout_ms: i32,
        queued: impl Fn() -> bool,
        out: &mut Vec<Ready>,
    ) -> io::Result<()> {
        self.own_loop.store(true, Ordering::Relaxed);
        self.waiting.store(true, Ordering::SeqCst);
        let timeout = if timeout_ms < 0 || queued() {
            0
        } else {
            timeout_ms
        };
        let r = self.poller.wait(buf, timeout, out);
        self.waiting.store(false, Ordering::SeqCst);
        let waker = self.waker.fd();
        if out.iter().any(|r| r.fd == waker) {
            self.waker.reset();
            out.retain(|r| r.fd != waker);
        }
        r
    }

    /// Moves the thread's sockets (fd, interest) onto a libuv / libev loop.
    pub fn attach(&self, setup: &Setup, fds: &[(RawFd, u32)]) -> io::Result<()> {
        let mut slot = self.foreign();
        if slot.is_some() {
            return Err(io::Error::other("this service thread already has a loop"));
        }
        let lp = Loop::new(setup).ok_or_else(|| io::Error::other("could not set up the loop"))?;
        let mut f = Foreign {
            lp,
            watches: Vec::new(),
            owner: setup.owner,
        };
        for &(fd, events) in fds {
            f.watch(fd, events)?;
            let _ = self.poller.delete(fd);
        }
        *slot = Some(f);
        self.loop_thread.store(thread::current(), Ordering::Relaxed);
        self.has_foreign.store(true, Ordering::Release);
        Ok(())
    }

    /// The loop's address (`uv_loop_t *` / `struct ev_loop *`), 0 if none.
    pub fn native_loop(&self) -> usize {
        self.foreign().as_ref().map_or(0, |f| f.lp.native())
    }

    pub fn foreign_kind(&self) -> Option<crate::plat::evloop::Kind> {
        self.foreign().as_ref().map(|f| f.lp.kind())
    }

    /// The loop to run, if any (the lock is not held while it runs).
    pub fn runnable(&self) -> Option<LoopRef> {
        self.foreign().as_ref().map(|f| f.lp.by_ref())
    }

    pub fn stop(&self) {
        if let Some(f) = self.foreign().as_ref() {
            f.lp.stop();
        }
    }

    /// Releases the loop's handles (after every socket is closed).
    pub fn detach(&self) {
        let taken = self.foreign().take();
        if let Some(mut f) = taken {
            self.has_foreign.store(false, Ordering::Release);
            // watchers first: they refer to the loop's handles
            f.watches.clear();
            let r = f.lp.close();
            if r != 0 {
                lwsl_err!("closing the library's libuv loop: error {r} (handles still open)");
            }
        }
    }
}

impl Foreign {
    fn watch(&mut self, fd: RawFd, events: u32) -> io::Result<()> {
        let idx = usize::try_from(fd).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let w = self
            .lp
            .watch(fd, self.owner)
            .ok_or_else(|| io::Error::other("could not watch the socket"))?;
        if events != 0 && !w.set(events) {
            return Err(io::Error::other("could not watch the socket"));
        }
        if self.watches.len() <= idx {
            self.watches.resize_with(idx + 1, || None);
        }
        self.watches[idx] = Some(w);
        Ok(())
    }
}
