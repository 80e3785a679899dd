"""LD_PRELOAD interposition: a program linked against a decoy
libwebsockets.so.8 whose every API function aborts runs to completion with our
library preloaded, and every API symbol it can reach resolves into ours."""

import json

from conftest import ABI_DIR, run

DECOY_SO = "libwebsockets.so.8"


def api_functions():
    abi = json.loads((ABI_DIR / "lws-abi.json").read_text())
    return [f["name"] for f in abi["functions"]]


def test_preload_replaces_every_symbol(built, prefix, tmp_path):
    names = api_functions()
    decoy_dir = tmp_path / "decoy"
    decoy_dir.mkdir()
    decoy_c = tmp_path / "decoy.c"
    decoy_c.write_text("#include <stdlib.h>\n" + "".join(
        f"void {n}(void);\nvoid {n}(void) {{ abort(); }}\n" for n in names))
    run(["gcc", "-shared", "-fPIC", "-Wl,-soname," + DECOY_SO, str(decoy_c),
         "-o", str(decoy_dir / DECOY_SO)])
    (decoy_dir / "libwebsockets.so").symlink_to(DECOY_SO)

    # Reference every function through its real prototype, then check where
    # each one resolved; call a few that work without a context.
    table = "".join(f"\t{{ \"{n}\", (void (*)(void)){n} }},\n" for n in names)
    prog = tmp_path / "preload_app.c"
    prog.write_text(f"""#define _GNU_SOURCE
#include <libwebsockets.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static const struct {{ const char *name; void (*fn)(void); }} api[] = {{
{table}}};

int main(int argc, char **argv)
{{
	unsigned int i, ours = 0;
	(void)argc;
	for (i = 0; i < sizeof(api) / sizeof(api[0]); i++) {{
		Dl_info di;
		if (!dladdr((void *)api[i].fn, &di) || !di.dli_fname ||
		    !strstr(di.dli_fname, argv[1])) {{
			printf("%s resolves to %s\\n", api[i].name, di.dli_fname);
			continue;
		}}
		ours++;
	}}
	lws_set_log_level(LLL_ERR | LLL_NOTICE, NULL);
	lwsl_notice("preloaded %s\\n", lws_get_library_version());
	printf("%u/%u resolved to %s\\n", ours, i, argv[1]);
	return ours == i ? 0 : 1;
}}
""")
    exe = tmp_path / "preload_app"
    run(["gcc", "-std=gnu99", "-Wall", "-Werror", "-Wno-deprecated-declarations", "-fPIE", "-pie", "-D_DEBUG",
         f"-I{prefix}/include", str(prog), "-o", str(exe), f"-L{decoy_dir}", "-lwebsockets", "-ldl"])

    decoy_env = {"LD_LIBRARY_PATH": str(decoy_dir), "PATH": "/usr/bin:/bin"}
    assert run([str(exe), "x"], env=decoy_env, check=False).returncode != 0, \
        "without the preload the decoy must be what runs"

    ours = str(built.resolve())
    r = run([str(exe), ours], env={**decoy_env, "LD_PRELOAD": ours, "LD_BIND_NOW": "1"})
    assert f"{len(names)}/{len(names)} resolved to {ours}" in r.stdout, r.stdout
    assert "NOTICE: preloaded 2.0.0" in r.stderr
