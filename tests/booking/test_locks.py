"""One lock order for every write, and the safety net under it (issue 11).

The soak (`tests/booking/test_soak.py`) shows the order working under load; these tests pin it down
one write at a time, and show what a nurse sees when the database still reports a deadlock.
"""

import re
import threading
from datetime import date, timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patients.models import Consent
from schedules import locks, outlook, retry, services
from schedules.models import Booking, CourseEvent, CourseOutlook, Slot
from tests.factories import MONDAY, VIAL, at, book_url, frozen, make_course, make_patient, make_slot
from tests.support.threads import race

# Lock order (schedules.locks module docstring): a statement may lock a row of the same rank or a
# later one, never go back up the list.
RANK = {
    "patients_patient": 0,  # start_course only, before the course exists
    "schedules_treatmentcourse": 1,
    "patients_consent": 1,  # withdraw_consent only, after the courses
    "schedules_slot": 2,
    "schedules_booking": 3,
    "schedules_dose": 4,
}
LOCKING = re.compile(r"FOR (?:NO KEY )?UPDATE(?: OF (?P<of>.+?))?$")


def locks_taken(queries) -> list[tuple[str, frozenset]]:
    """(table, ids) each locking statement locked, in the order the statements ran; ids are
    empty when the statement picks its rows with a subquery."""
    locks = []
    for query in queries:
        sql = query["sql"]
        match = LOCKING.search(sql)
        if match is None:
            continue
        assert match["of"], f"a select_for_update without of=: {sql}"
        names = re.findall(r'"(\w+)"', match["of"])
        assert len(names) == 1, f"one table per locking statement: {sql}"
        table = names[0]
        if " IN (" in sql:
            assert re.search(r'ORDER BY "\w+"\."id" ASC', sql), f"not locked by id: {sql}"
        ids = re.search(rf'WHERE "{table}"\."id" (?:= (\d+)|IN \(([\d, ]+)\))', sql)
        found = (ids[1] or ids[2]).split(", ") if ids else []
        locks.append((table, frozenset(int(pk) for pk in found)))
    return locks


