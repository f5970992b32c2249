"""The worklists' derived cache and its one writer (issue 8): the next due date, problem and
flagged booking of each course (`CourseOutlook`) and its unbooked doses in the forecast's reach
(`ProjectedDose`). Derived, never a fact: rewritten from the facts by every service that changes
them (inside its transaction) and by the nightly `refresh_next_due` command. Reads
(`schedules.planning`) never import this module; writes do.
"""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from schedules import engine
from schedules.models import CourseOutlook, ProjectedDose, TreatmentCourse, Unit
from schedules.planning import (
    PROJECTION_WEEKS,
    CourseFacts,
    CoursePlan,
    open_calendar,
    plan_for,
    planned_course,
    planning_prefetch,
)

# What the worklists filter on ------------------------------------------------------------------


def outlook_values(plan: CoursePlan) -> dict:
    """The columns kept beside the facts, from a plan. Only an ACTIVE course has something to
    book (paused, stopped and held-for-review courses have nothing)."""
    course = plan.course
    pending = plan.pending if course.status == TreatmentCourse.Status.ACTIVE else None
    doses = {dose.number: dose for dose in course.doses.all()}
    flagged = any(
        p.state == engine.DoseState.BOOKED
        and p.outside_window
        and p.number in doses
        and doses[p.number].active_booking is not None
        and not doses[p.number].active_booking.override_reason
        for p in plan
    )
    return {
        "next_due": pending.due if pending else None,
        "next_number": pending.number if pending else None,
        "problem": bool(plan.problem) and course.status == TreatmentCourse.Status.ACTIVE,
        "flagged": flagged,
    }


def projections(plan: CoursePlan, today: date) -> list[ProjectedDose]:
    """The unbooked doses of an active course in the forecast's reach."""
    if plan.course.status != TreatmentCourse.Status.ACTIVE or plan.problem:
        return []
    until = today + timedelta(weeks=PROJECTION_WEEKS)
    unbooked = (engine.DoseState.DUE, engine.DoseState.OVERDUE, engine.DoseState.PLANNED)
    return [
        ProjectedDose(
            course=plan.course,
            number=p.number,
            on=p.date,
            due=p.due,
            window_end=p.window_end,
            overdue=p.state == engine.DoseState.OVERDUE,
        )
        for p in plan
        if p.state in unbooked and p.date <= until
    ]


def refresh_next_due(course: TreatmentCourse, *, today: date | None = None) -> None:
    """Rewrite the course's outlook (next due date, problem, flagged booking) from its facts.

    Every service that changes a course's facts calls this last, inside its transaction, so a
    worklist never lists a dose already booked. The first pending dose's due date depends only
    on facts (the doses before it are given or booked), not on today; the nightly command
    (`manage.py refresh_next_due`) covers anything else that moves with time.
    """
    today = today or timezone.localdate()
    course = planned_course(course.pk)
    unit = Unit.objects.order_by("pk").first()
    if unit is not None:
        plan = plan_for(course, today=today, unit=unit)
    else:  # no unit yet (an admin adds it): the due date does not depend on open days
        try:
            facts = CourseFacts.from_prefetched(course)
            plan = CoursePlan(course, facts.plan(today=today, is_open=None, policy=engine.Policy()))
        except engine.ScheduleError as error:
            plan = CoursePlan(course, problem=str(error))
    values = {**outlook_values(plan), "refreshed_on": today}
    # The caller holds the course lock, so a plain update is safe and takes no extra row lock
    # (update_or_create would lock the outlook row outside the services' lock order).
    if not CourseOutlook.objects.filter(course=course).update(**values):
        CourseOutlook.objects.create(course=course, **values)
    ProjectedDose.objects.filter(course=course).delete()
    ProjectedDose.objects.bulk_create(projections(plan, today))


# Courses the nightly pass refreshes in one transaction: their locks are held for the time it
# takes to plan them (tens of milliseconds), so a nurse's write never waits long behind it.
REFRESH_BATCH = 50


def refresh_all(*, today: date | None = None, batch: int = REFRESH_BATCH) -> int:
    """The nightly pass: every open course's outlook, a few courses a short transaction.

    1. List the open courses' ids (no lock).
    2. For each batch, in its own transaction, lock the courses (lock order step 1, by id, as
       the services do: `schedules/locks.py`), skipping any a service holds, and only then
       read their facts, so an outlook is never written from facts a service has since
       changed (a stale outlook would hide a due dose from Needs booking for a night).
    3. Plan them and write their outlooks and projected doses.

    A skipped course is not missed: the service holding it calls `refresh_next_due` as its
    last step, inside its transaction, from facts at least as new as ours. Returns how many
    courses were refreshed.
    """
    today = today or timezone.localdate()
    unit = Unit.current()
    calendar = open_calendar(unit, today)
    open_courses = TreatmentCourse.objects.exclude(status=TreatmentCourse.Status.STOPPED)
    ids = list(open_courses.order_by("pk").values_list("pk", flat=True))
    done = 0
    for first in range(0, len(ids), batch):
        with transaction.atomic():
            chunk = list(
                open_courses.filter(pk__in=ids[first : first + batch])
                .select_for_update(of=("self",), no_key=True, skip_locked=True)
                .order_by("pk")
                .prefetch_related(*planning_prefetch())
            )
            plans = [plan_for(c, today=today, unit=unit, calendar=calendar) for c in chunk]
            rows = [
                CourseOutlook(course=plan.course, refreshed_on=today, **outlook_values(plan))
                for plan in plans
            ]
            ProjectedDose.objects.filter(course__in=chunk).delete()
            ProjectedDose.objects.bulk_create(
                [projected for plan in plans for projected in projections(plan, today)]
            )
            CourseOutlook.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["course"],
                update_fields=["next_due", "next_number", "problem", "flagged", "refreshed_on"],
            )
        done += len(rows)
    # A stopped course has nothing to book.
    ProjectedDose.objects.filter(course__status=TreatmentCourse.Status.STOPPED).delete()
    CourseOutlook.objects.filter(course__status=TreatmentCourse.Status.STOPPED).exclude(
        next_due=None, problem=False, flagged=False
    ).update(next_due=None, next_number=None, problem=False, flagged=False, refreshed_on=today)
    return done
