"""The flow board in the browser (issue 10, item 1): a whole visit from the board, each POST
step updating its row in place with htmx (no page reload), undo of Arrived and of Did not
attend, the same buttons without JavaScript, and the board at 1366 px, on a phone and printed.

The refusal of an undo after its ten minutes is proved in tests/visits/test_flow_board.py with a
frozen clock (moving the browser's clock past the window would also pass the idle sign-out).
"""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from schedules import services
from schedules.models import Booking, Slot
from tests.factories import PASSWORD, frozen, give_dose, make_course, make_patient
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, answer_checks, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)


@pytest.fixture
def two_booked_today(unit, nurse):
    """Grace Hopper and Alan Turing, dose 1 each at 09:00 today (a slot of two places)."""
    with frozen(MONDAY, 8, tick=True):
        services.generate_slots(unit=unit, weeks=6)
        slot = Slot.objects.on_day(unit, MONDAY).order_by("start").first()
        bookings = []
        for number, (given, family) in enumerate((("Grace", "Hopper"), ("Alan", "Turing"))):
            patient = make_patient(
                f"H12345{number}",
                given_name=given,
                family_name=family,
                nhs_number=("9434765919", "4010232137")[number],
            )
            course = make_course(patient, start=MONDAY)
            bookings.append(
                services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
            )
        yield bookings


def row(page, name="Grace Hopper"):
    return page.locator("tr.board-row").filter(has_text=name)


def mark_page(page):
    """A flag on the window: it survives an htmx swap, a full page load clears it."""
    page.evaluate("window.__marker = 1")


def still_same_page(page) -> bool:
    return page.evaluate("window.__marker === 1")


def test_a_whole_visit_on_the_board_updates_in_place(
    live_server, two_booked_today, clinician, page, screenshot
):
    grace = two_booked_today[0]
    with frozen(MONDAY, 9, 5, tick=True):
        log_in(page, live_server, "clinician")
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(live_server.url + reverse("schedules:today"))
        expect(page.locator(".slot-head").first).to_contain_text("2 of 2 places booked")
        expect(row(page)).to_contain_text("943 476 5919")
        screenshot("board-desktop-booked")

        mark_page(page)
        row(page).get_by_role("button", name="Arrived").click()
        expect(row(page)).to_contain_text("Arrived 09:")
        expect(page.locator("#messages")).to_contain_text("Grace Hopper has arrived")
        assert still_same_page(page), "the page reloaded"

        # The checks and the dose are forms on their own pages, which come back to the board.
        row(page).get_by_role("link", name="Pre-dose checks").click()
        answer_checks(page)
        page.get_by_role("button", name="Save checks").click()
        expect(page.locator("#messages")).to_contain_text("Pre-dose checks complete")
        row(page).get_by_role("link", name="Record dose given").click()
        page.get_by_label("Lumbar puncture by").fill("Dr Lumbar")
        page.get_by_label("Volume injected").fill("15")
        page.get_by_label("CSF removed").fill("10")
        page.get_by_label("Vial batch").fill("QX123")
        page.get_by_label("Vial expiry").fill("2027-01-31")
        page.get_by_role("button", name="Record dose given").click()
        expect(page.locator("#messages")).to_contain_text("Dose 1 recorded as given")
        expect(row(page).locator("[data-stage]").first).to_have_text("Given")

        mark_page(page)
        row(page).get_by_role("button", name="Start observation").click()
        expect(row(page)).to_contain_text("In observation since")
        expect(row(page)).to_contain_text("minimum (60 min) ends")
        assert still_same_page(page)
        screenshot("board-desktop-observation")

        # Discharged early: a confirmation and the reason, kept on the visit (issue 17 §5).
        row(page).get_by_role("button", name="Discharge").click()
        expect(page.get_by_role("heading", name="Discharge before 60 minutes")).to_be_visible()
        expect(page.locator("#messages")).to_contain_text("the leaflet asks for 60–90 minutes")
        page.get_by_label("I confirm").check()
        page.get_by_label("Why the patient leaves early").fill("Transport waiting, feels well")
        page.get_by_role("button", name="Discharge now").click()
        expect(row(page)).to_contain_text("Discharged 09:")
        expect(page.locator("#messages")).to_contain_text("before the leaflet's 60 minutes")
        expect(row(page).get_by_role("button")).to_have_count(0)
    assert Booking.objects.get(pk=grace.pk).stage == "discharged"


