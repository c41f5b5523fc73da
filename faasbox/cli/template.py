"""`new`, `template pull` and `template store`: getting templates and starting functions."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from faasbox.builder import templates
from faasbox.builder.stack import find_stack, load_stack
from faasbox.cli.common import project_root
from faasbox.cli.console import Console
from faasbox.cli.errors import CliError
from faasbox.cli.gateway_client import resolve_gateway
from faasbox.deployment import InvalidRequest, check_name

STORE_URL = "https://raw.githubusercontent.com/openfaas/store/master/templates.json"


def add_new_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="function name")
    parser.add_argument("--lang", default="", help="template language")
    parser.add_argument("-p", "--prefix", default="", help="image prefix (registry/user)")
    parser.add_argument("-a", "--append", default="", help="add to this stack file")
    parser.add_argument("-g", "--gateway", help="gateway written into the stack file")
    parser.add_argument("--list", action="store_true", help="list available languages")
    parser.add_argument("-q", "--quiet", action="store_true", help="no welcome message")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    pull = actions.add_parser("pull", help="pull templates from git, a folder or an archive")
    pull.add_argument(
        "repository", nargs="?", default="",
        help="git URL[#ref], folder, .zip/.tar.gz path or URL, or `stack` (default: OpenFaaS)",
    )  # fmt: skip
    pull.add_argument("--overwrite", type=lambda v: v.lower() != "false", default=True)
    pull.add_argument("-f", "--yaml", default=None, help="stack file for `template pull stack`")
    pull.set_defaults(run=run_pull)
    store = actions.add_parser("store", help="the OpenFaaS template store")
    store_actions = store.add_subparsers(dest="store_action", metavar="ACTION", required=True)
    listing = store_actions.add_parser("list", aliases=["ls"], help="list store templates")
    listing.add_argument("-u", "--url", default="", help="store JSON URL")
    listing.set_defaults(run=run_store_list)
    fetch = store_actions.add_parser("pull", help="pull one store template by name")
    fetch.add_argument("template")
    fetch.add_argument("-u", "--url", default="", help="store JSON URL")
    fetch.set_defaults(run=run_store_pull)


def run_new(args: argparse.Namespace, console: Console) -> int:
    root = project_root()
    if args.list:
        console.print("Languages available as templates:")
        for lang in templates.available(root):
            console.print(f"- {lang}")
        return 0
    if not args.name or not args.lang:
        raise CliError("give a function name and --lang (see `faasbox new --list`)")
    try:
        check_name(args.name)
    except InvalidRequest as exc:
        raise CliError(str(exc)) from None
    template = templates.find("dockerfile" if args.lang == "Dockerfile" else args.lang, root)
    handler = root / args.name
    if handler.exists():
        raise CliError(f"folder {args.name}/ already exists")
    stack_path = Path(args.append) if args.append else root / "stack.yaml"
    if args.append:
        if not stack_path.exists():
            raise CliError(f"--append: {stack_path} does not exist")
        existing = load_stack(stack_path, envsubst=False)
        if args.name in existing.functions:
            raise CliError(f"{args.name} is already in {stack_path}")
        document = yaml.safe_load(stack_path.read_text())
    elif stack_path.exists():
        raise CliError(f"{stack_path.name} exists: add to it with --append {stack_path.name}")
    else:
        gateway = resolve_gateway(args.gateway)
        document = {"version": 1.0, "provider": {"name": "openfaas", "gateway": gateway}}
    source = template.path / template.handler_folder
    if source.is_dir():
        shutil.copytree(source, handler, symlinks=True)
    else:
        handler.mkdir()
    prefix = args.prefix.rstrip("/") + "/" if args.prefix else ""
    function: dict[str, Any] = {
        "lang": template.path.name,
        "handler": f"./{args.name}",
        # An image repository is lower-case only; the function name need not be.
        "image": f"{prefix}{args.name.lower()}:latest",
    }
    document.setdefault("functions", {})[args.name] = function
    stack_path.write_text(yaml.safe_dump(document, sort_keys=False))
    console.info(f"Function created in folder: {args.name}")
    console.info(f"Stack file written: {stack_path.name}")
    if template.welcome_message and not args.quiet:
        console.info(f"\nNotes:\n{template.welcome_message}")
    return 0


def run_pull(args: argparse.Namespace, console: Console) -> int:
    root = project_root()
    sources = [args.repository]
    if args.repository == "stack":
        stack = load_stack(find_stack(args.yaml))
        sources = [t.source for t in stack.templates if t.source]
    elif not args.repository:
        sources = [os.environ.get("OPENFAAS_TEMPLATE_URL") or templates.DEFAULT_REPOSITORY]
    for source in sources:
        console.info(f"Fetching templates from {source}")
        written = templates.pull(source, root / templates.PROJECT_TEMPLATES, args.overwrite)
        console.print(f"Wrote {len(written)} template(s): {', '.join(written)}")
    return 0


def _store(url: str) -> list[dict[str, Any]]:
    url = url or os.environ.get("OPENFAAS_TEMPLATE_STORE_URL") or STORE_URL
    try:
        if url.startswith(("http://", "https://", "file://")):
            with urllib.request.urlopen(url, timeout=30) as response:
                data = json.load(response)
        else:
            data = json.loads(Path(url).read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the template store {url}: {exc}") from None
    if not isinstance(data, list):
        raise CliError(f"{url} is not a template store (expected a JSON list)")
    return [entry for entry in data if isinstance(entry, dict)]


def run_store_list(args: argparse.Namespace, console: Console) -> int:
    rows = [
        [str(e.get("template", "")), str(e.get("source", "")), str(e.get("description", ""))]
        for e in _store(args.url)
    ]
    console.table(["NAME", "SOURCE", "DESCRIPTION"], rows)
    return 0


def run_store_pull(args: argparse.Namespace, console: Console) -> int:
    for entry in _store(args.url):
        if entry.get("template") == args.template:
            repo = str(entry.get("repo", ""))
            console.info(f"Fetching {args.template} from {repo}")
            written = templates.pull(repo, project_root() / templates.PROJECT_TEMPLATES)
            console.print(f"Wrote {len(written)} template(s): {', '.join(written)}")
            return 0
    raise CliError(f"no template named {args.template} in the store")
