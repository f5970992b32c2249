"""Previews in the browser (issue 10): a nurse moves dose 7 and sees, before confirming, that
dose 8 becomes too early and the letter must be reprinted; a clinician pauses and sees the
bookings it cancels; a form left empty shows the server's error summary, not a bubble."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from schedules.models import Booking, TreatmentCourse
from tests.factories import (
    DOSE_7,
    LONDON,
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


@pytest.fixture
def monday_morning():
    # tick=True: the clock runs on from Monday 08:00, so the browser's timers behave.
    with frozen(MONDAY, 8, tick=True):
        yield


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_nurse_sees_what_moving_dose_7_changes_then_confirms(
    live_server, unit, patient, nurse, monday_morning, page, screenshot, size
):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    open_slot(unit, DOSE_7 + timedelta(days=1))
    open_slot(unit, DOSE_7, 11)
    seven = booking_of(course, 7)

    log_in(page, live_server, "nurse")
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(live_server.url + reverse("schedules:reschedule", args=[seven.pk]))
    preview = page.locator("#change-preview")
    # The first slot in the window is checked, and its preview is already shown.
    expect(preview).to_contain_text("Dose 7 moves from Tue 10 Mar 2026, 09:00")
    expect(preview).to_contain_text("to Tue 10 Mar 2026, 11:00")
    # The letter prints the time too, so even a move on the same day means reprinting it.
    expect(preview).to_contain_text("Reprint the schedule letter")
    expect(preview).to_contain_text("No other dose moves")

    # Choosing another slot updates the preview in place (htmx): dose 8 becomes too early.
    page.get_by_label("Wed 11 Mar 2026, 09:00").check()
    expect(preview).to_contain_text("to Wed 11 Mar 2026, 09:00")
    expect(preview).to_contain_text("Dose 8, booked Tue 7 Apr 2026, 09:00, will be too early")
    expect(preview.get_by_role("link", name="Open the letter")).to_be_visible()
    screenshot(f"reschedule-preview-{size[0]}")
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0]

    page.get_by_role("button", name="Move to this slot").click()
    expect(page.get_by_role("alert").first).to_contain_text("Moved dose 7")
    moved = booking_of(course, 7)
    assert moved.slot.start == datetime(2026, 3, 11, 9, tzinfo=LONDON)
    page.goto(live_server.url + reverse("schedules:overdue"))
    expect(page.get_by_text("Too early").first).to_be_visible()


def test_without_javascript_the_preview_is_a_second_step(
    live_server, unit, patient, nurse, monday_morning, page
):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    open_slot(unit, DOSE_7 + timedelta(days=1))
    open_slot(unit, DOSE_7, 11)  # checked first: the page previews it
    seven = booking_of(course, 7)
    page.context.route("**/django_htmx/**", lambda route: route.abort())

    log_in(page, live_server, "nurse")
    page.goto(live_server.url + reverse("schedules:reschedule", args=[seven.pk]))
    page.get_by_label("Wed 11 Mar 2026, 09:00").check()
    page.get_by_role("button", name="Move to this slot").click()

    preview = page.locator("#change-preview")
    expect(preview).to_contain_text("Check it, then confirm again")
    expect(preview).to_contain_text("will be too early")
    assert booking_of(course, 7).slot_id == seven.slot_id
    page.get_by_role("button", name="Move to this slot").click()
    expect(page.get_by_role("alert").first).to_contain_text("Moved dose 7")


def test_clinician_pauses_seeing_the_bookings_it_cancels(
    live_server, unit, patient, nurse, clinician, monday_morning, page, screenshot
):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)

    log_in(page, live_server, "clinician")
    page.goto(live_server.url + reverse("patients:detail", args=[patient.pk]))
    page.get_by_role("link", name="Pause").click()
    cancelled = page.get_by_role("list", name="Bookings to cancel")
    expect(cancelled.get_by_role("listitem")).to_have_text(
        ["Dose 7: Tue 10 Mar 2026, 09:00", "Dose 8: Tue 7 Apr 2026, 09:00"]
    )
    expect(page.locator("#change-preview")).to_contain_text("Reprint the schedule letter")
    page.get_by_label("Reason").select_option(label="Side effects")
    screenshot("pause-preview")
    page.get_by_role("button", name="Pause treatment").click()

    expect(page.get_by_role("alert").first).to_contain_text("2 future booking(s) cancelled")
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.PAUSED
    assert not Booking.objects.active().exists()


def test_an_empty_required_field_shows_the_error_summary_with_focus(
    live_server, unit, patient, clinician, monday_morning, page
):
    log_in(page, live_server, "clinician")
    page.goto(live_server.url + reverse("courses:start", args=[patient.pk]))
    page.get_by_label("Start date").fill("")
    page.get_by_role("button", name="Start treatment course").click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_be_focused()
