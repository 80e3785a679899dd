//! The header table (the C library's "ah"): each token's value fragments in
//! one bounded arena, read back with the semantics of the `lws_hdr_*` APIs.

use super::tokens::{WSI_TOKEN_COUNT, WSI_TOKEN_HTTP_URI_ARGS};

/// lws has 2 x WSI_TOKEN_COUNT fragment slots, but slot 0 means "absent".
pub const MAX_FRAGMENTS: usize = 2 * WSI_TOKEN_COUNT - 1;

/// No room left for a value or a fragment: lws drops the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFull;

#[derive(Debug, Clone, Copy)]
struct Fragment {
    token: usize,
    start: usize,
    len: usize,
}

/// The values of one request (or client reply) head, by token index.
#[derive(Debug)]
pub struct HeaderTable {
    data: Vec<u8>,
    /// In arrival order; a token's fragments are those tagged with it.
    frags: Vec<Fragment>,
    max_data: usize,
    limits: Option<Box<[u16]>>,
    /// the request's query string as it came (without `?`), for CGI's
    /// QUERY_STRING; None when the target had no `?`
    query: Option<Vec<u8>>,
}

impl HeaderTable {
    /// An empty table holding at most `max_data` value bytes
    /// (`max_http_header_data`), with optional per-token value limits
    /// (`token_limits`; tokens past the slice's end are unlimited).
    pub fn new(max_data: usize, token_limits: Option<&[u16]>) -> Self {
        HeaderTable {
            data: Vec::with_capacity(max_data),
            frags: Vec::with_capacity(MAX_FRAGMENTS),
            max_data,
            limits: token_limits.map(Into::into),
            query: None,
        }
    }

    pub fn max_data(&self) -> usize {
        self.max_data
    }

    /// Empties the table for the next head, keeping its allocations.
    pub fn reset(&mut self) {
        self.data.clear();
        self.frags.clear();
        self.query = None;
    }

    /// Keeps the request's raw query string (the bytes after `?`).
    pub fn set_query(&mut self, query: Option<&[u8]>) {
        self.query = query.map(<[u8]>::to_vec);
    }

    /// The raw query string, if the request target had a `?`.
    pub fn query(&self) -> Option<&[u8]> {
        self.query.as_deref()
    }

    /// How many bytes one fragment of `token` keeps before it is truncated.
    pub fn limit(&self, token: usize) -> usize {
        self.limits
            .as_ref()
            .and_then(|l| l.get(token))
            .map_or(self.max_data, |&l| usize::from(l))
    }

    /// Adds `value` as the next fragment of `token`, truncated to its limit.
    pub fn push(&mut self, token: usize, value: &[u8]) -> Result<(), TableFull> {
        self.push_with(token, self.limit(token), |out| {
            out.extend_from_slice(value);
            Ok::<_, TableFull>(())
        })
    }

    /// Adds a fragment of `token` whose bytes `fill` appends to the arena
    /// (it must only append), truncated to `limit` bytes. A token out of
    /// range has no slot, so it is refused as full.
    pub(super) fn push_with<E: From<TableFull>>(
        &mut self,
        token: usize,
        limit: usize,
        fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        if token >= WSI_TOKEN_COUNT || self.frags.len() == MAX_FRAGMENTS {
            return Err(TableFull.into());
        }
        let start = self.data.len();
        if let Err(e) = fill(&mut self.data) {
            self.data.truncate(start);
            return Err(e);
        }
        let len = (self.data.len() - start).min(limit);
        self.data.truncate(start + len);
        // Each fragment also costs its NUL terminator in lws's arena.
        if self.data.len() + self.frags.len() + 1 > self.max_data {
            self.data.truncate(start);
            return Err(TableFull.into());
        }
        self.frags.push(Fragment { token, start, len });
        Ok(())
    }

