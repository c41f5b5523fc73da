"""A function for the invoke-path tests: echoes requests and answers on demand.

GET/POST/... /anything          JSON: method, path (with query), headers, body sha256 and size
/bytes?n=N                      N pseudo-random bytes (fixed seed), with Content-Length
/echo                           the request body back, streamed, Content-Length when known
/slow?parts=N&delay=S           N chunks, S seconds apart (chunked encoding)
/redirect                       302 to /elsewhere
/status?code=N                  that status
/close                          an answer without length, ended by closing the connection
/sleep?s=S                      sleeps, then 200 with the hostname
/peak                           the most /sleep calls that ran at once since the last /peak
/drop                           reads the request, then closes the connection unanswered
/switch                         a 101 nobody asked for
/count                          how often each method ran /drop
/record?s=S                     prints "executed <X-Call-Id>" to stdout, sleeps, then 200

Env `LISTEN_PORT` moves it off 8080 (a replica that refuses the gateway's connections).
With `WARMUP=S` it answers every request, /_/health included, with 503 for its first S
seconds (a server that listens before it is ready). On SIGTERM it drains as the watchdog
does: it keeps serving for `DRAIN` seconds (default 1), then stops accepting and exits
once the requests it is running are answered.
"""

import hashlib
import json
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BLOCK = 1 << 16
LOCK = threading.Lock()
DROPPED: Counter[str] = Counter()
SLEEPING = [0, 0]  # now, most at once
RUNNING = [0]  # requests being answered
READY_AT = time.monotonic() + float(os.environ.get("WARMUP", "0"))


def pattern(n: int) -> bytes:
    return random.Random(n).randbytes(n)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def body_chunks(self) -> Iterator[bytes]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    data = self.rfile.read(min(left, BLOCK))
                    left -= len(data)
                    yield data
                self.rfile.readline()
        left = int(self.headers.get("Content-Length") or 0)
        while left:
            data = self.rfile.read(min(left, BLOCK))
            if not data:
                return
            left -= len(data)
            yield data

    def answer(
        self,
        status: int,
        body: bytes,
        kind: str = "application/octet-stream",
        extra: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self) -> None:
        with LOCK:
            RUNNING[0] += 1
        try:
            self.answer_any()
        finally:
            with LOCK:
                RUNNING[0] -= 1

    def answer_any(self) -> None:
        url = urlsplit(self.path)
        if time.monotonic() < READY_AT:
            self.answer(503, b"warming up\n", "text/plain")
            return
        query = parse_qs(url.query)
        if url.path == "/_/health":
            self.answer(200, b"OK", "text/plain")
        elif url.path == "/bytes":
            for _ in self.body_chunks():
                pass
            self.answer(200, pattern(int(query["n"][0])))
        elif url.path == "/echo":
            length = self.headers.get("Content-Length")
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if length is not None:
                self.send_header("Content-Length", length)
                self.end_headers()
                for data in self.body_chunks():
                    self.wfile.write(data)
            else:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for data in self.body_chunks():
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/slow":
            parts, delay = int(query["parts"][0]), float(query["delay"][0])
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(parts):
                if i:
                    time.sleep(delay)
                line = b"part %d %f\n" % (i, time.time())
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/redirect":
            self.answer(302, b"moved\n", "text/plain", [("Location", "/elsewhere")])
        elif url.path == "/status":
            self.answer(int(query["code"][0]), b"as asked\n", "text/plain")
        elif url.path == "/close":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end\n" * 1000)
        elif url.path == "/sleep":
            with LOCK:
                SLEEPING[0] += 1
                SLEEPING[1] = max(SLEEPING)
            time.sleep(float(query["s"][0]))
            with LOCK:
                SLEEPING[0] -= 1
            self.answer(200, os.uname().nodename.encode(), "text/plain")
        elif url.path == "/peak":
            with LOCK:
                peak, SLEEPING[1] = SLEEPING[1], SLEEPING[0]
            self.answer(200, json.dumps({"peak": peak}).encode(), "application/json")
        elif url.path == "/drop":
            for _ in self.body_chunks():
                pass
            with LOCK:
                DROPPED[self.command] += 1
            self.close_connection = True
        elif url.path == "/switch":
            self.send_response(101)
            self.send_header("Upgrade", "nothing")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.close_connection = True
        elif url.path == "/count":
            with LOCK:
                counts = dict(DROPPED)
            self.answer(200, json.dumps(counts).encode(), "application/json")
        elif url.path == "/record":
            for _ in self.body_chunks():
                pass
            with LOCK:  # one whole line per call, whatever the other threads print
                print(f"executed {self.headers.get('X-Call-Id', '')}", flush=True)
            time.sleep(float(query["s"][0]))
            self.answer(200, os.uname().nodename.encode(), "text/plain")
        else:
            digest, size = hashlib.sha256(), 0
            for data in self.body_chunks():
                digest.update(data)
                size += len(data)
            info = {
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "sha256": digest.hexdigest(),
                "size": size,
                "hostname": os.uname().nodename,
            }
            self.answer(
                200,
                json.dumps(info).encode(),
                "application/json",
                [("X-Function", "echo"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
            )

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = handle_any

    def log_message(self, format: str, *args: object) -> None:
        return


def drain(signum: int, frame: object) -> None:
    def later() -> None:
        time.sleep(float(os.environ.get("DRAIN", "1")))
        server.shutdown()

    threading.Thread(target=later).start()


ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("", int(os.environ.get("LISTEN_PORT", "8080"))), Handler)
signal.signal(signal.SIGTERM, drain)
open("/tmp/.lock", "w").close()  # healthy, whatever port was asked for (tests need a deaf one)
server.serve_forever()
while RUNNING[0]:  # idle kept connections just end with the process
    time.sleep(0.05)
