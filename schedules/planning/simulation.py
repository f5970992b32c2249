"""A synthetic year of the unit, replayed twice (issue 19 item 7): once booking each dose in
the first free slot of its window, once in the load-levelled one (`suggestions.level_key`),
so the unit can see what levelling buys.

An in-memory model driving the engine: no database row is read or written (the unit, its
slots, the patients and their bookings live in this module's objects), so it can never touch
real data. Every date comes from `schedules.engine.plan` with the unit's open days and
policy, exactly as the app asks it (DESIGN §2: each dose counted from the one given before).

The year, deterministic for a seed (every random draw is keyed by the seed, the patient, the
dose and the attempt, so both runs meet the same patients and the same outcomes):

- The unit is open Monday to Friday except England's bank holidays, two sessions a day;
  places per day are sized so the population's steady demand (a dose every 28 days, about
  20 open days) is the target share of them.
- 70% of the patients are already on maintenance on day 0 (their last dose up to 27 days
  before); the others are referred over the first six months and start a week later.
- The nurse books each dose the day the previous visit ends (the first when the patient is
  referred), inside the engine's window from the next day; when the window has no free
  place, the first free day after it (what a clinician's override would book).
- At each visit: 5% not given (rebooked from the next day), 3% did not attend (rebooked
  from the next day), 2% given and then held for a clinician's review for 14–42 days (the
  next dose is booked when the course resumes); the rest given.
"""

import random
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta

from schedules import engine
from schedules.planning.suggestions import level_key
from schedules.unit.calendar import _england_bank_holidays
from schedules.unit.loads import LevelLoad

NOT_GIVEN_SHARE = 0.05
DID_NOT_ATTEND_SHARE = 0.03
HELD_SHARE = 0.02
SESSIONS_PER_DAY = 2
ON_MAINTENANCE_SHARE = 0.7
REFERRAL_DAYS = 183
START_NOTICE_DAYS = 7
BAND = 0.10  # "within ±10% of target": ten percentage points either side
SHORT_NOTICE_DAYS = 7
LOOK_PAST_WINDOW_DAYS = 90


@dataclass
class _Patient:
    pid: int
    start: date
    referred: date
    given: dict[int, date] = field(default_factory=dict)
    events: list[engine.CourseEvent] = field(default_factory=list)
    booked: tuple[int, date, int, date] | None = None  # (dose, day, session, booked on)
    attempts: int = 0
    resume_on: date | None = None


@dataclass
class Figures:
    """One run's measures (the Capacity page's, issue 19 item 6)."""

    strategy: str
    open_days: int
    days_in_band: int
    notice_days: list[int]
    late_days: list[int]
    doses_given: int
    places_offered: int
    places_used: int
    past_window: int

    @property
    def in_band_share(self) -> float:
        return self.days_in_band / self.open_days if self.open_days else 0.0

    @property
    def notice_median(self) -> float:
        return statistics.median(self.notice_days) if self.notice_days else 0.0

    @property
    def short_notice_share(self) -> float:
        short = sum(1 for days in self.notice_days if days < SHORT_NOTICE_DAYS)
        return short / len(self.notice_days) if self.notice_days else 0.0

    @property
    def late_count(self) -> int:
        return sum(1 for days in self.late_days if days > 0)

    @property
    def late_share(self) -> float:
        return self.late_count / self.doses_given if self.doses_given else 0.0

    @property
    def late_mean(self) -> float:
        late = [days for days in self.late_days if days > 0]
        return statistics.mean(late) if late else 0.0

    @property
    def late_max(self) -> int:
        return max(self.late_days, default=0)

    @property
    def utilisation(self) -> float:
        return self.places_used / self.places_offered if self.places_offered else 0.0


