"""The visit, start to finish (issue 7): arrival, pre-dose checks, given or not given,
observation and discharge; the recording rules; what the nurse sees on the day list, the
patient page, the worklists and the feed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from schedules import engine, services
from schedules.models import Booking, Dose, Visit
from tests.factories import (
    GIVEN_ELSEWHERE,
    MONDAY,
    VIAL,
    arrive_and_check,
    at,
    frozen,
    give,
    give_dose,
    make_course,
    make_patient,
    make_slot,
)


@pytest.fixture
def visit_day(patient, nurse, unit):
    """Dose 1 booked for 09:00 today (a Monday), the clock at 08:00."""
    with frozen():
        course = make_course(patient)
        slot = make_slot(unit, MONDAY, 9)
        booking = services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
        yield booking


# Life of a visit ---------------------------------------------------------------------------


def test_a_visit_walks_from_booked_to_discharged(visit_day, nurse, clinician):
    booking = visit_day
    assert booking.stage == Visit.Stage.BOOKED

    services.mark_arrived(booking=booking, marked_by=nurse)
    booking.refresh_from_db()
    assert booking.stage == Visit.Stage.ARRIVED
    services.record_checks(
        booking=booking, recorded_by=nurse, identity_confirmed=True, blood_sample_taken=True
    )
    booking.refresh_from_db()
    assert booking.stage == Visit.Stage.CHECKS_DONE
    with frozen(MONDAY, 9, 40):
        give(booking, clinician)
        booking.refresh_from_db()
        assert booking.stage == Visit.Stage.GIVEN
        services.start_observation(booking=booking, recorded_by=nurse)
    booking.refresh_from_db()
    assert booking.stage == Visit.Stage.OBSERVATION
    with frozen(MONDAY, 11, 0):
        visit = services.record_discharge(booking=booking, recorded_by=nurse)
    booking.refresh_from_db()
    assert booking.stage == Visit.Stage.DISCHARGED
    assert visit.warnings == []
    assert visit.discharged_at == at(MONDAY, 11)


def test_a_patient_given_the_dose_before_the_slot_starts_keeps_their_place(
    visit_day, nurse, clinician, unit, client
):
    """A slot's places are chairs: a patient who arrived early and was given the dose before
    09:00 is in one, in observation. Was: a given booking stopped counting, so the slot
    showed a free place and took another booking before it started."""
    booking = visit_day  # dose 1 at 09:00, two places; a second patient takes the other
    other = make_course(make_patient("H00002"))
    services.book_dose_number(course=other, number=1, slot=booking.slot, booked_by=nurse)
    with frozen(MONDAY, 8, 20):
        arrive_and_check(booking, nurse)
        give(booking, clinician, when=at(MONDAY, 8, 20))
        third = make_course(make_patient("H00003"))

        with pytest.raises(services.SlotFull, match="is full"):
            services.book_dose_number(course=third, number=1, slot=booking.slot, booked_by=nurse)
        client.force_login(nurse)
        page = client.get(reverse("schedules:book", args=[third.pk, 1])).content.decode()

    assert f'value="{booking.slot.pk}"' not in page  # not offered as a choice either
    assert Booking.objects.filter(slot=booking.slot).count() == 2


def test_administration_is_refused_until_the_checks_are_complete(visit_day, nurse, clinician):
    booking = visit_day
    with pytest.raises(services.AdministrationError, match="mark the patient arrived"):
        give(booking, clinician)
    services.mark_arrived(booking=booking, marked_by=nurse)
    with pytest.raises(services.AdministrationError, match="pre-dose checks are not complete"):
        give(booking, clinician)
    # The blood sample is required when the checks are saved (issue 17 §3).
    with pytest.raises(services.VisitError, match="blood sample"):
        services.record_checks(
            booking=booking, recorded_by=nurse, identity_confirmed=True, blood_sample_taken=False
        )
    with pytest.raises(services.AdministrationError, match="pre-dose checks are not complete"):
        give(booking, clinician)

    assert Dose.objects.get(pk=booking.dose.pk).given_at is None


def test_a_new_symptom_stops_the_checks_until_a_clinician_decides(visit_day, nurse, clinician):
    booking = visit_day
    visit = arrive_and_check(booking, nurse, symptom_neck_stiffness=True)
    assert visit.needs_clinician and not visit.checks_complete
    with pytest.raises(services.AdministrationError, match="checks are not complete"):
        give(booking, clinician)
    with pytest.raises(services.VisitError, match="Only a clinician"):
        services.clear_checks(booking=booking, cleared_by=nurse, note="fine")
    with pytest.raises(services.VisitError, match="Write the clinical decision"):
        services.clear_checks(booking=booking, cleared_by=clinician, note=" ")

    services.clear_checks(booking=booking, cleared_by=clinician, note="Old, unchanged.")
    give(booking, clinician)

    assert Dose.objects.get(pk=booking.dose.pk).given_at is not None


def test_pregnancy_must_be_asked_for_a_patient_who_could_be_pregnant(nurse, clinician, unit):
    patient = make_patient("H900001", could_be_pregnant=True)
    with frozen():
        course = make_course(patient)
        booking = services.book_dose_number(
            course=course, number=1, slot=make_slot(unit, MONDAY), booked_by=nurse
        )
        services.mark_arrived(booking=booking, marked_by=nurse)
        with pytest.raises(services.VisitError, match="pregnancy"):
            services.record_checks(
                booking=booking, recorded_by=nurse, identity_confirmed=True, blood_sample_taken=True
            )
        visit = services.record_checks(
            booking=booking,
            recorded_by=nurse,
            identity_confirmed=True,
            blood_sample_taken=True,
            pregnancy="yes",
        )
        assert visit.needs_clinician
        with pytest.raises(services.AdministrationError, match="checks are not complete"):
            give(booking, clinician)


def test_short_observation_is_warned_at_discharge(visit_day, nurse, clinician):
    booking = visit_day
    arrive_and_check(booking, nurse)
    with frozen(MONDAY, 9, 40):
        give(booking, clinician, when=at(MONDAY, 9, 30))
    with frozen(MONDAY, 10, 0):
        with pytest.raises(services.EarlyDischarge, match="60–90 minutes"):
            services.record_discharge(booking=booking, recorded_by=nurse)
        visit = services.record_discharge(
            booking=booking, recorded_by=nurse, early_reason="Transport waiting; feels well"
        )
    assert "Discharged 30 minutes after the dose" in visit.warnings[0]
    assert visit.early_discharge_reason == "Transport waiting; feels well"


# Not given ---------------------------------------------------------------------------------


def test_not_given_closes_the_booking_and_the_dose_stays_due(visit_day, nurse, unit):
    booking = visit_day
    later = services.book_dose_number(
        course=booking.dose.course,
        number=2,
        slot=make_slot(unit, MONDAY + timedelta(days=14)),
        booked_by=nurse,
    )
    services.mark_arrived(booking=booking, marked_by=nurse)

    booking = services.record_not_given(
        booking=booking, reason="lp_unsuccessful", recorded_by=nurse
    )

    booking.refresh_from_db()
    later.refresh_from_db()
    assert booking.status == Booking.Status.NOT_GIVEN
    assert not booking.is_active
    assert booking.stage == Visit.Stage.NOT_GIVEN
    assert booking.visit.not_given_reason == "lp_unsuccessful"
    assert later.status == Booking.Status.CANCELLED
    course = booking.dose.course
    from schedules import planning

    plan = planning.plan_for(course, unit=unit)
    assert plan.problem == ""
    assert plan.dose(1).state == engine.DoseState.DUE  # nothing anchored on the failed visit
    assert plan.dose(2).due == MONDAY + timedelta(days=14)


def test_not_given_needs_a_reason_and_other_needs_details(visit_day, nurse):
    services.mark_arrived(booking=visit_day, marked_by=nurse)
    with pytest.raises(services.VisitError, match="Choose why"):
        services.record_not_given(booking=visit_day, reason="", recorded_by=nurse)
    with pytest.raises(services.VisitError, match="Say why"):
        services.record_not_given(booking=visit_day, reason="other", recorded_by=nurse)
    visit_day.refresh_from_db()
    assert visit_day.status == Booking.Status.ARRIVED


def test_not_given_visit_goes_on_the_rebook_list_and_leaves_the_feed(
    visit_day, nurse, nurse_client
):
    services.mark_arrived(booking=visit_day, marked_by=nurse)
    response = nurse_client.post(
        reverse("schedules:visit_not_given", args=[visit_day.pk]),
        {"reason": "unwell", "next": reverse("schedules:day", args=[MONDAY])},
        follow=True,
    )
    page = response.content.decode()
    assert "Dose 1 not given: it stays due" in page
    assert 'data-stage="not_given"' in page

    overdue = nurse_client.get(reverse("schedules:overdue")).content.decode()
    needs = nurse_client.get(reverse("schedules:needs_booking")).content.decode()
    assert visit_day.dose.course.patient.full_name in overdue + needs


def test_the_feed_drops_the_confirmed_event_of_a_visit_not_given(visit_day, nurse, unit):
    from schedules.feeds import ical

    def events():
        cal = ical.patient_calendar(visit_day.dose.course.patient, unit, today=MONDAY)
        return [(str(e["uid"]), str(e["status"])) for e in cal.walk("VEVENT")]

    uid = str(visit_day.dose.uid)
    assert (uid, "CONFIRMED") in events()
    services.mark_arrived(booking=visit_day, marked_by=nurse)
    services.record_not_given(booking=visit_day, reason="no_drug", recorded_by=nurse)

    assert (uid, "CONFIRMED") not in events()


# Recording rules -------------------------------------------------------------------------------


def test_required_fields_are_required_in_the_service(patient, clinician):
    with frozen():
        course = make_course(patient)
        dose = services.dose_for(course=course, number=1)
        for missing in ("operator", "vial_batch", "vial_expiry"):
            details = VIAL | {missing: "" if missing != "vial_expiry" else None}
            with pytest.raises(services.AdministrationError, match="before saving"):
                services.record_administration(
                    dose=dose, given_at=at(MONDAY, 7), recorded_by=clinician, **details
                )
        assert Dose.objects.get(pk=dose.pk).given_at is None


def test_a_dose_cannot_be_recorded_while_an_earlier_one_has_no_outcome(
    patient, nurse, clinician, unit, client
):
    """Dose 2's past booking has no outcome: dose 3 is refused, and no page breaks."""
    with frozen(MONDAY - timedelta(days=30)):
        course = make_course(patient, start=MONDAY - timedelta(days=28))
    with frozen(MONDAY - timedelta(days=29), 8):
        booking = services.book_dose_number(
            course=course,
            number=1,
            slot=make_slot(unit, MONDAY - timedelta(days=28)),
            booked_by=nurse,
        )
    with frozen(MONDAY - timedelta(days=28), 10):
        give_dose(booking.dose, at(MONDAY - timedelta(days=28), 10), clinician)
        services.book_dose_number(
            course=course,
            number=2,
            slot=make_slot(unit, MONDAY - timedelta(days=14)),
            booked_by=nurse,
        )
    with frozen(MONDAY, 12):
        with pytest.raises(services.DoseOutOfOrder, match="Dose 2 is not recorded as given"):
            services.record_administration(
                dose=services.dose_for(course=course, number=3),
                given_at=at(MONDAY, 9),
                recorded_by=clinician,
                **VIAL,
            )
        client.force_login(clinician)
        assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200
        overdue = client.get(reverse("schedules:overdue")).content.decode()
    assert "Past appointments with no outcome" in overdue
    assert patient.full_name in overdue


