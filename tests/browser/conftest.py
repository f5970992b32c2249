"""Playwright (sync API) driving Debian's Chromium headless against pytest-django's live server.

These tests are never skipped: without Chromium at /usr/bin/chromium they fail, so CI cannot
report them as passing when they did not run.
"""

import os
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
# itself (setup, assertions) are still synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def page(transactional_db, live_server):
    """A fresh headless Chromium page per test.

    Started after the test database is set up, not once per session: while Playwright's sync
    API is running, Django's connection objects are looked up in a different async context,
    so a session-wide browser would make pytest-django restore the data migrations' rows
    (the staff roles) on a connection object that does not hold the serialized copy.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        context.set_default_timeout(10_000)
        yield context.new_page()
        context.close()
        browser.close()
        # Queries the test made while Playwright ran used connections of that async context;
        # close them here, where they are visible, or the test database cannot be dropped.
        connections.close_all()


@pytest.fixture
def screenshot(page, request):
    """screenshot("name") saves test-artifacts/<test>-<name>.png (full page)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
