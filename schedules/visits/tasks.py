"""A clinician's queue, "My tasks", read only: what waits for someone who can decide, each
with the one page that resolves it (issue 20 §2).

- Holds to review: a course on hold for clinical review (a serious event, a withdrawn consent:
  DESIGN §2 "held for clinical review") until a clinician records continue, pause or stop.
- Checks stopped for a decision: a visit today (or later) whose pre-dose checks found a new
  symptom, a fever or a pregnancy "yes", not yet decided (DESIGN §2 "Each visit": the answer
  stands until a clinician records a decision).
- Booking requests: a nurse's request to book a dose past the window (a clinician's choice,
  DESIGN §2 unit policy), while the dose is still neither booked nor given on an active course.
- Visits with no outcome: a past day's booking still booked or arrived (issue 17 §5 "Every
  visit ends").
- Headache calls without a triage: a follow-up call that found a headache whose triage was
  never saved (DESIGN §2 follow-up: "a headache is triaged before the call is closed").

Each list is one query, and the badge's count one query for all five: constant in the number
of patients. Each list is bounded by the unit's activity (holds, today's visits, open
requests), not by the patients on treatment.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from schedules.models import (
    AdverseEvent,
    Booking,
    ClinicianRequest,
    Dose,
    FollowUpCall,
    TreatmentCourse,
    Unit,
    UnitMissing,
    Visit,
)
from schedules.rules import OVERRIDE_PERMISSION
from schedules.visits.selectors import resolving_calls


def may_decide(user) -> bool:
    """Who has a queue: the people who may book past the window and decide (`can_override`)."""
    return bool(user.is_authenticated and user.has_perm(OVERRIDE_PERMISSION))


def triage_url(call: FollowUpCall, here: str) -> str:
    """The headache triage (the adverse-event form for the call, PLPH), coming back `here`."""
    query = {"term": AdverseEvent.Term.PLPH, "call": call.pk, "dose": call.dose_id, "next": here}
    url = reverse("schedules:adverse_event", args=[call.dose.course_id])
    return f"{url}?{urlencode(query)}"


def _midnight(unit: Unit, today: date) -> datetime:
    return datetime.combine(today, time.min, tzinfo=unit.zone)


def _holds():
    return TreatmentCourse.objects.filter(status=TreatmentCourse.Status.HELD)


def _checks(midnight: datetime):
    stopped = Q(fever=True) | Q(pregnancy=Visit.Pregnancy.YES)
    for name in Visit.SYMPTOM_FIELDS:
        stopped |= Q(**{name: True})
    return Visit.objects.filter(
        stopped,
        cleared_by__isnull=True,
        booking__status=Booking.Status.ARRIVED,
        booking__slot__start__gte=midnight,
    )


def _requests():
    waiting = Booking.objects.active().filter(
        dose__course=OuterRef("course"), dose__number=OuterRef("dose_number")
    )
    given = Dose.objects.filter(
        course=OuterRef("course"), number=OuterRef("dose_number"), given_at__isnull=False
    )
    return ClinicianRequest.objects.filter(course__status=TreatmentCourse.Status.ACTIVE).filter(
        ~Exists(waiting), ~Exists(given)
    )


def _unrecorded(midnight: datetime):
    return Booking.objects.filter(status__in=Booking.ACTIVE_STATUSES, slot__start__lt=midnight)


def _headaches():
    return FollowUpCall.objects.filter(
        outcome=FollowUpCall.Outcome.HEADACHE, adverse_event__isnull=True
    ).filter(~Exists(resolving_calls().filter(dose=OuterRef("dose"))))


@dataclass(frozen=True)
class Task:
    patient: object
    what: str
    when: datetime | date | None
    action: str
    url: str


@dataclass(frozen=True)
class TaskGroup:
    key: str
    title: str
    empty: str
    tasks: list[Task]


def _with_next(url: str, here: str) -> str:
    return f"{url}?{urlencode({'next': here})}"


def my_tasks(unit: Unit, *, today: date, here: str) -> list[TaskGroup]:
    """The five lists, oldest first in each (five queries)."""
    midnight = _midnight(unit, today)
    holds = [
        Task(
            course.patient,
            f"Treatment on hold for clinical review (course started {course.start_date:%d %b %Y}).",
            None,
            "Review the hold",
            reverse("schedules:review", args=[course.pk]),
        )
        for course in _holds().select_related("patient").order_by("pk")
    ]
    checks = [
        Task(
            visit.booking.dose.course.patient,
            f"Dose {visit.booking.dose.number}: pre-dose checks stopped for a decision ("
            + ", ".join(visit.symptoms or ["pregnancy or breastfeeding"])
            + ").",
            visit.checks_at or visit.arrived_at,
            "Clinician decision",
            _with_next(reverse("schedules:visit_clear", args=[visit.booking_id]), here),
        )
        for visit in _checks(midnight)
        .select_related("booking__dose__course__patient", "booking__slot")
        .order_by("booking__slot__start", "pk")
    ]
    requests = [
        Task(
            request.course.patient,
            f"Book dose {request.dose_number}"
            + (
                f", proposed {timezone.localtime(request.slot.start, unit.zone):%a %d %b %H:%M}"
                if request.slot
                else ""
            )
            + f" (asked by {request.asked_by.get_full_name() or request.asked_by.get_username()}"
            + (f": “{request.note}”" if request.note else "")
            + ").",
            request.asked_at,
            f"Book dose {request.dose_number}",
            _with_next(
                reverse("schedules:book", args=[request.course_id, request.dose_number]), here
            ),
        )
        for request in _requests()
        .select_related("course__patient", "slot", "asked_by")
        .order_by("asked_at", "pk")
    ]
    unrecorded = [
        Task(
            booking.dose.course.patient,
            f"Dose {booking.dose.number}: "
            + ("arrived, " if booking.status == Booking.Status.ARRIVED else "booked, ")
            + "no outcome recorded.",
            booking.slot.start,
            "Record what happened",
            reverse("schedules:day", args=[booking.local_date]) + f"#booking-{booking.pk}",
        )
        for booking in _unrecorded(midnight)
        .select_related("dose__course__patient", "slot__unit")
        .order_by("slot__start", "pk")
    ]
    headaches = [
        Task(
            call.dose.course.patient,
            f"Headache after dose {call.dose.number}: the triage was not saved.",
            call.called_at,
            "Headache triage",
            triage_url(call, here),
        )
        for call in _headaches().select_related("dose__course__patient").order_by("pk")
    ]
    return [
        TaskGroup("holds", "Holds to review", "No course is on hold.", holds),
        TaskGroup("checks", "Checks stopped for a decision", "No checks are waiting.", checks),
        TaskGroup("requests", "Booking requests", "No nurse is waiting for a booking.", requests),
        TaskGroup(
            "unrecorded", "Visits with no outcome", "Every past visit has an outcome.", unrecorded
        ),
        TaskGroup(
            "headaches", "Headache calls without a triage", "No triage is waiting.", headaches
        ),
    ]


def task_count(unit: Unit, *, today: date) -> int:
    """How many tasks `my_tasks` lists, in one query (the navigation's badge)."""
    midnight = _midnight(unit, today)
    parts, params = [], []
    for queryset in (
        _holds(),
        _checks(midnight),
        _requests(),
        _unrecorded(midnight),
        _headaches(),
    ):
        sql, values = queryset.order_by().values("pk").query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) t{len(parts)})")  # noqa: S608 - ORM SQL
        params.extend(values)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + " + ".join(parts), params)
        return int(cursor.fetchone()[0])


class TaskBadge:
    """The navigation's "My tasks" count (context processor): nothing is read unless a page
    shows it, and only for someone who may decide."""

    def __init__(self, request):
        self.request = request
        self._count = None

    @property
    def visible(self) -> bool:
        return may_decide(self.request.user)

    @property
    def count(self) -> int:
        if self._count is None:
            try:
                unit = Unit.current()
            except UnitMissing:  # the page says so; the navigation must not fail with it
                self._count = 0
            else:
                self._count = task_count(unit, today=timezone.localdate())
        return self._count
