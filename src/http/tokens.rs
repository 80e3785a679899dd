//! Header table indexes (`enum lws_token_indexes`) and the lowercase names
//! lws 2.0 matches request lines against and `lws_token_to_string` returns.

pub const WSI_TOKEN_GET_URI: usize = 0;
pub const WSI_TOKEN_POST_URI: usize = 1;
pub const WSI_TOKEN_OPTIONS_URI: usize = 2;
pub const WSI_TOKEN_HOST: usize = 3;
pub const WSI_TOKEN_CONNECTION: usize = 4;
pub const WSI_TOKEN_UPGRADE: usize = 5;
pub const WSI_TOKEN_ORIGIN: usize = 6;
pub const WSI_TOKEN_DRAFT: usize = 7;
pub const WSI_TOKEN_CHALLENGE: usize = 8;
pub const WSI_TOKEN_EXTENSIONS: usize = 9;
pub const WSI_TOKEN_KEY1: usize = 10;
pub const WSI_TOKEN_KEY2: usize = 11;
pub const WSI_TOKEN_PROTOCOL: usize = 12;
pub const WSI_TOKEN_ACCEPT: usize = 13;
pub const WSI_TOKEN_NONCE: usize = 14;
pub const WSI_TOKEN_HTTP: usize = 15;
pub const WSI_TOKEN_HTTP2_SETTINGS: usize = 16;
pub const WSI_TOKEN_HTTP_ACCEPT: usize = 17;
pub const WSI_TOKEN_HTTP_AC_REQUEST_HEADERS: usize = 18;
pub const WSI_TOKEN_HTTP_IF_MODIFIED_SINCE: usize = 19;
pub const WSI_TOKEN_HTTP_IF_NONE_MATCH: usize = 20;
pub const WSI_TOKEN_HTTP_ACCEPT_ENCODING: usize = 21;
pub const WSI_TOKEN_HTTP_ACCEPT_LANGUAGE: usize = 22;
pub const WSI_TOKEN_HTTP_PRAGMA: usize = 23;
pub const WSI_TOKEN_HTTP_CACHE_CONTROL: usize = 24;
pub const WSI_TOKEN_HTTP_AUTHORIZATION: usize = 25;
pub const WSI_TOKEN_HTTP_COOKIE: usize = 26;
pub const WSI_TOKEN_HTTP_CONTENT_LENGTH: usize = 27;
pub const WSI_TOKEN_HTTP_CONTENT_TYPE: usize = 28;
pub const WSI_TOKEN_HTTP_DATE: usize = 29;
pub const WSI_TOKEN_HTTP_RANGE: usize = 30;
pub const WSI_TOKEN_HTTP_REFERER: usize = 31;
pub const WSI_TOKEN_KEY: usize = 32;
pub const WSI_TOKEN_VERSION: usize = 33;
pub const WSI_TOKEN_SWORIGIN: usize = 34;
pub const WSI_TOKEN_HTTP_COLON_AUTHORITY: usize = 35;
pub const WSI_TOKEN_HTTP_COLON_METHOD: usize = 36;
pub const WSI_TOKEN_HTTP_COLON_PATH: usize = 37;
pub const WSI_TOKEN_HTTP_COLON_SCHEME: usize = 38;
pub const WSI_TOKEN_HTTP_COLON_STATUS: usize = 39;
pub const WSI_TOKEN_HTTP_ACCEPT_CHARSET: usize = 40;
pub const WSI_TOKEN_HTTP_ACCEPT_RANGES: usize = 41;
pub const WSI_TOKEN_HTTP_ACCESS_CONTROL_ALLOW_ORIGIN: usize = 42;
pub const WSI_TOKEN_HTTP_AGE: usize = 43;
pub const WSI_TOKEN_HTTP_ALLOW: usize = 44;
pub const WSI_TOKEN_HTTP_CONTENT_DISPOSITION: usize = 45;
pub const WSI_TOKEN_HTTP_CONTENT_ENCODING: usize = 46;
pub const WSI_TOKEN_HTTP_CONTENT_LANGUAGE: usize = 47;
pub const WSI_TOKEN_HTTP_CONTENT_LOCATION: usize = 48;
pub const WSI_TOKEN_HTTP_CONTENT_RANGE: usize = 49;
pub const WSI_TOKEN_HTTP_ETAG: usize = 50;
pub const WSI_TOKEN_HTTP_EXPECT: usize = 51;
pub const WSI_TOKEN_HTTP_EXPIRES: usize = 52;
pub const WSI_TOKEN_HTTP_FROM: usize = 53;
pub const WSI_TOKEN_HTTP_IF_MATCH: usize = 54;
pub const WSI_TOKEN_HTTP_IF_RANGE: usize = 55;
pub const WSI_TOKEN_HTTP_IF_UNMODIFIED_SINCE: usize = 56;
pub const WSI_TOKEN_HTTP_LAST_MODIFIED: usize = 57;
pub const WSI_TOKEN_HTTP_LINK: usize = 58;
pub const WSI_TOKEN_HTTP_LOCATION: usize = 59;
pub const WSI_TOKEN_HTTP_MAX_FORWARDS: usize = 60;
pub const WSI_TOKEN_HTTP_PROXY_AUTHENTICATE: usize = 61;
pub const WSI_TOKEN_HTTP_PROXY_AUTHORIZATION: usize = 62;
pub const WSI_TOKEN_HTTP_REFRESH: usize = 63;
pub const WSI_TOKEN_HTTP_RETRY_AFTER: usize = 64;
pub const WSI_TOKEN_HTTP_SERVER: usize = 65;
pub const WSI_TOKEN_HTTP_SET_COOKIE: usize = 66;
pub const WSI_TOKEN_HTTP_STRICT_TRANSPORT_SECURITY: usize = 67;
pub const WSI_TOKEN_HTTP_TRANSFER_ENCODING: usize = 68;
pub const WSI_TOKEN_HTTP_USER_AGENT: usize = 69;
pub const WSI_TOKEN_HTTP_VARY: usize = 70;
pub const WSI_TOKEN_HTTP_VIA: usize = 71;
pub const WSI_TOKEN_HTTP_WWW_AUTHENTICATE: usize = 72;
pub const WSI_TOKEN_PATCH_URI: usize = 73;
pub const WSI_TOKEN_PUT_URI: usize = 74;
pub const WSI_TOKEN_DELETE_URI: usize = 75;
pub const WSI_TOKEN_HTTP_URI_ARGS: usize = 76;
pub const WSI_TOKEN_PROXY: usize = 77;
pub const WSI_TOKEN_HTTP_X_REAL_IP: usize = 78;
pub const WSI_TOKEN_HTTP1_0: usize = 79;
pub const _WSI_TOKEN_CLIENT_SENT_PROTOCOLS: usize = 80;
pub const _WSI_TOKEN_CLIENT_PEER_ADDRESS: usize = 81;
pub const _WSI_TOKEN_CLIENT_URI: usize = 82;
pub const _WSI_TOKEN_CLIENT_HOST: usize = 83;
pub const _WSI_TOKEN_CLIENT_ORIGIN: usize = 84;
pub const _WSI_TOKEN_CLIENT_METHOD: usize = 85;
pub const WSI_TOKEN_COUNT: usize = 86;

