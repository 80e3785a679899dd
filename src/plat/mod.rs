//! Platform services: logging, daemonizing, epoll, sockets.

#[macro_use]
pub mod log;
pub mod daemon;
pub mod epoll;
pub mod sock;
