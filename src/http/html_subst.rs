//! Variable substitution in HTML streamed through in chunks, framed as
//! HTTP/1.1 chunked encoding: the core of `lws_chunked_html_process`.
//!
//! The application names its variables with the leading `$` included
//! (`"$user"`, or `"${user}"` when it wants braces: a name is matched
//! literally, whatever it contains), and a callback gives each one's text.
//! Input arrives in pieces of any size, so a name may be split across two or
//! more pieces: the bytes of a name begun at the end of one piece are held
//! back (at most [`MAX_NAME`] - 1 of them, which the C state keeps in its
//! 16-byte `swallow`) and decided when the next piece shows how it goes on.
//!
//! Matching is the original's, made independent of where pieces split: a
//! name can start at any byte that begins some variable's name; where the
//! text matches no name the first byte goes out as it is and scanning goes
//! on from the next one (so `$$user` gives `$` and the value); when one name
//! is a prefix of another (`$a`, `$ab`) the longest that matches wins; the
//! replacement text is not scanned again. Names longer than [`MAX_NAME`]
//! bytes are never matched (the original matched at most 14).

/// Longest variable name matched, in bytes (the C state's `swallow`).
pub const MAX_NAME: usize = 16;

/// After the data of a piece that is not the last.
pub const TRAILER: &[u8] = b"\r\n";
/// After the data of the last piece: its chunk's CRLF and the 0 chunk.
pub const FINAL_TRAILER: &[u8] = b"\r\n0\r\n\r\n";
/// The last piece when it has no data: only the 0 chunk.
pub const END_ONLY: &[u8] = b"0\r\n\r\n";
/// Room the chunk-size line can take before the data (`7FFFFFFF\r\n`).
pub const MAX_HEAD: usize = 10;

/// The variables: names, with which bytes can begin one.
pub struct Vars<'a> {
    names: Vec<&'a [u8]>,
    starts: [bool; 256],
}

