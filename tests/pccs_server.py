#!/usr/bin/env python3
"""pccs_server.py: a small PCCS (v4 API) for tests, Python standard library
only. It serves collateral bundles (the JSON format of the collateral bundle
of README.md) exactly as a PCCS would: the signed tcbInfo / enclaveIdentity /
tcbEvaluationDataNumbers bodies inserted verbatim, issuer chains URL-encoded
in headers, the PCK CRL as DER, the root CA CRL hex-encoded.

usage: pccs_server.py --bundle FILE [--bundle FILE2] --cert CERT --key KEY [--port 0]
prints 'PORT n' on its first line, then serves on 127.0.0.1 until killed.
Each bundle serves its TEE's paths (/sgx/... or /tdx/..., from its TCB
info's id; two bundles of one TEE are refused); the PCK CRL and the root CA
CRL (/sgx/certification/v4/pckcrl, rootcacrl) come from the first bundle.
Endpoints, per TEE:
  tcb?fmspc=..[&update=standard|early][&tcbEvaluationDataNumber=N]:
    update=early serves the bundle's tcb_info_early (the standard one when
    the bundle has none); tcbEvaluationDataNumber=N serves whichever of the
    two has number N (404 when neither has: this server holds no others);
    an update other than standard or early is a 400;
  qe/identity; tcbevaluationdatanumbers: {"tcbEvaluationDataNumbers": BODY,
    "signature": HEX} with TCB-Evaluation-Data-Numbers-Issuer-Chain (404
    when the bundle has no numbers list, as a PCCS without one).
Test hooks: GET /__stats -> {"path": count, ...};
POST /__control {"fail": N, "status": 500} fails the next N requests
(with "retry_after": S, a Retry-After header on those failures);
{"mangle": "oversize"|"malformed"} makes the tcb endpoint answer 200 with a
2 MiB body or a truncated JSON body until "mangle" is reset to "";
{"crl": "der"|"hex"|"pem"} picks how the PCK CRL is encoded (default DER);
{"tcb_header": NAME} names the TCB info issuer chain header (default
TCB-Info-Issuer-Chain; older PCCS versions send SGX-TCB-Info-Issuer-Chain).
"""
import argparse
import json
import os
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"stats": {}, "fail": 0, "status": 500, "retry_after": None, "mangle": "", "crl": "der",
         "tcb_header": "TCB-Info-Issuer-Chain"}
LOCK = threading.Lock()


def tee_of(bundle):
    return "tdx" if json.loads(bundle["tcb_info"]).get("id") == "TDX" else "sgx"


def served(bundle):
    """What one bundle serves, the bodies exactly as a PCCS builds them."""
    def tcb(body, sig):
        n = json.loads(body).get("tcbEvaluationDataNumber")
        return n, '{"tcbInfo":%s,"signature":"%s"}' % (body, sig)
    out = {"standard": tcb(bundle["tcb_info"], bundle["tcb_info_signature"]),
           "qe": '{"enclaveIdentity":%s,"signature":"%s"}' % (bundle["qe_identity"],
                                                              bundle["qe_identity_signature"]),
           "bundle": bundle}
    out["early"] = (tcb(bundle["tcb_info_early"], bundle["tcb_info_early_signature"])
                    if "tcb_info_early" in bundle else out["standard"])
    if "tcb_evaluation_data_numbers" in bundle:
        out["numbers"] = ('{"tcbEvaluationDataNumbers":%s,"signature":"%s"}'
                          % (bundle["tcb_evaluation_data_numbers"],
                             bundle["tcb_evaluation_data_numbers_signature"]),
                          bundle["tcb_evaluation_data_numbers_issuer_chain"])
    return out


