#!/usr/bin/env python3
"""Regenerates the README's compatibility table from src/ffi: an export is
"not yet" while its body reports not_yet!. Run after implementing exports:

    scripts/compat-table.py            rewrite README.md in place
"""
import glob
import json
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ABI = os.environ.get("LWS_ABI_DIR", os.path.join(REPO, "..", "shared", "abi"))

# Which milestone brings each group of not-yet functions.
MILESTONES = [
    (("lws_uv_", "lws_libuv", "lws_ev_"), "libuv / libev integration (later)"),
    (("lws_cgi",), "CGI (later)"),
    (("lws_spa_",), "form parsing (later)"),
    (("lws_chunked_html_process",), "HTML processing (later)"),
    (("lws_set_extension_option", "lws_ext_parse_options", "lws_extension_callback_pm_deflate"),
     "permessage-deflate (later)"),
    (("lws_client_", "lws_http_client_read", "lws_get_parent", "lws_get_child", "lws_set_proxy"),
     "client (#5)"),
    (("lws_init_vhost_client_ssl",), "TLS (#6)"),
    (("lwsws_get_config",), "lwsws JSON config (later)"),
    (("lws_json_dump_",), "server status (later)"),
    (("lws_set_allocator",), "later"),
]
WS = "WebSocket server (#4)"


def milestone(name):
    for prefixes, m in MILESTONES:
        if name.startswith(prefixes):
            return m
    return WS


def statuses():
    status = {"_lws_log": "yes", "_lws_logv": "yes"}
    for path in glob.glob(os.path.join(REPO, "src", "ffi", "*.rs")):
        text = open(path).read()
        for name, body in re.findall(r'extern "C" fn (\w+)\((.*?)\n\}\n', text, re.S):
            status[name] = "not yet" if "not_yet!(" in body else "yes"
    return status


def table():
    functions = [f["name"] for f in json.load(open(os.path.join(ABI, "lws-abi.json")))["functions"]]
    status = statuses()
    rows = ["| function | implemented | arrives with |", "|---|---|---|"]
    for n in functions:
        s = status[n]
        rows.append("| `%s` | %s | %s |" % (n, s, "" if s == "yes" else milestone(n)))
    missing = sum(1 for n in functions if status[n] != "yes")
    rows.append("")
    rows.append("%d of %d functions implemented; %d not yet." % (len(functions) - missing, len(functions), missing))
    return "\n".join(rows) + "\n"


def main():
    path = os.path.join(REPO, "README.md")
    text = open(path).read()
    start = text.index("| function | implemented | arrives with |")
    end = text.index("functions implemented;", start)
    end = text.index("\n", end) + 1
    open(path, "w").write(text[:start] + table() + text[end:])


if __name__ == "__main__":
    main()