/// The lextable texts in index order, each with the NUL C callers need. The
/// ':' or ' ' terminator is part of the text, as in the original.
const NAMES: [&[u8]; _WSI_TOKEN_CLIENT_SENT_PROTOCOLS] = [
    b"get \0",
    b"post \0",
    b"options \0",
    b"host:\0",
    b"connection:\0",
    b"upgrade:\0",
    b"origin:\0",
    b"sec-websocket-draft:\0",
    b"\r\n\0",
    b"sec-websocket-extensions:\0",
    b"sec-websocket-key1:\0",
    b"sec-websocket-key2:\0",
    b"sec-websocket-protocol:\0",
    b"sec-websocket-accept:\0",
    b"sec-websocket-nonce:\0",
    b"http/1.1 \0",
    b"http2-settings:\0",
    b"accept:\0",
    b"access-control-request-headers:\0",
    b"if-modified-since:\0",
    b"if-none-match:\0",
    b"accept-encoding:\0",
    b"accept-language:\0",
    b"pragma:\0",
    b"cache-control:\0",
    b"authorization:\0",
    b"cookie:\0",
    b"content-length:\0",
    b"content-type:\0",
    b"date:\0",
    b"range:\0",
    b"referer:\0",
    b"sec-websocket-key:\0",
    b"sec-websocket-version:\0",
    b"sec-websocket-origin:\0",
    b":authority:\0",
    b":method:\0",
    b":path:\0",
    b":scheme:\0",
    b":status:\0",
    b"accept-charset:\0",
    b"accept-ranges:\0",
    b"access-control-allow-origin:\0",
    b"age:\0",
    b"allow:\0",
    b"content-disposition:\0",
    b"content-encoding:\0",
    b"content-language:\0",
    b"content-location:\0",
    b"content-range:\0",
    b"etag:\0",
    b"expect:\0",
    b"expires:\0",
    b"from:\0",
    b"if-match:\0",
    b"if-range:\0",
    b"if-unmodified-since:\0",
    b"last-modified:\0",
    b"link:\0",
    b"location:\0",
    b"max-forwards:\0",
    b"proxy-authenticate:\0",
    b"proxy-authorization:\0",
    b"refresh:\0",
    b"retry-after:\0",
    b"server:\0",
    b"set-cookie:\0",
    b"strict-transport-security:\0",
    b"transfer-encoding:\0",
    b"user-agent:\0",
    b"vary:\0",
    b"via:\0",
    b"www-authenticate:\0",
    b"patch\0",
    b"put\0",
    b"delete\0",
    b"uri-args\0",
    b"proxy \0",
    b"x-real-ip:\0",
    b"http/1.0 \0",
];

