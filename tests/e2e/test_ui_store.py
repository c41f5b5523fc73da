"""The function store: the shipped catalogue at /system/store, and the portal's gallery
deploying an entry of an operator's own catalogue (FAASBOX_STORE) in one click."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import SLOW, Session, shot
from tests.support.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.engine]

SAMPLES = {
    "echoit",
    "wordcount",
    "base64",
    "decodebase64",
    "markdown",
    "nodeinfo",
    "hubstats",
    "webhookstash",
}


def test_the_shipped_store_lists_the_sample_functions(faasbox: Server) -> None:
    assert httpx.get(f"{faasbox.url}/system/store").status_code == 401
    with faasbox.client() as client:
        catalogue = client.get("/system/store").json()
    assert catalogue["version"] == "0.2.0"
    entries = {entry["name"]: entry for entry in catalogue["functions"]}
    assert set(entries) == SAMPLES
    for name, entry in entries.items():
        assert entry["title"] and entry["description"]
        assert set(entry["images"].values()) == {f"faasbox/{name}:latest"}
        assert set(entry["images"]) >= {"x86_64", "arm64", "armhf"}


def test_the_gallery_deploys_a_function_of_the_configured_store(
    browser: Browser,
    make_server: Callable[..., Server],
    watchdog_image: str,
    tmp_path: Path,
    shots: None,
) -> None:
    catalogue = tmp_path / "store.json"
    catalogue.write_text(
        json.dumps(
            {
                "version": "0.2.0",
                "functions": [
                    {
                        "title": "Shout",
                        "name": "fb16-shout",
                        "description": "Answers in capitals.",
                        "images": {"x86_64": watchdog_image, "arm64": watchdog_image},
                        "fprocess": "tr a-z A-Z",
                        "environment": {"write_debug": "false"},
                        "labels": {"com.openfaas.scale.min": "1"},
                    },
                    {"name": "no-image-so-left-out"},
                ],
            }
        )
    )
    server = make_server(env={"FAASBOX_STORE": str(catalogue)})
    server.start()
    s = Session(browser, server)
    try:
        page = s.page
        page.goto("/ui/")
        page.get_by_role("link", name="Store", exact=True).click()
        expect(page.get_by_role("heading", name="Function store")).to_be_focused()
        item = page.locator('article[data-name="fb16-shout"]')
        expect(item).to_contain_text("Answers in capitals.")
        expect(item).to_contain_text(watchdog_image)
        expect(page.locator("article")).to_have_count(1)
        shot(page, "store-custom-catalogue")
        item.get_by_role("button", name="Deploy").click()
        expect(page.locator(".toast")).to_have_text("Deployed fb16-shout")
        item.get_by_role("link", name="Open fb16-shout").click()
        expect(page.get_by_test_id("replicas")).to_have_text("1 / 1", timeout=SLOW)
        page.get_by_label("Request body").fill("from the store")
        page.get_by_role("button", name="Invoke").click()
        expect(page.get_by_label("Response body")).to_have_text("FROM THE STORE", timeout=SLOW)
        with server.client() as client:
            deployed = client.get("/system/function/fb16-shout").json()
        assert deployed["envProcess"] == "tr a-z A-Z"
        assert deployed["envVars"] == {"write_debug": "false"}
        assert deployed["labels"]["com.openfaas.scale.min"] == "1"

        # Back in the store, the entry says it is deployed.
        page.get_by_role("link", name="Store", exact=True).click()
        expect(item.locator(".badge")).to_have_text("deployed")
    finally:
        s.close()

    # A catalogue that cannot be read: a 502 naming it, and the gallery says so.
    catalogue.write_text("not json")
    with server.client() as client:
        refused = client.get("/system/store")
    assert refused.status_code == 502
    assert refused.json()["message"] == f"store {catalogue} is not JSON"
