//! `lws_daemonize`: fork into the background guarded by a pid lock file.
//!
//! The parent waits (at most two seconds) for the child to confirm that it has
//! detached, records the child's pid in the lock file (mode 0640) and exits.
//! The child starts a new session, ignores the terminal signals, moves to
//! /tmp with umask 0, points stdio at /dev/null and carries on as the daemon;
//! the lock file is removed when it exits or receives SIGTERM. A lock file
//! naming a live process means a daemon already runs: the caller exits 1. A
//! lock naming a dead process is stale and replaced.
//!
//! Unlike the original, the signals the parent waits for are blocked until it
//! waits for them (a child that confirms early no longer leaves the parent to
//! time out without writing the lock), and a successful parent exits 0.

use std::ffi::{CStr, CString};
use std::fs;
use std::io::{self, Write as _};
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

/// Lock file path, leaked so that signal handlers and atexit can reach it.
static LOCK_PATH: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
/// The daemon's pid: the parent learns it from fork, the child from getpid.
static DAEMON_PID: AtomicI32 = AtomicI32::new(0);

/// How long the parent waits for the child's confirmation.
const CONFIRM_TIMEOUT_SECS: libc::c_uint = 2;

/// Reads the pid recorded in a lock file, if any.
fn recorded_pid(lock_path: &CStr) -> Option<libc::pid_t> {
    let path = lock_path.to_str().ok()?;
    let text = fs::read_to_string(path).ok()?;
    text.trim()
        .parse()
        .ok()
        .filter(|&pid: &libc::pid_t| pid > 0)
}

fn is_alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that pid exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Daemonizes the process. Returns 0 in the daemon; never returns in the
/// parent; exits 1 if a live daemon holds the lock.
pub fn daemonize(lock_path: &CStr) -> i32 {
    if let Some(pid) = recorded_pid(lock_path) {
        if is_alive(pid) {
            eprintln!("Daemon already running from pid {pid}");
            std::process::exit(1);
        }
        eprintln!(
            "Removing stale lock file {} from dead pid {pid}",
            lock_path.to_string_lossy()
        );
        let _ = fs::remove_file(lock_path.to_string_lossy().as_ref());
    }
    let path = CString::from(lock_path).into_raw();
    LOCK_PATH.store(path, Ordering::SeqCst);
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();

    // SAFETY: plain POSIX process and signal calls; the handlers only use
    // async-signal-safe calls and the statics above.
    unsafe {
        let mut waited: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut waited);
        for sig in [libc::SIGUSR1, libc::SIGCHLD, libc::SIGALRM] {
            libc::sigaddset(&mut waited, sig);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &waited, &mut previous);

        let pid = libc::fork();
        if pid < 0 {
            eprintln!("unable to fork daemon: {}", io::Error::last_os_error());
            libc::_exit(9);
        }
        if pid > 0 {
            DAEMON_PID.store(pid, Ordering::SeqCst);
            install(libc::SIGUSR1, parent_on_signal);
            install(libc::SIGCHLD, parent_on_signal);
            install(libc::SIGALRM, parent_on_signal);
            libc::alarm(CONFIRM_TIMEOUT_SECS);
            let mut during = previous;
            for sig in [libc::SIGUSR1, libc::SIGCHLD, libc::SIGALRM] {
                libc::sigdelset(&mut during, sig);
            }
            loop {
                libc::sigsuspend(&during);
            }
        }

        DAEMON_PID.store(libc::getpid(), Ordering::SeqCst);
        let parent = libc::getppid();
        for sig in [libc::SIGTSTP, libc::SIGTTOU, libc::SIGTTIN, libc::SIGHUP] {
            libc::signal(sig, libc::SIG_IGN);
        }
        libc::umask(0);
        if libc::setsid() < 0 {
            eprintln!(
                "unable to create a new session: {}",
                io::Error::last_os_error()
            );
            libc::_exit(2);
        }
        if libc::chdir(c"/tmp".as_ptr()) < 0 {
            eprintln!(
                "unable to change directory to /tmp: {}",
                io::Error::last_os_error()
            );
            libc::_exit(3);
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            if null > 2 {
                libc::close(null);
            }
        }
        install(libc::SIGTERM, daemon_on_sigterm);
        libc::atexit(daemon_at_exit);
        libc::sigprocmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut());
        libc::kill(parent, libc::SIGUSR1);
    }
    0
}

unsafe fn install(sig: libc::c_int, handler: extern "C" fn(libc::c_int)) {
    let mut act: libc::sigaction = std::mem::zeroed();
    act.sa_sigaction = handler as libc::sighandler_t;
    libc::sigemptyset(&mut act.sa_mask);
    libc::sigaction(sig, &act, std::ptr::null_mut());
}

/// Parent: SIGUSR1 is the child's "detached" confirmation; SIGCHLD (the child
/// died) and SIGALRM (no confirmation in time) mean failure.
extern "C" fn parent_on_signal(sig: libc::c_int) {
    let code = if sig == libc::SIGUSR1 {
        write_lock_file()
    } else {
        1
    };
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(code) }
}

/// Writes the daemon's pid into the lock file: 0 on success, 1 on failure.
/// Runs in a signal handler, so it formats by hand and uses raw syscalls.
fn write_lock_file() -> libc::c_int {
    let path = LOCK_PATH.load(Ordering::SeqCst);
    let mut digits = [0u8; 12];
    let mut n = digits.len();
    let mut pid = DAEMON_PID.load(Ordering::SeqCst).unsigned_abs();
    loop {
        n -= 1;
        digits[n] = b'0' + (pid % 10) as u8;
        pid /= 10;
        if pid == 0 {
            break;
        }
    }
    let text = &digits[n..];
    // SAFETY: path is the leaked NUL-terminated lock path; the buffer is ours.
    unsafe {
        let fd = libc::open(path, libc::O_TRUNC | libc::O_RDWR | libc::O_CREAT, 0o640);
        if fd < 0 {
            return 1;
        }
        let written = libc::write(fd, text.as_ptr().cast(), text.len());
        libc::close(fd);
        libc::c_int::from(written != text.len() as isize)
    }
}

/// Daemon: remove the lock, then die of the signal as the original does.
extern "C" fn daemon_on_sigterm(_sig: libc::c_int) {
    remove_lock();
    // SAFETY: async-signal-safe calls on our own pid.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}

extern "C" fn daemon_at_exit() {
    remove_lock();
}

fn remove_lock() {
    let path = LOCK_PATH.load(Ordering::SeqCst);
    // SAFETY: getpid/unlink are async-signal-safe; path is NUL-terminated.
    unsafe {
        if !path.is_null() && libc::getpid() == DAEMON_PID.load(Ordering::SeqCst) {
            libc::unlink(path);
        }
    }
}
