"""The refusals of the schedules services: each a `ServiceError` whose message a nurse can
read and act on. Imported by the services of every capability and by `schedules.retry`."""

from typing import TYPE_CHECKING

from tofersen_scheduler.errors import ServiceError

if TYPE_CHECKING:
    from schedules.models import Booking

__all__ = [
    "AdministrationError",
    "AdverseEventError",
    "AlreadyBooked",
    "BookingError",
    "BookingStateError",
    "CourseError",
    "CourseNotActive",
    "DiaryBusy",
    "DoseOutOfOrder",
    "FollowUpError",
    "EarlyDischarge",
    "NotAllowed",
    "NoBed",
    "NoImaging",
    "NoOperator",
    "NotEligible",
    "OutsideWindow",
    "PreviewChanged",
    "SameDayBooking",
    "ServiceError",
    "SlotFull",
    "SlotUnavailable",
    "VisitError",
    "require_permission",
]


class DiaryBusy(ServiceError):
    """The write met a deadlock or serialization failure and still did after its retries
    (`schedules.retry`). Nothing was saved; trying again a moment later works."""

    MESSAGE = "The unit's diary was busy, please try again."


class CourseError(ServiceError):
    pass


class BookingError(ServiceError):
    pass


class SlotFull(BookingError):
    pass


class NoBed(SlotFull):
    """The session's beds are all taken during the visit's observation (issue 19 item 2)."""


class NoOperator(SlotFull):
    """No lumbar-puncture operator with a valid competency is free in the slot, or the one
    chosen cannot be assigned (issue 19 item 2)."""


class NoImaging(SlotFull):
    """The patient needs image guidance and the session has no imaging list, no image-guided
    operator free, or a full list (issue 19 item 1)."""


class AlreadyBooked(BookingError):
    def __init__(self, message: str, booking: "Booking"):
        super().__init__(message)
        self.booking = booking


class OutsideWindow(BookingError):
    pass


class CourseNotActive(BookingError):
    pass


class NotEligible(BookingError):
    pass


class SlotUnavailable(BookingError):
    """The slot is in the past or the unit is closed that day."""


class SameDayBooking(BookingError):
    pass


class DoseOutOfOrder(BookingError):
    pass


class BookingStateError(BookingError):
    pass


class PreviewChanged(ServiceError):
    """What the change will do is no longer what the user was shown and confirmed (someone
    changed the patient's schedule meanwhile). Nothing was changed: the page shows the new
    preview and asks again (hazard H30)."""

    MESSAGE = "This is what your choice changes now. Check it, then confirm again."


class AdministrationError(BookingError):
    """The dose record is incomplete, early, out of order or in the future."""


class VisitError(ServiceError):
    """A visit step refused: checks incomplete, wrong stage, bad time."""


class EarlyDischarge(VisitError):
    """Discharge before the leaflet's 60 minutes of observation, not confirmed with a reason."""


class AdverseEventError(ServiceError):
    pass


class FollowUpError(VisitError):
    """A follow-up call refused: the dose was not given, no outcome, a close without a
    clinician or a note, or a headache without its triage."""


class NotAllowed(ServiceError):
    """The actor's role does not allow this clinical decision (issue 17 §8): the services check
    the same permission as their views, whatever the caller (a page, a command, a script)."""


def require_permission(user, perm: str, action: str) -> None:
    """Refuse with `NotAllowed` unless `user` holds `perm` ("app_label.codename"), the same
    permission the view for `action` requires. `action` completes "Only a clinician can …"."""
    if user is None or not user.has_perm(perm):
        raise NotAllowed(f"Only a clinician can {action}; ask a clinician to do it.")
