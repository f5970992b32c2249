"""Issue 17: the clinical rules belong to the patient, not to one course or one form.

Each test is a scenario a clinical safety officer tried through the services, the pages and the
admin, told as a clinician would recognise it. They are the acceptance tests of issue 17,
written before the fixes: on the code of the day they were written, every test in the first
part FAILS (the scenario was unsafe or left a wrong record) and every test in the second part
("Controls no test guards") PASSES, and fails when its control is removed. Where the issue left
the safe behaviour open, the test's docstring says which one it chose.

Which bullet of the issue's "Why" each test covers:

1. The interval is checked inside one course
   - test_a_course_stopped_the_day_after_a_dose_and_restarted_cannot_be_booked_two_days_later
   - test_a_dose_two_days_after_a_stopped_courses_dose_needs_a_clinicians_reason
   - test_a_myelitis_recorded_on_the_stopped_course_holds_the_new_one
   - test_the_patient_page_shows_a_stopped_courses_doses_batches_and_events
   - test_a_late_event_can_be_recorded_against_a_stopped_course_from_the_patient_page
2. The time of a dose is never compared with its visit
   - test_a_dose_timed_before_the_patient_arrived_is_refused
   - test_a_dose_dated_days_away_from_its_visit_is_refused
3. "Record given" on the patient page skips the visit
   - test_record_given_on_the_patient_page_without_a_visit_or_reason_is_refused
4. A "yes" can be erased by re-saving the checks; identity and clotting can be bypassed
   - test_a_yes_to_a_symptom_stands_when_the_checks_are_saved_again
   - test_a_clotting_test_asked_for_stands_when_the_checks_are_saved_again
   - test_a_late_paper_record_without_an_identity_check_is_refused
5. Holds and pauses leak
   - test_continue_after_review_does_not_lift_a_pause_for_an_unsafe_lumbar_puncture
   - test_a_held_patients_feed_and_letter_do_not_tell_them_to_come
   - test_a_dose_cannot_be_recorded_inside_a_hold_period
   - test_a_pause_cannot_be_dated_before_a_dose_given_after_it
6. Visits fall between steps
   - test_an_arrived_visit_with_no_outcome_stays_on_overdue_and_rebook
   - test_a_dose_is_not_recorded_on_checks_from_an_earlier_day
   - test_discharge_in_the_first_minutes_of_observation_needs_a_reason
   - test_withdrawing_consent_leaves_an_arrived_patient_on_the_board
   - test_after_not_given_for_illness_a_nurse_cannot_rebook_the_same_afternoon
7. Follow-up calls leak
   - test_a_friday_dose_is_called_on_monday
   - test_a_patient_with_two_unanswered_calls_stays_listed
   - test_a_headache_call_whose_triage_was_abandoned_stays_listed
   - test_a_red_flag_headache_holds_the_course
   - test_a_severe_non_postural_headache_is_urgent
   - test_every_red_flag_of_the_seeds_is_urgent (parametrised: neck stiffness, vomiting,
     confusion, photophobia, numbness)
   - test_the_triage_form_asks_every_red_flag_question
8. Gates can be undone by data entry
   - test_a_consent_signed_before_a_withdrawal_does_not_undo_it
   - test_the_unit_cannot_allow_booking_more_than_three_days_before_due
   - test_an_injection_far_from_15_ml_is_not_recorded_as_a_full_dose (1.5 mL, 150 mL)
   - test_the_service_refuses_45_ml_of_csf_removed
9. The services trust their caller's role
   - test_a_nurse_cannot_make_a_clinical_decision_through_the_services (start_course,
     record_administration, pause_course, resume_course)
10. The admin is a side door
   - test_an_admin_cannot_set_a_held_course_to_active
   - test_clinical_records_are_read_only_in_the_admin (courses, course events, doses,
     bookings, visits, adverse events, consents, follow-up calls)

11. Controls no test guards (these PASS today; each fails when its control is removed)
   - test_control_a_dose_already_given_cannot_be_booked
   - test_control_a_dose_cannot_be_booked_before_the_previous_doses_date
   - test_control_a_given_dose_cannot_be_recorded_again
   - test_control_identity_must_be_confirmed
   - test_control_clotting_asked_for_and_not_done_blocks_the_dose
   - test_control_an_events_onset_cannot_be_before_its_linked_dose
   - test_control_not_given_cannot_be_recorded_before_the_visits_day
   - test_control_arrived_only_on_the_visits_day
   - test_control_discharge_cannot_be_before_the_dose
"""

import contextlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse

from patients.models import Consent
from schedules import services
from schedules.feeds import ical
from schedules.models import (
    AdverseEvent,
    Booking,
    CourseEvent,
    Dose,
    FollowUpCall,
    Slot,
    TreatmentCourse,
    Visit,
)
from tests.factories import VIAL
from tofersen_scheduler.dates import format_day

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)  # the unit is open Monday to Friday (the `unit` fixture)


