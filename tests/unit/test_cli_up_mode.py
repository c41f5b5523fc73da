"""`faasbox up` is the server or faas-cli's `up` by one rule: any flag only the client has
makes it the client; anything else, a bare `up` included, serves."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from faasbox.cli.console import Console
from faasbox.cli.main import build_parser, main, up_serves

SERVER = [
    ["up"],  # packaging/systemd/faasbox.service, Dockerfile.multiarch, scripts/install.sh
    ["--traceback", "up"],
    # tests/support/server.py and test_swarm_bootstrap.py
    ["up", "--host", "127.0.0.1", "--port", "8081", "--metrics-port", "0",
     "--state-dir", "/tmp/s", "--network", "fb-n", "--queue", "nats://127.0.0.1:4222",
     "--no-auth"],
    ["up", "--port=8081"],
    ["up", "--net", "fb-n"],  # an abbreviation of a server flag
]  # fmt: skip
CLIENT = [
    ["up", "-f", "stack.yaml"],  # docs/cli.md
    ["up", "-f", "hello.yml", "--skip-push"],  # README
    ["up", "-f", "hello.yml", "--remote"],  # README
    ["up", "--remote"],  # docs/cli.md: the default stack file
    ["up", "--yaml=stack.yml"],
    ["up", "-fstack.yml"],
    ["up", "--skip-p"],  # an abbreviation of a client flag
    ["up", "--build-arg", "A=1"],
    ["up", "-g", "http://pi.local:8080", "--filter", "fn-*"],
    ["up", "--port", "8081", "-f", "stack.yaml"],
    ["up", "--namespace", ""],  # given, even with the default value
]


@pytest.mark.parametrize("argv", SERVER)
def test_server_flags_alone_serve(argv: list[str]) -> None:
    build_parser().parse_args(argv)  # a real invocation, not just something up_serves takes
    assert up_serves(argv)


@pytest.mark.parametrize("argv", CLIENT)
def test_any_client_flag_makes_it_the_client(argv: list[str]) -> None:
    build_parser().parse_args(argv)
    assert not up_serves(argv)


def test_the_client_is_what_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a folder without a stack file the client says so; the server would have started."""
    monkeypatch.chdir(tmp_path)
    err = io.StringIO()
    assert main(["up", "--skip-push"], Console(io.StringIO(), err)) == 1
    assert err.getvalue().startswith("faasbox: no stack file")
