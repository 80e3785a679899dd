//! The server's side of the opening handshake (RFC 6455 section 4.2): checking
//! the upgrade request, the accept key, the protocol list and the 101 reply.

use crate::util::{b64, digest};

/// Appended to the client's key before hashing (RFC 6455 section 1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Why an upgrade request is refused (CONTRACT section 3, sequence F).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    NoHost,
    NotWebSocket,
    NoUpgradeToken,
    BadVersion,
    NoKey,
    /// The original's limit: a key of 128 characters or more.
    KeyTooLong,
    /// The original's limit: a Sec-WebSocket-Protocol of 127 characters or more.
    ProtocolHeaderTooLong,
}

/// The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key.
pub fn accept_key(client_key: &[u8]) -> String {
    let mut input = Vec::with_capacity(client_key.len() + GUID.len());
    input.extend_from_slice(client_key);
    input.extend_from_slice(GUID);
    // 20 bytes encode to 28 characters, plus the NUL b64 writes.
    let mut out = [0; 29];
    let n = b64::encode(&digest::sha1(&input), &mut out).unwrap_or(0);
    out[..n].iter().map(|&c| char::from(c)).collect()
}

/// The names in a Sec-WebSocket-Protocol header, in the client's order of
/// preference. Spaces around names are trimmed, as RFC 7230 lists allow (the
/// original kept them and so refused `"a, b"`); empty items are skipped.
pub fn protocols(header: &[u8]) -> impl Iterator<Item = &[u8]> {
    tokens(header)
}

/// True when a request asks to become a WebSocket (its Upgrade lists
/// `websocket`); other Upgrade values may be ignored (RFC 7230 section 6.7).
pub fn is_upgrade_request(upgrade: Option<&[u8]>) -> bool {
    upgrade.is_some_and(|u| has_token(u, b"websocket"))
}

/// Checks the headers of an upgrade request, in the order the original
/// checks them; the protocol itself is chosen by the caller.
pub fn check_upgrade(
    host: Option<&[u8]>,
    upgrade: Option<&[u8]>,
    connection: Option<&[u8]>,
    version: Option<&[u8]>,
    key: Option<&[u8]>,
    protocol: Option<&[u8]>,
) -> Result<(), Reject> {
    if host.is_none() {
        return Err(Reject::NoHost);
    }
    if !is_upgrade_request(upgrade) {
        return Err(Reject::NotWebSocket);
    }
    if !connection.is_some_and(|c| has_token(c, b"upgrade")) {
        return Err(Reject::NoUpgradeToken);
    }
    if version.map(trim) != Some(b"13") {
        return Err(Reject::BadVersion);
    }
    match key {
        None => return Err(Reject::NoKey),
        Some(k) if k.len() >= 128 => return Err(Reject::KeyTooLong),
        Some(_) => {}
    }
    if protocol.is_some_and(|p| p.len() >= 127) {
        return Err(Reject::ProtocolHeaderTooLong);
    }
    Ok(())
}

/// The 101 reply, naming the one protocol selected (RFC 6455 section 4.2.2;
/// the original echoed the client's whole list) and the extensions agreed.
pub fn response(accept: &str, protocol: Option<&[u8]>, extensions: Option<&str>) -> Vec<u8> {
    let mut r = Vec::with_capacity(160);
    r.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n");
    r.extend_from_slice(b"Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    r.extend_from_slice(accept.as_bytes());
    r.extend_from_slice(b"\r\n");
    if let Some(p) = protocol {
        r.extend_from_slice(b"Sec-WebSocket-Protocol: ");
        r.extend_from_slice(p);
        r.extend_from_slice(b"\r\n");
    }
    if let Some(e) = extensions {
        r.extend_from_slice(b"Sec-WebSocket-Extensions: ");
        r.extend_from_slice(e.as_bytes());
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"\r\n");
    r
}

/// The items of a comma-separated header list, trimmed, empty ones skipped.
fn tokens(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&b| b == b',')
        .map(trim)
        .filter(|t| !t.is_empty())
}