def make_handler(bundles):
    by_tee = {}
    for b in bundles:
        t = tee_of(b)
        if t in by_tee:
            raise SystemExit("pccs_server: two %s bundles" % t)
        by_tee[t] = served(b)
    bundle = bundles[0]  # the CRLs
    q = urllib.parse.quote

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def send(self, code, body, headers=()):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            if self.path == "/__control":
                n = int(self.headers.get("Content-Length", "0"))
                ctl = json.loads(self.rfile.read(n) or b"{}")
                with LOCK:
                    STATE["fail"] = ctl.get("fail", 0)
                    STATE["status"] = ctl.get("status", 500)
                    STATE["retry_after"] = ctl.get("retry_after")
                    STATE["mangle"] = ctl.get("mangle", "")
                    STATE["crl"] = ctl.get("crl", "der")
                    STATE["tcb_header"] = ctl.get("tcb_header", "TCB-Info-Issuer-Chain")
                return self.send(200, "{}")
            self.send(404, "")

        def do_GET(self):
            path = urllib.parse.urlparse(self.path).path
            if path == "/__stats":
                with LOCK:
                    return self.send(200, json.dumps(STATE["stats"]))
            with LOCK:
                STATE["stats"][path] = STATE["stats"].get(path, 0) + 1
                if STATE["fail"] > 0:
                    STATE["fail"] -= 1
                    ra = STATE["retry_after"]
                    return self.send(STATE["status"], '{"error": "injected"}',
                                     [] if ra is None else [("Retry-After", str(ra))])
                mangle = STATE["mangle"]
                crl_enc = STATE["crl"]
                tcb_header = STATE["tcb_header"]
            if path == "/sgx/certification/v4/pckcrl":
                crl = bytes.fromhex(bundle["pck_crl"])
                if crl_enc == "hex":
                    crl = bundle["pck_crl"]
                elif crl_enc == "pem":
                    crl = ssl.DER_cert_to_PEM_cert(crl).replace("CERTIFICATE", "X509 CRL")
                return self.send(200, crl,
                                 [("SGX-PCK-CRL-Issuer-Chain", q(bundle["pck_crl_issuer_chain"]))])
            if path == "/sgx/certification/v4/rootcacrl":
                return self.send(200, bundle["root_ca_crl"])
            parts = path.split("/")  # "", tee, "certification", "v4", endpoint...
            s = by_tee.get(parts[1]) if len(parts) >= 5 and parts[2:4] == ["certification", "v4"] else None
            if s is None:
                return self.send(404, '{"error": "not found"}')
            endpoint = "/".join(parts[4:])
            b = s["bundle"]
            if endpoint == "tcb":
                params = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                update = params.get("update", ["standard"])[0]
                if update not in ("standard", "early"):
                    return self.send(400, '{"error": "update: standard or early"}')
                number, body = s[update]
                if "tcbEvaluationDataNumber" in params:
                    want = params["tcbEvaluationDataNumber"][0]
                    hit = [x for x in (s["standard"], s["early"]) if str(x[0]) == want]
                    if not hit:
                        return self.send(404, '{"error": "no such TCB evaluation data number"}')
                    number, body = hit[0]
                if mangle:
                    body = "x" * (2 << 20) if mangle == "oversize" else body[:len(body) // 2]
                    return self.send(200, body, [("TCB-Info-Issuer-Chain", q(b["tcb_info_issuer_chain"]))])
                return self.send(200, body, [(tcb_header, q(b["tcb_info_issuer_chain"])),
                                             ("Content-Type", "application/json")])
            if endpoint == "qe/identity":
                return self.send(200, s["qe"], [("SGX-Enclave-Identity-Issuer-Chain",
                                                 q(b["qe_identity_issuer_chain"]))])
            if endpoint == "tcbevaluationdatanumbers":
                if "numbers" not in s:
                    return self.send(404, '{"error": "no TCB evaluation data numbers"}')
                body, chain = s["numbers"]
                return self.send(200, body, [("TCB-Evaluation-Data-Numbers-Issuer-Chain", q(chain)),
                                             ("Content-Type", "application/json")])
            self.send(404, '{"error": "not found"}')

    return H


def exit_with_parent():
    """A test that dies (or fails before stopping this server) must not
    leave it running: exit once the process that started it is gone."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            threading.Event().wait(0.5)
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", required=True, action="append",
                    help="a collateral bundle to serve (e.g. SIMDIR/collateral_sgx.json); once per TEE")
    ap.add_argument("--cert", required=True, help="the server's TLS certificate (PEM); clients trust it "
                    "with --pccs-ca / collateral.pccs_ca")
    ap.add_argument("--key", required=True, help="its private key (PEM)")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: any free one, printed)")
    a = ap.parse_args()
    if len(a.bundle) > 2:
        ap.error("--bundle: at most two (one sgx, one tdx)")
    bundles = [json.load(open(f)) for f in a.bundle]
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(bundles))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)
    exit_with_parent()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
