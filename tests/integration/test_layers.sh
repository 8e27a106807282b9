#!/usr/bin/env bash
# The layers of DESIGN.md are enforced by the build: each layer's files are
# compiled with an include path of their own folder and the layers below.
# For every layer, a probe compiled with exactly the flags the build uses for
# one of its files must fail to include a header of each layer above it, and
# must compile including one of a layer below (so the probe itself works).
# "Fail to include" means the header itself is not found: a folder added to
# a layer's path by mistake is caught even when that header's own includes
# would still fail there.
set -u
build=${ASPS_BUILD:?}
exec python3 - "$build/compile_commands.json" "${ASPS_SRC:?}" <<'PY'
import json, os, shlex, subprocess, sys, tempfile
cc_json, src = sys.argv[1], sys.argv[2]
cmds = json.load(open(cc_json))
# one header of each layer, lowest first (rpc and client: their own headers)
layers = [("base", "util.h"), ("parse", "quote.h"), ("verify", "claims_json.h"),
          ("collateral", "source.h"), ("attest", "trust.h"), ("policy", "policy.h"), ("kms", "kms.h"),
          ("service", "service.h"), ("ops", "ops.h"), ("rpc", "rpc.h"), ("client", "initra.h")]
# which layers each may use (DESIGN.md: dependencies point down the table)
uses = {"base": [], "parse": ["base"], "verify": ["parse", "base"],
        "collateral": ["verify", "parse", "base"], "attest": ["collateral", "verify", "parse", "base"],
        "policy": ["base"], "kms": ["base"],
        "service": ["attest", "collateral", "verify", "parse", "policy", "kms", "base"],
        "ops": ["service", "attest", "collateral", "verify", "parse", "policy", "kms", "base"],
        "rpc": ["service", "attest", "collateral", "verify", "parse", "policy", "kms", "base"],
        "client": ["rpc", "service", "attest", "collateral", "verify", "parse", "policy", "kms", "base"]}
hdr = dict(layers)
fails = passes = 0
tmp = tempfile.mkdtemp()
for layer, _ in layers:
    folder = os.path.join(src, "src", layer) + os.sep
    entry = next((c for c in cmds if c["file"].startswith(folder) and c["file"].endswith(".c")), None)
    if entry is None:
        print("FAIL: no compile command for a file of src/%s" % layer); fails += 1; continue
    argv = shlex.split(entry["command"]) if "command" in entry else entry["arguments"]
    def compiles(h):
        probe = os.path.join(tmp, "probe.c")
        open(probe, "w").write('#include "%s"\nint asps_layer_probe;\n' % h)
        a = [x for x in argv]
        i = a.index("-o"); a[i + 1] = os.path.join(tmp, "probe.o")
        a[-1] = probe  # the source file is the last argument
        r = subprocess.run(a, cwd=entry["directory"], capture_output=True, text=True)
        # (compiles, the header itself was found): an upward header must be
        # out of reach itself, not merely fail on one of its own includes
        # (gcc: "H: No such file or directory", clang: "'H' file not found")
        missing = ("%s: No such file" % h) in r.stderr or ("'%s' file not found" % h) in r.stderr
        return r.returncode == 0, not missing
    for other, h in layers:
        if h is None or other == layer:
            continue
        allowed = other in uses[layer]
        ok, found = compiles(h)
        if allowed and not ok:
            print("FAIL: src/%s cannot include %s (layer %s)" % (layer, h, other))
            fails += 1
        elif not allowed and found:
            print("FAIL: src/%s can reach %s (layer %s)" % (layer, h, other))
            fails += 1
        else:
            passes += 1
print("%d checks passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)
PY
