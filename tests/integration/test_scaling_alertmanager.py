"""A real Prometheus and AlertManager with the shipped configs drive faasbox through
/system/alert: replicas go up under load and back down after it.

faasbox's own autoscaler is off here, so every change seen comes from AlertManager.
Needs the Debian packages `prometheus` and `prometheus-alertmanager`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_scaling_kit import (
    Alerting,
    Load,
    have_alerting,
    replicas_are,
    status,
    wait_until,
)
from tests.support.api import deploy, remove, wait_for
from tests.support.engine import unique
from tests.support.server import Server

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def server(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state_dir = tmp_path_factory.mktemp("alerting")
    with Server(state_dir=state_dir, env={"FAASBOX_AUTOSCALE": "false"}) as server:
        yield server


@pytest.fixture
def alerting(server: Server, tmp_path: Path) -> Iterator[Alerting]:
    if not have_alerting():
        pytest.fail("apt-get install -y prometheus prometheus-alertmanager")
    with Alerting.for_server(server, tmp_path) as stack:
        yield stack


def test_alertmanager_scales_up_under_load_and_back(
    server: Server, alerting: Alerting, probe: str
) -> None:
    name = unique("amscale")
    labels = {"com.openfaas.scale.max": "4", "com.openfaas.scale.factor": "50"}  # step 2
    with server.client() as api:
        assert deploy(api, name, probe, labels=labels).status_code == 202
        try:
            wait_for(api, name, available=1)
            load = Load(f"{server.url}/function/{name}", rate=20).start()
            try:
                up = wait_until(
                    lambda: status(api, name)["replicas"] >= 3, 90, "AlertManager scale-up"
                )
                wait_until(lambda: replicas_are(api, name, 3), 60, "3 ready replicas")
            finally:
                load.stop()
            print(f"AlertManager path: load start -> scale-up decision {up:.1f} s")
            assert load.codes[200] == sum(load.codes.values()), load.codes
            down = wait_until(lambda: replicas_are(api, name, 1), 120, "resolved: back to min")
            print(f"AlertManager path: load stop -> back to 1 replica {down:.1f} s")
            metrics = httpx.get(f"http://127.0.0.1:{server.metrics_port}/metrics").text
            assert f'function_name="{name}",reason="alert-firing"' in metrics
            assert f'function_name="{name}",reason="alert-resolved"' in metrics
        finally:
            remove(api, name)
