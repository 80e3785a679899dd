//! Per-vhost traffic counters for the server-status JSON
//! (`lws_json_dump_vhost` / `lws_json_dump_context`): relaxed atomics, one
//! add per socket read or write, so they cost next to nothing.

use std::sync::atomic::{AtomicU64, Ordering};

/// The original's `struct lws_conn_stats`.
#[derive(Default, Debug)]
pub struct ConnStats {
    /// bytes read from / written to the vhost's sockets
    pub rx: AtomicU64,
    pub tx: AtomicU64,
    /// connections accepted
    pub conn: AtomicU64,
    /// HTTP transactions completed
    pub trans: AtomicU64,
    /// WebSocket upgrades
    pub ws_upg: AtomicU64,
    /// connections refused by the application (FILTER_NETWORK_CONNECTION,
    /// SERVER_NEW_CLIENT_INSTANTIATED)
    pub rejected: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub rx: u64,
    pub tx: u64,
    pub conn: u64,
    pub trans: u64,
    pub ws_upg: u64,
    pub rejected: u64,
}

impl ConnStats {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            rx: get(&self.rx),
            tx: get(&self.tx),
            conn: get(&self.conn),
            trans: get(&self.trans),
            ws_upg: get(&self.ws_upg),
            rejected: get(&self.rejected),
        }
    }
}

impl std::ops::AddAssign for Snapshot {
    fn add_assign(&mut self, o: Snapshot) {
        self.rx += o.rx;
        self.tx += o.tx;
        self.conn += o.conn;
        self.trans += o.trans;
        self.ws_upg += o.ws_upg;
        self.rejected += o.rejected;
    }
}
