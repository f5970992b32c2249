"""The waitlist in a real browser (issue 19 item 5): the offer on the book-a-day page, the
waitlist page and the booking page's form are axe clean at 1366 px and on a phone, and the
offer's "Move here" works from the keyboard. Screenshots: /tmp/notices/waitlist-*.png."""

import tempfile
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from schedules import services
from schedules.models import Booking, Slot, WaitlistEntry
from tests.factories import PASSWORD, frozen, make_patient, make_user, six_doses_given
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, axe_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MONDAY = date(2026, 3, 2)
BOOKED = date(2026, 3, 17)  # dose 7 due Tue 10 Mar; window 10-17 Mar
WEDNESDAY = date(2026, 3, 11)
SHOTS = Path(tempfile.gettempdir()) / "notices"
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def test_waitlist_pages_are_axe_clean_and_move_here_works_by_keyboard(live_server, unit):
    SHOTS.mkdir(exist_ok=True)
    with frozen(MONDAY, 8, tick=True):
        services.generate_slots(unit=unit, weeks=3)
        nurse = make_user("nurse", "Nurse")
        course = six_doses_given(make_patient("H100001", given_name="Ada", family_name="Byron"))
        slot = Slot.objects.filter(start__date=BOOKED).order_by("start").first()
        booking = services.book_dose_number(course=course, number=7, slot=slot, booked_by=nurse)
        services.set_waitlist(booking=booking, notice_days=3, this_dose_only=False, set_by=nurse)
        pages = {
            "book-day": reverse("schedules:book_day", args=[WEDNESDAY]),
            "waitlist": reverse("schedules:waitlist"),
            "booking": reverse("schedules:booking", args=[booking.pk]),
        }
        failures = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            for size, (width, height) in SIZES.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height}, locale="en-GB", bypass_csp=True
                )
                context.set_default_timeout(10_000)
                page = context.new_page()
                page.goto(live_server.url + reverse("login"))
                page.get_by_label("Username").fill("nurse")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(lambda url: reverse("login") not in url)
                for name, url in pages.items():
                    page.goto(live_server.url + url)
                    page.screenshot(path=str(SHOTS / f"waitlist-{name}-{size}.png"), full_page=True)
                    failures += [f"{size} {name}: {v}" for v in axe_violations(page)]
                    wide = page.evaluate(
                        "() => document.documentElement.scrollWidth > "
                        "document.documentElement.clientWidth + 1"
                    )
                    if wide:
                        failures.append(f"{size} {name}: scrolls sideways")
                if size == "phone":
                    page.goto(live_server.url + pages["book-day"])
                    move = page.locator("[data-waitlist-offers]").get_by_role(
                        "button", name="Move here"
                    )
                    expect(move).to_have_accessible_name(
                        "Move here for Ada Byron, dose 7, to Wed 11 Mar 2026, 09:00"
                    )
                    move.focus()
                    page.keyboard.press("Enter")
                    expect(page.get_by_text("Moved dose 7 for Ada Byron")).to_be_visible()
                context.close()
            browser.close()
    assert failures == []
    moved = Booking.objects.active().get(dose__course=course, dose__number=7)
    assert moved.local_date == WEDNESDAY
    assert not WaitlistEntry.objects.exists()
