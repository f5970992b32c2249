"""The walk of issue 20 in Chromium: sign-in lands on Today, which on a Sunday shows Monday's
list and says so; Follow-up calls and Capacity are in the menu on a phone, by keyboard; the
follow-up call's headache triage appears when the outcome is a headache. Each page is checked
with axe-core (no serious or critical violation) at 1366 and 390 px; screenshots go to
test-artifacts/walk/ (or WALK_SCREENSHOTS) to be looked at."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from schedules import services
from tests.factories import (
    GIVEN_ELSEWHERE,
    MONDAY,
    PASSWORD,
    VIAL,
    at,
    book,
    frozen,
    make_course,
    make_patient,
    open_slot,
)
from tests.support.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("WALK_SCREENSHOTS", ARTIFACTS / "walk"))
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture
def page(transactional_db, live_server):
    """A Chromium page that lets the test inject axe-core (bypass_csp: the script is the
    test's, not the page's; the site's own CSP is tested in test_csp.py)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(locale="en-GB", bypass_csp=True)
        context.set_default_timeout(10_000)
        yield context.new_page()
        context.close()
        browser.close()
        connections.close_all()


def _axe_violations(page) -> list[dict]:
    page.add_script_tag(content=AXE.read_text())
    found = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}}))
            .violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def _check(page, name: str, size: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
    assert _axe_violations(page) == [], f"{name} at {size}"
    if size == "phone":
        wide = page.evaluate(
            "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
        )
        assert not wide, f"{name} scrolls sideways on a phone"


def _sign_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("size", SIZES)
def test_sunday_sign_in_lands_on_mondays_list(live_server, page, unit, nurse, size):
    with frozen(MONDAY - timedelta(days=3)):
        book(make_course(make_patient(), start=MONDAY), 1, open_slot(unit, MONDAY), nurse)
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    with frozen(MONDAY - timedelta(days=1), 10, tick=True):
        _sign_in(page, live_server, "nurse")
        page.wait_for_url(f"**{reverse('schedules:today')}")
        expect(
            page.get_by_text("The unit is closed today; showing Mon 2 Mar 2026.")
        ).to_be_visible()
        expect(page.get_by_role("heading", name="Day list: Mon 2 Mar 2026")).to_be_visible()
        expect(page.get_by_text("Ada Lovelace").first).to_be_visible()
        _check(page, "today-sunday", size)


def test_the_phone_menu_opens_by_keyboard_and_holds_follow_up_calls_and_capacity(
    live_server, page, unit, nurse
):
    page.set_viewport_size({"width": 390, "height": 844})
    with frozen(MONDAY, 8, tick=True):
        _sign_in(page, live_server, "nurse")
        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_be_visible()
        expect(page.locator("#nav").get_by_role("link", name="Capacity")).to_be_hidden()
        menu.focus()
        page.keyboard.press("Enter")
        nav = page.locator("#nav")
        expect(nav.get_by_role("link", name="Capacity")).to_be_visible()
        expect(nav.get_by_role("link", name="Follow-up calls")).to_be_visible()
        _check(page, "menu-open", "phone")
        nav.get_by_role("link", name="Follow-up calls").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Follow-up calls")).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_the_headache_triage_appears_with_the_headache_outcome(
    live_server, page, unit, patient, clinician, nurse, size
):
    with frozen(MONDAY, 12):
        course = make_course(patient, start=MONDAY)
        services.record_administration(
            dose=services.dose_for(course=course, number=1),
            given_at=at(MONDAY, 10),
            recorded_by=clinician,
            **VIAL,
            **GIVEN_ELSEWHERE,
        )
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    with frozen(MONDAY + timedelta(days=1), 9, tick=True):
        _sign_in(page, live_server, "nurse")
        page.goto(live_server.url + reverse("schedules:follow_up"))
        outcome = page.get_by_label("Outcome of the call to Ada Lovelace")
        expect(outcome).to_have_value("")
        triage = page.get_by_role("group", name="If a headache: the triage")
        expect(triage).to_be_hidden()
        _check(page, "follow-up", size)
        outcome.select_option("headache")
        expect(triage).to_be_visible()
        triage.get_by_label("Post-lumbar-puncture headache").check()
        triage.get_by_label("How severe").select_option("mild")
        triage.get_by_label("Hours since it started").fill("20")
        triage.get_by_label("worse sitting or standing").check()
        _check(page, "follow-up-headache", size)
        page.get_by_role("button", name="Save call").click()
        expect(page.get_by_text("Call recorded with the headache triage")).to_be_visible()
        outcome_again = page.get_by_label("Outcome of the call to Ada Lovelace")
        expect(outcome_again).to_have_count(0)
