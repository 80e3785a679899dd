//! The server-status JSON (`lws_json_dump_vhost`, `lws_json_dump_context`),
//! laid out as the original's server-status build printed it: every value a
//! quoted string, one key per line.

use std::fmt::Write;

use super::context::{has_option, Context};
use super::stats::Snapshot;
use super::vhost::{MountKind, Vhost};
use crate::ffi::enums::lws_context_options as O;
use crate::plat::sysinfo;

/// The scheme the original printed in front of a mount's origin.
fn scheme(kind: MountKind) -> &'static str {
    match kind {
        MountKind::Http => "http://",
        MountKind::Https => "https://",
        MountKind::File => "file://",
        MountKind::Cgi => "cgi://",
        MountKind::RedirHttp => ">http://",
        MountKind::RedirHttps => ">https://",
        MountKind::Callback => "callback://",
    }
}

/// `s` inside a JSON string (the original printed names raw; escaping
/// keeps the document parseable whatever the names hold).
fn esc(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in String::from_utf8_lossy(s).chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// One vhost: name, listen port, TLS, STS, its counters, mounts and
/// protocols.
pub fn vhost_json(vh: &Vhost) -> String {
    let s = vh.stats.snapshot();
    let mut o = String::new();
    let _ = write!(
        o,
        "{{\n \"name\":\"{}\",\n \"port\":\"{}\",\n \"use_ssl\":\"{}\",\n \"sts\":\"{}\",\n \
         \"rx\":\"{}\",\n \"tx\":\"{}\",\n \"conn\":\"{}\",\n \"trans\":\"{}\",\n \
         \"ws_upg\":\"{}\",\n \"rejected\":\"{}\",\n \"http2_upg\":\"0\"",
        esc(vh.name.as_bytes()),
        vh.bound_port.get(),
        u8::from(vh.tls_server.is_some()),
        u8::from(has_option(vh.options, O::LWS_SERVER_OPTION_STS)),
        s.rx,
        s.tx,
        s.conn,
        s.trans,
        s.ws_upg,
        s.rejected,
    );
    if !vh.mounts.is_empty() {
        o.push_str(",\n \"mounts\":[");
        for (i, m) in vh.mounts.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(
                o,
                "\n  {{\n   \"mountpoint\":\"{}\",\n  \"origin\":\"{}{}\",\n  \
                 \"cache_max_age\":\"{}\",\n  \"cache_reuse\":\"{}\",\n  \
                 \"cache_revalidate\":\"{}\",\n  \"cache_intermediaries\":\"{}\"\n",
                esc(&m.mountpoint),
                scheme(m.kind),
                esc(&m.origin),
                m.cache_max_age,
                u8::from(m.cache_reusable),
                u8::from(m.cache_revalidate),
                u8::from(m.cache_intermediaries),
            );
            if let Some(def) = &m.def {
                let _ = write!(o, ",\n  \"default\":\"{}\"", esc(def));
            }
            o.push_str("\n  }");
        }
        o.push_str("\n ]");
    }
    if !vh.protocols.is_empty() {
        o.push_str(",\n \"ws-protocols\":[");
        for (i, p) in vh.protocols.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(
                o,
                "\n  {{\n   \"{}\":{{\n    \"status\":\"ok\"\n   }}\n  }}",
                esc(&p.name)
            );
        }
        o.push_str("\n ]");
    }
    o.push_str("\n}");
    o
}

/// The whole context: version, uptimes, load averages, per-thread fd and
/// header-table use, every vhost, and the counters summed over them.
pub fn context_json(ctx: &Context, version: &str) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "{{ \"version\":\"{}\",\n\"uptime\":\"{}\",\n",
        esc(version.as_bytes()),
        sysinfo::uptime_secs()
    );
    for (i, l) in sysinfo::load_averages().iter().enumerate() {
        let _ = writeln!(o, "\"l{}\":\"{:.2}\",", i + 1, l);
    }
    let vhosts = ctx.vhosts();
    let alive: usize = ctx.pts.iter().map(|pt| pt.fd_count()).sum();
    let _ = write!(
        o,
        "\"contexts\":[\n{{ \"context_uptime\":\"{}\",\n\"cgi_spawned\":\"{}\",\n\
         \"pt_fd_max\":\"{}\",\n\"ah_pool_max\":\"{}\",\n\"deprecated\":\"0\",\n\
         \"wsi_alive\":\"{}\",\n\"pt\":[\n ",
        ctx.created.elapsed().as_secs(),
        ctx.cgi_spawned.load(std::sync::atomic::Ordering::Relaxed),
        ctx.cfg.fd_limit_per_thread,
        ctx.cfg.max_http_header_pool,
        alive,
    );
    for (i, pt) in ctx.pts.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let (inuse, waiting) = pt.ah_status(ctx.cfg.max_http_header_pool);
        let _ = write!(
            o,
            "\n  {{\n    \"fds_count\":\"{}\",\n    \"ah_pool_inuse\":\"{}\",\n    \
             \"ah_wait_list\":\"{}\"\n    }}",
            pt.fd_count(),
            inuse,
            waiting
        );
    }
    o.push_str("], \"vhosts\":[\n ");
    let mut sum = Snapshot::default();
    let mut listening = 0;
    for (i, vh) in vhosts.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str(&vhost_json(vh));
        sum += vh.stats.snapshot();
        // a vhost sharing an earlier one's port and interface has no
        // listener of its own
        let owns = |v: &Vhost| v.listen.port.is_some() && v.bound_port.get() > 0;
        if owns(vh)
            && !vhosts[..i].iter().any(|e| {
                owns(e)
                    && e.bound_port.get() == vh.bound_port.get()
                    && e.listen.iface == vh.listen.iface
            })
        {
            listening += 1;
        }
    }
    let _ = write!(
        o,
        "],\n\"listen_wsi\":\"{}\",\n \"rx\":\"{}\",\n \"tx\":\"{}\",\n \"conn\":\"{}\",\n \
         \"trans\":\"{}\",\n \"ws_upg\":\"{}\",\n \"rejected\":\"{}\",\n \"http2_upg\":\"0\",\n \
         \"cgi_alive\":\"{}\"\n }}]}}\n",
        listening,
        sum.rx,
        sum.tx,
        sum.conn,
        sum.trans,
        sum.ws_upg,
        sum.rejected,
        ctx.cgi_alive.load(std::sync::atomic::Ordering::Relaxed)
    );
    o
}
