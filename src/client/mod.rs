//! Outgoing connections, the pure parts: the request head, judging the
//! server's reply, and de-chunking HTTP bodies (CONTRACT §7).

pub mod chunked;

use crate::ws::handshake;

/// The request head up to (not including) the headers the application
/// appends and the blank line.
pub fn request_head(
    method: Option<&[u8]>,
    path: &[u8],
    host: &[u8],
    origin: Option<&[u8]>,
    protocols: Option<&[u8]>,
    key: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(method.unwrap_or(b"GET"));
    out.push(b' ');
    out.extend_from_slice(if path.is_empty() { b"/" } else { path });
    out.extend_from_slice(b" HTTP/1.1\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nHost: ");
    out.extend_from_slice(host);
    out.extend_from_slice(b"\r\n");
    if let Some(origin) = origin {
        // lws adds the scheme to the application's origin
        out.extend_from_slice(b"Origin: http://");
        out.extend_from_slice(origin);
        out.extend_from_slice(b"\r\n");
    }
    if method.is_none() {
        out.extend_from_slice(b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(p) = protocols.filter(|p| !p.is_empty()) {
            out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
            out.extend_from_slice(p);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"Sec-WebSocket-Version: 13\r\n");
    }
    out
}

/// A parsed reply head.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub http11: bool,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// bytes of the head, including the blank line
    pub len: usize,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}

/// A reply head that is not HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadReply;

/// Parses a reply head: None while incomplete, Err on a malformed one.
pub fn parse_reply(buf: &[u8]) -> Result<Option<Reply>, BadReply> {
    let lines = buf.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut headers = vec![httparse::EMPTY_HEADER; lines];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf) {
        Err(_) => Err(BadReply),
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(len)) => Ok(Some(Reply {
            status: resp.code.unwrap_or(0),
            http11: resp.version == Some(1),
            headers: resp
                .headers
                .iter()
                .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
                .collect(),
            len,
        })),
    }
}

/// Judges a WebSocket upgrade reply: the protocol the server chose (None
/// if it named none), or the CLIENT_CONNECTION_ERROR text.
pub fn check_ws_reply(
    reply: &Reply,
    key: &str,
    offered: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, &'static str> {
    if reply.status != 101 {
        return Err("HS: ws upgrade response not 101");
    }
    let upgrade = reply.header("upgrade").ok_or("HS: UPGRADE missing")?;
    if !upgrade.eq_ignore_ascii_case(b"websocket") {
        return Err("HS: Upgrade to something other than websocket");
    }
    let connection = reply.header("connection").ok_or("HS: CONNECTION missing")?;
    if !connection
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
    {
        return Err("HS: UPGRADE malformed");
    }
    let accept = reply
        .header("sec-websocket-accept")
        .ok_or("HS: ACCEPT missing")?;
    if accept != handshake::accept_key(key.as_bytes()).as_bytes() {
        return Err("HS: Accept hash wrong");
    }
    match reply.header("sec-websocket-protocol") {
        None => Ok(None),
        // Servers built on the original echo the whole requested list;
        // RFC 6455 servers (ours, browsers' peers) name one item of it.
        Some(chosen) => {
            let listed = offered
                .is_some_and(|o| o == chosen || handshake::protocols(o).any(|p| p == chosen));
            if listed {
                Ok(Some(chosen.to_vec()))
            } else {
                Err("HS: Cannot match protocol")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_request_head() {
        let head = request_head(
            None,
            b"/chat",
            b"example.com",
            Some(b"o.example"),
            Some(b"a, b"),
            "KEY",
        );
        assert_eq!(
            head,
            b"GET /chat HTTP/1.1\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nHost: example.com\r\n\
Origin: http://o.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: KEY\r\n\
Sec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Version: 13\r\n"
                .to_vec()
        );
        let head = request_head(Some(b"POST"), b"", b"h", None, None, "K");
        assert_eq!(
            head,
            b"POST / HTTP/1.1\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nHost: h\r\n"
                .to_vec()
        );
    }

    fn reply(text: &str) -> Reply {
        parse_reply(text.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn judging_upgrade_replies() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
        assert_eq!(
            check_ws_reply(&reply(&format!("{ok}\r\n")), key, None),
            Ok(None)
        );
        let with_proto = format!("{ok}Sec-WebSocket-Protocol: b\r\n\r\n");
        assert_eq!(
            check_ws_reply(&reply(&with_proto), key, Some(b"a, b")),
            Ok(Some(b"b".to_vec()))
        );
        assert_eq!(
            check_ws_reply(&reply(&with_proto), key, Some(b"a")),
            Err("HS: Cannot match protocol")
        );
        let whole = format!("{ok}Sec-WebSocket-Protocol: a,b\r\n\r\n");
        assert_eq!(
            check_ws_reply(&reply(&whole), key, Some(b"a,b")),
            Ok(Some(b"a,b".to_vec()))
        );
        assert_eq!(
            check_ws_reply(&reply(&with_proto), key, Some(b"a,b")),
            Ok(Some(b"b".to_vec()))
        );
        assert_eq!(
            check_ws_reply(&reply(&whole), key, Some(b"a,b,c")),
            Err("HS: Cannot match protocol")
        );
        assert_eq!(
            check_ws_reply(&reply(&format!("{ok}\r\n")), "other", None),
            Err("HS: Accept hash wrong")
        );
        assert_eq!(
            check_ws_reply(&reply("HTTP/1.1 200 OK\r\n\r\n"), key, None),
            Err("HS: ws upgrade response not 101")
        );
        assert!(parse_reply(b"HTTP/1.1 101 Sw").unwrap().is_none());
        assert!(parse_reply(b"garbage\r\n\r\n").is_err());
    }
}
