//! The handles C holds and how they map back to core objects.
//!
//! - `struct lws *` is the address of a core `Conn` inside its `Arc`;
//! - `struct lws_vhost *` is the address of a core `Vhost` inside its `Arc`;
//! - `struct lws_context *` is a boxed [`ContextHandle`]: the core context
//!   plus what only C sees of it (the mutable file-operations table, the
//!   canonical host name as a C string).
//!
//! Conns and vhosts stay alive while their pt table / graveyard or the
//! context's vhost list hold them, which covers every moment C may use them
//! (DESIGN rule 2). A pointer that never came from us is the caller's bug, as
//! with the original; NULL is checked everywhere.

use std::cell::UnsafeCell;
use std::ffi::CString;
use std::sync::Arc;

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

/// A new strong reference to the connection `wsi` points at.
///
/// # Safety
/// `wsi` is NULL or a `struct lws *` this library handed out that is not yet
/// freed.
pub(crate) unsafe fn conn(wsi: *const lws) -> Option<Arc<Conn>> {
    if wsi.is_null() {
        return None;
    }
    let ptr = wsi.cast::<Conn>();
    // SAFETY: per the contract above, ptr came from Arc::as_ptr of a live Arc.
    unsafe {
        Arc::increment_strong_count(ptr);
        Some(Arc::from_raw(ptr))
    }
}

/// # Safety
/// As for [`conn`], for `struct lws_vhost *`.
pub(crate) unsafe fn vhost(vh: *const lws_vhost) -> Option<Arc<Vhost>> {
    if vh.is_null() {
        return None;
    }
    let ptr = vh.cast::<Vhost>();
    // SAFETY: ptr came from Arc::as_ptr of a vhost the context still holds.
    unsafe {
        Arc::increment_strong_count(ptr);
        Some(Arc::from_raw(ptr))
    }
}

/// # Safety
/// `context` is NULL or a live `struct lws_context *` from lws_create_context.
pub(crate) unsafe fn context<'a>(context: *const lws_context) -> Option<&'a ContextHandle> {
    // SAFETY: such a pointer is a leaked Box<ContextHandle>.
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
