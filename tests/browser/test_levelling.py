"""Levelled booking in the browser (issue 19 items 3 and 4): the suggestions and their
reasons, the year ahead, and moving a series, each page axe-clean at 1366 px and on a phone,
and the series moved with the keyboard alone."""

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from schedules import services
from tests.factories import (
    DOSE_7,
    DOSE_8,
    MONDAY,
    booking_of,
    course_with_doses_7_and_8_booked,
    frozen,
    open_slot,
)
from tests.support.browser import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SIZES = [(1366, 900), (390, 844)]
# Screenshots to look at, when asked for (SCREENSHOTS=dir); passing tests write nothing.
SHOTS = os.environ.get("SCREENSHOTS", "")


def audit(page, name: str, width: int) -> list[str]:
    """Serious or critical axe violations, and sideways scrolling on a phone."""
    page.add_script_tag(content=AXE.read_text())
    found = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => ({id: v.id, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    problems = [f"{name} {width}px: {json.dumps(v)}" for v in found]
    if page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
    ):
        problems.append(f"{name} {width}px scrolls sideways")
    if SHOTS:
        Path(SHOTS).mkdir(exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    return problems


@pytest.fixture
def axe_page(page):
    """A page whose context lets the test inject axe-core (the app's CSP forbids inline
    script, rightly; the audit script is the test's, not the page's)."""
    context = page.context.browser.new_context(locale="en-GB", bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def monday_morning():
    with frozen(MONDAY, 8, tick=True):
        yield


@pytest.fixture
def maintenance(unit, patient, nurse):
    """Doses 1–6 given, dose 7 booked Tue 10 Mar and dose 8 Tue 7 Apr, and free slots over
    the next weeks so both windows and the year's chain have choices."""
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    for day in range(0, 60):
        when = MONDAY + timedelta(days=day)
        if when.weekday() < 5:
            open_slot(unit, when)
    return course


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_series_move_pages_are_axe_clean_and_keyboard_usable(
    live_server, unit, patient, nurse, monday_morning, maintenance, axe_page, size
):
    page, (width, height) = axe_page, size
    seven = booking_of(maintenance, 7)
    target = open_slot(unit, DOSE_7 + timedelta(days=3))
    log_in(page, live_server, "nurse")
    page.set_viewport_size({"width": width, "height": height})
    problems = []

    page.goto(
        live_server.url + reverse("schedules:reschedule", args=[seven.pk]) + f"?slot={target.pk}"
    )
    preview = page.locator("#change-preview")
    expect(preview).to_contain_text("Move the later doses with it")
    expect(preview).to_contain_text("Dose 8: Tue 7 Apr 2026, 09:00 →")
    problems += audit(page, "reschedule-series", width)

    # The keyboard alone: focus the button and press Enter.
    button = page.get_by_role("button", name="Move dose 7 and 1 later dose")
    button.focus()
    page.keyboard.press("Enter")
    moved = page.locator(".series-moved")
    expect(moved).to_contain_text("Doses moved together")
    expect(moved).to_contain_text("Dose 7: Tue 10 Mar 2026, 09:00 →")
    expect(moved.get_by_role("link", name="Reprint the letter")).to_be_visible()
    problems += audit(page, "series-moved", width)
    assert booking_of(maintenance, 7).local_date == DOSE_7 + timedelta(days=3)
    assert booking_of(maintenance, 8).local_date > DOSE_8

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_suggestion_pages_show_their_reasons_and_are_axe_clean(
    live_server, unit, patient, nurse, monday_morning, maintenance, axe_page, size
):
    page, (width, height) = axe_page, size
    log_in(page, live_server, "nurse")
    page.set_viewport_size({"width": width, "height": height})
    problems = []
    # Dose 7 and 8 cancelled, so the book pages have doses to suggest.
    services.cancel_booking(booking=booking_of(maintenance, 8), reason="Test", cancelled_by=nurse)
    services.cancel_booking(booking=booking_of(maintenance, 7), reason="Test", cancelled_by=nurse)

    page.goto(live_server.url + reverse("schedules:book", args=[maintenance.pk, 7]))
    expect(page.locator(".slot-reason").first).to_be_visible()
    expect(page.get_by_text("Suggested")).to_be_visible()
    problems += audit(page, "book-levelled", width)

    page.goto(live_server.url + reverse("schedules:book_next", args=[maintenance.pk]) + "?year=1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Book the year ahead")
    expect(page.locator(".book-next-reason").first).to_contain_text("places booked")
    problems += audit(page, "year-ahead", width)

    page.goto(live_server.url + reverse("schedules:needs_booking"))
    problems += audit(page, "needs-booking", width)
    assert not problems, "\n".join(problems)
