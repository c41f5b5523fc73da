"""The portal at /ui/, driven in real Chromium against a real faasbox on the real engine.

The walk-through follows the book's `func_c`: a function created from an image with a
name, an fprocess and a network, then invoked, scaled, read, updated and deleted.
Screenshots of every main page go to artifacts/ui/ (the path is printed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    HttpCredentials,
    expect,
)
from playwright.sync_api import (
    Error as PlaywrightError,
)

from tests.support.browser import PHONE, SLOW, Session, shot
from tests.support.engine import unique
from tests.support.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.engine]


def api_function(server: Server, name: str) -> dict[str, Any]:
    with server.client() as client:
        response = client.get(f"/system/function/{name}")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


def test_access_is_refused_without_credentials(browser: Browser, faasbox: Server) -> None:
    paths = ("/", "/ui/", "/ui/js/app.js", "/system/functions")
    # No credentials: headless Chromium has no login prompt to show, so it gives up on
    # the challenge and the navigation fails; the portal never loads.
    anonymous = browser.new_context(base_url=faasbox.url)
    try:
        page = anonymous.new_page()
        for path in paths:
            with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
                page.goto(path)
        redirect = anonymous.request.get("/", max_redirects=0)
        assert (redirect.status, redirect.headers["location"]) == (301, "/ui/")
        for path in paths[1:]:
            refused = anonymous.request.get(path)
            assert refused.status == 401, path
            assert refused.headers["www-authenticate"] == 'Basic realm="Restricted"'
    finally:
        anonymous.close()

    # Wrong password: the browser tries it, then shows the server's refusal.
    wrong: HttpCredentials = {"username": faasbox.user, "password": "wrong"}
    impostor = browser.new_context(base_url=faasbox.url, http_credentials=wrong)
    try:
        page = impostor.new_page()
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 401, path
            expect(page.locator("body")).to_contain_text("invalid credentials")
            expect(page.get_by_role("heading", name="Functions")).to_have_count(0)
    finally:
        impostor.close()


def test_bad_name_shows_the_api_message_next_to_the_field(
    session: Session, faasbox: Server, watchdog_image: str, shots: None
) -> None:
    page = session.page
    page.goto("/ui/#/new")
    page.get_by_label("Image").fill(watchdog_image)
    page.get_by_label("Name").fill("not a name!")
    page.get_by_role("button", name="Deploy").click()

    name_field = page.locator('[data-field="service"]')
    error = name_field.locator(".field-error")
    expect(error).to_be_visible()
    # The server's own words, not a copy of its rules in the browser.
    expect(error).to_have_text(
        "function name 'not a name!' is invalid: use letters, digits, '-' and '_', "
        "starting and ending with a letter or digit"
    )
    expect(name_field).to_have_class("field invalid")
    expect(page.locator('[data-field="image"] .field-error')).to_be_hidden()
    shot(page, "create-validation-error")

    page.get_by_label("Name").fill(unique("ui-bad-label"))
    page.get_by_label("Labels").fill("com.openfaas.scale.min=many")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator('[data-field="labels"] .field-error')).to_contain_text(
        "must be a whole number"
    )

    page.get_by_label("Labels").fill("")
    page.get_by_label("Image").fill("")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator('[data-field="image"] .field-error')).to_have_text("image is required")
    expect(page.locator('[data-field="labels"] .field-error')).to_be_hidden()
    with faasbox.client() as client:
        names = [f["name"] for f in client.get("/system/functions").json()]
    assert "not a name!" not in names


@pytest.fixture
def func_c(faasbox: Server) -> Iterator[tuple[str, str]]:
    """A function name and a secret for it; both gone afterwards, whatever happened."""
    name, secret = unique("func_c").replace("-", "_"), unique("ui-secret")
    with faasbox.client() as client:
        client.post("/system/secrets", json={"name": secret, "value": "s3cret"}).raise_for_status()
    yield name, secret
    with faasbox.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": name})
        client.request("DELETE", "/system/secrets", json={"name": secret}).raise_for_status()


def test_func_c_from_create_to_delete(
    session: Session,
    faasbox: Server,
    watchdog_image: str,
    func_c: tuple[str, str],
    shots: None,
) -> None:
    page = session.page
    name, secret = func_c

    # Log in: the browser answers the basic-auth challenge with the admin credentials.
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert page.url.endswith("/ui/")
    expect(page.get_by_role("heading", name="Functions")).to_be_visible()
    shot(page, "functions-list-before")

    # Create, as the book does with func_c: image, name, fprocess, network.
    page.get_by_role("link", name="New function").first.click()
    page.get_by_label("Image").fill(watchdog_image)
    page.get_by_label("Name").fill(name)
    page.get_by_label("fprocess").fill("tr a-z A-Z")
    expect(page.get_by_label("Network")).to_have_value(faasbox.network)  # from /system/info
    page.get_by_label("Network").fill(faasbox.network)
    page.get_by_label("Environment").fill("write_debug=true\nGREETING=hello")
    page.get_by_label("Labels").fill("team=ui")
    page.get_by_label(secret).check()
    shot(page, "create-form")
    page.get_by_role("button", name="Deploy").click()
    expect(page).to_have_url(f"{faasbox.url}/ui/#/fn/{name}")
    expect(page.get_by_role("heading", name=name)).to_be_visible()

    deployed = api_function(faasbox, name)
    assert deployed["image"] == watchdog_image
    assert deployed["envProcess"] == "tr a-z A-Z"
    assert deployed["envVars"] == {"write_debug": "true", "GREETING": "hello"}
    assert deployed["labels"] == {"team": "ui", "faas_function": name}
    assert deployed["secrets"] == [secret]
    expect(page.locator(".config")).to_contain_text(secret)

    # It appears in the list, live, with its image and replicas.
    page.get_by_role("link", name="Functions", exact=True).click()
    row = page.locator(f'tr[data-name="{name}"]')
    expect(row).to_contain_text(watchdog_image)
    expect(row.locator('[data-label="Replicas"]')).to_have_text("1/1", timeout=SLOW)
    shot(page, "functions-list")

    # Invoke with a text body and read the function's answer.
    row.get_by_role("link", name=name).click()
    expect(page.get_by_test_id("replicas")).to_have_text("1 / 1", timeout=SLOW)
    page.get_by_label("Request body").fill("hello func_c")
    page.get_by_role("button", name="Invoke").click()
    expect(page.get_by_test_id("invoke-status")).to_have_text("200 OK", timeout=SLOW)
    expect(page.get_by_label("Response body")).to_have_text("HELLO FUNC_C")
    expect(page.get_by_test_id("invoke-duration")).to_contain_text(" ms")

    # A JSON body, shown pretty-printed, and raw with the toggle off.
    page.get_by_label("Body type").select_option("json")
    page.get_by_label("Request body").fill('{"greeting": "hi", "n": [1, 2]}')
    page.get_by_role("button", name="Format JSON").click()
    expect(page.get_by_label("Request body")).to_have_value(
        json.dumps({"greeting": "hi", "n": [1, 2]}, indent=2)
    )
    page.get_by_label("Request body").fill('{"greeting": "hi", "n": [1, 2]}')
    page.get_by_label("Request headers").fill("X-Test: portal")
    page.get_by_role("button", name="Invoke").click()
    body = page.get_by_label("Response body")
    expect(body).to_have_text(json.dumps({"GREETING": "HI", "N": [1, 2]}, indent=2))
    page.get_by_label("Pretty JSON").uncheck()
    expect(body).to_have_text('{"GREETING": "HI", "N": [1, 2]}')
    page.get_by_label("Pretty JSON").check()
    page.get_by_text("Response headers").click()
    expect(page.locator(".headers")).to_contain_text("x-duration-seconds")

    # The counters move and the chart draws them from /metrics.
    expect(page.get_by_test_id("invocations")).to_have_text("2 invocations", timeout=10_000)
    expect(page.locator("figcaption").first).to_contain_text("Invocations per", timeout=15_000)
    expect(page.locator(".chart rect").first).to_be_attached(timeout=15_000)

    # Logs follow while the page is open: the watchdog logs each request.
    logs = page.get_by_role("log", name="Logs")
    expect(logs).to_contain_text("Forking fprocess.", timeout=SLOW)
    page.get_by_role("button", name="Invoke").click()
    expect(page.get_by_test_id("invocations")).to_have_text("3 invocations", timeout=10_000)
    expect(logs.locator(".line", has_text="Forking fprocess.")).to_have_count(3, timeout=SLOW)
    shot(page, "function-page")

    # Scale to two and watch both replicas come up.
    page.get_by_label("Desired replicas").fill("1")
    page.get_by_role("button", name="One more replica").click()
    page.get_by_role("button", name="Scale", exact=True).click()
    expect(page.get_by_test_id("replicas")).to_have_text("2 / 2", timeout=SLOW)
    assert api_function(faasbox, name)["replicas"] == 2
    shot(page, "function-scaled")

    # Update: change the environment, keep the rest.
    page.get_by_role("link", name="Update").click()
    expect(page.get_by_label("Name")).to_have_value(name)
    expect(page.get_by_label("fprocess")).to_have_value("tr a-z A-Z")
    page.get_by_label("Environment").fill("write_debug=true\nGREETING=updated")
    shot(page, "update-form")
    page.get_by_role("button", name="Update").click()
    expect(page).to_have_url(f"{faasbox.url}/ui/#/fn/{name}")
    expect(page.locator(".config")).to_contain_text("updated")
    updated = api_function(faasbox, name)
    assert updated["envVars"]["GREETING"] == "updated"
    assert updated["labels"] == {"team": "ui", "faas_function": name}
    assert updated["secrets"] == [secret]

    # Delete, after saying so in the confirmation dialog.
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Delete {name}?")
    shot(page, "delete-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert api_function(faasbox, name)["name"] == name

    page.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(f"{faasbox.url}/ui/#/")
    expect(page.locator(f'tr[data-name="{name}"]')).to_have_count(0)
    with faasbox.client() as client:
        assert client.get(f"/system/function/{name}").status_code == 404


def test_phone_layout(browser: Browser, faasbox: Server, probe: str, shots: None) -> None:
    name = unique("ui-phone-function-with-a-long-name-that-wraps")  # 55 characters
    with faasbox.client() as client:
        client.post("/system/functions", json={"service": name, "image": probe}).raise_for_status()
    s = Session(browser, faasbox, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = s.page
        page.goto("/ui/")
        row = page.locator(f'tr[data-name="{name}"]')
        expect(row.locator('[data-label="Replicas"]')).to_have_text("1/1", timeout=SLOW)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the list scrolls sideways on a phone"
        shot(page, "phone-functions-list")

        row.get_by_role("link", name=name).click()
        page.get_by_label("Method").select_option("GET")
        page.get_by_role("button", name="Invoke").click()
        expect(page.get_by_test_id("invoke-status")).to_have_text("200 OK", timeout=SLOW)
        expect(page.get_by_label("Response body")).to_contain_text('"path": "/"')
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, "phone-function-page")

        page.goto("/ui/#/new")
        expect(page.get_by_label("Image")).to_be_visible()
        shot(page, "phone-create-form")

        # The list follows changes made elsewhere (here, the API) without a reload.
        page.get_by_role("link", name="Functions", exact=True).click()
        expect(row.locator('[data-label="Replicas"]')).to_have_text("1/1")
        with faasbox.client() as client:
            scaled = client.post(
                f"/system/scale-function/{name}", json={"serviceName": name, "replicas": 0}
            )
            scaled.raise_for_status()
        expect(row.locator('[data-label="Replicas"]')).to_have_text("0/0", timeout=SLOW)
        expect(row.get_by_test_id("status")).to_have_text("scaled to zero")
    finally:
        s.close()
        with faasbox.client() as client:
            client.request("DELETE", "/system/functions", json={"functionName": name})


def test_list_polling_pauses_while_the_tab_is_hidden(session: Session) -> None:
    page = session.page
    polls: list[float] = []
    page.on(
        "request",
        lambda r: polls.append(time.monotonic()) if r.url.endswith("/system/functions") else None,
    )
    page.goto("/ui/")
    expect(page.get_by_test_id("list-count")).to_contain_text("function")
    set_hidden = """hidden => {
        Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    page.evaluate(set_hidden, True)
    page.wait_for_timeout(500)  # a poll already in flight may finish
    before = len(polls)
    page.wait_for_timeout(7_000)  # more than two refresh periods
    assert len(polls) == before, "the list kept polling in a hidden tab"
    page.evaluate(set_hidden, False)
    deadline = time.monotonic() + 2
    while len(polls) == before and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(polls) > before, "polling did not resume when the tab became visible"


def test_chart_numbers_from_prometheus_text(session: Session) -> None:
    """The chart's arithmetic, run in the browser on the module the portal uses."""
    page = session.page
    page.goto("/ui/")
    result = page.evaluate(
        """async () => {
        const m = await import("/ui/js/metrics.js");
        const text = (calls, seconds) => [
            "# TYPE gateway_function_invocation_total counter",
            `gateway_function_invocation_total{code="200",function_name="f"} ${calls}`,
            `gateway_function_invocation_total{code="502",function_name="f.openfaas-fn"} 1.0`,
            `gateway_function_invocation_total{code="200",function_name="other"} 99.0`,
            `gateway_functions_seconds_sum{code="200",function_name="f"} ${seconds}`,
            `gateway_functions_seconds_count{code="200",function_name="f"} ${calls}`,
            `gateway_functions_seconds_bucket{code="200",function_name="f",le="+Inf"} ${calls}`,
        ].join("\\n");
        const series = new m.Series(3);
        series.add(1, m.totals(m.parseMetrics(text(10, 1.0)), "f"));
        series.add(2, m.totals(m.parseMetrics(text(14, 1.2)), "f"));
        series.add(3, m.totals(m.parseMetrics(text(14, 1.2)), "f"));
        series.add(4, m.totals(m.parseMetrics(text(2, 0.1)), "f"));  // faasbox restarted
        series.add(5, m.totals(m.parseMetrics(text(4, 0.3)), "f"));
        return {
            totals: m.totals(m.parseMetrics(text(10, 1.0)), "f"),
            points: series.points,
        };
    }"""
    )
    assert result["totals"] == {"calls": 11, "errors": 1, "seconds": 1.0, "timed": 10}
    calls = [p["calls"] for p in result["points"]]
    latency = [p["latencyMs"] for p in result["points"]]
    # Four intervals (+4, +0, restart to 3, +2); the series keeps the last three.
    assert calls == [0, 3, 2]
    assert latency[0] is None
    assert latency[1:] == [pytest.approx(50.0), pytest.approx(100.0)]
