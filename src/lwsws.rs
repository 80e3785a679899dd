//! lwsws-style JSON configuration (CONTRACT §14): a directory holding
//! `conf` and `conf.d/*`, each file one JSON object with `#` comments.
//! This module reads and checks the files and turns them into typed
//! settings; `ffi::json` stores them in the caller's buffer and info struct
//! and creates the vhosts.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// What `_lws_ddir_` in a value stands for (lws_config.h's LWS_INSTALL_DATADIR).
pub const INSTALL_DATADIR: &str = "/usr/local/share";
const DDIR: &str = "_lws_ddir_";

/// The most plugin dirs `info->plugin_dirs` can hold (its array has a NULL
/// after them, 10 slots, as the original's).
pub const MAX_PLUGIN_DIRS: usize = 9;

/// A JSON value that keeps objects' keys in file order, repeated keys
/// included (`plugin-dir` may appear several times). Numbers keep their
/// text: every setting is read from text, as the original's `atoi`.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Str(String),
    Bool(bool),
    Null,
    Arr(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut v = Vec::new();
        while let Some(n) = seq.next_element()? {
            v.push(n);
        }
        Ok(Node::Arr(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut v = Vec::new();
        while let Some((k, n)) = map.next_entry::<String, Node>()? {
            v.push((k, n));
        }
        Ok(Node::Obj(v))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Node::Str(_) => "a string",
            Node::Bool(_) => "a boolean",
            Node::Null => "null",
            Node::Arr(_) => "an array",
            Node::Obj(_) => "an object",
        }
    }
}

/// Blanks `#` comments (from a `#` outside a string to the end of the
/// line) so a strict JSON parser accepts the file; line and column numbers
/// stay as they were.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_str, mut escaped, mut in_comment) = (false, false, false);
    for ch in text.chars() {
        if in_comment {
            if ch == '\n' {
                in_comment = false;
                out.push('\n');
            } else {
                out.push(' ');
            }
            continue;
        }
        if in_str {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' || ch == '\n' {
                in_str = false;
            }
        } else if ch == '"' {
            in_str = true;
        } else if ch == '#' {
            in_comment = true;
            out.push(' ');
            continue;
        }
        out.push(ch);
    }
    out
}

/// A parse failure: line and the original's style of message.
#[derive(Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub code: i32,
    pub text: String,
}

/// Parses one file's text (comments allowed).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    serde_json::from_str::<Node>(&strip_comments(text)).map_err(|e| {
        use serde_json::error::Category;
        let code = match e.classify() {
            Category::Io => -1,
            Category::Syntax => -2,
            Category::Data => -3,
            Category::Eof => -4,
        };
        let text = e.to_string();
        // serde_json appends " at line L column C"; the line is printed apart
        let text = text
            .rsplit_once(" at line ")
            .map_or(text.clone(), |(t, _)| t.to_string());
        SyntaxError {
            line: e.line(),
            code,
            text,
        }
    })
}

/// The files a configuration directory holds: `conf`, then every entry of
/// `conf.d` in byte order (alphasort), `.` and `..` left out.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v = vec![dir.join("conf")];
    let d = dir.join("conf.d");
    match std::fs::read_dir(&d) {
        Ok(rd) => {
            let mut names: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
            names.retain(|n| n != "." && n != "..");
            names.sort();
            v.extend(names.into_iter().map(|n| d.join(n)));
        }
        Err(e) => lwsl_notice!("lwsws config: no {} ({e})", d.display()),
    }
    v
}

/// A file that does not parse (already logged).
#[derive(Debug)]
pub struct Unparsable;

/// Reads and parses one file: Ok(None) if it cannot be read (logged,
/// skipped), Err after logging `file(line): parsing error N: text`.
pub fn load(path: &Path) -> Result<Option<Node>, Unparsable> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            lwsl_err!("Cannot open {} ({e})", path.display());
            return Ok(None);
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        lwsl_err!("{}(1): parsing error -5: not UTF-8 text", path.display());
        return Err(Unparsable);
    };
    match parse(&text) {
        Ok(n @ Node::Obj(_)) => Ok(Some(n)),
        Ok(other) => {
            lwsl_err!(
                "{}(1): parsing error -3: the file holds {}, not an object",
                path.display(),
                other.kind()
            );
            Err(Unparsable)
        }
        Err(e) => {
            lwsl_err!(
                "{}({}): parsing error {}: {}",
                path.display(),
                e.line,
                e.code,
                e.text
            );
            Err(Unparsable)
        }
    }
}

