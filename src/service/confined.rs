//! State owned by one service thread but reachable from C through shared
//! handles.
//!
//! The C API lets callbacks re-enter the library at any time, so the core
//! never keeps state borrowed across a callback (DESIGN rule 1). `Confined`
//! makes a violation loud instead of a deadlock: a thread borrowing state it
//! already borrows panics (the export's guard turns that into its failure
//! value), like `RefCell`, while other threads simply wait, so contexts stay
//! `Sync` for `lws_cancel_service` and multi-threaded service.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::plat::thread;

pub struct Confined<T> {
    value: Mutex<T>,
    owner: AtomicUsize,
}

pub struct Borrow<'a, T> {
    guard: MutexGuard<'a, T>,
    owner: &'a AtomicUsize,
}

impl<T> Confined<T> {
    pub fn new(value: T) -> Self {
        Confined {
            value: Mutex::new(value),
            owner: AtomicUsize::new(0),
        }
    }

    /// Borrows the state for a short, callback-free section.
    #[track_caller]
    pub fn borrow(&self) -> Borrow<'_, T> {
        let me = thread::current();
        assert!(
            self.owner.load(Ordering::Relaxed) != me,
            "state borrowed re-entrantly"
        );
        let guard = self.value.lock().unwrap_or_else(|p| p.into_inner());
        self.owner.store(me, Ordering::Relaxed);
        Borrow {
            guard,
            owner: &self.owner,
        }
    }
}

impl<T> Drop for Borrow<'_, T> {
    fn drop(&mut self) {
        self.owner.store(0, Ordering::Relaxed);
    }
}

impl<T> Deref for Borrow<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for Borrow<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reentrant_borrow_panics_instead_of_deadlocking() {
        let c = Confined::new(1);
        let b = c.borrow();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| *c.borrow()));
        assert!(r.is_err());
        drop(b);
        assert_eq!(*c.borrow(), 1);
    }

    #[test]
    fn other_threads_wait() {
        let c = std::sync::Arc::new(Confined::new(0));
        let mut b = c.borrow();
        let c2 = c.clone();
        let t = std::thread::spawn(move || *c2.borrow() + 1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        *b = 41;
        drop(b);
        assert_eq!(t.join().unwrap(), 42);
    }
}
