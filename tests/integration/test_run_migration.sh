#!/usr/bin/env bash
# test_run_migration.sh: issue 15, part "run+migration", through a running
# `asps serve` (an RA-TLS server on the simulated platform, Occlum format):
#  - `asps run` refuses what it can know before fetching (--root relative,
#    no such application, one that is not executable, an output folder it
#    cannot write) and fetches nothing (no audit line);
#  - init_ra_conf.json: an unknown key is refused naming the nearest known
#    one; both templates of Occlum's docs (the seed text in
#    ../shared/seeds beside the checkout, read here) load as they are;
#  - a server identity no sgx_mrs entry allows: refused, and the identity it
#    showed is printed in ra_config's terms;
#  - `asps get --ra-config`: the same check as run's (granted, refused with
#    the identity, an init_ra_conf.json taken as ra_config, all-off refused);
#  - converted policies' TCB statuses: the seed verifiers' set by default
#    (an OutOfDate workload is served, Revoked never), "seed_tcb_statuses"
#    narrows it; the conversion notes from `policy check` and `serve --check`;
#    the start-up note when converted apps will refuse the trusted simulated
#    platform.
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
# the seeds live beside the vectors, in ../shared beside the checkout
SHARED=$(dirname "${ASPS_VECTORS_ROOT:-${ASPS_VECTORS_ROOT_DEFAULT:-${ASPS_SRC:-.}/../shared/vectors}}")
SEEDS=${ASPS_SEEDS:-$SHARED/seeds}
T=$(mktemp -d /tmp/asps-mig-XXXXXX)
PIDS=
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "${ASPS_AUDIT_KEEP:-}" ] && [ -f "$T/audit.log" ]; then
        mkdir -p "$ASPS_AUDIT_KEEP"
        cp "$T/audit.log" "$ASPS_AUDIT_KEEP/test_run_migration.log"
    fi
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
SMRE=$(printf '5e%.0s' {1..32}); SMRS=$(printf '77%.0s' {1..32})
$BIN cert new --out server.crt --key server.key --sim sim --mrenclave "$SMRE" --mrsigner "$SMRS" \
    --isv-prod-id 1 --isv-svn 2 >/dev/null || { echo "FAIL: cert new"; exit 1; }
AMRE=$(printf 'a1%.0s' {1..32}); AMRS=$(printf 'b2%.0s' {1..32})
cat > dynamic_config.json <<EOF
{"verify_mr_enclave": "on", "verify_mr_signer": "on", "verify_isv_prod_id": "on",
 "verify_isv_svn": "off", "verify_config_svn": "off", "verify_enclave_debuggable": "on",
 "sgx_mrs": [{"mr_enclave": "$AMRE", "mr_signer": "$AMRS", "isv_prod_id": 3, "isv_svn": 0,
              "config_svn": 0, "debuggable": false}], "other": []}
EOF
printf '{"image_key": "%s"}\n' "$(printf 'k3y' | base64 -w0)" > secret_config.json
APP=(--sim "$T/sim" --mrenclave "$AMRE" --mrsigner "$AMRS" --isv-prod-id 3)

start_server() { # NAME (its config NAME.json) -> S=host:port
    $BIN serve --config "$1.json" --ra-config dynamic_config.json --secrets secret_config.json \
        > "$1.out" 2> "$1.err" &
    PIDS="$PIDS $!"
    wait_listening "$1.out" $! "$1.err" || { echo "FAIL: server $1 did not start"; exit 1; }
    S=$LISTEN_ADDR
}
cat > main.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.crt", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "seed_allow_simulated": true,
 "audit": "audit.log"}
EOF
start_server main
MAIN=$S

ra() { # MRE: a GRPC-RATLS ra_config naming the server
    cat <<EOF
{"verify_mr_enclave": "on", "verify_mr_signer": "on", "verify_isv_prod_id": "on",
 "verify_isv_svn": "on", "verify_config_svn": "off", "verify_enclave_debuggable": "on",
 "sgx_mrs": [{"mr_enclave": "$1", "mr_signer": "$SMRS", "isv_prod_id": 1, "isv_svn": 2,
              "config_svn": 0, "debuggable": false}]}
EOF
}
initra() { # MRE [extra top-level JSON]
    cat <<EOF
{"kms_server": "$MAIN", "kms_keys": [{"key": "image_key", "path": "/etc/image_key"}]${2:-},
 "ra_config": $(ra "$1")}
EOF
}
initra "$SMRE" > good.json
lines() { [ -f audit.log ] && wc -l < audit.log || echo 0; }

