//! Touching application memory whose extent we cannot trust without
//! risking a SIGSEGV.
//!
//! `lws_write` gets a pointer and a length from the application; a wrong
//! length (a bug, or -1 in a length field) reaches past the buffer. The
//! kernel checks such ranges for us: `send` and `process_vm_readv` /
//! `process_vm_writev` on our own pid return EFAULT (or a short count) for
//! pages that are not mapped, where a copy in user space would crash the
//! whole process.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

const PAGE: usize = 4096;
/// iovecs per process_vm_* call (IOV_MAX on Linux)
const IOV_MAX: usize = 1024;
/// copied per process_vm_readv call, so an absurd length never needs an
/// absurd buffer before it is found out
const CHUNK: usize = 1 << 20;

/// process_vm_* are refused (seccomp, old kernel): copy without the check.
static UNCHECKED: AtomicBool = AtomicBool::new(false);

fn unavailable(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM))
}

fn note_unavailable(e: &io::Error) {
    if !UNCHECKED.swap(true, Ordering::Relaxed) {
        lwsl_notice!(
            "process_vm_readv unavailable ({e}): application buffers are copied unchecked"
        );
    }
}

/// Reads `remote` ranges of our own memory into `local` ones; the bytes
/// read (short at the first unreadable page), or the error.
fn vm_read(local: &[libc::iovec], remote: &[libc::iovec]) -> io::Result<usize> {
    // SAFETY: the local iovecs point at memory we own and may write; the
    // kernel validates the remote ones and reports EFAULT instead of faulting.
    let n = unsafe {
        libc::process_vm_readv(
            libc::getpid(),
            local.as_ptr(),
            local.len() as libc::c_ulong,
            remote.as_ptr(),
            remote.len() as libc::c_ulong,
            0,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Appends the `len` bytes at `src` to `dst`, or fails with EFAULT (leaving
/// `dst` as it was) if any of them is not readable memory.
pub fn append_checked(dst: &mut Vec<u8>, src: *const u8, len: usize) -> io::Result<()> {
    let start = dst.len();
    let mut done = 0;
    while done < len {
        let take = (len - done).min(CHUNK);
        if dst.try_reserve(take).is_err() {
            dst.truncate(start);
            return Err(io::Error::from_raw_os_error(libc::ENOMEM));
        }
        let spare = dst.spare_capacity_mut();
        let local = [libc::iovec {
            iov_base: spare.as_mut_ptr().cast(),
            iov_len: take,
        }];
        let remote = [libc::iovec {
            iov_base: src.wrapping_add(done).cast_mut().cast(),
            iov_len: take,
        }];
        let n = match vm_read(&local, &remote) {
            Ok(n) => n,
            Err(e) if unavailable(&e) => {
                note_unavailable(&e);
                // SAFETY: without the kernel's help the caller's range is
                // taken on trust, as a plain copy always did.
                let s = unsafe { std::slice::from_raw_parts(src.wrapping_add(done), take) };
                dst.extend_from_slice(s);
                done += take;
                continue;
            }
            Err(e) => {
                dst.truncate(start);
                return Err(e);
            }
        };
        if n < take {
            dst.truncate(start);
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        // SAFETY: the kernel wrote n initialised bytes into the spare capacity.
        unsafe { dst.set_len(dst.len() + n) };
        done += n;
    }
    Ok(())
}

/// Whether every page of `[start, start + len)` is mapped readable and,
/// with `write`, writable: one byte of each page is read and, for
/// `write`, written back unchanged.
///
/// A range within one page is the page of the buffer the application
/// pointed at and is taken as good without a syscall: a wrong length can
/// only fault by reaching into another page, and small messages (most of
/// them) stay in one.
pub fn accessible(start: *const u8, len: usize, write: bool) -> bool {
    if len == 0 {
        return true;
    }
    let Some(end) = (start as usize).checked_add(len) else {
        return false;
    };
    if start as usize / PAGE == (end - 1) / PAGE {
        return true;
    }
    let mut page = start as usize;
    while page < end {
        // one byte at `page`, then at the start of each following page
        let mut remote = Vec::with_capacity(IOV_MAX);
        while page < end && remote.len() < IOV_MAX {
            remote.push(libc::iovec {
                iov_base: page as *mut libc::c_void,
                iov_len: 1,
            });
            page = (page / PAGE + 1) * PAGE;
        }
        let mut bytes = vec![0u8; remote.len()];
        let local = [libc::iovec {
            iov_base: bytes.as_mut_ptr().cast(),
            iov_len: bytes.len(),
        }];
        match vm_read(&local, &remote) {
            Ok(n) if n == bytes.len() => {}
            Ok(_) => return false,
            Err(e) if unavailable(&e) => {
                note_unavailable(&e);
                return true;
            }
            Err(_) => return false,
        }
        if write {
            // SAFETY: as in vm_read; the same bytes go back where they
            // were read from a moment ago, in memory the caller lent us.
            let n = unsafe {
                libc::process_vm_writev(
                    libc::getpid(),
                    local.as_ptr(),
                    1,
                    remote.as_ptr(),
                    remote.len() as libc::c_ulong,
                    0,
                )
            };
            if usize::try_from(n).ok() != Some(bytes.len()) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_readable_memory() {
        let src = b"hello world".to_vec();
        let mut dst = b">".to_vec();
        append_checked(&mut dst, src.as_ptr(), src.len()).unwrap();
        assert_eq!(dst, b">hello world");
        assert!(accessible(src.as_ptr(), src.len(), false));
        let mut w = vec![7u8; 3 * PAGE];
        assert!(accessible(w.as_mut_ptr(), w.len(), true));
        assert!(w.iter().all(|b| *b == 7));
    }

    #[test]
    fn unmapped_memory_is_an_error_not_a_crash() {
        // SAFETY: a fresh anonymous mapping of two pages, the second then
        // unmapped, so the first is followed by a hole.
        let base = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                2 * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            libc::munmap(p.cast::<u8>().add(PAGE).cast(), PAGE);
            p.cast::<u8>()
        };
        let mut dst = b"keep".to_vec();
        let e = append_checked(&mut dst, base, PAGE + 10).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EFAULT));
        assert_eq!(dst, b"keep");
        assert!(accessible(base, PAGE, true));
        assert!(!accessible(base, PAGE + 1, false));
        assert!(!accessible(base.wrapping_add(PAGE - 1), 2, true));
        assert!(!accessible(std::ptr::null(), PAGE + 1, false));
        // within one page: the application's own pointer, not checked
        assert!(accessible(base.wrapping_add(PAGE - 1), 1, false));
        // SAFETY: the first page is still ours.
        unsafe { libc::munmap(base.cast(), PAGE) };
    }
}
