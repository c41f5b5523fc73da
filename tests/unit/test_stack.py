"""Stack files parse to what faas-cli means by them; mistakes are errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasbox.builder.envsubst import substitute
from faasbox.builder.errors import StackError
from faasbox.builder.stack import parse_stack

# The examples of the OpenFaaS stack.yml reference (spec 4.1), as users write them.
FULL = """
version: 1.0
provider:
  name: openfaas
  gateway: http://127.0.0.1:8080
  network: func_functions
functions:
  url-ping:
    lang: python3
    handler: ./sample/url-ping
    image: alexellis/faas-url-ping:0.2
    fprocess: python3 index.py
    environment:
      write_debug: true
      read_timeout: 10s
    environment_file:
      - env.yml
    secrets: [api-key]
    labels:
      com.openfaas.scale.min: 2
    annotations:
      topic: cron-function
    limits: {memory: 40Mi, cpu: "100m"}
    requests: {memory: 20Mi}
    constraints: ["node.platform.os == linux"]
    build_args: {ADDITIONAL_PACKAGE: curl}
    build_options: [dev]
    readonly_root_filesystem: true
  nodeinfo:
    lang: Dockerfile
    handler: ./nodeinfo
    image: functions/nodeinfo
    skip_build: true
configuration:
  templates:
    - name: golang-http
      source: https://github.com/openfaas/golang-http-template
  copy: [./common]
"""


def test_full_example_means_the_same() -> None:
    stack = parse_stack(FULL, Path("stack.yml"))
    assert stack.provider_gateway == "http://127.0.0.1:8080"
    assert stack.provider_network == "func_functions"
    fn = stack.functions["url-ping"]
    assert fn.environment == {"write_debug": "true", "read_timeout": "10s"}
    assert fn.labels == {"com.openfaas.scale.min": "2"}
    assert fn.limits == {"memory": "40Mi", "cpu": "100m"}
    assert fn.constraints == ["node.platform.os == linux"]
    assert fn.readonly_root_filesystem and fn.secrets == ["api-key"]
    assert stack.functions["nodeinfo"].lang == "dockerfile"
    assert stack.templates[0].name == "golang-http"
    assert stack.copy == ["./common"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("functions:\n  f: {enviroment: {}}\n", "unknown key 'enviroment'"),
        ("provider: {name: faas}\nfunctions:\n  f: {}\n", "provider.name must be openfaas"),
        ("version: 2.0\nfunctions:\n  f: {}\n", "version must be 1.0"),
        ("functions:\n  f: {secrets: abc}\n", "expected a list"),
        ("functions: [1]\n", "expected a mapping"),
        ("provider: {name: openfaas}\n", "no functions"),
        ("functions: {f: {lang: [x}\n", "not valid YAML"),
    ],
)
def test_mistakes_are_named(text: str, message: str) -> None:
    with pytest.raises(StackError, match=message.replace("(", r"\(")):
        parse_stack(text, Path("stack.yml"))


def test_filter_and_regex() -> None:
    stack = parse_stack("functions:\n  a-one: {}\n  b-two: {}\n", Path("s.yml"))
    assert [f.name for f in stack.select("a-*")] == ["a-one"]
    assert [f.name for f in stack.select(regex="two$")] == ["b-two"]
    with pytest.raises(StackError):
        stack.select("a-*", "two")
    with pytest.raises(StackError, match="matches"):
        stack.select("zzz")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${TAG:-latest}", "latest"),
        ("${SET:-latest}", "v1"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET}", ""),
        ("$SET/x", "v1/x"),
        ("$${SET}", "${SET}"),
        ("${SET:+alt}", "alt"),
        ("${UNSET:+alt}", ""),
    ],
)
def test_envsubst(text: str, expected: str) -> None:
    assert substitute(text, {"SET": "v1", "EMPTY": ""}) == expected


def test_envsubst_required() -> None:
    with pytest.raises(StackError, match="need it"):
        substitute("${X:?need it}", {})
