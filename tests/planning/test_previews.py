"""Previews before a change is confirmed (issue 10): a reschedule, pause, resume, stop or a
closure shows what it will change, and what it shows is what happens."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from schedules import engine, planning, services
from schedules.models import Booking, Closure, TreatmentCourse
from tests.factories import (
    DOSE_7,
    DOSE_8,
    booking_of,
    course_with_doses_7_and_8_booked,
    make_patient,
    open_slot,
)

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 3, 2)  # a Monday


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(TODAY, 8)


def fingerprint(page: str) -> str:
    return re.search(r'name="previewed" value="([0-9a-f]+)"', page)[1]


def letter(client, patient) -> str:
    page = client.get(reverse("feeds:letter", args=[patient.pk])).content.decode()
    return page.split("<h1>Your appointments</h1>")[1].split("Your calendar link")[0]


# Reschedule -------------------------------------------------------------------------------------


def test_moving_dose_7_a_day_later_shows_dose_8_too_early_and_the_letter_to_reprint(
    unit, patient, nurse, nurse_client
):
    """The issue's scenario: moving dose 7 a day later silently made dose 8 too early and the
    letter still printed the old date. Now the page says so before the move is confirmed."""
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    seven, eight = booking_of(course, 7), booking_of(course, 8)
    wednesday = open_slot(unit, DOSE_7 + timedelta(days=1))
    url = reverse("schedules:reschedule", args=[seven.pk])
    letter_before = letter(nurse_client, patient)

    page = nurse_client.get(url, {"slot": wednesday.pk}).content.decode()

    preview = page.split('id="change-preview"')[1].split("</section>")[0]
    assert "Dose 7 moves from Tue 10 Mar 2026, 09:00 to Wed 11 Mar 2026, 09:00" in preview
    assert "Dose 8, booked Tue 7 Apr 2026, 09:00, will be too early" in preview
    assert "due Wed 8 Apr 2026" in preview
    assert reverse("schedules:reschedule", args=[eight.pk]) in preview
    assert "Reprint the schedule letter" in preview
    assert reverse("feeds:letter", args=[patient.pk]) in preview

    response = nurse_client.post(url, {"slot": wednesday.pk, "previewed": fingerprint(page)})

    assert response.status_code == 302
    assert booking_of(course, 7).slot == wednesday
    # What the preview said is what happened: dose 8 is now flagged too early, due 8 April.
    course = planning.course_queryset().get(pk=course.pk)
    planned = planning.plan_for(course, today=TODAY).dose(8)
    assert planned.state == engine.DoseState.BOOKED and planned.date < planned.window_start
    assert planned.due == date(2026, 4, 8)
    assert letter(nurse_client, patient) != letter_before
    overdue = nurse_client.get(reverse("schedules:overdue")).content.decode()
    assert "Too early" in overdue


def test_a_move_is_made_only_when_the_preview_confirmed_is_what_will_happen(
    unit, patient, nurse, nurse_client
):
    """The control: without the preview's fingerprint (or with another slot's), posting
    shows the preview and moves nothing."""
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    seven = booking_of(course, 7)
    wednesday = open_slot(unit, DOSE_7 + timedelta(days=1))
    thursday = open_slot(unit, DOSE_7 + timedelta(days=2))
    url = reverse("schedules:reschedule", args=[seven.pk])
    seen = fingerprint(nurse_client.get(url, {"slot": wednesday.pk}).content.decode())

    unseen = nurse_client.post(url, {"slot": wednesday.pk})
    other = nurse_client.post(url, {"slot": thursday.pk, "previewed": seen})

    for response in (unseen, other):
        assert response.status_code == 200
        assert "Check it, then confirm again" in response.content.decode()
    assert booking_of(course, 7).slot_id == seven.slot_id
    assert "Wed 11 Mar 2026, 09:00" not in letter(nurse_client, patient)
    # The page re-shown keeps the slot chosen and previews it.
    assert f'value="{thursday.pk}" id="slot-{thursday.pk}"' in other.content.decode()
    assert "to Thu 12 Mar 2026, 09:00" in other.content.decode()


def test_preview_button_shows_the_chosen_slot_without_moving(unit, patient, nurse, nurse_client):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    seven = booking_of(course, 7)
    thursday = open_slot(unit, DOSE_7 + timedelta(days=2))
    url = reverse("schedules:reschedule", args=[seven.pk])

    page = nurse_client.post(url, {"slot": thursday.pk, "preview": "1"}).content.decode()

    assert "to Thu 12 Mar 2026, 09:00" in page
    assert "Check it, then confirm again" not in page
    assert booking_of(course, 7).slot_id == seven.slot_id
    response = nurse_client.post(url, {"slot": thursday.pk, "previewed": fingerprint(page)})
    assert response.status_code == 302
    assert booking_of(course, 7).slot == thursday


def test_a_projected_later_dose_that_moves_is_listed(unit, patient, nurse, nurse_client):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    services.cancel_booking(booking=booking_of(course, 8), reason="Test", cancelled_by=nurse)
    wednesday = open_slot(unit, DOSE_7 + timedelta(days=1))

    preview = planning.preview_change(
        course, change=planning.Reschedule(booking_of(course, 7), wednesday)
    )

    assert preview.out_of_window == []
    assert planning.MovedDose(8, DOSE_8, date(2026, 4, 8)) in preview.moved
    assert preview.letter_changes


# Pause, stop, resume ----------------------------------------------------------------------------


def test_pausing_lists_the_bookings_it_will_cancel_and_cancels_exactly_those(
    unit, patient, nurse, clinician, clinician_client
):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    url = reverse("courses:pause", args=[patient.pk, course.pk])

    page = clinician_client.get(url).content.decode()

    listed = re.findall(r'class="preview-cancelled">([^<]+)<', page)
    assert listed == ["Dose 7: Tue 10 Mar 2026, 09:00", "Dose 8: Tue 7 Apr 2026, 09:00"]
    assert "Reprint the schedule letter" in page
    active_before = set(Booking.objects.active().values_list("pk", flat=True))

    response = clinician_client.post(
        url,
        {"on": TODAY.isoformat(), "reason": "side_effects", "previewed": fingerprint(page)},
    )

    assert response.status_code == 302
    cancelled = Booking.objects.filter(pk__in=active_before, status="cancelled")
    assert sorted(f"Dose {b.dose.number}" for b in cancelled) == ["Dose 7", "Dose 8"]
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.PAUSED


def test_pausing_without_the_preview_shows_it_first(unit, patient, nurse, clinician_client):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    url = reverse("courses:pause", args=[patient.pk, course.pk])

    response = clinician_client.post(url, {"on": TODAY.isoformat(), "reason": "side_effects"})

    assert response.status_code == 200
    assert "Check it, then confirm again" in response.content.decode()
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE
    assert Booking.objects.active().count() == 2


def test_a_booking_made_after_the_preview_is_shown_before_pausing(
    unit, patient, nurse, clinician_client
):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    services.cancel_booking(booking=booking_of(course, 8), reason="Test", cancelled_by=nurse)
    url = reverse("courses:pause", args=[patient.pk, course.pk])
    seen = fingerprint(clinician_client.get(url).content.decode())
    services.book_dose_number(
        course=course, number=8, slot=open_slot(unit, DOSE_8, 11), booked_by=nurse
    )

    response = clinician_client.post(
        url, {"on": TODAY.isoformat(), "reason": "side_effects", "previewed": seen}
    )

    assert response.status_code == 200
    assert "Dose 8: Tue 7 Apr 2026, 11:00" in response.content.decode()
    assert Booking.objects.active().count() == 2


def test_the_service_checks_the_confirmed_preview_under_the_course_lock(
    unit, patient, nurse, clinician
):
    """Was: the page compared the fingerprint and then called the service, so a booking made
    in between was cancelled by a pause whose preview never listed it. The check is now the
    service's, made after it locks the course: nothing can change what the pause does between
    the check and the pause."""
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    services.cancel_booking(booking=booking_of(course, 8), reason="Test", cancelled_by=nurse)
    pause = planning.Decision("pause", TODAY)
    seen = planning.preview_change(course, change=pause).fingerprint
    services.book_dose_number(  # another nurse, after the preview was shown
        course=course, number=8, slot=open_slot(unit, DOSE_8, 11), booked_by=nurse
    )

    with pytest.raises(services.PreviewChanged):
        services.pause_course(
            course=course, on=TODAY, reason="side_effects", recorded_by=clinician, previewed=seen
        )

    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE
    assert Booking.objects.active().count() == 2
    confirmed = planning.preview_change(course, change=pause).fingerprint
    cancelled = services.pause_course(
        course=course, on=TODAY, reason="side_effects", recorded_by=clinician, previewed=confirmed
    )
    assert cancelled == 2


def test_a_move_checks_the_confirmed_preview_under_the_course_lock(unit, patient, nurse):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    seven = booking_of(course, 7)
    wednesday = open_slot(unit, DOSE_7 + timedelta(days=1))
    # Dose 8 too early after the move: the preview says so, and the nurse confirms that.
    seen = planning.preview_change(course, change=planning.Reschedule(seven, wednesday))
    assert [o.booking.dose.number for o in seen.out_of_window] == [8]
    services.cancel_booking(booking=booking_of(course, 8), reason="Test", cancelled_by=nurse)

    with pytest.raises(services.PreviewChanged):
        services.reschedule_booking(
            booking=seven, slot=wednesday, rescheduled_by=nurse, previewed=seen.fingerprint
        )

    assert booking_of(course, 7).slot_id == seven.slot_id


def test_stopping_lists_the_cancellations(unit, patient, nurse, clinician_client):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    url = reverse("courses:stop", args=[patient.pk, course.pk])

    page = clinician_client.get(url).content.decode()

    assert "2 bookings will be cancelled" in page
    assert "The course is closed: no later dose is planned." in page
    response = clinician_client.post(
        url,
        {"on": TODAY.isoformat(), "reason": "patient_choice", "previewed": fingerprint(page)},
    )
    assert response.status_code == 302
    assert not Booking.objects.active().exists()


def test_resuming_shows_the_next_doses_date(
    unit, patient, nurse, clinician, clinician_client, clock
):
    course = course_with_doses_7_and_8_booked(patient, unit, nurse)
    services.pause_course(course=course, on=TODAY, reason="side_effects", recorded_by=clinician)
    resume_day = date(2026, 4, 20)
    clock(resume_day, 8)
    clinician_client.force_login(clinician)
    url = reverse("courses:resume", args=[patient.pk, course.pk])

    page = clinician_client.get(url).content.decode()

    assert "The next dose, dose 7, will be due Mon 20 Apr 2026" in page
    assert "Reprint the schedule letter" in page
    # A restart of loading changes nothing about dose 7's date; the preview follows the form.
    restart = clinician_client.post(
        url, {"on": resume_day.isoformat(), "restart_loading": "on", "preview": "1"}
    ).content.decode()
    response = clinician_client.post(
        url,
        {"on": resume_day.isoformat(), "restart_loading": "on", "previewed": fingerprint(restart)},
    )
    assert response.status_code == 302
    course = planning.course_queryset().get(pk=course.pk)
    after = planning.next_dose(planning.plan_for(course, today=resume_day))
    assert (after.number, after.date) == (7, resume_day)


# Cost -------------------------------------------------------------------------------------------


def test_a_preview_costs_the_same_queries_however_many_doses(unit, nurse, clinician):
    def queries(patient, booked):
        start = TODAY + timedelta(days=1)  # Tuesdays: no bank holiday on the way
        course = TreatmentCourse.objects.create(patient=patient, start_date=start)
        for number in range(1, booked + 1):
            day = start + timedelta(days=[0, 14, 28, 56, 84, 112][number - 1])
            services.book_dose_number(
                course=course, number=number, slot=open_slot(unit, day), booked_by=nurse
            )
        first = booking_of(course, 1)
        later = open_slot(unit, TODAY, 11)
        with CaptureQueriesContext(connection) as pause:
            planning.preview_change(course, change=planning.Decision("pause", TODAY))
        with CaptureQueriesContext(connection) as move:
            planning.preview_change(
                course,
                change=planning.Reschedule(first, later),
            )
        return len(pause), len(move)

    assert queries(make_patient("H1"), 1) == queries(make_patient("H2"), 6)


# Closing a day in the admin ---------------------------------------------------------------------


def test_closing_a_day_in_the_admin_lists_the_five_bookings_and_asks_to_confirm(
    unit, nurse, client, admin_user
):
    day = date(2026, 3, 12)
    slot = open_slot(unit, day)
    for number in range(5):
        course = TreatmentCourse.objects.create(
            patient=make_patient(f"H50{number}", family_name=f"Booked{number}"),
            start_date=day,
        )
        services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
    client.force_login(admin_user)
    url = reverse("admin:schedules_closure_add")
    data = {"unit": unit.pk, "start_date": "2026-03-12", "end_date": "2026-03-12"}
    data["reason"] = "Staff training"

    refused = client.post(url, data).content.decode()

    assert "5 patients are booked on these days" in refused
    for number in range(5):
        assert f"Ada Booked{number} (H50{number}), dose 1, Thu 12 Mar 2026, 09:00" in refused
    assert "I have seen the 5 bookings on these days" in refused
    assert not Closure.objects.exists()

    response = client.post(url, {**data, "seen_bookings": "on"}, follow=True)

    page = response.content.decode()
    assert Closure.objects.count() == 1
    assert "5 bookings on the closed day(s) still stand" in page
    for booking in Booking.objects.all():
        assert reverse("schedules:reschedule", args=[booking.pk]) in page
    # Closing a day never cancels its bookings: the nurse reschedules each one.
    assert Booking.objects.active().count() == 5


def test_closing_a_day_without_bookings_needs_no_confirmation(unit, client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:schedules_closure_add"),
        {"unit": unit.pk, "start_date": "2026-03-12", "end_date": "2026-03-13", "reason": "Audit"},
    )
    assert response.status_code == 302
    assert Closure.objects.count() == 1


def test_rewording_a_closure_does_not_ask_again(unit, nurse, client, admin_user):
    day = date(2026, 3, 12)
    course = TreatmentCourse.objects.create(patient=make_patient("H600"), start_date=day)
    services.book_dose_number(course=course, number=1, slot=open_slot(unit, day), booked_by=nurse)
    closure = Closure.objects.create(unit=unit, start_date=day, end_date=day, reason="Training")
    client.force_login(admin_user)
    url = reverse("admin:schedules_closure_change", args=[closure.pk])
    data = {"unit": unit.pk, "start_date": "2026-03-12", "end_date": "2026-03-12"}

    reworded = client.post(url, {**data, "reason": "Staff training"})
    longer = client.post(url, {**data, "end_date": "2026-03-13", "reason": "Staff training"})

    assert reworded.status_code == 302
    assert "1 patient is booked on these days" in longer.content.decode()
    closure.refresh_from_db()
    assert (closure.reason, closure.end_date) == ("Staff training", day)
