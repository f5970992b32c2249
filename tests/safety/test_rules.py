"""The patient-level rules of `schedules.rules`, one by one, at their edges (the fast tests
`make mutants` runs against `schedules/rules.py`). The stories they protect are in
tests/safety/test_patient_rules.py; here each rule is read over records written directly."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from patients.models import Consent
from schedules import rules, services
from schedules.models import AdverseEvent, CourseEvent, Dose, TreatmentCourse
from tests.factories import MONDAY, at, frozen, make_course

STOPPED = TreatmentCourse.Status.STOPPED


def _stopped_course_with_dose_on(patient, day: date) -> TreatmentCourse:
    course = make_course(patient, day)
    Dose.objects.create(course=course, number=1, given_at=at(day, 10))
    with frozen(day, 12):
        CourseEvent.objects.create(course=course, kind="stop", on=day, reason="patient_choice")
    course.status = STOPPED
    course.save()
    return course


def _event(course, kind, on, reason="side_effects", **extra):
    return CourseEvent.objects.create(course=course, kind=kind, on=on, reason=reason, **extra)


# 1. The interval across courses -------------------------------------------------------------


@pytest.mark.parametrize(("days", "refused"), [(2, True), (13, True), (14, False), (-13, True)])
def test_the_interval_is_14_days_from_a_dose_of_another_course(patient, nurse, days, refused):
    _stopped_course_with_dose_on(patient, MONDAY)
    new = make_course(patient, MONDAY + timedelta(days=1))
    day = MONDAY + timedelta(days=days)
    if not refused:
        assert rules.check_interval(course=new, on=day, by=nurse, override_reason="") == ""
        return
    with pytest.raises(services.OutsideWindow, match="Mon 2 Mar 2026") as refusal:
        rules.check_interval(course=new, on=day, by=nurse, override_reason="Why not")
    assert "A clinician must decide" in str(refusal.value)


def test_a_clinician_needs_a_reason_and_the_reason_is_kept(patient, clinician):
    _stopped_course_with_dose_on(patient, MONDAY)
    new = make_course(patient, MONDAY + timedelta(days=1))
    day = MONDAY + timedelta(days=2)
    with pytest.raises(services.AdministrationError, match="Give the clinician's reason"):
        rules.check_interval(
            course=new,
            on=day,
            by=clinician,
            override_reason="  ",
            error=services.AdministrationError,
        )
    kept = rules.check_interval(course=new, on=day, by=clinician, override_reason=" Seen ")
    assert kept == "Seen"


def test_the_courses_own_doses_are_left_to_the_engines_window(patient, nurse):
    course = make_course(patient, MONDAY)
    Dose.objects.create(course=course, number=1, given_at=at(MONDAY, 10))
    assert (
        rules.check_interval(
            course=course, on=MONDAY + timedelta(days=1), by=nurse, override_reason=""
        )
        == ""
    )
    assert rules.check_interval(course=course, on=MONDAY, by=None, override_reason="") == ""


def test_nobody_named_is_refused(patient):
    _stopped_course_with_dose_on(patient, MONDAY)
    new = make_course(patient, MONDAY + timedelta(days=1))
    with pytest.raises(services.OutsideWindow):
        rules.check_interval(
            course=new, on=MONDAY + timedelta(days=3), by=None, override_reason="x"
        )


# 2. An open serious event --------------------------------------------------------------------


def _adverse(course, clinician, term="myelitis", serious=False):
    return AdverseEvent.objects.create(
        course=course, term=term, onset=course.start_date, serious=serious, recorded_by=clinician
    )


def test_a_serious_event_is_open_until_a_decision_is_recorded_after_it(patient, clinician):
    first = _stopped_course_with_dose_on(patient, MONDAY)
    with frozen(MONDAY + timedelta(days=3), 10):
        event = _adverse(first, clinician)
    assert rules.open_serious_event(patient.pk) == event
    new = make_course(patient, MONDAY + timedelta(days=7))
    with pytest.raises(services.CourseNotActive, match="Myelitis from Mon 2 Mar 2026"):
        rules.check_no_open_serious_event(new)
    with frozen(MONDAY + timedelta(days=4), 10):
        _event(new, "resume", MONDAY + timedelta(days=7), reason="")
    assert rules.open_serious_event(patient.pk) is None
    rules.check_no_open_serious_event(new)


def test_a_hold_is_not_a_decision_and_a_common_event_holds_nothing(patient, clinician):
    course = make_course(patient, MONDAY)
    with frozen(MONDAY, 10):
        _adverse(course, clinician, term="back_pain")
        assert rules.open_serious_event(patient.pk) is None
        serious = _adverse(course, clinician, term="back_pain", serious=True)
    with frozen(MONDAY, 11):
        _event(course, "hold", MONDAY, reason="serious_event")
    assert rules.open_serious_event(patient.pk) == serious


def test_a_decision_before_the_event_does_not_answer_it(patient, clinician):
    course = make_course(patient, MONDAY)
    with frozen(MONDAY, 9):
        _event(course, "pause", MONDAY)
    with frozen(MONDAY, 10):
        event = _adverse(course, clinician)
    assert rules.open_serious_event(patient.pk) == event


def test_a_new_course_after_an_undecided_serious_event_starts_on_hold(patient, clinician):
    first = _stopped_course_with_dose_on(patient, MONDAY)
    with frozen(MONDAY + timedelta(days=3), 10):
        _adverse(first, clinician)
    with frozen(MONDAY + timedelta(days=20), 10):
        new = services.start_course(
            patient=patient, start_date=MONDAY + timedelta(days=20), started_by=clinician
        )
    new.refresh_from_db()
    assert new.status == TreatmentCourse.Status.HELD


# 4. Hold periods and decisions dated before a dose ---------------------------------------------


def test_hold_periods_open_on_a_pause_or_hold_and_close_on_anything_else(patient):
    course = make_course(patient, MONDAY)
    d = [MONDAY + timedelta(days=n) for n in range(20)]
    _event(course, "pause", d[1])
    _event(course, "hold", d[2], reason="serious_event")
    _event(course, "resume", d[5], reason="")
    _event(course, "hold", d[8], reason="serious_event")
    assert rules.hold_periods(course) == [(d[1], d[5]), (d[8], None)]
    for day in (d[0], d[1], d[5], d[6], d[8]):
        rules.check_not_inside_hold(course, day)
    for day in (d[2], d[4], d[9], d[19]):
        with pytest.raises(services.AdministrationError, match="inside it"):
            rules.check_not_inside_hold(course, day)


def test_a_decision_cannot_be_dated_before_a_dose_given_after_it(patient):
    course = make_course(patient, MONDAY)
    Dose.objects.create(course=course, number=1, given_at=at(MONDAY + timedelta(days=2), 10))
    rules.check_no_dose_given_after(course, MONDAY + timedelta(days=2))
    with pytest.raises(services.CourseError, match="Dose 1 was given on Wed 4 Mar 2026"):
        rules.check_no_dose_given_after(course, MONDAY + timedelta(days=1))


# 5. The pause in force -----------------------------------------------------------------------


def test_the_pause_in_force_is_the_last_one_not_resumed_or_stopped(patient):
    course = make_course(patient, MONDAY)
    assert rules.pause_in_force(course) is None
    first = _event(course, "pause", MONDAY)
    _event(course, "hold", MONDAY, reason="serious_event")
    assert rules.pause_in_force(course) == first
    _event(course, "resume", MONDAY + timedelta(days=1), reason="")
    assert rules.pause_in_force(course) is None
    second = _event(course, "pause", MONDAY + timedelta(days=2), reason="spinal")
    assert rules.pause_in_force(course) == second
    _event(course, "stop", MONDAY + timedelta(days=3), reason="patient_choice")
    assert rules.pause_in_force(course) is None


# 3. A withdrawal stands until a consent signed after it -----------------------------------------


@pytest.mark.parametrize(("signed", "restores"), [(-10, False), (0, False), (1, True)])
def test_a_withdrawal_stands_until_a_consent_signed_after_it(patient, signed, restores):
    consent = patient.consents.get(kind=Consent.Kind.HOSPITAL)
    consent.withdrawn_on = MONDAY
    consent.save()
    Consent.objects.create(
        patient=patient, kind=Consent.Kind.HOSPITAL, signed_on=MONDAY + timedelta(days=signed)
    )
    fresh = type(patient).objects.prefetch_related("consents").get(pk=patient.pk)
    later = MONDAY + timedelta(days=5)
    assert (fresh.active_consent(Consent.Kind.HOSPITAL, later) is not None) == restores
    assert fresh.active_consent(Consent.Kind.HOSPITAL, MONDAY - timedelta(days=1)) is not None


# Roles in the course services (issue 17 §8) -----------------------------------------------------


def test_a_nurse_cannot_make_a_course_decision_through_the_services(patient, nurse, clinician):
    """Start, pause, resume, stop, correct the start date and the review decision: each service
    refuses a nurse itself, and nothing changes."""
    with frozen(MONDAY, 10):
        with pytest.raises(services.NotAllowed, match="Only a clinician can start"):
            services.start_course(patient=patient, start_date=MONDAY, started_by=nurse)
        assert not TreatmentCourse.objects.exists()
        course = services.start_course(patient=patient, start_date=MONDAY, started_by=clinician)
        calls = [
            (services.pause_course, dict(on=MONDAY, reason="side_effects", recorded_by=nurse)),
            (services.stop_course, dict(on=MONDAY, reason="side_effects", recorded_by=nurse)),
            (
                services.correct_start_date,
                dict(start_date=MONDAY + timedelta(days=1), reason="typo", corrected_by=nurse),
            ),
        ]
        for call, kwargs in calls:
            with pytest.raises(services.NotAllowed):
                call(course=course, **kwargs)
        services.pause_course(course=course, on=MONDAY, reason="spinal", recorded_by=clinician)
        with pytest.raises(services.NotAllowed, match="resume"):
            services.resume_course(course=course, on=MONDAY, recorded_by=nurse)
        services.record_adverse_event(
            course=course, term="myelitis", onset=MONDAY, serious=True, recorded_by=nurse
        )
        with pytest.raises(services.NotAllowed, match="review decision"):
            services.record_review_decision(
                course=course, decision="continue", on=MONDAY, note="ok", recorded_by=nurse
            )
    course.refresh_from_db()
    assert (course.status, course.start_date) == (TreatmentCourse.Status.HELD, MONDAY)
    assert list(course.events.values_list("kind", flat=True)) == ["pause", "hold"]


def test_the_review_page_says_a_pause_in_force_stands(patient, clinician, clinician_client):
    """After "continue" on a course paused before its hold, the page does not say treatment
    continues: it says the pause stands and needs its own resume."""
    with frozen(MONDAY, 10):
        course = services.start_course(patient=patient, start_date=MONDAY, started_by=clinician)
        services.pause_course(course=course, on=MONDAY, reason="spinal", recorded_by=clinician)
        services.record_adverse_event(
            course=course, term="myelitis", onset=MONDAY, serious=True, recorded_by=clinician
        )
        response = clinician_client.post(
            reverse("schedules:review", args=[course.pk]),
            {"decision": "continue", "on": MONDAY.isoformat(), "note": "MRI clear"},
            follow=True,
        )
    text = response.content.decode()
    assert "treatment stays paused" in text
    assert "Treatment continues" not in text
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.PAUSED
    assert rules.pause_in_force(course).reason == "spinal"


def test_what_booking_and_giving_ask(patient, nurse, clinician):
    """`check_booking` and `check_dose_given`: the interval across courses (the reason kept),
    then an open serious event; giving also refuses a day inside a hold."""
    first = _stopped_course_with_dose_on(patient, MONDAY)
    new = make_course(patient, MONDAY + timedelta(days=1))
    soon = MONDAY + timedelta(days=3)
    with pytest.raises(services.OutsideWindow, match="14 days apart"):
        rules.check_booking(course=new, on=soon, booked_by=nurse, override_reason="")
    rules.check_booking(course=new, on=soon, booked_by=clinician, override_reason="Seen")
    with pytest.raises(services.AdministrationError, match="Give the clinician's reason"):
        rules.check_dose_given(course=new, given_on=soon, recorded_by=clinician, override_reason="")
    kept = rules.check_dose_given(
        course=new, given_on=soon, recorded_by=clinician, override_reason=" Seen "
    )
    assert kept == "Seen"
    later = MONDAY + timedelta(days=20)
    assert (
        rules.check_dose_given(course=new, given_on=later, recorded_by=nurse, override_reason="x")
        == ""
    )
    _event(new, "hold", MONDAY + timedelta(days=15), reason="serious_event")
    with pytest.raises(services.AdministrationError, match="inside it"):
        rules.check_dose_given(course=new, given_on=later, recorded_by=nurse, override_reason="")
    with frozen(MONDAY + timedelta(days=16), 10):
        _adverse(first, clinician)
    for check in (
        lambda: rules.check_booking(course=new, on=later, booked_by=nurse, override_reason=""),
        lambda: rules.check_dose_given(
            course=new, given_on=later, recorded_by=nurse, override_reason=""
        ),
    ):
        with pytest.raises(services.CourseNotActive, match="on hold for clinical review"):
            check()
