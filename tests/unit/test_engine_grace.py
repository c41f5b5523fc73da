"""How long Swarm lets a stopping replica finish the calls it is running."""

from __future__ import annotations

import pytest

from faasbox.deployment import parse_deployment
from faasbox.engine.spec import service_spec, stop_grace_period

S = 1_000_000_000


@pytest.mark.parametrize(
    ("env", "seconds"),
    [
        ({"write_timeout": "10s"}, 10 + 10 + 5),  # drain for write_timeout, then calls
        ({"write_timeout": "10", "exec_timeout": "1m", "healthcheck_interval": "2s"}, 2 + 60 + 5),
        ({"exec_timeout": "20s"}, 0 + 20 + 5),
    ],
)
def test_grace_covers_the_watchdog_drain_and_the_longest_call(
    env: dict[str, str], seconds: int
) -> None:
    assert stop_grace_period(env) == seconds * S


@pytest.mark.parametrize("env", [{}, {"write_timeout": "soon"}, {"other": "1"}])
def test_no_declared_timeout_keeps_swarms_default(env: dict[str, str]) -> None:
    assert stop_grace_period(env) is None


def test_the_service_spec_carries_it() -> None:
    deployment = parse_deployment(
        {"service": "fn", "image": "img", "envVars": {"write_timeout": "20s"}}, "openfaas-fn"
    )
    spec = service_spec(deployment, network_id="n", secret_refs=[], replicas=1)
    assert spec["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] == 45 * S
