//! The application's allocator (`lws_set_allocator`).
//!
//! Memory the library allocates on the application's behalf comes from a
//! `realloc`-like function the application may install (size 0 frees):
//! per-session data, per-vhost protocol data, the connection and WebSocket
//! state behind each `struct lws *`, and the buffers handed to the
//! application (RECEIVE's buffer, the file pieces PROCESS_HTML rewrites). Those objects are [`AppBytes`] and
//! [`AppBox`]; without an application allocator they come from `malloc`.
//!
//! Each block remembers the function that made it and goes back to that
//! one, so blocks made before the application installs (or changes) its
//! allocator are freed the way they were allocated. An allocator that
//! refuses (NULL) is an error the caller handles (the connection is refused
//! or closed, `lws_protocol_vh_priv_zalloc` returns NULL), logged here.
//!
//! The rest of the library's memory (internal Rust collections) comes from
//! the process allocator; zlib and OpenSSL use their own defaults, as they
//! did for the original.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `void *(*)(void *ptr, size_t size)`: realloc's contract, size 0 frees.
pub type ReallocFn = unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void;

/// The installed function's address, 0 for none.
static APP: AtomicUsize = AtomicUsize::new(0);

/// Installs the application's allocator (None: back to `malloc`) for the
/// blocks allocated from now on.
pub fn set(f: Option<ReallocFn>) {
    APP.store(f.map_or(0, |f| f as usize), Ordering::Release);
}

/// The allocator refused a block (already logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

/// One allocation and the allocator it came from.
struct Block {
    base: NonNull<u8>,
    /// the application's function that made it, 0 for malloc
    by: usize,
}

// SAFETY: a block is plain memory owned by whoever holds it; the allocator
// (malloc, or the application's, which the original also called from any
// service thread) frees it from any thread.
unsafe impl Send for Block {}

impl Block {
    /// `size` (> 0) bytes, zeroed with `zero`, or None (logged) when the
    /// allocator refuses.
    fn alloc(size: usize, zero: bool, what: &str) -> Option<Block> {
        let by = APP.load(Ordering::Acquire);
        let p = if by == 0 {
            // SAFETY: malloc of a non-zero size.
            unsafe { libc::malloc(size) }
        } else {
            // SAFETY: `by` was stored from a ReallocFn by `set`; a fresh
            // allocation is realloc(NULL, size).
            unsafe {
                let f = std::mem::transmute::<usize, ReallocFn>(by);
                f(std::ptr::null_mut(), size)
            }
        };
        let Some(base) = NonNull::new(p.cast::<u8>()) else {
            lwsl_err!(
                "out of memory: {} refused {size} bytes for {what}",
                if by == 0 {
                    "malloc"
                } else {
                    "the application's allocator"
                }
            );
            return None;
        };
        if zero {
            // SAFETY: the allocator gave `size` writable bytes at `base`.
            unsafe { std::ptr::write_bytes(base.as_ptr(), 0, size) };
        }
        Some(Block { base, by })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let p = self.base.as_ptr().cast::<c_void>();
        if self.by == 0 {
            // SAFETY: malloc made it and nothing uses it any more.
            unsafe { libc::free(p) };
        } else {
            // SAFETY: the application's function made it; size 0 frees (what
            // it returns then is of no interest).
            unsafe {
                let f = std::mem::transmute::<usize, ReallocFn>(self.by);
                f(p, 0);
            }
        }
    }
}

/// Zeroed bytes handed to C (per-session and per-vhost protocol data, file
/// pieces): the address is what counts; C writes through it while Rust
/// holds the value, so Rust reads or writes the bytes only through
/// `&mut self`.
pub struct AppBytes {
    block: Option<Block>,
    len: usize,
}

impl AppBytes {
    /// `len` zeroed bytes, or None (logged, naming `what`) when the
    /// allocator refuses them; `len` 0 allocates nothing.
    pub fn zeroed(len: usize, what: &str) -> Option<AppBytes> {
        let block = if len == 0 {
            None
        } else {
            Some(Block::alloc(len, true, what)?)
        };
        Some(AppBytes { block, len })
    }

    /// Empty: no allocation.
    pub const fn empty() -> AppBytes {
        AppBytes {
            block: None,
            len: 0,
        }
    }

    /// The address C gets (dangling but non-NULL when empty).
    pub fn as_ptr(&self) -> *mut u8 {
        self.block
            .as_ref()
            .map_or(NonNull::dangling().as_ptr(), |b| b.base.as_ptr())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for AppBytes {
    fn default() -> Self {
        AppBytes::empty()
    }
}

impl std::ops::Deref for AppBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `len` initialised (zeroed) bytes owned by this value.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for AppBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for Deref, borrowed exclusively.
        unsafe { std::slice::from_raw_parts_mut(self.as_ptr(), self.len) }
    }
}

impl std::fmt::Debug for AppBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppBytes({:p}, {})", self.as_ptr(), self.len)
    }
}

/// A `T` in memory from the application's allocator, like a `Box`.
pub struct AppBox<T> {
    ptr: NonNull<T>,
    _block: Block,
    _owns: PhantomData<T>,
}