def at(day: date, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def clock(day: date, hour: int = 8, minute: int = 0):
    return time_machine.travel(at(day, hour, minute), tick=False)


def slot_on(unit, day: date, hour: int = 9, places: int = 2) -> Slot:
    start = at(day, hour)
    return Slot.objects.create(
        unit=unit, start=start, end=start + timedelta(hours=2), places=places
    )


def start_course(patient, clinician, on: date) -> TreatmentCourse:
    with clock(on, 7):
        return services.start_course(patient=patient, start_date=on, started_by=clinician)


def book(course, number, unit, day, by, *, hour=9, reason="") -> Booking:
    """Book on the morning of `day` (the clock at 07:00), before the slot starts."""
    with clock(day, 7):
        return services.book_dose_number(
            course=course,
            number=number,
            slot=slot_on(unit, day, hour),
            booked_by=by,
            override_reason=reason,
        )


def arrive_and_check(booking, nurse, **checks):
    """Arrived and checked at the current clock."""
    services.mark_arrived(booking=booking, marked_by=nurse)
    answers = dict(identity_confirmed=True, blood_sample_taken=True) | checks
    return services.record_checks(booking=booking, recorded_by=nurse, **answers)


def give(dose, given_at, by, **extra) -> Dose:
    return services.record_administration(
        dose=dose, given_at=given_at, recorded_by=by, **(VIAL | extra)
    )


def given_at_visit(course, number, unit, day, nurse, clinician) -> Booking:
    """Dose `number` given at its 09:00 visit on `day`, the way the unit does it: booked that
    morning, arrived and checked at 08:50, given at 09:30 (clock 09:40)."""
    booking = book(course, number, unit, day, nurse)
    with clock(day, 8, 50):
        arrive_and_check(booking, nurse)
    with clock(day, 9, 40):
        give(booking.dose, at(day, 9, 30), clinician)
    booking.refresh_from_db()
    return booking


def feed_events(patient, unit, today):
    cal = ical.patient_calendar(patient, unit, today=today)
    return {str(event["uid"]): event for event in cal.walk("VEVENT")}


# 1. The interval is checked inside one course ---------------------------------------------------


def test_a_course_stopped_the_day_after_a_dose_and_restarted_cannot_be_booked_two_days_later(
    patient, nurse, clinician, unit
):
    """Dose 1 given on Monday; the course stopped on Tuesday and a new one started. The
    minimum interval is between any two doses of the patient (DESIGN §2 "Rules belong to the
    patient"): the nurse cannot book the new course's first dose for Wednesday. The refusal
    names the dose given on Monday."""
    first = start_course(patient, clinician, MONDAY)
    given_at_visit(first, 1, unit, MONDAY, nurse, clinician)
    tuesday = MONDAY + timedelta(days=1)
    with clock(tuesday, 12):
        services.stop_course(
            course=first, on=tuesday, reason="patient_choice", recorded_by=clinician
        )
    second = start_course(patient, clinician, tuesday + timedelta(days=1))

    with pytest.raises(services.BookingError, match=format_day(MONDAY)):
        book(second, 1, unit, MONDAY + timedelta(days=2), nurse)
    assert not Booking.objects.filter(dose__course=second).exists()


def test_a_dose_two_days_after_a_stopped_courses_dose_needs_a_clinicians_reason(
    patient, nurse, clinician, unit
):
    """The same patient, booked by a clinician for Wednesday anyway (a booking with a reason).
    Chosen safe behaviour: the reason that lets a dose be given inside 14 days of the last one
    is recorded on the dose when it is given (what invariant 1 of the stateful model reads), so
    recording it given without a reason is refused and nothing is saved."""
    first = start_course(patient, clinician, MONDAY)
    given_at_visit(first, 1, unit, MONDAY, nurse, clinician)
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    with clock(tuesday, 12):
        services.stop_course(
            course=first, on=tuesday, reason="patient_choice", recorded_by=clinician
        )
    second = start_course(patient, clinician, wednesday)
    booking = book(second, 1, unit, wednesday, clinician, reason="Seen by the consultant")
    with clock(wednesday, 8, 50):
        arrive_and_check(booking, nurse)

    with clock(wednesday, 9, 40), pytest.raises(services.AdministrationError):
        give(booking.dose, at(wednesday, 9, 30), clinician)
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


def test_a_myelitis_recorded_on_the_stopped_course_holds_the_new_one(
    patient, nurse, clinician, unit
):
    """A serious event holds the patient's open treatment whichever course it is recorded on:
    a myelitis after dose 1 of a stopped course, recorded once the new course has started,
    puts the new course on hold, and nothing can be booked."""
    first = start_course(patient, clinician, MONDAY)
    booking = given_at_visit(first, 1, unit, MONDAY, nurse, clinician)
    tuesday = MONDAY + timedelta(days=1)
    with clock(tuesday, 12):
        services.stop_course(
            course=first, on=tuesday, reason="patient_choice", recorded_by=clinician
        )
    second = start_course(patient, clinician, MONDAY + timedelta(days=14))
    with clock(MONDAY + timedelta(days=10), 12):
        services.record_adverse_event(
            course=first,
            term="myelitis",
            onset=MONDAY + timedelta(days=9),
            serious=True,
            recorded_by=clinician,
            dose=booking.dose,
        )

    second.refresh_from_db()
    assert second.status == TreatmentCourse.Status.HELD
    with pytest.raises(services.CourseNotActive, match="on hold"):
        book(second, 1, unit, MONDAY + timedelta(days=14), nurse)


def test_the_patient_page_shows_a_stopped_courses_doses_batches_and_events(
    patient, nurse, clinician, unit, clinician_client
):
    """Once the only course is stopped, the patient page still lists its given doses (with
    the vial batch, for a recall) and its adverse events."""
    course = start_course(patient, clinician, MONDAY)
    booking = given_at_visit(course, 1, unit, MONDAY, nurse, clinician)
    with clock(MONDAY + timedelta(days=1), 12):
        services.record_adverse_event(
            course=course,
            term="back_pain",
            onset=MONDAY + timedelta(days=1),
            serious=False,
            recorded_by=nurse,
            dose=booking.dose,
        )
        services.stop_course(
            course=course,
            on=MONDAY + timedelta(days=1),
            reason="patient_choice",
            recorded_by=clinician,
        )
        page = clinician_client.get(reverse("patients:detail", args=[patient.pk]))

    text = page.content.decode()
    assert "batch B123" in text
    assert "Back pain" in text


def test_a_late_event_can_be_recorded_against_a_stopped_course_from_the_patient_page(
    patient, nurse, clinician, unit, clinician_client
):
    """A radiculitis reported after the course was stopped: the patient page offers "Record
    adverse event" for the stopped course, and the event is kept against it."""
    course = start_course(patient, clinician, MONDAY)
    given_at_visit(course, 1, unit, MONDAY, nurse, clinician)
    with clock(MONDAY + timedelta(days=1), 12):
        services.stop_course(
            course=course,
            on=MONDAY + timedelta(days=1),
            reason="patient_choice",
            recorded_by=clinician,
        )
    with clock(MONDAY + timedelta(days=5), 12):
        page = clinician_client.get(reverse("patients:detail", args=[patient.pk]))
        url = reverse("schedules:adverse_event", args=[course.pk])
        assert f'href="{url}' in page.content.decode()
        response = clinician_client.post(
            url,
            {
                "term": "radiculitis",
                "onset": (MONDAY + timedelta(days=4)).isoformat(),
                "outcome": "ongoing",
            },
        )
    assert response.status_code == 302
    assert course.adverse_events.filter(term="radiculitis").exists()


# 2. The time of a dose is compared with its visit ---------------------------------------------


def test_a_dose_timed_before_the_patient_arrived_is_refused(patient, nurse, clinician, unit):
    """The patient arrived at 09:00 and was checked at 09:05; a dose recorded as given at 08:30
    is refused (the dose belongs to its visit: after arrival and after the checks)."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 9, 0):
        services.mark_arrived(booking=booking, marked_by=nurse)
    with clock(MONDAY, 9, 5):
        services.record_checks(
            booking=booking, recorded_by=nurse, identity_confirmed=True, blood_sample_taken=True
        )
    with clock(MONDAY, 9, 40), pytest.raises(services.AdministrationError):
        give(booking.dose, at(MONDAY, 8, 30), clinician)
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


def test_a_dose_dated_days_away_from_its_visit_is_refused(patient, nurse, clinician, unit):
    """The visit is on Monday; a dose recorded at it as given on the Friday before is refused
    (the next dose would chain from the wrong date)."""
    friday = MONDAY - timedelta(days=3)
    course = start_course(patient, clinician, friday)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8, 50):
        arrive_and_check(booking, nurse)
    with clock(MONDAY, 9, 40), pytest.raises(services.AdministrationError):
        give(booking.dose, at(friday, 10), clinician)
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


# 3. One door for a dose given ------------------------------------------------------------------


def test_record_given_on_the_patient_page_without_a_visit_or_reason_is_refused(
    patient, clinician, clinician_client
):
    """ "Record given" on the patient page, with no visit (no identity check, no symptom,
    pregnancy or blood questions) and no reason: the page shows the refusal and nothing is
    saved; the service refuses it too. A dose given elsewhere is a clinician's record with a
    reason (issue 17, "One door for a dose given")."""
    course = start_course(patient, clinician, MONDAY)
    with clock(MONDAY, 10):
        response = clinician_client.post(
            reverse("courses:dose_record", args=[patient.pk, course.pk, 1]),
            {
                "given_at": "2026-03-02T09:30",
                "operator": "Dr Lumbar",
                "imaging": "none",
                "vial_batch": "QX123",
                "vial_expiry": "2027-01-31",
            },
        )
        assert response.status_code in (200, 400)
        assert not Dose.objects.filter(course=course, given_at__isnull=False).exists()
        with pytest.raises(services.AdministrationError):
            give(services.dose_for(course=course, number=1), at(MONDAY, 9, 30), clinician)
    assert not Dose.objects.filter(course=course, given_at__isnull=False).exists()


# 4. Checks that keep what was said -------------------------------------------------------------


def test_a_yes_to_a_symptom_stands_when_the_checks_are_saved_again(patient, nurse, clinician, unit):
    """Neck stiffness ticked, then the checks saved again with nothing ticked: the "yes" stands
    until a clinician records a decision, and the dose is refused."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8, 50):
        arrive_and_check(booking, nurse, symptom_neck_stiffness=True)
        # refusing to overwrite the answer is safe too
        with contextlib.suppress(services.ServiceError):
            services.record_checks(
                booking=booking,
                recorded_by=nurse,
                identity_confirmed=True,
                blood_sample_taken=True,
            )
    assert Visit.objects.get(booking=booking).needs_clinician
    with clock(MONDAY, 9, 40), pytest.raises(services.AdministrationError):
        give(booking.dose, at(MONDAY, 9, 30), clinician)
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


def test_a_clotting_test_asked_for_stands_when_the_checks_are_saved_again(
    patient, nurse, clinician, unit
):
    """The clinician asked for clotting and platelets; the checks say "not done". Saved again
    as "not requested", the request stands: the dose is refused until it is checked."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8, 50):
        arrive_and_check(booking, nurse, clotting_checked=False)
        with contextlib.suppress(services.ServiceError):
            services.record_checks(
                booking=booking,
                recorded_by=nurse,
                identity_confirmed=True,
                blood_sample_taken=True,
                clotting_checked=None,
            )
    with clock(MONDAY, 9, 40), pytest.raises(services.AdministrationError):
        give(booking.dose, at(MONDAY, 9, 30), clinician)
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


def test_a_late_paper_record_without_an_identity_check_is_refused(patient, nurse, clinician, unit):
    """Monday's visit has no record; on Tuesday a clinician records the dose from the paper
    record, with a reason. Chosen safe behaviour: a late record still stores who checked what
    (identity first), so a record with no identity check is refused with a message naming
    the identity check, and nothing is saved."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with (
        clock(MONDAY + timedelta(days=1), 9),
        pytest.raises(services.ServiceError, match="(?i)identity"),
    ):
        give(booking.dose, at(MONDAY, 9, 30), clinician, override_reason="Paper record")
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


