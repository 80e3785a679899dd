//! Child processes for CGI: spawning a script on three non-blocking pipes
//! in its own process group, watching for its exit (a pidfd the service
//! loop polls), signalling the group, reaping, and raw pipe I/O.
//!
//! Every descriptor the library opens is close-on-exec already; the child
//! additionally marks every descriptor above its stdio close-on-exec
//! before exec (`close_range`), so the application's own descriptors and
//! the other scripts' pipe ends never leak into a script (a leaked stdin
//! write end would keep another script from ever seeing its EOF).

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// A script started by [`spawn`].
pub struct Spawned {
    pub pid: i32,
    /// write end of the script's stdin
    pub stdin: OwnedFd,
    /// read end of the script's stdout
    pub stdout: OwnedFd,
    /// read end of the script's stderr
    pub stderr: OwnedFd,
    /// readable once the script has exited (None where the kernel has no
    /// pidfd_open: the exit is then noticed by polling `try_wait`)
    pub exit: Option<OwnedFd>,
}

/// How a script ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// exit(code)
    Code(i32),
    /// killed by this signal
    Signal(i32),
    /// already reaped by someone else (the application's SIGCHLD handler)
    Unknown,
}

impl Exit {
    /// exit(0), or an exit whose status someone else took.
    pub fn success(self) -> bool {
        matches!(self, Exit::Code(0) | Exit::Unknown)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
            Exit::Unknown => write!(f, "reaped elsewhere"),
        }
    }
}

/// Starts `argv[0]` (looked up in the `PATH` of `env` when it has no `/`)
/// with exactly the environment `env`, in `dir`, as the leader of a new
/// process group, its stdio on non-blocking pipes. The child gets SIGTERM
/// if the thread that started it dies (`PR_SET_PDEATHSIG`).
pub fn spawn(argv: &[OsString], env: &[(OsString, OsString)], dir: &str) -> io::Result<Spawned> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let highest = highest_fd();
    // SAFETY: the closure runs in the forked child before exec and makes
    // only async-signal-safe system calls, touching no memory but locals.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            );
            mark_cloexec_from(3, highest);
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = i32::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(io::Error::other("no pipes"));
    };
    // (the Child handle is dropped without waiting: we reap by pid)
    drop(child);
    let (stdin, stdout, stderr) = (
        OwnedFd::from(stdin),
        OwnedFd::from(stdout),
        OwnedFd::from(stderr),
    );
    for fd in [&stdin, &stdout, &stderr] {
        set_nonblocking(fd.as_raw_fd())?;
    }
    Ok(Spawned {
        pid,
        stdin,
        stdout,
        stderr,
        exit: pidfd_open(pid),
    })
}

/// The highest descriptor open now (the fallback bound for marking them
/// close-on-exec where close_range cannot).
fn highest_fd() -> i32 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                .max()
                .unwrap_or(1024)
        })
        .unwrap_or(1024)
}

/// In the forked child: every descriptor from `first` on close-on-exec.
fn mark_cloexec_from(first: u32, highest: i32) {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: plain system calls on descriptor numbers.
    unsafe {
        if libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) == 0 {
            return;
        }
        for fd in first as i32..=highest {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; a descriptor it returns
    // (close-on-exec by definition) is new and ours alone.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = RawFd::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: as above.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The script's exit, reaping it; None while it runs.
pub fn try_wait(pid: i32) -> Option<Exit> {
    let mut status = 0;
    // SAFETY: waitpid writes the status int we pass.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r == 0 {
        return None;
    }
    if r < 0 {
        return match io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => None,
            _ => Some(Exit::Unknown),
        };
    }
    Some(if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    })
}

/// Waits for a script that was sent SIGKILL (context destruction).
pub fn wait_blocking(pid: i32) {
    let mut status = 0;
    loop {
        // SAFETY: as in try_wait.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// Sends `sig` to the script's process group (its children too), or to
/// the script alone if the group is gone.
pub fn kill_group(pid: i32, sig: i32) {
    if pid <= 0 {
        return;
    }
    // SAFETY: kill takes plain integers.
    unsafe {
        if libc::kill(-pid, sig) < 0 {
            libc::kill(pid, sig);
        }
    }
}

pub const SIGTERM: i32 = libc::SIGTERM;
pub const SIGKILL: i32 = libc::SIGKILL;

/// One non-blocking read: Ok(0) at EOF, WouldBlock when empty.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: reads into the buffer we own, at most its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// One non-blocking write: what the pipe took (WouldBlock when full,
/// BrokenPipe once the reader is gone).
pub fn write(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: writes from the slice we were given, at most its length.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A pipe's read end whose writers are all gone and that holds nothing
/// more: EOF, without consuming anything (what a read of 0 would say).
pub fn at_eof(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: polls the one pollfd we pass, without waiting.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    // once hung up nothing new can arrive, so an empty pipe stays empty
    r == 1 && p.revents & libc::POLLHUP != 0 && pending_bytes(fd) == 0
}

/// Bytes waiting in a pipe (FIONREAD); 0 if unknown.
pub fn pending_bytes(fd: RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if r < 0 {
        0
    } else {
        usize::try_from(n).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn wait_exit(s: &Spawned) -> Exit {
        for _ in 0..500 {
            if let Some(e) = try_wait(s.pid) {
                return e;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("child did not exit");
    }

    fn read_all(fd: RawFd) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        for _ in 0..500 {
            match read(fd, &mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("no EOF");
    }

    #[test]
    fn environment_group_cwd_and_descriptors() {
        // an fd without close-on-exec must not reach the child
        // SAFETY: a plain dup of stderr, closed below.
        let leaked = unsafe { libc::dup(2) };
        let env = vec![
            (OsString::from("PATH"), OsString::from("/bin:/usr/bin")),
            (OsString::from("X"), OsString::from("y z")),
        ];
        let s = spawn(
            &os(&[
                "sh",
                "-c",
                "echo \"$X|$(pwd)|$(ls /proc/self/fd | wc -l)\"; ps -o pgid= -p $$",
            ]),
            &env,
            "/tmp",
        )
        .unwrap();
        let out = String::from_utf8(read_all(s.stdout.as_raw_fd())).unwrap();
        // SAFETY: ours.
        unsafe { libc::close(leaked) };
        let mut lines = out.lines();
        let first: Vec<&str> = lines.next().unwrap().split('|').collect();
        assert_eq!(first[0], "y z");
        assert_eq!(first[1], "/tmp");
        // stdin, stdout, stderr and the one ls opens (plus the pipe for
        // wc's count, in the subshell's own numbering): never `leaked`
        assert!(first[2].trim().parse::<u32>().unwrap() <= 4, "{out}");
        if let Some(pgid) = lines.next() {
            assert_eq!(pgid.trim().parse::<i32>().unwrap(), s.pid);
        }
        assert_eq!(wait_exit(&s), Exit::Code(0));
        assert!(s.exit.is_some());
    }

    #[test]
    fn exit_codes_and_signals() {
        let env = vec![(OsString::from("PATH"), OsString::from("/bin:/usr/bin"))];
        let s = spawn(&os(&["sh", "-c", "exit 3"]), &env, "/").unwrap();
        assert_eq!(wait_exit(&s), Exit::Code(3));
        let s = spawn(&os(&["sh", "-c", "sleep 30"]), &env, "/").unwrap();
        kill_group(s.pid, SIGTERM);
        assert_eq!(wait_exit(&s), Exit::Signal(libc::SIGTERM));
        assert!(!Exit::Signal(9).success() && Exit::Code(0).success());
        assert!(spawn(&os(&["/nonexistent/script"]), &env, "/").is_err());
    }
}
