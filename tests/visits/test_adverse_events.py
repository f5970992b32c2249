"""Adverse events, the hold for clinical review, PLPH triage, follow-up calls, consent
withdrawal and the restart-loading decision (issue 7; DESIGN §2)."""

from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from schedules import engine, planning, plph, services
from schedules.feeds import ical
from schedules.models import AdverseEvent, Booking, FollowUpCall, TreatmentCourse
from tests.factories import GIVEN_ELSEWHERE, MONDAY, VIAL, at, frozen, make_course, make_slot


@pytest.fixture
def dosed(patient, nurse, clinician, unit):
    """Dose 1 given last Monday, dose 2 booked in a week; the clock at this Monday 08:00."""
    with frozen(MONDAY - timedelta(days=7), 7):
        course = make_course(patient, start=MONDAY - timedelta(days=7))
        services.record_administration(
            dose=services.dose_for(course=course, number=1),
            given_at=at(MONDAY - timedelta(days=7), 6),
            recorded_by=clinician,
            **VIAL,
            **GIVEN_ELSEWHERE,
        )
    with frozen():
        booking = services.book_dose_number(
            course=course,
            number=2,
            slot=make_slot(unit, MONDAY + timedelta(days=7)),
            booked_by=nurse,
        )
        yield course, booking


def record(course, user, term="myelitis", serious=False, **details):
    return services.record_adverse_event(
        course=course, term=term, onset=MONDAY, serious=serious, recorded_by=user, **details
    )


@pytest.mark.parametrize("term", sorted(AdverseEvent.SERIOUS_NEUROLOGICAL))
def test_serious_neurological_event_holds_the_course(dosed, nurse, term):
    course, booking = dosed
    event = record(course, nurse, term=term)

    course.refresh_from_db()
    assert event.held
    assert course.status == TreatmentCourse.Status.HELD
    plan = planning.plan_for(course)
    assert [p.state for p in plan] == [engine.DoseState.GIVEN]  # nothing projected


def test_any_event_marked_serious_holds_the_course(dosed, nurse):
    course, _ = dosed
    record(course, nurse, term="back_pain", serious=True)
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.HELD


def test_a_common_event_does_not_hold(dosed, nurse):
    course, _ = dosed
    event = record(course, nurse, term="back_pain", severity="mild")
    course.refresh_from_db()
    assert not event.held
    assert course.status == TreatmentCourse.Status.ACTIVE


def test_held_course_cannot_be_booked_or_given(dosed, nurse, clinician, unit):
    course, booking = dosed
    record(course, nurse)
    with pytest.raises(services.CourseNotActive, match="on hold"):
        services.book_dose_number(
            course=course,
            number=3,
            slot=make_slot(unit, MONDAY + timedelta(days=21)),
            booked_by=nurse,
        )
    with pytest.raises(services.CourseNotActive, match="on hold"):
        services.record_administration(
            dose=booking.dose, given_at=at(MONDAY, 7), recorded_by=clinician, **VIAL
        )


def test_hold_shows_on_the_patient_page_and_the_worklist(dosed, nurse, nurse_client):
    course, booking = dosed
    record(course, nurse)
    page = nurse_client.get(reverse("patients:detail", args=[course.patient_id])).content.decode()
    assert "On hold for clinical review" in page
    assert "Myelitis" in page
    overdue = nurse_client.get(reverse("schedules:overdue")).content.decode()
    assert f'data-held-course="{course.pk}"' in overdue
    day = nurse_client.get(reverse("schedules:day", args=[booking.local_date])).content.decode()
    assert "data-held" in day


def test_held_course_publishes_no_provisional_dates(dosed, nurse, unit):
    course, _ = dosed
    before = ical.provisional_doses(course, unit, MONDAY)
    record(course, nurse)
    course = TreatmentCourse.objects.prefetch_related("events", "doses").get(pk=course.pk)
    assert before and ical.provisional_doses(course, unit, MONDAY) == []