class _Unit:
    def __init__(self, first: date, days: int, places_per_day: int, target: float):
        self.first, self.last = first, first + timedelta(days=days + LOOK_PAST_WINDOW_DAYS + 60)
        self.holidays = _england_bank_holidays(tuple(range(first.year, self.last.year + 2)))
        self.target = target
        per_session = [places_per_day // SESSIONS_PER_DAY] * SESSIONS_PER_DAY
        for index in range(places_per_day % SESSIONS_PER_DAY):
            per_session[index] += 1
        self.per_session = per_session
        self.taken: dict[date, list[int]] = {}

    def is_open(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def load(self, day: date) -> LevelLoad:
        taken = self.taken.get(day, [0] * SESSIONS_PER_DAY)
        return LevelLoad(day, sum(self.per_session), sum(taken), self.target)

    def free_session(self, day: date) -> int | None:
        taken = self.taken.setdefault(day, [0] * SESSIONS_PER_DAY)
        for session, places in enumerate(self.per_session):
            if taken[session] < places:
                return session
        return None

    def take(self, day: date, session: int) -> None:
        self.taken.setdefault(day, [0] * SESSIONS_PER_DAY)[session] += 1

    def release(self, day: date, session: int) -> None:
        self.taken[day][session] -= 1

    def choose(self, first: date, last: date, *, levelled: bool) -> tuple[date, int] | None:
        """A free place from `first` to `last`: the first free, or the levelled best."""
        candidates = []
        day = first
        while day <= last:
            if self.is_open(day):
                session = self.free_session(day)
                if session is not None:
                    if not levelled:
                        return day, session
                    candidates.append((level_key(self.load(day), (day, session)), day, session))
            day += timedelta(days=1)
        if not candidates:
            return None
        _, day, session = min(candidates)
        return day, session


def _draw(seed: int, *key) -> random.Random:
    return random.Random("-".join(str(part) for part in (seed, *key)))


def _history(start: date, today: date) -> dict[int, date]:
    """Doses given on their due days from `start` up to `today` (the population on day 0),
    each due day the engine's (DESIGN §2: loading every 14 days, then every 28)."""
    given: dict[int, date] = {}
    while True:
        following = engine.plan(start=start, today=today, given=given, count=len(given) + 1)[-1]
        if following.due >= today:
            return given
        given[following.number] = following.due


def _patients(seed: int, count: int, first: date) -> list[_Patient]:
    patients = []
    for pid in range(count):
        rng = _draw(seed, "patient", pid)
        if rng.random() < ON_MAINTENANCE_SHARE:
            # Last dose 1–27 days before day 0, after at least the three loading doses.
            last = first - timedelta(days=rng.randint(1, 27))
            start = last - timedelta(days=28 + 28 * rng.randint(0, 8))
            given = _history(start, last + timedelta(days=1))
            patient = _Patient(pid, start, first, given)
        else:
            referred = first + timedelta(days=rng.randint(0, REFERRAL_DAYS))
            patient = _Patient(pid, referred + timedelta(days=START_NOTICE_DAYS), referred)
        patients.append(patient)
    return patients


class _Run:
    """One replay of the year with one booking strategy."""

    def __init__(self, unit: _Unit, people, *, seed: int, levelled: bool, policy):
        self.unit, self.people, self.seed = unit, people, seed
        self.levelled, self.policy = levelled, policy
        self.notice: list[int] = []
        self.late: list[int] = []
        self.past_window = 0
        self.given = 0

    def plan(self, patient: _Patient, today: date, **extra):
        return engine.plan(
            start=patient.start,
            today=today,
            given=patient.given,
            events=patient.events,
            is_open=self.unit.is_open,
            policy=self.policy,
            count=len(patient.given) + 2,
            **extra,
        )

    def book(self, patient: _Patient, today: date) -> None:
        """Book the patient's next dose from the day after `today`, inside its window (the
        engine's); when the window is full, the first free day after it."""
        bookable = (engine.DoseState.DUE, engine.DoseState.OVERDUE)
        pending = next((p for p in self.plan(patient, today) if p.state in bookable), None)
        if pending is None:
            return
        earliest = max(pending.window_start, today + timedelta(days=1))
        choice = self.unit.choose(earliest, pending.window_end, levelled=self.levelled)
        if choice is None:  # a clinician books the first free day after the window
            after = max(pending.window_end + timedelta(days=1), earliest)
            last = after + timedelta(days=LOOK_PAST_WINDOW_DAYS)
            choice = self.unit.choose(after, last, levelled=False)
        if choice is None:
            return
        day, session = choice
        self.unit.take(day, session)
        patient.booked = (pending.number, day, session, today)

    def visit(self, patient: _Patient, today: date) -> None:
        """The visit's outcome, drawn the same in both runs (seed, patient, dose, attempt)."""
        number, day, session, booked_on = patient.booked
        patient.booked = None
        self.notice.append((day - booked_on).days)
        draw = _draw(self.seed, "visit", patient.pid, number, patient.attempts).random()
        if draw < DID_NOT_ATTEND_SHARE + NOT_GIVEN_SHARE:
            if draw < DID_NOT_ATTEND_SHARE:
                self.unit.release(day, session)  # nobody used the place
            patient.attempts += 1
            self.book(patient, today)
            return
        plan = self.plan(patient, today, booked={number: day})
        this = next(p for p in plan if p.number == number)
        self.late.append((day - this.due).days)
        self.past_window += day > this.window_end
        self.given += 1
        patient.given[number] = day
        patient.attempts = 0
        if draw < DID_NOT_ATTEND_SHARE + NOT_GIVEN_SHARE + HELD_SHARE:
            patient.events.append(engine.CourseEvent(engine.EventKind.HOLD, today))
            hold = _draw(self.seed, "hold", patient.pid, number).randint(14, 42)
            patient.resume_on = today + timedelta(days=hold)
            return
        self.book(patient, today)

    def day(self, today: date, first: date) -> None:
        for patient in self.people:
            if patient.referred == today != first and patient.booked is None:
                self.book(patient, today)
            if patient.resume_on == today:
                patient.events.append(engine.CourseEvent(engine.EventKind.RESUME, today))
                patient.resume_on = None
                self.book(patient, today)
        for patient in self.people:
            if patient.booked is not None and patient.booked[1] == today:
                self.visit(patient, today)


def simulate(
    *,
    patients: int,
    seed: int,
    levelled: bool,
    first: date = date(2027, 1, 4),
    days: int = 364,
    target: float = 0.85,
    places_per_day: int | None = None,
    policy: engine.Policy = engine.DEFAULT_POLICY,
) -> Figures:
    """Replay the year with one booking strategy; return its figures (module docstring)."""
    if places_per_day is None:
        # A dose every 28 days is about one visit per 20 open days per patient.
        places_per_day = max(SESSIONS_PER_DAY, round(patients / 20 / target))
    unit = _Unit(first, days, places_per_day, target)
    run = _Run(unit, _patients(seed, patients, first), seed=seed, levelled=levelled, policy=policy)
    end = first + timedelta(days=days)
    for patient in run.people:  # the population's bookings on day 0, and day 0's referrals
        if patient.referred == first:
            run.book(patient, first - timedelta(days=1))
    for today in _days(first, end):
        run.day(today, first)
    open_days = [d for d in _days(first, end) if unit.is_open(d)]
    in_band = sum(1 for d in open_days if abs(unit.load(d).scarcest - target) <= BAND + 1e-9)
    return Figures(
        strategy="levelled" if levelled else "first free",
        open_days=len(open_days),
        days_in_band=in_band,
        notice_days=run.notice,
        late_days=run.late,
        doses_given=run.given,
        places_offered=sum(unit.per_session) * len(open_days),
        places_used=sum(sum(unit.taken.get(d, [0])) for d in open_days),
        past_window=run.past_window,
    )


def _days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def table(first_free: Figures, levelled: Figures) -> list[tuple[str, str, str]]:
    """The side-by-side rows the command prints."""

    def pct(value: float) -> str:
        return f"{value * 100:.1f}%"

    rows = [
        ("Open days within ±10% of target", pct, "in_band_share"),
        ("Notice given, median days", lambda v: f"{v:g}", "notice_median"),
        ("Notice under 7 days", pct, "short_notice_share"),
        ("Doses given", str, "doses_given"),
        ("Doses given late (after due)", pct, "late_share"),
        ("  late by, mean days", lambda v: f"{v:.1f}", "late_mean"),
        ("  late by, most days", str, "late_max"),
        ("  later than the window", str, "past_window"),
        ("Utilisation (places used / offered)", pct, "utilisation"),
    ]
    return [
        (label, fmt(getattr(first_free, name)), fmt(getattr(levelled, name)))
        for label, fmt, name in rows
    ]
