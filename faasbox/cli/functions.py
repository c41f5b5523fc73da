"""`list`, `describe` and `remove`: reading and deleting deployed functions."""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from faasbox.builder.stack import find_stack, load_stack
from faasbox.cli.common import add_gateway, gateway_for
from faasbox.cli.console import Console
from faasbox.cli.errors import CliError, GatewayError
from faasbox.cli.gateway_client import Gateway, message_of


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    add_gateway(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="add image and created")
    parser.add_argument("-q", "--quiet", action="store_true", help="names only")
    parser.add_argument("--json", action="store_true", help="the gateway's JSON")
    parser.add_argument("--sort", choices=("name", "invocations"), default="name")


def add_describe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="function name")
    add_gateway(parser)
    parser.add_argument("--json", action="store_true", help="the gateway's JSON")


def add_remove_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="*", help="functions (default: all in the stack file)")
    parser.add_argument("-f", "--yaml", help="stack file whose functions to remove")
    add_gateway(parser)


def _params(namespace: str) -> dict[str, str]:
    return {"namespace": namespace} if namespace else {}


async def run_list(args: argparse.Namespace, console: Console) -> int:
    async with Gateway(gateway_for(args)) as gateway:
        payload = await gateway.expect(
            "GET", "/system/functions", "list", params=_params(args.namespace)
        )
    if args.json:
        console.print(payload.decode())
        return 0
    functions: list[dict[str, Any]] = orjson.loads(payload)
    if args.sort == "invocations":
        functions.sort(key=lambda f: -float(f.get("invocationCount") or 0))
    else:
        functions.sort(key=lambda f: str(f.get("name")))
    if args.quiet:
        for fn in functions:
            console.print(str(fn["name"]))
        return 0
    header = ["Function", "Invocations", "Replicas"]
    if args.verbose:
        header += ["Image", "CreatedAt"]
    rows = []
    for fn in functions:
        row = [
            str(fn["name"]),
            str(int(fn.get("invocationCount") or 0)),
            str(fn.get("replicas", 0)),
        ]
        if args.verbose:
            row += [str(fn.get("image", "")), str(fn.get("createdAt", ""))]
        rows.append(row)
    console.table(header, rows)
    return 0


async def run_describe(args: argparse.Namespace, console: Console) -> int:
    url = gateway_for(args)
    async with Gateway(url) as gateway:
        status, payload = await gateway.call(
            "GET", f"/system/function/{args.name}", params=_params(args.namespace)
        )
    if status == 404:
        raise CliError(f"no function named {args.name} on {url}")
    if status != 200:
        raise GatewayError(f"describe {args.name}: {message_of(payload)} ({status})")
    if args.json:
        console.print(payload.decode())
        return 0
    fn: dict[str, Any] = orjson.loads(payload)
    ready = "Ready" if int(fn.get("availableReplicas") or 0) > 0 else "Not Ready"
    rows = [
        ("Name", fn.get("name", "")),
        ("Status", ready),
        ("Replicas", fn.get("replicas", 0)),
        ("Available Replicas", fn.get("availableReplicas", 0)),
        ("Invocations", int(fn.get("invocationCount") or 0)),
        ("Image", fn.get("image", "")),
        ("Function Process", fn.get("envProcess", "")),
        ("URL", f"{url}/function/{args.name}"),
        ("Async URL", f"{url}/async-function/{args.name}"),
    ]
    for key in ("labels", "annotations"):
        for name, value in sorted((fn.get(key) or {}).items()):
            rows.append((key.capitalize()[:-1], f"{name}: {value}"))
    width = max(len(k) for k, _ in rows) + 1
    for key, value in rows:
        console.print(f"{key + ':':<{width}} {value}")
    return 0


async def run_remove(args: argparse.Namespace, console: Console) -> int:
    names = list(args.name)
    stack = None
    if not names:
        stack = load_stack(find_stack(args.yaml))
        names = list(stack.functions)
    url = gateway_for(args, stack)
    failed = 0
    async with Gateway(url) as gateway:
        for name in names:
            console.info(f"Deleting: {name}.")
            status, payload = await gateway.call(
                "DELETE",
                "/system/functions",
                body={"functionName": name, "namespace": args.namespace},
            )
            if status in (200, 201, 202):
                console.print(f"Removed: {name}")
            elif status == 404:
                console.info(f"No existing function to remove: {name}")
                failed += 1
            else:
                raise GatewayError(f"remove {name}: {message_of(payload)} ({status})")
    return 1 if failed else 0
