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
