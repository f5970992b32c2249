"""Beds and operators are never over-assigned when bookings race (issue 19 item 2). PostgreSQL
only: there row locks decide (a booking locks every slot of its session, by id, so bookings in
two overlapping slots wait for each other); SQLite serialises writers and could not fail."""

from datetime import timedelta

import pytest

from schedules import services
from schedules.models import Booking, Dose, SessionTemplate, Slot, Unit
from tests.factories import MONDAY, frozen, make_course, make_operator, make_patient, on_rota
from tests.support.threads import race

RACERS = 8

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def session(unit):
    """Monday: three one-hour slots of eight places from 09:00 sharing two beds."""
    SessionTemplate.objects.filter(unit=unit, weekday=0).update(
        slot_minutes=60, places=RACERS, beds=2
    )
    with frozen(MONDAY, 7):
        services.generate_slots(unit=unit, weeks=1)
    slots = Slot.objects.on_day(unit, MONDAY).select_related("unit")
    return {slot.start.astimezone(unit.zone).hour: slot for slot in slots}


def doses(prefix: str, count: int) -> list[Dose]:
    return [
        Dose.objects.create(
            course=make_course(make_patient(f"{prefix}{index:02d}"), start=MONDAY), number=1
        )
        for index in range(count)
    ]


def booker(dose, slot, nurse):
    def book():
        with frozen(MONDAY, 7):
            return services.book_dose(dose=dose, slot=slot, booked_by=nurse)

    return book


def test_racing_for_the_last_bed_across_two_overlapping_slots_books_one(session, nurse):
    first = doses("B0", 1)[0]
    with frozen(MONDAY, 7):
        services.book_dose(dose=first, slot=session[9], booked_by=nurse)
    racers = doses("B1", RACERS)
    # Half race for 09:00, half for 10:00: each visit would overlap the 09:00 one, one bed left.
    results = race(
        [booker(dose, session[9 if i % 2 else 10], nurse) for i, dose in enumerate(racers)]
    )
    winners = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, services.NoBed)]
    assert len(winners) == 1, results
    assert len(refused) == RACERS - 1, results
    held = Booking.objects.holding_places().filter(slot__in=[session[9], session[10]])
    assert held.count() == 2


def test_racing_for_operators_never_books_more_patients_than_operators(session, nurse):
    Unit.objects.update(rota_required=True)
    later = MONDAY + timedelta(days=60)
    on_rota(session[11], make_operator("op1", until=later), make_operator("op2", until=later))
    results = race([booker(dose, session[11], nurse) for dose in doses("B2", RACERS)])
    winners = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, (services.NoOperator, services.NoBed))]
    assert len(winners) == 2, results
    assert len(refused) == RACERS - 2, results
    assert Booking.objects.filter(slot=session[11]).count() == 2


def test_two_nurses_assigning_one_operator_to_two_patients_in_a_slot_assign_one(session, nurse):
    operator = make_operator("op1", until=MONDAY + timedelta(days=60))
    on_rota(session[9], operator)
    bookings = []
    with frozen(MONDAY, 7):
        for dose in doses("B3", 2):
            bookings.append(services.book_dose(dose=dose, slot=session[9], booked_by=nurse))

    def assign(booking):
        def run():
            with frozen(MONDAY, 7):
                return services.assign_operator(
                    booking=booking, operator=operator, assigned_by=nurse
                )

        return run

    results = race([assign(booking) for booking in bookings])
    assert sum(isinstance(r, Booking) for r in results) == 1, results
    assert sum(isinstance(r, services.NoOperator) for r in results) == 1, results
    assert Booking.objects.filter(operator=operator).count() == 1