// SAFETY: an AppBox owns its T as a Box does.
unsafe impl<T: Send> Send for AppBox<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for AppBox<T> {}

impl<T> AppBox<T> {
    /// Moves `value` into a block from the allocator, or gives None
    /// (logged, naming `what`; `value` dropped) when it refuses.
    pub fn new(value: T, what: &str) -> Option<AppBox<T>> {
        // room to align within whatever alignment the allocator gives
        let align = std::mem::align_of::<T>();
        let size = (std::mem::size_of::<T>() + align - 1).max(1);
        let block = Block::alloc(size, false, what)?;
        let offset = block.base.as_ptr().align_offset(align);
        // SAFETY: `offset` < align, so the aligned T fits in the block.
        let ptr = unsafe { block.base.as_ptr().add(offset) }.cast::<T>();
        // SAFETY: aligned, in bounds, uninitialised memory we own.
        unsafe { ptr.write(value) };
        Some(AppBox {
            // SAFETY: inside a non-NULL block.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            _block: block,
            _owns: PhantomData,
        })
    }
}

impl<T> Drop for AppBox<T> {
    fn drop(&mut self) {
        // SAFETY: the T was written in `new` and is dropped once, before
        // its block is freed (fields drop after this).
        unsafe { std::ptr::drop_in_place(self.ptr.as_ptr()) };
    }
}

impl<T> std::ops::Deref for AppBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a live, initialised T owned by this box.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> std::ops::DerefMut for AppBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for Deref, borrowed exclusively.
        unsafe { self.ptr.as_mut() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::Mutex;

    /// The tests share the process-wide allocator setting.
    static SERIAL: Mutex<()> = Mutex::new(());

    // per thread, so other tests running meanwhile do not disturb the counts
    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static CALLS: Cell<isize> = const { Cell::new(0) };
        static REFUSE: Cell<bool> = const { Cell::new(false) };
    }

    fn live() -> isize {
        LIVE.with(Cell::get)
    }

    /// Counts live blocks; 8-byte aligned only (a size header in front),
    /// as many counting allocators are.
    unsafe extern "C" fn counting(p: *mut c_void, size: usize) -> *mut c_void {
        CALLS.with(|c| c.set(c.get() + 1));
        unsafe {
            if size == 0 {
                if !p.is_null() {
                    LIVE.with(|c| c.set(c.get() - 1));
                    libc::free(p.cast::<u64>().sub(1).cast());
                }
                return std::ptr::null_mut();
            }
            if REFUSE.with(Cell::get) {
                return std::ptr::null_mut();
            }
            assert!(p.is_null(), "the library never grows a block");
            let h = libc::malloc(size + 8).cast::<u64>();
            *h = size as u64;
            LIVE.with(|c| c.set(c.get() + 1));
            h.add(1).cast()
        }
    }

    #[repr(align(16))]
    struct Aligned {
        v: [u64; 3],
        _witness: std::sync::Arc<()>,
    }

    #[test]
    fn blocks_go_back_to_the_allocator_that_made_them() {
        let _s = SERIAL.lock().unwrap();
        set(None);
        let before = AppBytes::zeroed(10, "test").unwrap();
        set(Some(counting));
        let bytes = AppBytes::zeroed(100, "test").unwrap();
        assert_eq!(live(), 1);
        assert!(bytes.iter().all(|&b| b == 0) && bytes.len() == 100);
        let witness = std::sync::Arc::new(());
        let b = AppBox::new(
            Aligned {
                v: [1, 2, 3],
                _witness: witness.clone(),
            },
            "test",
        )
        .unwrap();
        assert_eq!(b.as_ptr_for_test() as usize % 16, 0);
        assert_eq!(b.v, [1, 2, 3]);
        assert_eq!(live(), 2);
        assert_eq!(std::sync::Arc::strong_count(&witness), 2);
        // uninstalling leaves the blocks to the allocator that made them
        set(None);
        drop(b);
        assert_eq!(std::sync::Arc::strong_count(&witness), 1);
        drop(bytes);
        drop(before);
        assert_eq!(live(), 0);
        // nothing allocated for empty data
        let calls = CALLS.with(Cell::get);
        set(Some(counting));
        let empty = AppBytes::zeroed(0, "test").unwrap();
        assert!(empty.is_empty() && !empty.as_ptr().is_null());
        drop(empty);
        assert_eq!(CALLS.with(Cell::get), calls);
        set(None);
    }

    #[test]
    fn a_refusal_is_none_not_a_crash() {
        let _s = SERIAL.lock().unwrap();
        set(Some(counting));
        REFUSE.with(|r| r.set(true));
        assert!(AppBytes::zeroed(64, "test").is_none());
        let witness = std::sync::Arc::new(());
        assert!(AppBox::new(
            Aligned {
                v: [0; 3],
                _witness: witness.clone(),
            },
            "test"
        )
        .is_none());
        // the value was dropped, not leaked
        assert_eq!(std::sync::Arc::strong_count(&witness), 1);
        REFUSE.with(|r| r.set(false));
        set(None);
    }

    impl<T> AppBox<T> {
        fn as_ptr_for_test(&self) -> *const T {
            self.ptr.as_ptr()
        }
    }
}
