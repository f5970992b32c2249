"""The Quality page in Chromium: axe clean at 1366 px and on a phone (390 px), no sideways
scroll outside a chart's or table's own scroll area, nothing refused by the CSP, and
screenshots to look at (test-artifacts/quality-<size>.png)."""

from pathlib import Path

import pytest
import time_machine
from django.db import connections
from django.urls import reverse
from playwright.sync_api import sync_playwright

from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.factories import PASSWORD, make_user
from tests.quality.conftest import TODAY, at, build_hand_unit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
QUERY = "?start=2026-01-01&end=2026-02-28"
# As tests/browser/test_accessibility.py audits every other page.
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
BLOCKING = {"serious", "critical"}


def _log_in(page, live_server):
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill("clinician")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: reverse("login") not in url)


def test_the_quality_page_is_accessible_at_both_sizes(live_server, unit):
    ARTIFACTS.mkdir(exist_ok=True)
    failures, refused = [], []
    with time_machine.travel(at(TODAY, 12), tick=True):
        build_hand_unit(unit, make_user("clinician", "Clinician"))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            # The CSP as served: no bypass, so anything the page needs inline is refused.
            strict = browser.new_context(locale="en-GB")
            page = strict.new_page()
            page.on(
                "console",
                lambda m: refused.append(m.text) if "Content Security Policy" in m.text else 0,
            )
            _log_in(page, live_server)
            page.goto(live_server.url + reverse("quality:page") + QUERY)
            assert page.locator("svg.chart").count() == 5
            strict.close()
            for size, (width, height) in SIZES.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height}, locale="en-GB", bypass_csp=True
                )
                page = context.new_page()
                _log_in(page, live_server)
                for name, query in (("", QUERY), ("-errors", "?start=2026-03-01&end=2026-01-01")):
                    page.goto(live_server.url + reverse("quality:page") + query)
                    page.add_script_tag(content=AXE.read_text())
                    violations = page.evaluate(
                        """async () => (await axe.run(document, {runOnly: {type: 'tag', values:
                            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa',
                             'best-practice']}})).violations.map(v => ({id: v.id,
                             impact: v.impact, nodes: v.nodes.slice(0, 3).map(
                             n => n.target.join(' '))}))"""
                    )
                    failures += [
                        f"{size}{name}: {v}" for v in violations if v["impact"] in BLOCKING
                    ]
                    if page.evaluate(
                        "() => document.documentElement.scrollWidth"
                        " > document.documentElement.clientWidth + 1"
                    ):
                        failures.append(f"{size}{name}: the page scrolls sideways")
                    page.screenshot(
                        path=str(ARTIFACTS / f"quality-{size}{name}.png"), full_page=True
                    )
                    # The first screen as a person sees it, at full resolution.
                    page.screenshot(path=str(ARTIFACTS / f"quality-{size}{name}-screen.png"))
                    if not name:
                        page.locator("#intervals").scroll_into_view_if_needed()
                        page.screenshot(path=str(ARTIFACTS / f"quality-{size}-tables.png"))
                        page.locator("figure.quality-chart").nth(3).screenshot(
                            path=str(ARTIFACTS / f"quality-{size}-chart.png")
                        )
                context.close()
            browser.close()
    connections.close_all()
    assert not refused, refused
    assert not failures, "\n".join(failures)