    fn fragments(&self, token: usize) -> impl Iterator<Item = &[u8]> {
        self.frags
            .iter()
            .filter(move |f| f.token == token)
            .map(|f| &self.data[f.start..f.start + f.len])
    }

    pub fn is_present(&self, token: usize) -> bool {
        self.fragments(token).next().is_some()
    }

    /// `lws_hdr_total_length`: all fragments together, 0 if absent.
    pub fn total_length(&self, token: usize) -> usize {
        self.fragments(token).map(<[u8]>::len).sum()
    }

    /// `lws_hdr_fragment_length`: 0 if there is no such fragment.
    pub fn fragment_length(&self, token: usize, idx: usize) -> usize {
        self.fragment(token, idx).map_or(0, <[u8]>::len)
    }

    pub fn fragment(&self, token: usize, idx: usize) -> Option<&[u8]> {
        self.fragments(token).nth(idx)
    }

    /// `lws_hdr_copy`: -1 if the whole value and its NUL do not fit (even
    /// when absent), 0 with `dst` untouched if absent, else the fragments
    /// glued together (URI args lose their `&`), NUL-terminated, and the
    /// length.
    pub fn copy(&self, token: usize, dst: &mut [u8]) -> i32 {
        let total = self.total_length(token);
        if total >= dst.len() {
            return -1;
        }
        if !self.is_present(token) {
            return 0;
        }
        let mut at = 0;
        for frag in self.fragments(token) {
            dst[at..at + frag.len()].copy_from_slice(frag);
            at += frag.len();
        }
        dst[at] = 0;
        c_len(total)
    }

    /// `lws_hdr_copy_fragment`: -1 if there is no such fragment or it and
    /// its NUL do not fit, else the NUL-terminated copy's length.
    pub fn copy_fragment(&self, token: usize, idx: usize, dst: &mut [u8]) -> i32 {
        match self.fragment(token, idx) {
            Some(frag) if frag.len() < dst.len() => {
                dst[..frag.len()].copy_from_slice(frag);
                dst[frag.len()] = 0;
                c_len(frag.len())
            }
            _ => -1,
        }
    }

    /// `lws_get_urlarg_by_name`: copies URI args into `buf` in turn until one
    /// starts with `name` (e.g. `b"x="`) and returns its rest inside `buf`.
    /// Like lws, the search ends at the first arg that does not fit.
    pub fn urlarg_by_name<'b>(&self, name: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let mut idx = 0;
        loop {
            let len =
                usize::try_from(self.copy_fragment(WSI_TOKEN_HTTP_URI_ARGS, idx, buf)).ok()?;
            if buf[..len].starts_with(name) {
                return Some(&buf[name.len()..len]);
            }
            idx += 1;
        }
    }
}

