"""The ASGI app and the lifespan that starts and stops every component.

Invocations (`/function/`) never reach it: faasbox's server protocol
(`gateway/server.py`) hands them to the gateway straight from the parser, which is
the hot path. `/async-function/` goes to the async queue's entry without Starlette
routing or middleware. Everything else goes through Starlette, behind basic auth where
OpenFaaS puts it; the metrics port serves `/metrics` and `/healthz` only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from faasbox import __version__
from faasbox.api import (
    alert,
    async_calls,
    build,
    function,
    functions,
    info,
    logs,
    scale,
    secrets,
    store,
)
from faasbox.api.auth import BasicAuth, Credentials
from faasbox.api.csrf import CrossSiteGuard
from faasbox.api.errors import error, handle
from faasbox.config import Settings
from faasbox.engine.client import Engine
from faasbox.engine.errors import EngineError
from faasbox.functions.sync import FunctionsSync
from faasbox.functions.view import FunctionsView
from faasbox.gateway.proxy import Gateway
from faasbox.metrics import CONTENT_TYPE, Metrics
from faasbox.queue.accept import PREFIX as ASYNC_PREFIX
from faasbox.queue.accept import AsyncEntry
from faasbox.queue.callbacks import Callbacks
from faasbox.queue.dispatcher import Dispatcher
from faasbox.queue.store import Queue, open_queue
from faasbox.runtime import Runtime
from faasbox.scaling import Scaling
from faasbox.ui import STATIC_DIR

log = logging.getLogger("faasbox")

_GUARDED = ("/system", "/ui")


async def healthz(request: Request) -> Response:
    return Response("OK", media_type="text/plain")


async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)


async def root(request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=301)


async def not_found(request: Request, exc: Exception) -> Response:
    return error(404, f"no route for {request.url.path}")


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    return error(405, f"method {request.method} not allowed on {request.url.path}")


ROUTES = [
    Route("/", root),
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/system/functions", functions.list_functions, methods=["GET"]),
    Route("/system/functions", functions.deploy, methods=["POST"]),
    Route("/system/functions", functions.update, methods=["PUT"]),
    Route("/system/functions", functions.delete, methods=["DELETE"]),
    Route("/system/function/{name}", function.get_function, methods=["GET"]),
    Route("/system/scale-function/{name}", scale.scale, methods=["POST"]),
    Route("/system/alert", alert.alert, methods=["POST"]),
    Route("/system/secrets", secrets.list_secrets, methods=["GET"]),
    Route("/system/secrets", secrets.create, methods=["POST"]),
    Route("/system/secrets", secrets.update, methods=["PUT"]),
    Route("/system/secrets", secrets.delete, methods=["DELETE"]),
    Route("/system/logs", logs.get_logs, methods=["GET"]),
    Route("/system/info", info.info, methods=["GET"]),
    Route("/system/namespaces", info.namespaces, methods=["GET"]),
    Route("/system/build", build.build, methods=["POST"]),
    Route("/system/async/{name}", async_calls.overview, methods=["GET"]),
    Route("/system/async/{name}/{call_id}/replay", async_calls.replay, methods=["POST"]),
    Route("/system/async/{name}/{call_id}", async_calls.drop, methods=["DELETE"]),
    Route("/system/store", store.get_store, methods=["GET"]),
    Mount("/ui", StaticFiles(directory=STATIC_DIR, html=True), name="ui"),
]


class Faasbox:
    """The whole server as one ASGI callable."""

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        engine: Engine,
        network_id: str,
        *,
        started_at: float,
    ) -> None:
        self.settings = settings
        self.started_at = started_at
        self.engine = engine
        self.network_id = network_id
        self.credentials = credentials
        self.gateway: Gateway | None = None
        self.async_entry: ASGIApp | None = None
        self.async_cancel: ASGIApp | None = None
        self.api = Starlette(
            routes=ROUTES,
            lifespan=self._lifespan,
            exception_handlers={
                404: not_found,
                405: method_not_allowed,
                EngineError: handle,
                ValueError: handle,
            },
        )
        # The cross-site check sits inside auth (a stranger gets 401 first) and applies with
        # --no-auth too, where any web page could otherwise drive the API.
        checked = CrossSiteGuard(self.api)
        self.guarded: ASGIApp = (
            BasicAuth(checked, credentials, _GUARDED) if settings.auth else checked
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["path"].startswith(ASYNC_PREFIX) and self.async_entry is not None:
                # Cancelling is an admin action: a caller-chosen call id may be guessable.
                if self.async_cancel is not None and AsyncEntry.is_cancel(scope):
                    await self.async_cancel(scope, receive, send)
                else:
                    await self.async_entry(scope, receive, send)
                return
            server = scope.get("server")
            if (
                server
                and server[1] == self.settings.metrics_port
                and scope["path"] not in ("/metrics", "/healthz")
            ):
                await error(404, "the metrics port serves /metrics and /healthz")(
                    scope, receive, send
                )
                return
        await self.guarded(scope, receive, send)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        settings, engine = self.settings, self.engine
        view = FunctionsView()
        functions_sync = FunctionsSync(engine, self.network_id, settings.namespace, view)
        await functions_sync.start()
        metrics_ = Metrics()
        metrics_.replicas = lambda: {f.name: f.replicas for f in view.all()}
        runtime = Runtime(settings, engine, self.network_id, view, functions_sync, metrics_)
        app.state.runtime = runtime
        app.state.scaling = scaling = Scaling(runtime)
        self.gateway = Gateway(runtime, scaling.waker if settings.scale_from_zero else None)
        await self.gateway.start()
        await scaling.start()
        queue, dispatcher, callbacks = await self._start_queue(runtime)
        app.state.queue, app.state.dispatcher = queue, dispatcher
        log.info(
            "[faasbox] %s ready on %s:%d in %.0f ms, %d function(s) on network %s",
            __version__,
            settings.host,
            settings.port,
            (time.perf_counter() - self.started_at) * 1000,
            len(view.all()),
            settings.network,
        )
        try:
            yield
        finally:
            self.async_entry = self.async_cancel = None
            await dispatcher.stop()
            await callbacks.close()
            await queue.close()
            await scaling.stop()
            await self.gateway.stop()
            self.gateway = None
            await functions_sync.stop()

    async def _start_queue(self, runtime: Runtime) -> tuple[Queue, Dispatcher, Callbacks]:
        """The async queue, its workers and the entry that fills it. Workers deliver through
        this process's own listener, which is bound before the lifespan runs."""
        settings = runtime.settings
        queue = open_queue(settings)
        await queue.start()
        callbacks = Callbacks(
            runtime.metrics,
            attempts=settings.async_callback_attempts,
            timeout=settings.async_callback_timeout,
        )
        callbacks.start()
        limits = [t for t in (settings.upstream_timeout, settings.write_timeout) if t > 0]
        dispatcher = Dispatcher(
            queue,
            runtime.functions,
            runtime.metrics,
            callbacks,
            invoke_url=f"http://{_loopback(settings.host)}:{settings.port}",
            concurrency=settings.async_concurrency,
            lease=settings.async_lease,
            timeout=min(limits) + 5 if limits else None,
        )
        await dispatcher.start()
        entry = AsyncEntry(
            queue,
            dispatcher,
            runtime.functions,
            runtime.metrics,
            namespace=settings.namespace,
            max_body=settings.async_max_body,
            read_timeout=settings.read_timeout,
        )
        self.async_entry = entry
        if settings.auth:
            self.async_cancel = BasicAuth(entry, self.credentials, (ASYNC_PREFIX,))
        return queue, dispatcher, callbacks


def _loopback(host: str) -> str:
    """Where this process's own listener answers (a wildcard bind answers on loopback)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