# 5. Holds and pauses that hold -----------------------------------------------------------------


def test_continue_after_review_does_not_lift_a_pause_for_an_unsafe_lumbar_puncture(
    patient, nurse, clinician, unit
):
    """Paused for a spinal change making lumbar puncture unsafe; then a myelitis holds the
    course. The review's "continue" releases the hold, never the pause: the course stays
    paused (it needs its own resume) and nothing can be booked."""
    course = start_course(patient, clinician, MONDAY - timedelta(days=7))
    with clock(MONDAY, 10):
        services.pause_course(course=course, on=MONDAY, reason="spinal", recorded_by=clinician)
        services.record_adverse_event(
            course=course, term="myelitis", onset=MONDAY, serious=True, recorded_by=clinician
        )
        # refusing "continue" while paused is safe too
        with contextlib.suppress(services.ServiceError):
            services.record_review_decision(
                course=course,
                decision="continue",
                on=MONDAY,
                note="Myelitis resolved",
                recorded_by=clinician,
            )
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.PAUSED
    with pytest.raises(services.CourseNotActive):
        book(course, 1, unit, MONDAY + timedelta(days=1), nurse)


def test_a_held_patients_feed_and_letter_do_not_tell_them_to_come(
    patient, nurse, clinician, unit, clinician_client
):
    """Dose 2 is booked; a myelitis holds the course. The patient's calendar no longer says
    the visit is CONFIRMED and sets no reminder; the letter does not list it as an appointment
    (or says the unit will call)."""
    course = start_course(patient, clinician, MONDAY)
    booking1 = given_at_visit(course, 1, unit, MONDAY, nurse, clinician)
    dose2_day = MONDAY + timedelta(days=14)
    with clock(MONDAY + timedelta(days=1), 7):
        booking2 = services.book_dose_number(
            course=course, number=2, slot=slot_on(unit, dose2_day), booked_by=nurse
        )
    with clock(MONDAY + timedelta(days=3), 12):
        services.record_adverse_event(
            course=course,
            term="myelitis",
            onset=MONDAY + timedelta(days=3),
            serious=True,
            recorded_by=clinician,
            dose=booking1.dose,
        )
        event = feed_events(patient, unit, MONDAY + timedelta(days=3)).get(str(booking2.dose.uid))
        letter = clinician_client.get(reverse("feeds:letter", args=[patient.pk]))

    if event is not None:
        assert str(event["status"]) != "CONFIRMED"
        assert not event.walk("VALARM")
    text = letter.content.decode()
    assert format_day(dose2_day) not in text or "will call you" in text.lower()


