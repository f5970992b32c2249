"""The booking soak (issue 11): threads making a nurse's day of multi-row writes at once.

Shared by `tests/booking/test_soak.py` (bounded, asserted) and `docs/bench_booking.py` (timed,
printed).
`MIX` is a plain list of (name, operation): add a write by adding a line (and a weight in
`WEIGHTS` if it should run more often than once in a while). Each operation
reads what it needs without locks (as a page would), calls one service and returns a `Done` to
check at the end, or `None` when there was nothing to do. A `ServiceError` is a refusal a nurse
would read; anything else is a failure.

After the run, `check_invariants` asserts what a nurse would notice: no slot over its places,
no dose with two active bookings, no patient booked twice in a day, every write reported as done
found in the database.
"""

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock

from django.contrib.auth.models import Group, User
from django.db import OperationalError, connection
from django.db.models import Prefetch
from django.utils import timezone

from patients.models import Consent, Patient
from schedules import planning, retry, services
from schedules.models import (
    Booking,
    Closure,
    CourseEvent,
    Dose,
    SessionTemplate,
    Slot,
    TreatmentCourse,
    Unit,
    Visit,
)

PATIENTS = 24
TODAY_PATIENTS = 8  # courses whose dose 1 is booked in today's clinic, for arrived / given
WEEKS = 8


@dataclass
class World:
    """What the operations share: ids only, so every thread reads rows through its own
    connection."""

    unit_id: int
    nurse_id: int
    clinician_id: int
    course_ids: list[int]
    today_booking_ids: list[int]


@dataclass
class Done:
    """A write the service reported as done, and how to find it afterwards: one of the tuples
    `check_invariants` knows, or any callable that returns whether it is in the database."""

    name: str
    check: tuple | Callable[[], bool]


@dataclass
class Outcome:
    done: list[Done] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)
    busy: int = 0
    deadlocks: int = 0  # deadlock errors that reached the caller (a 500 for a nurse)
    failures: list[str] = field(default_factory=list)
    ops: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.ops.values())


def build_world() -> World:
    """A unit open Monday to Friday (three 2-hour slots of two places), 24 eligible patients
    with a course each, 8 of them with dose 1 booked in a one-off clinic today."""
    today = timezone.localdate()
    unit = Unit.objects.create(name="Soak unit", address="Ward 7", phone="020 7946 0000")
    for weekday in range(5):
        SessionTemplate.objects.create(
            unit=unit, weekday=weekday, start_time=clock(9), slot_minutes=120, slot_count=3
        )
    services.generate_slots(unit=unit, weeks=WEEKS)
    nurse = User.objects.create_user("soak-nurse")
    nurse.groups.add(Group.objects.get(name="Nurse"))
    clinician = User.objects.create_user("soak-clinician")
    clinician.groups.add(Group.objects.get(name="Clinician"))
    # Today's clinic as a one-off session, so arrived / did not attend / given have bookings to
    # work on whatever the time of day the soak runs.
    start = datetime.combine(today, clock(0, 30), tzinfo=unit.zone)
    clinic = Slot.objects.create(
        unit=unit, start=start, end=start + timedelta(hours=1), places=TODAY_PATIENTS
    )
    course_ids, today_booking_ids = [], []
    for index in range(PATIENTS):
        patient = Patient.objects.create(
            hospital_number=f"SOAK{index:03d}",
            given_name="Soak",
            family_name=f"Patient {index}",
            date_of_birth=date(1970, 1, 1),
            sod1_variant="p.Ala5Val (A4V)",
            sod1_confirmed_on=today - timedelta(days=400),
        )
        for kind in Consent.Kind.values:
            Consent.objects.create(
                patient=patient, kind=kind, signed_on=today - timedelta(days=300)
            )
        # Dose 1 due over the coming week, so the booking windows overlap in one diary.
        offset = 0 if index < TODAY_PATIENTS else index % 7
        course = TreatmentCourse.objects.create(
            patient=patient, start_date=today + timedelta(days=offset)
        )
        course_ids.append(course.pk)
        if index < TODAY_PATIENTS:
            dose = Dose.objects.create(course=course, number=1)
            booking = Booking.objects.create(dose=dose, slot=clinic, booked_by=nurse)
            today_booking_ids.append(booking.pk)
    return World(unit.pk, nurse.pk, clinician.pk, course_ids, today_booking_ids)


