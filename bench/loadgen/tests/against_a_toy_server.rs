//! Runs the load generator against a toy echo server in a thread: a
//! faithful one (the run passes and reports round trips) and one that
//! corrupts one byte of every 50th echo (the run must fail loudly); the
//! same with permessage-deflate, where a toy that corrupts or drops echoes
//! is also run with --tolerate-mismatch (counted, not fatal).

#[path = "../src/frame.rs"]
#[allow(dead_code)]
mod frame;
#[path = "../src/handshake.rs"]
#[allow(dead_code)]
mod handshake;
#[path = "../src/pmd.rs"]
#[allow(dead_code)]
mod pmd;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

fn read_exact_or_eof(s: &mut TcpStream, buf: &mut [u8]) -> bool {
    s.read_exact(buf).is_ok()
}

#[derive(Clone, Copy, Default)]
struct Toy {
    /// corrupt one byte of every k-th echo
    corrupt_every: Option<u64>,
    /// send no echo for every k-th message
    drop_every: Option<u64>,
    /// accept permessage-deflate when offered: inflate what arrives,
    /// deflate the echo (context takeover both ways)
    deflate: bool,
}

fn serve(mut s: TcpStream, toy: Toy) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if !read_exact_or_eof(&mut s, &mut byte) {
            return;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("no key")
        .trim()
        .to_string();
    // (the toy's codec: what the client compresses it decompresses)
    let mut codec = (toy.deflate && text.contains("Sec-WebSocket-Extensions: permessage-deflate"))
        .then(|| pmd::Codec::new(pmd::Params::default()).unwrap());
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: echo\r\n{}\r\n",
        handshake::accept_for(&key),
        if codec.is_some() {
            "Sec-WebSocket-Extensions: permessage-deflate\r\n"
        } else {
            ""
        }
    );
    s.write_all(reply.as_bytes()).unwrap();
    let mut n = 0u64;
    loop {
        let mut h = [0u8; 2];
        if !read_exact_or_eof(&mut s, &mut h) {
            return;
        }
        let mut len = u64::from(h[1] & 0x7F);
        if len == 126 {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            len = u64::from(u16::from_be_bytes(b));
        } else if len == 127 {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            len = u64::from_be_bytes(b);
        }
        let mut key = [0u8; 4];
        s.read_exact(&mut key).unwrap();
        let mut payload = vec![0u8; len as usize];
        if !read_exact_or_eof(&mut s, &mut payload) {
            return;
        }
        frame::mask(&mut payload, key);
        if h[0] & 0x0F == frame::OP_CLOSE {
            let _ = s.write_all(&[0x88, 0]);
            return;
        }
        n += 1;
        let mut b0 = 0x80 | (h[0] & 0x0F);
        if let Some(c) = codec.as_mut() {
            assert!(h[0] & 0x40 != 0, "a message not compressed");
            let mut plain = Vec::new();
            c.decompress(&payload, 0, &mut plain).unwrap();
            payload = plain;
        }
        if toy.corrupt_every.is_some_and(|k| n.is_multiple_of(k)) {
            let i = payload.len() / 2;
            payload[i] ^= 0x20;
        }
        if toy.drop_every.is_some_and(|k| n.is_multiple_of(k)) {
            continue;
        }
        if let Some(c) = codec.as_mut() {
            let mut wire = Vec::new();
            c.compress(&payload, &mut wire).unwrap();
            payload = wire;
            b0 |= 0x40;
        }
        let mut out = vec![b0];
        if payload.len() < 126 {
            out.push(payload.len() as u8);
        } else if payload.len() <= 0xFFFF {
            out.push(126);
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        } else {
            out.push(127);
            out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
        out.extend_from_slice(&payload);
        if s.write_all(&out).is_err() {
            return;
        }
    }
}

fn toy_server(corrupt_every: Option<u64>) -> u16 {
    toy_server_with(Toy {
        corrupt_every,
        ..Toy::default()
    })
}

fn toy_server_with(toy: Toy) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            s.set_nodelay(true).unwrap();
            std::thread::spawn(move || serve(s, toy));
        }
    });
    port
}

