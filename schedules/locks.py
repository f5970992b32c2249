"""The lock order (issue 11). Every write that touches several rows takes its row locks in this
one order, so two writes can wait for each other but never in a circle (a deadlock):

1. the course, or courses by id (`lock_course`, `lock_courses`, `lock_course_of`,
   `lock_patient_courses`): everything that happens to one patient's schedule, one at a time
   (same-day rule, the dose chain, consent, the patient-level rules of `schedules.rules`);
2. the slot(s), by id (`lock_slots`): the capacity count of each slot; a booking locks every
   slot of its session (`lock_session_slots`), as they share the session's beds and rota,
   which stand for the resources of DESIGN §3's order (course → slots → resources);
3. the booking(s) (`lock_booking`, `lock_bookings`, `lock_booking_with_later`, which take
   steps 1–3 for one booking);
4. the dose.

Never the unit row: it is shared by every write, so locking it would queue the whole diary
behind one click, and it was the row the deadlocks of issue 11 met on. Two runs of
`generate_slots` (`schedules.unit.services`) are kept apart by a transaction-level advisory
lock (`GENERATE_SLOTS_LOCK`) instead. Every `select_for_update` names what it locks with
`of=("self",)` (a `select_related` table is read, not locked) and, except where a slot may be
deleted, takes `FOR NO KEY UPDATE`, which lets a new booking or dose reference the locked row
(its foreign key check takes `FOR KEY SHARE`). A service may lock a row it already holds again
(a nested service call); it may not go back up the list. Rows that only one service ever locks
(a patient, a consent) may come after the course.

What still meets a deadlock or a serialization failure is retried by `retry_when_busy` and
then refused with `DiaryBusy` (`schedules/retry.py`). With SQLite the IMMEDIATE transaction
mode serialises writers instead (see settings), and these locks are no-ops.

The services call these through the module (`locks.lock_slots(...)`), so a test that replaces
one (a deadlock injected in `tests/test_locks.py`) reaches every caller.
"""

from schedules.errors import SlotUnavailable
from schedules.models import Booking, Slot, TreatmentCourse

GENERATE_SLOTS_LOCK = 1100  # advisory lock class for `generate_slots`, keyed by unit id


def locking(queryset, *, no_key: bool = True):
    return queryset.select_for_update(of=("self",), no_key=no_key)


def lock_course(course: TreatmentCourse) -> TreatmentCourse:
    """Lock order step 1: the course row (not its patient), returned fresh with its patient."""
    return locking(TreatmentCourse.objects.select_related("patient")).get(pk=course.pk)


def lock_courses(ids) -> list[TreatmentCourse]:
    """Lock order step 1 for several courses: by id."""
    return list(locking(TreatmentCourse.objects.filter(pk__in=ids)).order_by("pk"))


def lock_patient_courses(patient_id: int) -> list[TreatmentCourse]:
    """Lock order step 1 for a rule about the patient (`schedules.rules`): all the patient's
    courses, stopped ones included, by id. Returns them fresh, oldest first."""
    return list(
        locking(
            TreatmentCourse.objects.select_related("patient").filter(patient_id=patient_id)
        ).order_by("pk")
    )


def lock_slots(ids, *, for_delete: bool = False) -> dict[int, Slot]:
    """Lock order step 2: the slots, by id, in one statement (PostgreSQL locks the rows in the
    order it returns them). Returns them fresh by id, with unit and template.

    A slot deleted meanwhile (slots regenerated) is refused as no longer offered."""
    ids = sorted(set(ids))
    slots = {
        slot.pk: slot
        for slot in locking(
            Slot.objects.select_related("unit", "template").filter(pk__in=ids),
            no_key=not for_delete,
        ).order_by("pk")
    }
    if len(slots) != len(ids):
        raise SlotUnavailable("That slot is no longer offered; choose another slot.")
    return slots


def session_slot_ids(ids) -> set[int]:
    """The slots `ids` and every slot of their sessions (a session template's slots on one
    local day share its beds and rota: `schedules.unit.resources`)."""
    ids = set(ids)
    found = set(ids)
    for slot in Slot.objects.select_related("unit").filter(pk__in=ids, template__isnull=False):
        found.update(
            Slot.objects.on_day(slot.unit, slot.local_date)
            .filter(template_id=slot.template_id)
            .values_list("pk", flat=True)
        )
    return found


def lock_session_slots(ids) -> dict[int, Slot]:
    """Lock order step 2 for a booking that takes a bed and an operator: the slots and every
    other slot of their sessions, by id, in one statement. The session's beds are shared by
    its overlapping slots (issue 19), so a booking in one slot must keep a booking in its
    neighbour waiting while it counts them; the resource rows (rota, register, imaging list)
    are read, never written, by a booking."""
    return lock_slots(session_slot_ids(ids))


def lock_bookings(ids) -> list[Booking]:
    """Lock order step 3 for several bookings (their course and slots already locked)."""
    return list(
        locking(Booking.objects.select_related("dose", "slot__unit").filter(pk__in=ids)).order_by(
            "pk"
        )
    )


def lock_course_of(booking: Booking) -> TreatmentCourse:
    """Lock order step 1 for a booking: its course (a booking's dose never changes)."""
    course_id = Booking.objects.values_list("dose__course_id", flat=True).get(pk=booking.pk)
    return lock_course(TreatmentCourse(pk=course_id))


def lock_booking(booking: Booking, *, also_slots=()) -> Booking:
    """Lock order steps 1–3 for one booking: its course, then its slot (and `also_slots`, by
    id), then the booking itself. Returns it fresh, with dose, course, patient, slot and unit
    loaded (not locked). A booking's dose and slot never change, so they are read first."""
    lock_course_of(booking)
    lock_slots([Booking.objects.values_list("slot_id", flat=True).get(pk=booking.pk), *also_slots])
    return locking(Booking.objects.select_related("dose__course__patient", "slot__unit")).get(
        pk=booking.pk
    )


def lock_booking_with_later(booking: Booking) -> Booking:
    """Lock order steps 1–3 for a booking whose later bookings may be cancelled: the course,
    then the slots of this booking and of the later ones by id, then the booking."""
    course = lock_course_of(booking)
    later_slots = Booking.objects.later_active(course, booking.dose.number).values_list(
        "slot_id", flat=True
    )
    return lock_booking(booking, also_slots=later_slots)