# Operations ------------------------------------------------------------------------------------


def _unit(world):
    return Unit.objects.get(pk=world.unit_id)


def _nurse(world):
    return User.objects.get(pk=world.nurse_id)


def _course(world, rng):
    return TreatmentCourse.objects.select_related("patient").get(pk=rng.choice(world.course_ids))


def _slots(unit, first, last):
    return list(Slot.objects.between(unit, first, last).filter(start__gt=timezone.now()))


def _pending(course, unit):
    course = TreatmentCourse.objects.prefetch_related(
        "events", Prefetch("doses", queryset=Dose.objects.with_active_booking())
    ).get(pk=course.pk)
    return planning.plan_for(course, unit=unit).pending


def _active_booking(world, rng):
    ids = list(
        Booking.objects.active()
        .filter(dose__course_id__in=world.course_ids)
        .values_list("pk", flat=True)
    )
    if not ids:
        return None
    return Booking.objects.select_related("dose__course", "slot__unit").get(pk=rng.choice(ids))


def op_book(world, rng):
    unit, course = _unit(world), _course(world, rng)
    pending = _pending(course, unit)
    if pending is None:
        return None
    first = max(pending.window_start, timezone.localdate())
    slots = _slots(unit, first, pending.window_end)
    if not slots:
        return None
    booking = services.book_dose_number(
        course=course, number=pending.number, slot=rng.choice(slots), booked_by=_nurse(world)
    )
    return Done("book", ("booking", booking.pk))


def op_book_next(world, rng):
    unit, course = _unit(world), _course(world, rng)
    pending = _pending(course, unit)
    if pending is None:
        return None
    first = max(pending.window_start, timezone.localdate())
    slots = _slots(unit, first, pending.window_end)
    if not slots:
        return None
    slot = rng.choice(slots)
    interval = 14 if pending.number < 3 else 28
    day = slot.local_date + timedelta(days=interval)
    later = _slots(unit, day, day + timedelta(days=7))
    choices = [(pending.number, slot)]
    if later:
        choices.append((pending.number + 1, rng.choice(later)))
    bookings = services.book_next_doses(course=course, choices=choices, booked_by=_nurse(world))
    return Done("book next doses", ("bookings", tuple(b.pk for b in bookings)))


def op_cancel(world, rng):
    booking = _active_booking(world, rng)
    if booking is None:
        return None
    services.cancel_booking(booking=booking, reason="Soak: patient asked", cancelled_by=None)
    return Done("cancel", ("status", booking.pk, Booking.Status.CANCELLED))


def op_reschedule(world, rng):
    booking = _active_booking(world, rng)
    if booking is None:
        return None
    unit = _unit(world)
    day = booking.local_date
    slots = _slots(unit, day - timedelta(days=3), day + timedelta(days=5))
    if not slots:
        return None
    new = services.reschedule_booking(
        booking=booking, slot=rng.choice(slots), rescheduled_by=_nurse(world)
    )
    return Done("reschedule", ("booking", new.pk))


def _today_booking(world, rng):
    return Booking.objects.select_related("dose__course").get(
        pk=rng.choice(world.today_booking_ids)
    )


def op_arrived(world, rng):
    booking = services.mark_arrived(booking=_today_booking(world, rng), marked_by=_nurse(world))
    return Done("arrived", ("status", booking.pk, Booking.Status.ARRIVED))


def op_no_show(world, rng):
    booking = services.mark_no_show(booking=_today_booking(world, rng), marked_by=_nurse(world))
    return Done("did not attend", ("status", booking.pk, Booking.Status.NOSHOW))


