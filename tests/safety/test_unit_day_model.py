"""A stateful model of the unit's day (issue 17 §11): Hypothesis drives the services at random
over two patients, a unit open Monday to Friday and a clock that only moves forward, and after
every step checks the clinical rules as invariants over each patient's whole record.

Rules (each a step a nurse or clinician can take; a refusal, `services.ServiceError`, is a valid
outcome, any other exception is a bug): book, reschedule, cancel, arrive, record the pre-dose
checks (random answers, "yes" to a symptom or pregnancy included), a clinician's decision on a
"yes", give at the visit (`record_administration`, valid procedure details, sometimes timed a
little before "now"), record a dose given elsewhere (with or without a reason), not given, did
not attend, undo arrived, undo did not attend, start observation, discharge, follow-up calls,
adverse events (serious or not, on any of the patient's courses), review decisions, pause,
resume, stop, start a new course, consent withdrawal and re-consent, start-date correction, and
the clock moving on (minutes, a day, a few days). Every step moves the clock one minute, so
records made by different steps never share a timestamp.

The day it starts from (Monday 2 March 2026, 07:30, before the first visit): the second patient
(who could be pregnant) had dose 1 at last Monday's visit; the first starts today with dose 1
booked for 09:00. Slots are made on open days as booking asks for them: two places, one in the
afternoon, so the two patients compete for it. Each example runs in its own transaction.

Invariants (DESIGN §2; the hazards' controls):

1. Any two given doses of a patient, across courses, are at least 14 days apart unless a
   clinician's override reason is recorded on the later one (`Dose.override_reason`).
2. No dose is given without its visit's pre-dose checks complete, on the visit's day, with
   the arrival and the checks before the time given, or a clinician's reason recorded on the
   dose (`Dose.override_reason`; a reason written into the notes is not a field to read).
3. Nothing booked-active (booked for later), given (dated inside a pause or hold), or shown
   as CONFIRMED in the patient's calendar feed while the patient's course is held or paused.
   "Held" is the patient's: a serious event recorded on any of their courses with no
   clinician's decision (resume, pause, stop) recorded after it holds their open course.
4. Every visit the patient arrived for either ended (given, not given) or is listed: today's
   on the day's board (still arrived), any other on Overdue & rebook
   (`planning.overdue(...).unrecorded`).
5. No slot holds more place-holding bookings than its places.
6. At most one active booking per dose.
7. Every clinical write (course, course event, dose, booking, visit, adverse event, follow-up
   call, consent) has a history row naming who made it (`history_user`).

Run one invariant at a time with `UNIT_DAY_INVARIANTS=3` (a comma-separated list; default all):
each invariant stops an example at the first step that breaks it, so an invariant that fails at
once would hide the others. `UNIT_DAY_EXAMPLES` (default 50) and `UNIT_DAY_STEPS` (default 40)
change the budget (a larger one searches further: use it to show an invariant fails when its
control is removed); `UNIT_DAY_TRACE=1` (with `pytest -s`) prints every step and every service
call with its outcome.
"""

import os
import sys
from datetime import date, datetime, time, timedelta
from itertools import combinations

import time_machine
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.test import TestCase
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from patients import services as patient_services
from patients.models import Consent
from schedules import planning, services
from schedules.feeds import ical
from schedules.models import (
    AdverseEvent,
    Booking,
    CourseEvent,
    Dose,
    FollowUpCall,
    SessionTemplate,
    Slot,
    TreatmentCourse,
    Unit,
    Visit,
)
from tests.factories import VIAL, make_patient

MONDAY = date(2026, 3, 2)
LAST_MONDAY = MONDAY - timedelta(days=7)
MINIMUM_INTERVAL = timedelta(days=14)
HOURS = (9, 11, 13)
PATIENTS = 2
CLINICAL_MODELS = (
    TreatmentCourse,
    CourseEvent,
    Dose,
    Booking,
    Visit,
    AdverseEvent,
    FollowUpCall,
    Consent,
)
ALL_INVARIANTS = {1, 2, 3, 4, 5, 6, 7}
INVARIANTS = {
    int(part) for part in os.environ.get("UNIT_DAY_INVARIANTS", "").split(",") if part.strip()
} or ALL_INVARIANTS

