"""`faasbox` entry point: all error handling lives here, verbs are the happy path."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from faasbox import __version__
from faasbox.cli import server
from faasbox.config import ConfigError
from faasbox.engine.errors import EngineError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faasbox", description="OpenFaaS-compatible functions appliance"
    )
    parser.add_argument("--version", action="version", version=f"faasbox {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    up = verbs.add_parser("up", help="run the gateway, API and UI (or, with -f, build+deploy)")
    server.add_arguments(up)
    up.set_defaults(run=server.run)
    version = verbs.add_parser("version", help="print the version")
    version.set_defaults(run=lambda args: print(f"faasbox {__version__}") or 0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (ConfigError, EngineError) as exc:
        print(f"faasbox: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
