//! Platform services: logging, daemonizing, clock, epoll, sockets,
//! threads.

#[macro_use]
pub mod log;
pub mod clock;
pub mod daemon;
pub mod epoll;
pub mod mem;
pub mod sock;
pub mod thread;
