#!/usr/bin/env python3
"""Turns bench/run's results (JSON lines: server, case, result) into the
tables: medians over the runs of each case, ours / theirs ratios and the
issue's targets. Prints them (--print) and writes a Markdown file (--out),
keeping whatever follows the analysis marker in an existing file."""

import argparse
import json
import math
import statistics
import sys

MARKER = "<!-- analysis: everything below this line is kept by bench/run -->"

TARGETS = {
    "echo": ("echo throughput (round trips/s)", ">=", 1.5),
    "cpu": ("server CPU per message", "<=", 0.7),
    "paced": ("server CPU per message at a fixed rate", "<=", 0.7),
    "idle": ("idle memory per connection", "<=", 0.5),
    "http": ("HTTP static file (1 KiB) req/s", ">=", 1.2),
}


def load(path):
    runs = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        runs.setdefault((row["case"], row["server"]), []).append(row["result"])
    return runs


def ok_runs(runs, case, server):
    return [r for r in runs.get((case, server), []) if "failed" not in r]


def failures(runs, case, server):
    return [r["failed"] for r in runs.get((case, server), []) if "failed" in r]


def median(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def spread(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return (min(vals), max(vals)) if len(vals) > 1 else None


def num(v, digits=0):
    if v is None:
        return "—"
    if abs(v) >= 10000:
        return f"{v / 1000:.{max(digits, 1)}f}k"
    return f"{v:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}×"


def geomean(vals):
    vals = [v for v in vals if v]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None


def met(r, op, target):
    if r is None:
        return "—"
    return "yes" if (r >= target if op == ">=" else r <= target) else "**no**"


def busy(rs, key):
    vals = [r[key] / r["seconds"] for r in rs if r.get(key) is not None and r.get("seconds")]
    return f"{100 * statistics.median(vals):.0f}%" if vals else "—"


def echo_cases(runs, prefix="echo-"):
    """echo-NxS (or pings-NxS+K) cases, by N and S."""
    return sorted(
        {c for (c, _) in runs if c.startswith(prefix)},
        key=lambda c: tuple(int(x) for x in c[len(prefix):].split("+")[0].split("x")),
    )


def cpu_us_per(rs, cpu_key, count_key):
    """Median CPU microseconds per counted thing (connection, GET) over runs."""
    vals = [1e6 * r[cpu_key] / r[count_key] for r in rs if r.get(count_key)]
    return statistics.median(vals) if vals else None


def lat(rs):
    """p50 / p99 of the run whose throughput is the median one."""
    if not rs:
        return "—"
    m = median(rs, "rtps")
    r = min(rs, key=lambda x: abs(x["rtps"] - m))
    return f"{r['p50_us']:.0f} / {r['p99_us']:.0f}"


def cpu_per_100k(runs, case):
    """Both servers' runs of a case and their median CPU s per 100k messages."""
    o, t = ok_runs(runs, case, "ours"), ok_runs(runs, case, "theirs")
    return o, t, median(o, "server_cpu_s_per_100k"), median(t, "server_cpu_s_per_100k")


def paced_cases(runs, prefix="paced-"):
    """paced-NxS@R cases (or another prefix), by N, S and R."""
    def key(c):
        ns, r = c[len(prefix):].split("@")
        n, s = ns.split("x")
        return int(n), int(s), float(r)

    return sorted({c for (c, _) in runs if c.startswith(prefix)}, key=key)


def numbered_cases(runs, prefix):
    """broadcast-N, push-N, broadcastpaced-N@R cases, by N (and R)."""
    def key(c):
        rest = c[len(prefix):]
        n, _, r = rest.partition("@")
        return int(n), float(r or 0)

    return sorted({c for (c, _) in runs if c.startswith(prefix)}, key=key)


def sys_per_msg(runs, case, server):
    """Median system calls per message of the case's syscall-count runs
    ("sys:<case>"), and the per-call figures of the median one."""
    rs = [r for r in ok_runs(runs, "sys:" + case, server) if (r.get("syscalls") or {}).get("per_msg") is not None]
    if not rs:
        return None, {}
    m = statistics.median(r["syscalls"]["per_msg"] for r in rs)
    r = min(rs, key=lambda x: abs(x["syscalls"]["per_msg"] - m))
    return m, r["syscalls"].get("per_msg_by_call", {})


def sys_cell(runs, case):
    """ "ours / theirs" system calls per message."""
    o, t = (sys_per_msg(runs, case, s)[0] for s in ("ours", "theirs"))
    if o is None and t is None:
        return "—"
    return f"{num(o, 2)} / {num(t, 2)}"


def by_call(calls, at_least=0.01):
    """The per-call figures as "2.00 epoll_ctl, 1.00 recvfrom" (most first)."""
    parts = [f"{v:.2f} {k}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v >= at_least]
    return ", ".join(parts) if parts else "—"


def rss_mb(rs):
    """Median server RSS (MB) at the end of the runs' windows."""
    m = median(rs, "server_rss_kb")
    return "—" if m is None else f"{m / 1024:.1f}"


def rss_cell(o, t):
    return f"{rss_mb(o)} / {rss_mb(t)}"


def label(case):
    case = case.split("@")[0].split("+")[0]
    n, s = case.split("-", 1)[1].split("x")
    s = int(s)
    size = f"{s // 1048576} MiB" if s >= 1048576 else f"{s // 1024} KiB" if s >= 1024 else f"{s} B"
    return f"{n} × {size}"


def paced_table(runs, pcases, w):
    w("| N × S at R msg/s | ours | theirs | ours / theirs | rate reached (ours / theirs) | server CPU use (ours / theirs) |"
      " syscalls per message (ours / theirs) |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in pcases:
        o, t, mo, mt = cpu_per_100k(runs, c)
        rate = float(c.split("@")[1])

        def reached(rs):
            m = median(rs, "rtps")
            return "—" if m is None else f"{100 * m / rate:.0f}%"

        w(
            f"| {label(c)} at {num(rate, 0)} | {num(mo, 3)} | {num(mt, 3)} | "
            f"{fmt_ratio(ratio(mo, mt))} | {reached(o)} / {reached(t)} | "
            f"{busy(o, 'server_cpu_s')} / {busy(t, 'server_cpu_s')} | {sys_cell(runs, c)} |"
        )
    w("")


def build(runs, meta):
    out = []
    w = out.append
    w("# Benchmark results")
    w("")
    w("Ours: `libwebsockets.so.8` (this repository, Rust). Theirs: Debian 12's")
    w("`libwebsockets.so.17` (lws 4.1.6, C). Both run the same program,")
    w("`bench/echo-server.c`, pinned to CPU 0; the load generator")
    w("(`bench/loadgen`) and wrk run on CPU 1. Produced by `bench/run`.")
    w("")
    if meta:
        w(meta)
        w("")

    ecases = echo_cases(runs)
    pcases = paced_cases(runs)
    fails = [
        (c, s, f)
        for (c, s) in sorted(runs)
        for f in failures(runs, c, s)
    ]

    # ---------------------------------------------------------- summary
    echo_r, cpu_r = [], []
    for c in ecases:
        o, t, mo, mt = cpu_per_100k(runs, c)
        echo_r.append(ratio(median(o, "rtps"), median(t, "rtps")))
        cpu_r.append(ratio(mo, mt))
    paced_r = [ratio(*cpu_per_100k(runs, c)[2:]) for c in pcases]
    io, it = ok_runs(runs, "idle", "ours"), ok_runs(runs, "idle", "theirs")
    idle_r = ratio(median(io, "bytes_per_conn"), median(it, "bytes_per_conn"))
    ho, ht = ok_runs(runs, "http-index.html", "ours"), ok_runs(runs, "http-index.html", "theirs")
    http_r = ratio(median(ho, "rps"), median(ht, "rps"))

    def across(rs):
        rs = [r for r in rs if r]
        if not rs:
            return None, "—"
        g = geomean(rs)
        return g, f"{g:.2f}× geometric mean (from {min(rs):.2f}× to {max(rs):.2f}× over {len(rs)} cases)"

    w("## Against the targets")
    w("")
    w("| target | ours / theirs | met |")
    w("| --- | --- | --- |")
    def row(key, value, text):
        name, op, tv = TARGETS[key]
        sign = "≥" if op == ">=" else "≤"
        w(f"| {name} {sign} {tv}× | {text} | {met(value, op, tv)} |")

    if ecases:
        row("echo", *across(echo_r))
        row("cpu", *across(cpu_r))
    if pcases:
        row("paced", *across(paced_r))
    if io or it:
        row("idle", idle_r, fmt_ratio(idle_r))
    if ho or ht:
        row("http", http_r, fmt_ratio(http_r))
    for loop, lib in (("uv", "libuv"), ("ev", "libev")):
        lcases = echo_cases(runs, loop + "-")
        if not lcases:
            continue
        rs = [ratio(*(median(ok_runs(runs, c, srv), "rtps") for srv in ("ours", "theirs"))) for c in lcases]
        cs = [ratio(*cpu_per_100k(runs, c)[2:]) for c in lcases]
        w(f"| echo on {lib}: throughput / CPU per message (no target) | "
          f"{across(rs)[1]} / {across(cs)[1]} | — |")
    dcases = echo_cases(runs, "deflate-")
    if dcases:
        rs = [ratio(*(median(ok_runs(runs, c, srv), "rtps") for srv in ("ours", "theirs"))) for c in dcases]
        cs = [ratio(*cpu_per_100k(runs, c)[2:]) for c in dcases]
        w(f"| echo with permessage-deflate: throughput / CPU per message (no target) | "
          f"{across(rs)[1]} / {across(cs)[1]} | — |")
    for case, what in (("idle-deflate", "after one compressed message"), ("idle-deflate-bare", "negotiated only")):
        ro, rt = (median(ok_runs(runs, case, srv), "bytes_per_conn") for srv in ("ours", "theirs"))
        if ro is not None or rt is not None:
            w(f"| idle memory per connection with permessage-deflate, {what} (no target) | "
              f"{fmt_ratio(ratio(ro, rt))} | — |")
    w("")
    issue16_targets(runs, w)
    if fails:
        w("Failed runs:")
        w("")
        for c, s, f in fails:
            w(f"- {s} {c}: {f}")
        w("")

    # ---------------------------------------------------------- echo
    w = (out if ecases else []).append
    w("## Echo: round trips per second")
    w("")
    w("N connections, each with one S-byte binary message in flight; medians")
    w("(the range over the runs in brackets); latency is the median run's.")
    w("")
    w("| N × S | ours rt/s | theirs rt/s | ours / theirs | ours p50 / p99 µs | theirs p50 / p99 µs |")
    w("| --- | ---: | ---: | ---: | ---: | ---: |")
    for c in ecases:
        o, t = ok_runs(runs, c, "ours"), ok_runs(runs, c, "theirs")

        def cell(rs):
            m = median(rs, "rtps")
            sp = spread(rs, "rtps")
            return num(m, 1) + (f" ({num(sp[0], 1)}–{num(sp[1], 1)})" if sp else "")

        w(
            f"| {label(c)} | {cell(o)} | {cell(t)} | "
            f"{fmt_ratio(ratio(median(o, 'rtps'), median(t, 'rtps')))} | {lat(o)} | {lat(t)} |"
        )
    w("")

    w("## Echo: server CPU seconds per 100k messages")
    w("")
    w("utime + stime of the server process (/proc/PID/stat) over the measured")
    w("window, per 100,000 round trips; lower is better.")
    w("")
    w("| N × S | ours | theirs | ours / theirs | server CPU use (ours / theirs) | load generator CPU use (ours / theirs) |"
      " syscalls per message (ours / theirs) | server RSS MB (ours / theirs) |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in ecases:
        o, t, mo, mt = cpu_per_100k(runs, c)

        w(
            f"| {label(c)} | {num(mo, 3)} | {num(mt, 3)} | {fmt_ratio(ratio(mo, mt))} | "
            f"{busy(o, 'server_cpu_s')} / {busy(t, 'server_cpu_s')} | "
            f"{busy(o, 'loadgen_cpu_s')} / {busy(t, 'loadgen_cpu_s')} | {sys_cell(runs, c)} | {rss_cell(o, t)} |"
        )
    w("")
    w("System calls per message: the server's, counted with `strace -c -f -p PID` over a separate")
    w("short run (strace slows the server; see \"System calls per message, by call\" below).")
    w("\"CPU use\" is CPU time over wall time in the measured window (median")
    w("run); a server below 100% was waiting for the load generator, the")
    w("network or the scheduler; a load generator near 100% was the limit.")
    shares = [
        r["foreign_cpu_s"] / r["seconds"]
        for c in ecases
        for srv in ("ours", "theirs")
        for r in ok_runs(runs, c, srv)
        if r.get("foreign_cpu_s") is not None
    ]
    if shares:
        w(
            f"Other processes on the machine used {100 * statistics.median(shares):.0f}% of a CPU"
            f" during the median echo run (at most {100 * max(shares):.0f}%); runs above"
            " the threshold were repeated and the least disturbed kept."
        )
    w("")

    # ---------------------------------------------------------- paced
    w = (out if pcases else []).append
    w("## Echo at a fixed rate: server CPU seconds per 100k messages")
    w("")
    w("The same closed loop, held to R messages per second in all, a rate both")
    w("servers sustain: the CPU a message costs when the server is not the")
    w("bottleneck (a saturated server is 100% busy, so above its CPU per")
    w("message is only the inverse of its throughput). Medians.")
    w("")
    paced_table(runs, pcases, w)

    # ---------------------------------------------------------- pings
    gcases = echo_cases(runs, "pings-")
    w = (out if gcases else []).append
    w("## Echo with PING bursts")
    w("")
    w("The echo loop with K PINGs written before each message in the same")
    w("write; the load generator does not wait for PONGs. Ours answers every")
    w("PING (in one write per burst), the original only the last one pending.")
    w("Medians.")
    w("")
    w("| N × S, K PINGs | ours rt/s | theirs rt/s | ours / theirs | ours CPU s / 100k | theirs CPU s / 100k | ours / theirs |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in gcases:
        o, t, mo, mt = cpu_per_100k(runs, c)
        ro, rt = median(o, "rtps"), median(t, "rtps")
        w(
            f"| {label(c)}, {c.split('+')[1]} | {num(ro, 1)} | {num(rt, 1)} | {fmt_ratio(ratio(ro, rt))} | "
            f"{num(mo, 3)} | {num(mt, 3)} | {fmt_ratio(ratio(mo, mt))} |"
        )
    w("")

    # ---------------------------------------------------------- idle
    w = (out if io or it else []).append
    w("## Idle connections: memory")
    w("")
    w("| | connections | RSS before | RSS with them open | bytes per connection |")
    w("| --- | ---: | ---: | ---: | ---: |")
    for s, rs in (("ours", io), ("theirs", it)):
        if rs:
            r = rs[0]
            w(
                f"| {s} | {r['conns']} | {r['rss_before_kb']} kB | {r['rss_after_kb']} kB | "
                f"{r['bytes_per_conn']:.0f} |"
            )
        else:
            w(f"| {s} | — | — | — | — |")
    w(f"| ours / theirs | | | | {fmt_ratio(idle_r)} |")
    w("")

    # ---------------------------------------------------------- connrate
    co, ct = ok_runs(runs, "connrate", "ours"), ok_runs(runs, "connrate", "theirs")
    w = (out if co or ct else []).append
    w("## New connections per second")
    w("")
    w("Connect, upgrade, close handshake, 8 in parallel; medians.")
    w("")
    w("| | connections/s | server CPU µs per connection | server CPU use | load generator CPU use |")
    w("| --- | ---: | ---: | ---: | ---: |")

    def per_conn(rs):
        return cpu_us_per(rs, "server_cpu_s", "connections")

    for name, rs in (("ours", co), ("theirs", ct)):
        w(
            f"| {name} | {num(median(rs, 'cps'), 1)} | {num(per_conn(rs), 1)} | "
            f"{busy(rs, 'server_cpu_s')} | {busy(rs, 'loadgen_cpu_s')} |"
        )
    w(
        f"| ours / theirs | {fmt_ratio(ratio(median(co, 'cps'), median(ct, 'cps')))} | "
        f"{fmt_ratio(ratio(per_conn(co), per_conn(ct)))} | | |"
    )
    w("")

    # ---------------------------------------------------------- client
    lo, lt = ok_runs(runs, "client", "ours"), ok_runs(runs, "client", "theirs")
    w = (out if lo or lt else []).append
    w("## HTTP client: GETs")
    w("")
    w("`bench/http-client.c` built against each library: 8 GETs of a 16 KiB file")
    w("at a time, one connection each, the body read in 1 KiB")
    w("`lws_http_client_read` calls; the same server (ours) answers both. Medians.")
    w("")
    w("| | GETs/s | client CPU µs per GET | client CPU use |")
    w("| --- | ---: | ---: | ---: |")

    def per_get(rs):
        return cpu_us_per(rs, "client_cpu_s", "gets")

    for name, rs in (("ours", lo), ("theirs", lt)):
        w(f"| {name} | {num(median(rs, 'gps'), 1)} | {num(per_get(rs), 1)} | {busy(rs, 'client_cpu_s')} |")
    w(
        f"| ours / theirs | {fmt_ratio(ratio(median(lo, 'gps'), median(lt, 'gps')))} | "
        f"{fmt_ratio(ratio(per_get(lo), per_get(lt)))} | |"
    )
    w("")

    # ---------------------------------------------------------- uv / ev
    for loop, lib in (("uv", "libuv"), ("ev", "libev")):
        lcases = echo_cases(runs, loop + "-")
        w = (out if lcases else []).append
        w(f"## Echo on {lib}")
        w("")
        w(
            f"The echo case with the server on {lib}: ours through `lws_{loop}_initloop(context, NULL, 0)`"
            + (" and `lws_libuv_run`" if loop == "uv" else " and `ev_run(ev_default_loop(0), 0)`")
            + f", Debian's 4.1 through `LWS_SERVER_OPTION_LIB{loop.upper()}` (its"
            f" `libwebsockets-evlib_{loop}.so` plugin) and `lws_service`. Medians; \"on"
            " poll\" is the same point in the echo tables above (the library's own loop), this"
            " backend's round trips/s over that one."
        )
        w("")
        w(
            "| N × S | ours rt/s | theirs rt/s | ours / theirs | ours CPU s / 100k | theirs CPU s / 100k |"
            " ours / theirs | ours p50 / p99 µs | theirs p50 / p99 µs | on poll: ours / theirs |"
        )
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        rt_r, cpu_r2 = [], []
        for c in lcases:
            o, t, mo, mt = cpu_per_100k(runs, c)
            ro, rt = median(o, "rtps"), median(t, "rtps")
            rt_r.append(ratio(ro, rt))
            cpu_r2.append(ratio(mo, mt))

            pc = "echo-" + c[len(loop) + 1:]
            po = median(ok_runs(runs, pc, "ours"), "rtps")
            pt = median(ok_runs(runs, pc, "theirs"), "rtps")
            w(
                f"| {label(c)} | {num(ro, 1)} | {num(rt, 1)} | {fmt_ratio(ratio(ro, rt))} | "
                f"{num(mo, 3)} | {num(mt, 3)} | {fmt_ratio(ratio(mo, mt))} | {lat(o)} | {lat(t)} | "
                f"{fmt_ratio(ratio(ro, po))} / {fmt_ratio(ratio(rt, pt))} |"
            )
        g1, g2 = geomean(rt_r), geomean(cpu_r2)
        w(
            f"| geometric mean | | | {fmt_ratio(g1)} | | | {fmt_ratio(g2)} | | | |"
        )
        w("")

    # ---------------------------------------------------------- deflate
    dcases = echo_cases(runs, "deflate-")
    w = (out if dcases else []).append
    w("## Echo with permessage-deflate")
    w("")
    w("Both servers with `permessage-deflate` in `info.extensions`")
    w("(`lws_extension_callback_pm_deflate`); the load generator offers it, sends")
    w("text messages of JSON-like records compressed with context takeover (zlib")
    w("level 1), decompresses each echo and checks it byte for byte. Medians;")
    w("\"on plain echo\" is each server's round trips/s here over its own at the")
    w("same point of the echo table (uncompressed binary messages), \"compressed")
    w("size\" the server's compressed echoes over their plain size. Debian's 4.1")
    w("runs with the load generator's `--tolerate-mismatch`: its bad echoes")
    w("(mismatched, undecompressable, or lost: not back within 1 s, or the")
    w("connection dropped) are counted over all its runs and their connections")
    w("replaced; a row where it has any compares against a server that loses")
    w("messages. Ours must echo every message exactly (a mismatch fails the run).")
    w("")
    w(
        "| N × S | ours rt/s | theirs rt/s | ours / theirs | ours CPU s / 100k | theirs CPU s / 100k |"
        " ours / theirs | ours p50 / p99 µs | theirs p50 / p99 µs | on plain echo: ours / theirs |"
        " compressed size: ours / theirs | theirs' bad echoes |"
    )
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    rt_r, cpu_r2 = [], []
    answers = {}
    for c in dcases:
        o, t, mo, mt = cpu_per_100k(runs, c)
        ro, rt = median(o, "rtps"), median(t, "rtps")
        rt_r.append(ratio(ro, rt))
        cpu_r2.append(ratio(mo, mt))
        for srv, rs in (("ours", o), ("theirs", t)):
            for r in rs:
                answers.setdefault(srv, set()).add(r.get("deflate", ""))

        pc = "echo-" + c[len("deflate-"):]
        po = median(ok_runs(runs, pc, "ours"), "rtps")
        pt = median(ok_runs(runs, pc, "theirs"), "rtps")

        def comp(rs):
            m = median(rs, "ratio_in")
            return "—" if m is None else f"{100 * m:.0f}%"

        def bad(rs):
            if not rs:
                return "—"
            n = {k: sum(r.get(k) or 0 for r in rs) for k in ("checked", "mismatches", "inflate_errors", "lost")}
            parts = [f"{n[k]} {name}" for k, name in
                     (("mismatches", "mismatched"), ("inflate_errors", "undecompressable"), ("lost", "lost")) if n[k]]
            runs_txt = f"{len(rs)} run" + ("s" if len(rs) > 1 else "")
            return (", ".join(parts) + f" of {n['checked'] + n['lost']}" if parts else "none") + f" ({runs_txt})"

        failed_t = len(failures(runs, c, "theirs"))
        w(
            f"| {label(c)} | {num(ro, 1)} | {num(rt, 1)} | {fmt_ratio(ratio(ro, rt))} | "
            f"{num(mo, 3)} | {num(mt, 3)} | {fmt_ratio(ratio(mo, mt))} | {lat(o)} | {lat(t)} | "
            f"{fmt_ratio(ratio(ro, po))} / {fmt_ratio(ratio(rt, pt))} | {comp(o)} / {comp(t)} | "
            f"{bad(t)}{f'; {failed_t} failed run(s)' if failed_t else ''} |"
        )
    w(f"| geometric mean | | | {fmt_ratio(geomean(rt_r))} | | | {fmt_ratio(geomean(cpu_r2))} | | | | | |")
    w("")
    for srv in ("ours", "theirs"):
        a = sorted(x for x in answers.get(srv, ()) if x)
        if a:
            w(f"{srv.capitalize()} answered the offer `permessage-deflate; client_max_window_bits` with "
              + ", ".join(f"`{x}`" for x in a) + ".")
    if answers:
        w("")

    ido, idt = ok_runs(runs, "idle-deflate", "ours"), ok_runs(runs, "idle-deflate", "theirs")
    ibo, ibt = ok_runs(runs, "idle-deflate-bare", "ours"), ok_runs(runs, "idle-deflate-bare", "theirs")
    w = (out if ido or idt or ibo or ibt else []).append
    w("## Idle connections with permessage-deflate: memory")
    w("")
    w("The idle case with the extension negotiated on every connection: bare (no")
    w("message), and after one 512-byte compressed text message each way per")
    w("connection (both sides' compressor and decompressor have run once; the")
    w("load generator then frees its own). RSS growth of the server per")
    w("connection; the plain idle case is in \"Idle connections: memory\".")
    w("")
    w("| | connections | RSS before | RSS with them open | bytes per connection |")
    w("| --- | ---: | ---: | ---: | ---: |")
    for what, ro_, rt_ in (("negotiated only", ibo, ibt), ("after one message", ido, idt)):
        for srv, rs in (("ours", ro_), ("theirs", rt_)):
            if rs:
                r = rs[0]
                w(
                    f"| {srv}, {what} | {r['conns']} | {r['rss_before_kb']} kB | {r['rss_after_kb']} kB | "
                    f"{r['bytes_per_conn']:.0f} |"
                )
            else:
                w(f"| {srv}, {what} | — | — | — | — |")
        w(f"| ours / theirs, {what} | | | | "
          f"{fmt_ratio(ratio(median(ro_, 'bytes_per_conn'), median(rt_, 'bytes_per_conn')))} |")
    w("")

    # ---------------------------------------------------------- http
    w = (out if any(c.startswith("http-") for (c, _) in runs) else []).append
    w("## HTTP: wrk, keep-alive (files, and forms parsed with lws_spa_*)")
    w("")
    w(
        "| file (wrk connections) | ours req/s | theirs req/s | ours / theirs | ours p50 / p99 |"
        " theirs p50 / p99 | server CPU use (ours / theirs) | wrk CPU use (ours / theirs) |"
    )
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for case, name in (
        ("http-index.html", "1 KiB"),
        ("http-big.bin", "1 MiB"),
        ("http-post-form", "POST urlencoded form, lws_spa"),
        ("http-post-upload", "POST 64 KiB multipart upload, lws_spa"),
    ):
        if not any(c == case for (c, _) in runs):
            continue
        o, t = ok_runs(runs, case, "ours"), ok_runs(runs, case, "theirs")
        conns = (o or t or [{}])[0].get("conns", "?")

        def http_lat(rs):
            if not rs:
                return "—"
            m = median(rs, "rps")
            r = min(rs, key=lambda x: abs(x["rps"] - m))
            extra = ""
            if r.get("socket_errors"):
                extra += f", socket errors: {r['socket_errors']}"
            if r.get("non2xx"):
                extra += f", non-2xx: {r['non2xx']}"
            return f"{r['p50']} / {r['p99']}{extra}"

        w(
            f"| {name} ({conns}) | {num(median(o, 'rps'), 1)} | {num(median(t, 'rps'), 1)} | "
            f"{fmt_ratio(ratio(median(o, 'rps'), median(t, 'rps')))} | {http_lat(o)} | {http_lat(t)} | "
            f"{busy(o, 'server_cpu_s')} / {busy(t, 'server_cpu_s')} | "
            f"{busy(o, 'client_cpu_s')} / {busy(t, 'client_cpu_s')} |"
        )
    w("")
    build_patterns(runs, out)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- issue 16

ISSUE16 = {
    "cpu": ("server CPU per message, every case", "<=", 0.6),
    "cpu_gm": ("server CPU per message, geometric mean", "<=", 0.5),
    "tput": ("throughput, every case with 100+ connections", ">=", 1.3),
    "tput_gm": ("throughput, geometric mean (100+ connections)", ">=", 1.5),
    "one": ("throughput with one connection (p50 latency no worse)", ">=", 1.0),
    "sys1": ("syscalls per message, one connection (ours)", "<=", 3.1),
    "sys100": ("syscalls per message, 100+ connections (ours)", "<=", 2.1),
    "idle": ("idle memory per connection", "<=", 0.2),
}


def both(runs, case, key):
    o, t = ok_runs(runs, case, "ours"), ok_runs(runs, case, "theirs")
    return o, t, median(o, key), median(t, key)


def conns_of(case):
    """The connections of a case name (broadcast: the receivers)."""
    rest = case.split("-", 1)[1].split("@")[0]
    return int(rest.split("x")[0])


def issue16_targets(runs, w):
    """The targets of issue 16 over its application patterns."""
    fe = echo_cases(runs, "flowecho-")
    fp = paced_cases(runs, "flowpaced-")
    bc = numbered_cases(runs, "broadcast-")
    bp = numbered_cases(runs, "broadcastpaced-")
    pu = numbered_cases(runs, "push-")
    ch = echo_cases(runs, "chops-") + echo_cases(runs, "chopsflow-")
    if not (fe or fp or bc or bp or pu or ch):
        return
    cpu, tput, one, sys1, sys100 = [], [], [], [], []
    for c in fe + fp + bc + bp + pu + ch:
        _, _, mo, mt = cpu_per_100k(runs, c)
        r = ratio(mo, mt)
        if r:
            cpu.append((r, c))
        so = sys_per_msg(runs, c, "ours")[0]
        if so is not None and not c.startswith("chops"):
            (sys1 if conns_of(c) == 1 else sys100).append((so, c))
    for c in fe + bc:
        key = "dps" if c.startswith("broadcast") else "rtps"
        o, t, ro, rt = both(runs, c, key)
        r = ratio(ro, rt)
        if not r:
            continue
        if conns_of(c) >= 100:
            tput.append((r, c))
        elif conns_of(c) == 1:
            po, pt = median(o, "p50_us"), median(t, "p50_us")
            one.append((r, c, po is not None and pt is not None and po <= pt))
    for c in ch:
        o, t, ro, rt = both(runs, c, "rtps")
        r = ratio(ro, rt)
        if r:
            po, pt = median(o, "p50_us"), median(t, "p50_us")
            one.append((r, c, po is not None and pt is not None and po <= pt))

    def row(key, text, value):
        name, op, tv = ISSUE16[key]
        sign = "≥" if op == ">=" else "≤"
        w(f"| {name} {sign} {tv}{'' if key.startswith('sys') else '×'} | {text} | {met(value, op, tv)} |")

    def worst(pairs, pick, unit="×"):
        if not pairs:
            return None, "—"
        v, c = pick(pairs, key=lambda x: x[0])[:2]
        return v, f"{v:.2f}{unit} at worst ({c}; {len(pairs)} cases)"

    w("### The targets of issue 16 (its application patterns)")
    w("")
    w("Over the flow-controlled echo, broadcast, push and chops cases below (throughput:")
    w("flowecho round trips/s, broadcast deliveries/s; push is fixed-rate, so CPU only).")
    w("")
    w("| target | ours / theirs | met |")
    w("| --- | --- | --- |")
    row("cpu", *reversed(worst(cpu, max)))
    g = geomean([v for v, _ in cpu])
    row("cpu_gm", f"{fmt_ratio(g)} over {len(cpu)} cases", g)
    row("tput", *reversed(worst(tput, min)))
    g = geomean([v for v, _ in tput])
    row("tput_gm", f"{fmt_ratio(g)} over {len(tput)} cases", g)
    if one:
        v, c, p50ok = min(one, key=lambda x: x[0])
        bad_p50 = [c for _, c, ok in one if not ok]
        row("one", f"{v:.2f}× at worst ({c}; {len(one)} cases); p50 worse in: {', '.join(bad_p50) or 'none'}",
            v if not bad_p50 else min(v, 0.0))
    row("sys1", *reversed(worst(sys1, max, "")))
    row("sys100", *reversed(worst(sys100, max, "")))
    io, it = ok_runs(runs, "idle", "ours"), ok_runs(runs, "idle", "theirs")
    r = ratio(median(io, "bytes_per_conn"), median(it, "bytes_per_conn"))
    if r is not None:
        row("idle", fmt_ratio(r), r)
    w("")


def build_patterns(runs, out):
    w = out.append
    # ---------------------------------------------------------- flowecho
    fe = echo_cases(runs, "flowecho-")
    if fe:
        w("## Echo with rx flow control per message (lws test-echo)")
        w("")
        w("Protocol \"flow-echo\" of `bench/echo-server.c`: on every RECEIVE the chunk is copied,")
        w("then `lws_rx_flow_control(wsi, 0)` and `lws_callback_on_writable`; on WRITEABLE the")
        w("chunk goes back as a fragment and `lws_rx_flow_control(wsi, 1)`. Closed loop, one")
        w("message in flight per connection; medians. \"chunks\" are the RECEIVE chunks (echoed")
        w("fragments) per message; \"on plain echo\" is each server's round trips/s here over")
        w("its own in the echo table.")
        w("")
        w("| N × S | ours rt/s | theirs rt/s | ours / theirs | ours CPU s / 100k | theirs CPU s / 100k |"
          " ours / theirs | ours p50 / p99 µs | theirs p50 / p99 µs | syscalls per message (ours / theirs) |"
          " chunks per message (ours / theirs) | server RSS MB (ours / theirs) | on plain echo (ours / theirs) |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        rt_r, cpu_r = [], []
        for c in fe:
            o, t, mo, mt = cpu_per_100k(runs, c)
            ro, rt = median(o, "rtps"), median(t, "rtps")
            rt_r.append(ratio(ro, rt))
            cpu_r.append(ratio(mo, mt))
            pc = "echo-" + c[len("flowecho-"):]
            po = median(ok_runs(runs, pc, "ours"), "rtps")
            pt = median(ok_runs(runs, pc, "theirs"), "rtps")
            w(
                f"| {label(c)} | {num(ro, 1)} | {num(rt, 1)} | {fmt_ratio(ratio(ro, rt))} | "
                f"{num(mo, 3)} | {num(mt, 3)} | {fmt_ratio(ratio(mo, mt))} | {lat(o)} | {lat(t)} | "
                f"{sys_cell(runs, c)} | {num(median(o, 'frames_per_msg'), 1)} / {num(median(t, 'frames_per_msg'), 1)} | "
                f"{rss_cell(o, t)} | {fmt_ratio(ratio(ro, po))} / {fmt_ratio(ratio(rt, pt))} |"
            )
        w(f"| geometric mean | | | {fmt_ratio(geomean(rt_r))} | | | {fmt_ratio(geomean(cpu_r))} | | | | | | |")
        w("")
    fp = paced_cases(runs, "flowpaced-")
    if fp:
        w("## Echo with rx flow control at a fixed rate: server CPU seconds per 100k messages")
        w("")
        w("The flow-controlled echo held to R messages per second in all, a rate both servers")
        w("sustain (as the paced echo). Medians.")
        w("")
        paced_table(runs, fp, w)

    # ---------------------------------------------------------- broadcast
    bc = numbered_cases(runs, "broadcast-")
    bp = numbered_cases(runs, "broadcastpaced-")
    if bc or bp:
        w("## Broadcast (lws mirror): one sender, N receivers")
        w("")
        w("Protocol \"lws-mirror-protocol\": every message the sender sends goes into the")
        w("server's ring of 512 and out to every connection of the protocol through")
        w("`lws_callback_on_writable_all_protocol` (the sender gets its own back too). 64-byte")
        w("text messages, at most 64 not yet delivered to every connection; every receiver")
        w("checks that it gets every message in order. Deliveries are counted at the")
        w("receivers (N per message); CPU and system calls are per delivery; latency is from")
        w("the sender's write to a receiver's read (with 64 messages in flight it is mostly")
        w("queueing: 64 / messages per second). Medians.")
        w("")
    if bc:
        w("| receivers | ours deliveries/s | theirs deliveries/s | ours / theirs | messages sent/s (ours / theirs) |"
          " ours CPU s / 100k deliveries | theirs | ours / theirs | ours p50 / p99 µs | theirs p50 / p99 µs |"
          " syscalls per delivery (ours / theirs) | server CPU use (ours / theirs) | load generator CPU use (ours / theirs) |"
          " server RSS MB (ours / theirs) |")
        w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for c in bc:
            o, t, mo, mt = cpu_per_100k(runs, c)
            do, dt = median(o, "dps"), median(t, "dps")
            m = lambda rs: num(median(rs, "sent_per_s"), 1)  # noqa: E731

            def blat(rs):
                if not rs:
                    return "—"
                md = median(rs, "dps")
                r = min(rs, key=lambda x: abs(x["dps"] - md))
                return f"{r['p50_us']:.0f} / {r['p99_us']:.0f}"

            w(
                f"| {conns_of(c)} | {num(do, 1)} | {num(dt, 1)} | {fmt_ratio(ratio(do, dt))} | {m(o)} / {m(t)} | "
                f"{num(mo, 3)} | {num(mt, 3)} | {fmt_ratio(ratio(mo, mt))} | {blat(o)} | {blat(t)} | "
                f"{sys_cell(runs, c)} | {busy(o, 'server_cpu_s')} / {busy(t, 'server_cpu_s')} | "
                f"{busy(o, 'loadgen_cpu_s')} / {busy(t, 'loadgen_cpu_s')} | {rss_cell(o, t)} |"
            )
        w("")
    if bp:
        w("At a fixed rate of messages both servers sustain (N × R deliveries a second):")
        w("")
        w("| receivers at R msg/s | ours CPU s / 100k deliveries | theirs | ours / theirs | rate reached (ours / theirs) |"
          " server CPU use (ours / theirs) | syscalls per delivery (ours / theirs) |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for c in bp:
            o, t, mo, mt = cpu_per_100k(runs, c)
            rate = float(c.split("@")[1])
            n = conns_of(c)

            def reached(rs):
                m = median(rs, "dps")
                return "—" if m is None else f"{100 * m / (rate * n):.0f}%"

            w(
                f"| {n} at {num(rate, 0)} | {num(mo, 3)} | {num(mt, 3)} | {fmt_ratio(ratio(mo, mt))} | "
                f"{reached(o)} / {reached(t)} | {busy(o, 'server_cpu_s')} / {busy(t, 'server_cpu_s')} | "
                f"{sys_cell(runs, c)} |"
            )
        w("")

    # ---------------------------------------------------------- push
    pu = numbered_cases(runs, "push-")
    if pu:
        w("## Push (lws dumb-increment): a counter every 50 ms to every connection")
        w("")
        w("Protocol \"dumb-increment-protocol\": the server's service loop calls")
        w("`lws_callback_on_writable_all_protocol` every 50 ms (`echo-server --push-ms 50`, as")
        w("lws' test-server) and each connection writes its counter. A server that keeps up")
        w("delivers 20 messages per connection per second; one that does not falls behind the")
        w("ticks (a connection still waiting for its WRITEABLE takes the next tick with it).")
        w("Every connection's counters are checked (no gap, none silent). \"lag\" is from the")
        w("tick to the load generator's read; \"open\" the seconds the load generator took to")
        w("open all connections while the server pushed to those already open. Medians.")
        w("")
        w("| connections | messages/s ours / theirs (ticks × connections) | per connection in the window, ours / theirs |"
          " server CPU use (ours / theirs) | ours CPU s / 100k | theirs | ours / theirs | lag p50 / p99 ms, ours | theirs |"
          " syscalls per message (ours / theirs) | server RSS MB (ours / theirs) | open s (ours / theirs) |")
        w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for c in pu:
            o, t, mo, mt = cpu_per_100k(runs, c)
            n = conns_of(c)

            def mps(rs):
                m = median(rs, "mps")
                ticks = median(rs, "ticks")
                secs = median(rs, "seconds")
                if m is None:
                    return "—"
                return f"{num(m, 0)}" + (f" ({100 * m / (ticks / secs * n):.0f}%)" if ticks and secs else "")

            def per_conn(rs):
                if not rs:
                    return "—"
                return f"{min(r['per_conn_min'] for r in rs)}–{max(r['per_conn_max'] for r in rs)} of {rs[0]['ticks']:.0f}"

            def plag(rs):
                if not rs:
                    return "—"
                md = median(rs, "mps")
                r = min(rs, key=lambda x: abs(x["mps"] - md))
                return f"{r['p50_us'] / 1000:.1f} / {r['p99_us'] / 1000:.1f}"

            w(
                f"| {n} | {mps(o)} / {mps(t)} | {per_conn(o)} / {per_conn(t)} | "
                f"{busy(o, 'server_cpu_s')} / {busy(t, 'server_cpu_s')} | {num(mo, 3)} | {num(mt, 3)} | "
                f"{fmt_ratio(ratio(mo, mt))} | {plag(o)} | {plag(t)} | {sys_cell(runs, c)} | {rss_cell(o, t)} | "
                f"{num(median(o, 'open_s'), 1)} / {num(median(t, 'open_s'), 1)} |"
            )
        w("")

    # ---------------------------------------------------------- chops
    ch = echo_cases(runs, "chops-") + echo_cases(runs, "chopsflow-")
    if ch:
        w("## A 1 MiB message in 64-byte TCP writes")
        w("")
        w("One connection; the load generator writes each 1 MiB message in 64-byte `send()`s")
        w("(TCP_NODELAY: about one TCP segment each on loopback) and waits for the echo.")
        w("\"echo\" sends the whole message back as one frame, \"flow-echo\" every RECEIVE chunk")
        w("as a fragment (so its chunks per message are the library's choice). Python: the")
        w("`websockets` package on asyncio (`bench/py-echo-server.py`) on the same input, for")
        w("reference. The load generator's 16,384 sends per message take time of their own, so")
        w("a fast server is bounded by them. Medians.")
        w("")
        w("| protocol | ms per message: ours / theirs / Python | ours / theirs (time) | ours / Python (time) |"
          " server CPU ms per message: ours / theirs / Python | syscalls per message (ours / theirs / Python) |"
          " chunks per message (ours / theirs) | server RSS MB (ours / theirs / Python) |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for c in ch:
            rs = {s: ok_runs(runs, c, s) for s in ("ours", "theirs", "python")}
            ms = {s: (1000 / median(r, "rtps") if median(r, "rtps") else None) for s, r in rs.items()}
            cpu = {s: (None if median(r, "server_cpu_s_per_100k") is None else median(r, "server_cpu_s_per_100k") / 100)
                   for s, r in rs.items()}
            sy = {s: sys_per_msg(runs, c, s)[0] for s in rs}
            py = bool(rs["python"])

            def three(d, digits):
                vals = [num(d["ours"], digits), num(d["theirs"], digits)] + ([num(d["python"], digits)] if py else [])
                return " / ".join(vals)

            w(
                f"| {'flow-echo' if c.startswith('chopsflow') else 'echo'} | {three(ms, 1)} | "
                f"{fmt_ratio(ratio(ms['ours'], ms['theirs']))} | {fmt_ratio(ratio(ms['ours'], ms['python']))} | "
                f"{three(cpu, 2)} | {three(sy, 0)} | "
                f"{num(median(rs['ours'], 'frames_per_msg'), 0)} / {num(median(rs['theirs'], 'frames_per_msg'), 0)} | "
                f"{' / '.join(rss_mb(rs[s]) for s in (('ours', 'theirs', 'python') if py else ('ours', 'theirs')))} |"
            )
        w("")
        w("(time ratios: lower is better for ours.)")
        w("")

    # ---------------------------------------------------------- threads
    th = sorted({c.split("-", 1)[1] for (c, _) in runs if c.startswith("threads")},
                key=lambda p: tuple(int(x) for x in p.split("x")))
    if th:
        w("## Service threads: count_threads 2 over 1")
        w("")
        w("The echo case with `--threads 1` and `--threads 2` (`info.count_threads`, one")
        w("`lws_service_tsi` pthread per service thread). Server and load generator are all")
        w("pinned to CPUs 0-1 here (1 and 2 threads alike), so the load generator's one thread")
        w("competes with the server's for the two CPUs: the ceiling for 2 threads is well below")
        w("2×. \"threads run\" is what `lws_get_count_threads` said (Debian's 4.1 is built with")
        w("LWS_MAX_SMP 1 and runs one whatever it is asked). Medians.")
        w("")
        w("| N × S | ours 1 thread rt/s | ours 2 threads rt/s | ours 2 / 1 | theirs 1 thread rt/s |"
          " theirs 2 threads rt/s (threads run) | theirs 2 / 1 | ours / theirs at 2 threads |"
          " server CPU use, 2 threads (ours / theirs) | syscalls per message, 2 threads (ours / theirs) |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for p in th:
            o1, t1, ro1, rt1 = both(runs, "threads1-" + p, "rtps")
            o2, t2, ro2, rt2 = both(runs, "threads2-" + p, "rtps")
            run_t = sorted({r.get("server_threads") for r in t2 if r.get("server_threads")})
            w(
                f"| {label('x-' + p)} | {num(ro1, 1)} | {num(ro2, 1)} | {fmt_ratio(ratio(ro2, ro1))} | {num(rt1, 1)} | "
                f"{num(rt2, 1)} ({'/'.join(map(str, run_t)) or '?'}) | {fmt_ratio(ratio(rt2, rt1))} | "
                f"{fmt_ratio(ratio(ro2, rt2))} | {busy(o2, 'server_cpu_s')} / {busy(t2, 'server_cpu_s')} | "
                f"{sys_cell(runs, 'threads2-' + p)} |"
            )
        w("")

    # ---------------------------------------------------------- syscalls
    def case_key(c):
        """By kind (in the order of the sections), then by the numbers."""
        kinds = ["echo", "paced", "flowecho", "flowpaced", "broadcast", "broadcastpaced", "push",
                 "chops", "chopsflow", "threads1", "threads2"]
        kind, _, rest = c.partition("-")
        nums = tuple(float(x) for x in rest.replace("@", "x").replace("+", "x").split("x") if x)
        return (kinds.index(kind) if kind in kinds else len(kinds), kind, nums)

    sc = sorted({c[4:] for (c, _) in runs if c.startswith("sys:")}, key=case_key)
    if sc:
        w("## System calls per message, by call")
        w("")
        w("`strace -c -f -p <server pid>` attached by the load generator over the window of a")
        w("separate run (BENCH_SYS_SECONDS, default 1 s; push 2 s): echo, flow-echo and")
        w("broadcast stop sending and wait for every message in flight before strace attaches")
        w("and before it detaches, so the window holds whole messages; push cannot stop and")
        w("leaves out what arrived from before strace attached. A message is a round trip")
        w("(echo), a delivery to a receiver (broadcast) or a pushed counter (push). The floor is")
        w("about 3 for one connection (wait, read, write) and 2 for many (read and write; waits")
        w("shared). Where the reads depend on how fast the server is (chops: how many 64-byte")
        w("segments are in by the time it reads), strace's slow-down makes each read take more:")
        w("there the count is a lower bound.")
        w("")
        w("| case | ours | theirs | ours by call | theirs by call |")
        w("| --- | ---: | ---: | --- | --- |")
        for c in sc:
            o, oc = sys_per_msg(runs, c, "ours")
            t, tc = sys_per_msg(runs, c, "theirs")
            pyv, pyc = sys_per_msg(runs, c, "python")
            extra = f" (Python: {num(pyv, 1)}: {by_call(pyc)})" if pyv is not None else ""
            w(f"| {c} | {num(o, 2)} | {num(t, 2)} | {by_call(oc)} | {by_call(tc)}{extra} |")
        w("")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--out")
    ap.add_argument("--print", action="store_true")
    ap.add_argument("--meta", default="")
    a = ap.parse_args()
    text = build(load(a.results), a.meta)
    if a.print:
        sys.stdout.write(text)
    if a.out:
        kept = ""
        try:
            old = open(a.out, encoding="utf-8").read()
            if MARKER in old:
                kept = old[old.index(MARKER) + len(MARKER):]
        except FileNotFoundError:
            pass
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(text + "\n" + MARKER + (kept if kept else "\n"))


if __name__ == "__main__":
    main()