def test_dose_1_before_the_course_start_is_refused(patient, clinician):
    with frozen(MONDAY + timedelta(days=3)):
        course = make_course(patient, start=MONDAY + timedelta(days=1))
        with pytest.raises(services.AdministrationError, match="course started"):
            services.record_administration(
                dose=services.dose_for(course=course, number=1),
                given_at=at(MONDAY, 9),
                recorded_by=clinician,
                **VIAL,
            )


def test_early_dose_needs_a_clinician_with_a_reason_and_is_flagged(
    patient, clinician, nurse, clinician_client
):
    with frozen(MONDAY + timedelta(days=1), 12):
        course = make_course(patient)
        services.record_administration(
            dose=services.dose_for(course=course, number=1),
            given_at=at(MONDAY, 9),
            recorded_by=clinician,
            **VIAL,
            **GIVEN_ELSEWHERE,
        )
        dose2 = services.dose_for(course=course, number=2)
        nurse.user_permissions.add(
            *clinician.groups.get().permissions.filter(codename="record_administration")
        )
        nurse = type(nurse).objects.get(pk=nurse.pk)
        with pytest.raises(services.AdministrationError, match="Only a clinician"):
            services.record_administration(
                dose=dose2, given_at=at(MONDAY + timedelta(days=1), 9), recorded_by=nurse, **VIAL
            )
        with pytest.raises(services.AdministrationError, match="give a reason"):
            services.record_administration(
                dose=dose2,
                given_at=at(MONDAY + timedelta(days=1), 9),
                recorded_by=clinician,
                **VIAL,
            )
        with pytest.raises(services.AdministrationError, match="on or before dose 1"):
            services.record_administration(
                dose=dose2,
                given_at=at(MONDAY, 10),
                recorded_by=clinician,
                override_reason="Travel",
                **VIAL,
            )
        services.record_administration(
            dose=dose2,
            given_at=at(MONDAY + timedelta(days=1), 9),
            recorded_by=clinician,
            override_reason="Emigrating tomorrow",
            elsewhere_checks=GIVEN_ELSEWHERE["elsewhere_checks"],
            **VIAL,
        )
        page = clinician_client.get(reverse("patients:detail", args=[patient.pk])).content
    assert b'data-flag="given-early"' in page
    assert b"Emigrating tomorrow" in page