# ---- the good run, for reference -------------------------------------------------------
$BIN run --conf good.json --server-sim sim "${APP[@]}" --root "$T/r0" -- /bin/true 2> run.err \
    && [ "$(cat r0/etc/image_key)" = k3y ] && ok || bad "good run: $(cat run.err)"

# ---- checked before the fetch: exit 2 (usage/config) or 4 (files), no audit line ----------
before=$(lines)
pre() { # WANT-RC GREP ARGS...: run refuses before fetching
    local want=$1 pat=$2; shift 2
    $BIN run --conf good.json --server-sim sim "${APP[@]}" "$@" > pre.out 2>&1; local rc=$?
    [ $rc = "$want" ] && grep -qF -- "$pat" pre.out && grep -q "nothing fetched" pre.out && ok \
        || bad "run $*: exit $rc (want $want), $(cat pre.out)"
}
pre 2 "--root r1: must be an absolute path" --root r1 -- /bin/true
pre 2 "cannot start no-such-app-xyz: not found in PATH" --root "$T/r1" -- no-such-app-xyz
printf 'echo hi\n' > notexec.sh
pre 2 "cannot start $T/notexec.sh: not an executable file" --root "$T/r1" -- "$T/notexec.sh"
pre 2 "cannot start $T/nothere: No such file or directory" --root "$T/r1" -- "$T/nothere"
echo x > blocker
pre 4 "$T/blocker/etc/image_key: folder blocker: Not a directory; nothing" --root "$T/blocker"
ln -s "$T/r0" link
pre 4 "symbolic links are not followed" --root "$T/link" -- /bin/true
[ "$(lines)" = "$before" ] && ok || bad "a refused-before-fetch run reached the server: $before -> $(lines)"
[ ! -e r1 ] && ok || bad "a refused run created $T/r1"
# an application found in PATH passes the check
$BIN run --conf good.json --server-sim sim "${APP[@]}" --root "$T/r2" -- true 2> run.err \
    && ok || bad "run -- true (PATH): $(cat run.err)"

# an empty PATH entry is the current folder, as for execvp
mkdir -p bin && printf '#!/bin/sh\ntouch "$1"\n' > bin/myapp && chmod +x bin/myapp
(cd bin && PATH="/usr/bin:/bin:" $BIN run --conf ../good.json --server-sim "$T/sim" "${APP[@]}" --root "$T/r4" \
    -- myapp "$T/myapp-ran" 2> ../run.err) && [ -e myapp-ran ] && ok || bad "run -- myapp (empty PATH entry): $(cat run.err)"

# ---- init_ra_conf.json keys ---------------------------------------------------------------
initra "$SMRE" ', "ua_env_pccs_ur1": ""' > typo.json
$BIN run --conf typo.json --server-sim sim "${APP[@]}" -- /bin/true > typo.out 2>&1; rc=$?
[ $rc = 2 ] && grep -qF 'init_ra_conf.ua_env_pccs_ur1: unknown field; did you mean ua_env_pccs_url?' typo.out \
    && ok || bad "typo: exit $rc: $(cat typo.out)"
sed 's/"verify_isv_svn"/"verify_isv_svm"/' good.json > typo2.json
$BIN run --conf typo2.json --server-sim sim "${APP[@]}" -- /bin/true > typo.out 2>&1; rc=$?
[ $rc = 2 ] && grep -qF 'ra_config.verify_isv_svm: unknown field; did you mean verify_isv_svn?' typo.out \
    && ok || bad "typo in ra_config: exit $rc: $(cat typo.out)"
