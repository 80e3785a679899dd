//! --strace: counts the server's system calls over a measured window with
//! `strace -c -f -p PID` (all its threads), for a syscalls-per-message
//! figure. strace slows the server down a lot, so such a run is for the
//! count only, never for throughput.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Strace {
    child: Child,
    out: String,
}

/// The per-syscall counts of a `strace -c` summary.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counts {
    pub total: u64,
    /// (name, calls), most calls first
    pub calls: Vec<(String, u64)>,
}

impl Strace {
    /// Attaches to `pid` (and its threads) and returns once strace says it
    /// has attached. The summary goes to `out`.
    pub fn attach(pid: i32, out: &str) -> Result<Strace, String> {
        let mut child = Command::new("strace")
            .args(["-c", "-f", "-p", &pid.to_string(), "-o", out])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("strace: {e} (apt-get install strace)"))?;
        let stderr = child.stderr.take().ok_or("strace: no stderr")?;
        let (tx, rx) = mpsc::channel();
        // (reads strace's stderr to the end, so that it never blocks on it)
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut said = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(line) if line.contains("attached") => break,
                Ok(line) => said.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "strace did not attach to {pid}: {}",
                        said.join("; ")
                    ));
                }
            }
        }
        Ok(Strace {
            child,
            out: out.to_string(),
        })
    }

    /// Detaches (SIGINT) and reads the summary.
    pub fn finish(mut self) -> Result<Counts, String> {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let status = self.child.wait().map_err(|e| format!("strace: {e}"))?;
        let text = std::fs::read_to_string(&self.out)
            .map_err(|e| format!("strace summary {}: {e} (strace {status})", self.out))?;
        Ok(parse(&text))
    }
}

/// Parses `strace -c` output: "% time seconds usecs/call calls [errors]
/// syscall" rows between the dashed lines (the total row is left out and
/// summed anew).
pub fn parse(text: &str) -> Counts {
    let mut c = Counts::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 || f[0].parse::<f64>().is_err() {
            continue;
        }
        let name = f[f.len() - 1];
        if name == "total" {
            continue;
        }
        let Ok(calls) = f[3].parse::<u64>() else {
            continue;
        };
        c.total += calls;
        c.calls.push((name.to_string(), calls));
    }
    c.calls.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    c
}

impl Counts {
    /// As JSON: the total, the messages counted over the same window, the
    /// calls per message, and each syscall's calls per message.
    pub fn json(&self, messages: u64) -> String {
        let per = |n: u64| {
            if messages == 0 {
                "null".to_string()
            } else {
                format!("{:.4}", n as f64 / messages as f64)
            }
        };
        let calls: Vec<String> = self
            .calls
            .iter()
            .map(|(name, n)| format!("\"{name}\":{}", per(*n)))
            .collect();
        format!(
            "{{\"total\":{},\"messages\":{},\"per_msg\":{},\"per_msg_by_call\":{{{}}}}}",
            self.total,
            messages,
            per(self.total),
            calls.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 67.73    0.008141        1356         6         3 wait4
  6.75    0.000811           7       107        39 openat
  0.00    0.000000           0         1           getppid
------ ----------- ----------- --------- --------- ----------------
100.00    0.012019          22       114        42 total
";

    #[test]
    fn parses_a_summary() {
        let c = parse(SAMPLE);
        assert_eq!(c.total, 114);
        assert_eq!(
            c.calls,
            vec![
                ("openat".to_string(), 107),
                ("wait4".to_string(), 6),
                ("getppid".to_string(), 1)
            ]
        );
        assert_eq!(
            c.json(57),
            "{\"total\":114,\"messages\":57,\"per_msg\":2.0000,\"per_msg_by_call\":\
             {\"openat\":1.8772,\"wait4\":0.1053,\"getppid\":0.0175}}"
        );
        assert_eq!(parse("").total, 0);
    }
}
