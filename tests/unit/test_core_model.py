"""Pure parts of the core: settings parsing, deployment checks, spec round trip, logs, auth."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from faasbox.api.auth import Credentials, load_or_create
from faasbox.config import ConfigError, from_env, parse_duration
from faasbox.deployment import (
    InvalidRequest,
    memory_bytes,
    nano_cpus,
    parse_deployment,
    split_name,
)
from faasbox.engine.images import registry_of, split_reference
from faasbox.engine.logs import parse_line
from faasbox.engine.spec import secret_ref, service_spec, status_fields
from faasbox.sizes import parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("8", 8.0), ("1.5", 1.5), ("60s", 60.0), ("5m5s", 305.0), ("1h", 3600.0), ("250ms", 0.25)],
)
def test_durations_as_openfaas_reads_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "1m fast", "-3s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text)


# Everything either grammar took before they became one (faasbox.sizes).
SIZES = [
    ("1024", 1024),
    ("64k", 64 * 1024),
    ("20MB", 20 * 1024**2),
    ("1Gi", 1024**3),
    (" 8 m ", 8 * 1024**2),
    ("128M", 128 * 1024**2),
    ("128m", 128 * 1024**2),
    ("128Mi", 128 * 1024**2),
    ("128MiB", 128 * 1024**2),
    ("5Mi", 5 * 1024**2),
    ("512m", 512 * 1024**2),
    ("1G", 1024**3),
    ("1g", 1024**3),
    ("1.5g", 3 * 1024**3 // 2),
    ("2t", 2 * 1024**4),
    ("1P", 1024**5),
    ("512", 512),
]


@pytest.mark.parametrize(("text", "expected"), SIZES)
def test_settings_and_memory_limits_read_sizes_alike(text: str, expected: int) -> None:
    assert parse_size(text) == expected
    assert memory_bytes(text) == expected
    assert from_env({"FAASBOX_MAX_BODY_SIZE": text}).max_body_size == expected


@pytest.mark.parametrize("text", ["big", "k", "1x", "-5m", "1 0m", "\u0661\u0662k", "9" * 400])
def test_sizes_refused_alike(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a size|too large"):
        parse_size(text)
    with pytest.raises(InvalidRequest, match=r"^memory "):
        memory_bytes(text)
    with pytest.raises(ConfigError, match="FAASBOX_ASYNC_MAX_BODY"):
        from_env({"FAASBOX_ASYNC_MAX_BODY": text})


def test_env_prefers_faasbox_names_and_accepts_openfaas_ones() -> None:
    settings = from_env(
        {"upstream_timeout": "5m", "FAASBOX_READ_TIMEOUT": "10", "read_timeout": "99"}
    )
    assert settings.upstream_timeout == 300.0
    assert settings.read_timeout == 10.0
    assert from_env({"basic_auth": "false"}).auth is False
    with pytest.raises(ConfigError, match="FAASBOX_PORT"):
        from_env({"FAASBOX_PORT": "eighty"})


@pytest.mark.parametrize(
    ("text", "nanos"), [("0.5", 500_000_000), ("500m", 500_000_000), ("2", 2_000_000_000)]
)
def test_cpu_units(text: str, nanos: int) -> None:
    assert nano_cpus(text) == nanos


def full_request() -> dict[str, Any]:
    return {
        "service": "func_c",
        "image": "registry.local:5000/team/fn:1.2",
        "envProcess": "env",
        "envVars": {"A": "1", "B": "x=y"},
        "labels": {"team": "t", "com.openfaas.scale.max": "4"},
        "annotations": {"note": "n"},
        "constraints": ["node.platform.os == linux"],
        "secrets": ["api-key"],
        "limits": {"memory": "128M", "cpu": "0.5"},
        "requests": {"memory": "64Mi"},
        "readOnlyRootFilesystem": True,
        "registryAuth": base64.b64encode(b"user:pw").decode(),
        "network": "func_functions",
        "unknownField": [1, 2],
    }


def test_deployment_round_trips_through_the_service_spec() -> None:
    deployment = parse_deployment(full_request(), "openfaas-fn")
    refs = [secret_ref("sid", "api-key-1234", "api-key")]
    spec = service_spec(deployment, network_id="net", secret_refs=refs, replicas=1)
    service = {"ID": "x", "Spec": spec, "CreatedAt": "2026-11-26T01:00:00.1Z"}
    status = status_fields(service, "openfaas-fn")
    request = full_request()
    assert status["labels"] == {**request["labels"], "faas_function": "func_c"}
    for key in (
        "image",
        "envProcess",
        "envVars",
        "annotations",
        "constraints",
        "secrets",
        "limits",
        "requests",
        "readOnlyRootFilesystem",
    ):
        assert status[key] == request[key], key
    assert status["name"] == "func_c" and status["namespace"] == "openfaas-fn"
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["Mounts"] == [{"Type": "tmpfs", "Target": "/tmp"}]
    assert container["Secrets"][0]["File"]["Name"] == "/var/openfaas/secrets/api-key"
    assert spec["TaskTemplate"]["Resources"]["Limits"] == {
        "MemoryBytes": 128 * 1024**2,
        "NanoCPUs": 500_000_000,
        "Pids": 1024,
    }
    assert spec["EndpointSpec"] == {"Mode": "dnsrr"}


def test_nulls_are_accepted_and_empty_maps_omitted() -> None:
    request = {
        "service": "fn",
        "image": "img",
        "labels": None,
        "annotations": None,
        "envVars": None,
        "secrets": None,
        "constraints": None,
        "limits": None,
    }
    deployment = parse_deployment(request, "openfaas-fn")
    spec = service_spec(deployment, network_id="n", secret_refs=[], replicas=1)
    status = status_fields({"ID": "x", "Spec": spec}, "openfaas-fn")
    assert "envVars" not in status and "limits" not in status and "requests" not in status
    assert status["labels"] == {"faas_function": "fn"} and status["secrets"] == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"registryAuth": "%%%"}, "registryAuth"),
        ({"registryAuth": base64.b64encode(b"nocolon").decode()}, "registryAuth"),
        ({"labels": {"com.openfaas.scale.min": "3", "com.openfaas.scale.max": "2"}}, "above"),
        ({"limits": {"memory": "-5M"}}, "memory"),
        ({"namespace": "elsewhere"}, "namespace"),
    ],
)
def test_refusals(change: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidRequest, match=words):
        parse_deployment({**full_request(), **change}, "openfaas-fn")


def test_names_with_namespace_suffix() -> None:
    assert split_name("fn", "openfaas-fn") == "fn"
    assert split_name("fn.openfaas-fn", "openfaas-fn") == "fn"
    with pytest.raises(InvalidRequest):
        split_name("fn.other", "openfaas-fn")


@pytest.mark.parametrize(
    ("image", "repo", "tag", "registry"),
    [
        ("alpine", "alpine", "latest", "docker.io"),
        ("team/fn:1", "team/fn", "1", "docker.io"),
        ("127.0.0.1:5000/fn", "127.0.0.1:5000/fn", "latest", "127.0.0.1:5000"),
        ("ghcr.io/o/fn@sha256:ab", "ghcr.io/o/fn", "sha256:ab", "ghcr.io"),
    ],
)
def test_image_references(image: str, repo: str, tag: str, registry: str) -> None:
    assert split_reference(image) == (repo, tag)
    assert registry_of(image) == registry


def test_log_lines_keep_the_watchdog_text() -> None:
    raw = (
        "2026-11-26T01:34:21.459039649Z com.docker.swarm.node.id=n1,"
        "com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 "
        "2026/11/26 01:34:21 Forking fprocess."
    )
    line = parse_line(raw)
    assert line.timestamp == "2026-11-26T01:34:21.459039649Z"
    assert line.instance == "t1"
    assert line.text == "2026/11/26 01:34:21 Forking fprocess."


def test_credentials_created_once_and_checked(tmp_path: Path) -> None:
    first = load_or_create(tmp_path / "state")
    again = load_or_create(tmp_path / "state")
    assert first.created and not again.created
    assert first.password == again.password and first.user == "admin"
    good = b"Basic " + base64.b64encode(f"admin:{first.password}".encode())
    assert first.header_matches(good)
    assert not first.header_matches(b"Basic " + base64.b64encode(b"admin:wrong"))
    assert not first.header_matches(b"Bearer ")
    assert not first.header_matches(b"Basic ***")
    assert not Credentials("admin", "pw").header_matches(b"Basic " + base64.b64encode(b"root:pw"))


def test_faas_function_is_answered_but_never_stored() -> None:
    """A client that sends back the labels it read (faas_function among them) changes
    nothing: the label is derived from the name on every read."""
    request = {"service": "fn", "image": "img", "labels": {"a": "1", "faas_function": "fn"}}
    spec = service_spec(
        parse_deployment(request, "openfaas-fn"), network_id="n", secret_refs=[], replicas=1
    )
    assert spec["Labels"].get("faas_function") is None
    assert status_fields({"ID": "x", "Spec": spec}, "openfaas-fn")["labels"] == {
        "a": "1",
        "faas_function": "fn",
    }
