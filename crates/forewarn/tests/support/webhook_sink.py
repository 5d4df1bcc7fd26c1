#!/usr/bin/env python3
"""A webhook receiver for forewarn's end-to-end tests: an HTTP server on 127.0.0.1 that
answers every POST with 204 and records it.

    webhook_sink.py PORT_FILE OUT_FILE SECRET [--port P]

It listens on 127.0.0.1, port 0 (a free one) unless --port names one, and writes the port to
PORT_FILE once it accepts connections (written whole, then renamed into place).

Each POST appends one JSON line to OUT_FILE, flushed before the answer: `path`, `headers`
(names in lower case; a repeated header keeps its last value), `body` (text), `json` (the
body parsed, or null), `signature` (the X-Forewarn-Signature header) and `signature_ok`:
whether it equals "sha256=" + the hex HMAC-SHA256 of the body under SECRET, compared in
constant time.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(out, lock, secret):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            signature = self.headers.get("X-Forewarn-Signature")
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            record = {
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "json": parsed,
                "signature": signature,
                "signature_ok": signature is not None and hmac.compare_digest(signature, expected),
                "received": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            }
            with lock:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                out.flush()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):  # noqa: A002 (http.server's name)
            sys.stderr.write("webhook sink: " + (format % args) + "\n")

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port_file")
    parser.add_argument("out_file")
    parser.add_argument("secret")
    parser.add_argument("--port", type=int, default=0, help="listen on this port (default: a free one)")
    args = parser.parse_args()

    out = open(args.out_file, "a", encoding="utf-8")
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(out, threading.Lock(), args.secret.encode()))
    port = server.server_address[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)
    print(f"webhook sink listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
