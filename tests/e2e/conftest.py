"""One Chromium for the browser tests, logged-in sessions, and one function the portal
tests share (deploying is the slow part)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from faasbox.builder.resources import watchdog_app
from tests.support.api import deploy, wait_for
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, Session
from tests.support.engine import unique
from tests.support.images import Source, built_image
from tests.support.server import Server

# A classic-watchdog image without an fprocess of its own: the portal's fprocess field
# decides what the function does, as in the book's func_c.
DOCKERFILE = """\
ARG BASE
FROM ${BASE}
COPY fwatchdog.py /home/app/fwatchdog.py
USER 1000
EXPOSE 8080
CMD ["python3", "/home/app/fwatchdog.py"]
"""


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Package, not session: Playwright's loop stays marked running while it is open,
    # which would break asyncio tests collected after these.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shots() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nUI screenshots: {SHOTS.resolve()}")


@pytest.fixture(scope="session")
def watchdog_image(engine_ready: None) -> str:
    context: dict[str, Source] = {
        "Dockerfile": DOCKERFILE,
        "fwatchdog.py": watchdog_app(),
    }
    return built_image("ui-watchdog", context)


@pytest.fixture
def session(browser: Browser, faasbox: Server) -> Iterator[Session]:
    s = Session(browser, faasbox)
    yield s
    s.close()


@pytest.fixture(scope="session")
def ui_function(faasbox: Server, watchdog_image: str) -> Iterator[str]:
    """A function (`tr a-z A-Z`) the portal tests share; gone after the session."""
    name = unique("fb16-ui")
    with faasbox.client() as client:
        deploy(client, name, watchdog_image, envProcess="tr a-z A-Z").raise_for_status()
        wait_for(client, name, available=1)
    yield name
    with faasbox.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": name})