/// A length as the C APIs return it.
fn c_len(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::tokens::*;
    use super::*;

    fn table() -> HeaderTable {
        let mut t = HeaderTable::new(4096, None);
        t.push(WSI_TOKEN_HOST, b"example.com").unwrap();
        t.push(WSI_TOKEN_HTTP_COOKIE, b"a=1").unwrap();
        t.push(WSI_TOKEN_HTTP_URI_ARGS, b"x=1").unwrap();
        t.push(WSI_TOKEN_HTTP_COOKIE, b"  b=2").unwrap();
        t.push(WSI_TOKEN_HTTP_URI_ARGS, b"y=2").unwrap();
        t.push(WSI_TOKEN_HTTP_URI_ARGS, b"").unwrap();
        t.push(WSI_TOKEN_HTTP_URI_ARGS, b"name=joe").unwrap();
        t
    }

    #[test]
    fn lengths_and_fragments() {
        let t = table();
        assert!(t.is_present(WSI_TOKEN_HOST));
        assert!(!t.is_present(WSI_TOKEN_ORIGIN));
        assert_eq!(t.total_length(WSI_TOKEN_HOST), 11);
        assert_eq!(t.total_length(WSI_TOKEN_HTTP_COOKIE), 8);
        assert_eq!(t.total_length(WSI_TOKEN_ORIGIN), 0);
        assert_eq!(t.total_length(WSI_TOKEN_COUNT + 5), 0);
        assert_eq!(t.fragment_length(WSI_TOKEN_HTTP_COOKIE, 1), 5);
        assert_eq!(t.fragment_length(WSI_TOKEN_HTTP_COOKIE, 2), 0);
        assert_eq!(t.fragment_length(WSI_TOKEN_ORIGIN, 0), 0);
        assert_eq!(t.fragment(WSI_TOKEN_HTTP_URI_ARGS, 1), Some(&b"y=2"[..]));
        assert_eq!(t.fragment(WSI_TOKEN_HTTP_URI_ARGS, 2), Some(&b""[..]));
        assert_eq!(t.fragment(WSI_TOKEN_HTTP_URI_ARGS, 4), None);
    }

    #[test]
    fn copy_glues_fragments_and_terminates() {
        let t = table();
        let mut dst = [0xaa; 16];
        assert_eq!(t.copy(WSI_TOKEN_HTTP_COOKIE, &mut dst), 8);
        assert_eq!(&dst[..9], b"a=1  b=2\0");
        assert_eq!(t.copy(WSI_TOKEN_HTTP_URI_ARGS, &mut dst), 14);
        assert_eq!(&dst[..15], b"x=1y=2name=joe\0");
    }

    #[test]
    fn copy_needs_room_for_the_nul() {
        let t = table();
        let mut dst = [0xaa; 12];
        assert_eq!(t.copy(WSI_TOKEN_HOST, &mut dst[..11]), -1);
        assert_eq!(dst, [0xaa; 12]);
        assert_eq!(t.copy(WSI_TOKEN_HOST, &mut dst), 11);
        assert_eq!(&dst, b"example.com\0");
    }

    #[test]
    fn copy_of_absent_leaves_dst_untouched() {
        let t = table();
        let mut dst = [0xaa; 4];
        assert_eq!(t.copy(WSI_TOKEN_ORIGIN, &mut dst), 0);
        assert_eq!(dst, [0xaa; 4]);
        // Even absent, a zero-length buffer is "too small".
        assert_eq!(t.copy(WSI_TOKEN_ORIGIN, &mut []), -1);
    }

    #[test]
    fn copy_of_empty_present_value_writes_the_nul() {
        let mut t = HeaderTable::new(64, None);
        t.push(WSI_TOKEN_ORIGIN, b"").unwrap();
        let mut dst = [0xaa; 4];
        assert_eq!(t.copy(WSI_TOKEN_ORIGIN, &mut dst), 0);
        assert_eq!(dst, [0, 0xaa, 0xaa, 0xaa]);
    }

    #[test]
    fn copy_fragment_semantics() {
        let t = table();
        let mut dst = [0xaa; 8];
        assert_eq!(t.copy_fragment(WSI_TOKEN_HTTP_URI_ARGS, 0, &mut dst), 3);
        assert_eq!(&dst[..4], b"x=1\0");
        assert_eq!(t.copy_fragment(WSI_TOKEN_HTTP_URI_ARGS, 1, &mut dst), 3);
        assert_eq!(&dst[..4], b"y=2\0");
        assert_eq!(t.copy_fragment(WSI_TOKEN_HTTP_URI_ARGS, 2, &mut dst), 0);
        assert_eq!(dst[0], 0);
        assert_eq!(t.copy_fragment(WSI_TOKEN_HTTP_URI_ARGS, 4, &mut dst), -1);
        assert_eq!(t.copy_fragment(WSI_TOKEN_ORIGIN, 0, &mut dst), -1);
        assert_eq!(t.copy_fragment(WSI_TOKEN_HTTP_URI_ARGS, 3, &mut dst), -1);
        assert_eq!(t.copy_fragment(WSI_TOKEN_HTTP_URI_ARGS, 3, &mut [0; 9]), 8);
    }

    #[test]
    fn urlarg_by_name_returns_the_rest() {
        let t = table();
        let mut buf = [0; 32];
        assert_eq!(t.urlarg_by_name(b"y=", &mut buf), Some(&b"2"[..]));
        assert_eq!(&buf[..4], b"y=2\0");
        assert_eq!(t.urlarg_by_name(b"name=", &mut buf), Some(&b"joe"[..]));
        assert_eq!(t.urlarg_by_name(b"x", &mut buf), Some(&b"=1"[..]));
        assert_eq!(t.urlarg_by_name(b"", &mut buf), Some(&b"x=1"[..]));
        assert_eq!(t.urlarg_by_name(b"z=", &mut buf), None);
        assert_eq!(t.urlarg_by_name(b"x=1x", &mut buf), None);
        // The search stops at the first arg that does not fit.
        assert_eq!(t.urlarg_by_name(b"name=", &mut buf[..4]), None);
        assert_eq!(
            HeaderTable::new(64, None).urlarg_by_name(b"x=", &mut buf),
            None
        );
    }

    #[test]
    fn data_limit_counts_a_nul_per_fragment() {
        let mut t = HeaderTable::new(10, None);
        t.push(WSI_TOKEN_HOST, b"abcd").unwrap(); // 5 bytes used
        assert_eq!(t.push(WSI_TOKEN_ORIGIN, b"12345"), Err(TableFull));
        assert!(!t.is_present(WSI_TOKEN_ORIGIN));
        t.push(WSI_TOKEN_ORIGIN, b"1234").unwrap(); // exactly 10
        assert_eq!(t.push(WSI_TOKEN_ACCEPT, b""), Err(TableFull));
    }

    #[test]
    fn fragment_slots_are_limited() {
        let mut t = HeaderTable::new(4096, None);
        for _ in 0..MAX_FRAGMENTS {
            t.push(WSI_TOKEN_HTTP_URI_ARGS, b"a").unwrap();
        }
        assert_eq!(t.push(WSI_TOKEN_HOST, b"a"), Err(TableFull));
        t.reset();
        assert!(!t.is_present(WSI_TOKEN_HTTP_URI_ARGS));
        t.push(WSI_TOKEN_HOST, b"a").unwrap();
    }

    #[test]
    fn token_limits_truncate_each_fragment() {
        let mut limits = [u16::MAX; WSI_TOKEN_COUNT];
        limits[WSI_TOKEN_HOST] = 3;
        limits[WSI_TOKEN_ORIGIN] = 0;
        let mut t = HeaderTable::new(4096, Some(&limits[..]));
        t.push(WSI_TOKEN_HOST, b"example.com").unwrap();
        t.push(WSI_TOKEN_HOST, b" again").unwrap();
        t.push(WSI_TOKEN_ORIGIN, b"x").unwrap();
        t.push(WSI_TOKEN_ACCEPT, b"*/*").unwrap();
        assert_eq!(t.fragment(WSI_TOKEN_HOST, 0), Some(&b"exa"[..]));
        assert_eq!(t.fragment(WSI_TOKEN_HOST, 1), Some(&b" ag"[..]));
        assert_eq!(t.fragment(WSI_TOKEN_ORIGIN, 0), Some(&b""[..]));
        assert_eq!(t.fragment(WSI_TOKEN_ACCEPT, 0), Some(&b"*/*"[..]));
        // A short limits slice leaves later tokens at the data size.
        let short = HeaderTable::new(100, Some(&[1, 2][..]));
        assert_eq!((short.limit(1), short.limit(2)), (2, 100));
    }

    #[test]
    fn bad_token_is_refused() {
        let mut t = HeaderTable::new(64, None);
        assert_eq!(t.push(WSI_TOKEN_COUNT, b"x"), Err(TableFull));
    }
}
