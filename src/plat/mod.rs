//! Platform services: logging, daemonizing, clock, epoll, libuv / libev
//! loops, sockets, threads, shared objects (plugins), CGI processes.

#[macro_use]
pub mod log;
pub mod alloc;
pub mod clock;
pub mod daemon;
pub mod dl;
pub mod epoll;
/// cbindgen:ignore
pub mod evloop;
pub mod mem;
pub mod proc;
pub mod sock;
pub mod sysinfo;
pub mod thread;
