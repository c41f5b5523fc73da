"""`build`, `push` and the client `up`: stack functions to images, images to the gateway.

Every function is checked and its context assembled before the first build
starts, and every build finishes before the first deploy: a failure anywhere
leaves nothing half-deployed.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from faasbox.builder import archive
from faasbox.builder.naming import image_name
from faasbox.builder.stack import Function
from faasbox.cli import deploy, remote
from faasbox.cli.common import add_stack, project_root, selected
from faasbox.cli.console import Console
from faasbox.cli.plan import Job, plan
from faasbox.engine import build as engine_build
from faasbox.engine import multiarch
from faasbox.engine.client import Engine
from faasbox.engine.push import push


def add_build_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--build-arg", action="append", metavar="K=V", help="Docker build-arg")
    parser.add_argument("--build-option", action="append", default=[], help="template option")
    parser.add_argument("--build-label", action="append", metavar="K=V", help="image label")
    parser.add_argument("--copy-extra", action="append", default=[], help="extra path to copy")
    parser.add_argument("--no-cache", action="store_true", help="build without cache")
    parser.add_argument("--pull", action="store_true", help="pull newer base images")
    parser.add_argument("--shrinkwrap", action="store_true", help="only write build/<fn>/")
    parser.add_argument(
        "--platform", "--platforms", dest="platform", default="",
        help="e.g. linux/arm64, or a comma-separated list for a multi-arch image",
    )  # fmt: skip


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack(parser)
    add_build_flags(parser)


def add_push_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack(parser)


def add_up_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of faas-cli's `up`; giving any of them is what makes `up` the client."""
    group = parser.add_argument_group("faas-cli up (build, push, deploy a stack)")
    add_stack(group)
    add_build_flags(group)
    group.add_argument("-g", "--gateway", help="gateway URL")
    group.add_argument("-n", "--namespace", default="", help="function namespace")
    group.add_argument("--skip-push", action="store_true", help="do not push images")
    group.add_argument("--skip-deploy", action="store_true", help="do not deploy")
    group.add_argument(
        "--remote", action="store_true",
        help="send the source to the gateway, which builds on its own engine and deploys",
    )  # fmt: skip
    for flag, kwargs in (
        ("--fprocess", {"default": ""}),
        ("--env", {"action": "append"}),
        ("--label", {"action": "append"}),
        ("--annotation", {"action": "append"}),
        ("--secret", {"action": "append", "default": []}),
        ("--constraint", {"action": "append", "default": []}),
        ("--readonly", {"action": "store_true"}),
        ("--replace", {"action": "store_true"}),
    ):
        group.add_argument(flag, **kwargs)
    parser.set_defaults(update=True, image=None, name=None, network="")


async def build_all(jobs: list[Job], parallel: int, console: Console) -> None:
    limit = asyncio.Semaphore(max(1, parallel))
    engine = Engine(os.environ.get("DOCKER_HOST"))

    async def one(job: Job) -> None:
        async with limit:
            name = job.fn.name
            console.info(f"[{name}] building {job.request.tag} from {job.folder}")
            if "," in job.request.platform:
                await multiarch.build(job.folder, job.request, console.progress)
            else:
                with archive.tar_context(job.folder) as tar:
                    await engine_build.build(
                        engine, tar, job.request, lambda s: console.progress(f"[{name}] {s}")
                    )
            console.print(f"Image: {job.request.tag} built.")

    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(one(job))
    finally:
        await engine.close()


async def run_build(args: argparse.Namespace, console: Console) -> int:
    stack, functions = selected(args)
    jobs = plan(stack, functions, args)
    if args.shrinkwrap:
        for job in jobs:
            console.print(f"{job.fn.name}: build context in {job.folder}")
        return 0
    await build_all(jobs, args.parallel, console)
    return 0


async def push_all(functions: list[Function], args: argparse.Namespace, console: Console) -> None:
    engine = Engine(os.environ.get("DOCKER_HOST"))
    try:
        for fn in functions:
            tag = image_name(fn.image, args.tag, project_root())
            console.info(f"[{fn.name}] pushing {tag}")
            await push(engine, tag, console.progress)
            console.print(f"Image: {tag} pushed.")
    finally:
        await engine.close()


async def run_push(args: argparse.Namespace, console: Console) -> int:
    _, functions = selected(args)
    await push_all([f for f in functions if not f.skip_build], args, console)
    return 0


async def run_up(args: argparse.Namespace, console: Console) -> int:
    stack, functions = selected(args)
    url, bodies = deploy.plan(args)
    jobs = plan(stack, functions, args)
    if args.remote:
        await remote.build_all(url, jobs, console)
    else:
        await build_all(jobs, args.parallel, console)
        if not args.skip_push:
            await push_all([job.fn for job in jobs], args, console)
    if not args.skip_deploy:
        await deploy.deploy_all(url, bodies, args, console)
    return 0