def op_undo(world, rng):
    """Undo an arrival or a 'did not attend' (a mis-click on the flow board)."""
    booking = _today_booking(world, rng)
    if booking.status == Booking.Status.ARRIVED:
        booking = services.undo_arrived(booking=booking, undone_by=_nurse(world))
    elif booking.status == Booking.Status.NOSHOW:
        booking = services.undo_no_show(booking=booking, undone_by=_nurse(world))
    else:
        return None
    return Done("undo", ("status", booking.pk, Booking.Status.BOOKED))


def op_checks(world, rng):
    booking = _today_booking(world, rng)
    services.record_checks(
        booking=booking,
        recorded_by=_nurse(world),
        identity_confirmed=True,
        blood_sample_taken=True,
        pregnancy="no" if booking.dose.course.patient.could_be_pregnant else "",
    )
    return Done("checks", ("checks", booking.pk))


def op_record_given(world, rng):
    booking = _today_booking(world, rng)
    dose = services.record_administration(
        dose=booking.dose,
        given_at=timezone.now(),
        recorded_by=User.objects.get(pk=world.clinician_id),
        operator="Dr Soak",
        vial_batch="SOAK1",
        vial_expiry=timezone.localdate() + timedelta(days=90),
    )
    return Done("record given", ("given", dose.pk))


def op_not_given(world, rng):
    booking = services.record_not_given(
        booking=_today_booking(world, rng),
        reason=Visit.NotGivenReason.UNWELL,
        recorded_by=_nurse(world),
    )
    return Done("not given", ("status", booking.pk, Booking.Status.NOT_GIVEN))


def op_review_continue(world, rng):
    course = _course(world, rng)
    services.record_review_decision(
        course=course,
        decision="continue",
        on=timezone.localdate(),
        note="Soak: reviewed, continue",
        recorded_by=User.objects.get(pk=world.clinician_id),
    )
    return Done("review decision", ("event", course.pk, CourseEvent.Kind.RESUME))


def op_pause(world, rng):
    course = _course(world, rng)
    services.pause_course(
        course=course,
        on=timezone.localdate(),
        reason=CourseEvent.Reason.PATIENT_CHOICE,
        recorded_by=User.objects.get(pk=world.clinician_id),
    )
    return Done("pause", ("event", course.pk, CourseEvent.Kind.PAUSE))


def op_resume(world, rng):
    course = _course(world, rng)
    services.resume_course(
        course=course, on=timezone.localdate(), recorded_by=User.objects.get(pk=world.clinician_id)
    )
    return Done("resume", ("event", course.pk, CourseEvent.Kind.RESUME))


def op_withdraw_consent(world, rng):
    course = _course(world, rng)
    consent = (
        Consent.objects.filter(patient=course.patient_id, withdrawn_on__isnull=True)
        .order_by("?")
        .first()
    )
    if consent is None:
        return None
    services.withdraw_consent(consent=consent, withdrawn_on=timezone.localdate())
    # The patient signs again at once, so the soak keeps booking them.
    Consent.objects.create(
        patient_id=course.patient_id, kind=consent.kind, signed_on=timezone.localdate()
    )
    return Done("withdraw consent", ("withdrawn", consent.pk))


def op_generate_slots(world, rng):
    """A closure appears or goes on a day of the next fortnight, then slots are regenerated."""
    unit = _unit(world)
    day = timezone.localdate() + timedelta(days=rng.randint(1, 14))
    closure = Closure.objects.filter(unit=unit, start_date=day).first()
    if closure is None:
        Closure.objects.create(unit=unit, start_date=day, end_date=day, reason="Soak training")
    else:
        closure.delete()
    services.generate_slots(unit=unit, weeks=3)
    return Done("generate slots", ("slots", unit.pk))


MIX = [
    ("book", op_book),
    ("book next doses", op_book_next),
    ("cancel", op_cancel),
    ("reschedule", op_reschedule),
    ("arrived", op_arrived),
    ("did not attend", op_no_show),
    ("undo", op_undo),
    ("checks", op_checks),
    ("record given", op_record_given),
    ("not given", op_not_given),
    ("pause", op_pause),
    ("resume", op_resume),
    ("withdraw consent", op_withdraw_consent),
    ("review decision", op_review_continue),
    ("generate slots", op_generate_slots),
]
# How often each runs relative to the others (1 when not listed): mostly booking, as a day is.
WEIGHTS = {"book": 6, "book next doses": 3, "cancel": 3, "reschedule": 4, "resume": 2}


