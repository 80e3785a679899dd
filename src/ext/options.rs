//! Extension option strings (`lws_ext_parse_options`) and the options
//! permessage-deflate takes by name (`lws_set_extension_option`).

use std::ops::Range;

/// How an option takes its value (`enum lws_ext_options_types`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// no value
    None,
    /// a decimal value is required
    Dec,
    /// a decimal value may follow
    OptDec,
}

impl Arg {
    /// From the C enum's value (EXTARG_NONE 0, EXTARG_DEC 1, EXTARG_OPT_DEC 2).
    pub fn from_c(v: u32) -> Option<Arg> {
        match v {
            0 => Some(Arg::None),
            1 => Some(Arg::Dec),
            2 => Some(Arg::OptDec),
            _ => None,
        }
    }
}

/// permessage-deflate's options, in the original's order (its
/// `lws_ext_pm_deflate_options` table): the RFC 7692 parameters, then the
/// ones only application code sets.
pub const PM_DEFLATE: [(&str, Arg); 8] = [
    ("server_no_context_takeover", Arg::None),
    ("client_no_context_takeover", Arg::None),
    ("server_max_window_bits", Arg::OptDec),
    ("client_max_window_bits", Arg::OptDec),
    ("rx_buf_size", Arg::Dec),
    ("tx_buf_size", Arg::Dec),
    ("compression_level", Arg::Dec),
    ("mem_level", Arg::Dec),
];

/// Indexes into `PM_DEFLATE`.
pub mod pmd {
    pub const SERVER_NO_CONTEXT_TAKEOVER: usize = 0;
    pub const CLIENT_NO_CONTEXT_TAKEOVER: usize = 1;
    pub const SERVER_MAX_WINDOW_BITS: usize = 2;
    pub const CLIENT_MAX_WINDOW_BITS: usize = 3;
    pub const RX_BUF_SIZE: usize = 4;
    pub const TX_BUF_SIZE: usize = 5;
    pub const COMPRESSION_LEVEL: usize = 6;
    pub const MEM_LEVEL: usize = 7;
}

/// The index of option `name` in permessage-deflate's table.
pub fn pm_deflate_index(name: &[u8]) -> Option<usize> {
    PM_DEFLATE.iter().position(|(n, _)| n.as_bytes() == name)
}

/// One option of an option string: its index in the table and where its
/// value is in the string (None when it has none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub index: usize,
    pub value: Option<Range<usize>>,
}

fn trim_range(text: &[u8], mut r: Range<usize>) -> Range<usize> {
    while r.start < r.end && text[r.start].is_ascii_whitespace() {
        r.start += 1;
    }
    while r.end > r.start && text[r.end - 1].is_ascii_whitespace() {
        r.end -= 1;
    }
    r
}

/// An option string that does not fit the extension's option table.
#[derive(Debug, PartialEq, Eq)]
pub struct BadOptions;

/// Parses `name[=value]; name...` against `table`, up to the first `,`
/// (the next extension's text), as the original did: Err for an unknown
/// name, a value on an option that takes none, a missing required value,
/// or a value that is not decimal (quotes allowed).
pub fn parse(table: &[(&[u8], Arg)], text: &[u8]) -> Result<Vec<Found>, BadOptions> {
    let end = text.iter().position(|&b| b == b',').unwrap_or(text.len());
    let mut found = Vec::new();
    let mut start = 0;
    while start < end {
        let stop = text[start..end]
            .iter()
            .position(|&b| b == b';')
            .map_or(end, |i| start + i);
        let part = trim_range(text, start..stop);
        start = stop + 1;
        if part.is_empty() {
            continue;
        }
        let (name, value) = match text[part.clone()].iter().position(|&b| b == b'=') {
            Some(eq) => {
                let mut v = trim_range(text, part.start + eq + 1..part.end);
                if v.len() >= 2 && text[v.start] == b'"' && text[v.end - 1] == b'"' {
                    v = v.start + 1..v.end - 1;
                }
                if v.is_empty() || !text[v.clone()].iter().all(u8::is_ascii_digit) {
                    return Err(BadOptions);
                }
                (trim_range(text, part.start..part.start + eq), Some(v))
            }
            None => (part, None),
        };
        let index = table
            .iter()
            .position(|(n, _)| *n == &text[name.clone()])
            .ok_or(BadOptions)?;
        match (table[index].1, &value) {
            (Arg::None, Some(_)) | (Arg::Dec, None) => return Err(BadOptions),
            _ => {}
        }
        found.push(Found { index, value });
    }
    Ok(found)
}

/// `atoi` of an option value, as the original read them (leading blanks
/// and a sign, then digits; 0 if none).
pub fn atoi(v: &[u8]) -> i32 {
    let s = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &v[i..]);
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, d| {
            (n * 10 + i64::from(d - b'0')).min(i64::from(i32::MAX) + 1)
        });
    let n = if neg { -n } else { n };
    n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<(&'static [u8], Arg)> {
        PM_DEFLATE.iter().map(|(n, a)| (n.as_bytes(), *a)).collect()
    }

    fn names(text: &str) -> Result<Vec<(usize, Option<String>)>, BadOptions> {
        parse(&table(), text.as_bytes()).map(|f| {
            f.into_iter()
                .map(|f| {
                    let v = f.value.map(|r| text[r].to_string());
                    (f.index, v)
                })
                .collect()
        })
    }

    #[test]
    fn option_strings() {
        assert_eq!(
            names("client_no_context_takeover; client_max_window_bits"),
            Ok(vec![(1, None), (3, None)])
        );
        assert_eq!(
            names(" server_max_window_bits = 10 ;rx_buf_size=\"12\", x; y"),
            Ok(vec![(2, Some("10".into())), (4, Some("12".into()))])
        );
        assert_eq!(names(""), Ok(vec![]));
        for bad in [
            "nope",
            "rx_buf_size",
            "server_no_context_takeover=1",
            "rx_buf_size=abc",
            "rx_buf_size=",
            "client_max_window",
        ] {
            assert_eq!(names(bad), Err(BadOptions), "{bad}");
        }
    }

    #[test]
    fn atoi_reads_like_c() {
        assert_eq!(atoi(b"12"), 12);
        assert_eq!(atoi(b" -3x"), -3);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"99999999999"), i32::MAX);
    }
}
