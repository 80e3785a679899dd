//! The context's platform file operations: POSIX defaults, `lws_get_fops`,
//! and the core's [`FileOps`] view of the table, so that file serving goes
//! through whatever the application installed.

use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_long, c_uchar, c_ulong};
use std::ptr;

use super::handle;
use super::types::{lws, lws_context, lws_filefd_type, lws_plat_file_ops};
use crate::service::files::{FileOps, OpenFile};

const INVALID_FILE: lws_filefd_type = -1;

unsafe extern "C" fn posix_open(
    _wsi: *mut lws,
    filename: *const c_char,
    filelen: *mut c_ulong,
    flags: c_int,
) -> lws_filefd_type {
    if filename.is_null() {
        return INVALID_FILE;
    }
    // SAFETY: filename is a C string; st and filelen are valid for writes.
    unsafe {
        let fd = libc::open(filename, flags | libc::O_CLOEXEC);
        if fd < 0 {
            return INVALID_FILE;
        }
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 || (st.st_mode & libc::S_IFMT) == libc::S_IFDIR {
            libc::close(fd);
            return INVALID_FILE;
        }
        if !filelen.is_null() {
            *filelen = st.st_size as c_ulong;
        }
        fd
    }
}

unsafe extern "C" fn posix_close(_wsi: *mut lws, fd: lws_filefd_type) -> c_int {
    // SAFETY: closes the caller's descriptor.
    unsafe { libc::close(fd) }
}

unsafe extern "C" fn posix_seek_cur(
    _wsi: *mut lws,
    fd: lws_filefd_type,
    offset: c_long,
) -> c_ulong {
    // SAFETY: plain syscall; -1 becomes (unsigned long)-1 as in the original.
    unsafe { libc::lseek(fd, offset, libc::SEEK_CUR) as c_ulong }
}

/// The fops convention for a read(2)/write(2) result: 0 with `*amount` set,
/// or -1 with `*amount` 0.
///
/// # Safety
/// `amount` is NULL or valid for writes.
unsafe fn io_result(n: isize, amount: *mut c_ulong) -> c_int {
    if !amount.is_null() {
        // SAFETY: per this function's contract.
        unsafe { *amount = n.max(0) as c_ulong };
    }
    if n < 0 {
        -1
    } else {
        0
    }
}

unsafe extern "C" fn posix_read(
    _wsi: *mut lws,
    fd: lws_filefd_type,
    amount: *mut c_ulong,
    buf: *mut c_uchar,
    len: c_ulong,
) -> c_int {
    // SAFETY: buf has len writable bytes; amount is valid for writes.
    unsafe { io_result(libc::read(fd, buf.cast(), len as usize), amount) }
}

unsafe extern "C" fn posix_write(
    _wsi: *mut lws,
    fd: lws_filefd_type,
    amount: *mut c_ulong,
    buf: *mut c_uchar,
    len: c_ulong,
) -> c_int {
    // SAFETY: buf has len readable bytes; amount is valid for writes.
    unsafe { io_result(libc::write(fd, buf.cast(), len as usize), amount) }
}

/// A context's table, filled with the POSIX implementations.
pub(crate) fn default_table() -> Box<UnsafeCell<lws_plat_file_ops>> {
    Box::new(UnsafeCell::new(lws_plat_file_ops {
        open: Some(posix_open),
        close: Some(posix_close),
        seek_cur: Some(posix_seek_cur),
        read: Some(posix_read),
        write: Some(posix_write),
    }))
}

/// The core's access to a context's table (by address: the table outlives
/// the context's connections).
pub(crate) struct CFileOps {
    pub table: usize,
}

impl CFileOps {
    fn ops(&self) -> lws_plat_file_ops {
        // SAFETY: table points at the context's live UnsafeCell; reading a
        // copy of five function pointers cannot tear in a harmful way while
        // the application rewrites them on the same (service) thread.
        unsafe { ptr::read(self.table as *const lws_plat_file_ops) }
    }
}

impl FileOps for CFileOps {
    fn open(&self, wsi: usize, path: &CStr) -> Option<OpenFile> {
        let open = self.ops().open?;
        let mut len: c_ulong = 0;
        // SAFETY: the application's open, called as the API documents.
        let fd = super::guard("fops open", INVALID_FILE, || unsafe {
            open(wsi as *mut lws, path.as_ptr(), &mut len, libc::O_RDONLY)
        });
        (fd != INVALID_FILE).then_some(OpenFile { fd, len })
    }

    fn read(&self, wsi: usize, fd: i32, buf: &mut [u8]) -> Option<usize> {
        let read = self.ops().read?;
        let mut amount: c_ulong = 0;
        // SAFETY: buf is writable for its length for the duration of the call.
        let r = super::guard("fops read", -1, || unsafe {
            read(
                wsi as *mut lws,
                fd,
                &mut amount,
                buf.as_mut_ptr(),
                buf.len() as c_ulong,
            )
        });
        (r == 0).then_some((amount as usize).min(buf.len()))
    }

    fn plain_fds(&self) -> bool {
        let ops = self.ops();
        ops.open.map(|f| f as usize) == Some(posix_open as *const () as usize)
            && ops.read.map(|f| f as usize) == Some(posix_read as *const () as usize)
    }

    fn close(&self, wsi: usize, fd: i32) {
        if let Some(close) = self.ops().close {
            // SAFETY: the application's close for a handle its open returned.
            super::guard("fops close", 0, || unsafe { close(wsi as *mut lws, fd) });
        }
    }
}

/// The context's file operations, which the application may change.
///
/// # Safety
/// `context` is NULL or a live context.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lws_get_fops(context: *mut lws_context) -> *mut lws_plat_file_ops {
    match handle::context("lws_get_fops", context) {
        Some(h) => h.fops.get(),
        None => ptr::null_mut(),
    }
}
