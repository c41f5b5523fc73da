"""Warm HTTP server for watchdog http mode: one process serves every request."""

import os
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from function import handler


class Event:
    def __init__(self, request, body):
        url = urllib.parse.urlsplit(request.path)
        self.method = request.command
        self.path = url.path
        self.query = dict(urllib.parse.parse_qsl(url.query))
        self.headers = dict(request.headers.items())
        self.body = body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        result = handler.handle(Event(self, self.rfile.read(length)))
        status, headers, body = result if isinstance(result, tuple) else (200, {}, result)
        payload = body if isinstance(body, bytes) else str(body or "").encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ.get("upstream_port", "5000"))
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
