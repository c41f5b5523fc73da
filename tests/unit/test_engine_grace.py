"""How long Swarm lets a stopping replica finish the calls it is running."""

from __future__ import annotations

import pytest

from faasbox.deployment import parse_deployment
from faasbox.engine.spec import service_spec, stop_grace_period

S = 1_000_000_000


@pytest.mark.parametrize(
    ("env", "seconds"),
    [
        ({}, 30 + 30 + 5),  # watchdog defaults: drain for write_timeout, then write_timeout
        ({"write_timeout": "10s"}, 10 + 10 + 5),
        ({"write_timeout": "10", "exec_timeout": "1m", "healthcheck_interval": "2s"}, 2 + 60 + 5),
        ({"write_timeout": "soon"}, 30 + 30 + 5),
    ],
)
def test_grace_covers_the_watchdog_drain_and_the_longest_call(
    env: dict[str, str], seconds: int
) -> None:
    assert stop_grace_period(env) == seconds * S


def test_the_service_spec_carries_it() -> None:
    deployment = parse_deployment(
        {"service": "fn", "image": "img", "envVars": {"write_timeout": "20s"}}, "openfaas-fn"
    )
    spec = service_spec(deployment, network_id="n", secret_refs=[], replicas=1)
    assert spec["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] == 45 * S
