"""`logs`: the function's log lines from /system/logs, followed by default as faas-cli does."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import orjson

from faasbox.cli.common import add_gateway, gateway_for, parse_bool
from faasbox.cli.console import Console
from faasbox.cli.errors import CliError
from faasbox.cli.gateway_client import Gateway
from faasbox.config import ConfigError, parse_duration


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="function name")
    add_gateway(parser)
    parser.add_argument(
        "--tail", "--follow", type=parse_bool, nargs="?", const=True, default=True,
        metavar="BOOL", help="keep following new lines (default true; --tail=false stops)",
    )  # fmt: skip
    parser.add_argument("--lines", type=int, default=-1, help="only the last N lines")
    parser.add_argument("--since", default="", help="only lines newer than e.g. 5m")
    parser.add_argument("-o", "--output", choices=("plain", "keyvalue", "json"), default="plain")
    parser.add_argument("--instance", action="store_true", help="prefix the instance id")


def since_time(text: str) -> str:
    try:
        seconds = parse_duration(text)
    except ConfigError:
        try:
            return datetime.fromisoformat(text).isoformat()
        except ValueError:
            raise CliError(f"--since {text!r}: use a duration (5m) or an RFC 3339 time") from None
    return datetime.fromtimestamp(time.time() - seconds, UTC).isoformat().replace("+00:00", "Z")


async def run(args: argparse.Namespace, console: Console) -> int:
    params = {"name": args.name, "follow": "true" if args.tail else "false"}
    if args.lines:
        params["tail"] = str(args.lines)
    if args.namespace:
        params["namespace"] = args.namespace
    if args.since:
        params["since"] = since_time(args.since)
    async with Gateway(gateway_for(args)) as gateway:
        async for line in gateway.lines("/system/logs", params):
            if args.output == "json":
                console.print(line.decode().rstrip())
                continue
            entry = orjson.loads(line)
            if args.output == "keyvalue":
                console.print(" ".join(f"{k}: {v}" for k, v in entry.items()))
            elif args.instance:
                console.print(f"{entry.get('instance', '')} {entry.get('text', '')}")
            else:
                console.print(f"{entry.get('timestamp', '')} {entry.get('text', '')}")
    return 0
