"""Safety: adverse events, and the hold for clinical review a serious one puts on the course.
A headache with triage answers stores the answers and the matching step of the pathway
(`schedules.plph`); a red flag holds the course like a serious event. Builds on
`schedules.courses.services` (the hold); locks in the order of `schedules.locks`.
"""

from datetime import date

from django.db import transaction
from django.utils import timezone

from schedules import locks, outlook, plph, rules
from schedules.courses import services as courses_services
from schedules.errors import AdverseEventError
from schedules.models import AdverseEvent, CourseEvent, Dose, TreatmentCourse
from schedules.retry import retry_when_busy
from tofersen_scheduler.dates import format_day

ADVERSE_EVENT_FIELDS = frozenset(
    {
        "term_detail",
        "severity",
        "relation",
        "action_taken",
        "outcome",
        "resolved_on",
        "triage",
        "advice",
    }
)


@retry_when_busy
@transaction.atomic
def record_adverse_event(
    *, course, term: str, onset: date, serious: bool, recorded_by, dose=None, **details
) -> AdverseEvent:
    """Record an adverse event against the course, and the dose it followed when it did.

    A serious neurological event (myelitis, radiculitis, aseptic meningitis, papilloedema or
    raised intracranial pressure; US PI §5, EU SmPC 4.4) or any event marked serious puts the
    open course on hold for clinical review (DESIGN §2): nothing is booked, given or projected
    until a clinician records continue, pause or stop. A PLPH with triage answers gets the
    matching step of the PLPH pathway stored as its advice. `event.held` says whether this
    event put the course on hold.

    The hold is the patient's (DESIGN §2 "Rules belong to the patient"): an event recorded on
    a stopped course (a late event, still recordable) holds the patient's open course.

    Locks: the patient's courses by id (`locks.lock_patient_courses`).
    """
    unknown = set(details) - ADVERSE_EVENT_FIELDS
    if unknown:
        raise TypeError(f"Unknown adverse-event details: {', '.join(sorted(unknown))}")
    courses = locks.lock_patient_courses(course.patient_id)
    course = next(locked for locked in courses if locked.pk == course.pk)
    if term not in AdverseEvent.Term.values:
        raise AdverseEventError("Choose the event from the list (or “Other” and describe it).")
    if term == AdverseEvent.Term.OTHER and not str(details.get("term_detail", "")).strip():
        raise AdverseEventError("Describe the event, since it is “Other”.")
    if onset is None:
        raise AdverseEventError("Give the date the event started.")
    if onset > timezone.localdate():
        raise AdverseEventError("The onset date cannot be in the future.")
    if onset < course.start_date:
        raise AdverseEventError("The onset date cannot be before the course started.")
    resolved_on = details.get("resolved_on")
    if resolved_on and resolved_on < onset:
        raise AdverseEventError("The event cannot resolve before it started.")
    if dose is not None:
        dose = _check_dose_given_before(course, dose, onset)
    _triage(term, details)
    event = AdverseEvent(
        course=course,
        dose=dose,
        term=term,
        onset=onset,
        serious=bool(serious),
        recorded_by=recorded_by,
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in details.items()},
    )
    event._history_user = recorded_by
    event.save()
    event.held = False
    for open_course in rules.courses_to_hold(event, courses):
        where = "" if open_course.pk == course.pk else " (recorded on an earlier course)"
        courses_services._hold(
            open_course,
            reason=CourseEvent.Reason.SERIOUS_EVENT,
            reason_detail=f"{event.label} from {format_day(onset)}{where}",
            recorded_by=recorded_by,
        )
        event.held = True
        outlook.refresh_next_due(open_course)
    return event


def _triage(term: str, details: dict) -> None:
    """A headache with triage answers (DESIGN §2 PLPH pathway): the answers in canonical form,
    every question a key (`plph.triage_answers`), the matching step and its advice. A red flag's
    step makes the event need review (`AdverseEvent.needs_review`), so it holds the course like
    a serious event."""
    triage = details.get("triage") or {}
    if term not in AdverseEvent.TRIAGED_TERMS or not triage:
        return
    try:
        details["triage"] = plph.triage_answers(triage)
    except ValueError as error:
        raise AdverseEventError(f"Check the headache triage answers: {error}") from None
    step = plph.plph_advice(details["triage"])
    details["plph_step"], details["advice"] = step.step, step.advice


def _check_dose_given_before(course: TreatmentCourse, dose: Dose, onset: date) -> Dose:
    """The dose an event is linked to: one of this course's, given on or before the onset.
    Returns it fresh."""
    dose = Dose.objects.get(pk=dose.pk)
    if dose.course_id != course.pk or not dose.given_at:
        raise AdverseEventError("Link the event to a dose of this course that was given.")
    if onset < timezone.localdate(dose.given_at):
        raise AdverseEventError(
            f"The event started before dose {dose.number} was given: link it to an "
            "earlier dose or to none."
        )
    return dose