def out_of_order(locks) -> list[str]:
    """Locks that go back up the lock order (locking again a row already held is allowed)."""
    held, highest, wrong = set(), 0, []
    for table, ids in locks:
        rows = {(table, pk) for pk in ids}
        if rows and rows <= held:
            continue
        if RANK[table] < highest:
            wrong.append(f"{table} {sorted(ids)} after rank {highest}")
        highest = max(highest, RANK[table])
        held |= rows
    return wrong


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_every_write_locks_course_then_slots_then_bookings_then_dose_never_the_unit(
    unit, nurse, clinician
):
    """From the SQL each write sends. PostgreSQL only: SQLite has no row locks (Django leaves
    them out; IMMEDIATE transactions serialise writers), so there this test could not fail."""
    assert connection.features.has_select_for_update, "run on a database with row locks"
    with frozen(MONDAY):
        # Slots made latest-first, so their ids run against their dates.
        later = [make_slot(unit, MONDAY + timedelta(days=d)) for d in (28, 21, 14)]
        today, tomorrow = make_slot(unit, MONDAY), make_slot(unit, MONDAY + timedelta(days=1))
        patient = make_patient("H700")
        course = make_course(patient)
        other = make_course(make_patient("H701"))
        third = make_course(make_patient("H702"))
        evening = make_slot(unit, MONDAY, hour=15)
        typo = make_course(make_patient("H703"), start=MONDAY + timedelta(days=1))
        services.book_dose_number(course=typo, number=1, slot=tomorrow, booked_by=nurse)
        writes = {
            "book": lambda: services.book_dose_number(
                course=course, number=1, slot=tomorrow, booked_by=nurse
            ),
            "reschedule": lambda: services.reschedule_booking(
                booking=Booking.objects.get(status="booked", dose__course=course),
                slot=today,
                rescheduled_by=nurse,
            ),
            "book next doses": lambda: services.book_next_doses(
                course=course, choices=[(2, later[2]), (3, later[0])], booked_by=nurse
            ),
            "arrived": lambda: services.mark_arrived(
                booking=Booking.objects.get(dose__course=course, dose__number=1, status="booked"),
                marked_by=nurse,
            ),
            "undo arrived": lambda: services.undo_arrived(
                booking=Booking.objects.get(dose__course=course, dose__number=1, status="arrived"),
                undone_by=nurse,
            ),
            "arrived again": lambda: services.mark_arrived(
                booking=Booking.objects.get(dose__course=course, dose__number=1, status="booked"),
                marked_by=nurse,
            ),
            "checks": lambda: services.record_checks(
                booking=Booking.objects.get(dose__course=course, dose__number=1, status="arrived"),
                recorded_by=nurse,
                identity_confirmed=True,
                blood_sample_taken=True,
            ),
            "record given": lambda: services.record_administration(
                dose=services.dose_for(course=course, number=1),
                given_at=timezone.now(),
                recorded_by=clinician,
                **VIAL,
            ),
            "cancel": lambda: services.cancel_booking(
                booking=Booking.objects.get(dose__course=course, dose__number=3),
                reason="Patient asked",
                cancelled_by=nurse,
            ),
            "book other": lambda: services.book_dose_number(
                course=other, number=1, slot=today, booked_by=nurse
            ),
            "did not attend": lambda: services.mark_no_show(
                booking=Booking.objects.get(dose__course=other), marked_by=nurse
            ),
            "undo did not attend": lambda: services.undo_no_show(
                booking=Booking.objects.get(dose__course=other), undone_by=nurse
            ),
            "did not attend again": lambda: services.mark_no_show(
                booking=Booking.objects.get(dose__course=other), marked_by=nurse
            ),
            "book third": lambda: services.book_dose_number(
                course=third, number=1, slot=evening, booked_by=nurse
            ),
            "not given": lambda: services.record_not_given(
                booking=Booking.objects.get(dose__course=third),
                reason="unwell",
                recorded_by=nurse,
            ),
            "serious event": lambda: services.record_adverse_event(
                course=third,
                term="aseptic_meningitis",
                onset=MONDAY,
                serious=True,
                recorded_by=clinician,
            ),
            "review decision": lambda: services.record_review_decision(
                course=third, decision="stop", on=MONDAY, note="Reviewed", recorded_by=clinician
            ),
            "pause": lambda: services.pause_course(
                course=course, on=MONDAY, reason="side_effects", recorded_by=clinician
            ),
            "resume": lambda: services.resume_course(
                course=course, on=MONDAY, recorded_by=clinician
            ),
            "withdraw consent": lambda: services.withdraw_consent(
                consent=Consent.objects.filter(patient=other.patient).first(), withdrawn_on=MONDAY
            ),
            "correct start": lambda: services.correct_start_date(
                course=typo, start_date=MONDAY, reason="Wrong day", corrected_by=clinician
            ),
            "generate slots": lambda: services.generate_slots(unit=unit, weeks=2),
        }
        for name, write in writes.items():
            with CaptureQueriesContext(connection) as queries:
                write()
            locks = locks_taken(queries.captured_queries)
            assert locks, f"{name} took no lock"
            assert "schedules_unit" not in {table for table, _ in locks}, name
            assert out_of_order(locks) == [], f"{name} locked {locks}"
    assert CourseEvent.objects.filter(course=course).count() == 2


def deadlock() -> OperationalError:
    """What psycopg raises through Django when PostgreSQL picks this transaction to abort."""
    cause = type("DeadlockDetected", (Exception,), {"sqlstate": retry.DEADLOCK})()
    error = OperationalError("deadlock detected")
    error.__cause__ = cause
    return error


@pytest.fixture
def deadlocks(monkeypatch):
    """Make the next `count` slot locks fail with a deadlock (all of them by default)."""
    calls = []
    real = locks.lock_slots

    def arm(count=10**6):
        def lock_slots(*args, **kwargs):
            calls.append(1)
            if len(calls) <= count:
                raise deadlock()
            return real(*args, **kwargs)

        monkeypatch.setattr(locks, "lock_slots", lock_slots)
        monkeypatch.setattr(retry, "BACKOFF_SECONDS", 0.001)
        retry.stats.clear()
        return calls

    return arm


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_deadlock_is_retried_and_the_booking_made(unit, nurse, deadlocks, caplog):
    with frozen(MONDAY):
        course = make_course(make_patient("H710"))
        slot = make_slot(unit, MONDAY)
        deadlocks(2)
        booking = services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
    assert Booking.objects.get() == booking
    assert retry.stats["retries"] == 2
    assert retry.stats[retry.DEADLOCK] == 2
    assert "book_dose_number retried (attempt 3 of 4, 2 retries so far)" in caplog.text


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_deadlock_that_persists_says_the_diary_was_busy(unit, nurse, deadlocks):
    with frozen(MONDAY):
        course = make_course(make_patient("H720"))
        slot = make_slot(unit, MONDAY)
        calls = deadlocks()
        with pytest.raises(services.DiaryBusy, match="The unit's diary was busy, please try"):
            services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
    assert len(calls) == retry.ATTEMPTS
    assert not Booking.objects.exists()
    assert not course.doses.exists(), "nothing half-written"


