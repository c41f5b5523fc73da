"""packaging/stack/: what `docker stack deploy` reads, checked where no engine is needed.

The e2e test deploys docker-compose.yml for real; monitoring.yml needs the official
Prometheus and AlertManager images, which our machines cannot pull, so its
references are checked here: every config file exists and is the packaged one.
"""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "packaging" / "stack"
SAMPLES = REPO / "packaging" / "sample-functions" / "stack.yml"


def load(name: str) -> dict[str, object]:
    loaded = yaml.safe_load((STACK / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_every_sample_of_stack_yml_is_a_service_of_the_stack() -> None:
    services = load("docker-compose.yml")["services"]
    assert isinstance(services, dict)
    samples = yaml.safe_load(SAMPLES.read_text())["functions"]
    assert set(services) == {"gateway", *samples}
    for name in samples:
        spec = services[name]
        assert spec["image"] == samples[name]["image"], name
        assert spec["deploy"]["labels"] == {"function": "true"}
        assert spec["deploy"]["endpoint_mode"] == "dnsrr"
        assert spec["networks"] == ["functions"]


def test_the_gateway_publishes_in_host_mode_and_keeps_its_state() -> None:
    gateway = load("docker-compose.yml")["services"]["gateway"]  # type: ignore[index]
    assert {p["mode"] for p in gateway["ports"]} == {"host"}
    assert {p["target"] for p in gateway["ports"]} == {8080, 8082}
    assert "state:/var/lib/faasbox" in gateway["volumes"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in gateway["volumes"]


def test_monitoring_uses_the_packaged_prometheus_configs() -> None:
    configs = load("monitoring.yml")["configs"]
    assert isinstance(configs, dict)
    files = {name: (STACK / spec["file"]).resolve() for name, spec in configs.items()}
    packaged = REPO / "packaging" / "prometheus"
    assert files == {
        "prometheus": packaged / "prometheus.yml",
        "alert_rules": packaged / "alert.rules.yml",
        "alertmanager": packaged / "alertmanager.yml",
    }
    assert all(path.is_file() for path in files.values())
