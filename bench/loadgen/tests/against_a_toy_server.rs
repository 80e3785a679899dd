//! Runs the load generator against a toy echo server in a thread: a
//! faithful one (the run passes and reports round trips) and one that
//! corrupts one byte of every 50th echo (the run must fail loudly).

#[path = "../src/frame.rs"]
#[allow(dead_code)]
mod frame;
#[path = "../src/handshake.rs"]
#[allow(dead_code)]
mod handshake;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

fn read_exact_or_eof(s: &mut TcpStream, buf: &mut [u8]) -> bool {
    s.read_exact(buf).is_ok()
}

fn serve(mut s: TcpStream, corrupt_every: Option<u64>) {
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
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: echo\r\n\r\n",
        handshake::accept_for(&key)
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
        if corrupt_every.is_some_and(|k| n.is_multiple_of(k)) {
            let i = payload.len() / 2;
            payload[i] ^= 0x20;
        }
        let mut out = vec![0x80 | (h[0] & 0x0F)];
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
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            s.set_nodelay(true).unwrap();
            std::thread::spawn(move || serve(s, corrupt_every));
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