# Running ---------------------------------------------------------------------------------------


def _is_deadlock(error: BaseException) -> bool:
    return retry.sqlstate(error) in retry.RETRY_SQLSTATES


def run(world: World, *, threads: int, seconds: float, seed: int = 11) -> Outcome:
    """Run the mix on `threads` threads for `seconds`; every thread uses its own connection."""
    outcome = Outcome()
    lock = threading.Lock()
    operations = dict(MIX)
    names = list(operations)
    weights = [WEIGHTS.get(name, 1) for name in names]
    deadline = time.monotonic() + seconds

    def worker(index):
        rng = random.Random(seed * 100 + index)
        try:
            while time.monotonic() < deadline:
                name = rng.choices(names, weights)[0]
                try:
                    done = operations[name](world, rng)
                except services.DiaryBusy:
                    with lock:
                        outcome.busy += 1
                except services.ServiceError as error:
                    with lock:
                        outcome.refused[type(error).__name__] += 1
                except OperationalError as error:
                    with lock:
                        if _is_deadlock(error):
                            outcome.deadlocks += 1
                        outcome.failures.append(f"{name}: {type(error).__name__}: {error}")
                except Exception as error:  # noqa: BLE001 - every other error is a failure
                    with lock:
                        outcome.failures.append(f"{name}: {type(error).__name__}: {error}")
                else:
                    if done is not None:
                        with lock:
                            outcome.done.append(done)
                with lock:
                    outcome.ops[name] += 1
        finally:
            connection.close()

    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=seconds + 120)
    outcome.seconds = time.monotonic() - started
    if any(thread.is_alive() for thread in workers):
        outcome.failures.append("a worker hung")
    return outcome


def check_invariants(world: World, outcome: Outcome) -> list[str]:
    """What a nurse would notice, as a list of problems (empty when all is well)."""
    problems = []
    for slot in Slot.objects.with_booked_count().filter(unit_id=world.unit_id):
        if slot.booked_count > slot.places:
            problems.append(f"slot {slot.pk}: {slot.booked_count} booked, {slot.places} places")
    active = list(
        Booking.objects.active()
        .filter(dose__course_id__in=world.course_ids)
        .select_related("dose__course", "slot__unit")
    )
    doses = Counter(booking.dose_id for booking in active)
    problems += [f"dose {dose} has {n} active bookings" for dose, n in doses.items() if n > 1]
    days = Counter((booking.dose.course.patient_id, booking.local_date) for booking in active)
    problems += [f"patient {p} booked {n} times on {d}" for (p, d), n in days.items() if n > 1]
    for done in outcome.done:
        kind, *args = ("callable",) if callable(done.check) else done.check
        if kind == "callable":
            found = done.check()
        elif kind == "booking":
            found = Booking.objects.filter(pk=args[0]).exists()
        elif kind == "bookings":
            found = Booking.objects.filter(pk__in=args[0]).count() == len(args[0])
        elif kind == "status":
            found = Booking.history.filter(id=args[0], status=args[1]).exists()
        elif kind == "given":
            found = Dose.objects.filter(pk=args[0], given_at__isnull=False).exists()
        elif kind == "event":
            found = CourseEvent.objects.filter(course_id=args[0], kind=args[1]).exists()
        elif kind == "withdrawn":
            found = Consent.objects.filter(pk=args[0], withdrawn_on__isnull=False).exists()
        elif kind == "checks":
            found = Visit.objects.filter(booking_id=args[0], checks_at__isnull=False).exists()
        elif kind == "slots":
            found = Slot.objects.filter(unit_id=args[0]).exists()
        else:
            raise ValueError(f"unknown check {kind!r}")
        if not found:
            problems.append(f"{done.name} reported done but not in the database: {done.check}")
    return problems
