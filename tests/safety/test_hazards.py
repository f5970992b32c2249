"""Tests that prove controls of the hazard log (docs/hazard-log.md) not proved elsewhere; each
fails when `make hazards` removes its control."""

import logging
from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from patients import services as patient_services
from patients.models import FeedToken
from schedules import services
from schedules.models import AdverseEvent, Booking, CourseEvent, Dose, Visit
from tests.factories import MONDAY, VIAL, arrive_and_check, at, frozen, give, make_course, make_slot


@pytest.fixture
def booked(patient, nurse, unit):
    with frozen():
        course = make_course(patient)
        booking = services.book_dose_number(
            course=course,
            number=1,
            slot=make_slot(unit, MONDAY + timedelta(days=1)),
            booked_by=nurse,
        )
        yield course, booking


def test_no_dose_recorded_without_consent(patient, clinician):
    with frozen():
        course = make_course(patient)
        patient.consents.filter(kind="early_access").delete()
        with pytest.raises(services.NotEligible, match="early-access consent"):
            services.record_administration(
                dose=services.dose_for(course=course, number=1),
                given_at=at(MONDAY, 7),
                recorded_by=clinician,
                **VIAL,
            )
    assert not Dose.objects.filter(given_at__isnull=False).exists()


def test_pausing_cancels_future_bookings(booked, clinician):
    course, booking = booked
    cancelled = services.pause_course(
        course=course, on=MONDAY, reason="spinal", recorded_by=clinician
    )
    booking.refresh_from_db()
    assert cancelled == 1
    assert booking.status == Booking.Status.CANCELLED


def test_stopping_cancels_future_bookings(booked, clinician):
    course, booking = booked
    services.stop_course(course=course, on=MONDAY, reason="side_effects", recorded_by=clinician)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_expired_vial_is_refused(patient, clinician):
    with frozen():
        course = make_course(patient)
        with pytest.raises(services.AdministrationError, match="expired"):
            services.record_administration(
                dose=services.dose_for(course=course, number=1),
                given_at=at(MONDAY, 7),
                recorded_by=clinician,
                **VIAL | {"vial_expiry": MONDAY - timedelta(days=1)},
            )


def test_contradictory_record_shows_a_banner_not_a_500(patient, clinician_client):
    """Dose 3 recorded given while dose 2 is not (an old import, an admin edit): every page
    shows what is known and says what a clinician must correct."""
    with frozen():
        course = make_course(patient, start=MONDAY - timedelta(days=40))
        Dose.objects.create(course=course, number=1, given_at=at(MONDAY - timedelta(days=40)))
        Dose.objects.create(course=course, number=3, given_at=at(MONDAY - timedelta(days=10)))
        pages = [
            reverse("patients:detail", args=[patient.pk]),
            reverse("patients:list"),
            reverse("schedules:overdue"),
            reverse("schedules:needs_booking"),
            reverse("feeds:letter", args=[patient.pk]),
        ]
        responses = [clinician_client.get(url) for url in pages]
    assert [r.status_code for r in responses] == [200] * len(pages)
    assert "needs checking by a clinician" in responses[0].content.decode()


def test_every_clinical_write_leaves_a_history_row(booked, nurse, clinician):
    course, booking = booked
    with frozen(MONDAY + timedelta(days=1), 9, 20):
        arrive_and_check(booking, nurse)
    with frozen(MONDAY + timedelta(days=1), 10, 35):
        give(booking, clinician, when=at(MONDAY + timedelta(days=1), 9, 30))
        services.record_discharge(booking=booking, recorded_by=nurse)
        services.record_adverse_event(
            course=course,
            term="myelitis",
            onset=MONDAY + timedelta(days=1),
            serious=True,
            recorded_by=clinician,
        )
    for model in (Visit, Dose, Booking, CourseEvent, AdverseEvent):
        assert model.history.exists(), model
    dose_history = Dose.history.filter(id=booking.dose_id).order_by("history_id")
    assert dose_history.last().history_user == clinician
    assert CourseEvent.history.get(kind="hold").history_user == clinician


def test_admin_revoke_goes_through_the_service(patient, admin_user, caplog):
    patient_services.issue_feed_link(patient=patient, issued_by=admin_user)
    request = RequestFactory().post("/")
    request.user = admin_user
    model_admin = site._registry[FeedToken]
    model_admin.message_user = lambda *args, **kwargs: None
    with caplog.at_level(logging.INFO, logger="patients.services"):
        model_admin.revoke(request, FeedToken.objects.all())
    assert not FeedToken.objects.active().exists()
    assert f"revoked for patient {patient.pk} by user {admin_user.pk}" in caplog.text