@pytest.mark.parametrize(
    ("decision", "status", "booking_status"),
    [
        ("continue", TreatmentCourse.Status.ACTIVE, Booking.Status.BOOKED),
        ("pause", TreatmentCourse.Status.PAUSED, Booking.Status.CANCELLED),
        ("stop", TreatmentCourse.Status.STOPPED, Booking.Status.CANCELLED),
    ],
)
def test_review_decision_releases_the_hold(
    dosed, nurse, clinician, decision, status, booking_status
):
    course, booking = dosed
    record(course, nurse)
    with pytest.raises(services.NotAllowed, match="Only a clinician"):
        services.record_review_decision(
            course=course, decision=decision, on=MONDAY, note="Seen", recorded_by=nurse
        )
    with pytest.raises(services.CourseError, match="review note"):
        services.record_review_decision(
            course=course, decision=decision, on=MONDAY, note="", recorded_by=clinician
        )
    services.record_review_decision(
        course=course, decision=decision, on=MONDAY, note="MRI clear", recorded_by=clinician
    )
    course.refresh_from_db()
    booking.refresh_from_db()
    assert course.status == status
    assert booking.status == booking_status
    assert planning.plan_for(course).problem == ""


def test_review_page_for_a_clinician(dosed, nurse, clinician_client):
    course, _ = dosed
    record(course, nurse)
    response = clinician_client.post(
        reverse("schedules:review", args=[course.pk]),
        {"decision": "continue", "on": MONDAY.isoformat(), "note": "Neurology review: fine"},
        follow=True,
    )
    assert "Review recorded. Treatment continues" in response.content.decode()


def test_adverse_event_form_refuses_bad_input_with_a_message(dosed, nurse_client):
    course, _ = dosed
    url = reverse("schedules:adverse_event", args=[course.pk])
    response = nurse_client.post(
        url, {"term": "other", "onset": MONDAY.isoformat(), "outcome": "ongoing"}
    )
    assert response.status_code == 400
    assert "Describe the event" in response.content.decode()
    response = nurse_client.post(
        url,
        {
            "term": "fatigue",
            "onset": (MONDAY + timedelta(days=1)).isoformat(),
            "outcome": "ongoing",
        },
    )
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert not AdverseEvent.objects.exists()


# PLPH ------------------------------------------------------------------------------------------

TYPICAL = dict(onset_within_48h=True, postural=True)


@pytest.mark.parametrize(
    ("answers", "step"),
    [
        (TYPICAL | dict(severity="mild", hours_since_onset=6), "conservative"),
        (TYPICAL | dict(severity="severe", hours_since_onset=30), "conservative"),
        (
            TYPICAL | dict(severity="severe", hours_since_onset=30, conservative_tried=True),
            "blood_patch",
        ),
        (TYPICAL | dict(severity="mild", fever=True), "urgent"),
        (TYPICAL | dict(vision_change=True), "urgent"),
        (dict(new_weakness=True), "urgent"),
        (dict(onset_within_48h=True, postural=False), "not_plph"),
    ],
)
def test_plph_triage_gives_the_matching_step(answers, step):
    assert plph.plph_advice(answers).step == step


def test_plph_event_stores_answers_and_advice(dosed, nurse):
    course, _ = dosed
    event = record(
        course,
        nurse,
        term="plph",
        severity="moderate",
        triage=TYPICAL | dict(severity="moderate", hours_since_onset=5),
    )
    event.refresh_from_db()
    assert event.triage["postural"] is True
    assert "lie flat" in event.advice
    assert "2–3 litres" in event.advice


# Follow-up calls -------------------------------------------------------------------------------


