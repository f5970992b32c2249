"""The visit in the browser (issue 7): a full visit from arrival to the next day's follow-up
call; a visit ended as not given and rebooked; a serious event holding the course until a
clinician releases it."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from schedules import services
from schedules.models import Booking, FollowUpCall, Slot, TreatmentCourse
from tests.factories import frozen, make_course, make_patient
from tests.support.browser import answer_checks, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)


@pytest.fixture
def booked_today(unit, nurse):
    with frozen(MONDAY, 8, tick=True):
        services.generate_slots(unit=unit, weeks=6)
        patient = make_patient("H123456", given_name="Grace", family_name="Hopper")
        course = make_course(patient, start=MONDAY)
        slot = Slot.objects.on_day(unit, MONDAY).order_by("start").first()
        booking = services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
        yield booking


def row(page):
    return page.get_by_role("row").filter(has_text="Grace Hopper")


def arrive_and_check(page):
    row(page).get_by_role("button", name="Arrived").click()
    expect(page.get_by_role("alert").first).to_contain_text("Grace Hopper has arrived")
    row(page).get_by_role("link", name="Pre-dose checks").click()
    expect(page.get_by_role("heading", name="Pre-dose checks")).to_be_visible()
    answer_checks(page)
    page.get_by_role("button", name="Save checks").click()
    expect(page.get_by_role("alert").first).to_contain_text("Pre-dose checks complete")


def test_full_visit_from_arrival_to_the_follow_up_call(
    live_server, booked_today, clinician, nurse, page, screenshot
):
    with frozen(MONDAY, 9, 5, tick=True):
        log_in(page, live_server, "clinician")
        page.goto(live_server.url + reverse("schedules:today"))
        arrive_and_check(page)
        row(page).get_by_role("link", name="Record dose given").click()
        page.get_by_label("Lumbar puncture by").fill("Dr Lumbar")
        page.get_by_label("Volume injected").fill("15")
        page.get_by_label("CSF removed").fill("10")
        page.get_by_label("Vial batch").fill("QX123")
        page.get_by_label("Vial expiry").fill("2027-01-31")
        page.get_by_role("button", name="Record dose given").click()
        expect(page.get_by_role("alert").first).to_contain_text("Dose 1 recorded as given")
        row(page).get_by_role("button", name="Start observation").click()
        expect(row(page)).to_contain_text("In observation")
        screenshot("observation")
    with frozen(MONDAY, 10, 30, tick=True):
        # 85 minutes without a click: the idle timeout (30 minutes) has signed her out.
        log_in(page, live_server, "clinician")
        page.goto(live_server.url + reverse("schedules:today"))
        row(page).get_by_role("button", name="Discharge").click()
        expect(row(page)).to_contain_text("Discharged")
        expect(page.get_by_text("the leaflet asks for 60–90 minutes")).to_have_count(0)
    with frozen(date(2026, 3, 3), 10, tick=True):
        log_in(page, live_server, "nurse")  # the next day: a nurse makes the calls
        page.goto(live_server.url + reverse("schedules:follow_up"))
        call = row(page)
        expect(call).to_contain_text("Dose 1")
        call.get_by_label("Outcome of the call").select_option("no_problems")
        call.get_by_role("button", name="Save call").click()
        expect(page.get_by_role("alert").first).to_contain_text("Call recorded: No problems")
        expect(page.get_by_text("No calls to make")).to_be_visible()
        screenshot("follow-up-done")
    assert FollowUpCall.objects.get().outcome == "no_problems"
    booking = Booking.objects.get(pk=booked_today.pk)
    assert booking.stage == "discharged"


def test_visit_ended_not_given_is_rebooked(live_server, booked_today, nurse, page, screenshot):
    with frozen(MONDAY, 9, 5, tick=True):
        log_in(page, live_server, "nurse")
        page.goto(live_server.url + reverse("schedules:today"))
        arrive_and_check(page)
        row(page).locator("summary").click()  # "More": the flow board's quieter actions
        row(page).get_by_role("link", name="Not given").click()
        page.get_by_label("Reason").select_option("lp_unsuccessful")
        page.get_by_role("button", name="Record not given").click()
        expect(page.get_by_role("alert").first).to_contain_text("Dose 1 not given")
        expect(row(page)).to_contain_text("Lumbar puncture unsuccessful")
        # Due today, so it is back on Needs booking (once overdue, on Overdue & rebook).
        page.goto(live_server.url + reverse("schedules:needs_booking"))
        screenshot("rebook")
        row(page).get_by_role("button", name="Book Mon 2 Mar 2026, 13:00").click()
        expect(page.get_by_role("alert").first).to_contain_text("Booked dose 1")
    active = Booking.objects.active().get(dose=booked_today.dose)
    assert active.slot.start == datetime(2026, 3, 2, 13, tzinfo=LONDON)
    assert Booking.objects.get(pk=booked_today.pk).status == "not_given"


def test_serious_event_holds_the_course_until_a_clinician_releases_it(
    live_server, booked_today, clinician, page, screenshot
):
    course = booked_today.dose.course
    with frozen(MONDAY, 9, 5, tick=True):
        log_in(page, live_server, "clinician")
        page.goto(live_server.url + reverse("patients:detail", args=[course.patient_id]))
        page.get_by_role("link", name="Record adverse event").click()
        page.get_by_label("Term").select_option("aseptic_meningitis")
        page.get_by_role("button", name="Record adverse event").click()
        expect(page.get_by_role("alert").filter(has_text="Treatment is on hold")).to_be_visible()
        expect(page.get_by_text("On hold for clinical review").first).to_be_visible()
        screenshot("held")
        page.goto(live_server.url + reverse("schedules:overdue"))
        expect(page.get_by_role("table", name="On hold for clinical review")).to_contain_text(
            "Grace Hopper"
        )
        page.get_by_role("link", name="Review").click()
        page.get_by_label("Decision").select_option("continue")
        page.get_by_label("Review note").fill("Neurology review: resolved, continue.")
        page.get_by_role("button", name="Record review decision").click()
        expect(page.get_by_role("alert").first).to_contain_text("Treatment continues")
        expect(page.get_by_text("On hold for clinical review")).to_have_count(0)
    assert TreatmentCourse.objects.get(pk=course.pk).status == "active"
