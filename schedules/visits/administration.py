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
from schedules.errors import (
    AdministrationError,
    CourseNotActive,
    DoseOutOfOrder,
    NotAllowed,
    NotEligible,
)
from schedules.models import Booking, Dose, TreatmentCourse, Unit, Visit
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
# Bounds where a typo harms (issue 17 §7). More than 20 mL of CSF removed, or a negative
# volume, is refused: a typing error, not a procedure. An injected volume outside 14–16 mL is
# not a full 100 mg dose: a clinician records it as partial, with a reason, and decides what
# follows.
CSF_LIMIT_ML = (Decimal(0), Decimal(20))
FULL_DOSE_ML = (Decimal(14), Decimal(16))
# What a dose given elsewhere still records: who checked, and the answers (DESIGN §2 "Before").
ELSEWHERE_CHECKS = {
    "checked_by": "who did the pre-dose checks (name and place)",
    "identity_confirmed": "the patient's identity confirmed (name and date of birth)",
    "blood_sample_taken": "the blood sample taken",
}
ELSEWHERE_ANSWERS = frozenset(
    {*Visit.STANDING_FIELDS, "pregnancy", "clotting_checked", "consents_on_file"}
)


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
    *,
    dose: Dose,
    given_at: datetime,
    recorded_by,
    override_reason: str = "",
    partial_reason: str = "",
    elsewhere_checks: dict | None = None,
    **details,
) -> Dose:
    """Record that a dose was given: 100 mg/15 mL intrathecal bolus by lumbar puncture (US PI
    §2.2). The next dose is then counted from this date (EU SmPC 4.2). The one door for a dose
    given (issue 17 §2): every page and command records a dose through here.

    `details` are the procedure record: operator, needle, imaging, csf_removed_ml,
    volume_injected_ml, vial_batch, vial_expiry, notes. Operator, batch and expiry are required
    here, not only in the form.

    1. Who: only someone allowed to record a dose (`NotAllowed` otherwise).
    2. Bounds: CSF removed between 0 and 20 mL; a volume injected outside 14–16 mL is a
       partial dose, recorded only by a clinician with `partial_reason` (kept on the dose).
    3. Recording rules (DESIGN §2): every earlier dose is given; never in the future; dose 1
       not before the course start; never on or before the previous dose; before the dose's
       window only by a clinician with `override_reason` (kept on the dose).
    4. Where (DESIGN §2 "The dose belongs to its visit"): a booked dose is given at its visit,
       on the visit's day, after the arrival and after that day's complete checks. A dose with
       no visit here (no booking, or a past visit left with no record: a paper record,
       another hospital) is a clinician's record with a reason in `override_reason` and
       `elsewhere_checks` saying who checked what (`ELSEWHERE_CHECKS`; answers among
       `ELSEWHERE_ANSWERS`), kept on the dose.

    The returned dose carries `warnings` (CSF or volume outside the usual).

    Locks: the course, then the active booking's slot and the booking, then the dose.
    """
    unknown = set(details) - ADMINISTRATION_FIELDS
    if unknown:
        raise TypeError(f"Unknown administration details: {', '.join(sorted(unknown))}")
    _check_allowed(recorded_by)
    _check_required_details(details)
    _check_csf_bounds(details)
    partial_reason = _check_full_dose(details, recorded_by, partial_reason)
    course = locks.lock_course(dose.course)
    active = dose.bookings.active().first()
    booking = locks.lock_booking(active) if active is not None else None
    dose = locks.locking(Dose.objects).get(pk=dose.pk)
    _check_not_given_yet(dose)
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
    early_reason = _check_not_early(course, dose, given_on, recorded_by, override_reason) or kept
    if at_the_visit(booking):
        _check_visit_ready(booking, dose, given_at)
        _check_given_during_visit(booking, dose, given_at)
        checks = {}
    else:
        checks = _check_given_elsewhere(
            dose, booking, given_at, recorded_by, override_reason, elsewhere_checks
        )
        early_reason = override_reason.strip()
    for field, value in details.items():
        setattr(dose, field, value.strip() if isinstance(value, str) else value)
    dose.given_at = given_at
    dose.given_by = recorded_by
    dose.override_reason = early_reason
    dose.partial = bool(partial_reason)
    dose.partial_reason = partial_reason
    dose.elsewhere_checks = checks
    dose.calendar_sequence += 1
    dose._history_user = recorded_by
    dose.save()
    if booking is not None:
        booking.status = Booking.Status.FULFILLED
        booking._history_user = recorded_by
        booking.save(update_fields=["status", "updated_at"])
    outlook.refresh_next_due(course)
    dose.warnings = administration_warnings(details)
    if dose.partial:
        dose.warnings.append(
            f"Dose {dose.number} is recorded as partial: the clinician decides what follows."
        )
    return dose


# The named checks of `record_administration`: each is one control of the hazard log
# (docs/hazard-log.md), small enough that `make hazards` can remove it and watch its tests fail.


def _check_not_given_yet(dose: Dose) -> None:
    """Recorded once: a second record would overwrite the date the next dose counts from and
    the batch a recall needs."""
    if dose.given_at:
        raise AdministrationError(f"Dose {dose.number} was already recorded as given.")


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


def _check_allowed(recorded_by) -> None:
    """Recording a dose given is a clinician's act (issue 17 §8): the service checks it
    itself, whatever page, command or script calls it."""
    if not recorded_by.has_perm("schedules.record_administration"):
        raise NotAllowed("Only a clinician can record a dose as given.")


