"""How well the service runs: the quality measures of issue 21, read from the record.

Selectors only: this module reads and never writes. The page, the `quality_report` command and
the exports all ask `quality_report()` (or the row builders below), so they print the same
numbers. Dose timing comes from the engine through `schedules.planning` (a given dose's due
date is the engine's: the previous dose's actual date plus 14 or 28 days, later after a
resume), never from arithmetic of our own.

What each measure counts (a period is inclusive, in the unit's local days):

1. **Intervals** — every dose *given* in the period except a course's first (it has no
   interval), split by the engine's phase (loading, maintenance). Actual interval = days since
   the previous dose was given; planned = days from that dose to this one's due date; the
   difference is days from due (positive = late). "Within the unit's window" = given between
   the window's first and last day (unit policy: `book_early_days`, `flag_late_days`);
   "within ±7 days" = |days from due| ≤ 7 (the registry's grace, issue 21). Median and IQR use
   the inclusive quartile method (`statistics.quantiles(method="inclusive")`, as a
   spreadsheet's QUARTILE.INC).
2. **Patients with every dose on time** — patients with at least one timed dose in the period
   whose every timed dose was within the unit's window.
3. **Attendance** — every booking whose slot is in the period, coded with the NHS Data
   Dictionary "attended or did not attend" codes (`attendance_code`, which documents the
   mapping).
4. **Lumbar puncture** — attempts are doses given plus visits ended "not given: lumbar puncture
   unsuccessful"; success = given / attempts. First attempt = doses given with no earlier
   unsuccessful attempt for the same dose; after retry = given after one or more. Not given by
   reason counts every visit ended not given. Image-guided = doses given under X-ray or CT.
5. **PLPH** — PLPH events with onset in the period per dose given in the period; blood-patch
   referrals are PLPH events whose triage answers reach the "blood patch" step of the PLPH
   pathway (`plph_advice`). Whether a patch was then done is not recorded.
6. **Serious events** — events with onset in the period that need a clinician's review
   (marked serious, or a serious neurological term, US PI §5 / EU SmPC 4.4), per patient-year
   of exposure: each course from its first dose given to its stop date (or the period's end,
   or today), clipped to the period. Patients with a serious *neurological* event, as a share
   of the patients exposed in the period (the trial's ~7%).
7. **Holds** — holds for clinical review raised in the period; a hold ends at the course's
   next decision (continue, pause, stop); duration in days; open holds counted apart.
8. **Notice** — days from booking to the visit's day, for bookings in the period that were
   not cancelled.
9. **Utilisation** — bookings not cancelled (booked, arrived, given, not given, did not
   attend: each held a place on the day) over the places of the period's slots.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from schedules import engine
from schedules.models import (
    AdverseEvent,
    Booking,
    Dose,
    Unit,
    Visit,
)
from schedules.quality.facts import (  # noqa: F401 (re-exported: the page, command and tests)
    ATTENDANCE_CODES,
    ATTENDED_CODES,
    GRACE_DAYS,
    MISSED,
    NOT_CANCELLED,
    NOT_RECORDED,
    DoseRow,
    EventRow,
    Facts,
    HoldRow,
    Period,
    VisitRow,
    attendance_code,
    default_period,
    load_facts,
)

# Published reference figures (issue 21). Each is shown as a reference line where it applies.
# Sources:
# - 92% of adult nusinersen doses given on time, nine US centres (67% of patients with every
#   dose on time): multicentre US adult nusinersen adherence study, cited in issue 21.
# - 96.8–100% lumbar-puncture success with triage or image guidance: adult nusinersen
#   intrathecal delivery series, cited in issue 21.
# - 2.2% of injections with a post-lumbar-puncture headache needing treatment: as above.
# - ~7% of tofersen trial patients with a serious neurological event: 10 of 147 participants
#   on 100 mg (DESIGN §2 adverse events; US PI §5, §6).
REFERENCE_DOSES_ON_TIME = 92.0
REFERENCE_PATIENTS_ALL_ON_TIME = 67.0
REFERENCE_LP_SUCCESS = (96.8, 100.0)
REFERENCE_PLPH_TREATED = 2.2
REFERENCE_SERIOUS_NEUROLOGICAL = 6.8  # 10 / 147 = 6.8%

DAYS_PER_YEAR = 365.25
IMAGE_GUIDED = (Dose.Imaging.XRAY, Dose.Imaging.CT)
# Small results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    count: int
    total: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.count / self.total, 1) if self.total else None

    def __str__(self):
        if not self.total:
            return "—"
        return f"{self.percent:g}% ({self.count} of {self.total})"

    def as_dict(self) -> dict:
        return {"count": self.count, "total": self.total, "percent": self.percent}


@dataclass(frozen=True)
class Spread:
    count: int
    median: float | None
    q1: float | None
    q3: float | None

    @classmethod
    def of(cls, values) -> Spread:
        values = sorted(values)
        if not values:
            return cls(0, None, None, None)
        if len(values) == 1:
            return cls(1, values[0], values[0], values[0])
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(len(values), statistics.median(values), q1, q3)

    def __str__(self):
        if not self.count:
            return "—"
        return f"{self.median:g} (IQR {self.q1:g}–{self.q3:g})"

    def as_dict(self) -> dict:
        return {"count": self.count, "median": self.median, "q1": self.q1, "q3": self.q3}


# The measures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intervals:
    doses: int
    actual: Spread
    planned: Spread
    from_due: Spread
    within_window: Share
    within_grace: Share

    def as_dict(self) -> dict:
        return {
            "doses": self.doses,
            "actual_interval_days": self.actual.as_dict(),
            "planned_interval_days": self.planned.as_dict(),
            "days_from_due": self.from_due.as_dict(),
            "within_window": self.within_window.as_dict(),
            "within_7_days": self.within_grace.as_dict(),
        }


def intervals(rows: list[DoseRow]) -> Intervals:
    timed = [row for row in rows if row.timed]
    return Intervals(
        doses=len(timed),
        actual=Spread.of(row.actual_interval for row in timed),
        planned=Spread.of(row.planned_interval for row in timed),
        from_due=Spread.of(row.days_from_due for row in timed),
        within_window=Share(sum(row.within_window for row in timed), len(timed)),
        within_grace=Share(sum(row.within_grace for row in timed), len(timed)),
    )


@dataclass(frozen=True)
class LumbarPuncture:
    attempts: int
    success: Share
    first_attempt: Share
    after_retry: Share
    not_given: dict[str, int]
    image_guided: Share

    def as_dict(self) -> dict:
        return {
            "attempts": self.attempts,
            "success": self.success.as_dict(),
            "first_attempt": self.first_attempt.as_dict(),
            "after_retry": self.after_retry.as_dict(),
            "not_given_by_reason": self.not_given,
            "image_guided": self.image_guided.as_dict(),
        }


@dataclass(frozen=True)
class Summary:
    """Every measure for one period."""

    period: Period
    doses_given: int
    loading: Intervals
    maintenance: Intervals
    patients_all_on_time: Share
    attendance: dict[str, int]
    lumbar_puncture: LumbarPuncture
    plph: Share
    blood_patch_referrals: Share
    serious_events: int
    patient_years: float
    serious_per_patient_year: float | None
    serious_neurological_patients: Share
    holds_raised: int
    holds_ended: int
    holds_open: int
    hold_days: Spread
    notice_days: Spread
    notice_under_7_days: Share
    utilisation: Share

    @property
    def doses_on_time(self) -> Share:
        """Loading and maintenance together, within the unit's window."""
        return Share(
            self.loading.within_window.count + self.maintenance.within_window.count,
            self.loading.doses + self.maintenance.doses,
        )

    @property
    def attendance_rows(self) -> list[tuple[str, str, int]]:
        return [
            (code, label, self.attendance.get(code, 0)) for code, label in ATTENDANCE_CODES.items()
        ] + [("", "Not recorded yet", self.attendance.get(NOT_RECORDED, 0))]

    def as_dict(self) -> dict:
        return {
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "doses_given": self.doses_given,
            "doses_on_time": self.doses_on_time.as_dict(),
            "loading": self.loading.as_dict(),
            "maintenance": self.maintenance.as_dict(),
            "patients_all_doses_on_time": self.patients_all_on_time.as_dict(),
            "attendance": {
                (code or "not_recorded"): count for code, _, count in self.attendance_rows
            },
            "lumbar_puncture": self.lumbar_puncture.as_dict(),
            "plph_per_injection": self.plph.as_dict(),
            "blood_patch_referrals_per_injection": self.blood_patch_referrals.as_dict(),
            "serious_events": self.serious_events,
            "patient_years": self.patient_years,
            "serious_events_per_patient_year": self.serious_per_patient_year,
            "patients_with_serious_neurological_event": (
                self.serious_neurological_patients.as_dict()
            ),
            "holds": {
                "raised": self.holds_raised,
                "ended": self.holds_ended,
                "open": self.holds_open,
                "days": self.hold_days.as_dict(),
            },
            "notice_days": self.notice_days.as_dict(),
            "notice_under_7_days": self.notice_under_7_days.as_dict(),
            "utilisation": self.utilisation.as_dict(),
        }


