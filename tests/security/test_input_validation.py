"""Input that used to reach the engine unchecked: each is a 400 with {"message"} and
leaves no service behind (before: 500s, a 1,001-replica service, NUL in env)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api import deploy
from tests.support.engine import docker, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine


def refused(response: httpx.Response, words: str) -> None:
    assert response.status_code == 400, response.text
    assert words in response.json()["message"], response.text


def no_service(name: str) -> None:
    assert name not in docker("service", "ls", "--format", "{{.Name}}").split()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"labels": {"com.openfaas.scale.min": "1001", "com.openfaas.scale.max": "1001"}}, "1000"),
        ({"labels": {"com.openfaas.scale.min": str(2**64)}}, "between 0 and 1000"),
        ({"labels": {"com.openfaas.scale.max": "1" * 5000}}, "between 0 and 1000"),
        ({"labels": {"com.openfaas.scale.min": "+5"}}, "whole number"),
        ({"labels": {"com.openfaas.scale.min": "1_0"}}, "whole number"),
        ({"labels": {"com.openfaas.scale.min": "\u0663"}}, "whole number"),
        ({"limits": {"memory": "1" + "0" * 30 + "P"}}, "too large"),
        ({"limits": {"memory": "9" * 400}}, "too large"),
        ({"requests": {"cpu": "1" + "0" * 30}}, "too large"),
        ({"image": "with spaces:latest"}, "not a valid image name"),
        ({"image": "UPPER/case"}, "not a valid image name"),
        ({"image": "x\n"}, ""),
        ({"secrets": ["token\n"]}, "secret name"),
        ({"envVars": {"A\u0000B": "1"}}, "NUL"),
        ({"envVars": {"A": "1\u00002"}}, "NUL"),
        ({"envVars": {"A=B": "1"}}, "invalid"),
        ({"envVars": {"": "1"}}, "invalid"),
        ({"envVars": {"fprocess": "env #"}}, "envProcess"),
        ({"envProcess": "cat\u0000/etc/shadow"}, "NUL"),
        ({"labels": {"k": "v\u0000"}}, "NUL"),
        ({"annotations": {"com.faasbox.security.pids-limit": "lots"}}, "pids-limit"),
        ({"annotations": {"com.faasbox.security.capabilities": "ALL; rm"}}, "capabilities"),
        ({"annotations": {"com.faasbox.security.no-new-privileges": "no"}}, "true or false"),
    ],
)
def test_unchecked_inputs_are_400(box: Server, fields: dict[str, Any], words: str) -> None:
    name = unique("fb14-in")
    body = {"service": name, "image": "faasbox-test/probe:2", **fields}
    with box.client() as api:
        refused(api.post("/system/functions", json=body), words)
    no_service(name)


@pytest.mark.parametrize("name", ["ok\n", "ok\r\n", "ok\u0000", "a/b", "a..b"])
def test_names_with_a_trailing_newline_or_worse(box: Server, name: str) -> None:
    with box.client() as api:
        refused(deploy(api, name, "faasbox-test/probe:2"), "")
        refused(api.post("/system/secrets", json={"name": name, "value": "v"}), "secret name")


def test_scale_api_and_labels_share_one_cap(box: Server) -> None:
    with box.client() as api:
        refused(api.post("/system/scale-function/x", json={"replicas": 1001}), "1000")
        refused(api.post("/system/scale-function/x", json={"replicas": 2**64}), "")


def test_a_huge_tail_is_400_not_an_aborted_stream(box: Server, probe: str) -> None:
    name = unique("fb14-tail")
    with box.client() as api:
        assert deploy(api, name, probe).status_code == 202
        try:
            refused(api.get("/system/logs", params={"name": name, "tail": str(10**20)}), "tail")
        finally:
            api.request("DELETE", "/system/functions", json={"functionName": name})