@pytest.mark.django_db
def test_busy_diary_is_a_message_on_the_page_not_a_500(unit, nurse_client, deadlocks):
    with frozen(MONDAY):
        course = make_course(make_patient("H730"))
        slot = make_slot(unit, MONDAY)
        deadlocks()
        response = nurse_client.post(book_url(course), {"slot": slot.pk})
    assert response.status_code == 400  # a refusal shown on the form, as for a full slot
    assert "The unit&#x27;s diary was busy, please try again." in response.content.decode()
    assert not Booking.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_slot_generation_run_twice_at_once_makes_each_slot_once(unit):
    """The nightly command and a nurse's button at the same moment: the second run waits for
    the first (an advisory lock on PostgreSQL, not the unit row) and then has nothing to do."""
    with frozen(date(2026, 3, 1)):
        results = race([lambda: services.generate_slots(unit=unit, weeks=2)] * 2)
    assert all(isinstance(result, services.SlotReport) for result in results), results
    assert sorted(result.created for result in results) == [0, 30]
    assert Slot.objects.count() == 30
    assert at(MONDAY, 9) in set(Slot.objects.values_list("start", flat=True))


@pytest.mark.django_db
def test_booking_a_slot_removed_meanwhile_is_refused_not_a_500(unit, nurse):
    """A nurse picks a slot from the page while the slots are regenerated and it goes."""
    with frozen(MONDAY):
        course = make_course(make_patient("H740"))
        slot = make_slot(unit, MONDAY)
        form_slot = Slot.objects.get(pk=slot.pk)
        slot.delete()
        with pytest.raises(services.SlotUnavailable, match="no longer offered"):
            services.book_dose_number(course=course, number=1, slot=form_slot, booked_by=nurse)
    assert not course.doses.exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_nightly_refresh_writes_outlooks_under_the_course_lock_and_skips_a_held_course(unit):
    """The nightly pass (`refresh_next_due`) locks each course before reading its facts, and
    passes over a course a service holds (that service refreshes its outlook itself), so it
    never writes an outlook from facts the service has just changed: a second connection holds
    one course. PostgreSQL only: SQLite has no row locks (IMMEDIATE transactions serialise
    writers), so there nothing can be held and this test could not fail."""
    assert connection.features.has_select_for_update, "run on a database with row locks"
    stale = date(2000, 1, 3)
    with frozen(MONDAY):
        held = make_course(make_patient("H750"))
        free = make_course(make_patient("H751"))
        CourseOutlook.objects.update(next_due=stale)  # as if time had passed since

        holding, release = threading.Event(), threading.Event()

        def hold_course():  # a service in the middle of its transaction
            try:
                with transaction.atomic():
                    locks.lock_course(held)
                    holding.set()
                    release.wait(timeout=20)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_course)
        holder.start()
        assert holding.wait(timeout=10)
        try:
            with CaptureQueriesContext(connection) as queries:
                refreshed = outlook.refresh_all(today=MONDAY)
        finally:
            release.set()
            holder.join(timeout=20)

    outlooks = dict(CourseOutlook.objects.values_list("course_id", "next_due"))
    assert outlooks[free.pk] == MONDAY  # dose 1 due on the start day
    assert refreshed == 1
    assert outlooks[held.pk] == stale, "wrote the outlook of a course a service holds"
    sql = [query["sql"] for query in queries.captured_queries]
    locking = [index for index, text in enumerate(sql) if "FOR NO KEY UPDATE" in text]
    assert locking and all("SKIP LOCKED" in sql[index] for index in locking)
    assert {table for table, _ in locks_taken(queries.captured_queries)} == {
        "schedules_treatmentcourse"
    }
    first_write = next(i for i, text in enumerate(sql) if "schedules_courseoutlook" in text)
    assert locking[0] < first_write