/// The table text of `token` with its terminating NUL (what
/// `lws_token_to_string` points at); None past `WSI_TOKEN_HTTP1_0`.
pub fn token_name_nul(token: usize) -> Option<&'static [u8]> {
    NAMES.get(token).copied()
}

/// The table text of `token`, e.g. `"content-length:"` or `"get "`.
pub fn token_name(token: usize) -> Option<&'static [u8]> {
    token_name_nul(token).map(|name| &name[..name.len() - 1])
}

/// The token a request header line named `name` is stored under, matched
/// case-insensitively; None for headers lws does not keep.
pub fn header_token(name: &[u8]) -> Option<usize> {
    let token = (WSI_TOKEN_HOST..=WSI_TOKEN_HTTP_X_REAL_IP).find(|&t| {
        // Only the ':'-terminated texts are header names; the rest are
        // methods, versions and internal slots.
        let text = &NAMES[t][..NAMES[t].len() - 1];
        text.strip_suffix(b":")
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })?;
    // JWebSocket sends the old name; lws treats it as Origin.
    Some(if token == WSI_TOKEN_SWORIGIN {
        WSI_TOKEN_ORIGIN
    } else {
        token
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::enums::lws_token_indexes as E;

    #[test]
    fn indexes_match_the_c_enum() {
        assert_eq!(WSI_TOKEN_HTTP, E::WSI_TOKEN_HTTP as usize);
        assert_eq!(WSI_TOKEN_HTTP_COOKIE, E::WSI_TOKEN_HTTP_COOKIE as usize);
        assert_eq!(WSI_TOKEN_PATCH_URI, E::WSI_TOKEN_PATCH_URI as usize);
        assert_eq!(WSI_TOKEN_HTTP_URI_ARGS, E::WSI_TOKEN_HTTP_URI_ARGS as usize);
        assert_eq!(WSI_TOKEN_HTTP1_0, E::WSI_TOKEN_HTTP1_0 as usize);
        assert_eq!(
            _WSI_TOKEN_CLIENT_METHOD,
            E::_WSI_TOKEN_CLIENT_METHOD as usize
        );
        assert_eq!(WSI_TOKEN_COUNT, E::WSI_TOKEN_COUNT as usize);
    }

    #[test]
    fn names_are_the_lextable_texts() {
        assert_eq!(token_name(WSI_TOKEN_GET_URI), Some(&b"get "[..]));
        assert_eq!(token_name(WSI_TOKEN_CHALLENGE), Some(&b"\r\n"[..]));
        assert_eq!(token_name(WSI_TOKEN_HTTP), Some(&b"http/1.1 "[..]));
        assert_eq!(
            token_name(WSI_TOKEN_HTTP_CONTENT_LENGTH),
            Some(&b"content-length:"[..])
        );
        assert_eq!(token_name(WSI_TOKEN_KEY), Some(&b"sec-websocket-key:"[..]));
        assert_eq!(token_name(WSI_TOKEN_PATCH_URI), Some(&b"patch"[..]));
        assert_eq!(token_name(WSI_TOKEN_DELETE_URI), Some(&b"delete"[..]));
        assert_eq!(
            token_name(WSI_TOKEN_HTTP_X_REAL_IP),
            Some(&b"x-real-ip:"[..])
        );
        assert_eq!(token_name(WSI_TOKEN_HTTP1_0), Some(&b"http/1.0 "[..]));
        assert_eq!(token_name(_WSI_TOKEN_CLIENT_SENT_PROTOCOLS), None);
        assert_eq!(token_name(WSI_TOKEN_COUNT), None);
        assert_eq!(token_name_nul(WSI_TOKEN_HOST), Some(&b"host:\0"[..]));
        assert!(NAMES
            .iter()
            .all(|n| n.iter().position(|&b| b == 0) == Some(n.len() - 1)));
    }

    #[test]
    fn header_names_match_case_insensitively() {
        assert_eq!(header_token(b"Host"), Some(WSI_TOKEN_HOST));
        assert_eq!(header_token(b"HOST"), Some(WSI_TOKEN_HOST));
        assert_eq!(header_token(b"sec-WebSocket-Key"), Some(WSI_TOKEN_KEY));
        assert_eq!(header_token(b"Sec-WebSocket-Key1"), Some(WSI_TOKEN_KEY1));
        assert_eq!(header_token(b"X-Real-IP"), Some(WSI_TOKEN_HTTP_X_REAL_IP));
        assert_eq!(
            header_token(b"Sec-WebSocket-Origin"),
            Some(WSI_TOKEN_ORIGIN)
        );
        assert_eq!(header_token(b"Origin"), Some(WSI_TOKEN_ORIGIN));
    }

    #[test]
    fn non_headers_are_not_matched() {
        for name in [
            &b"X-Custom"[..],
            b"Hos",
            b"Hostx",
            b"get",
            b"patch",
            b"uri-args",
            b"proxy",
            b"http/1.1",
            b"",
        ] {
            assert_eq!(header_token(name), None, "{:?}", name);
        }
    }
}
