#!/usr/bin/env python3
"""vault_server.py: a Vault test server (Python standard library only) that
answers as Vault's HTTP API documents for what asps uses:

  GET  /v1/<kv1 mount>/<path>            {"data": {...}, "lease_duration": ..}
  GET  /v1/<kv2 mount>/data/<path>       {"data": {"data": {...}, "metadata": {...}}}
  POST /v1/auth/<approle mount>/login    {"auth": {"client_token", "lease_duration", "renewable", "policies"}}
  GET  /v1/auth/token/lookup-self        {"data": {"id", "policies", "ttl", ...}}; 403 for a dead token
  GET  /v1/sys/seal-status               {"sealed": bool, ...}
errors: {"errors": [...]} with 403 "permission denied", 404 (empty errors
list), 503 "Vault is sealed", 400 for bad AppRole credentials.
X-Vault-Token is checked against tokens with path-prefix policies;
X-Vault-Namespace, when sent, prefixes the path ("ns1/" + path) as Vault
Enterprise namespaces do.

usage: vault_server.py --seed FILE [--cert C --key K]
seed: {"kv1": {"occlum/1": {"image_key": {"key": "..."}}},
       "kv2": {"secret": {"app1": {"key": "..."}}},
       "tokens": {"root": ["*"], "app1-token": ["occlum/1/"]},
       "approle": {"role_id": "r", "secret_id": "s", "policies": ["secret/"], "ttl": 2,
                   "max_ttl": 5, "mount": "approle"}}
POST /v1/auth/token/renew-self extends an issued token by ttl, never past
max_ttl from its login (the lease it answers is what is left, whole seconds).
Prints 'PORT n' first. Test hooks: POST /__control with any of
  {"sealed": true|false, "sealed_text": false (sealed 503 says nothing)}
  {"fail": N, "status": 500, "error_text": "..." | "error_body": "raw",
   "retry_after": S (a Retry-After header on those failures; null: none)}
  {"revoke": "token"} (a seed or issued token), {"revoke_issued": true}
  {"delay": S} (every /v1/ request, counted first, waits S seconds before its
   answer: a Vault that hangs; 0 ends it)
GET /__stats: {"stats": {path: count}, "connections": n, "headers": {...}}.
"""
import argparse
import json
import os
import secrets
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"delay": 0, "sealed": False, "sealed_text": True, "fail": 0, "status": 500, "error_text": "injected failure",
         "error_body": None, "retry_after": None, "stats": {}, "headers": {}, "connections": 0}
ISSUED = {}  # token -> (policies, expires, max_expires)


