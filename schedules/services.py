"""The writes of `schedules`, by capability: this module only re-exports them, so the paths of
DESIGN §4 (`schedules.services.book_dose`, `BookingError`, `record_administration` …) keep
working. Each is keyword-only, atomic, validates, and raises a `ServiceError` subclass whose
message a nurse can read.

Where each lives (lowest first; a module imports only those above it in this list):

- `schedules.errors`: the `ServiceError` tree (its base in `tofersen_scheduler.errors`, so
  `patients` raises it without importing `schedules`).
- `schedules.locks`: the lock order every write follows, and the lock helpers.
- `schedules.plph`: the PLPH pathway (pure).
- `schedules.unit.services`: the unit's slots (`generate_slots`).
- `schedules.booking.services`: book, reschedule, cancel, ask a clinician; the one cancel
  helper (`cancel_bookings`) and the confirmed-preview check.
- `schedules.courses.services`: start, pause, resume, stop, correct the start, consent
  withdrawal, the hold for review and the review decision.
- `schedules.visits.services`, `schedules.visits.administration`: the visit, and recording
  the dose with its named controls.
- `schedules.visits.safety`: adverse events (a serious one holds the course).
- `schedules.visits.follow_up`: follow-up calls after a dose, and the event a call found.

A test that replaces a service's internal patches the module that looks it up at call time
(`schedules.visits.administration._check_vial_in_date`), never this facade.
"""

from schedules.booking.series import move_series
from schedules.booking.services import (
    ask_clinician,
    assign_operator,
    book_dose,
    book_dose_number,
    book_next_doses,
    cancel_booking,
    dose_for,
    reschedule_booking,
    set_admit_day_before,
)
from schedules.booking.waitlist import clear_waitlist, set_waitlist
from schedules.courses.services import (
    COURSE_START_AHEAD_DAYS,
    EARLIEST_COURSE_START,
    bookings_cancelled_by_withdrawal,
    correct_start_date,
    pause_course,
    record_review_decision,
    resume_course,
    start_course,
    stop_course,
    withdraw_consent,
)
from schedules.errors import (
    AdministrationError,
    AdverseEventError,
    AlreadyBooked,
    BookingError,
    BookingStateError,
    CourseError,
    CourseNotActive,
    DiaryBusy,
    DoseOutOfOrder,
    EarlyDischarge,
    FollowUpError,
    NoBed,
    NoImaging,
    NoOperator,
    NotAllowed,
    NotEligible,
    OutsideWindow,
    PreviewChanged,
    SameDayBooking,
    ServiceError,
    SlotFull,
    SlotUnavailable,
    VisitError,
)
from schedules.locks import GENERATE_SLOTS_LOCK
from schedules.models import ReviewDecision
from schedules.plph import (
    PLPH_CONSERVATIVE,
    PLPH_RED_FLAGS,
    PlphStep,
    plph_advice,
    triage_answers,
)
from schedules.unit.services import MAX_GENERATE_WEEKS, SlotReport, generate_slots
from schedules.visits.administration import (
    ADMINISTRATION_FIELDS,
    CSF_USUAL_ML,
    REQUIRED_DETAILS,
    VOLUME_ML,
    administration_warnings,
    record_administration,
)
from schedules.visits.follow_up import (
    may_close_follow_up,
    record_follow_up_call,
    record_follow_up_event,
    record_follow_up_headache,
)
from schedules.visits.safety import ADVERSE_EVENT_FIELDS, record_adverse_event
from schedules.visits.services import (
    MIN_OBSERVATION,
    clear_checks,
    mark_arrived,
    mark_no_show,
    record_checks,
    record_discharge,
    record_not_given,
    start_observation,
    undo_arrived,
    undo_no_show,
)

__all__ = [
    "ADMINISTRATION_FIELDS",
    "ADVERSE_EVENT_FIELDS",
    "COURSE_START_AHEAD_DAYS",
    "CSF_USUAL_ML",
    "EARLIEST_COURSE_START",
    "GENERATE_SLOTS_LOCK",
    "MAX_GENERATE_WEEKS",
    "MIN_OBSERVATION",
    "PLPH_CONSERVATIVE",
    "PLPH_RED_FLAGS",
    "REQUIRED_DETAILS",
    "VOLUME_ML",
    "AdministrationError",
    "AdverseEventError",
    "AlreadyBooked",
    "BookingError",
    "BookingStateError",
    "CourseError",
    "CourseNotActive",
    "DiaryBusy",
    "DoseOutOfOrder",
    "EarlyDischarge",
    "NoBed",
    "NoImaging",
    "NoOperator",
    "NotAllowed",
    "NotEligible",
    "OutsideWindow",
    "PlphStep",
    "PreviewChanged",
    "ReviewDecision",
    "SameDayBooking",
    "ServiceError",
    "SlotFull",
    "SlotReport",
    "SlotUnavailable",
    "VisitError",
    "administration_warnings",
    "ask_clinician",
    "assign_operator",
    "book_dose",
    "book_dose_number",
    "book_next_doses",
    "bookings_cancelled_by_withdrawal",
    "cancel_booking",
    "clear_checks",
    "correct_start_date",
    "dose_for",
    "generate_slots",
    "mark_arrived",
    "mark_no_show",
    "pause_course",
    "plph_advice",
    "triage_answers",
    "record_administration",
    "record_adverse_event",
    "record_checks",
    "record_discharge",
    "record_follow_up_call",
    "record_follow_up_event",
    "record_follow_up_headache",
    "may_close_follow_up",
    "FollowUpError",
    "record_not_given",
    "record_review_decision",
    "move_series",
    "reschedule_booking",
    "set_waitlist",
    "clear_waitlist",
    "set_admit_day_before",
    "resume_course",
    "start_course",
    "start_observation",
    "stop_course",
    "undo_arrived",
    "undo_no_show",
    "withdraw_consent",
]
