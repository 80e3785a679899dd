//! `Sec-WebSocket-Extensions` for permessage-deflate (RFC 7692 section 7.1):
//! parsing offers and answers, the server's choice of an offer and the
//! client's check of the answer. Parameters the other side asks for are
//! honoured or the offer is declined; a handshake never fails on the
//! server because of an offer.

use super::PM_DEFLATE;

/// One element of an extension list: the name and its parameters, values
/// unquoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub name: String,
    pub params: Vec<(String, Option<String>)>,
}

/// The parameters one side runs with once permessage-deflate is agreed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreed {
    /// our compressor starts afresh for every message
    pub tx_no_takeover: bool,
    /// our compressor's LZ77 window (2^bits); at 8 we send uncompressed
    /// messages, as zlib has no 256-byte raw deflate window
    pub tx_window_bits: u8,
    /// the peer's compressor starts afresh for every message, so our
    /// decompressor may too
    pub rx_no_takeover: bool,
}

/// The parameters of one offer or answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: named without a value (an offer's hint)
    client_max_window_bits: Option<Option<u8>>,
}

/// Splits `text` at `sep` outside double quotes.
fn split_unquoted(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A parameter value: a token or a quoted string (RFC 7230), unquoted.
fn unquote(v: &str) -> Option<String> {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next()? } else { c });
            }
            Some(out)
        }
        None => is_token(v).then(|| v.to_string()),
    }
}

/// A `Sec-WebSocket-Extensions` value that is not an extension list.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// The elements of a `Sec-WebSocket-Extensions` value (several headers are
/// joined with commas). Err if any element is malformed.
pub fn parse(header: &[u8]) -> Result<Vec<Item>, Malformed> {
    let text = std::str::from_utf8(header).map_err(|_| Malformed)?;
    let mut items = Vec::new();
    for element in split_unquoted(text, ',') {
        if element.trim().is_empty() {
            continue;
        }
        let mut parts = split_unquoted(element, ';').into_iter();
        let name = parts.next().unwrap_or_default().trim();
        if !is_token(name) {
            return Err(Malformed);
        }
        let mut params = Vec::new();
        for p in parts {
            let (k, v) = match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(unquote(v.trim()).ok_or(Malformed)?)),
                None => (p.trim(), None),
            };
            if !is_token(k) {
                return Err(Malformed);
            }
            params.push((k.to_ascii_lowercase(), v));
        }
        items.push(Item {
            name: name.to_ascii_lowercase(),
            params,
        });
    }
    Ok(items)
}

/// Window bits as RFC 7692 writes them: 1*DIGIT, 8 to 15.
fn window_bits(v: &str) -> Option<u8> {
    if v.is_empty() || v.len() > 2 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok().filter(|b| (8..=15).contains(b))
}

/// The parameters of an element; Err for an unknown or repeated parameter
/// or a bad value (RFC 7692 section 7.1).
fn params_of(item: &Item) -> Result<Params, ()> {
    let mut p = Params::default();
    let mut seen = Vec::new();
    for (k, v) in &item.params {
        if seen.contains(&k) {
            return Err(());
        }
        seen.push(k);
        match (k.as_str(), v) {
            ("server_no_context_takeover", None) => p.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => p.client_no_context_takeover = true,
            ("server_max_window_bits", Some(v)) => {
                p.server_max_window_bits = Some(window_bits(v).ok_or(())?);
            }
            ("client_max_window_bits", None) => p.client_max_window_bits = Some(None),
            ("client_max_window_bits", Some(v)) => {
                p.client_max_window_bits = Some(Some(window_bits(v).ok_or(())?));
            }
            _ => return Err(()),
        }
    }
    Ok(p)
}

/// The server's choice: the first acceptable permessage-deflate offer of
/// the request's header, what we then run with, and the answer for the
/// 101's `Sec-WebSocket-Extensions`. None declines every offer (none
/// made, or none valid).
pub fn server_accept(header: &[u8]) -> Option<(Agreed, String)> {
    let items = parse(header).ok()?;
    let p = items
        .iter()
        .filter(|i| i.name == PM_DEFLATE)
        .find_map(|i| params_of(i).ok())?;
    let mut answer = String::from(PM_DEFLATE);
    if p.server_no_context_takeover {
        answer.push_str("; server_no_context_takeover");
    }
    if p.client_no_context_takeover {
        answer.push_str("; client_no_context_takeover");
    }
    if let Some(bits) = p.server_max_window_bits {
        answer.push_str(&format!("; server_max_window_bits={bits}"));
    }
    if let Some(Some(bits)) = p.client_max_window_bits {
        answer.push_str(&format!("; client_max_window_bits={bits}"));
    }
    let agreed = Agreed {
        tx_no_takeover: p.server_no_context_takeover,
        tx_window_bits: p.server_max_window_bits.unwrap_or(15),
        rx_no_takeover: p.client_no_context_takeover,
    };
    Some((agreed, answer))
}

