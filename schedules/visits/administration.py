"""Recording a dose as given: the procedure record and its named checks, each one control of
the hazard log (docs/hazard-log.md), small enough that `make hazards` can remove it and watch its
tests fail. Builds on `schedules.booking.services`; locks in the order of `schedules.locks`.
"""

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from schedules import engine, locks, outlook, planning, rules
from schedules.booking.services import can_override, not_active_message
from schedules.errors import AdministrationError, CourseNotActive, DoseOutOfOrder, NotEligible
from schedules.models import Booking, Dose, TreatmentCourse, Unit
from schedules.retry import retry_when_busy
from tofersen_scheduler.dates import format_day

# The procedure record (DESIGN §2 "Procedure"); the three required ones with what to ask for.
ADMINISTRATION_FIELDS = frozenset(
    {
        "operator",
        "needle",
        "imaging",
        "csf_removed_ml",
        "volume_injected_ml",
        "vial_batch",
        "vial_expiry",
        "notes",
    }
)
REQUIRED_DETAILS = {
    "operator": "who did the lumbar puncture",
    "vial_batch": "the vial batch",
    "vial_expiry": "the vial expiry date",
}
# About 10 mL of CSF is removed first; 15 mL (100 mg) is injected (US PI §2.2, leaflet).
CSF_USUAL_ML = (Decimal(5), Decimal(20))
VOLUME_ML = Decimal(15)


def administration_warnings(details: dict) -> list[str]:
    """What a clinician should double-check in a procedure record (saved anyway)."""
    warnings = []
    csf = details.get("csf_removed_ml")
    if csf is not None and not CSF_USUAL_ML[0] <= Decimal(csf) <= CSF_USUAL_ML[1]:
        warnings.append(
            f"CSF removed was {csf} mL: usually about 10 mL (5–20 mL). Check the record."
        )
    volume = details.get("volume_injected_ml")
    if volume is not None and Decimal(volume) != VOLUME_ML:
        warnings.append(f"Volume injected was {volume} mL, not 15 mL (100 mg). Check the record.")
    return warnings


@retry_when_busy
@transaction.atomic
def record_administration(
    *, dose: Dose, given_at: datetime, recorded_by, override_reason: str = "", **details
) -> Dose:
    """Record that a dose was given: 100 mg/15 mL intrathecal bolus by lumbar puncture (US PI
    §2.2). The next dose is then counted from this date (EU SmPC 4.2).

    `details` are the procedure record: operator, needle, imaging, csf_removed_ml,
    volume_injected_ml, vial_batch, vial_expiry, notes. Operator, batch and expiry are required
    here, not only in the form.

    Recording rules (DESIGN §2): every earlier dose is given; never in the future; dose 1 not
    before the course start; never on or before the previous dose; before the dose's window
    only by a clinician with `override_reason` (kept on the dose and flagged on the timeline).
    When the dose has a booking, the patient must have arrived and the pre-dose checks must be
    complete. The returned dose carries `warnings` (CSF or volume outside the usual).

    Locks: the course, then the active booking's slot and the booking, then the dose.
    """
    unknown = set(details) - ADMINISTRATION_FIELDS
    if unknown:
        raise TypeError(f"Unknown administration details: {', '.join(sorted(unknown))}")
    _check_required_details(details)
    course = locks.lock_course(dose.course)
    active = dose.bookings.active().first()
    booking = locks.lock_booking(active) if active is not None else None
    dose = locks.locking(Dose.objects).get(pk=dose.pk)
    if dose.given_at:
        raise AdministrationError(f"Dose {dose.number} was already recorded as given.")
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise CourseNotActive(not_active_message(course))
    given_on = timezone.localdate(given_at)
    _check_eligible_to_give(course, given_on)
    kept = rules.check_dose_given(
        course=course, given_on=given_on, recorded_by=recorded_by, override_reason=override_reason
    )
    if given_at > timezone.now():
        raise AdministrationError("The time given cannot be in the future.")
    if given_on < course.start_date:
        raise AdministrationError(
            f"The course started on {format_day(course.start_date)}: a dose cannot be recorded "
            "before that."
        )
    _check_vial_in_date(details, given_on)
    _check_earlier_doses_given(course, dose, given_on)
    late_entry = ""
    if booking is not None:
        late_entry = _check_visit_ready(booking, dose, recorded_by, override_reason)
    override_reason = _check_not_early(course, dose, given_on, recorded_by, override_reason) or kept
    if late_entry:
        details["notes"] = "\n".join(filter(None, [details.get("notes", ""), late_entry]))
    for field, value in details.items():
        setattr(dose, field, value.strip() if isinstance(value, str) else value)
    dose.given_at = given_at
    dose.given_by = recorded_by
    dose.override_reason = override_reason
    dose.calendar_sequence += 1
    dose._history_user = recorded_by
    dose.save()
    if booking is not None:
        booking.status = Booking.Status.FULFILLED
        booking._history_user = recorded_by
        booking.save(update_fields=["status", "updated_at"])
    outlook.refresh_next_due(course)
    dose.warnings = administration_warnings(details)
    return dose


