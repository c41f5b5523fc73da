"""Start-up: the configuration, then one Server, or a Supervisor of several workers."""

from __future__ import annotations

import asyncio
import os
import sys

from fwatchdog.children import Reaper
from fwatchdog.config import Config, ConfigError, forbid_privilege_gain, load_config
from fwatchdog.limit import Limit
from fwatchdog.server import Server
from fwatchdog.workers import Supervisor


def main(argv: list[str]) -> int:
    for fd in (0, 1, 2):  # children get 0-2 by dup2; make sure none of them is missing
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)
    try:
        config = load_config(os.environ)
        if config.no_new_privileges:
            forbid_privilege_gain()
        if config.workers > 1:
            return Supervisor(config).run()
        return serve_alone(config)
    except ConfigError as exc:
        print(f"fwatchdog: {exc}", file=sys.stderr)
        return 2


def serve_alone(config: Config) -> int:
    # The stdlib loop, even where uvloop is installed: fork mode is bound by posix_spawn
    # (same CPU per request on both loops, measured), and uvloop refuses SIGCHLD handlers
    # and adds resident memory.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        server = Server(config, loop, Reaper(loop), Limit(config.max_inflight))
        return loop.run_until_complete(server.run())
    finally:
        loop.close()
