"""`login` and `logout`: check credentials against the gateway, keep them as faas-cli does."""

from __future__ import annotations

import argparse
import sys

from faasbox.cli import openfaas_config
from faasbox.cli.common import gateway_for
from faasbox.cli.console import Console
from faasbox.cli.errors import CliError, Unauthorized
from faasbox.cli.gateway_client import Gateway


def add_login_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-g", "--gateway", help="gateway URL")
    parser.add_argument("-u", "--username", default="admin")
    parser.add_argument("-p", "--password", default="", help="unsafe: use --password-stdin")
    parser.add_argument("-s", "--password-stdin", action="store_true")


def add_logout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-g", "--gateway", help="gateway URL")


async def run_login(args: argparse.Namespace, console: Console) -> int:
    password = args.password
    if args.password_stdin:
        password = sys.stdin.read().strip()
    elif password:
        console.info("WARNING! Using --password is insecure, consider using --password-stdin")
    if not password:
        raise CliError("no password: give it on stdin with --password-stdin")
    url = gateway_for(args)
    console.info("Calling the gateway to validate the credentials...")
    try:
        async with Gateway(url, auth=(args.username, password), timeout=5) as gateway:
            await gateway.expect("GET", "/system/functions", "login")
    except Unauthorized:
        raise CliError("unable to login, either username or password is incorrect") from None
    path = openfaas_config.save(url, args.username, password)
    console.info(f"credentials saved for {args.username} {url} in {path}")
    return 0


async def run_logout(args: argparse.Namespace, console: Console) -> int:
    url = gateway_for(args)
    if not openfaas_config.forget(url):
        raise CliError(f"not logged in to {url}")
    console.info(f"credentials removed for {url}")
    return 0