def _check_csf_bounds(details: dict) -> None:
    """More than 20 mL (or less than none) of CSF removed is a typing error (DESIGN §2:
    about 10 mL is removed first)."""
    csf = details.get("csf_removed_ml")
    if csf is not None and not CSF_LIMIT_ML[0] <= Decimal(csf) <= CSF_LIMIT_ML[1]:
        raise AdministrationError(
            f"CSF removed cannot be {csf} mL: about 10 mL is usually removed, never more than "
            f"{CSF_LIMIT_ML[1]} mL. Check the record and type it again."
        )


def _check_full_dose(details: dict, recorded_by, partial_reason: str) -> str:
    """A volume far from 15 mL (outside 14–16 mL) is not a full 100 mg dose (US PI §2.2): only
    a clinician records it, as partial, with a reason. Returns the reason to keep ("" for a
    full dose)."""
    volume = details.get("volume_injected_ml")
    if volume is None or FULL_DOSE_ML[0] <= Decimal(volume) <= FULL_DOSE_ML[1]:
        return ""
    if not can_override(recorded_by) or not partial_reason.strip():
        raise AdministrationError(
            f"{volume} mL injected is not a full dose (15 mL, 100 mg). If that is what was "
            "given, a clinician records it as a partial dose with a reason and decides what "
            "follows; otherwise correct the volume."
        )
    return partial_reason.strip()


def _to_the_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _clock_time(value: datetime) -> str:
    return f"{timezone.localtime(value):%H:%M}"


def at_the_visit(booking: Booking | None) -> bool:
    """Whether the dose is recorded at its visit: a visit today or later, or a past one the
    patient arrived for with the checks recorded. Otherwise (no booking, or a past visit left
    with no record) it is a dose given elsewhere. The page asks what the service will need."""
    if booking is None:
        return False
    if booking.status == Booking.Status.ARRIVED:
        visit = booking.visit_or_none
        return booking.local_date >= timezone.localdate() or bool(visit and visit.checks_at)
    return booking.local_date >= timezone.localdate()


def _check_visit_ready(booking: Booking, dose: Dose, given_at: datetime) -> None:
    """A booked dose is given at its visit (DESIGN §2 "The dose belongs to its visit"): the
    patient arrived and the pre-dose checks are complete."""
    visit = booking.visit_or_none
    if booking.status != Booking.Status.ARRIVED or visit is None:
        raise AdministrationError(
            f"Dose {dose.number} is booked for {booking.slot}: mark the patient arrived "
            "and complete the pre-dose checks first."
        )
    if not visit.checks_complete:
        raise AdministrationError(
            "The pre-dose checks are not complete: finish them (a clinician decides on "
            "any new symptom, fever or pregnancy) before the dose is given."
        )


def _check_given_during_visit(booking: Booking, dose: Dose, given_at: datetime) -> None:
    """The dose belongs to its visit (DESIGN §2; issue 17 §2): the checks were made on the
    visit's day, and the dose was given that day, after the arrival and after the checks.
    Otherwise the next dose would chain from a wrong date, or be given on stale checks."""
    visit = booking.visit_or_none
    day = booking.local_date
    checked_on = timezone.localdate(visit.checks_at)
    if checked_on != day:
        raise AdministrationError(
            f"The pre-dose checks were recorded on {format_day(checked_on)}, "
            f"not on the visit's day ({format_day(day)}): the dose cannot be recorded on them."
        )
    if timezone.localdate(given_at) != day:
        raise AdministrationError(
            f"Dose {dose.number} was booked for {booking.slot}: a dose given at that visit is "
            f"given on {format_day(day)}. If it was given on another day, record this visit as "
            "not given, then record the dose given elsewhere with a reason."
        )
    # Times are written to the minute: a dose given "at 09:05" after checks at 09:05:40 is not
    # before them.
    if given_at < _to_the_minute(visit.arrived_at) or given_at < _to_the_minute(visit.checks_at):
        raise AdministrationError(
            f"The time given ({_clock_time(given_at)}) is before the patient arrived "
            f"({_clock_time(visit.arrived_at)}) or before the pre-dose checks "
            f"({_clock_time(visit.checks_at)}): check the time."
        )


def _check_given_elsewhere(
    dose: Dose, booking, given_at, recorded_by, reason: str, checks: dict | None
) -> dict:
    """A dose with no visit here (DESIGN §2 "A dose given elsewhere (paper record, another
    hospital) is a clinician's record with a reason"): a clinician, a reason (kept as the
    dose's `override_reason`), and who checked what (`ELSEWHERE_CHECKS`). A past visit of
    this dose must be the same day. Returns the checks to keep on the dose."""
    where = (
        f"The visit on {booking.slot} has no record"
        if booking is not None
        else f"Dose {dose.number} has no visit here"
    )
    if not can_override(recorded_by) or not reason.strip():
        raise AdministrationError(
            f"{where}: a clinician may record the dose given elsewhere (a paper record, "
            "another hospital), with a reason."
        )
    checks = dict(checks or {})
    unknown = set(checks) - set(ELSEWHERE_CHECKS) - ELSEWHERE_ANSWERS
    if unknown:
        raise TypeError(f"Unknown pre-dose checks: {', '.join(sorted(unknown))}")
    missing = [label for name, label in ELSEWHERE_CHECKS.items() if not checks.get(name)]
    if missing:
        raise AdministrationError(
            "A dose given elsewhere still records its pre-dose checks. Record "
            + "; ".join(missing)
            + "."
        )
    if booking is not None and timezone.localdate(given_at) != booking.local_date:
        raise AdministrationError(
            f"Dose {dose.number} was booked for {booking.slot}: record that visit as not "
            "given first, then the dose given on another day."
        )
    checks["checked_by"] = str(checks["checked_by"]).strip()
    return checks


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
