"""`secret create|update|list|remove`: Swarm secrets through /system/secrets."""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path
from typing import Any

import orjson

from faasbox.cli.common import add_gateway, gateway_for, parse_bool
from faasbox.cli.console import Console
from faasbox.cli.errors import CliError, GatewayError
from faasbox.cli.gateway_client import Gateway, message_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action in ("create", "update"):
        sub = actions.add_parser(action, help=f"{action} a secret (value from flag or stdin)")
        sub.add_argument("name")
        add_gateway(sub)
        sub.add_argument("--from-literal", default=None, help="the value")
        sub.add_argument("--from-file", type=Path, default=None, help="a file holding it")
        sub.add_argument("--trim", type=parse_bool, default=True, metavar="BOOL")
        sub.set_defaults(run=run_write)
    listing = actions.add_parser("list", aliases=["ls"], help="list secret names")
    add_gateway(listing)
    listing.add_argument("-q", "--quiet", action="store_true")
    listing.set_defaults(run=run_list)
    remove = actions.add_parser("remove", aliases=["rm"], help="remove a secret")
    remove.add_argument("name")
    add_gateway(remove)
    remove.set_defaults(run=run_remove)


def _body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"name": args.name}
    if args.namespace:
        body["namespace"] = args.namespace
    if args.from_file is not None:
        try:
            raw = args.from_file.read_bytes()
        except OSError as exc:
            raise CliError(f"--from-file {args.from_file}: {exc.strerror}") from None
        body["rawValue"] = base64.b64encode(raw).decode()
        return body
    value = args.from_literal if args.from_literal is not None else sys.stdin.read()
    body["value"] = value.strip() if args.trim else value
    if not body["value"]:
        raise CliError("the secret value is empty: use --from-literal, --from-file or stdin")
    return body


async def run_write(args: argparse.Namespace, console: Console) -> int:
    body = _body(args)
    method = "POST" if args.action == "create" else "PUT"
    async with Gateway(gateway_for(args)) as gateway:
        status, payload = await gateway.call(method, "/system/secrets", body=body)
    if status == 409:
        raise CliError(f"secret {args.name} already exists: use `faasbox secret update`")
    if status == 404:
        raise CliError(f"unable to find secret: {args.name}")
    if status not in (200, 201, 202):
        raise GatewayError(f"secret {args.action} {args.name}: {message_of(payload)} ({status})")
    console.print(f"{'Created' if method == 'POST' else 'Updated'}: {status} {args.name}")
    return 0


async def run_list(args: argparse.Namespace, console: Console) -> int:
    params = {"namespace": args.namespace} if args.namespace else {}
    async with Gateway(gateway_for(args)) as gateway:
        payload = await gateway.expect("GET", "/system/secrets", "secret list", params=params)
    names = sorted(str(s["name"]) for s in orjson.loads(payload))
    if args.quiet:
        for name in names:
            console.print(name)
    else:
        console.table(["NAME"], [[n] for n in names])
    return 0


async def run_remove(args: argparse.Namespace, console: Console) -> int:
    body = {"name": args.name, "namespace": args.namespace}
    async with Gateway(gateway_for(args)) as gateway:
        status, payload = await gateway.call("DELETE", "/system/secrets", body=body)
    if status == 404:
        raise CliError(f"unable to find secret: {args.name}")
    if status not in (200, 202):
        raise GatewayError(f"secret remove {args.name}: {message_of(payload)} ({status})")
    console.print(f"Removed: {args.name}")
    return 0
