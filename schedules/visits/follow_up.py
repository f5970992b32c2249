"""Follow-up calls after a dose (DESIGN §2 "After": a call on the unit's open days after the
dose; unanswered calls stay listed; a headache is triaged before the call is closed). Which
doses are listed is `schedules.visits.selectors.follow_up_doses`; the adverse event and its
PLPH triage are `schedules.visits.safety`. Locks in the order of `schedules.locks`: the
course first.
"""

from django.db import transaction
from django.utils import timezone

from schedules import locks
from schedules.errors import FollowUpError
from schedules.models import AdverseEvent, Dose, FollowUpCall
from schedules.retry import retry_when_busy
from schedules.visits import safety
from schedules.visits.selectors import next_open_day, unit_calendar


def may_close_follow_up(user) -> bool:
    """Closing a follow-up that never reached the patient is a clinical decision."""
    return user.has_perm("schedules.manage_course")


@retry_when_busy
@transaction.atomic
def record_follow_up_call(
    *, dose: Dose, outcome: str, recorded_by, note: str = "", adverse_event=None
) -> FollowUpCall:
    """A nurse's call after a dose (DESIGN §2 follow-up), or a clinician closing the follow-up.

    1. The dose must have been given.
    2. "No answer": a call-back is planned for the unit's next open day (`call_back_on`); the
       dose stays listed until a call resolves it (`selectors.resolving_calls`).
    3. "Headache" or "other event": the dose stays listed until the event is recorded and
       linked (`record_follow_up_event`), so an abandoned triage form loses no one.
    4. "Closed by a clinician": only a clinician, with a note saying why (for example the
       patient was seen in clinic, or cannot be reached and the GP was told).

    Locks: the course.
    """
    locks.lock_course(dose.course)
    dose = Dose.objects.select_related("course").get(pk=dose.pk)
    if not dose.given_at:
        raise FollowUpError("Follow-up calls are for doses that were given.")
    if outcome not in FollowUpCall.Outcome.values:
        raise FollowUpError("Choose the outcome of the call.")
    note = note.strip()
    if outcome == FollowUpCall.Outcome.CLOSED:
        if not may_close_follow_up(recorded_by):
            raise FollowUpError(
                "Only a clinician can close a follow-up without an answer: keep calling, or "
                "ask a clinician."
            )
        if not note:
            raise FollowUpError("Write why the follow-up is closed without an answer.")
    today = timezone.localdate()
    call_back_on = None
    if outcome == FollowUpCall.Outcome.NO_ANSWER:
        call_back_on = next_open_day(unit_calendar(today, today), today)
    call = FollowUpCall(
        dose=dose,
        outcome=outcome,
        note=note,
        adverse_event=adverse_event,
        called_at=timezone.now(),
        called_by=recorded_by,
        call_back_on=call_back_on,
    )
    call._history_user = recorded_by
    call.save()
    return call


@retry_when_busy
@transaction.atomic
def record_follow_up_event(*, call: FollowUpCall, recorded_by, **event) -> AdverseEvent:
    """Record the event a follow-up call found, and link it to the call, in one transaction:
    the call then stops keeping its dose on the list.

    A headache is recorded with the headache triage (term PLPH or headache, with the answers,
    DESIGN §2 PLPH pathway): its step is stored, and a red flag holds the course
    (`safety.record_adverse_event`). Arguments are those of `record_adverse_event`; the course
    and the dose are the call's.

    Locks: all the patient's courses by id, as `record_adverse_event` does next (locking the
    call's course alone first would take them out of order when the patient has an older one).
    """
    locks.lock_patient_courses(call.dose.course.patient_id)
    call = FollowUpCall.objects.select_related("dose__course").get(pk=call.pk)
    if call.outcome not in FollowUpCall.NEEDS_EVENT:
        raise FollowUpError("This call found no event to record.")
    if call.adverse_event_id is not None:
        raise FollowUpError("The event this call found is already recorded.")
    _check_triaged(call, event)
    adverse_event = safety.record_adverse_event(
        course=call.dose.course, dose=call.dose, recorded_by=recorded_by, **event
    )
    call.adverse_event = adverse_event
    call._history_user = recorded_by
    call.save(update_fields=["adverse_event"])
    return adverse_event


@retry_when_busy
@transaction.atomic
def record_follow_up_headache(*, dose: Dose, recorded_by, note: str = "", **event) -> AdverseEvent:
    """A call that found a headache, with its triage answered on the call (issue 20): the call
    and the headache (PLPH pathway, red flags hold the course: `safety.record_adverse_event`)
    saved together, so the call is resolved at once. Arguments after `note` are those of
    `record_adverse_event`.

    Locks: all the patient's courses by id first, the order `record_follow_up_event` takes
    (the call alone would lock its course first, then the others out of order).
    """
    locks.lock_patient_courses(dose.course.patient_id)
    call = record_follow_up_call(
        dose=dose, outcome=FollowUpCall.Outcome.HEADACHE, recorded_by=recorded_by, note=note
    )
    return record_follow_up_event(call=call, recorded_by=recorded_by, **event)


def _check_triaged(call: FollowUpCall, event: dict) -> None:
    """A headache found on a call is recorded with the headache triage (DESIGN §2: "a headache
    is triaged before the call is closed")."""
    triaged = event.get("term") in AdverseEvent.TRIAGED_TERMS and event.get("triage")
    if call.outcome == FollowUpCall.Outcome.HEADACHE and not triaged:
        raise FollowUpError(
            "A headache after the lumbar puncture needs the headache triage: record it as a "
            "post-lumbar-puncture headache (or headache) and answer the triage questions."
        )