impl<'a> Vars<'a> {
    /// `names[i]` is variable `i`; empty names and names longer than
    /// [`MAX_NAME`] keep their index but never match.
    pub fn new(names: Vec<&'a [u8]>) -> Vars<'a> {
        let mut starts = [false; 256];
        for n in &names {
            if usable(n) {
                starts[usize::from(n[0])] = true;
            }
        }
        Vars { names, starts }
    }
}

fn usable(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME
}

/// Substitutes the variables in `held` (what the previous call held back)
/// followed by `input`, appending the result to `out`; `replace(i, out)`
/// appends variable `i`'s text. Returns what is held back for the next
/// call: the start of a name that `input` ends inside of (never with
/// `last`, where the end of the input ends every name), shorter than
/// [`MAX_NAME`].
pub fn substitute(
    vars: &Vars,
    held: &[u8],
    input: &[u8],
    last: bool,
    out: &mut Vec<u8>,
    mut replace: impl FnMut(usize, &mut Vec<u8>),
) -> Vec<u8> {
    let total = held.len() + input.len();
    let at = |i: usize| {
        if i < held.len() {
            held[i]
        } else {
            input[i - held.len()]
        }
    };
    out.reserve(total);
    // the variables still matching the name being read
    let mut live: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < total {
        let b = at(i);
        if !vars.starts[usize::from(b)] {
            // a run of plain text, copied as one
            let mut end = i + 1;
            while end < total && !vars.starts[usize::from(at(end))] {
                end += 1;
            }
            if i < held.len() {
                let split = end.min(held.len());
                out.extend_from_slice(&held[i..split]);
                if end > split {
                    out.extend_from_slice(&input[..end - held.len()]);
                }
            } else {
                out.extend_from_slice(&input[i - held.len()..end - held.len()]);
            }
            i = end;
            continue;
        }
        live.clear();
        live.extend(
            (0..vars.names.len()).filter(|&v| usable(vars.names[v]) && vars.names[v][0] == b),
        );
        // the longest whole name seen so far: (variable, length)
        let mut best = None;
        let mut len = 1;
        loop {
            if let Some(&v) = live.iter().find(|&&v| vars.names[v].len() == len) {
                best = Some((v, len));
            }
            live.retain(|&v| vars.names[v].len() > len);
            if live.is_empty() {
                break;
            }
            if i + len == total {
                if last {
                    break;
                }
                // the input ends inside a name that may go on
                return (i..total).map(at).collect();
            }
            let next = at(i + len);
            live.retain(|&v| vars.names[v][len] == next);
            len += 1;
        }
        match best {
            Some((v, n)) => {
                replace(v, out);
                i += n;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    Vec::new()
}

/// The chunk-size line and trailer that frame `len` bytes of data as one
/// chunk, the 0 chunk following with `last`. Data-less pieces that are not
/// the last give no chunk at all (a 0-size chunk would end the body).
pub fn framing(len: usize, last: bool) -> (String, &'static [u8]) {
    match (len, last) {
        (0, false) => (String::new(), b""),
        (0, true) => (String::new(), END_ONLY),
        (n, false) => (format!("{n:X}\r\n"), TRAILER),
        (n, true) => (format!("{n:X}\r\n"), FINAL_TRAILER),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: &[&str] = &["$user", "${user}", "$a", "$ab", "$abc_def", "$x"];

    fn value(i: usize) -> String {
        match VARS[i] {
            "$user" => "alice".into(),
            "${user}" => "<b>ALICE</b>".into(),
            "$a" => "[A]".into(),
            "$ab" => "".into(),
            "$abc_def" => "[DEF]".into(),
            _ => "$user".into(),
        }
    }

    /// Runs `text` through in pieces ending at `cuts`, checking what each
    /// call holds back, and returns the whole output.
    fn run(vars: &Vars, text: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut held = Vec::new();
        let mut from = 0;
        let ends: Vec<usize> = cuts.iter().copied().chain([text.len()]).collect();
        for (k, &to) in ends.iter().enumerate() {
            let last = k + 1 == ends.len();
            held = substitute(vars, &held, &text[from..to], last, &mut out, |v, o| {
                o.extend_from_slice(value(v).as_bytes())
            });
            assert!(held.len() < MAX_NAME);
            if last {
                assert!(held.is_empty());
            }
            from = to;
        }
        out
    }

    fn vars() -> Vars<'static> {
        Vars::new(VARS.iter().map(|s| s.as_bytes()).collect())
    }

    fn whole(text: &str) -> String {
        String::from_utf8(run(&vars(), text.as_bytes(), &[])).unwrap()
    }

    #[test]
    fn names_are_replaced() {
        assert_eq!(whole("hi $user!"), "hi alice!");
        assert_eq!(whole("hi ${user}!"), "hi <b>ALICE</b>!");
        assert_eq!(whole("$user$user"), "alicealice");
        assert_eq!(whole("$$user"), "$alice");
        assert_eq!(whole("$us"), "$us");
        assert_eq!(whole("$use r"), "$use r");
        assert_eq!(whole("${user"), "${user");
        assert_eq!(whole("$"), "$");
        assert_eq!(whole(""), "");
        assert_eq!(whole("no vars here"), "no vars here");
        assert_eq!(whole("${user}}"), "<b>ALICE</b>}");
        // the replacement text is not scanned again
        assert_eq!(whole("$x"), "$user");
    }

    #[test]
    fn the_longest_name_wins() {
        assert_eq!(whole("$a"), "[A]");
        assert_eq!(whole("$ab"), "");
        assert_eq!(whole("$abc"), "c");
        assert_eq!(whole("$abc_de"), "c_de");
        assert_eq!(whole("$abc_def"), "[DEF]");
        assert_eq!(whole("$ax"), "[A]x");
        assert_eq!(whole("$abc_deff"), "[DEF]f");
    }

    #[test]
    fn names_too_long_or_empty_never_match() {
        let long = "$abcdefghijklmnopq"; // 18 bytes
        let v = Vars::new(vec![b"".as_slice(), long.as_bytes(), b"$ok"]);
        let mut out = Vec::new();
        let held = substitute(
            &v,
            &[],
            format!("{long} $ok").as_bytes(),
            true,
            &mut out,
            |i, o| o.extend_from_slice(format!("#{i}").as_bytes()),
        );
        assert!(held.is_empty());
        assert_eq!(out, format!("{long} #2").as_bytes());
        // a name of exactly MAX_NAME bytes matches, even split anywhere
        let sixteen = "$123456789abcdef";
        assert_eq!(sixteen.len(), MAX_NAME);
        let v = Vars::new(vec![sixteen.as_bytes()]);
        let text = format!("<{sixteen}>");
        for cut in 0..=text.len() {
            let mut out = Vec::new();
            let held = substitute(&v, &[], &text.as_bytes()[..cut], false, &mut out, |_, o| {
                o.push(b'V')
            });
            substitute(
                &v,
                &held,
                &text.as_bytes()[cut..],
                true,
                &mut out,
                |_, o| o.push(b'V'),
            );
            assert_eq!(out, b"<V>", "cut {cut}");
        }
    }

    #[test]
    fn no_variables_is_a_copy() {
        let v = Vars::new(Vec::new());
        let mut out = Vec::new();
        let held = substitute(&v, &[], b"$user", false, &mut out, |_, _| unreachable!());
        assert!(held.is_empty());
        assert_eq!(out, b"$user");
    }

    const PAGE: &str = "<html>$user ${user} $$user $us$user\n$a$ab$abc $abc_def$abc_deff \
                        $abc_de ${user $x$</html>$";
    const EXPECTED: &str = "<html>alice <b>ALICE</b> $alice $usalice\n[A]c [DEF][DEF]f \
                            c_de ${user $user$</html>$";

    #[test]
    fn a_page_in_one_piece() {
        assert_eq!(whole(PAGE), EXPECTED);
    }

    #[test]
    fn split_once_at_every_byte() {
        let v = vars();
        for cut in 0..=PAGE.len() {
            assert_eq!(
                run(&v, PAGE.as_bytes(), &[cut]),
                EXPECTED.as_bytes(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn split_twice_at_every_pair_of_bytes() {
        let v = vars();
        for a in 0..=PAGE.len() {
            for b in a..=PAGE.len() {
                assert_eq!(
                    run(&v, PAGE.as_bytes(), &[a, b]),
                    EXPECTED.as_bytes(),
                    "{a} {b}"
                );
            }
        }
    }

    #[test]
    fn pieces_of_every_size() {
        let v = vars();
        for size in 1..=PAGE.len() {
            let cuts: Vec<usize> = (size..PAGE.len()).step_by(size).collect();
            assert_eq!(
                run(&v, PAGE.as_bytes(), &cuts),
                EXPECTED.as_bytes(),
                "size {size}"
            );
        }
    }

    #[test]
    fn held_bytes_are_the_open_name() {
        let v = vars();
        let mut out = Vec::new();
        let held = substitute(&v, &[], b"x $abc_d", false, &mut out, |_, _| {});
        assert_eq!(out, b"x ");
        assert_eq!(held, b"$abc_d");
        // "$a" is whole but "$ab..." may still follow: held too
        let mut out = Vec::new();
        let held = substitute(&v, &[], b"$a", false, &mut out, |_, _| {});
        assert!(out.is_empty());
        assert_eq!(held, b"$a");
        // a name that cannot go on is decided at once
        let mut out = Vec::new();
        let held = substitute(&v, &[], b"$x", false, &mut out, |_, o| o.push(b'X'));
        assert_eq!((out.as_slice(), held.len()), (b"X".as_slice(), 0));
    }

    #[test]
    fn chunk_framing() {
        assert_eq!(framing(0, false), (String::new(), b"".as_slice()));
        assert_eq!(framing(0, true), (String::new(), END_ONLY));
        assert_eq!(framing(26, false), ("1A\r\n".to_string(), TRAILER));
        assert_eq!(framing(4096, true), ("1000\r\n".to_string(), FINAL_TRAILER));
        let (head, _) = framing(i32::MAX as usize, false);
        assert_eq!(head.len(), MAX_HEAD);
    }
}