def summarise(facts: Facts, period: Period) -> Summary:
    """The measures for `period` from facts loaded for it or for a longer period."""
    doses = [row for row in facts.doses if row.given in period]
    visits = [row for row in facts.visits if row.day in period]
    events = [row for row in facts.events if row.onset in period]
    holds = [row for row in facts.holds if row.on in period]

    by_patient = defaultdict(list)
    for row in doses:
        if row.timed:
            by_patient[row.patient_id].append(row.within_window)
    patients_on_time = Share(sum(all(v) for v in by_patient.values()), len(by_patient))

    unsuccessful = sum(
        1
        for row in visits
        if row.status == Booking.Status.NOT_GIVEN
        and row.not_given_reason == Visit.NotGivenReason.LP_UNSUCCESSFUL
    )
    not_given = Counter(
        str(Visit.NotGivenReason(row.not_given_reason).label)
        for row in visits
        if row.status == Booking.Status.NOT_GIVEN and row.not_given_reason
    )
    given = len(doses)
    lumbar = LumbarPuncture(
        attempts=given + unsuccessful,
        success=Share(given, given + unsuccessful),
        first_attempt=Share(sum(row.failed_attempts == 0 for row in doses), given),
        after_retry=Share(sum(row.failed_attempts > 0 for row in doses), given),
        not_given=dict(sorted(not_given.items())),
        image_guided=Share(sum(row.imaging in IMAGE_GUIDED for row in doses), given),
    )

    exposure_days = 0
    exposed_patients = set()
    for patient_id, first, last in facts.exposure:
        first, last = max(first, period.first), min(last, period.last)
        if first <= last:
            exposure_days += (last - first).days + 1
            exposed_patients.add(patient_id)
    patient_years = round(exposure_days / DAYS_PER_YEAR, 2)
    serious = sum(row.serious for row in events)
    neuro_patients = {row.patient_id for row in events if row.serious_neurological}

    ended = [row for row in holds if row.ended is not None]
    places = sum(places for day, places in facts.slots if day in period)
    held = sum(1 for row in visits if row.status in NOT_CANCELLED)
    standing = [row for row in visits if row.status in NOT_CANCELLED]
    plph = sum(row.term == AdverseEvent.Term.PLPH for row in events)
    return Summary(
        period=period,
        doses_given=given,
        loading=intervals([row for row in doses if row.phase == engine.Phase.LOADING]),
        maintenance=intervals([row for row in doses if row.phase == engine.Phase.MAINTENANCE]),
        patients_all_on_time=patients_on_time,
        attendance=dict(Counter(row.code for row in visits)),
        lumbar_puncture=lumbar,
        plph=Share(plph, given),
        blood_patch_referrals=Share(sum(row.blood_patch for row in events), given),
        serious_events=serious,
        patient_years=patient_years,
        serious_per_patient_year=(
            round(serious * DAYS_PER_YEAR / exposure_days, 2) if exposure_days else None
        ),
        # A late event can be recorded after a course stopped: its patient still counts.
        serious_neurological_patients=Share(
            len(neuro_patients), len(exposed_patients | neuro_patients)
        ),
        holds_raised=len(holds),
        holds_ended=len(ended),
        holds_open=len(holds) - len(ended),
        hold_days=Spread.of((row.ended - row.on).days for row in ended),
        notice_days=Spread.of(row.notice_days for row in standing),
        notice_under_7_days=Share(sum(row.notice_days < 7 for row in standing), len(standing)),
        utilisation=Share(held, places),
    )


