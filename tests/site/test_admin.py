"""The Django admin as an admin uses it, the roles' permissions, and the list pages' query
counts. The admin is a window on clinical records (issue 17): read, with history, never edited
around the services."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from patients import services as patient_services
from patients.models import Consent, FeedToken, Patient
from schedules import engine, services
from schedules.models import (
    AdverseEvent,
    Booking,
    ClinicianRequest,
    Closure,
    Competency,
    CourseEvent,
    Dose,
    FollowUpCall,
    ImagingList,
    RotaEntry,
    SessionTemplate,
    Slot,
    TreatmentCourse,
    Unit,
    Visit,
    WaitlistEntry,
)
from tests.factories import MONDAY, at, book, give_dose, make_course, make_patient, make_slot

LONDON = ZoneInfo("Europe/London")
# Written only through the services: read-only in the admin (issue 17 §9).
CLINICAL = [
    TreatmentCourse,
    CourseEvent,
    Dose,
    Booking,
    Visit,
    AdverseEvent,
    Consent,
    FollowUpCall,
    ClinicianRequest,
    WaitlistEntry,
]
# The unit's settings, the patient's identity and feed links stay editable in the admin.
SETTINGS = [Patient, FeedToken, Unit, SessionTemplate, Closure, Slot]
# The unit's people and places (issue 19): the competency register, rota and imaging lists.
SETTINGS += [Competency, RotaEntry, ImagingList]


@pytest.fixture
def records(unit, nurse, clinician, clock):
    """One record of every model registered in the admin, each written by its service."""
    clock(MONDAY, 7)
    patient = make_patient()
    patient_services.issue_feed_link(patient=patient, issued_by=nurse)
    course = services.start_course(patient=patient, start_date=MONDAY, started_by=clinician)
    slot = make_slot(unit, MONDAY)
    booking = book(course, 1, slot, nurse)
    clock(MONDAY, 9, 30)
    give_dose(booking.dose, at(MONDAY, 9, 30), clinician)
    clock(MONDAY, 9, 45)
    clock(MONDAY + timedelta(days=1), 10)
    event = services.record_adverse_event(
        course=course, term="back_pain", onset=MONDAY, serious=False, recorded_by=nurse
    )
    call = services.record_follow_up_call(
        dose=booking.dose, outcome="no_problems", recorded_by=nurse
    )
    request = services.ask_clinician(course=course, number=2, slot=None, asked_by=nurse)
    services.pause_course(
        course=course, on=MONDAY + timedelta(days=1), reason="side_effects", recorded_by=clinician
    )
    closure = Closure.objects.create(
        unit=unit, start_date=date(2026, 12, 25), end_date=date(2026, 12, 25), reason="Xmas"
    )
    later_day = MONDAY + timedelta(days=7)
    later = book(
        make_course(make_patient("H100002"), later_day), 1, make_slot(unit, later_day), nurse
    )
    services.set_waitlist(booking=later, notice_days=3, this_dose_only=False, set_by=nurse)
    booking.refresh_from_db()
    template = unit.session_templates.first()
    competency = Competency.objects.create(
        operator=clinician,
        procedure=Competency.Procedure.IMAGE_GUIDED,
        valid_until=date(2027, 1, 1),
        signed_off_by=clinician,
        signed_off_on=date(2025, 1, 1),
    )
    rota = RotaEntry.objects.create(template=template, day=MONDAY, operator=clinician)
    imaging = ImagingList.objects.create(template=template, day=MONDAY, places=2)
    return {
        Competency: competency,
        RotaEntry: rota,
        ImagingList: imaging,
        TreatmentCourse: course,
        CourseEvent: course.events.get(),
        Dose: booking.dose,
        Booking: booking,
        Visit: booking.visit,
        AdverseEvent: event,
        Consent: patient.consents.first(),
        FollowUpCall: call,
        ClinicianRequest: request,
        WaitlistEntry: WaitlistEntry.objects.get(),
        Patient: patient,
        FeedToken: FeedToken.objects.get(patient=patient),
        Unit: unit,
        SessionTemplate: unit.session_templates.first(),
        Closure: closure,
        Slot: slot,
    }


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_registered_model_is_either_a_clinical_record_or_a_setting():
    ours = {
        model
        for model in admin.site._registry
        if model._meta.app_label in ("patients", "schedules")
    }

    assert ours == set(CLINICAL) | set(SETTINGS)


@pytest.mark.parametrize("model", CLINICAL + SETTINGS, ids=lambda model: model.__name__)
def test_every_model_has_a_working_admin_list_with_search_and_change_page(
    client, admin_user, records, model
):
    client.force_login(admin_user)

    listing = client.get(_url(model, "changelist"), {"q": "H100001"})
    change = client.get(_url(model, "change", records[model].pk))
    history = client.get(_url(model, "history", records[model].pk))

    assert (listing.status_code, change.status_code, history.status_code) == (200, 200, 200)
    editable = 'name="_save"' in change.content.decode()
    assert editable is (model in SETTINGS)


@pytest.mark.parametrize("model", CLINICAL, ids=lambda model: model.__name__)
def test_clinical_records_cannot_be_added_changed_deleted_or_reverted_in_the_admin(
    client, admin_user, records, model
):
    record = records[model]
    client.force_login(admin_user)
    before = model.objects.filter(pk=record.pk).values().get()

    add = client.get(_url(model, "add"))
    change = client.post(_url(model, "change", record.pk), {})
    delete = client.post(_url(model, "delete", record.pk), {"post": "yes"})
    assert [add.status_code, change.status_code, delete.status_code] == [403, 403, 403]
    if hasattr(record, "history"):  # simple-history's page of a past version: read, no revert
        past_url = _url(model, "history", record.pk) + f"{record.history.earliest().history_id}/"
        past, revert = client.get(past_url), client.post(past_url, {})
        assert (past.status_code, revert.status_code) == (200, 403)
        assert 'name="_save"' not in past.content.decode()
    assert model.objects.filter(pk=record.pk).values().get() == before


def test_inlines_of_clinical_records_are_read_only(client, admin_user, records):
    client.force_login(admin_user)
    patient = records[Patient]
    course = records[TreatmentCourse]

    patient_page = client.get(_url(Patient, "change", patient.pk)).content.decode()
    course_page = client.get(_url(TreatmentCourse, "change", course.pk)).content.decode()
    slot_page = client.get(_url(Slot, "change", records[Slot].pk)).content.decode()

    assert 'name="consents-0-signed_on"' not in patient_page
    assert 'name="courses-0-status"' not in patient_page
    assert 'name="events-0-kind"' not in course_page
    assert 'name="doses-0-given_at_0"' not in course_page
    assert 'name="bookings-0-status"' not in slot_page
    assert 'consents-MAX_NUM_FORMS" value="0"' in patient_page


def test_the_patients_clinical_gates_are_read_only_in_the_admin(client, admin_user, records):
    """SOD1 confirmation and "could be pregnant" are a clinician's record on the patient page
    (`save_patient` checks the role); the admin edits the patient's identity and contact."""
    patient = records[Patient]
    client.force_login(admin_user)

    page = client.get(_url(Patient, "change", patient.pk)).content.decode()

    assert 'name="phone"' in page
    for gate in Patient.CLINICAL_FIELDS:
        assert f'name="{gate}"' not in page


