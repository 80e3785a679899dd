//! Plugins (CONTRACT §9): shared objects in `info->plugin_dirs` offering
//! protocols (and extensions) through `init_<name>` / `destroy_<name>`.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};
use std::path::Path;

use super::types::{
    lws_context, lws_plugin_capability, lws_plugin_destroy_func, lws_plugin_init_func,
    lws_protocols,
};
use crate::plat::dl::Library;

/// `LWS_PLUGIN_API_MAGIC`
pub const API_MAGIC: u32 = 180;

/// One loaded plugin.
pub(crate) struct Plugin {
    pub file: String,
    /// `<name>` of `init_<name>` / `destroy_<name>`
    name: String,
    /// the plugin's protocols: address and count (static data of the
    /// library, valid until it is closed)
    protocols: usize,
    count_protocols: usize,
    /// the extensions it offers (every vhost gets them, as with lws)
    pub extensions: Vec<crate::ext::Declared>,
    lib: Library,
}

impl Plugin {
    /// The protocols the plugin offers.
    pub fn protocols(&self) -> &[lws_protocols] {
        if self.protocols == 0 || self.count_protocols == 0 {
            return &[];
        }
        // SAFETY: init reported this array and count; the library (and so
        // the array) stays loaded as long as self lives.
        unsafe {
            std::slice::from_raw_parts(self.protocols as *const lws_protocols, self.count_protocols)
        }
    }
}

/// The `<name>`s to try for `init_<name>` in `file`: "lib" + name + ".so"
/// gives name; otherwise the file name without ".so", then the original's
/// rule (first three and last three characters dropped).
fn symbol_names(file: &str) -> Vec<String> {
    let Some(stem) = file.strip_suffix(".so") else {
        return Vec::new();
    };
    if let Some(name) = stem.strip_prefix("lib") {
        return vec![name.to_string()];
    }
    let mut names = vec![stem.to_string()];
    if let Some(snipped) = stem.get(3..) {
        names.push(snipped.to_string());
    }
    names
}

/// The plugin files of `dir`: `*.so` of at least 7 characters, sorted.
fn plugin_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut files: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|f| f.len() >= 7 && f.ends_with(".so"))
        .collect();
    files.sort();
    Ok(files)
}

/// Loads the plugins of every directory in the NULL-terminated `dirs`, in
/// name order per directory. A file that cannot be opened, lacks its init
/// symbol, reports another API magic or whose init fails is logged and
/// skipped.
///
/// # Safety
/// `dirs` is NULL or a NULL-terminated array of C strings; `context` is the
/// context being created.
pub(crate) unsafe fn load(
    context: *mut lws_context,
    mut dirs: *const *const c_char,
) -> Vec<Plugin> {
    let mut out = Vec::new();
    if dirs.is_null() {
        return out;
    }
    lwsl_notice!("  Plugins:");
    // SAFETY: per this function's contract.
    while let Some(&dir) = unsafe { dirs.as_ref() } {
        if dir.is_null() {
            break;
        }
        // SAFETY: a C string.
        let dir_s = unsafe { CStr::from_ptr(dir) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: still inside the NULL-terminated array.
        dirs = unsafe { dirs.add(1) };
        let files = match plugin_files(Path::new(&dir_s)) {
            Ok(f) => f,
            Err(e) => {
                lwsl_err!("Scandir on {dir_s} failed: {e}");
                continue;
            }
        };
        for file in files {
            lwsl_notice!("   {file}");
            // SAFETY: context is the context being created.
            if let Some(p) = unsafe { load_one(context, Path::new(&dir_s), &file) } {
                out.push(p);
            }
        }
    }
    out
}

/// # Safety
/// As for load.
unsafe fn load_one(context: *mut lws_context, dir: &Path, file: &str) -> Option<Plugin> {
    let lib = match Library::open(&dir.join(file)) {
        Ok(lib) => lib,
        Err(e) => {
            lwsl_err!("Error loading DSO {file}: {e}");
            return None;
        }
    };
    let Some((name, init)) = symbol_names(file)
        .into_iter()
        .find_map(|n| lib.symbol(&format!("init_{n}")).map(|a| (n, a)))
    else {
        lwsl_err!("Failed to get init on {file}: no init_<name> symbol");
        return None;
    };
    // SAFETY: init_<name> is a lws_plugin_init_func by the plugin API.
    let init: lws_plugin_init_func = unsafe { std::mem::transmute::<usize, _>(init) };
    let mut caps = lws_plugin_capability {
        api_magic: API_MAGIC,
        protocols: std::ptr::null(),
        count_protocols: 0,
        extensions: std::ptr::null(),
        count_extensions: 0,
    };
    // SAFETY: calling the plugin's init as the API defines it.
    let r: c_int = unsafe { init.map_or(-1, |f| f(context, &mut caps)) };
    if r != 0 {
        lwsl_err!("Initializing {file} failed {r}");
        return None;
    }
    if caps.api_magic != API_MAGIC {
        lwsl_err!(
            "Plugin {file} reports API magic {}, not {API_MAGIC}: skipped",
            caps.api_magic
        );
        return None;
    }
    let count_protocols = usize::try_from(caps.count_protocols).unwrap_or(0);
    if count_protocols > 0 && caps.protocols.is_null() {
        lwsl_err!("Plugin {file} reports protocols but no array: skipped");
        return None;
    }
    let count_extensions = usize::try_from(caps.count_extensions).unwrap_or(0);
    Some(Plugin {
        file: file.to_string(),
        name,
        protocols: caps.protocols as usize,
        count_protocols,
        // SAFETY: init reported this array and count (static data of the
        // plugin; the strings are copied).
        extensions: unsafe { super::ext::declared(caps.extensions, count_extensions) },
        lib,
    })
}

/// Calls each plugin's `destroy_<name>` (if it has one), then closes it;
/// with `keep_code` it stays mapped instead: a libuv / libev loop may still
/// owe the plugin callbacks (a handle's close callback runs on the
/// application's next turn of the loop, after the context is gone).
///
/// # Safety
/// `context` is the context the plugins were loaded for.
pub(crate) unsafe fn destroy(context: *mut lws_context, plugins: Vec<Plugin>, keep_code: bool) {
    for p in plugins {
        if let Some(addr) = p.lib.symbol(&format!("destroy_{}", p.name)) {
            // SAFETY: destroy_<name> is a lws_plugin_destroy_func by the API.
            let f: lws_plugin_destroy_func = unsafe { std::mem::transmute::<usize, _>(addr) };
            if let Some(f) = f {
                // SAFETY: calling the plugin's destroy as the API defines it.
                let r = unsafe { f(context) };
                if r != 0 {
                    lwsl_err!("Destroying plugin {} failed {r}", p.file);
                }
            }
        }
        if keep_code {
            p.lib.keep_mapped();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::symbol_names;

    #[test]
    fn init_symbol_names() {
        assert_eq!(symbol_names("libprotocol_foo.so"), ["protocol_foo"]);
        assert_eq!(
            symbol_names("protocol_foo.so"),
            ["protocol_foo", "tocol_foo"]
        );
        assert!(symbol_names("readme.txt").is_empty());
    }
}
