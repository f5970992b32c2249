"""The unit's slots: made from its session templates and closures (`generate_slots`), never
deleted from under a booking. Locks in the order of `schedules.locks`.
"""

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from schedules import locks
from schedules.errors import ServiceError
from schedules.models import Booking, Slot, Unit, UnitCalendar
from schedules.retry import retry_when_busy

MAX_GENERATE_WEEKS = 104


@dataclass
class SlotReport:
    """What `generate_slots` did; `affected` are active bookings a nurse must look at because
    their slot was closed, withdrawn or shrunk."""

    created: int = 0
    updated: int = 0
    removed: int = 0
    withdrawn: int = 0
    affected: list[Booking] = dataclasses.field(default_factory=list)

    def __str__(self):
        text = (
            f"{self.created} slots created, {self.updated} updated, {self.removed} removed, "
            f"{self.withdrawn} withdrawn"
        )
        if self.affected:
            text += f"; {len(self.affected)} bookings need rebooking"
        return text


def _wanted_slots(unit: Unit, calendar: UnitCalendar, first: date, last: date, now: datetime):
    """{start: (template, end, places)} for the templates' slots on the open days."""
    templates = list(unit.session_templates.filter(active=True))
    wanted = {}
    day = first
    while day <= last:
        if not calendar.closure_reason(day):
            for template in templates:
                if template.weekday != day.weekday():
                    continue
                # Wall-clock arithmetic in the unit's zone: 09:00 stays 09:00 across the
                # March and October clock changes.
                session_start = datetime.combine(day, template.start_time, tzinfo=unit.zone)
                length = timedelta(minutes=template.slot_minutes)
                for index in range(template.slot_count):
                    start = session_start + index * length
                    if start > now:
                        wanted[start] = (template, start + length, template.places)
        day += timedelta(days=1)
    return wanted


def _take_generation_lock(unit: Unit) -> None:
    """Step 1 of `generate_slots`: a transaction-level advisory lock on PostgreSQL; on SQLite
    writers are serialised anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [locks.GENERATE_SLOTS_LOCK, unit.pk]
            )


def _active_booking_ids(slot: Slot) -> set[int]:
    """The active bookings of a slot (from its prefetched bookings)."""
    return {booking.pk for booking in slot.bookings.all() if booking.is_active}


def _make_wanted_slots(unit: Unit, wanted: dict, existing: dict, report: SlotReport) -> set[int]:
    """Step 3 of `generate_slots`: create the missing slots and bring changed ones in line,
    taking each from `existing` (what is left there is no longer wanted). Returns the active
    bookings of a slot that lost places they had filled."""
    affected = set()
    for slot_start, (template, end, places) in wanted.items():
        slot = existing.pop(slot_start, None)
        if slot is None:
            Slot.objects.create(
                unit=unit, template=template, start=slot_start, end=end, places=places
            )
            report.created += 1
            continue
        if slot.template_id is None:
            continue  # A one-off extra session at the same time: it stays as it was made.
        if (slot.end, slot.places, slot.template_id) != (end, places, template.pk):
            slot.end, slot.places, slot.template = end, places, template
            slot.save(update_fields=["end", "places", "template"])
            report.updated += 1
            if slot.booked_count > places:
                affected |= _active_booking_ids(slot)
    return affected


def _retire_unwanted_slots(unwanted, calendar: UnitCalendar, report: SlotReport) -> set[int]:
    """Step 4 of `generate_slots`: delete a slot nothing was ever booked in, withdraw one
    holding bookings; leave one-off extra sessions. Returns the active bookings to rebook."""
    affected = set()
    for slot in unwanted:
        if slot.template_id is None:
            if slot.booked_count and calendar.closure_reason(slot.local_date):
                affected |= _active_booking_ids(slot)
            continue
        if not slot.bookings.all():
            slot.delete()
            report.removed += 1
            continue
        if slot.places != slot.booked_count:
            slot.places = slot.booked_count
            slot.save(update_fields=["places"])
            report.withdrawn += 1
        affected |= _active_booking_ids(slot)
    return affected


@retry_when_busy
@transaction.atomic
def generate_slots(*, unit: Unit, start: date | None = None, weeks: int | None = None):
    """Make the unit's future slots match its session templates and closures. Idempotent.

    1. Take the unit's generation lock (a transaction-level advisory lock on PostgreSQL; on
       SQLite writers are serialised anyway), so two runs (the nightly command, a nurse's
       button) do not interleave. Never the unit row (see the lock order, `schedules.locks`).
    2. Work out the slots the templates give on each open day from `start` (never before
       today) for `weeks` weeks (the unit's horizon by default), skipping closures and, when
       the unit closes on them, England's bank holidays.
    3. Create the missing ones; bring changed ones (length, places) in line
       (`_make_wanted_slots`).
    4. A slot no longer wanted is deleted when nothing was ever booked in it. A slot holding
       bookings is never deleted: it is withdrawn (its places cut to its active bookings, so
       nobody else is booked into it) and its active bookings are reported for rebooking.
       So is a booking whose slot lost places it had already filled (`_retire_unwanted_slots`).
    One-off extra sessions (slots without a template) are left alone, but their bookings are
    reported when a closure now covers their day.
    """
    _take_generation_lock(unit)
    unit = Unit.objects.get(pk=unit.pk)
    today = timezone.localdate()
    first = max(start or today, today)
    weeks = unit.horizon_weeks if weeks is None else weeks
    if not 1 <= weeks <= MAX_GENERATE_WEEKS:
        raise ServiceError(f"Generate between 1 and {MAX_GENERATE_WEEKS} weeks of slots.")
    last = first + timedelta(weeks=weeks) - timedelta(days=1)
    calendar = unit.calendar(first, last)
    now = timezone.now()
    wanted = _wanted_slots(unit, calendar, first, last, now)

    # Claim the future slots first, by id (a locking read cannot carry the booked-count
    # aggregate), so a booking being made meanwhile finishes before its slot is withdrawn or
    # deleted. FOR UPDATE, not NO KEY: a slot nobody booked may be deleted.
    locks.lock_slots(
        Slot.objects.between(unit, first, last).filter(start__gt=now).values_list("pk", flat=True),
        for_delete=True,
    )
    existing = {
        slot.start: slot
        for slot in Slot.objects.between(unit, first, last)
        .filter(start__gt=now)
        .with_booked_count()
        .prefetch_related("bookings")
    }
    report = SlotReport()
    affected_ids = _make_wanted_slots(unit, wanted, existing, report)
    affected_ids |= _retire_unwanted_slots(existing.values(), calendar, report)

    report.affected = list(
        Booking.objects.filter(pk__in=affected_ids)
        .select_related("dose__course__patient", "slot__unit")
        .order_by("slot__start")
    )
    return report
