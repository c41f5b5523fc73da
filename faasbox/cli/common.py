"""Flags several verbs share, and turning them into a stack selection and a gateway."""

from __future__ import annotations

import argparse
from pathlib import Path

from faasbox.builder.naming import TAG_MODES
from faasbox.builder.stack import Function, Stack, find_stack, load_stack
from faasbox.cli.errors import CliError
from faasbox.cli.gateway_client import resolve_gateway


def add_gateway(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-g", "--gateway", help="gateway URL (default: stack, $OPENFAAS_URL, 127.0.0.1:8080)"
    )
    parser.add_argument("-n", "--namespace", default="", help="function namespace")


def add_stack(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, required: bool = False
) -> None:
    parser.add_argument(
        "-f", "--yaml", required=required, help="stack file (default stack.yaml, stack.yml)"
    )
    parser.add_argument("--filter", default="", help="only functions matching this glob")
    parser.add_argument("--regex", default="", help="only functions matching this regex")
    parser.add_argument(
        "--envsubst",
        type=parse_bool,
        default=True,
        metavar="BOOL",
        help="substitute ${VAR} in the stack file (default true)",
    )
    parser.add_argument(
        "--parallel", type=int, default=1, metavar="N", help="work on N functions at once"
    )
    parser.add_argument("--tag", choices=TAG_MODES, default="latest", help="image tag suffix")


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "t", "true", "yes"):
        return True
    if lowered in ("0", "f", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


def pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    """K=V flags into a map; a value without `=` is a mistake worth reporting."""
    result: dict[str, str] = {}
    for value in values or []:
        key, eq, rest = value.partition("=")
        if not eq or not key:
            raise CliError(f"{flag} {value!r}: expected KEY=VALUE")
        result[key] = rest
    return result


def selected(args: argparse.Namespace) -> tuple[Stack, list[Function]]:
    stack = load_stack(find_stack(args.yaml), envsubst=args.envsubst)
    return stack, stack.select(args.filter, args.regex)


def gateway_for(args: argparse.Namespace, stack: Stack | None = None) -> str:
    return resolve_gateway(args.gateway, stack.provider_gateway if stack else "")


def project_root() -> Path:
    """Handlers, ./template and ./build are relative to where the command runs (faas-cli)."""
    return Path.cwd()