# The named checks of `record_administration`: each is one control of the hazard log
# (docs/hazard-log.md), small enough that `make hazards` can remove it and watch its tests fail.


def _check_required_details(details: dict) -> None:
    missing = [
        label
        for name, label in REQUIRED_DETAILS.items()
        if details.get(name) is None or not str(details.get(name)).strip()
    ]
    if missing:
        raise AdministrationError("Record " + ", ".join(missing) + " before saving the dose.")


def _check_eligible_to_give(course: TreatmentCourse, given_on: date) -> None:
    """SOD1 confirmed and both consents in force on the day (DESIGN §2)."""
    blockers = course.patient.treatment_blockers(on=given_on)
    if blockers:
        raise NotEligible("Cannot record the dose: " + " ".join(blockers))


def _check_vial_in_date(details: dict, given_on: date) -> None:
    expiry = details.get("vial_expiry")
    if expiry and expiry < given_on:
        raise AdministrationError("The vial had expired on that date: check the batch and expiry.")


def _check_earlier_doses_given(course: TreatmentCourse, dose: Dose, given_on: date) -> None:
    """Every earlier dose given, and this one after the previous (DESIGN §2)."""
    given_before = dict(
        Dose.objects.filter(
            course=course, number__lt=dose.number, given_at__isnull=False
        ).values_list("number", "given_at")
    )
    not_given = [n for n in range(1, dose.number) if n not in given_before]
    if not_given:
        raise DoseOutOfOrder(
            f"Dose {not_given[0]} is not recorded as given: record what happened at that "
            f"visit first (given, or not given and rebooked) before dose {dose.number}."
        )
    previous = given_before.get(dose.number - 1)
    if previous is not None and given_on <= timezone.localdate(previous):
        raise AdministrationError(
            f"Dose {dose.number} cannot be given on or before dose {dose.number - 1} "
            f"({format_day(timezone.localdate(previous))})."
        )


def _check_visit_ready(booking: Booking, dose: Dose, recorded_by, reason: str) -> str:
    """A booked dose is given at its visit: arrived, pre-dose checks complete (DESIGN §2).

    A past visit left with no outcome may be recorded afterwards only by a clinician, with a
    reason; returns the note that keeps that reason on the dose ("" otherwise)."""
    if booking.status == Booking.Status.BOOKED and booking.local_date < timezone.localdate():
        if not can_override(recorded_by) or not reason.strip():
            raise AdministrationError(
                f"The visit on {booking.slot} has no record: a clinician may record the dose "
                "afterwards, with a reason (for example, the record was made on paper)."
            )
        return f"Recorded after the visit day: {reason.strip()}"
    visit = booking.visit_or_none
    if booking.status != Booking.Status.ARRIVED or visit is None:
        raise AdministrationError(
            f"Dose {dose.number} is booked for {booking.slot}: mark the patient arrived "
            "and complete the pre-dose checks first."
        )
    if not visit.checks_complete:
        raise AdministrationError(
            "The pre-dose checks are not complete: finish them (a clinician decides on "
            "any new symptom or pregnancy) before the dose is given."
        )
    return ""


def _check_not_early(course, dose, given_on: date, recorded_by, override_reason: str) -> str:
    """Before its window only by a clinician with a reason (unit policy, DESIGN §2). Returns
    the reason to keep ("" when the dose is not early)."""
    try:
        fresh = planning.fresh_plan(course, unit=Unit.current(), today=given_on, before=dose.number)
    except engine.ScheduleError as error:
        raise AdministrationError(planning.PROBLEM.format(error=error)) from None
    this = next((p for p in fresh if p.number == dose.number), None)
    if this is None or given_on >= this.window_start:
        return ""
    if not can_override(recorded_by):
        raise AdministrationError(
            f"Dose {dose.number} is due {format_day(this.due)}: giving it on "
            f"{format_day(given_on)} is early. Only a clinician may record it, with a reason."
        )
    if not override_reason.strip():
        raise AdministrationError(
            f"Dose {dose.number} is due {format_day(this.due)}: give a reason for giving it early."
        )
    return override_reason.strip()
