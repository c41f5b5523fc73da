"""`/async-function/<name>[/path]`: store the request durably, then answer 202.

The answer is sent only after the queue has the call on disk (or in JetStream), so a
202 is a promise that survives a kill -9. Everything that can be refused is checked
before anything is stored: unknown function (404), bad callback URL or call id (400),
body over the limit (413), queue full (429 with Retry-After).
`DELETE /async-function/<call-id>` cancels a call that has not started.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from urllib.parse import urlsplit

import orjson
from starlette.types import Receive, Scope, Send

from faasbox.functions.view import FunctionsView
from faasbox.metrics import Metrics
from faasbox.queue.call import Call, CallTooLarge, QueueFull
from faasbox.queue.dispatcher import Dispatcher
from faasbox.queue.store import Cancel, Queue

log = logging.getLogger("faasbox.queue")

PREFIX = "/async-function/"
CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
RETRY_AFTER_FULL = b"5"
RETRY_AFTER_DOWN = b"2"
# Not kept with the call: they describe this connection, or the worker sets them again.
_NOT_KEPT = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        b"expect",
        b"x-call-id",
        b"x-start-time",
        b"x-retry",
        b"x-retry-max",
    }
)


class _Refused(Exception):
    def __init__(self, status: int, message: str, *extra: tuple[bytes, bytes]) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


class AsyncEntry:
    """The ASGI callable app.py sends `/async-function/` requests to."""

    def __init__(
        self,
        queue: Queue,
        dispatcher: Dispatcher,
        functions: FunctionsView,
        metrics: Metrics,
        *,
        namespace: str,
        max_body: int,
        read_timeout: float,
    ) -> None:
        self._queue = queue
        self._dispatcher = dispatcher
        self._functions = functions
        self._metrics = metrics
        self._suffix = "." + namespace
        self._max_body = max_body
        self._read_timeout = read_timeout if read_timeout > 0 else None

    @staticmethod
    def is_cancel(scope: Scope) -> bool:
        """DELETE on a bare `/async-function/<id>` cancels; with a path it is a call."""
        rest = scope["path"][len(PREFIX) :]
        return scope["method"] == "DELETE" and bool(rest) and "/" not in rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if self.is_cancel(scope):
                await self._cancel(scope, send)
            else:
                await self._accept(scope, receive, send)
        except _Refused as refused:
            await _json(send, refused.status, {"message": str(refused)}, refused.extra)

    async def _accept(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        rest = raw[len(PREFIX) :].decode("latin-1")
        name, slash, path = rest.partition("/")
        if name.endswith(self._suffix):
            name = name[: -len(self._suffix)]
        if not name or self._functions.get(name) is None:
            raise _Refused(404, f"function {name or '(none)'} not found")
        headers: list[tuple[str, str]] = []
        call_id = callback = ""
        length = -1
        for key, value in scope["headers"]:
            if key == b"x-call-id":
                call_id = value.decode("latin-1")
            elif key == b"x-callback-url":
                callback = value.decode("latin-1")
            elif key == b"content-length" and value.isdigit():
                length = int(value)
            if key not in _NOT_KEPT:
                headers.append((key.decode("latin-1"), value.decode("latin-1")))
        if call_id and not CALL_ID.fullmatch(call_id):
            raise _Refused(400, "X-Call-Id must be 1-128 letters, digits or . _ : -")
        if callback and not _good_url(callback):
            raise _Refused(400, "X-Callback-Url must be an absolute http or https URL")
        if length > self._max_body:
            raise _Refused(413, f"request body larger than {self._max_body} bytes")
        body = await self._body(receive)
        given = bool(call_id)
        call = Call(
            call_id=call_id or str(uuid.uuid4()),
            function=name,
            method=scope["method"],
            path=slash + path,
            query=scope["query_string"].decode("latin-1"),
            headers=headers,
            body=body,
            callback_url=callback,
            accepted_at=time.time(),
        )
        try:
            stored = await self._queue.put(call, dedupe=given)
        except QueueFull:
            self._metrics.async_rejected[name] += 1
            raise _Refused(
                429, "the async queue is full; try again later", (b"retry-after", RETRY_AFTER_FULL)
            ) from None
        except CallTooLarge as exc:
            raise _Refused(413, str(exc)) from None
        except Exception as exc:
            log.error("[queue] cannot store a call for %s: %s", name, exc)
            raise _Refused(
                503, "the async queue is unavailable", (b"retry-after", RETRY_AFTER_DOWN)
            ) from None
        answer = [
            (b"x-call-id", call.call_id.encode()),
            (b"x-start-time", b"%d" % int(call.accepted_at * 1e9)),
            (b"content-length", b"0"),
        ]
        if stored:
            self._metrics.async_accepted[name] += 1
            self._dispatcher.wake(name)
        else:
            answer.append((b"x-duplicate", b"true"))
        await send({"type": "http.response.start", "status": 202, "headers": answer})
        await send({"type": "http.response.body", "body": b""})

    async def _body(self, receive: Receive) -> bytes:
        parts: list[bytes] = []
        size = 0
        more = True
        try:
            async with asyncio.timeout(self._read_timeout):
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _Refused(400, "the caller went away before the body arrived")
                    data: bytes = message.get("body", b"")
                    size += len(data)
                    if size > self._max_body:
                        raise _Refused(413, f"request body larger than {self._max_body} bytes")
                    parts.append(data)
                    more = message.get("more_body", False)
        except TimeoutError:
            raise _Refused(408, "request body not received within read_timeout") from None
        return b"".join(parts)

    async def _cancel(self, scope: Scope, send: Send) -> None:
        call_id = scope["path"][len(PREFIX) :]
        if not CALL_ID.fullmatch(call_id):
            raise _Refused(404, f"no queued call {call_id}")
        if self._dispatcher.running(call_id):
            raise _Refused(409, f"call {call_id} is running; it can no longer be cancelled")
        try:
            result = await self._queue.cancel(call_id)
        except Exception as exc:
            log.error("[queue] cannot cancel %s: %s", call_id, exc)
            raise _Refused(503, "the async queue is unavailable") from None
        if result is Cancel.RUNNING:
            raise _Refused(409, f"call {call_id} is running; it can no longer be cancelled")
        if result is Cancel.UNKNOWN:
            raise _Refused(404, f"no queued call {call_id}")
        await _json(send, 200, {"callId": call_id, "state": "cancelled"}, ())


def _good_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        return False


async def _json(
    send: Send, status: int, content: object, extra: tuple[tuple[bytes, bytes], ...]
) -> None:
    body = orjson.dumps(content)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(body)),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