def test_admin_cancels_a_booking_through_the_service_with_a_reason(
    client, admin_user, unit, nurse, clinician, clock
):
    """The admin's way to cancel: an action that asks for the reason, then calls
    `cancel_booking` (lock, refusals, history with who)."""
    clock(MONDAY, 7)
    patient = make_patient()
    course = services.start_course(patient=patient, start_date=MONDAY, started_by=clinician)
    booking = book(course, 1, make_slot(unit, MONDAY + timedelta(days=1)), nurse)
    client.force_login(admin_user)
    url = _url(Booking, "changelist")
    chosen = {"action": "cancel_selected", "_selected_action": [booking.pk]}

    asked = client.post(url, chosen)
    booking.refresh_from_db()
    assert "Reason for cancelling" in asked.content.decode()
    assert booking.status == Booking.Status.BOOKED

    client.post(url, chosen | {"apply": "1", "reason": "Patient's request"})

    booking.refresh_from_db()
    assert (booking.status, booking.cancel_reason) == (
        Booking.Status.CANCELLED,
        "Patient's request",
    )
    assert booking.history.latest().history_user == admin_user


def test_admin_cancel_is_refused_by_the_service_when_a_later_dose_counts_from_it(
    client, admin_user, unit, nurse, clinician, clock
):
    clock(MONDAY, 7)
    patient = make_patient()
    course = services.start_course(patient=patient, start_date=MONDAY, started_by=clinician)
    first = book(course, 1, make_slot(unit, MONDAY + timedelta(days=1)), nurse)
    book(course, 2, make_slot(unit, MONDAY + timedelta(days=15)), nurse)
    client.force_login(admin_user)

    response = client.post(
        _url(Booking, "changelist"),
        {"action": "cancel_selected", "_selected_action": [first.pk], "apply": "1", "reason": "x"},
        follow=True,
    )

    first.refresh_from_db()
    assert first.status == Booking.Status.BOOKED
    assert "cancel dose 2 first" in response.content.decode()


