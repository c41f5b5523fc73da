"""Driving the portal in Debian's Chromium through Playwright: launch flags, a logged-in
session that collects the page's JavaScript errors, screenshots, and the WCAG contrast
of what the page draws, computed in the page itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.engine import REPO
from tests.support.server import Server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = REPO / "artifacts" / "ui"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# The invoke path may still be settling replicas right after a deploy or scale.
SLOW = 60_000


class Session:
    """A logged-in browser context with the page's JavaScript errors collected."""

    def __init__(self, browser: Browser, server: Server, **options: Any) -> None:
        self.context: BrowserContext = browser.new_context(
            base_url=server.url,
            http_credentials={"username": server.user, "password": server.password},
            **options,
        )
        self.context.set_default_timeout(15_000)
        self.errors: list[str] = []
        self.page: Page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], f"JavaScript errors in the portal: {self.errors}"


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# For every element matched: its text colour against the first opaque background
# behind it (WCAG relative luminance), and for form fields, the border against that.
CONTRAST_JS = """selector => {
  const rgb = (text) => {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const lum = ({ r, g, b }) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (x, y) => {
    const [hi, lo] = [lum(x), lum(y)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
  const behind = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return rgb(getComputedStyle(document.body).backgroundColor);
  };
  return [...document.querySelectorAll(selector)]
    .filter((el) => el.getClientRects().length
      && (el.matches("input, textarea, select") || el.textContent.trim()))
    .map((el) => {
      const style = getComputedStyle(el);
      const bg = behind(el);
      const field = el.matches("input, textarea, select");
      const outer = field ? behind(el.parentElement) : bg;
      return {
        what: `${el.tagName.toLowerCase()}.${[...el.classList].join(".")} `
          + `"${(el.textContent.trim() || el.id).slice(0, 30)}"`,
        text: ratio(rgb(style.color), bg),
        border: field ? ratio(rgb(style.borderTopColor), outer) : null,
        disabled: el.matches(":disabled"),
      };
    });
}"""


def contrast(page: Page, selector: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(CONTRAST_JS, selector)
    return found
