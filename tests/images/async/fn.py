"""A function for the async tests: counts the deliveries of each call id it sees.

ANY /anything?sleep=S&fail_until=N&fail=1
    waits S seconds; answers 500 while this call id was seen fewer than N times (so the
    Nth delivery succeeds), or always with fail=1; else 200 with JSON: method, path,
    headers, body size, this call's delivery count.
GET /_/seen   JSON {call id: deliveries} for every call seen since the replica started.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

seen: dict[str, int] = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Function", "async-fn")
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == "/_/health":
            self.answer(200, b"{}")
            return
        if url.path == "/_/seen":
            with lock:
                self.answer(200, json.dumps(seen).encode())
            return
        query = parse_qs(url.query)
        call_id = self.headers.get("X-Call-Id", "")
        with lock:
            count = seen[call_id] = seen.get(call_id, 0) + 1
        if "sleep" in query:
            time.sleep(float(query["sleep"][0]))
        info = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "size": len(body),
            "body": body[:64].decode("latin-1"),
            "count": count,
        }
        failing = "fail" in query or count < int(query.get("fail_until", ["0"])[0])
        self.answer(500 if failing else 200, json.dumps(info).encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def log_message(self, format: str, *args: object) -> None:
        return


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 256
server = ThreadingHTTPServer(("", 8080), Handler)
open("/tmp/.lock", "w").close()
server.serve_forever()
