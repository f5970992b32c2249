"""The sweep's queries stay constant in the number of patients (issue 18 §9)."""

from datetime import timedelta

import pytest

from schedules.messaging import sweep
from schedules.messaging.models import Message
from schedules.models import Booking, Dose
from tests.factories import MONDAY, make_course, make_slot
from tests.messaging.conftest import VISIT_DAY, texting_patient

# The unit, the bookings, the keys already written, the insert with its savepoint. SQLite splits
# an insert into batches of 999 parameters (about 45 messages); PostgreSQL does not.
SWEEP_QUERIES = 6


def patients_booked_directly(unit, nurse, count):
    """Bookings written directly (as an import or an old release would): no outbox rows."""
    slot = make_slot(unit, VISIT_DAY, 9, places=500)
    for n in range(count):
        course = make_course(texting_patient(f"Q{n:05d}"), start=VISIT_DAY)
        dose = Dose.objects.create(course=course, number=1)
        Booking.objects.create(dose=dose, slot=slot, booked_by=nurse)


@pytest.mark.parametrize("size", [5, 40])
def test_the_sweep_writes_every_missing_reminder_in_constant_queries(
    unit, nurse, clock, size, django_assert_max_num_queries
):
    clock(MONDAY, 8)
    patients_booked_directly(unit, nurse, size)
    clock(VISIT_DAY - timedelta(days=2), 11)
    with django_assert_max_num_queries(SWEEP_QUERIES):
        written = sweep.queue_missing_reminders()
    # Both reminders are past: only the nearest (2 days) is written, once per visit.
    assert written == size
    assert Message.objects.filter(kind="reminder", days_before=2).count() == size
    with django_assert_max_num_queries(SWEEP_QUERIES):
        assert sweep.queue_missing_reminders() == 0
    assert Message.objects.count() == size
