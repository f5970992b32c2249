"""Moving a series (issue 19 item 4): a booked dose and the later booked doses with it, in
one transaction, each booked through every rule of `services._book_dose`."""

from collections.abc import Sequence

from django.db import transaction

from schedules import locks, planning
from schedules.booking.services import _book_dose, _prefixed, cancel_bookings, check_preview
from schedules.errors import BookingError, BookingStateError
from schedules.messaging import outbox
from schedules.models import Booking, Slot
from schedules.retry import retry_when_busy

MOVED_NOTHING = "Nothing was moved."


@retry_when_busy
@transaction.atomic
def move_series(
    *,
    booking: Booking,
    slot: Slot,
    later: Sequence[tuple[Booking, Slot]],
    rescheduled_by,
    override_reason: str = "",
    previewed: str | None = None,
) -> list[tuple[int, Booking, Booking]]:
    """Move a booking and the later booked doses with it, in one click: all or nothing
    (issue 19 item 4). `later`: each later booking and the slot it goes to, as the preview
    showed them (`planning.series_moves`); a later booking whose slot is its own stays.

    1. Lock the course, then every slot involved (the old and new ones) by id, then the
       bookings (lock order, DESIGN §3 / `schedules.locks`).
    2. Refuse a set that no longer matches: a booking no longer booked, a later booking of
       another course or not after this dose, or a preview that changed (`check_preview`).
    3. Cancel the later bookings that move, move this one (`book_dose`: every rule of a
       booking), then book each later dose into its new slot in dose order, each checked by
       `book_dose` against the doses before it, so every window is the engine's, counted
       from the new dates (EU SmPC 4.2). Any refusal rolls the whole series back.

    Returns [(dose number, old booking, new booking)] for the doses that moved.
    """
    later = list(later)
    later_ids = [b.pk for b, _ in later]
    if len(set(later_ids)) != len(later_ids):
        raise BookingError("Each later dose can only be moved once.")
    old_slots = list(Booking.objects.filter(pk__in=later_ids).values_list("slot_id", flat=True))
    booking = locks.lock_booking(
        booking, also_slots=[slot.pk, *(s.pk for _, s in later), *old_slots]
    )
    fresh = {b.pk: b for b in locks.lock_bookings(later_ids)}
    course = booking.dose.course
    if booking.status != Booking.Status.BOOKED:
        raise BookingStateError(
            f"This booking is {booking.get_status_display().lower()} and cannot be moved."
        )
    pairs = []
    for old, target in later:
        current = fresh.get(old.pk)
        if (
            current is None
            or current.status != Booking.Status.BOOKED
            or current.dose.course_id != course.pk
            or current.dose.number <= booking.dose.number
        ):
            raise BookingStateError(
                "A later booking has changed since the preview: nothing was moved. Check the "
                "dates again."
            )
        pairs.append((current, target))
    pairs.sort(key=lambda pair: pair[0].dose.number)
    check_preview(course, planning.Reschedule(booking, slot), previewed)
    moving = [(old, target) for old, target in pairs if old.slot_id != target.pk]
    cancel_bookings(
        [old for old, _ in moving], "Rescheduled with an earlier dose", by=rescheduled_by
    )
    cancel_bookings([booking], "Rescheduled", by=rescheduled_by)
    results = []
    try:
        new = _book_dose(
            dose=booking.dose, slot=slot, booked_by=rescheduled_by, override_reason=override_reason
        )
        outbox.booking_made(new, moved=True)
    except BookingError as error:
        raise _prefixed(error, f"Dose {booking.dose.number}: ", MOVED_NOTHING) from error
    results.append((booking.dose.number, booking, new))
    for old, target in moving:
        try:
            new = _book_dose(dose=old.dose, slot=target, booked_by=rescheduled_by)
            outbox.booking_made(new, moved=True)
        except BookingError as error:
            raise _prefixed(error, f"Dose {old.dose.number}: ", MOVED_NOTHING) from error
        results.append((old.dose.number, old, new))
    return results
