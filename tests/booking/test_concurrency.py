"""Capacity and "one active booking per dose" hold when requests race (issue 3).

These tests use real transactions and threads, each with its own database connection: on
PostgreSQL the slot row lock serialises the capacity count; on SQLite the IMMEDIATE
transaction mode does (see settings). Run them against both.
"""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction

from schedules import services
from schedules.models import Booking, Dose
from tests.factories import frozen, make_course, make_patient, make_slot
from tests.support.threads import race

RACERS = 8
DAY = date(2026, 3, 2)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_for_the_last_place_books_exactly_one(unit, nurse):
    with frozen(DAY):
        slot = make_slot(unit, DAY, places=2)
        # One place is already taken, so one remains.
        services.book_dose_number(
            course=make_course(make_patient("H900")), number=1, slot=slot, booked_by=nurse
        )
        doses = [
            Dose.objects.create(course=make_course(make_patient(f"H9{index:02d}")), number=1)
            for index in range(10, 10 + RACERS)
        ]

        def booker(dose):
            return lambda: services.book_dose(dose=dose, slot=slot, booked_by=nurse)

        results = race([booker(dose) for dose in doses])

    winners = [r for r in results if isinstance(r, Booking)]
    full = [r for r in results if isinstance(r, services.SlotFull)]
    assert len(winners) == 1, results
    assert len(full) == RACERS - 1, results
    assert Booking.objects.filter(slot=slot, status=Booking.Status.BOOKED).count() == 2
    assert Booking.objects.filter(dose__in=doses).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_same_booking_submitted_at_the_same_time_books_once(unit, nurse):
    with frozen(DAY):
        slot = make_slot(unit, DAY, places=2)
        course = make_course(make_patient("H950"))

        def submit():
            return services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)

        results = race([submit for _ in range(4)])

    assert all(isinstance(r, Booking) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Booking.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_database_refuses_a_second_active_booking_for_a_dose(unit, nurse):
    """Around the service: the partial unique constraint itself says no."""
    with frozen(DAY):
        dose = Dose.objects.create(course=make_course(make_patient("H960")), number=1)
        first = make_slot(unit, DAY, places=2)
        second = make_slot(unit, DAY + timedelta(days=1), places=2)
        Booking.objects.create(dose=dose, slot=first, booked_by=nurse)
        with pytest.raises(IntegrityError), transaction.atomic():
            Booking.objects.create(dose=dose, slot=second, booked_by=nurse)
        # A cancelled booking does not count: the dose can be booked again.
        Booking.objects.filter(dose=dose).update(status=Booking.Status.CANCELLED)
        Booking.objects.create(dose=dose, slot=second, booked_by=nurse)
    assert Booking.objects.filter(dose=dose).count() == 2
