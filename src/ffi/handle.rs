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
use std::collections::BTreeSet;
use std::ffi::CString;
use std::sync::{Arc, RwLock};

use super::types::{lws, lws_context, lws_plat_file_ops, lws_vhost};
use crate::conn::Conn;
use crate::service::context::Context;
use crate::service::registry::{CONNS, VHOSTS};
use crate::service::vhost::Vhost;

pub(crate) struct ContextHandle {
    pub ctx: Arc<Context>,
    /// `lws_get_fops` hands out this table's address; applications may
    /// rewrite it at any time, hence the cell.
    pub fops: Box<UnsafeCell<lws_plat_file_ops>>,
    pub hostname: CString,
    /// the SIGINT handlers lws_uv_initloop / lws_ev_initloop install (0:
    /// none), as lws_uv_sigint_cfg / lws_ev_sigint_cfg set them
    pub uv_sigint: std::sync::atomic::AtomicUsize,
    pub ev_sigint: std::sync::atomic::AtomicUsize,
    /// the plugins loaded from `info->plugin_dirs`, load order
    pub plugins: std::sync::Mutex<Vec<super::plugin::Plugin>>,
}

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
