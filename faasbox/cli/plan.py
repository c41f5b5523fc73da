"""Stack functions turned into build jobs: every check made and every context assembled.

`build`, `up` and `up --remote` all start from these jobs; only where they are built
differs (this machine's engine, or the gateway's), so planning lives apart from both.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from faasbox.builder import context as contexts
from faasbox.builder import templates
from faasbox.builder.errors import StackError
from faasbox.builder.naming import image_name
from faasbox.builder.stack import Function, Stack
from faasbox.cli.common import pairs, project_root
from faasbox.engine import build as engine_build
from faasbox.engine.build import BuildRequest


@dataclass(frozen=True)
class Job:
    """One function ready to build: its context folder and the engine request."""

    fn: Function
    folder: Path
    request: BuildRequest


def plan(stack: Stack, functions: list[Function], args: argparse.Namespace) -> list[Job]:
    """Check every function and assemble its context; nothing is built yet."""
    root = project_root()
    jobs = []
    flag_args = pairs(args.build_arg, "--build-arg")
    for fn in functions:
        if fn.skip_build:
            continue
        if fn.build_secrets:
            # They need a BuildKit session, which the engine's plain build API lacks;
            # building without them would fail later inside the Dockerfile, less clearly.
            raise StackError(f"{fn.name}: build_secrets are not supported by faasbox's builder")
        template = None if fn.lang == "dockerfile" else templates.find(fn.lang, root)
        build_args = {**engine_build.proxy_build_args(), **fn.build_args, **flag_args}
        if template is not None:
            packages = template.packages_for([*fn.build_options, *args.build_option])
            if packages:
                build_args["ADDITIONAL_PACKAGE"] = packages
        folder = contexts.assemble(fn, template, root, [*stack.copy, *args.copy_extra])
        request = BuildRequest(
            tag=image_name(fn.image, args.tag, root),
            build_args=build_args,
            labels=pairs(args.build_label, "--build-label"),
            platform=args.platform or fn.platforms,
            no_cache=args.no_cache,
            pull=args.pull,
        )
        jobs.append(Job(fn, folder, request))
    return jobs