def test_a_dose_cannot_be_recorded_inside_a_hold_period(patient, nurse, clinician, unit):
    """Held for a myelitis from Friday 13 February until the review's "continue" on Wednesday
    18 February: a dose recorded afterwards as given on Monday 16 February (inside the hold),
    even as a clinician's record of a dose given elsewhere, is refused."""
    start = MONDAY - timedelta(days=28)  # Monday 2 February
    course = start_course(patient, clinician, start)
    booking1 = given_at_visit(course, 1, unit, start, nurse, clinician)
    with clock(start + timedelta(days=11), 12):
        services.record_adverse_event(
            course=course,
            term="myelitis",
            onset=start + timedelta(days=10),
            serious=True,
            recorded_by=clinician,
            dose=booking1.dose,
        )
    with clock(start + timedelta(days=16), 12):
        services.record_review_decision(
            course=course,
            decision="continue",
            on=start + timedelta(days=16),
            note="MRI clear",
            recorded_by=clinician,
        )
        with pytest.raises(services.ServiceError, match="(?i)hold"):
            give(
                services.dose_for(course=course, number=2),
                at(start + timedelta(days=14), 10),
                clinician,
                override_reason="Given at another hospital",
            )
    assert Dose.objects.get(course=course, number=2).given_at is None


def test_a_pause_cannot_be_dated_before_a_dose_given_after_it(patient, nurse, clinician, unit):
    """Dose 1 given on Wednesday; a pause recorded afterwards and dated Tuesday would say the
    dose was given while paused: refused, and the course stays active."""
    course = start_course(patient, clinician, MONDAY)
    given_at_visit(course, 1, unit, MONDAY + timedelta(days=2), nurse, clinician)
    with clock(MONDAY + timedelta(days=3), 12), pytest.raises(services.CourseError):
        services.pause_course(
            course=course,
            on=MONDAY + timedelta(days=1),
            reason="side_effects",
            recorded_by=clinician,
        )
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE


# 6. Every visit ends ---------------------------------------------------------------------------


def test_an_arrived_visit_with_no_outcome_stays_on_overdue_and_rebook(
    patient, nurse, clinician, unit, nurse_client
):
    """Marked arrived on Monday and nothing recorded after: on Tuesday the visit is listed on
    Overdue & rebook until someone records what happened."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8, 50):
        services.mark_arrived(booking=booking, marked_by=nurse)
    with clock(MONDAY + timedelta(days=1), 9):
        page = nurse_client.get(reverse("schedules:overdue")).content.decode()
    assert patient.full_name in page


def test_a_dose_is_not_recorded_on_checks_from_an_earlier_day(patient, nurse, clinician, unit):
    """Arrived and checked on Monday, no outcome recorded; on Wednesday a dose given that day
    is refused: the checks must be today's, on the visit's day."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8, 50):
        arrive_and_check(booking, nurse)
    wednesday = MONDAY + timedelta(days=2)
    with clock(wednesday, 9, 40), pytest.raises(services.AdministrationError):
        give(booking.dose, at(wednesday, 9, 30), clinician)
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


def test_discharge_in_the_first_minutes_of_observation_needs_a_reason(
    patient, nurse, clinician, unit
):
    """Given at 09:30; "Discharge" pressed at 09:40 with no reason is refused (the leaflet asks
    for 60–90 minutes; sooner needs a confirmation and a stored reason), and the patient is
    still in the unit on the record."""
    course = start_course(patient, clinician, MONDAY)
    booking = given_at_visit(course, 1, unit, MONDAY, nurse, clinician)
    with clock(MONDAY, 9, 41), pytest.raises(services.VisitError):
        services.record_discharge(booking=booking, recorded_by=nurse, at=at(MONDAY, 9, 40))
    assert Visit.objects.get(booking=booking).discharged_at is None