def test_a_dose_in_the_future_is_refused(patient, clinician):
    with frozen():
        course = make_course(patient)
        with pytest.raises(services.AdministrationError, match="future"):
            services.record_administration(
                dose=services.dose_for(course=course, number=1),
                given_at=at(MONDAY, 9),
                recorded_by=clinician,
                **VIAL,
            )


def test_csf_and_volume_outside_the_usual_are_warned(visit_day, nurse, clinician):
    arrive_and_check(visit_day, nurse)
    with frozen(MONDAY, 10):
        # Inside the bounds (issue 17 §7) but outside the usual: saved, and warned.
        dose = give(
            visit_day, clinician, csf_removed_ml=Decimal("3"), volume_injected_ml=Decimal("14.5")
        )
    assert any("CSF removed was 3" in w for w in dose.warnings)
    assert any("not 15 mL" in w for w in dose.warnings)


# The day list ------------------------------------------------------------------------------


def test_day_list_offers_the_next_step_of_each_visit(visit_day, nurse, nurse_client):
    day_url = reverse("schedules:day", args=[MONDAY])
    services.mark_arrived(booking=visit_day, marked_by=nurse)
    page = nurse_client.get(day_url).content.decode()
    assert "Pre-dose checks" in page and "Not given" in page

    response = nurse_client.post(
        reverse("schedules:visit_checks", args=[visit_day.pk]),
        {
            "identity_confirmed": "yes",
            "symptom_headache": "no",
            "symptom_neck_stiffness": "no",
            "symptom_vision": "no",
            "symptom_numbness_weakness": "no",
            "fever": "no",
            "blood_sample_taken": "yes",
            "clotting_checked": "not_requested",
            "next": day_url,
        },
        follow=True,
    )
    assert "Pre-dose checks complete" in response.content.decode()
    assert 'data-stage="checks_done"' in response.content.decode()


