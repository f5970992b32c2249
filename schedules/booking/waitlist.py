"""The waitlist's writes (issue 19 item 5): a patient marked as one who would come earlier,
with the notice they need, and taken off it. The offers are read by
`schedules.booking.offers.waitlist_offers`; a move earlier goes through
`services.reschedule_booking`, which also takes the patient off the list."""

from django.db import transaction
from django.utils import timezone

from schedules import locks
from schedules.errors import BookingError, BookingStateError
from schedules.models import Booking, WaitlistEntry
from schedules.models.waitlist import MAX_NOTICE_DAYS
from schedules.retry import retry_when_busy


@retry_when_busy
@transaction.atomic
def set_waitlist(*, booking: Booking, notice_days: int, this_dose_only: bool, set_by) -> None:
    """Mark the patient as one who would come earlier (issue 19 item 5), with the days'
    notice they need: for this booked dose only, or for whichever dose is booked next. One
    entry per patient: setting it again replaces it.

    Locks: the course (the entry is only written under it), then the booking (steps 1-3).
    """
    booking = locks.lock_booking(booking)
    if booking.status != Booking.Status.BOOKED or booking.local_date <= timezone.localdate():
        raise BookingStateError(
            "Only a visit still booked for a later day can be offered an earlier date."
        )
    if not 0 <= notice_days <= MAX_NOTICE_DAYS:
        raise BookingError(f"The notice needed is 0 to {MAX_NOTICE_DAYS} days.")
    entry = WaitlistEntry.objects.filter(patient_id=booking.dose.course.patient_id).first()
    entry = entry or WaitlistEntry(patient_id=booking.dose.course.patient_id)
    entry.booking = booking if this_dose_only else None
    entry.notice_days = notice_days
    entry.added_by = set_by
    entry._history_user = set_by
    entry.full_clean()
    entry.save()


@retry_when_busy
@transaction.atomic
def clear_waitlist(*, booking: Booking, cleared_by) -> bool:
    """The patient no longer waits for an earlier date. Returns whether they were waiting.

    Locks: the course."""
    course = locks.lock_course(booking.dose.course)
    entry = WaitlistEntry.objects.filter(patient_id=course.patient_id).first()
    if entry is None:
        return False
    entry._history_user = cleared_by
    entry.delete()
    return True
