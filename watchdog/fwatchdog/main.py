"""Start-up: the configuration, the event loop and the server."""

from __future__ import annotations

import asyncio
import os
import sys

from fwatchdog.children import Reaper
from fwatchdog.config import ConfigError, forbid_privilege_gain, load_config
from fwatchdog.server import Server


def main(argv: list[str]) -> int:
    for fd in (0, 1, 2):  # children get 0-2 by dup2; make sure none of them is missing
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)
    # The stdlib loop, even where uvloop is installed: fork mode is bound by posix_spawn
    # (same CPU per request on both loops, measured), and uvloop refuses SIGCHLD handlers
    # and adds resident memory.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        config = load_config(os.environ)
        if config.no_new_privileges:
            forbid_privilege_gain()
        server = Server(config, loop, Reaper(loop))
        return loop.run_until_complete(server.run())
    except ConfigError as exc:
        print(f"fwatchdog: {exc}", file=sys.stderr)
        return 2
    finally:
        loop.close()
