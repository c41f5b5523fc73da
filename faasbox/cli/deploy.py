"""`deploy`: send functions to the gateway, from a stack file or from flags.

Everything is checked before the first request (stack, templates, flags), so a
mistake in the third function of a stack leaves nothing half-deployed.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from faasbox.builder import templates
from faasbox.builder.naming import image_name
from faasbox.builder.stack import Function, Stack, read_environment_files
from faasbox.cli.common import add_gateway, add_stack, gateway_for, pairs, parse_bool, project_root
from faasbox.cli.common import selected as select_functions
from faasbox.cli.console import Console
from faasbox.cli.errors import CliError, GatewayError
from faasbox.cli.gateway_client import Gateway, message_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack(parser)
    add_gateway(parser)
    add_overrides(parser)


def add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", help="deploy this image (with --name), no stack file")
    parser.add_argument("--name", help="function name (with --image)")
    parser.add_argument("--fprocess", default="", help="process the watchdog runs")
    parser.add_argument("-e", "--env", action="append", metavar="K=V", help="environment")
    parser.add_argument("-l", "--label", action="append", metavar="K=V", help="label")
    parser.add_argument("--annotation", action="append", metavar="K=V", help="annotation")
    parser.add_argument("--secret", action="append", default=[], help="secret to mount")
    parser.add_argument("--constraint", action="append", default=[], help="placement")
    parser.add_argument("--network", default="", help="network (Swarm-era OpenFaaS)")
    parser.add_argument("--readonly", action="store_true", help="read-only root filesystem")
    parser.add_argument(
        "--update", type=parse_bool, default=True, metavar="BOOL", help="update in place"
    )
    parser.add_argument("--replace", action="store_true", help="remove, then deploy")


def request_for(
    fn: Function, args: argparse.Namespace, stack: Stack | None = None, fprocess: str = ""
) -> dict[str, Any]:
    """The FunctionDeployment body with faas-cli's precedence: flags over files over YAML."""
    env = {**fn.environment, **read_environment_files(fn, project_root()), **pairs(args.env, "-e")}
    body: dict[str, Any] = {
        "service": fn.name,
        "image": image_name(fn.image, args.tag, project_root()),
        "envProcess": fn.fprocess or args.fprocess or fprocess,
        "envVars": env,
        "labels": {**fn.labels, **pairs(args.label, "--label")},
        "annotations": {**fn.annotations, **pairs(args.annotation, "--annotation")},
        "secrets": list(dict.fromkeys([*fn.secrets, *args.secret])),
        "constraints": fn.constraints if fn.constraints is not None else args.constraint,
        "readOnlyRootFilesystem": fn.readonly_root_filesystem or args.readonly,
    }
    for key in ("limits", "requests"):
        if getattr(fn, key):
            body[key] = getattr(fn, key)
    namespace = args.namespace or fn.namespace
    if namespace:
        body["namespace"] = namespace
    network = args.network or (stack.provider_network if stack else "")
    if network:
        body["network"] = network
    if fn.registry_auth:
        body["registryAuth"] = fn.registry_auth
    return body


def plan(args: argparse.Namespace) -> tuple[str, list[dict[str, Any]]]:
    """The gateway and every request body, or an error before anything is sent."""
    if args.image or args.name:
        if not (args.image and args.name):
            raise CliError("--image and --name go together")
        fn = Function(name=args.name, image=args.image)
        return gateway_for(args), [request_for(fn, args)]
    stack, functions = select_functions(args)
    bodies = []
    for fn in functions:
        if not fn.image:
            raise CliError(f"{fn.name}: no image in {stack.path}")
        fprocess = ""
        if fn.lang and fn.lang != "dockerfile" and not fn.fprocess:
            fprocess = templates.find(fn.lang, project_root()).fprocess
        bodies.append(request_for(fn, args, stack, fprocess))
    return gateway_for(args, stack), bodies


async def deploy_one(
    gateway: Gateway, body: dict[str, Any], args: argparse.Namespace, console: Console
) -> None:
    name = body["service"]
    console.info(f"Deploying: {name}.")
    if args.replace:
        await gateway.call(
            "DELETE",
            "/system/functions",
            body={"functionName": name, "namespace": body.get("namespace", "")},
        )
    status, payload = 404, b""
    if args.update and not args.replace:
        status, payload = await gateway.call("PUT", "/system/functions", body=body)
    if status == 404:
        status, payload = await gateway.call("POST", "/system/functions", body=body)
    if status not in (200, 201, 202):
        raise GatewayError(f"deploy {name}: {message_of(payload) or 'failed'} ({status})")
    console.info(f"Deployed. {status} Accepted.")
    console.print(f"URL: {gateway.url}/function/{name}")


async def deploy_all(
    url: str, bodies: list[dict[str, Any]], args: argparse.Namespace, console: Console
) -> None:
    limit = asyncio.Semaphore(max(1, args.parallel))

    async def bounded(body: dict[str, Any]) -> None:
        async with limit:
            await deploy_one(gateway, body, args, console)

    async with Gateway(url) as gateway, asyncio.TaskGroup() as group:
        for body in bodies:
            group.create_task(bounded(body))


async def run(args: argparse.Namespace, console: Console) -> int:
    url, bodies = plan(args)
    await deploy_all(url, bodies, args, console)
    return 0
