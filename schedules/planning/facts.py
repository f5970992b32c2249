"""A course's stored facts, read once and turned into the engine's arguments in one place.

The database holds what happened (doses given, active bookings, the course's events); every
plan is computed from those facts (DESIGN §3 "Store facts, derive dates"). `CourseFacts` is the
one conversion from stored rows to `engine.plan` arguments, from prefetched instances or from
plain values; `planning_prefetch` is the one prefetch a plan needs.
"""

from dataclasses import dataclass, field, replace
from datetime import date

from django.db.models import Prefetch
from django.utils import timezone

from schedules import engine
from schedules.models import Booking, CourseEvent, Dose, TreatmentCourse


def planning_prefetch(prefix: str = "") -> list:
    """What `CourseFacts.from_prefetched` reads: the course's events and its doses with their
    active booking. `prefix` reaches the course through a relation ("dose__course__")."""
    return [
        f"{prefix}events",
        Prefetch(f"{prefix}doses", queryset=Dose.objects.with_active_booking()),
    ]


def planned_course(pk: int) -> TreatmentCourse:
    """The course as the database holds it now, prefetched for planning."""
    return TreatmentCourse.objects.prefetch_related(*planning_prefetch()).get(pk=pk)


def course_queryset():
    """Courses with everything the engine and the worklists need, in a fixed number of
    queries: patient, consents (for blockers), events, doses with their active booking and
    any missed appointment."""
    return TreatmentCourse.objects.select_related("patient").prefetch_related(
        "events",
        "patient__consents",
        Prefetch(
            "doses",
            queryset=Dose.objects.for_planning().prefetch_related(
                Prefetch(
                    "bookings",
                    queryset=Booking.objects.filter(status=Booking.Status.NOSHOW).select_related(
                        "slot__unit"
                    ),
                    to_attr="noshow_bookings",
                )
            ),
        ),
    )


@dataclass(frozen=True)
class CourseFacts:
    """What the engine plans from: the start date, the dates doses were given and are booked
    for, and the clinicians' decisions (in the model's order)."""

    start: date
    given: dict[int, date] = field(default_factory=dict)
    booked: dict[int, date] = field(default_factory=dict)
    events: list[engine.CourseEvent] = field(default_factory=list)

    @classmethod
    def from_prefetched(cls, course: TreatmentCourse, *, before: int | None = None):
        """From a course with `planning_prefetch()`. With `before`, only the doses ahead of
        that number: a dose's window depends only on the doses before it, so moving dose n
        is judged without the later bookings it may invalidate. A given dose counts as given
        whatever its bookings say."""
        given, booked = {}, {}
        for dose in course.doses.all():
            if before is not None and dose.number >= before:
                continue
            if dose.given_at:
                given[dose.number] = timezone.localdate(dose.given_at)
            elif dose.active_booking is not None:
                booked[dose.number] = dose.active_booking.local_date
        events = [_engine_event(e.kind, e.on, e.restart_loading) for e in course.events.all()]
        return cls(course.start_date, given, booked, events)

    @classmethod
    def from_values(cls, courses, *, zone) -> dict[int, "CourseFacts"]:
        """{course id: facts} read as plain values in three queries, with no Dose, Booking or
        Slot instances: at 5,000 patients building those was most of the patient list's time
        (issue 8). `courses` need only their start date; booking days are read in `zone`."""
        ids = [course.pk for course in courses]
        given = {pk: {} for pk in ids}
        booked = {pk: {} for pk in ids}
        events = {pk: [] for pk in ids}
        for course_id, number, given_at in Dose.objects.filter(
            course_id__in=ids, given_at__isnull=False
        ).values_list("course_id", "number", "given_at"):
            given[course_id][number] = timezone.localdate(given_at)
        for course_id, number, start in (
            Booking.objects.active()
            .filter(dose__course_id__in=ids, dose__given_at__isnull=True)
            .values_list("dose__course_id", "dose__number", "slot__start")
        ):
            booked[course_id][number] = timezone.localtime(start, zone).date()
        for course_id, kind, on, restart_loading in CourseEvent.objects.filter(
            course_id__in=ids
        ).values_list("course_id", "kind", "on", "restart_loading"):  # in the model's order
            events[course_id].append(_engine_event(kind, on, restart_loading))
        return {c.pk: cls(c.start_date, given[c.pk], booked[c.pk], events[c.pk]) for c in courses}

    def with_booked(self, extra: dict[int, date]) -> "CourseFacts":
        return replace(self, booked={**self.booked, **extra})

    def plan(self, *, today: date, is_open, policy, **limits) -> list[engine.PlannedDose]:
        """The engine's plan from these facts; raises `engine.ScheduleError`."""
        return engine.plan(
            start=self.start,
            today=today,
            given=self.given,
            booked=self.booked,
            events=self.events,
            is_open=is_open,
            policy=policy,
            **limits,
        )


def _engine_event(kind: str, on: date, restart_loading: bool) -> engine.CourseEvent:
    return engine.CourseEvent(engine.EventKind(kind), on, restart_loading)
