//! Virtual hosts and the protocols they serve.

use std::cell::Cell;

use super::confined::Confined;
use crate::ffi::callback::ProtocolCallback;

/// One entry of the application's protocols array.
pub struct Protocol {
    pub name: Vec<u8>,
    pub callback: ProtocolCallback,
    pub per_session_data_size: usize,
    pub rx_buffer_size: usize,
    /// Address of the application's `struct lws_protocols` entry, which
    /// `lws_get_protocol` returns and protocol lookups compare.
    pub c_addr: usize,
    /// Address of the `options` list of the vhost's pvo entry named like the
    /// protocol (PROTOCOL_INIT's `in`), or 0.
    pub pvo_options: usize,
}

/// Zeroed memory handed to C (per-session and per-vhost protocol data). `Cell`
/// because C writes it while Rust holds shared references.
pub type CBytes = Box<[Cell<u8>]>;

pub fn zeroed(size: usize) -> CBytes {
    (0..size).map(|_| Cell::new(0)).collect()
}

pub fn c_addr(bytes: &CBytes) -> usize {
    bytes.as_ptr() as usize
}

/// Where and how a vhost listens.
#[derive(Clone, Debug, Default)]
pub struct ListenSpec {
    /// None for CONTEXT_PORT_NO_LISTEN
    pub port: Option<u16>,
    pub iface: Option<String>,
    pub unix: bool,
    pub ipv6: bool,
}

pub struct Vhost {
    pub name: String,
    pub protocols: Vec<Protocol>,
    /// extra headers for every lws-built response head (`info->headers`)
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub options: u32,
    pub keepalive_timeout: u32,
    /// TCP keepalive (idle, probes, interval), if ka_time was set
    pub tcp_keepalive: Option<(i32, i32, i32)>,
    pub listen: ListenSpec,
    /// the port actually bound (the kernel's choice for port 0)
    pub bound_port: Cell32,
    /// `lws_protocol_vh_priv_zalloc` storage, per protocol
    pub privs: Confined<Vec<Option<CBytes>>>,
    pub ctx: std::sync::Weak<super::context::Context>,
}

/// An atomically readable port number.
#[derive(Default)]
pub struct Cell32(std::sync::atomic::AtomicI32);

impl Cell32 {
    pub fn get(&self) -> i32 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub fn set(&self, v: i32) {
        self.0.store(v, std::sync::atomic::Ordering::Relaxed)
    }
}

impl Vhost {
    /// The protocol at `c_addr`, or else the one named like it.
    pub fn protocol_index(&self, c_addr: usize, name: Option<&[u8]>) -> Option<usize> {
        self.protocols
            .iter()
            .position(|p| p.c_addr == c_addr)
            .or_else(|| name.and_then(|n| self.protocols.iter().position(|p| p.name == n)))
    }

    pub fn protocol_by_name(&self, name: &[u8]) -> Option<usize> {
        self.protocols.iter().position(|p| p.name == name)
    }
}