def test_patient_admin_shows_consents_and_courses_inline(client, admin_user, clinician):
    patient = make_patient()
    services.start_course(patient=patient, start_date=date(2026, 1, 5), started_by=clinician)
    client.force_login(admin_user)

    page = client.get(reverse("admin:patients_patient_change", args=[patient.pk])).content.decode()

    assert "Hospital consent form" in page
    assert "Treatment courses" in page


def test_admin_sees_the_history_of_a_record(client, admin_user):
    patient = make_patient()
    patient.phone = "07700 900123"
    patient.save()
    client.force_login(admin_user)

    response = client.get(reverse("admin:patients_patient_history", args=[patient.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Changed" in page or "Created" in page
    assert patient.history.count() == 2


@pytest.mark.parametrize(
    ("group", "allowed", "refused"),
    [
        ("Nurse", ["add_patient", "add_booking", "view_treatmentcourse"], ["manage_course"]),
        (
            "Clinician",
            ["add_consent", "manage_course", "override_booking_window", "record_administration"],
            [],
        ),
    ],
)
def test_roles_are_groups_with_the_right_permissions(group, allowed, refused, db):
    codenames = set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))

    assert set(allowed) <= codenames
    assert not set(refused) & codenames


def test_nurse_cannot_open_the_admin(nurse_client):
    response = nurse_client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert "login" in response["Location"]


def _patients_with_courses(count, clinician):
    for index in range(count):
        patient = make_patient(f"H{index:06d}", family_name=f"Family{index}")
        course = services.start_course(
            patient=patient, start_date=date(2026, 1, 5), started_by=clinician
        )
        if index % 3 == 0:
            services.pause_course(
                course=course, on=date(2026, 1, 5), reason="side_effects", recorded_by=clinician
            )


@pytest.mark.parametrize("count", [10, 45])
def test_patient_list_makes_a_constant_number_of_queries(
    nurse_client, clinician, django_assert_num_queries, count, unit, clock
):
    # The day the courses start: no dose is overdue yet, so no open-day lookup is needed (an
    # unfrozen clock made this test fail once the start date had passed).
    clock(date(2026, 1, 5), 10)
    _patients_with_courses(count, clinician)

    # session, user, permissions, count, unit, patients, courses, then the courses' facts as
    # values (planning.plans_from_values): given doses, booked doses, decisions (the unit's
    # open days are read only when a dose is overdue: two more, also constant), and the
    # messaging banner's one query (issue 18)
    with django_assert_num_queries(12):
        response = nurse_client.get(reverse("patients:list"))

    assert response.status_code == 200
    assert response.content.decode().count("FAMILY") == count


@pytest.mark.parametrize("given", [3, 12])
def test_patient_page_makes_a_constant_number_of_queries(
    nurse_client, clinician, django_assert_num_queries, given, unit, clock
):
    clock(MONDAY, 10)  # a Monday
    patient = make_patient()
    start = date(2025, 3, 3)
    course = services.start_course(patient=patient, start_date=start, started_by=clinician)
    on_time = engine.plan(start=start, today=start, count=given)
    for planned in on_time:
        Dose.objects.create(
            course=course,
            number=planned.number,
            given_at=datetime.combine(planned.date, time(10), tzinfo=LONDON),
        )

    # session, user, 2 × permissions, patient, consents, courses, events, doses, bookings,
    # unit, session templates, closures, feed token, adverse events, the patient's messages
    # and the messaging banner (issue 18)
    with django_assert_num_queries(17):
        response = nurse_client.get(reverse("patients:detail", args=[patient.pk]))

    assert response.content.decode().count(">Given</span>") == given


def test_closures_are_added_where_their_bookings_are_checked_not_inline_on_the_unit(
    client, admin_user, unit
):
    """The unit page lists closures with a link; adding one there would skip the Closure
    form's list of the bookings on the days being closed (issue 10)."""
    unit.closures.create(start_date=date(2026, 12, 25), end_date=date(2026, 12, 26), reason="Xmas")
    client.force_login(admin_user)

    page = client.get(reverse("admin:schedules_unit_change", args=[unit.pk])).content.decode()

    assert "Xmas" in page
    assert 'name="closures-0-start_date"' not in page  # listed, not editable
    assert 'closures-MAX_NUM_FORMS" value="0"' in page  # no form for a new one
