"""Every refused request says why, as JSON, and leaves the engine as it was."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import deploy, remove, wait_for
from tests.support.engine import docker, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api(faasbox: Server) -> Iterator[httpx.Client]:
    with faasbox.client() as client:
        yield client


def service_exists(name: str) -> bool:
    return name in docker("service", "ls", "--format", "{{.Name}}").split()


def refused(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["message"]
    assert words in message, message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'{"image": "x"}', "function name is required"),
        (b'{"service": "ok-name"}', "image is required"),
        (b'{"service": 5, "image": "x"}', "function name is required"),
        (b'{"service": "a", "image": "x", "envVars": ["A=1"]}', "envVars must be an object"),
        (b'{"service": "a", "image": "x", "labels": {"a": 1}}', "labels must be an object"),
        (b'{"service": "a", "image": "x", "secrets": "one"}', "secrets must be a list"),
        (b'{"service": "a", "image": "x", "readOnlyRootFilesystem": "yes"}', "true or false"),
        (b'{"service": "a", "image": "x", "namespace": "other"}', "namespace 'other'"),
    ],
)
def test_malformed_deployments(api: httpx.Client, body: bytes, words: str) -> None:
    refused(api.post("/system/functions", content=body, headers=JSON), 400, words)


@pytest.mark.parametrize(
    "name",
    ["has.dot", "a" * 64, "-lead", "trail-", "sp ace", "sl/ash", "ünï", ""],
)
def test_invalid_names(api: httpx.Client, name: str) -> None:
    response = deploy(api, name, "faasbox-test/probe:1")
    assert response.status_code == 400, response.text
    assert not name or not service_exists(name)


def test_func_c_is_a_valid_name(api: httpx.Client, probe: str) -> None:
    name = f"func_c_{unique('x').split('-')[1]}"
    try:
        assert deploy(api, name, probe).status_code == 202
        assert api.get(f"/system/function/{name}").status_code == 200
    finally:
        remove(api, name)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"limits": {"memory": "lots"}}, "memory 'lots'"),
        ({"limits": {"cpu": "fast"}}, "cpu 'fast'"),
        ({"requests": {"memory": "0"}}, "above zero"),
        ({"labels": {"com.openfaas.scale.min": "two"}}, "whole number"),
        ({"labels": {"com.openfaas.scale.max": "-1"}}, "negative"),
        ({"labels": {"com.openfaas.scale.min": "5", "com.openfaas.scale.max": "2"}}, "above"),
        ({"labels": {"com.openfaas.scale.factor": "150"}}, "between 0 and 100"),
        ({"labels": {"com.openfaas.scale.target": "0"}}, "com.openfaas.scale.target"),
        ({"labels": {"com.openfaas.scale.target": "+5"}}, "com.openfaas.scale.target"),
        ({"labels": {"com.faasbox.scale.pause": "yes"}}, "com.faasbox.scale.pause"),
        ({"labels": {"com.openfaas.scale.zero-duration": "soon"}}, "zero-duration"),
        ({"secrets": ["../etc/passwd"]}, "secret name"),
    ],
)
def test_bad_fields_leave_nothing(
    api: httpx.Client, probe: str, fields: dict[str, Any], words: str
) -> None:
    name = unique("bad")
    refused(deploy(api, name, probe, **fields), 400, words)
    assert not service_exists(name)


def test_another_network_is_refused(api: httpx.Client, probe: str) -> None:
    name = unique("net")
    refused(deploy(api, name, probe, network="somewhere_else"), 400, "network 'somewhere_else'")
    assert not service_exists(name)


def test_missing_image_is_refused_quickly(api: httpx.Client) -> None:
    name, image = unique("noimg"), f"faasbox-test/{unique('nothere')}:1"
    started = time.monotonic()
    response = deploy(api, name, image)
    refused(response, 400, image)
    assert time.monotonic() - started < 25
    assert not service_exists(name)


def test_missing_secret_is_refused(api: httpx.Client, probe: str) -> None:
    name, secret = unique("nosec"), unique("absent")
    refused(deploy(api, name, probe, secrets=[secret]), 400, f"secret not found: {secret}")
    assert not service_exists(name)


def test_duplicate_deploy_conflicts_and_keeps_the_first(api: httpx.Client, probe: str) -> None:
    name = unique("dup")
    try:
        assert deploy(api, name, probe, envVars={"V": "1"}).status_code == 202
        refused(deploy(api, name, probe, envVars={"V": "2"}), 409, "already exists")
        assert api.get(f"/system/function/{name}").json()["envVars"] == {"V": "1"}
    finally:
        remove(api, name)


def test_unknown_function_is_404_everywhere(api: httpx.Client, probe: str) -> None:
    name = unique("ghost")
    refused(api.get(f"/system/function/{name}"), 404, name)
    refused(api.put("/system/functions", json={"service": name, "image": probe}), 404, name)
    refused(api.request("DELETE", "/system/functions", json={"functionName": name}), 404, name)
    refused(api.post(f"/system/scale-function/{name}", json={"replicas": 1}), 404, name)
    refused(api.get("/system/logs", params={"name": name}), 404, name)
    assert not service_exists(name)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"replicas": -1}, "between 0"),
        ({"replicas": "3"}, "whole number"),
        ({"replicas": 1.5}, "whole number"),
        ({"replicas": True}, "whole number"),
        ({}, "whole number"),
    ],
)
def test_bad_scale_requests(
    api: httpx.Client, probe: str, body: dict[str, Any], words: str
) -> None:
    refused(api.post("/system/scale-function/whatever", json=body), 400, words)


def test_bad_delete_bodies(api: httpx.Client) -> None:
    bad = api.request("DELETE", "/system/functions", content=b"nope", headers=JSON)
    refused(bad, 400, "not valid JSON")
    refused(api.request("DELETE", "/system/functions", json={"functionName": ""}), 400, "required")


def test_bad_log_queries(api: httpx.Client, probe: str) -> None:
    name = unique("logq")
    try:
        assert deploy(api, name, probe).status_code == 202
        refused(api.get("/system/logs", params={"name": name, "tail": "x"}), 400, "tail")
        refused(api.get("/system/logs", params={"name": name, "since": "yesterday"}), 400, "since")
        refused(api.get("/system/logs", params={"name": name, "follow": "maybe"}), 400, "follow")
    finally:
        remove(api, name)


def test_scale_of_a_function_being_removed_is_clean(api: httpx.Client, probe: str) -> None:
    """A scale racing a delete answers 404 (or 202 if it won), never 500."""
    name = unique("race")
    assert deploy(api, name, probe).status_code == 202
    wait_for(api, name, available=1)
    remove(api, name)
    assert api.post(f"/system/scale-function/{name}", json={"replicas": 2}).status_code == 404