def test_arrived_and_did_not_attend_are_undone_in_place(
    live_server, two_booked_today, nurse, page, screenshot
):
    grace, alan = two_booked_today
    with frozen(MONDAY, 9, 5, tick=True):
        log_in(page, live_server, "nurse")
        page.goto(live_server.url + reverse("schedules:today"))
        mark_page(page)
        row(page).get_by_role("button", name="Arrived").click()
        expect(row(page)).to_contain_text("Arrived 09:")
        row(page).get_by_role("button", name="Undo arrived").click()
        expect(page.locator("#messages")).to_contain_text("Arrival undone")
        expect(row(page).get_by_role("button", name="Arrived")).to_be_visible()

        alan_row = row(page, "Alan Turing")
        alan_row.locator("summary").click()  # "More": the quieter actions
        alan_row.get_by_role("button", name="Did not attend").click()
        expect(alan_row).to_contain_text("Did not attend")
        expect(page.locator(".slot-head").first).to_contain_text("1 of 2 places booked · 1 free")
        screenshot("undo-offered")
        alan_row.get_by_role("button", name="Undo did not attend").click()
        expect(page.locator("#messages")).to_contain_text("'Did not attend' undone")
        expect(page.locator(".slot-head").first).to_contain_text("2 of 2 places booked")
        assert still_same_page(page)
    assert Booking.objects.get(pk=grace.pk).status == "booked"
    assert Booking.objects.get(pk=alan.pk).status == "booked"


def test_without_javascript_the_buttons_post_and_come_back(live_server, two_booked_today, nurse):
    with (
        frozen(MONDAY, 9, 5, tick=True),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(java_script_enabled=False, locale="en-GB")
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(live_server.url + reverse("login"))
        page.get_by_label("Username").fill("nurse")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(live_server.url + reverse("schedules:today"))
        row(page).get_by_role("button", name="Arrived").click()
        expect(page.get_by_role("alert").first).to_contain_text("Grace Hopper has arrived")
        assert page.url == live_server.url + reverse("schedules:today")
        row(page).get_by_role("button", name="Undo arrived").click()
        expect(page.get_by_role("alert").first).to_contain_text("Arrival undone")
        # "More" is a <details>: it opens without JavaScript.
        row(page, "Alan Turing").locator("summary").click()
        row(page, "Alan Turing").get_by_role("button", name="Did not attend").click()
        expect(page.get_by_role("alert").first).to_contain_text("Alan Turing did not attend")
        context.close()
        browser.close()
    assert Booking.objects.get(pk=two_booked_today[0].pk).status == "booked"
    assert Booking.objects.get(pk=two_booked_today[1].pk).status == "noshow"
    connections.close_all()  # opened while Playwright ran (see the `page` fixture)


def test_the_board_on_a_phone_and_on_paper(live_server, two_booked_today, nurse, page, screenshot):
    with frozen(MONDAY, 9, 5, tick=True):
        log_in(page, live_server, "nurse")
        services.mark_arrived(booking=two_booked_today[1], marked_by=nurse)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(live_server.url + reverse("schedules:today"))
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        ), "the board scrolls sideways on a phone"
        card = row(page).bounding_box()
        button = row(page).get_by_role("button", name="Arrived").bounding_box()
        assert button["width"] > card["width"] * 0.85, "the next step is not full width"
        expect(row(page).get_by_role("cell", name="NHS no.: 943 476 5919")).to_be_visible()
        screenshot("board-phone")

        page.set_viewport_size({"width": 1366, "height": 900})
        page.emulate_media(media="print")
        expect(page.get_by_role("button")).to_have_count(0)  # Print, Arrived, Log out...
        expect(page.get_by_role("button", name="Arrived")).to_be_hidden()
        expect(page.locator("details")).to_have_count(2)
        expect(page.locator("details").first).to_be_hidden()
        for heading in ("Time", "Arrived", "Checks", "Given", "Obs end", "Discharged"):
            expect(page.get_by_role("columnheader", name=heading, exact=True)).to_be_visible()
        expect(page.locator(".badge:visible")).to_have_count(0)
        expect(page.get_by_text("Neurology Day Unit · printed Mon 2 Mar 2026")).to_be_visible()
        link_colour = (
            row(page)
            .get_by_role("link", name="Grace Hopper")
            .evaluate(
                "a => getComputedStyle(a).color + ' ' + getComputedStyle(a).textDecorationLine"
            )
        )
        assert link_colour == "rgb(0, 0, 0) none"
        screenshot("board-print")


def test_the_observation_timer_counts_on_without_a_request(
    live_server, two_booked_today, clinician, nurse, page
):
    """Minutes since observation started, counted on in the page (static/js/app.js) from what
    the server rendered: no polling, so an open board does not keep a session signed in."""
    grace = two_booked_today[0]
    with frozen(MONDAY, 9, 5, tick=True):
        give_dose(grace.dose, timezone.now(), clinician)
        services.start_observation(booking=grace, recorded_by=nurse)
    with frozen(MONDAY, 9, 17, 30, tick=True):
        page.clock.install()
        log_in(page, live_server, "nurse")
        page.goto(live_server.url + reverse("schedules:today"))
        timer = row(page).locator("[data-minutes]")
        expect(timer).to_have_text("12 min")
        page.clock.run_for("05:10")
        expect(timer).to_have_text("17 min")
        expect(row(page)).to_contain_text("minimum (60 min) ends 10:05")
