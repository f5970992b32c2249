"""The waitlist's reads (issue 19 item 5): whom a freed place is offered to first, inside their
dose's window (planning's, not a second rule) and with the notice they need, and who waits."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from schedules import engine
from schedules.booking.selectors import local_midnight
from schedules.models import (
    Booking,
    Slot,
    TreatmentCourse,
    Unit,
    WaitlistEntry,
)
from schedules.planning import plans, previews
from schedules.planning.facts import course_queryset
from schedules.planning.plans import open_calendar
from schedules.planning.suggestions import FreeSlots

# How many rows a worklist shows a page: a request plans only the courses it shows (issue 8).
WORKLIST_PAGE_SIZE = 25
# How far ahead Overdue & rebook offers slots for an overdue dose ("as soon as possible").
OVERDUE_CHOICE_WEEKS = 4
CHOICES_ON_WORKLIST = 3


# The waitlist (issue 19 item 5) ----------------------------------------------------------------

# Offers shown for one day: the first free place goes to the first of them.
WAITLIST_OFFERS = 10


@dataclass
class WaitlistOffer:
    """A waitlisted patient who could come on a day with a free place: their booking, the
    dose's window (the planning read path's), the slot offered and the fingerprint of what
    the move changes (posted back: `reschedule_booking` moves only if it still holds, H30)."""

    entry: WaitlistEntry
    booking: Booking
    planned: engine.PlannedDose
    slot: Slot
    preview: previews.ChangePreview

    @property
    def patient(self):
        return self.entry.patient


def _waitlisted_bookings(unit: Unit, day: date, entries: list[WaitlistEntry]) -> list[Booking]:
    """Each entry's booking after `day`: the one it names, else the patient's next booked
    dose after that day; active courses only."""
    bookings = (
        Booking.objects.filter(
            status=Booking.Status.BOOKED,
            dose__course__patient__in=[entry.patient_id for entry in entries],
            dose__course__status=TreatmentCourse.Status.ACTIVE,
            slot__start__gte=local_midnight(unit, day + timedelta(days=1)),
        )
        .select_related("dose__course", "slot")
        .order_by("slot__start", "pk")
    )
    first: dict[int, Booking] = {}
    by_patient = {entry.patient_id: entry for entry in entries}
    for booking in bookings:
        patient_id = booking.dose.course.patient_id
        named = by_patient[patient_id].booking_id
        if named is None or booking.pk == named:
            first.setdefault(patient_id, booking)
    return list(first.values())


def waitlist_offers(
    unit: Unit, day: date, slots: list[Slot], *, today: date
) -> list[WaitlistOffer]:
    """Who waits for an earlier date and could come on `day` (issue 19 item 5): a free place
    that day (`slots`, the day's free slots), the day at least their notice ahead, before
    their booked date and inside that dose's window (DESIGN §2 unit policy; the window is
    planning's, never recomputed here). Longest waiting first; the first free slot offered."""
    if not slots or day < today:
        return []
    entries = list(
        WaitlistEntry.objects.filter(notice_days__lte=(day - today).days)
        .select_related("patient")
        .order_by("added_at", "pk")
    )
    if not entries:
        return []
    bookings = {b.dose.course_id: b for b in _waitlisted_bookings(unit, day, entries)}
    entry_of = {entry.patient_id: entry for entry in entries}
    calendar = open_calendar(unit, today)
    offers = []
    for course in course_queryset().filter(pk__in=bookings):
        booking = bookings[course.pk]
        plan = plans.plan_for(
            course, today=today, unit=unit, calendar=calendar, before=booking.dose.number
        )
        planned = plan.dose(booking.dose.number)
        if plan.problem or planned is None:
            continue
        if not planned.window_start <= day <= planned.window_end:
            continue
        slot = slots[0]
        booking.slot.unit = unit
        preview = previews.preview_change(
            course, change=previews.Reschedule(booking, slot), today=today
        )
        if preview.problem:
            continue
        offers.append(WaitlistOffer(entry_of[course.patient_id], booking, planned, slot, preview))
    offers.sort(key=lambda offer: (offer.entry.added_at, offer.entry.pk))
    return offers[:WAITLIST_OFFERS]


def waitlist_offers_on(unit: Unit, day: date, *, today: date) -> list[WaitlistOffer]:
    """`waitlist_offers` for a day whose free places are not loaded yet (a place just freed)."""
    calendar = open_calendar(unit, today)
    slots = FreeSlots(unit=unit, calendar=calendar, first=day, last=day).first(day, day, limit=1)
    return waitlist_offers(unit, day, slots, today=today)


@dataclass(frozen=True)
class WaitlistRow:
    entry: WaitlistEntry
    # The booking they wait on: the one named, else the patient's next booked dose (None when
    # nothing is booked any more: the entry waits for a booking).
    booking: Booking | None


def waitlist(unit: Unit) -> list[WaitlistRow]:
    """Everyone who waits for an earlier date, longest first, with the booking each waits on."""
    entries = list(
        WaitlistEntry.objects.select_related(
            "patient", "added_by", "booking__slot", "booking__dose"
        ).order_by("added_at", "pk")
    )
    nexts: dict[int, Booking] = {}
    for booking in (
        Booking.objects.filter(
            status=Booking.Status.BOOKED,
            dose__course__patient__in=[entry.patient_id for entry in entries],
            slot__start__gte=timezone.now(),
        )
        .select_related("dose__course", "slot")
        .order_by("slot__start")
    ):
        nexts.setdefault(booking.dose.course.patient_id, booking)
    rows = []
    for entry in entries:
        booking = entry.booking if entry.booking_id else nexts.get(entry.patient_id)
        if booking is not None and booking.status != Booking.Status.BOOKED:
            booking = None
        if booking is not None:
            booking.slot.unit = unit  # local dates without another query
        rows.append(WaitlistRow(entry, booking))
    return rows
