"""One function-name rule: a name the API accepts, a stack file and `faasbox new` accept
too, and a name one refuses they all refuse, with the same words."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from faasbox.builder.errors import StackError
from faasbox.builder.stack import load_stack, parse_stack
from faasbox.cli.console import Console
from faasbox.cli.main import main
from faasbox.deployment import InvalidRequest, check_image, parse_deployment

ACCEPTED = [
    "fn",
    "a",
    "0start",
    "my-fn-2",
    # faas-cli's `new` refuses these, but OpenFaaS on Swarm and `docker service create`
    # make such functions, and clients address them by these names.
    "func_c",
    "MyFn",
    "a__b",
    "a-_-b",
    "x" * 63,
]
REFUSED = [
    "-fn",
    "fn-",
    "_fn",
    "fn_",
    "my.fn",  # the dot selects a namespace
    "a/b",
    "..",
    "fn\n",
    "fn fn",
    "f\u00fcn",
    "x" * 64,
]


def _api(name: str) -> str | None:
    try:
        parse_deployment({"service": name, "image": "img"}, "openfaas-fn")
    except InvalidRequest as exc:
        return str(exc)
    return None


def _stack(name: str) -> str | None:
    text = yaml.safe_dump({"provider": {"name": "openfaas"}, "functions": {name: {"image": "i"}}})
    try:
        parse_stack(text, Path("stack.yaml"))
    except StackError as exc:
        return str(exc)
    return None


def _new(name: str) -> tuple[int, str]:
    err = io.StringIO()
    argv = ["new", "--lang", "dockerfile", "-q", "--", name]
    code = main(argv, Console(io.StringIO(), err))
    return code, err.getvalue()


@pytest.mark.parametrize("name", ACCEPTED)
def test_a_name_the_api_accepts_every_client_accepts(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _api(name) is None
    assert _stack(name) is None
    assert _new(name) == (0, f"Function created in folder: {name}\n"
                                       "Stack file written: stack.yaml\n")  # fmt: skip
    function = load_stack(tmp_path / "stack.yaml").functions[name]
    check_image(function.image)  # `new` writes an image the API takes, capitals or not
    assert function.image == f"{name.lower()}:latest"


@pytest.mark.parametrize("name", REFUSED)
def test_a_name_the_api_refuses_every_client_refuses_alike(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    words = _api(name)
    assert words is not None and words.startswith("function name ")
    assert _stack(name) == f"stack.yaml: functions.{name}: {words}"
    assert _new(name) == (1, f"faasbox: {words}\n")
    assert list(tmp_path.iterdir()) == []  # nothing written for a refused name