def test_withdrawing_consent_leaves_an_arrived_patient_on_the_board(
    patient, nurse, clinician, unit, nurse_client
):
    """The patient arrived at 08:30 for the 09:00 slot; consent is withdrawn at 08:40. The
    visit is not silently cancelled: it stays arrived and on the day's board, for the nurse to
    record what happened (not given)."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8, 30):
        services.mark_arrived(booking=booking, marked_by=nurse)
    with clock(MONDAY, 8, 40):
        services.withdraw_consent(
            consent=patient.consents.get(kind="hospital"),
            withdrawn_on=MONDAY,
            withdrawn_by=clinician,
        )
        page = nurse_client.get(reverse("schedules:day", args=[MONDAY])).content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ARRIVED
    assert patient.full_name in page


def test_after_not_given_for_illness_a_nurse_cannot_rebook_the_same_afternoon(
    patient, nurse, clinician, unit
):
    """ "Not given: patient unwell" (a fever) at 10:00: a nurse cannot rebook the dose for
    14:00 the same day; a same-day retry needs a clinician."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 10):
        services.mark_arrived(booking=booking, marked_by=nurse)
        services.record_not_given(booking=booking, reason="unwell", recorded_by=nurse)
        with pytest.raises(services.BookingError):
            services.book_dose_number(
                course=course, number=1, slot=slot_on(unit, MONDAY, 14), booked_by=nurse
            )
    assert not Booking.objects.active().filter(dose__course=course).exists()


# 7. Follow-up that cannot lose a patient ---------------------------------------------------------


def follow_up_page(client, day):
    with clock(day, 9):
        return client.get(reverse("schedules:follow_up")).content.decode()


def test_a_friday_dose_is_called_on_monday(patient, nurse, clinician, unit, nurse_client):
    """Given on Friday; the unit is closed at the weekend, so the call is listed on Monday."""
    friday = MONDAY + timedelta(days=4)
    course = start_course(patient, clinician, friday)
    booking = given_at_visit(course, 1, unit, friday, nurse, clinician)
    assert f'data-dose="{booking.dose.pk}"' in follow_up_page(
        nurse_client, friday + timedelta(days=3)
    )


def test_a_patient_with_two_unanswered_calls_stays_listed(
    patient, nurse, clinician, unit, nurse_client
):
    """Called on Tuesday and Wednesday with no answer: still listed on Thursday (until
    answered, or closed by a clinician)."""
    course = start_course(patient, clinician, MONDAY)
    dose = given_at_visit(course, 1, unit, MONDAY, nurse, clinician).dose
    for day in (MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)):
        with clock(day, 10):
            services.record_follow_up_call(dose=dose, outcome="no_answer", recorded_by=nurse)
    assert f'data-dose="{dose.pk}"' in follow_up_page(nurse_client, MONDAY + timedelta(days=3))


def test_a_headache_call_whose_triage_was_abandoned_stays_listed(
    patient, nurse, clinician, unit, nurse_client
):
    """Tuesday's call: "headache", and the triage form was never saved. The call stays listed
    until the headache is triaged."""
    course = start_course(patient, clinician, MONDAY)
    dose = given_at_visit(course, 1, unit, MONDAY, nurse, clinician).dose
    tuesday = MONDAY + timedelta(days=1)
    with clock(tuesday, 9):
        services.record_follow_up_call(dose=dose, outcome="headache", recorded_by=nurse)
    assert FollowUpCall.objects.filter(dose=dose).count() == 1
    assert f'data-dose="{dose.pk}"' in follow_up_page(nurse_client, tuesday)


def test_a_red_flag_headache_holds_the_course(patient, nurse, clinician, unit):
    """A post-lumbar-puncture headache with fever (possible meningitis): urgent same-day
    review, and the course is held like a serious event."""
    course = start_course(patient, clinician, MONDAY)
    dose = given_at_visit(course, 1, unit, MONDAY, nurse, clinician).dose
    with clock(MONDAY + timedelta(days=1), 10):
        event = services.record_adverse_event(
            course=course,
            term="plph",
            onset=MONDAY + timedelta(days=1),
            serious=False,
            recorded_by=nurse,
            dose=dose,
            triage={"onset_within_48h": True, "postural": True, "fever": True},
        )
    course.refresh_from_db()
    assert "urgent" in event.advice.lower()
    assert course.status == TreatmentCourse.Status.HELD


def test_a_severe_non_postural_headache_is_urgent():
    """A severe headache that is not postural is a red flag (DESIGN §2), not routine review."""
    step = services.plph_advice({"onset_within_48h": True, "postural": False, "severity": "severe"})
    assert step.step == "urgent"


@pytest.mark.parametrize(
    "flag", ["neck_stiffness", "vomiting", "confusion", "photophobia", "new_numbness"]
)
def test_every_red_flag_of_the_seeds_is_urgent(flag):
    """Each red flag alone, on an otherwise typical mild PLPH, is urgent same-day review. The
    answer keys are the ones this test chose for the questions the triage lacks."""
    answers = {"onset_within_48h": True, "postural": True, "severity": "mild", flag: True}
    assert services.plph_advice(answers).step == "urgent"


def test_the_triage_form_asks_every_red_flag_question(patient, nurse, clinician, nurse_client):
    course = start_course(patient, clinician, MONDAY)
    with clock(MONDAY, 12):
        page = (
            nurse_client.get(reverse("schedules:adverse_event", args=[course.pk]) + "?term=plph")
            .content.decode()
            .lower()
        )
    for question in ("fever", "neck stiffness", "vomiting", "confusion", "numbness"):
        assert question in page, question
    assert "photophobia" in page or "bright light" in page


# 8. Gates cannot be undone by data entry ---------------------------------------------------------