def test_follow_up_worklist_lists_a_dose_until_the_call_reaches_the_patient(
    patient, clinician, nurse, nurse_client
):
    with frozen(MONDAY - timedelta(days=1), 12):
        course = make_course(patient, start=MONDAY - timedelta(days=1))
        dose = services.record_administration(
            dose=services.dose_for(course=course, number=1),
            given_at=at(MONDAY - timedelta(days=1), 10),
            recorded_by=clinician,
            **VIAL,
            **GIVEN_ELSEWHERE,
        )
    with frozen(MONDAY, 9):
        page = nurse_client.get(reverse("schedules:follow_up")).content.decode()
        assert f'data-dose="{dose.pk}"' in page
        nurse_client.post(
            reverse("schedules:follow_up_call", args=[dose.pk]), {"outcome": "no_answer"}
        )
        page = nurse_client.get(reverse("schedules:follow_up")).content.decode()
        assert f'data-dose="{dose.pk}"' in page  # no answer: try again
        response = nurse_client.post(
            reverse("schedules:follow_up_call", args=[dose.pk]), {"outcome": "headache"}
        )
        assert "term=plph" in response["Location"]
        page = nurse_client.get(reverse("schedules:follow_up")).content.decode()
        # Issue 17: a headache call stays listed until its triage is saved.
        assert f'data-dose="{dose.pk}"' in page
        assert "Triage the headache" in page
        nurse_client.post(
            response["Location"],
            {
                "term": "plph",
                "onset": MONDAY.isoformat(),
                "severity": "mild",
                "hours_since_onset": "20",
                "onset_within_48h": "on",
                "postural": "on",
                "outcome": "ongoing",
                "follow_up_call": FollowUpCall.objects.get(outcome="headache").pk,
            },
        )
        page = nurse_client.get(reverse("schedules:follow_up")).content.decode()
    assert f'data-dose="{dose.pk}"' not in page
    assert FollowUpCall.objects.filter(dose=dose).count() == 2
    assert FollowUpCall.objects.get(outcome="headache").adverse_event.plph_step == "conservative"
    with frozen(MONDAY + timedelta(days=3), 9):
        page = nurse_client.get(reverse("schedules:follow_up")).content.decode()
    assert "No calls to make" in page


# Consent withdrawal ---------------------------------------------------------------------------


def test_consent_withdrawal_holds_the_course_and_lists_what_it_cancels(
    dosed, clinician, clinician_client
):
    course, booking = dosed
    consent = course.patient.consents.get(kind="hospital")
    url = reverse("patients:consent_withdraw", args=[course.patient_id, consent.pk])
    page = clinician_client.get(url).content.decode()
    assert "These bookings will be cancelled" in page
    assert str(booking.slot) in page

    clinician_client.post(url, {"withdrawn_on": MONDAY.isoformat()})

    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.HELD
    assert [p.state for p in planning.plan_for(course)] == [engine.DoseState.GIVEN]
    overdue = clinician_client.get(reverse("schedules:overdue")).content.decode()
    assert 'Overdue doses <span class="badge text-bg-danger">0</span>' in overdue
    with pytest.raises(services.CourseError, match="Cannot continue"):
        services.record_review_decision(
            course=course, decision="continue", on=MONDAY, note="ok", recorded_by=clinician
        )


def test_withdrawal_dated_before_a_given_dose_is_refused(dosed):
    course, _ = dosed
    consent = course.patient.consents.get(kind="hospital")
    with pytest.raises(services.ServiceError, match="check the withdrawal date"):
        services.withdraw_consent(consent=consent, withdrawn_on=MONDAY - timedelta(days=8))
    consent.refresh_from_db()
    assert consent.withdrawn_on is None


# Restart loading -------------------------------------------------------------------------------


def test_restart_loading_survives_a_later_pause_and_plain_resume():
    start = date(2026, 1, 5)
    events = [
        engine.CourseEvent(engine.EventKind.PAUSE, date(2026, 3, 1)),
        engine.CourseEvent(engine.EventKind.RESUME, date(2026, 6, 1), restart_loading=True),
        engine.CourseEvent(engine.EventKind.PAUSE, date(2026, 6, 3)),
        engine.CourseEvent(engine.EventKind.RESUME, date(2026, 6, 10)),
    ]
    given = {1: start, 2: date(2026, 1, 19), 3: date(2026, 2, 2), 4: date(2026, 6, 12)}
    plan = engine.plan(start=start, today=date(2026, 6, 13), given=given, events=events, count=7)
    assert [p.phase for p in plan][3:] == ["loading", "loading", "loading", "maintenance"]
    assert plan[4].due == date(2026, 6, 26)  # 14 days, a loading interval


def test_dose_schedule_refuses_a_given_date_after_today():
    with pytest.raises(CommandError, match="in the future"):
        call_command(
            "dose_schedule", "--start=2026-01-05", "--given", "1=2026-01-10", "--today=2026-01-06"
        )
