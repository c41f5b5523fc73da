"""How the portal looks: screenshots of its main pages on a laptop and a phone, light
and dark (artifacts/ui/), and WCAG AA contrast of every text, badge, button and field
border, measured in the page as Chromium draws it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import DESKTOP, PHONE, SLOW, Session, contrast, shot
from tests.support.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.engine]

TEXT = (
    "a, button, .button, .badge, .status, .muted, .help, th, td, label, legend, h1, h2, h3, "
    "p, dt, dd, figcaption, .field-error, .toast, .logs time, .logs .instance, .logs .text, "
    "input, textarea, select, code"
)
AA_TEXT = 4.5
AA_BORDER = 3.0


def every_badge_and_toast(page: Page) -> None:
    """Badges of every kind and both toasts, drawn by the portal's own code."""
    page.evaluate(
        """async () => {
        const list = await import("/ui/js/list.js");
        const dom = await import("/ui/js/dom.js");
        const shelf = document.createElement("p");
        shelf.id = "all-badges";
        const states = [[1, 1], [2, 1], [0, 0]];
        for (const [replicas, availableReplicas] of states) {
            shelf.append(list.statusBadge({ replicas, availableReplicas }), " ");
        }
        const danger = dom.h("button", {type: "button", class: "danger filled"}, "Delete");
        shelf.append(danger);
        document.querySelector("main").append(shelf);
        dom.toast("Deployed something");
        dom.toast("Could not copy", "bad");
    }"""
    )


def low_contrast(page: Page) -> list[dict[str, Any]]:
    return [
        found
        for found in contrast(page, TEXT)
        if not found["disabled"]
        and (
            found["text"] < AA_TEXT or (found["border"] is not None and found["border"] < AA_BORDER)
        )
    ]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_pages_on_both_viewports_meet_aa_contrast(
    browser: Browser, faasbox: Server, ui_function: str, theme: str, shots: None
) -> None:
    httpx.post(f"{faasbox.url}/function/{ui_function}", content=b"hi").raise_for_status()
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        phone = viewport is PHONE
        s = Session(
            browser,
            faasbox,
            viewport=viewport,
            color_scheme=theme,
            is_mobile=phone,
            has_touch=phone,
        )
        try:
            page = s.page
            failures: dict[str, list[dict[str, Any]]] = {}

            page.goto("/ui/")
            expect(page.locator(f'tr[data-name="{ui_function}"]')).to_be_visible()
            shot(page, f"list-{label}-{theme}")
            failures["list"] = low_contrast(page)

            page.goto(f"/ui/#/fn/{ui_function}")
            page.get_by_label("Request body").fill("hello")
            page.get_by_role("button", name="Invoke").click()
            expect(page.get_by_test_id("invoke-status")).to_have_text("200 OK", timeout=SLOW)
            expect(page.get_by_role("log", name="Logs").locator(".line").first).to_be_visible(
                timeout=SLOW
            )
            if not phone:  # the charts need two reads of /metrics: shown on one viewport
                expect(page.locator('.chart[data-kind="bars"] rect.calls')).to_have_count(
                    1, timeout=20_000
                )
            shot(page, f"function-{label}-{theme}")
            failures["function"] = low_contrast(page)

            page.goto("/ui/#/store")
            expect(page.locator("article").first).to_be_visible()
            shot(page, f"store-{label}-{theme}")
            failures["store"] = low_contrast(page)

            page.goto("/ui/#/new")
            page.get_by_label("Name").fill("bad name!")
            page.get_by_role("button", name="Deploy").click()
            expect(page.locator(".form-summary")).to_be_visible()
            shot(page, f"form-{label}-{theme}")
            every_badge_and_toast(page)
            failures["form"] = low_contrast(page)
            measured = " ".join(found["what"] for found in contrast(page, TEXT))
            for drawn in (
                '"ready"',
                '"starting"',
                '"scaled to zero"',
                "danger.filled",
                "toast.bad",
                '"f-image"',
            ):
                assert drawn in measured, f"{drawn} was not measured"

            assert not any(failures.values()), failures
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        finally:
            s.close()