def test_visit_endpoints_refuse_a_bad_step_with_a_message_not_a_500(visit_day, nurse_client):
    day_url = reverse("schedules:day", args=[MONDAY])
    response = nurse_client.post(
        reverse("schedules:visit_discharge", args=[visit_day.pk]), {"next": day_url}, follow=True
    )
    assert response.status_code == 200
    assert "after the dose is given" in response.content.decode()


def test_a_past_visit_without_outcome_is_recorded_late_only_by_a_clinician_with_a_reason(
    visit_day, nurse, clinician
):
    booking = visit_day
    with frozen(MONDAY + timedelta(days=1), 9):
        nurse = type(nurse).objects.get(pk=nurse.pk)
        with pytest.raises(services.AdministrationError, match="has no record"):
            give(booking, clinician, when=at(MONDAY, 9, 30))
        with pytest.raises(services.AdministrationError, match="identity"):
            give(booking, clinician, when=at(MONDAY, 9, 30), override_reason="Paper record")
        dose = give(
            booking,
            clinician,
            when=at(MONDAY, 9, 30),
            override_reason="Paper record",
            elsewhere_checks=GIVEN_ELSEWHERE["elsewhere_checks"],
        )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.FULFILLED
    assert dose.override_reason == "Paper record"
    assert dose.elsewhere_checks["checked_by"] == "Sister Ward, referring hospital"


