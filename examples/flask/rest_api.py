#!/usr/bin/env python3
"""The seed demo's Flask-TLS app: PUT/GET /customer/<id>, served over TLS
with the certificate and key that init-RA (`asps run`) fetched and wrote
before starting it. It knows nothing about attestation.

usage: rest_api.py CERT KEY [PORT]   (binds 127.0.0.1; PORT 0 = any free port,
printed as 'listening on PORT' once bound)
"""
import sys

from flask import Flask, request

app = Flask(__name__)
customers = {}


@app.route("/customer/<int:cid>", methods=["GET"])
def get_customer(cid):
    if cid not in customers:
        return {"error": "customer %d not found" % cid}, 404
    return {"customer_id": cid, "data": customers[cid]}


@app.route("/customer/<int:cid>", methods=["PUT"])
def put_customer(cid):
    customers[cid] = request.form.get("data", "")
    return {"customer_id": cid, "data": customers[cid]}, 201


def main():
    cert, key = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 4996
    from werkzeug.serving import make_server
    srv = make_server("127.0.0.1", port, app, ssl_context=(cert, key))
    print("listening on %d" % srv.server_port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
