//! Logging: a level mask, a replaceable sink, and the original's line format.
//!
//! Lines are at most 255 bytes (the original formats into a 256-byte buffer
//! and truncates). The default sink writes `lwsl_timestamp()`'s prefix and the
//! line to stderr in one write.

use std::ffi::CStr;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::ffi::enums::lws_log_levels;

pub const ERR: i32 = lws_log_levels::LLL_ERR as i32;
pub const WARN: i32 = lws_log_levels::LLL_WARN as i32;
pub const NOTICE: i32 = lws_log_levels::LLL_NOTICE as i32;
pub const INFO: i32 = lws_log_levels::LLL_INFO as i32;
pub const DEBUG: i32 = lws_log_levels::LLL_DEBUG as i32;
pub const PARSER: i32 = lws_log_levels::LLL_PARSER as i32;

/// ERR | WARN | NOTICE, as in the original.
const DEFAULT_LEVEL: i32 = ERR | WARN | NOTICE;

/// Longest line handed to a sink, excluding the terminating NUL.
pub const LINE_MAX: usize = 255;

const LEVEL_NAMES: [&str; lws_log_levels::LLL_COUNT as usize] = [
    "ERR",
    "WARN",
    "NOTICE",
    "INFO",
    "DEBUG",
    "PARSER",
    "HEADER",
    "EXTENSION",
    "CLIENT",
    "LATENCY",
];

/// Where log lines go: called with the line's level bit and the line.
pub type Sink = Arc<dyn Fn(i32, &CStr) + Send + Sync>;

static LEVEL: AtomicI32 = AtomicI32::new(DEFAULT_LEVEL);
/// `None` is the stderr sink.
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Sets the level mask and, when `sink` is given, the sink (a missing sink
/// keeps the current one, as `lws_set_log_level(level, NULL)` does).
pub fn set_level(level: i32, sink: Option<Sink>) {
    LEVEL.store(level, Ordering::Relaxed);
    if let Some(sink) = sink {
        *SINK.write().unwrap_or_else(|e| e.into_inner()) = Some(sink);
    }
}

pub fn enabled(level: i32) -> bool {
    LEVEL.load(Ordering::Relaxed) & level != 0
}

/// Hands a finished line to the sink, if `level` is enabled.
pub fn emit(level: i32, line: &CStr) {
    if !enabled(level) {
        return;
    }
    // Clone the sink out of the lock: a sink may itself log or change the sink.
    let sink = SINK.read().unwrap_or_else(|e| e.into_inner()).clone();
    match sink {
        Some(sink) => sink(level, line),
        None => emit_stderr(level, line.to_bytes()),
    }
}

/// Formats and emits one line; what does not fit in [`LINE_MAX`] is dropped.
pub fn log(level: i32, args: fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let mut line = LineBuf::default();
    // LineBuf never fails: it truncates.
    let _ = line.write_fmt(args);
    emit(level, line.as_cstr());
}

/// The default sink: timestamp prefix and line, written to stderr at once.
pub fn emit_stderr(level: i32, line: &[u8]) {
    let mut out = Vec::with_capacity(64 + line.len());
    out.extend_from_slice(timestamp(level).as_bytes());
    out.extend_from_slice(line);
    // Nothing sensible to do if stderr is gone.
    let _ = std::io::stderr().lock().write_all(&out);
}

/// `[YYYY/MM/DD HH:MM:SS:FFFF] LEVEL: ` in local time, FFFF being the
/// hundreds of microseconds; empty unless `level` is exactly one known bit.
pub fn timestamp(level: i32) -> String {
    let Some(name) = level_name(level) else {
        return String::new();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let frac = (now.subsec_micros() / 100) % 10_000;
    match local_time(now.as_secs()) {
        Some(tm) => format!(
            "[{:04}/{:02}/{:02} {:02}:{:02}:{:02}:{:04}] {}: ",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
            frac,
            name
        ),
        None => format!("[{}:{:04}] {}: ", now.as_secs(), frac, name),
    }
}

fn level_name(level: i32) -> Option<&'static str> {
    LEVEL_NAMES
        .iter()
        .enumerate()
        .find(|(n, _)| level == 1 << n)
        .map(|(_, name)| *name)
}

fn local_time(secs: u64) -> Option<libc::tm> {
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: localtime_r only writes the tm we own; an all-zero tm is valid.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        (!libc::localtime_r(&t, &mut tm).is_null()).then_some(tm)
    }
}