/// The client's check of the server's answer to our `offer` (the
/// application's client_offer text): Ok(None) if the server accepted no
/// extension, the agreed parameters if it accepted permessage-deflate, or
/// the CLIENT_CONNECTION_ERROR text.
pub fn client_accept(
    offer: Option<&[u8]>,
    answer: Option<&[u8]>,
) -> Result<Option<Agreed>, &'static str> {
    let Some(answer) = answer else {
        return Ok(None);
    };
    let items = parse(answer).map_err(|_| "HS: EXT: malformed extension header")?;
    let offered = offer
        .and_then(|o| parse(o).ok())
        .and_then(|items| items.into_iter().find(|i| i.name == PM_DEFLATE));
    let mut agreed = None;
    for item in &items {
        if item.name != PM_DEFLATE || agreed.is_some() {
            return Err("HS: EXT: server answered an extension we did not offer");
        }
        let Some(ours) = &offered else {
            return Err("HS: EXT: server answered an extension we did not offer");
        };
        let p = params_of(item).map_err(|_| "HS: EXT: bad permessage-deflate parameters")?;
        // an answer names the client's window with a value (RFC 7692 7.1.2.2)
        if p.client_max_window_bits == Some(None) {
            return Err("HS: EXT: client_max_window_bits without a value");
        }
        let own = params_of(ours).unwrap_or_default();
        let tx_window_bits = [p.client_max_window_bits, own.client_max_window_bits]
            .into_iter()
            .filter_map(|b| b.flatten())
            .min()
            .unwrap_or(15);
        agreed = Some(Agreed {
            tx_no_takeover: p.client_no_context_takeover || own.client_no_context_takeover,
            tx_window_bits,
            rx_no_takeover: p.server_no_context_takeover,
        });
    }
    Ok(agreed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(h: &str) -> Option<(Agreed, String)> {
        server_accept(h.as_bytes())
    }

    #[test]
    fn parses_lists_with_quoted_values() {
        let items =
            parse(b"permessage-deflate; client_max_window_bits, x-foo; a=\"1,2\"; b=3").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].params,
            vec![("client_max_window_bits".into(), None)]
        );
        assert_eq!(
            items[1].params,
            vec![
                ("a".into(), Some("1,2".into())),
                ("b".into(), Some("3".into()))
            ]
        );
        assert_eq!(parse(b"permessage-deflate; =3"), Err(Malformed));
        assert!(parse(b"a b").is_err());
        assert_eq!(parse(b" , ").unwrap(), vec![]);
    }

    #[test]
    fn a_browser_offer_is_accepted_plainly() {
        let (agreed, answer) = accept("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(answer, "permessage-deflate");
        assert_eq!(
            agreed,
            Agreed {
                tx_no_takeover: false,
                tx_window_bits: 15,
                rx_no_takeover: false
            }
        );
    }

    #[test]
    fn every_parameter_is_answered_and_honoured() {
        let (agreed, answer) = accept(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=12",
        )
        .unwrap();
        assert_eq!(
            answer,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=12"
        );
        assert_eq!(
            agreed,
            Agreed {
                tx_no_takeover: true,
                tx_window_bits: 10,
                rx_no_takeover: true
            }
        );
        let (agreed, _) = accept("permessage-deflate; server_max_window_bits=\"8\"").unwrap();
        assert_eq!(agreed.tx_window_bits, 8);
    }

    #[test]
    fn bad_offers_are_declined_and_the_next_one_tried() {
        for bad in [
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=015",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; foo",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "x-webkit-deflate-frame",
            "",
        ] {
            assert_eq!(accept(bad), None, "{bad}");
        }
        let (agreed, answer) = accept(
            "permessage-deflate; server_max_window_bits=20, permessage-deflate; \
             server_no_context_takeover",
        )
        .unwrap();
        assert_eq!(answer, "permessage-deflate; server_no_context_takeover");
        assert!(agreed.tx_no_takeover);
    }

    #[test]
    fn the_client_applies_the_answer_and_its_own_offer() {
        let offer =
            Some(&b"permessage-deflate; client_no_context_takeover; client_max_window_bits"[..]);
        assert_eq!(client_accept(offer, None), Ok(None));
        let a = client_accept(
            offer,
            Some(b"permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            a,
            Agreed {
                tx_no_takeover: true,
                tx_window_bits: 12,
                rx_no_takeover: false
            }
        );
        let a = client_accept(
            offer,
            Some(b"permessage-deflate; server_no_context_takeover"),
        )
        .unwrap()
        .unwrap();
        assert!(a.rx_no_takeover);
        assert_eq!(a.tx_window_bits, 15);
        let small = Some(&b"permessage-deflate; client_max_window_bits=9"[..]);
        let a = client_accept(small, Some(b"permessage-deflate"))
            .unwrap()
            .unwrap();
        assert_eq!(a.tx_window_bits, 9);
    }

    #[test]
    fn the_client_refuses_answers_it_cannot_honour() {
        let offer = Some(&b"permessage-deflate; client_max_window_bits"[..]);
        for bad in [
            "x-foo",
            "permessage-deflate, permessage-deflate",
            "permessage-deflate; client_max_window_bits=20",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; bogus",
            "permessage-deflate;;",
        ] {
            assert!(client_accept(offer, Some(bad.as_bytes())).is_err(), "{bad}");
        }
        assert!(client_accept(None, Some(b"permessage-deflate")).is_err());
    }
}
