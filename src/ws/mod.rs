//! WebSocket protocol (RFC 6455): frames, UTF-8 validation, handshake.

pub mod frame;
pub mod handshake;
pub mod utf8;
