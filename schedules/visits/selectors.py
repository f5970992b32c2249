"""The visit's worklists, read only."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from schedules.models import Dose, FollowUpCall, Unit
from schedules.unit.calendar import UnitCalendar

# How far ahead to look for the unit's next open day (a long closure); past it, the next day.
OPEN_DAY_SEARCH_DAYS = 60


def next_open_day(calendar: UnitCalendar, after: date) -> date:
    """The unit's first open day after `after` (bank holidays and closures included). A unit
    with no open day in sight gives the next day, so a call is never planned for never."""
    for offset in range(1, OPEN_DAY_SEARCH_DAYS + 1):
        day = after + timedelta(days=offset)
        if calendar.is_open(day):
            return day
    return after + timedelta(days=1)


def unit_calendar(start: date, end: date) -> UnitCalendar:
    return UnitCalendar(Unit.current(), start, end + timedelta(days=OPEN_DAY_SEARCH_DAYS))


def resolving_calls():
    """The calls that end a dose's follow-up: the patient answered with no problems; a headache
    or another event once the event (with its triage) is linked; or closed by a clinician. A
    call with no answer, or a headache whose triage was never saved, ends nothing."""
    return FollowUpCall.objects.filter(
        Q(outcome__in=[FollowUpCall.Outcome.NO_PROBLEMS, FollowUpCall.Outcome.CLOSED])
        | Q(outcome__in=FollowUpCall.NEEDS_EVENT, adverse_event__isnull=False)
    )


@dataclass(frozen=True)
class FollowUpRow:
    dose: Dose
    patient: object
    attempts: list
    first_call_day: date
    call_back_on: date | None
    awaiting_event: FollowUpCall | None  # a headache or event call whose record is not saved


def follow_up_doses(today: date) -> list[FollowUpRow]:
    """The follow-up-call worklist (DESIGN §2 follow-up; issue 17): each given dose whose
    follow-up is not done, from the unit's first open day after the dose (a Friday dose is
    called on Monday; bank holidays and closures count as closed), until a call resolves it
    (`resolving_calls`). Unanswered calls and untriaged headaches keep it listed, however many
    days pass. A dose is no longer listed once a later dose of its course is given: that
    visit's pre-dose checks asked about new symptoms."""
    doses = list(
        Dose.objects.filter(given_at__date__lt=today + timedelta(days=1))
        .filter(~Exists(resolving_calls().filter(dose=OuterRef("pk"))))
        .filter(
            ~Exists(
                Dose.objects.filter(course=OuterRef("course"), given_at__gt=OuterRef("given_at"))
            )
        )
        .select_related("course__patient")
        .prefetch_related("follow_up_calls")
        .order_by("given_at")
    )
    if not doses:
        return []
    calendar = unit_calendar(timezone.localdate(doses[0].given_at), today)
    rows = []
    for dose in doses:
        first_call_day = next_open_day(calendar, timezone.localdate(dose.given_at))
        if first_call_day > today:
            continue
        calls = list(dose.follow_up_calls.all())
        waiting = [call for call in calls if call.outcome in FollowUpCall.NEEDS_EVENT]
        unanswered = [call for call in calls if call.outcome == FollowUpCall.Outcome.NO_ANSWER]
        rows.append(
            FollowUpRow(
                dose=dose,
                patient=dose.course.patient,
                attempts=calls,
                first_call_day=first_call_day,
                call_back_on=unanswered[-1].call_back_on if unanswered else None,
                awaiting_event=waiting[-1] if waiting else None,
            )
        )
    return rows
