"""The portal's defects from issue 16, each shown fixed in real Chromium against a real
faasbox: log order over two tasks, scroll and focus on navigation, the unknown-function
page, the body box for GET, empty filters, charts with axes and kept history, the form
reporting every bad field at once, the list's alignment/status/sorting, the function's
URL and curl command."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Request, expect

from tests.support.api import deploy, wait_for
from tests.support.browser import PHONE, SLOW, Session
from tests.support.engine import unique
from tests.support.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.engine]


def order_key(timestamp: str) -> str:
    whole, _, rest = timestamp.rstrip("Z").partition(".")
    return f"{whole}.{rest:0<9}"


def in_order(stamps: list[str]) -> bool:
    keys = [order_key(s) for s in stamps]
    return keys == sorted(keys)


@pytest.fixture
def two_tasks(faasbox: Server, watchdog_image: str) -> Iterator[str]:
    """A function scaled to two replicas, invoked so that both tasks have logged."""
    name = unique("fb16-order")
    with faasbox.client() as client:
        deploy(client, name, watchdog_image, envProcess="cat").raise_for_status()
        wait_for(client, name, available=1)
        client.post(f"/function/{name}", content=b"first task")
        scaled = client.post(
            f"/system/scale-function/{name}", json={"serviceName": name, "replicas": 2}
        )
        scaled.raise_for_status()
        wait_for(client, name, available=2)
        deadline = time.monotonic() + 60
        while True:
            # A replica that just turned ready may still refuse one call: only logs count.
            client.post(f"/function/{name}", content=b"hello")
            lines = [
                json.loads(x)
                for x in client.get("/system/logs", params={"name": name}).text.splitlines()
            ]
            if len({x["instance"] for x in lines if "Forking" in x["text"]}) == 2:
                break
            assert time.monotonic() < deadline, "the calls never reached both replicas"
    yield name
    with faasbox.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": name})


def test_logs_are_in_time_order_over_two_tasks(
    browser: Browser, faasbox: Server, two_tasks: str
) -> None:
    name = two_tasks
    with faasbox.client() as client:
        records = [
            json.loads(x)
            for x in client.get("/system/logs", params={"name": name}).text.splitlines()
        ]
        assert len({r["instance"] for r in records}) == 2
        assert in_order([r["timestamp"] for r in records]), "GET /system/logs is not in time order"
        tailed = [
            json.loads(x)
            for x in client.get("/system/logs", params={"name": name, "tail": 3}).text.splitlines()
        ]
        assert tailed == records[-3:], "tail counts lines over all tasks, newest last"

        # Followed: the backlog of both tasks, merged.
        followed: list[dict[str, Any]] = []
        with client.stream(
            "GET", "/system/logs", params={"name": name, "follow": "true"}
        ) as stream:
            for line in stream.iter_lines():
                followed.append(json.loads(line))
                if len(followed) == len(records):
                    break
        assert [r["timestamp"] for r in followed] == [r["timestamp"] for r in records]

    # The portal, on a phone: the same order, with the task on every line.
    s = Session(browser, faasbox, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = s.page
        page.goto(f"/ui/#/fn/{name}")
        logs = page.get_by_role("log", name="Logs")
        shown = records[-100:]  # the portal asks for the newest 100 lines over all tasks
        expect(logs.locator(".line").nth(len(shown) - 1)).to_be_attached(timeout=SLOW)
        stamps = logs.locator("time").evaluate_all(
            "els => els.map(e => e.getAttribute('datetime'))"
        )
        assert in_order(stamps)
        assert stamps[: len(shown)] == [r["timestamp"] for r in shown]
        tasks = logs.locator(".instance")
        expect(tasks.first).to_be_visible()
        assert {r["instance"][:6] for r in shown} <= set(tasks.all_text_contents())
        assert set(tasks.all_text_contents()) <= {r["instance"][:6] for r in records}
        # One time per line: the watchdog's own date prefix is not repeated in the text.
        assert not any(t[:4].isdigit() for t in logs.locator(".text").all_text_contents())

        # Search, pause and download work on the kept lines.
        page.get_by_label("Search").fill("Forking")
        visible = logs.locator(".line:visible")
        assert 0 < visible.count() < logs.locator(".line").count()
        page.get_by_label("Search").fill("")
        page.get_by_role("button", name="Pause").click()
        before = logs.locator(".line").count()
        with faasbox.client() as client:
            client.post(f"/function/{name}", content=b"while paused").raise_for_status()
        expect(page.get_by_test_id("logs-status")).to_contain_text("new", timeout=SLOW)
        assert logs.locator(".line").count() == before, "lines were added while paused"
        page.get_by_role("button", name="Resume").click()
        expect(logs.locator(".line", has_text="Forking")).to_have_count(
            sum("Forking" in r["text"] for r in records) + 1
        )
        with page.expect_download() as download:
            page.get_by_role("button", name="Download").click()
        text = download.value.path().read_text().splitlines()
        assert len(text) > before
        assert in_order([line.split(" ", 1)[0] for line in text])
    finally:
        s.close()


def test_unknown_function_page_has_no_controls_and_polls_nothing(session: Session) -> None:
    page = session.page
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if "/system/" in r.url else None)
    name = unique("fb16-never-deployed")
    page.goto(f"/ui/#/fn/{name}")
    heading = page.get_by_role("heading", name=f"No function called {name}")
    expect(heading).to_be_visible()
    expect(heading).to_be_focused()
    for control in ("Invoke", "Scale", "Delete"):
        expect(page.get_by_role("button", name=control)).to_have_count(0)
    expect(page.get_by_role("link", name="Update")).to_have_count(0)
    expect(page.get_by_role("log")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("·")
    page.wait_for_timeout(5_000)  # more than a refresh period and a log retry
    asked = [u for u in calls if "/system/function/" in u or "/system/logs" in u]
    assert len(asked) == 1, f"the page kept asking for an unknown function: {asked}"


def test_a_function_deleted_elsewhere_turns_into_the_not_found_page(
    session: Session, faasbox: Server, watchdog_image: str
) -> None:
    name = unique("fb16-gone")
    with faasbox.client() as client:
        deploy(client, name, watchdog_image, envProcess="cat").raise_for_status()
    page = session.page
    page.goto(f"/ui/#/fn/{name}")
    expect(page.get_by_role("button", name="Invoke")).to_be_visible()
    with faasbox.client() as client:
        client.request(
            "DELETE", "/system/functions", json={"functionName": name}
        ).raise_for_status()
    expect(page.get_by_role("heading", name=f"No function called {name}")).to_be_visible(
        timeout=10_000
    )
    expect(page.get_by_role("button", name="Invoke")).to_have_count(0)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/system/" in r.url else None)
    page.wait_for_timeout(4_000)
    assert polls == []


def test_new_page_starts_at_the_top_with_focus_on_its_heading(
    session: Session, faasbox: Server, watchdog_image: str
) -> None:
    page = session.page
    page.set_viewport_size({"width": 1366, "height": 500})
    name = unique("fb16-scroll")
    try:
        page.goto("/ui/#/new")
        expect(page.get_by_role("link", name="New function", exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        page.get_by_label("Image").fill(watchdog_image)
        page.get_by_label("Name").fill(name)
        page.get_by_role("button", name="Deploy").scroll_into_view_if_needed()
        assert page.evaluate("scrollY") > 0
        page.get_by_role("button", name="Deploy").click()
        expect(page.get_by_role("heading", name=name)).to_be_focused()
        assert page.evaluate("scrollY") == 0
        expect(page.locator(".toast")).to_have_text(f"Deployed {name}")
        expect(page.locator("[aria-current]")).to_have_count(0)
        # aria-live is on the status lines only, not on the whole page.
        assert page.locator("main[aria-live]").count() == 0
    finally:
        with faasbox.client() as client:
            client.request("DELETE", "/system/functions", json={"functionName": name})


def test_get_sends_no_body_and_format_json_only_for_json(
    session: Session, ui_function: str
) -> None:
    page = session.page
    page.goto(f"/ui/#/fn/{ui_function}")
    body = page.get_by_label("Request body")
    body.fill("kept for later")
    format_json = page.get_by_role("button", name="Format JSON")
    expect(format_json).to_be_hidden()  # Text mode
    page.get_by_label("Body type").select_option("json")
    expect(format_json).to_be_visible()
    page.get_by_label("Method").select_option("GET")
    expect(body).to_be_disabled()
    expect(page.get_by_text("GET sends no body")).to_be_visible()
    expect(format_json).to_be_hidden()
    looks = body.evaluate("e => getComputedStyle(e).borderTopStyle")
    assert looks == "dashed"
    page.get_by_label("Method").select_option("POST")
    expect(body).to_be_enabled()
    expect(body).to_have_value("kept for later")


def test_a_filter_without_match_says_so(session: Session, ui_function: str) -> None:
    page = session.page
    page.goto("/ui/")
    expect(page.locator(f'tr[data-name="{ui_function}"]')).to_be_visible()
    page.get_by_label("Filter").fill("zz-no-such-function")
    expect(page.get_by_test_id("no-match")).to_have_text(
        "No function matches “zz-no-such-function”."
    )
    expect(page.get_by_test_id("list-count")).to_contain_text("0 of ")
    page.get_by_label("Filter").fill(ui_function)
    expect(page.get_by_test_id("list-count")).to_contain_text("1 of ")
    expect(page.locator("tbody tr")).to_have_count(1)


def test_list_alignment_status_words_and_sorting(
    session: Session, faasbox: Server, ui_function: str, probe: str
) -> None:
    other = f"0{unique('fb16-sort')}"  # sorts before ui_function by name
    with faasbox.client() as client:
        deploy(client, other, probe).raise_for_status()
    try:
        page = session.page
        page.goto("/ui/")
        row = page.locator(f'tr[data-name="{ui_function}"]')
        expect(row.get_by_test_id("status")).to_have_text("ready", timeout=SLOW)
        for title in ("Replicas", "Invocations"):
            header = page.locator("th", has_text=title)
            assert header.evaluate("e => getComputedStyle(e).textAlign") == "right"

        def names() -> list[str]:
            found: list[str] = page.locator("tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.name)"
            )
            return found

        expect(page.locator(f'tr[data-name="{other}"]')).to_be_visible()
        assert names().index(other) < names().index(ui_function)
        page.get_by_role("button", name="Name").click()
        expect(page.locator("th", has_text="Name")).to_have_attribute("aria-sort", "descending")
        assert names().index(other) > names().index(ui_function)
        page.reload()  # the order is kept for the tab
        expect(page.locator("th", has_text="Name")).to_have_attribute("aria-sort", "descending")
        page.get_by_role("button", name="Name").click()
    finally:
        with faasbox.client() as client:
            client.request("DELETE", "/system/functions", json={"functionName": other})


def test_function_url_and_curl_command_copy(
    browser: Browser, faasbox: Server, ui_function: str
) -> None:
    s = Session(browser, faasbox)
    try:
        s.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=faasbox.url)
        page = s.page
        page.goto(f"/ui/#/fn/{ui_function}")
        url = f"{faasbox.url}/function/{ui_function}"
        expect(page.get_by_test_id("function-url")).to_have_text(url)
        page.get_by_role("button", name="Copy URL").click()
        expect(page.locator(".toast").last).to_have_text("URL copied")
        assert page.evaluate("navigator.clipboard.readText()") == url
        page.get_by_role("button", name="Copy curl").click()
        curl = page.evaluate("navigator.clipboard.readText()")
        assert curl == page.get_by_test_id("curl").text_content()
        # The command works as copied: the function answers it.
        assert curl.startswith("curl -i -d 'hello' ")
        assert httpx.post(curl.rsplit(" ", 1)[1], content=b"hello").text == "HELLO"
    finally:
        s.close()


def test_charts_keep_history_across_reloads(
    session: Session, faasbox: Server, ui_function: str
) -> None:
    page = session.page
    page.goto(f"/ui/#/fn/{ui_function}")
    expect(page.get_by_test_id("chart-empty").or_(page.locator(".chart").first)).to_be_visible()
    for _ in range(3):
        httpx.post(f"{faasbox.url}/function/{ui_function}", content=b"x").raise_for_status()
    bars = page.locator('.chart[data-kind="bars"] rect.calls')
    expect(bars.first).to_be_attached(timeout=20_000)
    drawn = bars.count()
    ticks = page.locator('.chart[data-kind="bars"] text.time')
    expect(ticks).to_have_count(3)
    expect(page.locator('.chart[data-kind="line"] text.tick').nth(1)).to_contain_text("ms")
    page.reload()
    # Drawn at once from the kept history, before the first new read of /metrics.
    expect(page.locator('.chart[data-kind="bars"] rect.calls')).to_have_count(drawn, timeout=2_000)
    saved = page.evaluate(
        f"JSON.parse(localStorage.getItem('faasbox.traffic.{ui_function}')).points.length"
    )
    assert saved >= 1


def test_chart_draws_one_point_breaks_gaps_and_shows_errors(session: Session) -> None:
    page = session.page
    page.goto("/ui/")
    drawn = page.evaluate(
        """async () => {
        const m = await import("/ui/js/metrics.js");
        const step = 5000, to = 1_000_000_000;
        const p = (at, calls, errors, latencyMs) => ({ at, calls, errors, latencyMs });
        const count = (svg, sel) => svg.querySelectorAll(sel).length;
        const opts = (kind) => ({ kind, title: "t", unit: "ms", from: to - 60 * step, to, step });
        const one = m.chart([p(to, 1, 0, 12)], opts("line")).querySelector("svg");
        const gap = m.chart([p(to - 40 * step, 1, 0, 5), p(to - 39 * step, 1, 0, 6),
                             p(to - 2 * step, 2, 0, 7), p(to - step, 2, 0, 8)], opts("line"))
            .querySelector("svg");
        const bars = m.chart([p(to - step, 5, 2, 3), p(to, 4, 0, 3)], opts("bars"));
        return {
            onePoint: count(one, "circle.point") + count(one, "polyline"),
            runs: count(gap, "polyline"),
            errors: count(bars.querySelector("svg"), "rect.errors"),
            calls: count(bars.querySelector("svg"), "rect.calls"),
            caption: bars.querySelector("figcaption").textContent,
            times: count(one, "text.time"),
        };
    }"""
    )
    assert drawn["onePoint"] == 1
    assert drawn["runs"] == 2, "a line joined across an idle gap"
    assert (drawn["errors"], drawn["calls"]) == (1, 2)
    assert "2 errors (5xx)" in drawn["caption"]
    assert drawn["times"] == 3


def test_the_form_reports_every_bad_field_at_once(
    session: Session, faasbox: Server, watchdog_image: str
) -> None:
    page = session.page
    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    page.goto("/ui/#/new")
    # The name rules are stated before any refusal.
    expect(page.locator('[data-field="service"] .help')).to_contain_text(
        "letters, digits, '-' and '_'"
    )
    page.get_by_label("Name").fill("not a name!")
    page.get_by_label("Labels").fill("com.openfaas.scale.min=many")
    page.get_by_label("Environment").fill("no equals sign")
    page.get_by_label("Memory").fill("lots")
    page.get_by_role("button", name="Deploy").click()
    errors = {
        "image": "image is required",
        "service": "function name 'not a name!' is invalid: use letters, digits, '-' and '_', "
        "starting and ending with a letter or digit",
        "envVars": "line 1: expected name=value",
        "labels": "label com.openfaas.scale.min='many' must be a whole number",
        "memory": "memory 'lots' is not a size such as 128M or 1Gi",
    }
    for key, message in errors.items():
        expect(page.locator(f'[data-field="{key}"] .field-error')).to_have_text(message)
    expect(page.locator(".form-summary")).to_contain_text(f"{len(errors)} fields need a change")
    expect(page.get_by_label("Image")).to_be_focused()
    assert posts == [], "a form with bad fields was sent"

    # The server agrees with every one of those words (it is asked field by field).
    with faasbox.client() as client:
        base = {"service": "fb16-ok", "image": watchdog_image}
        for body in (
            {**base, "image": ""},
            {**base, "service": "not a name!"},
            {**base, "labels": {"com.openfaas.scale.min": "many"}},
            {**base, "limits": {"memory": "lots"}},
        ):
            refused = client.post("/system/functions", json=body)
            assert refused.status_code == 400
            assert refused.json()["message"] in errors.values()

    # An image the engine has not got and cannot pull: the API's words, naming the image.
    page.get_by_label("Image").fill("faasbox-test/fb16-no-such-image:1")
    page.get_by_label("Name").fill(unique("fb16-missing"))
    page.get_by_label("Labels").fill("")
    page.get_by_label("Environment").fill("")
    page.get_by_label("Memory").fill("")
    page.get_by_role("button", name="Deploy").click()
    image_error = page.locator('[data-field="image"] .field-error')
    expect(image_error).to_contain_text(
        "image faasbox-test/fb16-no-such-image:1 is not on this machine and could not be pulled",
        timeout=SLOW,
    )
    expect(image_error).not_to_contain_text("lookup")
    expect(page.get_by_label("Image")).to_be_focused()
