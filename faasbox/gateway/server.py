"""faasbox's HTTP server protocol: uvicorn's httptools protocol, with the invoke path built in.

uvicorn parses every request; a head whose raw target starts with `/function/`, on the
main port, becomes a `Call` fed straight from the parser callbacks, with no ASGI scope,
no receive/send messages and no task. Everything else (the API, the UI, `/metrics`,
the metrics port) goes to the Starlette app through uvicorn as before. Routing on the
raw target keeps one answer per path: `/function%2Fx` is not a function call anywhere.

The same protocol bounds every request's head, as nginx does: its size, its number of
headers and the time it takes to arrive (431 or 408, then the connection closes), and
for the app's requests, a body that stops arriving (408). It warns once a minute when
open connections near the process's file limit, before accept() starts failing.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from typing import Any, cast

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from faasbox.config import Settings
from faasbox.gateway.call import STATUS_LINES, Call
from faasbox.gateway.proxy import PREFIX, Gateway

log = logging.getLogger("faasbox.server")

# Each client connection usually holds one replica connection too.
_FDS_PER_CONNECTION = 2
_FD_WARN_SHARE = 0.8
_FD_WARN_EVERY = 60.0


def server_protocol(
    settings: Settings, gateway: Callable[[], Gateway | None]
) -> type[HttpToolsProtocol]:
    """The protocol class uvicorn is handed: it reads the gateway through `gateway()`,
    which is None until the lifespan has started it."""
    return type(
        "FaasboxProtocol",
        (ServerProtocol,),
        {
            "gateway_of": staticmethod(gateway),
            "metrics_port": settings.metrics_port,
            "max_head": settings.max_header_size,
            "max_headers": settings.max_headers,
            "head_timeout": settings.header_timeout,
            "body_timeout": settings.read_timeout,
        },
    )


class ServerProtocol(HttpToolsProtocol):
    """One caller connection. `self.cycle` is uvicorn's cycle or a `Call`."""

    gateway_of: Callable[[], Gateway | None] = staticmethod(lambda: None)
    metrics_port = 0
    max_head = 32 * 1024
    max_headers = 100
    head_timeout = 10.0
    body_timeout = 60.0
    _warned_at = -_FD_WARN_EVERY
    _date_source: list[tuple[bytes, bytes]] | None = None
    _date = b""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_bytes = 0
        self._header_count = self._head_size = 0
        self._in_head = True
        self._too_large = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_progress = 0

    # connection -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()
        self._check_file_limit()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        cycle: object = self.cycle
        if type(cycle) is Call:
            self.cycle = None  # type: ignore[assignment]
            cycle.caller_gone()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._too_large:
                self._refuse_head(431, "request head too large")
                return
            cycle: object = self.cycle
            if type(cycle) is Call and not cycle.response_complete:
                cycle.invalid()
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._in_head and self._head_bytes:
            if self._too_large or self._head_bytes > self.max_head:
                self._refuse_head(431, "request head too large")
            elif self._head_timer is None:
                self._arm_head_timer()  # a head arrives in pieces: it gets head_timeout

    def shutdown(self) -> None:
        cycle: object = self.cycle
        if type(cycle) is Call and not cycle.response_complete:
            cycle.keep_alive = False
            return
        super().shutdown()

    def pause_writing(self) -> None:
        cycle: object = self.cycle
        if type(cycle) is Call:
            cycle.caller_paused(True)
        else:
            super().pause_writing()

    def resume_writing(self) -> None:
        cycle: object = self.cycle
        if type(cycle) is Call:
            cycle.caller_paused(False)
        else:
            super().resume_writing()

    # parser callbacks ---------------------------------------------------------------
    def on_message_begin(self) -> None:
        # uvicorn's ASGI scope is built only for requests that go to the app.
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self._in_head = True
        self._header_count = self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self.url += url
        self._head_size += len(url)
        if self._head_size > self.max_head:
            self._too_large = True
            raise ValueError("request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._head_size += len(name) + len(value) + 4
        if self._header_count > self.max_headers or self._head_size > self.max_head:
            self._too_large = True
            raise ValueError("request head too large")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        url = self.url
        gateway = self.gateway_of() if url.startswith(PREFIX) else None
        if (
            gateway is None
            or (self.server is not None and self.server[1] == self.metrics_port)
            or self.parser.should_upgrade()
        ):
            self.scope = {  # type: ignore[typeddict-item]
                "type": "http",
                "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
                "http_version": "1.1",
                "server": self.server,
                "client": self.client,
                "scheme": self.scheme,  # type: ignore[typeddict-item]
                "root_path": self.root_path,
                "headers": self.headers,
                "state": self.app_state.copy(),
            }
            super().on_headers_complete()
            self._watch_body()
            return
        parser = self.parser
        http11 = parser.get_http_version() == "1.1"
        call = gateway.open(
            self,
            parser.get_method(),
            url,
            self.headers,
            self.client,
            keep_alive=http11 and parser.should_keep_alive(),
            http11=http11,
            continue_100=self.expect_100_continue,
        )
        existing = self.cycle
        self.cycle = cast(RequestResponseCycle, call)
        if existing is None or existing.response_complete:
            call.start()
        else:
            self.flow.pause_reading()
            self.pipeline.appendleft((self.cycle, self.app))

    def on_body(self, body: bytes) -> None:
        cycle: object = self.cycle
        if type(cycle) is Call:
            cycle.request_body(body)
            return
        self._body_progress += 1
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_head = True  # what follows is the next request's head
        cycle: object = self.cycle
        if type(cycle) is Call:
            cycle.request_done()
            return
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        queued: object = cycle
        if type(queued) is Call:
            queued.start()
        else:
            super()._start_asgi_task(cycle, app)

    # what a Call uses (gateway.call.Caller) ------------------------------------------
    def write(self, data: bytes) -> None:
        if not self.transport.is_closing():  # a caller gone mid-answer: nothing to tell
            self.transport.write(data)

    def date_line(self) -> bytes:
        """uvicorn's Date header, refreshed once a second by the server, as bytes."""
        source = self.server_state.default_headers
        if source is not ServerProtocol._date_source:
            ServerProtocol._date_source = source
            ServerProtocol._date = b"".join(b"%s: %s\r\n" % pair for pair in source)
        return ServerProtocol._date

    def pause_caller(self, paused: bool) -> None:
        if paused:
            self.flow.pause_reading()
        else:
            self.flow.resume_reading()

    def call_done(self, keep_alive: bool) -> None:
        if not keep_alive or self.transport.is_closing():
            self.transport.close()
            return
        self.on_response_complete()

    # limits -------------------------------------------------------------------------
    def _check_file_limit(self) -> None:
        """Read per connection (not at start), so a limit changed under a running process
        (prlimit, systemd) counts."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        open_now = len(self.connections) * _FDS_PER_CONNECTION
        if soft == resource.RLIM_INFINITY or open_now <= soft * _FD_WARN_SHARE:
            return
        now = time.monotonic()
        if now - ServerProtocol._warned_at >= _FD_WARN_EVERY:
            ServerProtocol._warned_at = now
            log.warning(
                "[server] %d connections open, near the limit of %d open files: new "
                "connections will soon be refused; raise it (LimitNOFILE=, ulimit -n)",
                len(self.connections),
                soft,
            )

    def _arm_head_timer(self) -> None:
        if self.head_timeout > 0:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

    def _head_expired(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            cycle = self.cycle
            if cycle is None or cycle.response_complete:
                self._refuse_head(408, "request head not received in time")

    def _refuse_head(self, status: int, text: str) -> None:
        """Answer a bad head and close: what follows it cannot be parsed safely."""
        if self.transport.is_closing():
            return
        body = text.encode() + b"\n"
        self.transport.write(
            b"%s%scontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s"
            % (STATUS_LINES[status], self.date_line(), len(body), body)
        )
        self.transport.close()

    def _watch_body(self) -> None:
        """An app request whose body stops arriving gets 408, not a hung handler."""
        cycle = self.cycle
        if self.body_timeout > 0 and cycle is not None and cycle.more_body and _has_body(self):
            self._body_progress = 0
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_check, 0)

    def _body_check(self, seen: int) -> None:
        cycle = self.cycle
        self._body_timer = None
        if cycle is None or not cycle.more_body or cycle.response_complete:
            return
        if self._body_progress != seen:
            self._body_timer = self.loop.call_later(
                self.body_timeout, self._body_check, self._body_progress
            )
            return
        cycle.disconnected = True  # the app's receive() now reports a disconnect
        cycle.message_event.set()
        if cycle.response_started:
            self.transport.close()
        else:
            self._refuse_head(408, "request body not received within read_timeout")

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None


def _has_body(protocol: HttpToolsProtocol) -> bool:
    for name, value in protocol.headers:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False
