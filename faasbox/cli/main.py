"""`faasbox` entry point: all error handling lives here, verbs are the happy path.

`up` has two meanings, kept apart by one rule (`up_serves`): with a stack file
(`-f`) or any other flag only faas-cli's `up` has it builds, pushes and deploys;
with server flags alone, or none, it runs the server.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from collections.abc import Callable, Sequence
from typing import Any

from faasbox import __version__
from faasbox.builder.errors import BuilderError
from faasbox.cli import build, deploy, functions, invoke, login, logs, secret, server, template
from faasbox.cli.console import Console
from faasbox.cli.errors import CliError
from faasbox.config import ConfigError
from faasbox.engine.errors import BuildFailed, EngineError
from faasbox.version import commit

Verb = Callable[[argparse.Namespace, Console], Any]


def _verb(
    verbs: Any, name: str, run: Verb, adder: Callable[[argparse.ArgumentParser], None],
    help_text: str, aliases: Sequence[str] = (),
) -> argparse.ArgumentParser:  # fmt: skip
    parser: argparse.ArgumentParser = verbs.add_parser(name, help=help_text, aliases=aliases)
    adder(parser)
    parser.set_defaults(run=run)
    return parser


def build_parser(client_up: bool = True) -> argparse.ArgumentParser:
    """Every verb; `client_up=False` leaves out the client flags of `up` (see `up_serves`)."""
    parser = argparse.ArgumentParser(
        prog="faasbox", description="OpenFaaS-compatible functions appliance and its CLI"
    )
    parser.add_argument("--version", action="version", version=f"faasbox {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show tracebacks on errors")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    up = verbs.add_parser("up", help="run the server; with -f: build, push and deploy a stack")
    server.add_arguments(up)
    if client_up:
        build.add_up_arguments(up)
    up.set_defaults(run=_up)
    _verb(verbs, "version", _version, lambda p: None, "print the version")
    _verb(verbs, "new", template.run_new, template.add_new_arguments, "create a function")
    _verb(verbs, "build", build.run_build, build.add_build_arguments, "build function images")
    _verb(verbs, "push", build.run_push, build.add_push_arguments, "push function images")
    _verb(verbs, "deploy", deploy.run, deploy.add_arguments, "deploy functions")
    _verb(verbs, "list", functions.run_list, functions.add_list_arguments, "list functions",
          aliases=["ls"])  # fmt: skip
    _verb(verbs, "describe", functions.run_describe, functions.add_describe_arguments,
          "show one function")  # fmt: skip
    _verb(verbs, "remove", functions.run_remove, functions.add_remove_arguments,
          "remove functions", aliases=["rm", "delete"])  # fmt: skip
    _verb(verbs, "invoke", invoke.run, invoke.add_arguments, "call a function (body on stdin)")
    _verb(verbs, "logs", logs.run, logs.add_arguments, "show a function's logs")
    _verb(verbs, "login", login.run_login, login.add_login_arguments, "save gateway credentials")
    _verb(verbs, "logout", login.run_logout, login.add_logout_arguments, "forget credentials")
    secrets = verbs.add_parser("secret", help="manage secrets")
    secret.add_arguments(secrets)
    templates = verbs.add_parser("template", help="pull templates, browse the template store")
    template.add_arguments(templates)
    return parser


def _version(args: argparse.Namespace, console: Console) -> int:
    console.print(f"faasbox {__version__} (commit {commit()})")
    return 0


def up_serves(argv: Sequence[str]) -> bool:
    """Whether `faasbox up ...` is the server: yes unless it is given something only the
    client understands (`-f`, `--remote`, `--skip-push`, `--build-arg`, ...), found as
    what a parser without the client flags leaves over. A stack.yaml in the folder does
    not count, so a bare `faasbox up` (the systemd unit, the image's CMD) always serves,
    and `up --remote` (default stack file) is the client, as documented in docs/cli.md."""
    _, client_only = build_parser(client_up=False).parse_known_args(argv)
    return not client_only


def _up(args: argparse.Namespace, console: Console) -> Any:
    return server.run(args) if args.serves else build.run_up(args, console)


def _first(exc: BaseException) -> BaseException:
    """TaskGroups wrap failures; the user needs the first real one."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb == "up":
        args.serves = up_serves(argv)
    console = console or Console()
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        try:
            result = args.run(args, console)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            return int(result or 0)
        except BaseExceptionGroup as group:
            raise _first(group) from None
    except KeyboardInterrupt:
        console.end_progress()
        return 130
    except BuildFailed as exc:
        console.end_progress()
        if exc.output:
            console.info(exc.output)
        console.info(f"faasbox: {exc}")
        return 1
    except (CliError, BuilderError, ConfigError, EngineError) as exc:
        console.end_progress()
        if args.traceback:
            raise
        console.info(f"faasbox: {exc}")
        return getattr(exc, "code", 1)


if __name__ == "__main__":
    sys.exit(main())
