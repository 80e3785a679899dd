//! Every live connection and vhost by address, so that an address C hands
//! back (`struct lws *`, `struct lws_vhost *`) can be checked before it is
//! used: a freed or foreign one is simply not found.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock, RwLock, Weak};

use crate::conn::Conn;
use crate::service::vhost::Vhost;

/// Live objects by address. Entries are `Weak`, so a lookup racing the
/// last `Arc` going away gets None rather than resurrecting a dropping
/// object; the object's `Drop` removes its entry. Sharded by address so the
/// service threads rarely meet on one lock; a lookup is a read lock and one
/// hash probe.
pub(crate) struct Registry<T> {
    shards: [RwLock<AddrMap<Weak<T>>>; SHARDS],
}

const SHARDS: usize = 16;

type AddrMap<V> = HashMap<usize, V, BuildHasherDefault<AddrHasher>>;

/// Heap addresses are already well spread: one multiply mixes them enough.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

impl<T> Registry<T> {
    fn new() -> Registry<T> {
        Registry {
            shards: std::array::from_fn(|_| RwLock::new(AddrMap::default())),
        }
    }

    fn shard(&self, addr: usize) -> &RwLock<AddrMap<Weak<T>>> {
        // allocations are at least 16-byte aligned
        &self.shards[(addr >> 4) % SHARDS]
    }

    /// Records a new object; its address is what C gets.
    pub(crate) fn insert(&self, obj: &Arc<T>) {
        let addr = Arc::as_ptr(obj) as usize;
        let mut map = self.shard(addr).write().unwrap_or_else(|e| e.into_inner());
        map.insert(addr, Arc::downgrade(obj));
    }

    /// Forgets the object at `addr` (called from its `Drop`).
    pub(crate) fn remove(&self, addr: usize) {
        let mut map = self.shard(addr).write().unwrap_or_else(|e| e.into_inner());
        map.remove(&addr);
    }

    /// The live object at `addr`, if there is one.
    pub(crate) fn get(&self, addr: usize) -> Option<Arc<T>> {
        let map = self.shard(addr).read().unwrap_or_else(|e| e.into_inner());
        map.get(&addr).and_then(Weak::upgrade)
    }
}

/// Every connection not yet freed (Conn::new / Drop for Conn).
pub(crate) static CONNS: LazyLock<Registry<Conn>> = LazyLock::new(Registry::new);
/// Every vhost not yet freed.
pub(crate) static VHOSTS: LazyLock<Registry<Vhost>> = LazyLock::new(Registry::new);