/// The members of `doc` called `key` (a file may repeat one).
pub fn members<'a>(doc: &'a Node, key: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
    let list: &[(String, Node)] = match doc {
        Node::Obj(v) => v,
        _ => &[],
    };
    list.iter().filter(move |(k, _)| k == key).map(|(_, v)| v)
}

/// C's `atoi`: optional blanks and sign, then digits (saturating).
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

pub fn atoi32(s: &str) -> i32 {
    atoi(s).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// A non-zero number or on / yes / true (any case).
pub fn to_bool(s: &str) -> bool {
    atoi(s) != 0
        || ["on", "yes", "true"]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w))
}

/// `_lws_ddir_` replaced by the install data dir.
pub fn ddir(s: &str) -> String {
    s.replace(DDIR, INSTALL_DATADIR)
}

/// A setting's text: strings as they are, numbers as written, booleans as
/// `true`/`false`; null, arrays and objects are the wrong type.
fn text(key: &str, n: &Node) -> Result<String, String> {
    match n {
        Node::Str(s) => Ok(ddir(s)),
        Node::Bool(b) => Ok(b.to_string()),
        other => Err(format!("\"{key}\" must be a string, not {}", other.kind())),
    }
}

fn object<'a>(key: &str, n: &'a Node) -> Result<&'a [(String, Node)], String> {
    match n {
        Node::Obj(v) => Ok(v),
        other => Err(format!("\"{key}\" must be an object, not {}", other.kind())),
    }
}

fn array<'a>(key: &str, n: &'a Node) -> Result<&'a [Node], String> {
    match n {
        Node::Arr(v) => Ok(v),
        other => Err(format!("\"{key}\" must be an array, not {}", other.kind())),
    }
}

/// `[{"name": "value"}, ...]` or `{"name": "value", ...}` flattened to pairs.
fn pairs(key: &str, n: &Node) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let objs: Vec<&Node> = match n {
        Node::Arr(v) => v.iter().collect(),
        Node::Obj(_) => vec![n],
        other => return Err(format!("\"{key}\" must be an array, not {}", other.kind())),
    };
    for o in objs {
        for (k, v) in object(key, o)? {
            out.push((k.clone(), text(k, v)?));
        }
    }
    Ok(out)
}

/// One `"global"` setting, applied in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Global {
    Uid(i32),
    Gid(i32),
    CountThreads(i32),
    InitSsl(bool),
    ServerString(String),
    PluginDir(String),
    PingPongSecs(i32),
}

/// The settings of a file's `"global"` objects; other keys are ignored.
pub fn globals(doc: &Node) -> Result<Vec<Global>, String> {
    let mut out = Vec::new();
    for g in members(doc, "global") {
        for (k, v) in object("global", g)? {
            let item = match k.as_str() {
                "uid" => Global::Uid(atoi32(&text(k, v)?)),
                "gid" => Global::Gid(atoi32(&text(k, v)?)),
                "count-threads" => Global::CountThreads(atoi32(&text(k, v)?)),
                "init-ssl" => Global::InitSsl(to_bool(&text(k, v)?)),
                "server-string" => Global::ServerString(text(k, v)?),
                "plugin-dir" => Global::PluginDir(text(k, v)?),
                "ws-pingpong-secs" => Global::PingPongSecs(atoi32(&text(k, v)?)),
                _ => continue,
            };
            out.push(item);
        }
    }
    Ok(out)
}

/// The vhost objects of a file's `"vhosts"` arrays, in order.
pub fn vhost_nodes(doc: &Node) -> Result<Vec<&Node>, String> {
    let mut out = Vec::new();
    for list in members(doc, "vhosts") {
        for v in array("vhosts", list)? {
            object("vhosts[]", v)?;
            out.push(v);
        }
    }
    Ok(out)
}

/// A mount (`struct lws_http_mount`), origin without its scheme.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountSpec {
    pub mountpoint: String,
    pub origin: String,
    /// `enum lws_mount_protocols` from the origin's scheme
    pub origin_protocol: u8,
    /// the protocol a `callback://` mount binds
    pub protocol: Option<String>,
    pub def: Option<String>,
    pub auth_mask: u32,
    pub cgi_timeout: i32,
    pub cache_max_age: i32,
    pub cache_reuse: bool,
    pub cache_revalidate: bool,
    pub cache_intermediaries: bool,
    /// `cgi-env` and `pmo` pairs (the mount's `cgienv`)
    pub cgienv: Vec<(String, String)>,
    pub extra_mimetypes: Vec<(String, String)>,
    pub interpret: Vec<(String, String)>,
}

/// The schemes in `enum lws_mount_protocols` order.
pub const MOUNT_SCHEMES: [&str; 7] = [
    "http://",
    "https://",
    "file://",
    "cgi://",
    ">http://",
    ">https://",
    "callback://",
];