/// The lines `lwsl_hexdump` logs at DEBUG: offset, 16 hex bytes, printable
/// characters.
pub fn hexdump_lines(buf: &[u8]) -> impl Iterator<Item = String> + '_ {
    buf.chunks(16).enumerate().map(|(row, chunk)| {
        let mut line = format!("{:04X}: ", row * 16);
        for b in chunk {
            let _ = write!(line, "{b:02X} ");
        }
        line.push_str(&"   ".repeat(16 - chunk.len()));
        line.push_str("   ");
        line.extend(chunk.iter().map(|&b| {
            if (b' '..127).contains(&b) {
                b as char
            } else {
                '.'
            }
        }));
        line.push_str(&" ".repeat(16 - chunk.len()));
        line.push('\n');
        line
    })
}

/// A NUL-terminated line of at most [`LINE_MAX`] bytes that truncates what
/// does not fit (interior NULs end the line early, as in C).
struct LineBuf {
    bytes: [u8; LINE_MAX + 1],
    len: usize,
}

impl Default for LineBuf {
    fn default() -> Self {
        LineBuf {
            bytes: [0; LINE_MAX + 1],
            len: 0,
        }
    }
}

impl LineBuf {
    fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.bytes).unwrap_or_default()
    }
}

impl fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(LINE_MAX - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Logs at one level from Rust code, like the C `lwsl_*` macros.
macro_rules! lws_log {
    ($level:expr, $($arg:tt)*) => {
        if $crate::plat::log::enabled($level) {
            $crate::plat::log::log($level, format_args!($($arg)*))
        }
    };
}

macro_rules! lwsl_err {
    ($($arg:tt)*) => { lws_log!($crate::plat::log::ERR, "{}\n", format_args!($($arg)*)) };
}

macro_rules! lwsl_warn {
    ($($arg:tt)*) => { lws_log!($crate::plat::log::WARN, "{}\n", format_args!($($arg)*)) };
}

macro_rules! lwsl_notice {
    ($($arg:tt)*) => { lws_log!($crate::plat::log::NOTICE, "{}\n", format_args!($($arg)*)) };
}

macro_rules! lwsl_info {
    ($($arg:tt)*) => { lws_log!($crate::plat::log::INFO, "{}\n", format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_names_single_levels_only() {
        let t = timestamp(NOTICE);
        assert!(t.starts_with('[') && t.ends_with("] NOTICE: "), "{t}");
        // "[YYYY/MM/DD HH:MM:SS:FFFF] "
        assert_eq!(t.find(']'), Some(25), "{t}");
        assert_eq!(timestamp(ERR | WARN), "");
        assert_eq!(timestamp(0), "");
        assert!(timestamp(1 << 9).ends_with("LATENCY: "));
        assert_eq!(timestamp(1 << 10), "");
    }

    #[test]
    fn lines_truncate_at_255_bytes() {
        let mut line = LineBuf::default();
        let _ = write!(line, "{}", "x".repeat(300));
        assert_eq!(line.as_cstr().to_bytes().len(), LINE_MAX);
    }

    #[test]
    fn hexdump_matches_original_layout() {
        let lines: Vec<String> = hexdump_lines(b"ABC\x00\x7f0123456789abcdefg").collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            "0000: 41 42 43 00 7F 30 31 32 33 34 35 36 37 38 39 61    ABC..0123456789a\n"
        );
        assert_eq!(
            lines[1],
            format!(
                "0010: 62 63 64 65 66 67 {}   bcdefg{}\n",
                "   ".repeat(10),
                " ".repeat(10)
            )
        );
    }
}
