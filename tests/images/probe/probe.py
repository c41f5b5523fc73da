"""A function for the core tests: tells what it sees (env, secrets, request) and logs each call."""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRETS = "/var/openfaas/secrets/"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/_/health":
            self._answer(200, b"OK", "text/plain")
            return
        if self.path.startswith("/secret/"):
            try:
                with open(SECRETS + self.path[len("/secret/") :], "rb") as f:
                    self._answer(200, f.read(), "text/plain")
            except OSError as exc:
                self._answer(404, str(exc).encode(), "text/plain")
            return
        if self.path.startswith("/sleep/"):
            time.sleep(float(self.path[len("/sleep/") :]))
            self._answer(200, b"slept", "text/plain")
            return
        print(f"probe: GET {self.path}", flush=True)
        print(f"probe-stderr: GET {self.path}", file=sys.stderr, flush=True)
        info = {"path": self.path, "env": dict(os.environ), "hostname": os.uname().nodename}
        self._answer(200, json.dumps(info).encode())

    def log_message(self, format: str, *args: object) -> None:
        return


print("probe: listening on 8080", flush=True)
ThreadingHTTPServer(("", 8080), Handler).serve_forever()
