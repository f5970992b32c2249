"""A patient's courses as the patient pages show them (the list and the record): what
`patients.views` reads of `schedules`, so that it imports planning only."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Prefetch

from schedules.models import AdverseEvent, CourseEvent, Dose, TreatmentCourse, Unit
from schedules.planning.course_svg import CourseTimeline, course_timeline
from schedules.planning.plans import (
    CoursePlan,
    TimelineRow,
    open_calendar,
    plan_for,
    plans_from_values,
    timeline,
)


def open_courses():
    """Each patient's open course, only what the list shows and plans from (its facts are read
    as values: `plans_from_values`)."""
    return TreatmentCourse.objects.exclude(status=TreatmentCourse.Status.STOPPED).only(
        "id", "patient_id", "status", "start_date"
    )


def list_plans(courses, *, today: date) -> dict[int, CoursePlan]:
    """The patient list's plans: the doses given and the next one, all the list shows."""
    return plans_from_values(courses, today=today, unit=Unit.current(), count=1)


def record_courses() -> Prefetch:
    """A patient's courses with their decisions (and who recorded them), doses and adverse
    events, for the record (prefetched on the patient); stopped courses stay on it."""
    return Prefetch(
        "courses",
        queryset=TreatmentCourse.objects.prefetch_related(
            Prefetch("events", queryset=CourseEvent.objects.select_related("recorded_by")),
            Prefetch("doses", queryset=Dose.objects.with_active_booking()),
            # Every course's events, stopped ones included (DESIGN §2).
            Prefetch("adverse_events", queryset=AdverseEvent.objects.select_related("dose")),
        ),
    )


@dataclass
class CourseRecord:
    """The open course on the patient's record: each dose's row, the picture, and a sentence
    for the clinician when the recorded history contradicts itself."""

    course: TreatmentCourse | None
    timeline: list[TimelineRow] = field(default_factory=list)
    picture: CourseTimeline | None = None
    problem: str = ""
    # The start date can be corrected until a dose is given (correct_start_date).
    given: bool = False


def course_record(courses: list[TreatmentCourse], *, today: date) -> CourseRecord:
    """The patient's open course (not stopped) as the record shows it, from `record_courses`."""
    course = next((c for c in courses if c.status != TreatmentCourse.Status.STOPPED), None)
    unit = Unit.current()
    if course is None:
        return CourseRecord(None)
    calendar = open_calendar(unit, today)
    plan = plan_for(course, today=today, unit=unit, calendar=calendar)
    return CourseRecord(
        course,
        timeline=timeline(plan, calendar),
        picture=course_timeline(plan, today=today, events=course.events.all()),
        problem=plan.problem,
        given=any(dose.given_at for dose in course.doses.all()),
    )