def test_a_consent_signed_before_a_withdrawal_does_not_undo_it(
    patient, clinician, clinician_client
):
    """The hospital consent was withdrawn on Monday; a consent form dated ten days earlier is
    then entered again. The withdrawal stands: the patient is still not eligible and the
    review cannot continue treatment."""
    course = start_course(patient, clinician, MONDAY - timedelta(days=14))
    with clock(MONDAY, 10):
        services.withdraw_consent(
            consent=patient.consents.get(kind="hospital"),
            withdrawn_on=MONDAY,
            withdrawn_by=clinician,
        )
        clinician_client.post(
            reverse("patients:consent_add", args=[patient.pk]),
            {"kind": "hospital", "signed_on": (MONDAY - timedelta(days=10)).isoformat()},
        )
        patient.refresh_from_db()
        fresh = type(patient).objects.prefetch_related("consents").get(pk=patient.pk)
        assert fresh.treatment_blockers(on=MONDAY)
        with pytest.raises(services.CourseError):
            services.record_review_decision(
                course=course, decision="continue", on=MONDAY, note="ok", recorded_by=clinician
            )


@pytest.mark.parametrize("days", [4, 13])
def test_the_unit_cannot_allow_booking_more_than_three_days_before_due(unit, days):
    """ "May book days before due" has a clinical bound: never more than 3 (issue 17 §7)."""
    unit.book_early_days = days
    with pytest.raises(ValidationError):
        unit.full_clean()


@pytest.mark.parametrize("volume", ["1.5", "150"])
def test_an_injection_far_from_15_ml_is_not_recorded_as_a_full_dose(
    patient, nurse, clinician, unit, volume
):
    """1.5 mL (or 150 mL) recorded as injected is a typo or a partial dose, not a full dose:
    recording it as given with no partial-dose decision is refused."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8, 50):
        arrive_and_check(booking, nurse)
    with clock(MONDAY, 9, 40), pytest.raises(services.AdministrationError):
        give(booking.dose, at(MONDAY, 9, 30), clinician, volume_injected_ml=Decimal(volume))
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


def test_the_service_refuses_45_ml_of_csf_removed(patient, nurse, clinician, unit):
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8, 50):
        arrive_and_check(booking, nurse)
    with clock(MONDAY, 9, 40), pytest.raises(services.AdministrationError):
        give(booking.dose, at(MONDAY, 9, 30), clinician, csf_removed_ml=Decimal("45"))
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


# 9. Roles in the services ----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["start", "give", "pause", "resume"])
def test_a_nurse_cannot_make_a_clinical_decision_through_the_services(
    patient, nurse, clinician, unit, action
):
    """Starting, recording a dose given, pausing and resuming are a clinician's decisions; the
    services refuse a nurse themselves, whatever the caller, and nothing changes."""
    if action == "start":
        with clock(MONDAY, 10), pytest.raises(services.NotAllowed):
            services.start_course(patient=patient, start_date=MONDAY, started_by=nurse)
        assert not TreatmentCourse.objects.exists()
        return
    course = start_course(patient, clinician, MONDAY)
    if action == "give":
        booking = book(course, 1, unit, MONDAY, nurse)
        with clock(MONDAY, 8, 50):
            arrive_and_check(booking, nurse)
        with clock(MONDAY, 9, 40), pytest.raises(services.NotAllowed):
            give(booking.dose, at(MONDAY, 9, 30), nurse)
        assert Dose.objects.get(pk=booking.dose.pk).given_at is None
        return
    if action == "resume":
        with clock(MONDAY, 10):
            services.pause_course(
                course=course, on=MONDAY, reason="side_effects", recorded_by=clinician
            )
    status = TreatmentCourse.objects.get(pk=course.pk).status
    decide = {
        "pause": lambda: services.pause_course(
            course=course, on=MONDAY, reason="side_effects", recorded_by=nurse
        ),
        "resume": lambda: services.resume_course(course=course, on=MONDAY, recorded_by=nurse),
    }[action]
    with clock(MONDAY, 11), pytest.raises(services.NotAllowed):
        decide()
    assert TreatmentCourse.objects.get(pk=course.pk).status == status


# 10. The admin is a window ---------------------------------------------------------------------


def test_an_admin_cannot_set_a_held_course_to_active(
    patient, nurse, clinician, unit, admin_user, client
):
    """A held course in the admin: its status is shown, not editable (and a POST changes
    nothing); the hold is released only by a clinician's review decision."""
    course = start_course(patient, clinician, MONDAY)
    with clock(MONDAY, 10):
        services.record_adverse_event(
            course=course, term="myelitis", onset=MONDAY, serious=True, recorded_by=clinician
        )
    client.force_login(admin_user)
    url = reverse("admin:schedules_treatmentcourse_change", args=[course.pk])
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "On hold for clinical review" in page
    assert 'name="status"' not in page
    client.post(
        url,
        {"patient": patient.pk, "start_date": MONDAY.isoformat(), "status": "active"},
    )
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.HELD


def _clinical_records(patient, nurse, clinician, unit):
    course = start_course(patient, clinician, MONDAY)
    booking = given_at_visit(course, 1, unit, MONDAY, nurse, clinician)
    with clock(MONDAY + timedelta(days=1), 10):
        event = services.record_adverse_event(
            course=course, term="back_pain", onset=MONDAY, serious=False, recorded_by=nurse
        )
        call = services.record_follow_up_call(
            dose=booking.dose, outcome="no_problems", recorded_by=nurse
        )
        services.pause_course(
            course=course,
            on=MONDAY + timedelta(days=1),
            reason="side_effects",
            recorded_by=clinician,
        )
    return {
        TreatmentCourse: course,
        CourseEvent: course.events.get(),
        Dose: booking.dose,
        Booking: booking,
        Visit: booking.visit,
        AdverseEvent: event,
        Consent: patient.consents.first(),
        FollowUpCall: call,
    }