fn mount(n: &Node) -> Result<MountSpec, String> {
    let mut m = MountSpec::default();
    let (mut mountpoint, mut origin) = (None, None);
    for (k, v) in object("mounts[]", n)? {
        match k.as_str() {
            "mountpoint" => mountpoint = Some(text(k, v)?),
            "origin" => origin = Some(text(k, v)?),
            "default" => m.def = Some(text(k, v)?),
            "auth-mask" => m.auth_mask = atoi(&text(k, v)?) as u32,
            "cgi-timeout" => m.cgi_timeout = atoi32(&text(k, v)?),
            "cache-max-age" => m.cache_max_age = atoi32(&text(k, v)?),
            "cache-reuse" => m.cache_reuse = to_bool(&text(k, v)?),
            "cache-revalidate" => m.cache_revalidate = to_bool(&text(k, v)?),
            "cache-intermediaries" => m.cache_intermediaries = to_bool(&text(k, v)?),
            "cgi-env" | "pmo" => m.cgienv.extend(pairs(k, v)?),
            "extra-mimetypes" => m.extra_mimetypes.extend(pairs(k, v)?),
            "interpret" => m.interpret.extend(pairs(k, v)?),
            _ => {}
        }
    }
    let (Some(mountpoint), Some(origin)) = (mountpoint, origin) else {
        return Err("mountpoint and origin required".into());
    };
    if mountpoint.len() > 255 {
        return Err(format!(
            "mountpoint longer than 255 bytes ({})",
            mountpoint.len()
        ));
    }
    let Some(index) = MOUNT_SCHEMES.iter().position(|s| origin.starts_with(s)) else {
        return Err(format!("unsupported protocol:// {origin}"));
    };
    m.origin = origin[MOUNT_SCHEMES[index].len()..].to_string();
    if MOUNT_SCHEMES[index] == "callback://" {
        m.protocol = Some(m.origin.clone());
    }
    m.origin_protocol = index as u8;
    m.mountpoint = mountpoint;
    Ok(m)
}

/// One vhost object. `None` fields leave the info value as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VhostSpec {
    pub name: Option<String>,
    pub port: i32,
    pub iface: Option<String>,
    pub unix_socket: Option<bool>,
    pub sts: Option<bool>,
    pub key: Option<String>,
    pub cert: Option<String>,
    pub ca: Option<String>,
    pub access_log: Option<String>,
    pub keepalive_timeout: Option<i32>,
    pub enable_client_ssl: bool,
    pub ciphers: Option<String>,
    pub ecdh_curve: Option<String>,
    pub noipv6: Option<bool>,
    pub ipv6only: Option<bool>,
    pub ssl_option_set: i64,
    pub ssl_option_clear: i64,
    /// extra response headers (name without the colon), file order
    pub headers: Vec<(String, String)>,
    /// pvo: protocols enabled on the vhost with their options, file order
    pub protocols: Vec<(String, Vec<(String, String)>)>,
    pub mounts: Vec<MountSpec>,
}