# Occlum's own templates (the seed text, not ours) load as they are: the
# run fails later, at the server (port 1), never on a field
if ls "$SEEDS"/*.txt >/dev/null 2>&1; then
    python3 - "$SEEDS" <<'EOF' || bad "could not extract the templates from the seeds"
import glob, json, sys
n = 0
for f in sorted(glob.glob(sys.argv[1] + "/*")):
    text = open(f, encoding="utf-8").read()
    i = 0
    while True:
        i = text.find('{\n    "kms_server"', i)
        if i < 0:
            break
        depth = 0
        for j in range(i, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                break
        conf = json.loads(text[i:j + 1])
        conf["kms_server"] = "127.0.0.1:1"
        json.dump(conf, open("template%d.json" % n, "w"))
        n += 1
        i = j
assert n == 2, n
EOF
    for t in template0.json template1.json; do
        [ -f $t ] || continue
        $BIN run --conf $t --ca server.crt --sim sim --mrenclave "$AMRE" -- /bin/true > t.out 2>&1; rc=$?
        ! grep -q "unknown field\|did you mean" t.out && grep -q "could not get key" t.out && ok \
            || bad "$t (seed template) refused: exit $rc: $(cat t.out)"
    done
    grep -q '"ua_policy_hex_signer"' template0.json template1.json && grep -q '"verify_mr_enclave"' template0.json template1.json \
        && ok || bad "the two flavours' templates were not both found"
else
    if [ ! -d "$SHARED" ]; then # a checkout with no ../shared: say so, as the vector tests do
        echo "NOT RUN (part): Occlum's seed templates: no $SHARED"
        [ -n "${ASPS_BUILD:-}" ] && echo "test_run_migration (the seed templates part): needs $SEEDS" >>"$ASPS_BUILD/not-run.txt"
    else
        echo "SKIP: no seed texts in $SEEDS"; [ -z "${ASPS_STRICT:-}" ] || bad "seed texts missing (ASPS_STRICT)"
    fi
fi

# ---- a server no sgx_mrs entry allows ------------------------------------------------------
initra "$(printf 'ee%.0s' {1..32})" > wrong.json
before=$(lines)
$BIN run --conf wrong.json --server-sim sim "${APP[@]}" --root "$T/r3" -- /bin/true > wrong.out 2>&1; rc=$?
[ $rc = 1 ] && grep -qF "the server showed mr_enclave $SMRE, mr_signer $SMRS, isv_prod_id 1, isv_svn 2, config_svn 0, debuggable false, TCB status UpToDate (simulated); no ra_config.sgx_mrs entry allows it" wrong.out \
    && ok || bad "wrong server: exit $rc: $(cat wrong.out)"
[ ! -e r3 ] && ok || bad "files written for a refused server"

# ---- asps get --ra-config -------------------------------------------------------------------
ra "$SMRE" > ra_good.json
out=$($BIN get --server "$MAIN" --ra-config ra_good.json --server-sim sim "${APP[@]}" image_key 2> get.err); rc=$?
[ $rc = 0 ] && [ "$out" = "Secret received: 6b-33-79" ] && ok || bad "get --ra-config: exit $rc: $out $(cat get.err)"
out=$($BIN get --server "$MAIN" --ra-config good.json --server-sim sim "${APP[@]}" image_key 2> get.err); rc=$?
[ $rc = 0 ] && [ "$out" = "Secret received: 6b-33-79" ] && ok || bad "get --ra-config init_ra_conf.json: exit $rc: $out $(cat get.err)"
ra "$(printf 'ee%.0s' {1..32})" > ra_wrong.json
$BIN get --server "$MAIN" --ra-config ra_wrong.json --server-sim sim "${APP[@]}" image_key > get.out 2>&1; rc=$?
[ $rc = 1 ] && grep -qF "the server showed mr_enclave $SMRE, mr_signer $SMRS, isv_prod_id 1" get.out \
    && grep -qF "does not allow it" get.out && ! grep -q "Secret received" get.out && ok \
    || bad "get --ra-config, wrong server: exit $rc: $(cat get.out)"
sed 's/"on"/"off"/g' ra_good.json > ra_off.json
$BIN get --server "$MAIN" --ra-config ra_off.json --server-sim sim "${APP[@]}" image_key > get.out 2>&1; rc=$?
[ $rc = 2 ] && grep -q "verifies nothing about the server" get.out && ok || bad "get --ra-config all off: exit $rc: $(cat get.out)"
sed 's/"sgx_mrs"/"sgx_mr"/' ra_good.json > ra_typo.json
$BIN get --server "$MAIN" --ra-config ra_typo.json --server-sim sim "${APP[@]}" image_key > get.out 2>&1; rc=$?
[ $rc = 2 ] && grep -qF "ra_config.sgx_mr: unknown field; did you mean sgx_mrs?" get.out && ok \
    || bad "get --ra-config typo: exit $rc: $(cat get.out)"

# ---- TCB statuses of converted policies ----------------------------------------------------
get_tcb() { # TCB -> exit code of a get for that workload TCB level
    $BIN get --server "$S" --ra-config ra_good.json --server-sim sim "${APP[@]}" --tcb "$1" image_key > tcb.out 2>&1
}
S=$MAIN
get_tcb OutOfDate && ok || bad "default: OutOfDate refused: $(cat tcb.out)"
get_tcb ConfigurationAndSWHardeningNeeded && ok || bad "default: ConfigurationAndSWHardeningNeeded refused: $(cat tcb.out)"
get_tcb Revoked; rc=$?; [ $rc = 5 ] && ok || bad "default: Revoked: exit $rc: $(cat tcb.out)"
grep -qF "conversion note: TCB statuses: converted apps accept UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded, as the seed system's verifier did" main.err \
    && ok || bad "serve did not note the TCB statuses: $(cat main.err)"
sed 's/"seed_allow_simulated": true,/"seed_allow_simulated": true, "seed_tcb_statuses": ["UpToDate"],/; s/audit.log/audit_narrow.log/' main.json > narrow.json
start_server narrow
get_tcb OutOfDate; rc=$?
[ $rc = 1 ] && grep -q "TCB status OutOfDate not allowed\|denied" tcb.out && ok || bad "narrowed: OutOfDate: exit $rc: $(cat tcb.out)"
get_tcb UpToDate && ok || bad "narrowed: UpToDate refused: $(cat tcb.out)"
grep -qF "TCB statuses: converted apps accept UpToDate (seed_tcb_statuses)" narrow.err && ok || bad "narrow note: $(cat narrow.err)"

# config errors: a typo'd status, a native policy
sed 's/\["UpToDate"\]/["UpToDate", "Revokd"]/' narrow.json > badtcb.json
$BIN serve --config badtcb.json --ra-config dynamic_config.json --secrets secret_config.json --check > c.out 2>&1; rc=$?
[ $rc != 0 ] && grep -qF 'config.seed_tcb_statuses[1]: "Revokd" is not a TCB status' c.out && ok || bad "bad status: exit $rc: $(cat c.out)"
sed 's/\["UpToDate"\]/["Revoked"]/' narrow.json > badtcb.json
$BIN serve --config badtcb.json --ra-config dynamic_config.json --secrets secret_config.json --check > c.out 2>&1; rc=$?
[ $rc != 0 ] && grep -qF '"Revoked" can never be allowed' c.out && ok || bad "Revoked allowed: exit $rc: $(cat c.out)"

# ---- policy check / convert: notes and --seed-tcb-statuses ---------------------------------
$BIN policy check --from occlum --secrets secret_config.json dynamic_config.json > pc.out 2> pc.err \
    && grep -q "valid, 1 app" pc.out && grep -qF "note: TCB statuses: converted apps accept UpToDate, SWHardeningNeeded" pc.err \
    && grep -q "^note: .*debuggable" pc.err && ! grep -q note pc.out && ok \
    || bad "policy check notes: $(cat pc.out pc.err)"
$BIN policy convert --from occlum --secrets secret_config.json --seed-tcb-statuses UpToDate,OutOfDate \
    dynamic_config.json > conv.json 2> conv.err \
    && python3 -c 'import json,sys; a=json.load(open("conv.json"))["apps"][0]["match"]["tcb_statuses"]; sys.exit(a != ["UpToDate","OutOfDate"])' \
    && ok || bad "convert --seed-tcb-statuses: $(cat conv.json conv.err)"
$BIN policy convert --from occlum --secrets secret_config.json dynamic_config.json 2>/dev/null \
    | python3 -c 'import json,sys; a=json.load(sys.stdin)["apps"][0]["match"]["tcb_statuses"]; sys.exit(len(a) != 6 or "Revoked" in a)' \
    && ok || bad "convert default statuses"
$BIN policy check --from occlum --seed-tcb-statuses UpToDate,Revoked dynamic_config.json > pc.out 2>&1; rc=$?
[ $rc = 2 ] && grep -qF -- '--seed-tcb-statuses[1]: "Revoked" can never be allowed' pc.out && ok || bad "policy --seed-tcb-statuses Revoked: exit $rc: $(cat pc.out)"

# ---- serve --check: the simulated platform and seed_allow_simulated ------------------------
sed 's/"seed_allow_simulated": true,//' main.json > nosim.json
$BIN serve --config nosim.json --ra-config dynamic_config.json --secrets secret_config.json --check > c.out 2>&1
grep -qF 'WARN  policy: WARNING: converted apps refuse simulated evidence' c.out && grep -qF '"seed_allow_simulated": true' c.out \
    && ok || bad "no start-up note on refused simulated evidence: $(cat c.out)"
grep -qF 'conversion note: TCB statuses' c.out && ok || bad "serve --check without the TCB note: $(cat c.out)"
$BIN serve --config main.json --ra-config dynamic_config.json --secrets secret_config.json --check > c.out 2>&1
! grep -q 'converted apps refuse simulated' c.out && grep -q 'WARNING: seed_allow_simulated' c.out && ok \
    || bad "seed_allow_simulated: $(cat c.out)"

echo "$pass passed, $failn failed"
[ $failn = 0 ]