# One door for a dose given; checks that keep what was said (issue 17) --------------------------


def test_a_fever_stops_the_checks_until_a_clinician_decides(visit_day, nurse, clinician):
    """A fever is asked at the checks; a "yes" means no dose without a clinician's decision,
    and saving the checks again without it does not erase it."""
    visit = arrive_and_check(visit_day, nurse, fever=True)
    assert visit.needs_clinician and "fever" in visit.symptoms
    visit = services.record_checks(
        booking=visit_day, recorded_by=nurse, identity_confirmed=True, blood_sample_taken=True
    )
    assert visit.fever and visit.needs_clinician
    with pytest.raises(services.AdministrationError, match="checks are not complete"):
        give(visit_day, clinician)
    services.clear_checks(booking=visit_day, cleared_by=clinician, note="Temperature 37.2 now")
    assert give(visit_day, clinician).given_at is not None


def test_not_given_for_a_fever_is_retried_the_same_day_only_by_a_clinician(
    visit_day, nurse, clinician, unit
):
    """After "not given" with a fever, a same-day rebooking needs a clinician with a reason."""
    arrive_and_check(visit_day, nurse, fever=True)
    services.record_not_given(booking=visit_day, reason="declined", recorded_by=nurse)
    course = visit_day.dose.course
    afternoon = make_slot(unit, MONDAY, 14)
    with pytest.raises(services.SameDayBooking, match="needs a clinician"):
        services.book_dose_number(course=course, number=1, slot=afternoon, booked_by=nurse)
    with pytest.raises(services.SameDayBooking, match="needs a clinician"):
        services.book_dose_number(course=course, number=1, slot=afternoon, booked_by=clinician)
    booking = services.book_dose_number(
        course=course,
        number=1,
        slot=afternoon,
        booked_by=clinician,
        override_reason="Seen at 13:00: afebrile, well",
    )
    assert booking.status == Booking.Status.BOOKED


def test_a_partial_dose_is_recorded_only_by_a_clinician_with_a_reason(visit_day, nurse, clinician):
    arrive_and_check(visit_day, nurse)
    with frozen(MONDAY, 9, 40):
        with pytest.raises(services.AdministrationError, match="not a full dose"):
            give(visit_day, clinician, volume_injected_ml=Decimal("7"))
        dose = give(
            visit_day,
            clinician,
            volume_injected_ml=Decimal("7"),
            partial_reason="Needle dislodged after 7 mL",
        )
    dose.refresh_from_db()
    assert dose.partial and dose.partial_reason == "Needle dislodged after 7 mL"


def test_record_given_on_the_patient_page_sends_a_booked_dose_to_its_visit(
    visit_day, clinician_client
):
    course = visit_day.dose.course
    url = reverse("courses:dose_record", args=[course.patient_id, course.pk, 1])
    with frozen(MONDAY, 8, 10):
        response = clinician_client.get(url)
    assert response.status_code == 302
    assert response.url == reverse("schedules:day", args=[MONDAY])


def test_an_arrived_visit_from_an_earlier_day_offers_not_given_on_the_board(
    visit_day, nurse, nurse_client
):
    services.mark_arrived(booking=visit_day, marked_by=nurse)
    with frozen(MONDAY + timedelta(days=1), 9):
        nurse_client.force_login(nurse)
        page = nurse_client.get(reverse("schedules:day", args=[MONDAY])).content.decode()
        with pytest.raises(services.VisitError, match="visit's day"):
            services.record_checks(
                booking=visit_day,
                recorded_by=nurse,
                identity_confirmed=True,
                blood_sample_taken=True,
            )
    assert "No outcome was recorded for this visit" in page
    assert reverse("schedules:visit_not_given", args=[visit_day.pk]) in page
