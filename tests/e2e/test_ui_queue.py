"""The portal's async queue view, in real Chromium: counts, a dead letter, replay, drop."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import Session
from tests.support.engine import REPO, unique
from tests.support.images import built_image
from tests.support.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.engine]


@pytest.fixture
def failing(faasbox: Server, engine_ready: None) -> Iterator[str]:
    """A function with one attempt per call, so a failing call is a dead letter at once."""
    image = built_image("async-fn", REPO / "tests" / "images" / "async")
    name = unique("fb12-ui-queue")
    labels = {"com.openfaas.scale.min": "1", "com.openfaas.retry.attempts": "1"}
    with faasbox.client() as client:
        response = client.post(
            "/system/functions", json={"service": name, "image": image, "labels": labels}
        )
        assert response.status_code == 202, response.text
        deadline = time.monotonic() + 90
        while client.get(f"/system/function/{name}").json().get("availableReplicas") != 1:
            assert time.monotonic() < deadline, f"{name} never became ready"
            time.sleep(0.2)
        yield name
        client.request("DELETE", "/system/functions", json={"functionName": name})


def test_dead_letter_is_shown_replayed_and_dropped(
    session: Session, faasbox: Server, failing: str
) -> None:
    response = httpx.post(f"{faasbox.url}/async-function/{failing}?fail=1", timeout=30)
    assert response.status_code == 202
    call_id = response.headers["x-call-id"]
    page = session.page
    page.goto(f"/ui/#/fn/{failing}")
    counts = page.get_by_test_id("queue-counts")
    expect(counts).to_have_text("0 queued · 0 in flight · 1 dead", timeout=30_000)
    letters = page.get_by_test_id("dead-letters")
    expect(letters).to_contain_text(call_id)
    expect(letters).to_contain_text("500 after 1")

    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_text(f"Replayed {call_id}")).to_be_visible()
    # It fails again (fail=1), so it comes back as a dead letter.
    expect(letters).to_contain_text(call_id, timeout=30_000)

    page.get_by_role("button", name="Drop").click()
    expect(page.get_by_text(f"Dropped {call_id}")).to_be_visible()
    expect(page.get_by_text("No dead letters.")).to_be_visible()
    expect(counts).to_have_text("0 queued · 0 in flight · 0 dead")
