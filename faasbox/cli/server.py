"""`faasbox up`: bootstrap the engine, then serve the gateway, API and UI with uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import logging
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

import uvicorn

from faasbox.api.auth import PASSWORD_FILE, USER_FILE, Credentials, load_or_create
from faasbox.app import Faasbox
from faasbox.cli.privileges import drop_root
from faasbox.config import ConfigError, Settings, env_help, from_env
from faasbox.engine import secrets
from faasbox.engine.client import Engine
from faasbox.engine.swarm import (
    attach,
    ensure_network,
    ensure_swarm,
    mounted_container_id,
    own_container,
)
from faasbox.gateway.server import server_protocol

log = logging.getLogger("faasbox")


class _Server(uvicorn.Server):
    """uvicorn's server without its ten wake-ups a second: the loop that refreshes the
    Date header and watches for the exit flag ticks once a second (the header's own
    granularity), and a signal ends the wait at once. Idle, those wake-ups were most of
    faasbox's CPU."""

    _exit: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop, self._exit = asyncio.get_running_loop(), asyncio.Event()
        while not await self.on_tick(0):  # 0: refresh the headers at every tick
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._exit.wait()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and self._exit is not None:
            self._loop.call_soon_threadsafe(self._exit.set)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="gateway port (default 8080)")
    parser.add_argument(
        "--metrics-port",
        type=int,
        help="extra /metrics port for OpenFaaS configs (default 8082; 0: off)",
    )
    parser.add_argument(
        "--state-dir", type=Path, help="credentials and queues (default /var/lib/faasbox)"
    )
    parser.add_argument("--network", help="functions network (default func_functions)")
    parser.add_argument(
        "--queue", help="async queue: sqlite (in the state dir, default) or nats://host:4222"
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="serve /system and /ui without credentials (dev only)",
    )
    parser.epilog = "environment:\n" + env_help()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def settings_from(args: argparse.Namespace) -> Settings:
    settings = from_env().with_overrides(
        host=args.host,
        port=args.port,
        metrics_port=args.metrics_port,
        state_dir=args.state_dir,
        network=args.network,
        queue=args.queue,
    )
    if args.no_auth:
        settings = settings.with_overrides(auth=False)
    return settings


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be used: {exc}"
        raise ConfigError(f"port {port} on {host} {reason}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _credentials(settings: Settings) -> Credentials:
    """Load or create the admin credentials. A new password is printed once, and only to a
    terminal: under systemd or docker, stdout is a journal kept for good, so the log says
    where the password is kept instead. Runs after the engine answered, so a failed first
    start cannot swallow the only print of the password."""
    try:
        credentials = load_or_create(settings.state_dir)
    except OSError as exc:
        raise ConfigError(f"cannot keep credentials in {settings.state_dir}: {exc}") from None
    if credentials.created:
        where = (
            f"kept in {settings.state_dir / USER_FILE} and "
            f"{settings.state_dir / PASSWORD_FILE} (mode 0600); log in with\n"
            f"  cat {settings.state_dir / PASSWORD_FILE} | faasbox login -u {credentials.user} "
            f"--password-stdin -g http://127.0.0.1:{settings.port}"
        )
        if sys.stdout.isatty():
            print(
                f"faasbox: created admin credentials: user {credentials.user!r}, "
                f"password {credentials.password!r}\nfaasbox: {where}",
                flush=True,
            )
        else:
            log.warning("[faasbox] created admin credentials for %r, %s", credentials.user, where)
    return credentials


def _warn_if_open(settings: Settings) -> None:
    """--no-auth is for a dev box on loopback; anywhere else it hands the engine to anyone
    who can reach the port (deploy a function, mount a secret)."""
    if settings.auth:
        return
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    if not loopback:
        log.warning(
            "[faasbox] WARNING: authentication is OFF and faasbox listens on %s:%d: anyone "
            "who can reach this port can deploy functions and read their secrets. Use "
            "--host 127.0.0.1 for a dev box, or drop --no-auth.",
            settings.host,
            settings.port,
        )


async def serve(settings: Settings) -> None:
    started = time.perf_counter()
    # uvicorn drains on SIGTERM, then re-raises the signal to the handler found at start;
    # this one turns it into exit 0, which is what systemd and `docker stop` expect.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    sockets = [_bind(settings.host, settings.port)]
    if settings.metrics_port:
        sockets.append(_bind(settings.host, settings.metrics_port))
    engine = Engine(settings.docker_host)
    try:
        await ensure_swarm(engine)
        # In a container (the appliance image, a stack service) the network is an
        # overlay, which containers and services on any node can join; on the host a
        # bridge, whose task IPs the host reaches.
        container = await own_container(engine, mounted_container_id())
        network_id = await ensure_network(engine, settings.network, overlay=bool(container))
        if container:
            await attach(engine, network_id, container)
        await secrets.adopt(engine, settings.network, network_id)
        credentials = _credentials(settings)
        _warn_if_open(settings)
        app = Faasbox(settings, credentials, engine, network_id, started_at=started)
        config = uvicorn.Config(
            app,
            loop="none",
            # uvicorn's httptools protocol with the invoke path and head limits built in.
            http=server_protocol(settings, lambda: app.gateway),
            lifespan="on",
            access_log=False,
            log_level=settings.log_level,
            timeout_keep_alive=75,
            timeout_graceful_shutdown=int(settings.write_timeout) + 1,
            limit_concurrency=None,
            server_header=False,
            # faasbox is the edge: X-Forwarded-* from callers are passed to functions as
            # data, never trusted as our own client address (and the middleware costs
            # ~2% of each invocation).
            proxy_headers=False,
        )
        server = _Server(config)
        await server.serve(sockets=sockets)
        if not server.started:
            raise SystemExit(1)
    finally:
        await engine.close()


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    if settings.run_as is not None:
        try:
            done = drop_root(settings.run_as, settings.docker_host, settings.state_dir)
        except OSError as exc:
            raise ConfigError(f"cannot switch to uid {settings.run_as}: {exc}") from None
        if done:
            log.info("[faasbox] %s", done)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))
    return 0
