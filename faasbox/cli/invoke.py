"""`invoke`: call a function with stdin as the body and write its answer to stdout.

Invocations never carry the system credentials, as with faas-cli: `/function/`
is open, and a function must not see the admin password.
"""

from __future__ import annotations

import argparse
import sys

from faasbox.cli.common import add_gateway, gateway_for, pairs
from faasbox.cli.console import Console
from faasbox.cli.errors import CliError
from faasbox.cli.gateway_client import Gateway

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="function name")
    add_gateway(parser)
    parser.add_argument("--content-type", default="text/plain", help="request Content-Type")
    parser.add_argument("-H", "--header", action="append", metavar="K=V", help="request header")
    parser.add_argument("--query", action="append", metavar="K=V", help="query parameter")
    parser.add_argument("-m", "--method", default="POST", type=str.upper, choices=METHODS)
    parser.add_argument("-a", "--async", dest="is_async", action="store_true", help="queue it")
    parser.add_argument("--callback-url", default="", help="POST the async result here")


async def run(args: argparse.Namespace, console: Console) -> int:
    body = b"" if sys.stdin.isatty() else sys.stdin.buffer.read()
    headers = {"Content-Type": args.content_type, **pairs(args.header, "--header")}
    if args.callback_url:
        headers["X-Callback-Url"] = args.callback_url
    name = f"{args.name}.{args.namespace}" if args.namespace else args.name
    path = f"/{'async-function' if args.is_async else 'function'}/{name}"
    async with Gateway(gateway_for(args)) as gateway:
        status, payload = await gateway.call(
            "POST" if args.is_async else args.method,
            path,
            data=body,
            params=pairs(args.query, "--query"),
            headers=headers,
            system=False,
        )
    if args.is_async and status == 202:
        console.info("Function submitted asynchronously.")
        return 0
    console.out.flush()
    sys.stdout.buffer.write(payload)
    sys.stdout.buffer.flush()
    if status >= 400:
        raise CliError(f"{args.name} answered {status}")
    return 0
