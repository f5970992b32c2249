"""The CSV exports of issue 21: per dose, the safety-study extract, attendance.

Rows are built from the same facts as the measures (`measures.load_facts`), so an export and
the Quality page never disagree. Every cell a spreadsheet could read as a formula is escaped
(OWASP "CSV injection"), and every download is recorded (`record_export`): the only write in
the quality package.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from schedules.models import AdverseEvent, CourseEvent, Unit, Visit
from schedules.quality.measures import ATTENDANCE_CODES, Period, load_facts
from schedules.quality.models import ExportRecord

ROUTE = "Intrathecal (lumbar puncture)"
# A spreadsheet runs a cell starting with one of these as a formula (OWASP CSV injection);
# tab and carriage return too, which some spreadsheets strip before reading the cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str | int | float:
    """Numbers stay numbers; text is prefixed with an apostrophe when a spreadsheet would read
    it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class Export:
    kind: str
    header: list[str]
    rows: list[list]

    @property
    def filename(self) -> str:
        return f"tofersen-{self.kind}.csv"

    def csv_text(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.header)
        for row in self.rows:
            writer.writerow([safe_cell(cell) for cell in row])
        return buffer.getvalue()


def dose_export(period: Period, *, unit: Unit, today: date) -> Export:
    """One row per dose given in the period, and per visit that ended without the dose (not
    given, did not attend): planned (the engine's due date) and actual dates, intervals,
    outcome, route, imaging and the adverse events linked to the dose."""
    facts = load_facts(period, unit=unit, today=today)
    rows = []
    for dose in facts.doses:
        rows.append(
            [
                dose.given,
                dose.hospital_number,
                dose.course_id,
                dose.number,
                dose.phase,
                dose.due,
                dose.given,
                dose.planned_interval,
                dose.actual_interval,
                dose.days_from_due,
                dose.within_window,
                "Given" if not dose.failed_attempts else "Given after a failed lumbar puncture",
                ROUTE,
                dose.imaging,
                "; ".join(dose.events),
            ]
        )
    for visit in facts.visits:
        if visit.status == "not_given":
            outcome = f"Not given: {Visit.NotGivenReason(visit.not_given_reason).label}"
        elif visit.status == "noshow":
            outcome = "Did not attend"
        else:
            continue
        rows.append(
            [
                visit.day,
                visit.hospital_number,
                visit.course_id,
                visit.number,
                "",
                visit.due,
                None,
                None,
                None,
                None,
                None,
                outcome,
                ROUTE,
                "",
                "",
            ]
        )
    rows.sort(key=lambda row: (row[0], row[1], row[3]))
    return Export(
        "doses",
        [
            "visit_date",
            "hospital_number",
            "course",
            "dose_number",
            "phase",
            "planned_date",
            "actual_date",
            "planned_interval_days",
            "actual_interval_days",
            "days_from_due",
            "within_unit_window",
            "outcome",
            "route",
            "imaging",
            "linked_adverse_events",
        ],
        rows,
    )


def safety_export(period: Period, *, unit: Unit, today: date) -> Export:
    """The post-authorisation safety study's extract: serious events (onset in the period),
    pregnancies (a "yes" at a pre-dose check in the period) and discontinuations and pauses
    (decided in the period), with reasons and dates."""
    rows = []
    events = (
        AdverseEvent.objects.filter(onset__gte=period.first, onset__lte=period.last)
        .select_related("course__patient", "dose")
        .order_by("onset", "pk")
    )
    for event in events:
        if not event.needs_review:
            continue
        rows.append(
            [
                "serious_event",
                event.onset,
                event.course.patient.hospital_number,
                event.course_id,
                event.dose.number if event.dose else None,
                event.label,
                event.get_severity_display(),
                event.get_relation_display(),
                event.get_outcome_display(),
                event.resolved_on,
                event.action_taken,
            ]
        )
    start = datetime.combine(period.first, time.min, tzinfo=unit.zone)
    end = datetime.combine(period.last + timedelta(days=1), time.min, tzinfo=unit.zone)
    pregnancies = (
        Visit.objects.filter(
            pregnancy=Visit.Pregnancy.YES,
            booking__slot__start__gte=start,
            booking__slot__start__lt=end,
        )
        .select_related("booking__slot", "booking__dose__course__patient")
        .order_by("booking__slot__start")
    )
    for visit in pregnancies:
        dose = visit.booking.dose
        rows.append(
            [
                "pregnancy",
                timezone.localtime(visit.booking.slot.start, unit.zone).date(),
                dose.course.patient.hospital_number,
                dose.course_id,
                dose.number,
                "Pregnant or breastfeeding at the pre-dose check",
                "",
                "",
                "Dose given" if dose.given_at else "Dose not given",
                None,
                visit.cleared_note,
            ]
        )
    decisions = (
        CourseEvent.objects.filter(
            kind__in=[CourseEvent.Kind.STOP, CourseEvent.Kind.PAUSE],
            on__gte=period.first,
            on__lte=period.last,
        )
        .select_related("course__patient")
        .order_by("on", "pk")
    )
    for event in decisions:
        rows.append(
            [
                "discontinuation" if event.kind == CourseEvent.Kind.STOP else "pause",
                event.on,
                event.course.patient.hospital_number,
                event.course_id,
                None,
                event.get_reason_display() or "Not given",
                "",
                "",
                "",
                None,
                event.reason_detail,
            ]
        )
    rows.sort(key=lambda row: (row[1], row[0]))
    return Export(
        "safety",
        [
            "record",
            "date",
            "hospital_number",
            "course",
            "dose_number",
            "what",
            "severity",
            "relation",
            "outcome",
            "resolved_on",
            "details",
        ],
        rows,
    )


def attendance_export(period: Period, *, unit: Unit, today: date) -> Export:
    """Every booking whose slot is in the period with its NHS Data Dictionary attendance code
    (`measures.attendance_code` documents the mapping)."""
    facts = load_facts(period, unit=unit, today=today)
    rows = [
        [
            visit.day,
            timezone.localtime(visit.start, unit.zone).strftime("%H:%M"),
            visit.hospital_number,
            visit.course_id,
            visit.number,
            visit.status,
            visit.code,
            ATTENDANCE_CODES.get(visit.code, "Not recorded yet"),
            timezone.localtime(visit.arrived_at, unit.zone).strftime("%H:%M")
            if visit.arrived_at
            else "",
            visit.booked_on,
            visit.notice_days,
        ]
        for visit in facts.visits
    ]
    return Export(
        "attendance",
        [
            "appointment_date",
            "appointment_time",
            "hospital_number",
            "course",
            "dose_number",
            "booking_status",
            "attended_or_did_not_attend_code",
            "code_meaning",
            "arrived_at",
            "booked_on",
            "notice_days",
        ],
        rows,
    )


BUILDERS = {
    ExportRecord.Kind.DOSES: dose_export,
    ExportRecord.Kind.SAFETY: safety_export,
    ExportRecord.Kind.ATTENDANCE: attendance_export,
}


def build_export(kind: str, period: Period, *, unit: Unit, today: date) -> Export:
    return BUILDERS[kind](period, unit=unit, today=today)


def record_export(*, kind: str, period: Period, rows: int, exported_by) -> ExportRecord:
    """The audit trail of who took which data out, for which period."""
    return ExportRecord.objects.create(
        kind=kind,
        period_start=period.first,
        period_end=period.last,
        rows=rows,
        exported_by=exported_by,
    )
