"""The course as a picture: lays out a course's plan on a date axis for the patient page's SVG.

Everything here is layout: x positions (in the SVG's 1000-unit-wide view box) of the doses,
their windows, the loading and maintenance phases, pauses and month ticks. The dates
themselves come from `planning.plan_for(...)` (the engine); nothing here decides a date, a
window or a state. The template only draws what this returns.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import dateformat

from schedules.engine import DoseState, Phase
from tofersen_scheduler.dates import format_day

WIDTH = 1000
LEFT, RIGHT = 20, 980
AXIS_Y = 96
MARGIN_DAYS = 7


@dataclass(frozen=True)
class Mark:
    number: int
    state: str
    x: float
    box_x: float  # left edge of a booked dose's square
    window_x: float
    window_width: float
    flag: str  # "", "late" or "early": a booked or given date outside its window
    title: str


@dataclass(frozen=True)
class Span:
    x: float
    width: float
    label: str
    kind: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class CourseTimeline:
    marks: list[Mark] = field(default_factory=list)
    phases: list[Span] = field(default_factory=list)
    pauses: list[Span] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    today_x: float | None = None
    summary: str = ""
    width: int = WIDTH


def _scale(first: date, last: date):
    days = max((last - first).days, 1)

    def x(day: date) -> float:
        return round(LEFT + (RIGHT - LEFT) * (day - first).days / days, 1)

    return x


def _pause_spans(events, first: date, last: date, today: date):
    """(start, end) of each pause; an open pause runs to today (or the axis end)."""
    spans, paused_on = [], None
    for event in sorted(events, key=lambda e: e.on):
        if event.kind == "pause" and paused_on is None:
            paused_on = event.on
        elif event.kind in ("resume", "stop") and paused_on is not None:
            spans.append((paused_on, event.on))
            paused_on = None
    if paused_on is not None:
        spans.append((paused_on, max(min(today, last), paused_on)))
    return [(max(a, first), min(b, last)) for a, b in spans if b >= first and a <= last]


def course_timeline(plan, *, today: date, events=()) -> CourseTimeline | None:
    """The layout of `plan` (a planning.CoursePlan), or None when there is nothing to draw."""
    doses = list(plan)
    if not doses:
        return None
    first = min(min(p.date, p.window_start) for p in doses) - timedelta(days=MARGIN_DAYS)
    last = max(max(p.date, p.window_end) for p in doses) + timedelta(days=MARGIN_DAYS)
    x = _scale(first, last)

    marks = []
    for p in doses:
        flag = ""
        if p.state in (DoseState.GIVEN, DoseState.BOOKED) and p.outside_window:
            flag = "early" if p.date < p.window_start else "late"
        title = f"Dose {p.number} ({p.phase}): {p.state} {format_day(p.date)}"
        if flag:
            title += f", {flag}: window {format_day(p.window_start)} – {format_day(p.window_end)}"
        marks.append(
            Mark(
                number=p.number,
                state=str(p.state),
                x=x(p.date),
                box_x=x(p.date) - 7,
                window_x=x(p.window_start),
                window_width=max(x(p.window_end) - x(p.window_start), 2),
                flag=flag,
                title=title,
            )
        )

    phases = []
    for phase, label in ((Phase.LOADING, "Loading"), (Phase.MAINTENANCE, "Maintenance")):
        in_phase = [m for m, p in zip(marks, doses, strict=True) if p.phase == phase]
        if in_phase:
            start, end = in_phase[0].x, in_phase[-1].x
            phases.append(Span(x=start, width=max(end - start, 2), label=label, kind=str(phase)))

    pauses = [
        Span(x=x(a), width=max(x(b) - x(a), 3), label=f"Paused from {format_day(a)}", kind="pause")
        for a, b in _pause_spans(events, first, last, today)
    ]

    ticks, month = [], date(first.year, first.month, 1)
    while month <= last:
        if month >= first:
            label_format = "M Y" if month.month == 1 or not ticks else "M"
            ticks.append(Tick(x=x(month), label=dateformat.format(month, label_format)))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)

    counts = {}
    for p in doses:
        counts[str(p.state)] = counts.get(str(p.state), 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in counts.items())
    return CourseTimeline(
        marks=marks,
        phases=phases,
        pauses=pauses,
        ticks=ticks,
        today_x=x(today) if first <= today <= last else None,
        summary=f"Doses {format_day(doses[0].date)} to {format_day(doses[-1].date)}: {summary}.",
    )
