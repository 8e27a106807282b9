#!/usr/bin/env python3
"""rpc_client.py: a Python grpcio client for interop tests of the asps rpc
server (tests/integration/test_rpc_python.sh).

It uses grpc's generic unary API with raw bytes and encodes/decodes the few
protobuf messages it needs by hand (below), so no generated stubs and no
protoc are needed.

usage: rpc_client.py --target HOST:PORT --ca CA.pem [--cert C.pem --key K.pem]
                     [--server-name NAME] COMMAND [ARGS...]
commands:
  echo TEXT          call /asps.test.Echo/Echo, print the reply
  health [SERVICE]   call grpc.health.v1.Health/Check, print the status name
  get NAME...        call asps.v1.SecretProvision/GetSecrets, print name=value
  gethex NAME...     the same, values printed as hex
  occlum NAME        call Occlum's ratls.GrSecret/GetSecret, print the base64 secret
  cczoo KEY [CTXFILE] call CCZoo's secretmanager.SecretManger/GetSecret (ctx = file's text)
  raw METHOD HEX     send HEX bytes as the request of METHOD, print the reply as hex
  nomessage METHOD   call METHOD sending no request message at all (half-close
                     at once), print the reply as hex
exit: 0 on OK; 1 on a gRPC error status (printed as "STATUS <NAME> <details>",
then "PUSHBACK <ms>" when the trailers hold grpc-retry-pushback-ms).
"""
import argparse
import sys
import time

import grpc


# ---- protobuf wire format, just enough for these messages ----------------------

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_bytes(num, data):
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _read_varint(buf, i):
    shift = 0
    n = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _fields(buf):
    """Yield (field number, wire type, value) of a message's top-level fields."""
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(buf, i)
        elif wt == 2:
            n, i = _read_varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated field")
            v, i = buf[i:i + n], i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
        yield num, wt, v


def encode_get_secrets_request(names):
    return b"".join(_field_bytes(1, n.encode()) for n in names)


def decode_get_secrets_reply(buf):
    secrets = []
    for num, wt, v in _fields(buf):
        if num == 1 and wt == 2:
            name, value = "", b""
            for n2, w2, v2 in _fields(v):
                if n2 == 1 and w2 == 2:
                    name = v2.decode()
                elif n2 == 2 and w2 == 2:
                    value = bytes(v2)
            secrets.append((name, value))
    return secrets


def encode_health_request(service):
    return _field_bytes(1, service.encode()) if service else b""


HEALTH_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def decode_health_reply(buf):
    status = 0
    for num, wt, v in _fields(buf):
        if num == 1 and wt == 0:
            status = v
    return HEALTH_STATUS.get(status, str(status))


# ---- main -------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--server-name")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--cancel-after", type=float, default=0,
                    help="cancel the call after this many seconds (prints CANCELLED)")
    ap.add_argument("command", choices=["echo", "health", "get", "gethex", "occlum", "cczoo", "raw",
                                            "nomessage"])
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    creds = grpc.ssl_channel_credentials(
        root_certificates=read(a.ca),
        private_key=read(a.key) if a.key else None,
        certificate_chain=read(a.cert) if a.cert else None)
    options = [("grpc.enable_http_proxy", 0)]
    if a.server_name:
        options.append(("grpc.ssl_target_name_override", a.server_name))
    with grpc.secure_channel(a.target, creds, options=options) as ch:
        if a.command == "echo":
            method, req = "/asps.test.Echo/Echo", " ".join(a.args).encode()
        elif a.command == "health":
            method, req = "/grpc.health.v1.Health/Check", encode_health_request(
                a.args[0] if a.args else "")
        elif a.command == "occlum":
            method, req = "/ratls.GrSecret/GetSecret", _field_bytes(1, a.args[0].encode())
        elif a.command == "cczoo":
            req = _field_bytes(1, a.args[0].encode())
            if len(a.args) > 1:
                req += _field_bytes(2, read(a.args[1]))
            method = "/secretmanager.SecretManger/GetSecret"
        elif a.command == "raw":
            method, req = a.args[0], bytes.fromhex(a.args[1])
        elif a.command == "nomessage":
            method, req = a.args[0], None
        else:
            method, req = "/asps.v1.SecretProvision/GetSecrets", encode_get_secrets_request(a.args)
        if a.command == "nomessage":  # a client stream of no messages
            stub = ch.stream_unary(method, request_serializer=None, response_deserializer=None)
            req = iter(())
        else:
            stub = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
        if a.cancel_after > 0:
            fut = stub.future(req, timeout=a.timeout)
            time.sleep(a.cancel_after)
            if fut.cancel():
                print("CANCELLED")
                return 1
            # it finished first: report it as below
        try:
            reply = fut.result() if a.cancel_after > 0 else stub(req, timeout=a.timeout)
        except grpc.RpcError as e:
            print("STATUS %s %s" % (e.code().name, e.details()))
            for k, v in e.trailing_metadata() or ():
                if k == "grpc-retry-pushback-ms":
                    print("PUSHBACK %s" % v)
            return 1
    if a.command == "echo":
        sys.stdout.write(reply.decode() + "\n")
    elif a.command == "health":
        print(decode_health_reply(reply))
    elif a.command in ("occlum", "cczoo"):
        for num, wt, v in _fields(reply):
            if num == 1 and wt == 2:
                print(bytes(v).decode(errors="replace"))
    elif a.command in ("raw", "nomessage"):
        print(reply.hex())
    elif a.command == "gethex":
        for name, value in decode_get_secrets_reply(reply):
            print("%s=%s" % (name, value.hex()))
    else:
        for name, value in decode_get_secrets_reply(reply):
            print("%s=%s" % (name, value.decode(errors="replace")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
