//! The handles C holds and how they map back to core objects.
//!
//! - `struct lws *` is the address of a core `Conn` inside its `Arc`;
//! - `struct lws_vhost *` is the address of a core `Vhost` inside its `Arc`;
//! - `struct lws_context *` is a boxed [`ContextHandle`]: the core context
//!   plus what only C sees of it (the mutable file-operations table, the
//!   canonical host name as a C string).
//!
//! Conns and vhosts stay alive while their pt table / graveyard or the
//! context's vhost list hold them, which covers every moment C may correctly
//! use them (DESIGN rule 2). Every live object's address is also in a
//! registry (inserted at creation, removed when it is freed), and a pointer
//! from C is only turned back into an object if the registry knows it: NULL,
//! a freed (stale) or foreign pointer gets None and an error log naming the
//! export, never a dereference.

use std::cell::UnsafeCell;
use std::collections::{BTreeSet, HashMap};
use std::ffi::CString;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock, RwLock, Weak};

use super::types::{lws, lws_context, lws_plat_file_ops, lws_vhost};
use crate::conn::Conn;
use crate::service::context::Context;
use crate::service::vhost::Vhost;

pub(crate) struct ContextHandle {
    pub ctx: Arc<Context>,
    /// `lws_get_fops` hands out this table's address; applications may
    /// rewrite it at any time, hence the cell.
    pub fops: Box<UnsafeCell<lws_plat_file_ops>>,
    pub hostname: CString,
}

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
pub(crate) struct AddrHasher(u64);

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
/// Every `struct lws_context *` from lws_create_context not yet destroyed.
static CONTEXTS: RwLock<BTreeSet<usize>> = RwLock::new(BTreeSet::new());

pub(crate) fn register_context(handle: *const ContextHandle) {
    CONTEXTS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(handle as usize);
}

/// Forgets a context being destroyed; false if it was not live (NULL, a
/// second destroy, a foreign pointer).
pub(crate) fn unregister_context(handle: *const ContextHandle) -> bool {
    CONTEXTS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&(handle as usize))
}

/// The live connection `wsi` points at, as a new strong reference; None
/// (logged as `func`'s bad argument) for NULL or anything else.
pub(crate) fn conn(func: &str, wsi: *const lws) -> Option<Arc<Conn>> {
    if wsi.is_null() {
        lwsl_err!("{func}: NULL wsi");
        return None;
    }
    let conn = CONNS.get(wsi as usize);
    if conn.is_none() {
        lwsl_err!("{func}: wsi {wsi:p} is not a live connection (freed or foreign)");
    }
    conn
}

/// As [`conn`], for `struct lws_vhost *`.
pub(crate) fn vhost(func: &str, vh: *const lws_vhost) -> Option<Arc<Vhost>> {
    if vh.is_null() {
        lwsl_err!("{func}: NULL vhost");
        return None;
    }
    let vhost = VHOSTS.get(vh as usize);
    if vhost.is_none() {
        lwsl_err!("{func}: vhost {vh:p} is not a live vhost (freed or foreign)");
    }
    vhost
}

/// The context `context` points at; None (logged) for NULL, a destroyed or
/// a foreign pointer.
///
/// The reference is valid until lws_context_destroy, which C must not call
/// while it still uses the context from another thread (as with the
/// original).
pub(crate) fn context<'a>(func: &str, context: *const lws_context) -> Option<&'a ContextHandle> {
    if context.is_null() {
        lwsl_err!("{func}: NULL context");
        return None;
    }
    let live = CONTEXTS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&(context as usize));
    if !live {
        lwsl_err!("{func}: context {context:p} is not a live context (destroyed or foreign)");
        return None;
    }
    // SAFETY: registered addresses are leaked Box<ContextHandle>s that
    // lws_context_destroy unregisters before freeing.
    unsafe { context.cast::<ContextHandle>().as_ref() }
}

pub(crate) fn wsi_of(conn: &Arc<Conn>) -> *mut lws {
    Arc::as_ptr(conn).cast_mut().cast()
}

pub(crate) fn vhost_ptr(vhost: &Arc<Vhost>) -> *mut lws_vhost {
    Arc::as_ptr(vhost).cast_mut().cast()
}

/// The C handle of a core context.
pub(crate) fn context_ptr(ctx: &Context) -> *mut lws_context {
    ctx.c_handle() as *mut lws_context
}