TRACE = bool(os.environ.get("UNIT_DAY_TRACE"))  # print each service call and its outcome

pick = st.integers(min_value=0, max_value=1000)
patient_index = st.integers(min_value=0, max_value=PATIENTS - 1)
TERMS = st.sampled_from(
    ["myelitis", "aseptic_meningitis", "radiculitis", "back_pain", "plph", "fatigue"]
)
REASONS = st.sampled_from(["side_effects", "spinal", "respiratory", "patient_choice"])


def having(*statuses):
    """Precondition: some booking is in one of `statuses` (a rule with nothing to act on is
    not drawn, so the steps go deeper)."""
    return precondition(lambda self: bool(self._facts()["statuses"] & set(statuses)))


some_dose_given = precondition(lambda self: self._facts()["given"])
some_course_held = precondition(
    lambda self: TreatmentCourse.Status.HELD in self._facts()["courses"]
)
some_course_paused = precondition(
    lambda self: TreatmentCourse.Status.PAUSED in self._facts()["courses"]
)


def one_of(items, index):
    """The `index`-th item, wrapping round (shrinks towards the first); None when empty."""
    items = list(items)
    return items[index % len(items)] if items else None


class UnitDay(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._steps, self._facts_at, self._facts_cache = 0, None, {}
        # One transaction per example, rolled back in `teardown`.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._clock = time_machine.travel(self._at(LAST_MONDAY, 7, 30), tick=False)
        self._traveller = self._clock.start()
        self.unit = Unit.objects.create(
            name="Neurology Day Unit", address="Ward 7", phone="020 7946 0000"
        )
        for weekday in range(5):
            SessionTemplate.objects.create(
                unit=self.unit,
                weekday=weekday,
                start_time=time(9),
                slot_minutes=120,
                slot_count=3,
                places=2,
            )
        self.nurse = self._user("nurse", "Nurse")
        self.clinician = self._user("clinician", "Clinician")
        self.patients = [
            make_patient(f"H9{n:05d}", could_be_pregnant=(n == 1)) for n in range(PATIENTS)
        ]
        # The second patient had dose 1 at last Monday's visit (their course started then);
        # the first starts today, with dose 1 booked for this morning.
        first, second = self.patients
        earlier = services.start_course(
            patient=second, start_date=LAST_MONDAY, started_by=self.clinician
        )
        visit = services.book_dose_number(
            course=earlier, number=1, slot=self._slot(LAST_MONDAY, 9), booked_by=self.nurse
        )
        self._traveller.move_to(self._at(LAST_MONDAY, 8, 50))
        services.mark_arrived(booking=visit, marked_by=self.nurse)
        services.record_checks(
            booking=visit,
            recorded_by=self.nurse,
            identity_confirmed=True,
            blood_sample_taken=True,
            pregnancy="no",
        )
        self._traveller.move_to(self._at(LAST_MONDAY, 9, 40))
        services.record_administration(
            dose=visit.dose,
            given_at=self._at(LAST_MONDAY, 9, 30),
            recorded_by=self.clinician,
            **VIAL,
        )
        self._traveller.move_to(self._at(MONDAY, 7, 30))
        course = services.start_course(patient=first, start_date=MONDAY, started_by=self.clinician)
        services.book_dose_number(
            course=course, number=1, slot=self._slot(MONDAY, 9), booked_by=self.nurse
        )
        # Setup is not a step: its writes are before this instant (invariant 7).
        self.setup_done = timezone.now()

    def teardown(self):
        self._clock.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # Helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=Unit().zone)

    @staticmethod
    def _user(username, group):
        user = User.objects.create_user(username=username, first_name=username.title())
        user.groups.add(Group.objects.get(name=group))
        return User.objects.get(pk=user.pk)  # fresh permission cache

    def _step(self):
        self._steps += 1
        if TRACE:
            print(f"step {self._steps}: {sys._getframe(1).f_code.co_name}")
        self._traveller.shift(timedelta(minutes=1))

    def _facts(self) -> dict:
        """What the preconditions ask, read once per step (the rules change it, so it is
        read again after each one)."""
        if self._facts_at != self._steps:
            self._facts_at = self._steps
            self._facts_cache = {
                "statuses": set(Booking.objects.values_list("status", flat=True).distinct()),
                "given": Dose.objects.filter(given_at__isnull=False).exists(),
                "courses": set(TreatmentCourse.objects.values_list("status", flat=True).distinct()),
            }
        return self._facts_cache

    @property
    def today(self) -> date:
        return timezone.localdate()

    def _patient(self, index):
        return self.patients[index]

    def _open_course(self, index):
        return (
            TreatmentCourse.objects.filter(patient=self._patient(index))
            .exclude(status=TreatmentCourse.Status.STOPPED)
            .first()
        )

    def _bookings(self, *statuses):
        return Booking.objects.filter(status__in=statuses).order_by("pk")

    def _slot(self, day: date, hour: int) -> Slot:
        """The slot at `hour` on `day`, or on the next weekday: slots exist only on the days
        the unit is open (Monday to Friday). Two places, one in the afternoon."""
        while day.weekday() >= 5:
            day += timedelta(days=1)
        start = self._at(day, hour)
        slot, _ = Slot.objects.get_or_create(
            unit=self.unit,
            start=start,
            # The afternoon slot has one place, so the two patients can compete for it.
            defaults={"end": start + timedelta(hours=2), "places": 1 if hour == 13 else 2},
        )
        return slot

    def _next_number(self, course) -> int:
        taken = set(
            Dose.objects.filter(course=course, given_at__isnull=False).values_list(
                "number", flat=True
            )
        ) | set(
            Booking.objects.active()
            .filter(dose__course=course)
            .values_list("dose__number", flat=True)
        )
        number = 1
        while number in taken:
            number += 1
        return number

    def _refused(self, call, **kwargs):
        try:
            result = call(**kwargs)
        except services.ServiceError as refusal:
            if TRACE:
                print(f"  {timezone.localtime():%a %d %b %H:%M} {call.__name__}: {refusal}")
            return None  # a refusal is a valid outcome
        if TRACE:
            print(f"  {timezone.localtime():%a %d %b %H:%M} {call.__name__}: done")
        return result

    # Booking -----------------------------------------------------------------------------------

    @rule(
        index=patient_index,
        delta=st.sampled_from([0, 0, 0, 0, 1, -1]),
        days=st.sampled_from([0, 0, 0, 1, 2, 8, 30]),
        hour=st.sampled_from(HOURS),
        by_clinician=st.booleans(),
        with_reason=st.booleans(),
    )
    def book(self, index, delta, days, hour, by_clinician, with_reason):
        """Book the next dose the plan says is due (or, with `delta`, the one before or after
        it) on its date or `days` later: what a nurse does from the worklists."""
        self._step()
        course = self._open_course(index)
        if course is None:
            return
        due = next(
            (p for p in planning.plan_for(course) if p.state in planning.BOOKABLE_STATES), None
        )
        number = (due.number if due else self._next_number(course)) + delta
        day = max(self.today, due.date if due else self.today) + timedelta(days=days)
        self._refused(
            services.book_dose_number,
            course=course,
            number=max(1, number),
            slot=self._slot(day, hour),
            booked_by=self.clinician if by_clinician else self.nurse,
            override_reason="Clinician's judgement" if with_reason else "",
        )

    @having(Booking.Status.BOOKED)
    @rule(which=pick, days=st.sampled_from([0, 1, -1, 3, 7]), hour=st.sampled_from(HOURS))
    def reschedule(self, which, days, hour):
        self._step()
        booking = one_of(self._bookings(Booking.Status.BOOKED), which)
        if booking is not None:
            self._refused(
                services.reschedule_booking,
                booking=booking,
                slot=self._slot(max(self.today, booking.local_date + timedelta(days=days)), hour),
                rescheduled_by=self.nurse,
            )

    @having(Booking.Status.BOOKED)
    @rule(which=pick)
    def cancel(self, which):
        self._step()
        booking = one_of(self._bookings(Booking.Status.BOOKED), which)
        if booking is not None:
            self._refused(
                services.cancel_booking,
                booking=booking,
                reason="Patient asked",
                cancelled_by=self.nurse,
            )

    # The visit ---------------------------------------------------------------------------------

    def _todays_first(self, *statuses):
        bookings = list(self._bookings(*statuses).select_related("slot__unit"))
        return sorted(bookings, key=lambda b: b.local_date != self.today)

    @having(Booking.Status.BOOKED)
    @rule(which=pick)
    def arrive(self, which):
        self._step()
        booking = one_of(self._todays_first(Booking.Status.BOOKED), which)
        if booking is not None:
            self._refused(services.mark_arrived, booking=booking, marked_by=self.nurse)

    @having(Booking.Status.ARRIVED)
    @rule(
        which=pick,
        identity=st.booleans(),
        blood=st.booleans(),
        symptom=st.sampled_from([False, False, False, True]),
        pregnancy=st.sampled_from(["", "no", "no", "yes"]),
        clotting=st.sampled_from([None, None, True, False]),
    )
    def record_checks(self, which, identity, blood, symptom, pregnancy, clotting):
        self._step()
        booking = one_of(self._bookings(Booking.Status.ARRIVED), which)
        if booking is not None:
            self._refused(
                services.record_checks,
                booking=booking,
                recorded_by=self.nurse,
                identity_confirmed=identity,
                blood_sample_taken=blood,
                pregnancy=pregnancy,
                clotting_checked=clotting,
                symptom_neck_stiffness=symptom,
            )

    @having(Booking.Status.ARRIVED)
    @rule(which=pick)
    def clinician_decides_on_a_yes(self, which):
        self._step()
        booking = one_of(self._bookings(Booking.Status.ARRIVED), which)
        if booking is not None:
            self._refused(
                services.clear_checks,
                booking=booking,
                cleared_by=self.clinician,
                note="Seen: unchanged since the last dose.",
            )

    @having(Booking.Status.ARRIVED, Booking.Status.BOOKED)
    @rule(
        which=pick,
        minutes_before=st.sampled_from([0, 0, 10, 120]),
        with_reason=st.booleans(),
        by_clinician=st.sampled_from([True, True, True, False]),
    )
    def give(self, which, minutes_before, with_reason, by_clinician):
        self._step()
        booking = one_of(self._todays_first(Booking.Status.ARRIVED, Booking.Status.BOOKED), which)
        if booking is not None:
            self._refused(
                services.record_administration,
                dose=booking.dose,
                given_at=timezone.now() - timedelta(minutes=minutes_before),
                recorded_by=self.clinician if by_clinician else self.nurse,
                override_reason="Clinician's judgement" if with_reason else "",
                **VIAL,
            )

    @rule(
        index=patient_index,
        days_ago=st.sampled_from([0, 0, 1, 3, 20]),
        with_reason=st.booleans(),
    )
    def give_elsewhere(self, index, days_ago, with_reason):
        """A dose recorded with no visit: a paper record, another hospital."""
        self._step()
        course = self._open_course(index)
        if course is None:
            return
        with transaction.atomic():  # as the page does: a refusal leaves no empty Dose row
            dose = services.dose_for(
                course=course, number=self._next_number(course), by=self.clinician
            )
            try:
                services.record_administration(
                    dose=dose,
                    given_at=timezone.now() - timedelta(days=days_ago, hours=1),
                    recorded_by=self.clinician,
                    override_reason="Given at another hospital" if with_reason else "",
                    **VIAL,
                )
            except services.ServiceError as refusal:
                if TRACE:
                    print(f"  give elsewhere, patient {index}: {refusal}")
                transaction.set_rollback(True)
            else:
                if TRACE:
                    print(f"  give elsewhere, patient {index}: done")

    @having(Booking.Status.ARRIVED, Booking.Status.BOOKED)
    @rule(
        which=pick,
        reason=st.sampled_from(["unwell", "lp_unsuccessful", "checks_failed", "declined"]),
    )
    def not_given(self, which, reason):
        self._step()
        booking = one_of(self._todays_first(Booking.Status.ARRIVED, Booking.Status.BOOKED), which)
        if booking is not None:
            self._refused(
                services.record_not_given, booking=booking, reason=reason, recorded_by=self.nurse
            )

    @having(Booking.Status.BOOKED)
    @rule(which=pick)
    def did_not_attend(self, which):
        self._step()
        booking = one_of(self._todays_first(Booking.Status.BOOKED), which)
        if booking is not None:
            self._refused(services.mark_no_show, booking=booking, marked_by=self.nurse)

    @having(Booking.Status.ARRIVED)
    @rule(which=pick)
    def undo_arrived(self, which):
        self._step()
        booking = one_of(self._bookings(Booking.Status.ARRIVED), which)
        if booking is not None:
            self._refused(services.undo_arrived, booking=booking, undone_by=self.nurse)

    @having(Booking.Status.NOSHOW)
    @rule(which=pick)
    def undo_did_not_attend(self, which):
        self._step()
        booking = one_of(self._bookings(Booking.Status.NOSHOW), which)
        if booking is not None:
            self._refused(services.undo_no_show, booking=booking, undone_by=self.nurse)

    @having(Booking.Status.FULFILLED)
    @rule(which=pick)
    def start_observation(self, which):
        self._step()
        booking = one_of(self._bookings(Booking.Status.FULFILLED), which)
        if booking is not None:
            self._refused(services.start_observation, booking=booking, recorded_by=self.nurse)

    @having(Booking.Status.FULFILLED)
    @rule(which=pick)
    def discharge(self, which):
        self._step()
        booking = one_of(self._bookings(Booking.Status.FULFILLED), which)
        if booking is not None:
            self._refused(services.record_discharge, booking=booking, recorded_by=self.nurse)

    # After the dose ------------------------------------------------------------------------------

    @some_dose_given
    @rule(which=pick, outcome=st.sampled_from(FollowUpCall.Outcome.values))
    def follow_up_call(self, which, outcome):
        self._step()
        dose = one_of(Dose.objects.filter(given_at__isnull=False).order_by("pk"), which)
        if dose is not None:
            self._refused(
                services.record_follow_up_call, dose=dose, outcome=outcome, recorded_by=self.nurse
            )

    @rule(
        index=patient_index,
        which=pick,
        term=TERMS,
        serious=st.booleans(),
        link_dose=st.booleans(),
        days_ago=st.sampled_from([0, 0, 0, 1, 3]),
    )
    def adverse_event(self, index, which, term, serious, link_dose, days_ago):
        self._step()
        course = one_of(
            TreatmentCourse.objects.filter(patient=self._patient(index)).order_by("pk"), which
        )
        if course is None:
            return
        dose = None
        if link_dose:
            dose = course.doses.filter(given_at__isnull=False).order_by("-number").first()
        self._refused(
            services.record_adverse_event,
            course=course,
            term=term,
            onset=self.today - timedelta(days=days_ago),
            serious=serious,
            recorded_by=self.nurse,
            dose=dose,
        )

    # A clinician's decisions ---------------------------------------------------------------------

    @some_course_held
    @rule(index=patient_index, decision=st.sampled_from(["continue", "continue", "pause", "stop"]))
    def review_decision(self, index, decision):
        self._step()
        course = (
            TreatmentCourse.objects.filter(
                patient=self._patient(index), status=TreatmentCourse.Status.HELD
            )
            .order_by("pk")
            .first()
        )
        if course is not None:
            self._refused(
                services.record_review_decision,
                course=course,
                decision=decision,
                on=self.today,
                note="Reviewed in clinic",
                recorded_by=self.clinician,
            )

    @rule(index=patient_index, reason=REASONS, days_ago=st.integers(min_value=0, max_value=3))
    def pause(self, index, reason, days_ago):
        self._step()
        course = self._open_course(index)
        if course is not None:
            self._refused(
                services.pause_course,
                course=course,
                on=self.today - timedelta(days=days_ago),
                reason=reason,
                recorded_by=self.clinician,
            )

    @some_course_paused
    @rule(index=patient_index, restart_loading=st.booleans())
    def resume(self, index, restart_loading):
        self._step()
        course = self._open_course(index)
        if course is not None:
            self._refused(
                services.resume_course,
                course=course,
                on=self.today,
                restart_loading=restart_loading,
                recorded_by=self.clinician,
            )

    @rule(index=patient_index)
    def stop(self, index):
        self._step()
        course = self._open_course(index)
        if course is not None:
            self._refused(
                services.stop_course,
                course=course,
                on=self.today,
                reason="patient_choice",
                recorded_by=self.clinician,
            )

    @rule(index=patient_index, days=st.sampled_from([0, 0, -1, -3, 2, 7]))
    def new_course(self, index, days):
        """A new course: the clinician stops the open one first (today), as in the issue's
        first scenario, then starts the new one."""
        self._step()
        course = self._open_course(index)
        if course is not None:
            try:
                services.stop_course(
                    course=course,
                    on=self.today,
                    reason="patient_choice",
                    recorded_by=self.clinician,
                )
            except services.ServiceError:
                return
        self._refused(
            services.start_course,
            patient=self._patient(index),
            start_date=self.today + timedelta(days=days),
            started_by=self.clinician,
        )

    @rule(index=patient_index, days=st.integers(min_value=-7, max_value=7))
    def correct_start_date(self, index, days):
        self._step()
        course = self._open_course(index)
        if course is not None:
            self._refused(
                services.correct_start_date,
                course=course,
                start_date=course.start_date + timedelta(days=days),
                reason="Typed wrong",
                corrected_by=self.clinician,
            )

    @rule(
        index=patient_index,
        kind=st.sampled_from(Consent.Kind.values),
        days_ago=st.integers(min_value=0, max_value=2),
    )
    def withdraw_consent(self, index, kind, days_ago):
        self._step()
        consent = (
            Consent.objects.filter(patient=self._patient(index), kind=kind, withdrawn_on=None)
            .order_by("-signed_on")
            .first()
        )
        if consent is not None:
            self._refused(
                services.withdraw_consent,
                consent=consent,
                withdrawn_on=self.today - timedelta(days=days_ago),
                withdrawn_by=self.clinician,
            )

    @rule(
        index=patient_index,
        kind=st.sampled_from(Consent.Kind.values),
        days_ago=st.integers(min_value=0, max_value=20),
    )
    def consent_again(self, index, kind, days_ago):
        self._step()
        self._refused(
            patient_services.record_consent,
            patient=self._patient(index),
            kind=kind,
            signed_on=self.today - timedelta(days=days_ago),
            reference="Scanned form",
            recorded_by=self.clinician,
        )

    # The clock ---------------------------------------------------------------------------------

    @rule(minutes=st.sampled_from([15, 45, 90, 180]))
    def time_passes(self, minutes):
        self._step()
        self._traveller.shift(timedelta(minutes=minutes))

    @rule(days=st.sampled_from([1, 1, 1, 2, 3, 7, 14]))
    def days_pass(self, days):
        self._step()
        self._traveller.move_to(self._at(self.today + timedelta(days=days), 7, 30))

    # Invariants --------------------------------------------------------------------------------

    def _given(self, patient):
        return list(
            Dose.objects.filter(course__patient=patient, given_at__isnull=False).order_by(
                "given_at"
            )
        )

    @invariant()
    def doses_are_14_days_apart_across_courses(self):
        if 1 not in INVARIANTS:
            return
        for patient in self.patients:
            for earlier, later in combinations(self._given(patient), 2):
                gap = timezone.localdate(later.given_at) - timezone.localdate(earlier.given_at)
                assert gap >= MINIMUM_INTERVAL or later.override_reason.strip(), (
                    f"{patient.hospital_number}: dose {later.number} of course "
                    f"{later.course_id} given {gap.days} days after dose {earlier.number} of "
                    f"course {earlier.course_id}, with no clinician's reason"
                )

    @invariant()
    def no_dose_without_todays_checks_or_a_reason(self):
        if 2 not in INVARIANTS:
            return
        for dose in Dose.objects.filter(given_at__isnull=False).select_related("given_by"):
            if dose.override_reason.strip() and dose.given_by.has_perm(
                "schedules.override_booking_window"
            ):
                continue
            booking = (
                dose.bookings.filter(status=Booking.Status.FULFILLED)
                .select_related("slot__unit")
                .first()
            )
            visit = booking.visit_or_none if booking else None
            given_on = timezone.localdate(dose.given_at)
            assert visit is not None, (
                f"Dose {dose.number} of course {dose.course_id} given with no visit and no "
                "clinician's reason"
            )
            assert visit.checks_complete, f"Dose {dose.number} given with checks not complete"
            assert timezone.localdate(visit.checks_at) == given_on == booking.local_date, (
                f"Dose {dose.number} given on {given_on}, checks on "
                f"{timezone.localdate(visit.checks_at)}, visit on {booking.local_date}"
            )
            assert visit.arrived_at <= visit.checks_at <= dose.given_at, (
                f"Dose {dose.number} given at {timezone.localtime(dose.given_at):%H:%M}, before "
                f"the arrival ({timezone.localtime(visit.arrived_at):%H:%M}) or the checks "
                f"({timezone.localtime(visit.checks_at):%H:%M})"
            )

    def _held_or_paused(self, course) -> bool:
        if course.status in (TreatmentCourse.Status.HELD, TreatmentCourse.Status.PAUSED):
            return True
        if course.status == TreatmentCourse.Status.STOPPED:
            return False
        decisions = CourseEvent.objects.filter(
            course__patient_id=course.patient_id,
            kind__in=[CourseEvent.Kind.RESUME, CourseEvent.Kind.PAUSE, CourseEvent.Kind.STOP],
        )
        for event in AdverseEvent.objects.filter(course__patient_id=course.patient_id):
            if (
                event.needs_review
                and not decisions.filter(recorded_at__gt=event.recorded_at).exists()
            ):
                return True  # a serious event nobody has decided on yet
        return False

    def _hold_periods(self, course):
        """(from, to) dates the course was paused or held (`to` None while it still is)."""
        periods, opened = [], None
        for event in course.events.order_by("on", "recorded_at", "pk"):
            if event.kind in (CourseEvent.Kind.PAUSE, CourseEvent.Kind.HOLD):
                opened = opened or event.on
            elif opened is not None:
                periods.append((opened, event.on))
                opened = None
        if opened is not None:
            periods.append((opened, None))
        return periods

    @invariant()
    def nothing_booked_given_or_confirmed_while_held_or_paused(self):
        if 3 not in INVARIANTS:
            return
        now = timezone.now()
        for patient in self.patients:
            courses = list(TreatmentCourse.objects.filter(patient=patient))
            for course in courses:
                for start, end in self._hold_periods(course):
                    for dose in course.doses.filter(given_at__isnull=False):
                        given_on = timezone.localdate(dose.given_at)
                        assert not (start < given_on and (end is None or given_on < end)), (
                            f"Dose {dose.number} of course {course.pk} given on {given_on}, "
                            f"inside a pause or hold from {start} to {end}"
                        )
            stopped_or_held = [c for c in courses if self._held_or_paused(c)]
            # A HELD course keeps its bookings, flagged for the unit (H22, DESIGN §2 "cancelled
            # or 'we will call you'"); what must not happen is the feed saying CONFIRMED, below.
            for course in (c for c in stopped_or_held if c.status != TreatmentCourse.Status.HELD):
                waiting = Booking.objects.filter(
                    dose__course=course, status=Booking.Status.BOOKED, slot__start__gt=now
                )
                assert not waiting.exists(), (
                    f"Course {course.pk} is {course.status} (or held by a serious event) with "
                    f"{waiting.count()} visit(s) still booked"
                )
            if not stopped_or_held:
                continue
            uids = {
                str(uid): course
                for course in stopped_or_held
                for uid in course.doses.values_list("uid", flat=True)
            }
            feed = ical.patient_calendar(patient, self.unit, today=self.today)
            for event in feed.walk("VEVENT"):
                course = uids.get(str(event["uid"]))
                if course is None or str(event["status"]) != "CONFIRMED":
                    continue
                assert event.decoded("dtstart") < now, (
                    f"The feed tells {patient.hospital_number} to come on "
                    f"{event.decoded('dtstart'):%a %d %b %H:%M} (CONFIRMED) while course "
                    f"{course.pk} is {course.status} or held by a serious event"
                )

    @invariant()
    def every_arrived_visit_ends_or_is_listed(self):
        if 4 not in INVARIANTS:
            return
        waiting = Visit.objects.exclude(
            booking__status__in=[Booking.Status.FULFILLED, Booking.Status.NOT_GIVEN]
        ).select_related("booking__slot__unit")
        listed = None
        for visit in waiting:
            booking = visit.booking
            if booking.status == Booking.Status.ARRIVED and booking.local_date == self.today:
                continue  # on today's board
            if listed is None:
                worklist = planning.overdue(self.unit, today=self.today)
                listed = {row.booking.pk for row in worklist.unrecorded}
            assert booking.pk in listed, (
                f"Visit of {booking} (arrived {timezone.localtime(visit.arrived_at):%a %H:%M}, "
                f"now {booking.get_status_display().lower()}) has no outcome and is on no "
                "worklist"
            )

    @invariant()
    def no_slot_over_its_places(self):
        if 5 not in INVARIANTS:
            return
        for slot in Slot.objects.with_booked_count():
            taken = Booking.objects.holding_places().filter(slot=slot).count()
            assert taken <= slot.places, f"{slot}: {taken} bookings for {slot.places} places"

    @invariant()
    def one_active_booking_per_dose(self):
        if 6 not in INVARIANTS:
            return
        for dose in Dose.objects.all():
            assert dose.bookings.active().count() <= 1, f"{dose} has several active bookings"

    @invariant()
    def every_clinical_write_names_who(self):
        if 7 not in INVARIANTS:
            return
        for model in CLINICAL_MODELS:
            anonymous = model.history.filter(
                history_date__gt=self.setup_done, history_user__isnull=True
            ).order_by("history_date")
            first = anonymous.first()
            assert first is None, (
                f"{model.__name__} {first.id} written ({first.get_history_type_display()}) "
                f"with no user in its history"
            )


UnitDay.TestCase.settings = settings(
    max_examples=int(os.environ.get("UNIT_DAY_EXAMPLES", 50)),
    stateful_step_count=int(os.environ.get("UNIT_DAY_STEPS", 40)),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class TestUnitDay(UnitDay.TestCase, TestCase):
    """The machine's TestCase first (its `settings` are Hypothesis's, not Django's helper),
    then Django's, which keeps the data migration's groups; each example runs in its own
    transaction inside it (`UnitDay.__init__` / `teardown`)."""
