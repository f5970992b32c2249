"""Playwright (sync API) driving Debian's Chromium headless against pytest-django's live server.

These tests are never skipped: without Chromium at /usr/bin/chromium they fail, so CI cannot
report them as passing when they did not run.
"""

import os
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

from tests.support.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

CALL_FAILED = pytest.StashKey[bool]()

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
# itself (setup, assertions) are still synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


@pytest.fixture
def screenshot(page, request):
    """screenshot("name") marks a step; if the test then fails, the page as it was at the
    failure is saved as test-artifacts/<test>-failed-after-<name>.png (full page). Passing
    tests write nothing: 250 screenshots a run cost minutes and nobody looked at them."""
    steps = []

    def take(name: str) -> None:
        steps.append(name)

    yield take
    if request.node.stash.get(CALL_FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        after = steps[-1] if steps else "start"
        page.screenshot(
            path=str(ARTIFACTS / f"{request.node.name}-failed-after-{after}.png"), full_page=True
        )