fn loadgen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lws-loadgen"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_faithful_echo_passes() {
    for size in ["20", "300", "70000"] {
        let port = toy_server(None).to_string();
        let out = loadgen(&[
            "echo",
            "--port",
            &port,
            "--conns",
            "4",
            "--size",
            size,
            "--seconds",
            "0.3",
            "--warmup",
            "0.1",
            "--server-pid",
            &std::process::id().to_string(),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("\"mode\":\"echo\""), "{stdout}");
        assert!(!stdout.contains("\"round_trips\":0,"), "{stdout}");
    }
}

#[test]
fn a_corrupted_echo_fails_loudly() {
    let port = toy_server(Some(50)).to_string();
    let out = loadgen(&[
        "echo",
        "--port",
        &port,
        "--conns",
        "2",
        "--size",
        "512",
        "--seconds",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MISMATCHED ECHO"));
}

#[test]
fn connrate_counts_closed_connections() {
    let port = toy_server(None).to_string();
    let out = loadgen(&[
        "connrate",
        "--port",
        &port,
        "--seconds",
        "0.3",
        "--conns",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"mode\":\"connrate\""), "{stdout}");
}

#[test]
fn a_refused_connection_fails() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = loadgen(&["echo", "--port", &port.to_string(), "--seconds", "0.2"]);
    assert_eq!(out.status.code(), Some(1));
}

fn deflate_run(toy: Toy, size: &str, seconds: &str, extra: &[&str]) -> std::process::Output {
    let port = toy_server_with(toy).to_string();
    let mut args = vec![
        "echo",
        "--port",
        &port,
        "--conns",
        "3",
        "--size",
        size,
        "--seconds",
        seconds,
        "--warmup",
        "0.1",
        "--deflate",
    ];
    args.extend_from_slice(extra);
    loadgen(&args)
}

#[test]
fn a_faithful_deflate_echo_passes() {
    let toy = Toy {
        deflate: true,
        ..Toy::default()
    };
    for size in ["20", "512", "70000"] {
        let out = deflate_run(toy, size, "0.3", &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!stdout.contains("\"round_trips\":0,"), "{stdout}");
        assert!(
            stdout.contains("\"deflate\":\"permessage-deflate\""),
            "{stdout}"
        );
        assert!(stdout.contains("\"mismatches\":0,"), "{stdout}");
        // text that compresses
        assert!(!stdout.contains("\"ratio_out\":0.9"), "{stdout}");
    }
}

#[test]
fn a_corrupted_deflate_echo_fails_loudly() {
    let toy = Toy {
        corrupt_every: Some(50),
        deflate: true,
        ..Toy::default()
    };
    let out = deflate_run(toy, "512", "2", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MISMATCHED ECHO"));
}

#[test]
fn bad_deflate_echoes_are_counted_when_tolerated() {
    let count = |stdout: &str, key: &str| -> u64 {
        let at = stdout.find(&format!("\"{key}\":")).expect(key) + key.len() + 3;
        stdout[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let toy = Toy {
        corrupt_every: Some(50),
        deflate: true,
        ..Toy::default()
    };
    let out = deflate_run(toy, "512", "0.5", &["--tolerate-mismatch"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(count(&stdout, "mismatches") > 0, "{stdout}");
    assert!(
        count(&stdout, "checked") > count(&stdout, "mismatches"),
        "{stdout}"
    );
    // an echo never sent: lost after a second, the run goes on
    let toy = Toy {
        drop_every: Some(20),
        deflate: true,
        ..Toy::default()
    };
    let out = deflate_run(toy, "512", "2.5", &["--tolerate-mismatch"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(count(&stdout, "lost") > 0, "{stdout}");
    assert_eq!(count(&stdout, "mismatches"), 0, "{stdout}");
}

#[test]
fn a_server_that_does_not_negotiate_deflate_fails() {
    let out = deflate_run(Toy::default(), "512", "0.3", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not accept permessage-deflate"));
}

// ------------------------------------------------------------------ issue 16's modes

/// Reads a WebSocket upgrade request and answers it with the subprotocol
/// asked for; returns that subprotocol (None if the peer went away).
fn upgrade(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if !read_exact_or_eof(s, &mut byte) {
            return None;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let key = field("Sec-WebSocket-Key: ")?;
    let protocol = field("Sec-WebSocket-Protocol: ").unwrap_or_default();
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {protocol}\r\n\r\n",
        handshake::accept_for(&key)
    );
    s.write_all(reply.as_bytes()).ok()?;
    Some(protocol)
}

/// One client frame: (first byte, unmasked payload); None at the end.
fn read_frame(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    if !read_exact_or_eof(s, &mut h) {
        return None;
    }
    let mut len = u64::from(h[1] & 0x7F);
    if len == 126 {
        let mut b = [0u8; 2];
        s.read_exact(&mut b).ok()?;
        len = u64::from(u16::from_be_bytes(b));
    } else if len == 127 {
        let mut b = [0u8; 8];
        s.read_exact(&mut b).ok()?;
        len = u64::from_be_bytes(b);
    }
    let mut key = [0u8; 4];
    s.read_exact(&mut key).ok()?;
    let mut payload = vec![0u8; len as usize];
    if !read_exact_or_eof(s, &mut payload) {
        return None;
    }
    frame::mask(&mut payload, key);
    Some((h[0], payload))
}

/// A server frame (unmasked).
fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    if payload.len() < 126 {
        out.push(payload.len() as u8);
    } else if payload.len() <= 0xFFFF {
        out.push(126);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

#[derive(Clone, Copy, Default)]
struct Toy16 {
    /// broadcast: receiver connection number k (in order of arrival, the
    /// sender being 0) misses message #n
    drop_for: Option<(usize, u64)>,
    /// push: every connection's counter skips a number after this one
    skip_after: Option<u64>,
}

/// A toy of the patterns of bench/echo-server.c: "flow-echo" echoes each
/// message as two fragments, "lws-mirror-protocol" sends every message to
/// every connection, "dumb-increment-protocol" gets "<counter> 0" every
/// 10 ms.
fn toy16(toy: Toy16) -> u16 {
    use std::sync::{Arc, Mutex};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mirror: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            s.set_nodelay(true).unwrap();
            let mirror = mirror.clone();
            std::thread::spawn(move || {
                let Some(protocol) = upgrade(&mut s) else {
                    return;
                };
                match protocol.as_str() {
                    "flow-echo" => {
                        while let Some((b0, p)) = read_frame(&mut s) {
                            if b0 & 0x0F == frame::OP_CLOSE {
                                return;
                            }
                            let half = p.len() / 2;
                            let mut out = server_frame(b0 & 0x0F, &p[..half]);
                            out.extend(server_frame(0x80, &p[half..]));
                            if s.write_all(&out).is_err() {
                                return;
                            }
                        }
                    }
                    "lws-mirror-protocol" => {
                        let me = {
                            let mut m = mirror.lock().unwrap();
                            m.push(s.try_clone().unwrap());
                            m.len() - 1
                        };
                        let _ = me;
                        let mut n = 0u64;
                        while let Some((b0, p)) = read_frame(&mut s) {
                            if b0 & 0x0F == frame::OP_CLOSE {
                                return;
                            }
                            let out = server_frame(0x81, &p);
                            let mut m = mirror.lock().unwrap();
                            for (k, peer) in m.iter_mut().enumerate() {
                                if toy.drop_for == Some((k, n)) {
                                    continue;
                                }
                                let _ = peer.write_all(&out);
                            }
                            n += 1;
                        }
                    }
                    "dumb-increment-protocol" => {
                        let mut n = 0u64;
                        loop {
                            let msg = format!("{n} 0");
                            if s.write_all(&server_frame(0x81, msg.as_bytes())).is_err() {
                                return;
                            }
                            n += 1;
                            if toy.skip_after == Some(n - 1) {
                                n += 1;
                            }
                            std::thread::sleep(std::time::Duration::from_millis(10));
                        }
                    }
                    _ => {}
                }
            });
        }
    });
    port
}

fn run_ok(args: &[&str]) -> String {
    let out = loadgen(args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The number after "key": in a JSON line.
fn field(stdout: &str, key: &str) -> f64 {
    let at = stdout.find(&format!("\"{key}\":")).expect(key) + key.len() + 3;
    stdout[at..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_fragmented_flow_echo_passes() {
    let port = toy16(Toy16::default()).to_string();
    for size in ["20", "70000"] {
        let stdout = run_ok(&[
            "echo",
            "--port",
            &port,
            "--conns",
            "3",
            "--size",
            size,
            "--seconds",
            "0.3",
            "--warmup",
            "0.1",
            "--protocol",
            "flow-echo",
        ]);
        assert!(stdout.contains("\"protocol\":\"flow-echo\""), "{stdout}");
        assert_eq!(field(&stdout, "frames_per_msg"), 2.0, "{stdout}");
        assert!(field(&stdout, "round_trips") > 0.0, "{stdout}");
    }
}

#[test]
fn a_chopped_big_message_is_echoed() {
    let port = toy_server(None).to_string();
    let stdout = run_ok(&[
        "echo",
        "--port",
        &port,
        "--size",
        "100000",
        "--seconds",
        "0.5",
        "--warmup",
        "0",
        "--chop",
        "64",
        "--server-pid",
        &std::process::id().to_string(),
    ]);
    assert!(stdout.contains("\"chop\":64"), "{stdout}");
    assert!(field(&stdout, "round_trips") > 0.0, "{stdout}");
    assert!(field(&stdout, "server_rss_kb") > 0.0, "{stdout}");
}

#[test]
fn broadcast_counts_deliveries_to_every_receiver() {
    let port = toy16(Toy16::default()).to_string();
    let stdout = run_ok(&[
        "broadcast",
        "--port",
        &port,
        "--conns",
        "5",
        "--seconds",
        "0.5",
        "--warmup",
        "0.1",
    ]);
    let (deliveries, dps, sent) = (
        field(&stdout, "deliveries"),
        field(&stdout, "dps"),
        field(&stdout, "sent_per_s"),
    );
    assert!(deliveries > 0.0, "{stdout}");
    // 5 receivers: 5 deliveries per message sent
    assert!((dps / sent - 5.0).abs() < 0.5, "{stdout}");
    // at a fixed rate
    let stdout = run_ok(&[
        "broadcast",
        "--port",
        &port,
        "--conns",
        "3",
        "--seconds",
        "1",
        "--warmup",
        "0.2",
        "--rate",
        "200",
    ]);
    let sent = field(&stdout, "sent_per_s");
    assert!(sent > 150.0 && sent < 250.0, "{stdout}");
}

#[test]
fn a_broadcast_gap_fails_loudly() {
    // receiver 2 misses message #30
    let port = toy16(Toy16 {
        drop_for: Some((2, 30)),
        ..Toy16::default()
    })
    .to_string();
    let out = loadgen(&[
        "broadcast",
        "--port",
        &port,
        "--conns",
        "3",
        "--seconds",
        "1",
        "--warmup",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BROADCAST GAP"));
}

#[test]
fn push_checks_every_connections_counters() {
    let port = toy16(Toy16::default()).to_string();
    let stdout = run_ok(&[
        "push",
        "--port",
        &port,
        "--conns",
        "20",
        "--seconds",
        "0.5",
        "--warmup",
        "0.1",
        "--interval-ms",
        "10",
    ]);
    assert_eq!(field(&stdout, "gaps"), 0.0, "{stdout}");
    assert_eq!(field(&stdout, "silent_conns"), 0.0, "{stdout}");
    // about 50 per connection in 0.5 s
    assert!(field(&stdout, "per_conn_min") >= 20.0, "{stdout}");
    let port = toy16(Toy16 {
        skip_after: Some(15),
        ..Toy16::default()
    })
    .to_string();
    let out = loadgen(&[
        "push",
        "--port",
        &port,
        "--conns",
        "3",
        "--seconds",
        "0.5",
        "--warmup",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PUSH GAPS"));
}

#[test]
fn strace_counts_the_servers_system_calls() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("no strace: skipped");
        return;
    }
    let port = toy_server(None).to_string();
    let file = std::env::temp_dir().join(format!("lws-loadgen-test-{}.strace", std::process::id()));
    let stdout = run_ok(&[
        "echo",
        "--port",
        &port,
        "--conns",
        "2",
        "--size",
        "20",
        "--seconds",
        "0.3",
        "--warmup",
        "0.1",
        "--server-pid",
        &std::process::id().to_string(),
        "--strace",
        file.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&file);
    // the toy reads a frame in three reads and writes the echo once
    let per_msg = field(&stdout, "per_msg");
    assert!(per_msg >= 2.0, "{stdout}");
    assert!(stdout.contains("\"per_msg_by_call\":{"), "{stdout}");
}
