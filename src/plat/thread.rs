//! Which thread is running.

/// A number unique to the calling thread while it lives, never 0. (A
/// thread_local's address would do too, but in a shared library each
/// lookup is a call to __tls_get_addr; this is one register read.)
pub fn current() -> usize {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as usize }
}