fn has_token(list: &[u8], token: &[u8]) -> bool {
    tokens(list).any(|t| t.eq_ignore_ascii_case(token))
}

/// Strips HTTP optional whitespace (spaces and tabs) from both ends.
fn trim(s: &[u8]) -> &[u8] {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_rfc_example() {
        // RFC 6455 section 1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn protocol_lists_are_trimmed() {
        let list: Vec<&[u8]> = protocols(b" chat ,\tsuperchat,, x-y ,").collect();
        assert_eq!(list, [&b"chat"[..], b"superchat", b"x-y"]);
        assert_eq!(protocols(b"").count(), 0);
        assert_eq!(protocols(b" , ").count(), 0);
        assert_eq!(protocols(b"one").collect::<Vec<_>>(), [b"one"]);
    }

    #[test]
    fn trim_edges() {
        assert_eq!(trim(b""), b"");
        assert_eq!(trim(b"  \t"), b"");
        assert_eq!(trim(b" a b\t"), b"a b");
        assert_eq!(trim(b"x"), b"x");
    }

    #[test]
    fn upgrade_detection() {
        assert!(is_upgrade_request(Some(b"websocket")));
        assert!(is_upgrade_request(Some(b"WebSocket")));
        assert!(is_upgrade_request(Some(b"h2c, websocket")));
        assert!(!is_upgrade_request(Some(b"h2c")));
        assert!(!is_upgrade_request(Some(b"websockets")));
        assert!(!is_upgrade_request(None));
    }

    type Headers<'a> = [Option<&'a [u8]>; 6];

    fn check(h: Headers) -> Result<(), Reject> {
        check_upgrade(h[0], h[1], h[2], h[3], h[4], h[5])
    }

    const GOOD: Headers = [
        Some(b"example.com"),
        Some(b"websocket"),
        Some(b"keep-alive, Upgrade"),
        Some(b"13"),
        Some(b"dGhlIHNhbXBsZSBub25jZQ=="),
        Some(b"chat"),
    ];

    fn with(i: usize, value: Option<&'static [u8]>) -> Headers<'static> {
        let mut h = GOOD;
        h[i] = value;
        h
    }

    #[test]
    fn good_upgrades_pass() {
        assert_eq!(check(GOOD), Ok(()));
        assert_eq!(check(with(5, None)), Ok(()));
        assert_eq!(check(with(1, Some(b"WEBSOCKET"))), Ok(()));
        assert_eq!(check(with(2, Some(b"upgrade"))), Ok(()));
        assert_eq!(check(with(4, Some(&[b'k'; 127]))), Ok(()));
        assert_eq!(check(with(5, Some(&[b'p'; 126]))), Ok(()));
    }

    #[test]
    fn each_rejection() {
        let cases: [(usize, Option<&'static [u8]>, Reject); 10] = [
            (0, None, Reject::NoHost),
            (1, None, Reject::NotWebSocket),
            (1, Some(b"h2c"), Reject::NotWebSocket),
            (2, None, Reject::NoUpgradeToken),
            (2, Some(b"keep-alive, upgrades"), Reject::NoUpgradeToken),
            (3, Some(b"8"), Reject::BadVersion),
            (3, None, Reject::BadVersion),
            (4, None, Reject::NoKey),
            (4, Some(&[b'k'; 128]), Reject::KeyTooLong),
            (5, Some(&[b'p'; 127]), Reject::ProtocolHeaderTooLong),
        ];
        for (i, value, why) in cases {
            assert_eq!(check(with(i, value)), Err(why), "header {i} = {value:?}");
        }
    }

    #[test]
    fn response_bytes() {
        let accept = accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(
            response(&accept, None, None),
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
        assert_eq!(
            response("abc", Some(b"chat"), None),
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Accept: abc\r\n\
              Sec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }
}
