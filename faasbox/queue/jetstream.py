"""The shared backend: NATS JetStream, for several faasbox gateways on one Swarm.

Calls live in a work-queue stream, one subject per call (`faasbox.async.<fn>.<id>`), so
a call can be found by id without a scan. Each function has a durable pull consumer
(explicit acks, `ack_wait` = the lease, in-progress heartbeats while a call runs), which
gives every gateway its share without any coordination of ours. Dead letters go to a
second stream with limits (count, age). The server enforces the queue cap (`max_msgs`
with discard-new) and the dedupe window (`Nats-Msg-Id`), so both hold across gateways.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError, ServiceUnavailableError

from faasbox.config import Settings
from faasbox.queue.call import Call, CallTooLarge, Entry, Lease, Outcome, Overview, QueueFull
from faasbox.queue.store import Cancel

log = logging.getLogger("faasbox.queue")

CALLS = "FAASBOX_ASYNC"
DEAD = "FAASBOX_DEAD"
_CALL_SUBJECT = "faasbox.async"
_DEAD_SUBJECT = "faasbox.dead"
_SAFE = re.compile(r"[A-Za-z0-9_-]+")
_MAXIMUM_EXCEEDED = 10077  # JetStream's "maximum messages exceeded"
# Room for the call's JSON head next to its body in one message.
_HEAD_ROOM = 64 * 1024


def token(text: str) -> str:
    """A subject token / consumer name for a function name or call id. Names faasbox makes
    are used as they are; anything else is hex behind `_`, which no faasbox name starts with."""
    return text if _SAFE.fullmatch(text) else "_" + text.encode().hex()


class JetStreamQueue:
    def __init__(self, url: str, settings: Settings) -> None:
        self._url = url
        self._cap = settings.async_queue_max
        self._window = settings.async_dedupe_window
        self._lease = settings.async_lease
        self._dead_max = settings.async_dead_max
        self._dead_age = settings.async_dead_age
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subs: dict[str, JetStreamContext.PullSubscription] = {}
        self._leased: dict[str, Msg] = {}  # call id -> message, this process only

    # lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        self._nc = await nats.connect(
            self._url,
            name="faasbox",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            error_cb=_log_error,
            disconnected_cb=_log_disconnected,
            reconnected_cb=_log_reconnected,
        )
        self._js = self._nc.jetstream(timeout=5)
        await self._ensure_stream(
            StreamConfig(
                name=CALLS,
                subjects=[f"{_CALL_SUBJECT}.>"],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                max_msgs=self._cap,
                discard=DiscardPolicy.NEW,
                duplicate_window=self._window,
            )
        )
        await self._ensure_stream(
            StreamConfig(
                name=DEAD,
                subjects=[f"{_DEAD_SUBJECT}.>"],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_msgs=self._dead_max,
                max_age=self._dead_age,
                discard=DiscardPolicy.OLD,
            )
        )

    async def _ensure_stream(self, config: StreamConfig) -> None:
        js = self._jetstream()
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()
            self._nc = None

    def _jetstream(self) -> JetStreamContext:
        assert self._js is not None, "queue not started"
        return self._js

    # the interface -------------------------------------------------------------
    async def put(self, call: Call, *, dedupe: bool) -> bool:
        blob = call.encode()
        assert self._nc is not None
        if len(blob) + _HEAD_ROOM > self._nc.max_payload:
            raise CallTooLarge(
                f"request too large for the NATS server (max_payload {self._nc.max_payload} bytes)"
            )
        headers = {"Nats-Msg-Id": call.call_id} if dedupe else None
        subject = f"{_CALL_SUBJECT}.{token(call.function)}.{token(call.call_id)}"
        try:
            ack = await self._jetstream().publish(subject, blob, stream=CALLS, headers=headers)
        except ServiceUnavailableError as exc:
            if exc.err_code == _MAXIMUM_EXCEEDED:
                raise QueueFull(str(exc)) from None
            raise
        return not ack.duplicate

    async def _subscription(self, function: str) -> JetStreamContext.PullSubscription:
        sub = self._subs.get(function)
        if sub is None:
            name = token(function)
            sub = await self._jetstream().pull_subscribe(
                f"{_CALL_SUBJECT}.{name}.*",
                durable=f"fb_{name}",
                stream=CALLS,
                config=ConsumerConfig(
                    description=function,
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=self._lease,
                    max_deliver=-1,
                    max_ack_pending=-1,
                ),
            )
            self._subs[function] = sub
        return sub

    async def claim(self, function: str, limit: int, wait: float) -> list[Lease]:
        sub = await self._subscription(function)
        try:
            msgs = await sub.fetch(limit, timeout=wait)
        except (NatsTimeout, TimeoutError):  # nats-py raises either, depending on when
            return []
        leases = []
        for msg in msgs:
            call = Call.decode(msg.data)
            self._leased[call.call_id] = msg
            leases.append(Lease(call, msg.metadata.num_delivered, msg))
        return leases

    async def renew(self, leases: list[Lease]) -> None:
        for lease in leases:
            msg: Msg = lease.handle
            await msg.in_progress()

    async def done(self, lease: Lease) -> None:
        msg: Msg = lease.handle
        try:
            await msg.ack_sync()
        finally:
            self._leased.pop(lease.call.call_id, None)

    async def retry(self, lease: Lease, delay: float, outcome: Outcome) -> None:
        msg: Msg = lease.handle
        try:
            await msg.nak(delay=delay)
        finally:
            self._leased.pop(lease.call.call_id, None)

    async def bury(self, lease: Lease, outcome: Outcome) -> None:
        call, msg = lease.call, lease.handle
        headers = {
            "Faasbox-Status": str(outcome.status),
            "Faasbox-Error": outcome.error[:500].replace("\r", " ").replace("\n", " "),
            "Faasbox-Deliveries": str(lease.delivery),
            "Faasbox-Dead-At": repr(time.time()),
        }
        subject = f"{_DEAD_SUBJECT}.{token(call.function)}.{token(call.call_id)}"
        try:
            await self._jetstream().publish(subject, msg.data, stream=DEAD, headers=headers)
            await msg.ack_sync()
        finally:
            self._leased.pop(call.call_id, None)

    async def cancel(self, call_id: str) -> Cancel:
        if call_id in self._leased:
            return Cancel.RUNNING
        js = self._jetstream()
        try:
            found = await js.get_last_msg(CALLS, f"{_CALL_SUBJECT}.*.{token(call_id)}")
        except NotFoundError:
            return Cancel.UNKNOWN
        await js.delete_msg(CALLS, found.seq or 0)
        return Cancel.CANCELLED

    async def overview(self, function: str, limit: int) -> Overview:
        view = Overview()
        name = token(function)
        js = self._jetstream()
        try:
            info = await js.consumer_info(CALLS, f"fb_{name}")
        except NotFoundError:
            pass
        else:
            view.inflight = info.num_ack_pending or 0
            view.queued = info.num_pending or 0
        for msg in await self._scan(CALLS, f"{_CALL_SUBJECT}.{name}.*", limit):
            call = Call.decode(msg.data or b"")
            state = "inflight" if call.call_id in self._leased else "queued"
            view.calls.append(Entry(call.call_id, state, call.accepted_at, 0))
        dead = await self._scan(DEAD, f"{_DEAD_SUBJECT}.{name}.*", limit)
        view.dead = await self._count(DEAD, f"{_DEAD_SUBJECT}.{name}.*")
        for msg in dead:
            call, h = Call.decode(msg.data or b""), msg.headers or {}
            view.calls.append(
                Entry(
                    call.call_id,
                    "dead",
                    call.accepted_at,
                    int(h.get("Faasbox-Deliveries", 0)),
                    int(h.get("Faasbox-Status", 0)),
                    h.get("Faasbox-Error", ""),
                    float(h.get("Faasbox-Dead-At", 0)),
                )
            )
        return view

    async def _scan(self, stream: str, subject: str, limit: int) -> list[Any]:
        """The first `limit` messages on `subject`, one lookup each."""
        js, seq = self._jetstream(), 0
        out: list[Any] = []
        while len(out) < limit:
            try:
                msg = await js.get_msg(stream, seq=seq + 1, subject=subject, next=True)
            except NotFoundError:
                break
            out.append(msg)
            seq = msg.seq or seq + 1
        return out

    async def _count(self, stream: str, subject: str) -> int:
        info = await self._jetstream().stream_info(stream, subjects_filter=subject)
        return sum((info.state.subjects or {}).values())

    async def replay(self, function: str, call_id: str) -> bool:
        js = self._jetstream()
        subject = f"{_DEAD_SUBJECT}.{token(function)}.{token(call_id)}"
        try:
            dead = await js.get_last_msg(DEAD, subject)
        except NotFoundError:
            return False
        work = f"{_CALL_SUBJECT}.{token(function)}.{token(call_id)}"
        try:
            # No Nats-Msg-Id: the first acceptance of this id is still in the dedupe window.
            await js.publish(work, dead.data or b"", stream=CALLS)
        except ServiceUnavailableError as exc:
            if exc.err_code == _MAXIMUM_EXCEEDED:
                raise QueueFull(str(exc)) from None
            raise
        await js.delete_msg(DEAD, dead.seq or 0)
        return True

    async def drop(self, function: str, call_id: str) -> bool:
        js = self._jetstream()
        subject = f"{_DEAD_SUBJECT}.{token(function)}.{token(call_id)}"
        try:
            dead = await js.get_last_msg(DEAD, subject)
        except NotFoundError:
            return False
        await js.delete_msg(DEAD, dead.seq or 0)
        return True

    async def functions(self) -> set[str]:
        infos = await self._jetstream().consumers_info(CALLS)
        return {
            info.config.description
            for info in infos
            if info.config.description and (info.num_pending or info.num_ack_pending)
        }

    async def depths(self) -> dict[str, tuple[int, int, int]]:
        js = self._jetstream()
        out: dict[str, tuple[int, int, int]] = {}
        for info in await js.consumers_info(CALLS):
            if info.config.description:
                out[info.config.description] = (info.num_pending or 0, info.num_ack_pending or 0, 0)
        dead = await js.stream_info(DEAD, subjects_filter=f"{_DEAD_SUBJECT}.>")
        per_token: dict[str, int] = {}
        for subject, n in (dead.state.subjects or {}).items():
            fn = subject.split(".")[2]
            per_token[fn] = per_token.get(fn, 0) + n
        for function, (queued, inflight, _) in list(out.items()):
            out[function] = (queued, inflight, per_token.get(token(function), 0))
        return out


async def _log_error(exc: Exception) -> None:
    log.warning("[queue] NATS: %s", exc)


async def _log_disconnected() -> None:
    log.warning("[queue] NATS connection lost; reconnecting")


async def _log_reconnected() -> None:
    log.info("[queue] NATS connection back")