def test_clinical_records_are_read_only_in_the_admin(
    patient, nurse, clinician, unit, admin_user, client
):
    """Courses, course events, doses, bookings, visits, adverse events, consents and follow-up
    calls are read in the admin, with history, never edited around the services: no "Save"
    on their pages and no "Add" page."""
    records = _clinical_records(patient, nurse, clinician, unit)
    client.force_login(admin_user)
    editable = []
    for model, record in records.items():
        assert admin.site.is_registered(model), model
        meta = model._meta
        change = client.get(
            reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])
        )
        add = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        if 'name="_save"' in change.content.decode() or add.status_code != 403:
            editable.append(meta.model_name)
    assert editable == []


# 11. Controls no test guards (pass today; each fails when its control is removed) --------------


def test_control_a_dose_already_given_cannot_be_booked(patient, nurse, clinician, unit):
    """Control: `book_dose` refuses a dose already given ("has already been given")."""
    course = start_course(patient, clinician, MONDAY)
    booking = given_at_visit(course, 1, unit, MONDAY, nurse, clinician)
    with pytest.raises(services.BookingError, match="Dose 1 has already been given"):
        book(course, 1, unit, MONDAY + timedelta(days=1), nurse)
    assert list(Booking.objects.filter(dose=booking.dose)) == [booking]


def test_control_a_dose_cannot_be_booked_before_the_previous_doses_date(
    patient, nurse, clinician, unit
):
    """Control: `book_dose` refuses a dose on or before the previous dose's date, even for a
    clinician with a reason ("must come after dose 1")."""
    course = start_course(patient, clinician, MONDAY)
    with clock(MONDAY, 7):
        services.book_dose_number(
            course=course,
            number=1,
            slot=slot_on(unit, MONDAY + timedelta(days=2)),
            booked_by=nurse,
        )
        with pytest.raises(services.OutsideWindow, match="must come after dose 1"):
            services.book_dose_number(
                course=course,
                number=2,
                slot=slot_on(unit, MONDAY + timedelta(days=1)),
                booked_by=clinician,
                override_reason="Travelling",
            )
    assert not Booking.objects.filter(dose__number=2).exists()


def test_control_a_given_dose_cannot_be_recorded_again(patient, nurse, clinician, unit):
    """Control: `record_administration` refuses a dose already given; the date and batch
    recorded first stay."""
    course = start_course(patient, clinician, MONDAY)
    booking = given_at_visit(course, 1, unit, MONDAY, nurse, clinician)
    with (
        clock(MONDAY + timedelta(days=1), 12),
        pytest.raises(services.AdministrationError, match="already recorded as given"),
    ):
        give(booking.dose, at(MONDAY + timedelta(days=1), 10), clinician, vial_batch="X999")
    dose = Dose.objects.get(pk=booking.dose.pk)
    assert (dose.given_at, dose.vial_batch) == (at(MONDAY, 9, 30), "B123")


def test_control_identity_must_be_confirmed(patient, nurse, clinician, unit):
    """Control: `record_checks` refuses checks without the identity confirmed, so the dose
    cannot be given."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8, 50):
        services.mark_arrived(booking=booking, marked_by=nurse)
        with pytest.raises(services.VisitError, match="identity"):
            services.record_checks(
                booking=booking,
                recorded_by=nurse,
                identity_confirmed=False,
                blood_sample_taken=True,
            )
    with clock(MONDAY, 9, 40), pytest.raises(services.AdministrationError):
        give(booking.dose, at(MONDAY, 9, 30), clinician)
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


def test_control_clotting_asked_for_and_not_done_blocks_the_dose(patient, nurse, clinician, unit):
    """Control: `Visit.checks_complete` is false while clotting asked for is not done."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8, 50):
        arrive_and_check(booking, nurse, clotting_checked=False)
    with (
        clock(MONDAY, 9, 40),
        pytest.raises(services.AdministrationError, match="checks are not complete"),
    ):
        give(booking.dose, at(MONDAY, 9, 30), clinician)
    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


def test_control_an_events_onset_cannot_be_before_its_linked_dose(patient, nurse, clinician, unit):
    """Control: `record_adverse_event` refuses an onset before the dose it is linked to."""
    friday = MONDAY - timedelta(days=3)
    course = start_course(patient, clinician, friday)
    booking = given_at_visit(course, 1, unit, MONDAY, nurse, clinician)
    with (
        clock(MONDAY + timedelta(days=1), 10),
        pytest.raises(services.AdverseEventError, match="started before dose 1"),
    ):
        services.record_adverse_event(
            course=course,
            term="back_pain",
            onset=friday + timedelta(days=1),
            serious=False,
            recorded_by=nurse,
            dose=booking.dose,
        )
    assert not AdverseEvent.objects.exists()


def test_control_not_given_cannot_be_recorded_before_the_visits_day(
    patient, nurse, clinician, unit
):
    """Control: `record_not_given` refuses a visit still ahead (it would cancel later
    bookings)."""
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY + timedelta(days=2), nurse)
    with clock(MONDAY, 10), pytest.raises(services.VisitError, match="on or after its day"):
        services.record_not_given(booking=booking, reason="declined", recorded_by=nurse)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED


def test_control_arrived_only_on_the_visits_day(patient, nurse, clinician, unit):
    """Control: `mark_arrived` refuses another day. Dose 2 booked for day 14, "arrived" pressed
    on day 3: refused, so dose 2 cannot be given 11 days early at that visit."""
    course = start_course(patient, clinician, MONDAY)
    given_at_visit(course, 1, unit, MONDAY, nurse, clinician)
    booking = book(course, 2, unit, MONDAY + timedelta(days=14), nurse)
    with (
        clock(MONDAY + timedelta(days=3), 9),
        pytest.raises(services.BookingStateError, match="on the day of the visit"),
    ):
        services.mark_arrived(booking=booking, marked_by=nurse)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED


def test_control_discharge_cannot_be_before_the_dose(patient, nurse, clinician, unit):
    """Control: `record_discharge` refuses a time before the dose was given."""
    course = start_course(patient, clinician, MONDAY)
    booking = given_at_visit(course, 1, unit, MONDAY, nurse, clinician)
    with (
        clock(MONDAY, 11),
        pytest.raises(services.VisitError, match="before the dose was given"),
    ):
        services.record_discharge(booking=booking, recorded_by=nurse, at=at(MONDAY, 9, 0))
    assert Visit.objects.get(booking=booking).discharged_at is None


# 12. Seed gaps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term", ["infection", "nerve_pain", "muscle_stiffness", "fall", "headache"]
)
def test_the_events_the_seeds_name_can_be_recorded(
    term, patient, nurse, clinician, unit, nurse_client
):
    """Infection, nerve pain, muscle stiffness, a fall and a headache that is not a PLPH are
    events of the seed trial data: each is a term of its own, on the form and in the service,
    not "Other" with a description."""
    course = start_course(patient, clinician, MONDAY)
    with clock(MONDAY, 12):
        page = nurse_client.get(reverse("schedules:adverse_event", args=[course.pk]))
        assert f'value="{term}"' in page.content.decode()
        answers = {"triage": {"severity": "mild", "postural": True}} if term == "headache" else {}
        event = services.record_adverse_event(
            course=course, term=term, onset=MONDAY, serious=False, recorded_by=nurse, **answers
        )
    assert AdverseEvent.objects.get(pk=event.pk).get_term_display() != "Other"
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE


def test_a_headache_other_than_plph_with_a_red_flag_holds_the_course(
    patient, nurse, clinician, unit
):
    """A headache recorded as "headache (not PLPH)" is triaged too: vomiting is a red flag
    whatever the headache was first called."""
    course = start_course(patient, clinician, MONDAY)
    with clock(MONDAY, 12):
        event = services.record_adverse_event(
            course=course,
            term="headache",
            onset=MONDAY,
            serious=False,
            recorded_by=nurse,
            triage={"severity": "moderate", "vomiting": True},
        )
    course.refresh_from_db()
    assert event.plph_step == "urgent"
    assert course.status == TreatmentCourse.Status.HELD


def patient_edit(client, patient, **changes):
    posted = {
        "hospital_number": patient.hospital_number,
        "nhs_number": patient.nhs_number,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sod1_variant": patient.sod1_variant,
        "sod1_confirmed_on": patient.sod1_confirmed_on.isoformat(),
        "could_be_pregnant": "on",
        **changes,
    }
    return client.post(reverse("patients:edit", args=[patient.pk]), posted)


def test_contraception_advice_is_recorded_by_a_clinician(patient, client, nurse, clinician, unit):
    """A patient who could become pregnant: the patient page says contraception advice is not
    recorded until a clinician records the date it was given (DESIGN §2 pregnancy); a nurse
    cannot record it."""
    patient.could_be_pregnant = True
    patient.save()
    client.force_login(clinician)
    with clock(MONDAY, 12):
        page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
        assert "Contraception advice not recorded" in page

        client.force_login(nurse)
        response = patient_edit(client, patient, contraception_advised_on=MONDAY.isoformat())
        assert "Only a clinician can record" in response.content.decode()
        patient.refresh_from_db()
        assert patient.contraception_advised_on is None

        client.force_login(clinician)
        response = patient_edit(client, patient, contraception_advised_on=MONDAY.isoformat())
        assert response.status_code == 302
        patient.refresh_from_db()
        assert patient.contraception_advised_on == MONDAY
        assert not patient.needs_contraception_advice
        page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert f"Contraception advice given on {format_day(MONDAY)}" in page
    assert "Contraception advice not recorded" not in page
    assert patient.history.filter(contraception_advised_on=MONDAY, history_user=clinician).exists()


def test_a_booking_can_say_the_patient_comes_the_day_before(
    patient, nurse, clinician, unit, nurse_client
):
    """The leaflet allows admission the day before: the booking says so, and so do the letter
    and the feed (with no health information), in place of an arrival time."""
    course = start_course(patient, clinician, MONDAY + timedelta(days=1))
    booking = book(course, 1, unit, MONDAY + timedelta(days=1), nurse)
    with clock(MONDAY, 12):
        nurse_client.post(
            reverse("schedules:admit_day_before", args=[booking.pk]), {"admit_day_before": "yes"}
        )
        booking.refresh_from_db()
        detail = nurse_client.get(reverse("schedules:booking", args=[booking.pk])).content.decode()
        letter = nurse_client.get(reverse("feeds:letter", args=[patient.pk])).content.decode()
        event = feed_events(patient, unit, MONDAY)[str(booking.dose.uid)]
    assert booking.admit_day_before
    assert booking.dose.calendar_sequence > 0
    assert f"The day before, {format_day(MONDAY)}" in detail
    assert f"You are admitted the day before, on {format_day(MONDAY)}" in letter
    description = str(event["description"]).replace("\r\n ", "")
    assert f"You are admitted the day before, on {format_day(MONDAY)}" in description
    assert "Please arrive by" not in description
    for word in ("tofersen", "qalsody", "lumbar", patient.family_name.lower()):
        assert word not in description.lower()


def test_admission_the_day_before_cannot_be_set_once_the_day_has_come(
    patient, nurse, clinician, unit
):
    course = start_course(patient, clinician, MONDAY)
    booking = book(course, 1, unit, MONDAY, nurse)
    with clock(MONDAY, 8), pytest.raises(services.BookingStateError, match="later day"):
        services.set_admit_day_before(booking=booking, admit_day_before=True, changed_by=nurse)
    booking.refresh_from_db()
    assert not booking.admit_day_before