@dataclass(frozen=True)
class QualityReport:
    period: Period
    today: date
    total: Summary
    months: list[Summary]
    unplanned_courses: int

    def as_dict(self) -> dict:
        return {
            "period": self.total.as_dict(),
            "months": [month.as_dict() for month in self.months],
            "courses_not_timed": self.unplanned_courses,
            "references": {
                "doses_on_time_percent": REFERENCE_DOSES_ON_TIME,
                "patients_all_doses_on_time_percent": REFERENCE_PATIENTS_ALL_ON_TIME,
                "lumbar_puncture_success_percent": list(REFERENCE_LP_SUCCESS),
                "plph_needing_treatment_percent": REFERENCE_PLPH_TREATED,
                "serious_neurological_patients_percent": REFERENCE_SERIOUS_NEUROLOGICAL,
            },
        }


def quality_report(period: Period, *, today: date | None = None, unit: Unit | None = None):
    """Every measure for the period and for each of its months."""
    today = today or timezone.localdate()
    unit = unit or Unit.current()
    facts = load_facts(period, unit=unit, today=today)
    return QualityReport(
        period=period,
        today=today,
        total=summarise(facts, period),
        months=[summarise(facts, month) for month in period.months()],
        unplanned_courses=facts.unplanned_courses,
    )


MAX_PERIOD_DAYS = 5 * 366


def check_period(first: date, last: date) -> Period:
    """The period a person asked for, or ValueError with one sentence saying what is wrong
    (the page and the command refuse the same things)."""
    if first > last:
        raise ValueError("The start of the period must be on or before its end.")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise ValueError("Choose a period of five years or less.")
    return Period(first, last)
