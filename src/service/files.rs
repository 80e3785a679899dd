//! File access for serving files. The C API lets applications replace the
//! file operations (`lws_get_fops`), so the core reaches files only through
//! this trait, which the FFI layer implements over the context's table.

use std::ffi::CStr;

/// An open file: the fops' handle and the file's length.
pub struct OpenFile {
    pub fd: i32,
    pub len: u64,
}

pub trait FileOps: Send + Sync {
    /// Opens `path` read-only for connection `wsi` (its C address).
    fn open(&self, wsi: usize, path: &CStr) -> Option<OpenFile>;
    /// Reads up to `buf.len()` bytes; None on error.
    fn read(&self, wsi: usize, fd: i32, buf: &mut [u8]) -> Option<usize>;
    fn close(&self, wsi: usize, fd: i32);
    /// Whether handles are plain OS file descriptors read by plain read(2)
    /// (the default operations), so the kernel may copy with sendfile.
    fn plain_fds(&self) -> bool;
}