pub fn vhost(n: &Node) -> Result<VhostSpec, String> {
    let mut v = VhostSpec::default();
    for (k, val) in object("vhosts[]", n)? {
        match k.as_str() {
            "name" => v.name = Some(text(k, val)?),
            "port" => v.port = atoi32(&text(k, val)?),
            "interface" => v.iface = Some(text(k, val)?),
            "unix-socket" => v.unix_socket = Some(to_bool(&text(k, val)?)),
            "sts" => v.sts = Some(to_bool(&text(k, val)?)),
            "host-ssl-key" => v.key = Some(text(k, val)?),
            "host-ssl-cert" => v.cert = Some(text(k, val)?),
            "host-ssl-ca" => v.ca = Some(text(k, val)?),
            "access-log" => v.access_log = Some(text(k, val)?),
            "keepalive_timeout" => v.keepalive_timeout = Some(atoi32(&text(k, val)?)),
            "enable-client-ssl" => v.enable_client_ssl = to_bool(&text(k, val)?),
            "ciphers" => v.ciphers = Some(text(k, val)?),
            "ecdh-curve" => v.ecdh_curve = Some(text(k, val)?),
            "noipv6" => v.noipv6 = Some(to_bool(&text(k, val)?)),
            "ipv6only" => v.ipv6only = Some(to_bool(&text(k, val)?)),
            "ssl-option-set" => v.ssl_option_set |= atoi(&text(k, val)?),
            "ssl-option-clear" => v.ssl_option_clear |= atoi(&text(k, val)?),
            "headers" => v.headers.extend(pairs(k, val)?),
            "ws-protocols" => {
                let objs: Vec<&Node> = match val {
                    Node::Obj(_) => vec![val],
                    other => array(k, other)?.iter().collect(),
                };
                for o in objs {
                    for (name, opts) in object(k, o)? {
                        v.protocols.push((name.clone(), pairs(name, opts)?));
                    }
                }
            }
            "mounts" => {
                for m in array(k, val)? {
                    v.mounts.push(mount(m)?);
                }
            }
            _ => {}
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_blanked_keeping_lines_and_strings() {
        let t = "# top\n{ \"a\": \"x#y\", # c\n \"b\": \"q\\\"#\" }\n";
        let s = strip_comments(t);
        assert_eq!(s.len(), t.len());
        assert_eq!(s.lines().count(), t.lines().count());
        let n = parse(t).unwrap();
        assert_eq!(
            n,
            Node::Obj(vec![
                ("a".into(), Node::Str("x#y".into())),
                ("b".into(), Node::Str("q\"#".into()))
            ])
        );
    }

    #[test]
    fn syntax_error_names_the_line() {
        let e = parse("{\n\"a\": \"b\",\n\"c\" \"d\"\n}").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.code, -2);
    }

    #[test]
    fn repeated_keys_are_kept_in_order() {
        let n = parse(r#"{"global": {"plugin-dir": "a", "uid": 5, "plugin-dir": "_lws_ddir_/b", "init-ssl": "Yes"}}"#).unwrap();
        assert_eq!(
            globals(&n).unwrap(),
            vec![
                Global::PluginDir("a".into()),
                Global::Uid(5),
                Global::PluginDir("/usr/local/share/b".into()),
                Global::InitSsl(true),
            ]
        );
        let bad = parse(r#"{"global": {"uid": [1]}}"#).unwrap();
        assert!(globals(&bad).is_err());
        assert!(globals(&parse(r#"{"global": 3}"#).unwrap()).is_err());
    }

    #[test]
    fn atoi_and_bools() {
        assert_eq!(atoi(" 42x"), 42);
        assert_eq!(atoi("-7"), -7);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi32("99999999999999999999"), i32::MAX);
        assert!(
            to_bool("ON") && to_bool("1") && to_bool("true") && !to_bool("off") && !to_bool("0")
        );
    }

    #[test]
    fn vhost_with_mounts_and_protocols() {
        let n = parse(
            r#"{"vhosts": [{"name": "a", "port": "7681",
                "ws-protocols": [{"dumb": {"default": "1", "x": "y"}}, {"mirror": {}}],
                "headers": [{"X-A": "1"}],
                "mounts": [{"mountpoint": "/", "origin": "file://_lws_ddir_/www", "default": "index.html",
                            "cache-reuse": "1", "extra-mimetypes": {".zip": "application/zip"}},
                           {"mountpoint": "/cb", "origin": "callback://dumb"}]}]}"#,
        )
        .unwrap();
        let nodes = vhost_nodes(&n).unwrap();
        let v = vhost(nodes[0]).unwrap();
        assert_eq!(v.port, 7681);
        assert_eq!(v.protocols[0].0, "dumb");
        assert_eq!(v.protocols[0].1[0], ("default".into(), "1".into()));
        assert_eq!(v.mounts[0].origin, "/usr/local/share/www");
        assert_eq!(v.mounts[0].origin_protocol, 2);
        assert!(v.mounts[0].cache_reuse);
        assert_eq!(v.mounts[1].protocol.as_deref(), Some("dumb"));
        assert_eq!(v.mounts[1].origin_protocol, 6);
    }

    #[test]
    fn bad_mounts_and_types_fail() {
        let one = |s: &str| vhost(vhost_nodes(&parse(s).unwrap()).unwrap()[0]);
        assert_eq!(
            one(r#"{"vhosts":[{"mounts":[{"mountpoint":"/"}]}]}"#).unwrap_err(),
            "mountpoint and origin required"
        );
        assert!(
            one(r#"{"vhosts":[{"mounts":[{"mountpoint":"/","origin":"ftp://x"}]}]}"#)
                .unwrap_err()
                .starts_with("unsupported protocol://")
        );
        assert!(one(r#"{"vhosts":[{"name":{"a":1}}]}"#).is_err());
        assert!(one(r#"{"vhosts":[{"mounts":{}}]}"#).is_err());
        assert!(vhost_nodes(&parse(r#"{"vhosts":{}}"#).unwrap()).is_err());
        assert!(vhost_nodes(&parse(r#"{"vhosts":[1]}"#).unwrap()).is_err());
    }
}
