//! Shared objects loaded at run time (plugins): `dlopen`, `dlsym`, `dlclose`
//! behind a handle that closes the library when dropped.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// An open shared object; `dlclose`d on drop.
pub struct Library {
    handle: std::ptr::NonNull<libc::c_void>,
}

// SAFETY: a dlopen handle may be used and closed from any thread.
unsafe impl Send for Library {}
// SAFETY: dlsym on a handle is thread-safe.
unsafe impl Sync for Library {}

/// The text of the last dl* error of this thread.
fn last_error() -> String {
    // SAFETY: dlerror returns NULL or a C string valid until the next dl* call.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown error".into()
    } else {
        // SAFETY: non-NULL, a C string (copied at once).
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

impl Library {
    /// Opens `path` with every symbol resolved now (RTLD_NOW), as lws did.
    pub fn open(path: &Path) -> Result<Library, String> {
        let cpath = CString::new(path.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: a C string; dlopen runs the object's constructors, which is
        // what loading a plugin means.
        let handle = unsafe { libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW) };
        std::ptr::NonNull::new(handle)
            .map(|handle| Library { handle })
            .ok_or_else(last_error)
    }

    /// The address of the exported symbol `name`, if there is one.
    pub fn symbol(&self, name: &str) -> Option<usize> {
        let cname = CString::new(name).ok()?;
        // SAFETY: a live handle and a C string.
        let addr = unsafe { libc::dlsym(self.handle.as_ptr(), cname.as_ptr()) };
        (!addr.is_null()).then_some(addr as usize)
    }
}

/// The address `name` has for the process as a whole (`dlsym` with
/// RTLD_DEFAULT), if it is defined.
pub fn global_symbol(name: &str) -> Option<usize> {
    let cname = CString::new(name).ok()?;
    // SAFETY: RTLD_DEFAULT and a C string.
    let addr = unsafe { libc::dlsym(libc::RTLD_DEFAULT, cname.as_ptr()) };
    (!addr.is_null()).then_some(addr as usize)
}

impl Library {
    /// Leaves the library mapped for the rest of the process (no dlclose):
    /// code of it may still be called back.
    pub fn keep_mapped(self) {
        std::mem::forget(self);
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        // SAFETY: the handle came from dlopen and is closed once.
        if unsafe { libc::dlclose(self.handle.as_ptr()) } != 0 {
            lwsl_err!("dlclose: {}", last_error());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_an_error() {
        assert!(Library::open(Path::new("/nonexistent/libnothing.so")).is_err());
    }

    #[test]
    fn libc_symbols_resolve() {
        let lib = Library::open(Path::new("libc.so.6")).expect("libc");
        assert!(lib.symbol("strlen").is_some());
        assert!(lib.symbol("no_such_symbol_here_at_all").is_none());
    }
}