def exit_with_parent():
    """Exit once the process that started this server is gone, so that a
    test that dies cannot leave it running."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    seed = json.load(open(a.seed))
    kv1, kv2 = seed.get("kv1", {}), seed.get("kv2", {})
    tokens = seed.get("tokens", {})
    approle = seed.get("approle")
    login_path = "/v1/auth/%s/login" % (approle or {}).get("mount", "approle")

    def policies(token):
        with LOCK:
            if token in tokens:
                return tokens[token]
            if token in ISSUED and ISSUED[token][1] > time.time():
                return ISSUED[token][0]
        return None

    def allowed(token, path):
        pol = policies(token)
        return pol is not None and any(p == "*" or path.startswith(p) for p in pol)

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes: without TCP_NODELAY a
        # kept-alive connection waits for the client's delayed ACK (40 ms)
        disable_nagle_algorithm = True

        def log_message(self, *x):
            pass

        def setup(self):
            # one handler per connection: counts TCP connections (keep-alive reuse)
            with LOCK:
                STATE["connections"] += 1
            super().setup()

        def reply_raw(self, code, b):
            self.send_response(code)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

        def reply(self, code, obj, retry_after=None):
            b = json.dumps(obj).encode()
            self.send_response(code)
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

        def pre(self):
            with LOCK:
                STATE["stats"][self.path] = STATE["stats"].get(self.path, 0) + 1
                STATE["headers"] = {k: v for k, v in self.headers.items() if k.lower().startswith("x-vault-n")}
                delay = STATE["delay"]
            if delay:
                time.sleep(delay)
            with LOCK:
                if STATE["fail"] > 0:
                    STATE["fail"] -= 1
                    if STATE["error_body"] is not None:
                        self.reply_raw(STATE["status"], STATE["error_body"].encode())
                    else:
                        self.reply(STATE["status"], {"errors": [STATE["error_text"]]}, STATE["retry_after"])
                    return False
                if STATE["sealed"] and not self.path.startswith("/__") and self.path != "/v1/sys/seal-status":
                    self.reply(503, {"errors": ["Vault is sealed"] if STATE["sealed_text"] else []})
                    return False
            return True

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(n) or b"{}")
            if self.path == "/__control":
                with LOCK:
                    for k in ("delay", "sealed", "sealed_text", "fail", "status", "error_text", "error_body", "retry_after"):
                        if k in body:
                            STATE[k] = body[k]
                    if "revoke" in body:
                        tokens.pop(body["revoke"], None)
                        ISSUED.pop(body["revoke"], None)
                    if body.get("revoke_issued"):
                        ISSUED.clear()
                return self.reply(200, {})
            if not self.pre():
                return
            if self.path == "/v1/auth/token/renew-self" and approle:
                tok = self.headers.get("X-Vault-Token", "")
                now = time.time()
                with LOCK:
                    live = tok in ISSUED and ISSUED[tok][1] > now
                    if live:
                        pol, _, max_exp = ISSUED[tok]
                        exp = min(now + approle.get("ttl", 3600), max_exp)
                        ISSUED[tok] = (pol, exp, max_exp)
                if not live:
                    return self.reply(403, {"errors": ["permission denied"]})
                return self.reply(200, {"request_id": "x", "lease_id": "", "renewable": False, "lease_duration": 0,
                                        "data": None, "wrap_info": None, "warnings": None,
                                        "auth": {"client_token": tok, "accessor": "a", "policies": pol,
                                                 "lease_duration": int(exp - now), "renewable": True,
                                                 "token_type": "service", "orphan": True}})
            if self.path == login_path and approle:
                if body.get("role_id") != approle["role_id"] or body.get("secret_id") != approle["secret_id"]:
                    return self.reply(400, {"errors": ["invalid role or secret ID"]})
                tok = "hvs." + secrets.token_urlsafe(16)
                ttl = approle.get("ttl", 3600)
                with LOCK:
                    now = time.time()
                    ISSUED[tok] = (approle["policies"], now + ttl, now + approle.get("max_ttl", 86400))
                return self.reply(200, {"request_id": "x", "lease_id": "", "renewable": False, "lease_duration": 0,
                                        "data": None, "wrap_info": None, "warnings": None,
                                        "auth": {"client_token": tok, "accessor": "a", "policies": approle["policies"],
                                                 "token_policies": approle["policies"], "metadata": {},
                                                 "lease_duration": ttl, "renewable": True,
                                                 "entity_id": "", "token_type": "service", "orphan": True}})
            self.reply(404, {"errors": []})

        def do_GET(self):
            if self.path == "/__stats":
                with LOCK:
                    return self.reply(200, {"stats": STATE["stats"], "headers": STATE["headers"],
                                            "connections": STATE["connections"]})
            if self.path == "/v1/sys/seal-status":
                with LOCK:
                    STATE["stats"][self.path] = STATE["stats"].get(self.path, 0) + 1
                return self.reply(200, {"type": "shamir", "initialized": True, "sealed": STATE["sealed"],
                                        "t": 1, "n": 1, "progress": 0, "version": "1.15.0"})
            if not self.pre():
                return
            if not self.path.startswith("/v1/"):
                return self.reply(404, {"errors": []})
            path = self.path[len("/v1/"):]
            ns = self.headers.get("X-Vault-Namespace")
            if ns:
                path = ns.rstrip("/") + "/" + path
            token = self.headers.get("X-Vault-Token", "")
            if self.path == "/v1/auth/token/lookup-self":
                pol = policies(token)
                if pol is None:
                    return self.reply(403, {"errors": ["permission denied"]})
                return self.reply(200, {"request_id": "x", "lease_id": "", "renewable": False, "lease_duration": 0,
                                        "data": {"id": token, "accessor": "a", "policies": ["default"] + pol,
                                                 "ttl": 0, "type": "service"}})
            if not allowed(token, path):
                return self.reply(403, {"errors": ["1 error occurred:\n\t* permission denied\n\n"]})
            for mount, entries in kv2.items():
                pre = mount + "/data/"
                if path.startswith(pre):
                    key = path[len(pre):]
                    if key in entries:
                        return self.reply(200, {"request_id": "x", "lease_id": "", "renewable": False,
                                                "lease_duration": 0,
                                                "data": {"data": entries[key],
                                                         "metadata": {"created_time": "2025-01-01T00:00:00Z",
                                                                      "deletion_time": "", "destroyed": False,
                                                                      "version": 1}}})
                    return self.reply(404, {"errors": []})
            for mount, entries in kv1.items():
                pre = mount + "/"
                if path.startswith(pre) and path[len(pre):] in entries:
                    return self.reply(200, {"request_id": "x", "lease_id": "", "renewable": False,
                                            "lease_duration": 2764800, "data": entries[path[len(pre):]],
                                            "wrap_info": None, "warnings": None, "auth": None})
            self.reply(404, {"errors": []})

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)
    exit_with_parent()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
