"""Courses: start, pause, resume, stop, correct the start date, consent withdrawal, the hold
for clinical review and the clinician's review decision. Builds on `schedules.booking.services`
(cancelling bookings, the confirmed preview); locks in the order of `schedules.locks`.
"""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.models import Patient
from schedules import locks, notices, outlook, planning, rules
from schedules.booking.services import bump_calendar_sequence, cancel_bookings, check_preview
from schedules.errors import CourseError, ServiceError, require_permission
from schedules.messaging import outbox
from schedules.models import Booking, CourseEvent, Dose, ReviewDecision, TreatmentCourse
from schedules.retry import retry_when_busy
from tofersen_scheduler.dates import format_day

# Course starts: the drug's first trials began in 2016; a start before 2000 is a typo. Older
# starts stay allowed (patients transfer in with doses given elsewhere). A start more than a
# year ahead is a typo too (a year typed 2062): nobody books a first dose that far out.
EARLIEST_COURSE_START = date(2000, 1, 1)
COURSE_START_AHEAD_DAYS = 365
# The permission of the course pages (`schedules.courses.views`, the review page): the
# services check it themselves, whatever the caller (issue 17 §8).
MANAGE_COURSE = "schedules.manage_course"


def _check_start_date(start_date: date) -> None:
    today = timezone.localdate()
    if start_date < EARLIEST_COURSE_START:
        raise CourseError(
            f"{format_day(start_date)} is before {EARLIEST_COURSE_START:%Y}: check the year."
        )
    if (start_date - today).days > COURSE_START_AHEAD_DAYS:
        raise CourseError(
            f"{format_day(start_date)} is more than a year ahead: check the year. A course can "
            "start at most a year from today."
        )


@retry_when_busy
@transaction.atomic
def start_course(*, patient: Patient, start_date: date, started_by) -> TreatmentCourse:
    """Start a treatment course with dose 1 due on `start_date` (day 0).

    Refused unless the SOD1 mutation is confirmed and both consents are on file and not
    withdrawn (DESIGN §2 eligibility gate; US PI §1, EU SmPC 4.1), and unless `started_by`
    may manage courses. A serious event on an earlier course with no clinician's decision
    after it holds the new course from its start (`rules.open_serious_event`): nothing is
    booked or given until a clinician records the review decision.

    Locks: the patient's courses by id, then the patient.
    """
    require_permission(started_by, MANAGE_COURSE, "start a treatment course")
    locks.lock_patient_courses(patient.pk)
    patient = locks.locking(Patient.objects.prefetch_related("consents")).get(pk=patient.pk)
    _check_start_date(start_date)
    blockers = patient.treatment_blockers(on=start_date)
    if blockers:
        raise CourseError("Cannot start treatment: " + " ".join(blockers))
    if (
        TreatmentCourse.objects.filter(patient=patient)
        .exclude(status=TreatmentCourse.Status.STOPPED)
        .exists()
    ):
        raise CourseError("This patient already has a treatment course.")
    try:
        with transaction.atomic():
            course = TreatmentCourse(patient=patient, start_date=start_date, started_by=started_by)
            course._history_user = started_by
            course.save()
    except IntegrityError:
        raise CourseError("This patient already has a treatment course.") from None
    event = rules.open_serious_event(patient.pk)
    if event is not None:
        course._history_user = started_by
        _hold(
            course,
            reason=CourseEvent.Reason.SERIOUS_EVENT,
            reason_detail=rules.serious_event_message(event),
            recorded_by=started_by,
        )
    outlook.refresh_next_due(course)
    return course


def _cancel_future_bookings(course: TreatmentCourse, reason: str, *, by) -> int:
    """Under the course lock (so the course's bookings cannot change): lock their slots, then
    the bookings, and cancel them."""
    # The same query the pause and stop previews list (planning.preview_change).
    future = list(planning.future_bookings(course).values_list("pk", "slot_id"))
    locks.lock_slots(slot_id for _, slot_id in future)
    bookings = locks.lock_bookings(pk for pk, _ in future)
    cancel_bookings(bookings, reason, by=by)
    return len(bookings)


def bookings_cancelled_by_withdrawal(patient) -> list[Booking]:
    """The future bookings a consent withdrawal would cancel (for the confirmation page)."""
    return list(
        Booking.objects.filter(status=Booking.Status.BOOKED)
        .filter(dose__course__patient=patient, slot__start__gte=timezone.now())
        .exclude(dose__course__status=TreatmentCourse.Status.STOPPED)
        .select_related("dose", "slot__unit")
        .order_by("slot__start")
    )


@retry_when_busy
@transaction.atomic
def withdraw_consent(*, consent, withdrawn_on: date, withdrawn_by=None) -> int:
    """Record a consent's withdrawal, cancel the patient's future bookings, which can no
    longer go ahead, and hold the open course for a clinician's review (DESIGN §2: no dose is
    booked or given without both consents; nothing is projected while held). Treatment resumes
    only after a new consent and a clinician's "continue" decision. Returns how many bookings
    were cancelled.

    Locks: the patient's open course(s) by id first, as `book_dose` does, so a booking being
    made at the same moment either finishes before the withdrawal or sees it and is refused;
    then the consent; then the future bookings' slots and the bookings. A withdrawal dated on
    or before a dose already given is refused: the record would say a dose was given without
    consent, so the date must be checked.
    """
    courses = locks.lock_courses(
        TreatmentCourse.objects.filter(patient_id=consent.patient_id)
        .exclude(status=TreatmentCourse.Status.STOPPED)
        .values("pk")
    )
    consent = locks.locking(type(consent).objects).get(pk=consent.pk)
    if consent.withdrawn_on is not None:
        raise ServiceError(
            f"This consent was already withdrawn on {format_day(consent.withdrawn_on)}."
        )
    if withdrawn_on < consent.signed_on:
        raise ServiceError("Consent cannot be withdrawn before it was signed.")
    if withdrawn_on > timezone.localdate():
        raise ServiceError("The date cannot be in the future.")
    given_after = (
        # Consent belongs to the patient: a dose on a stopped course counts too.
        Dose.objects.filter(course__patient_id=consent.patient_id, given_at__isnull=False)
        .order_by("-given_at")
        .first()
    )
    if given_after is not None and timezone.localdate(given_after.given_at) >= withdrawn_on:
        raise ServiceError(
            f"Dose {given_after.number} was given on {format_day(given_after.given_at)}, on or "
            "after that date: check the withdrawal date with a clinician."
        )
    consent.withdrawn_on = withdrawn_on
    consent._history_user = withdrawn_by
    consent.save(update_fields=["withdrawn_on"])
    reason = f"{consent.get_kind_display()} withdrawn"
    cancelled = 0
    for course in courses:
        cancelled_here = _cancel_future_bookings(course, reason, by=withdrawn_by)
        cancelled += cancelled_here
        if course.status != TreatmentCourse.Status.HELD:
            _hold(
                course,
                reason=CourseEvent.Reason.CONSENT_WITHDRAWN,
                reason_detail=reason,
                recorded_by=withdrawn_by,
                had_visit=cancelled_here > 0,
            )
        outlook.refresh_next_due(course)
    return cancelled


def _hold(course, *, reason: str, reason_detail: str, recorded_by, had_visit=False) -> None:
    """Put the course on hold for clinical review, dated today, in the caller's transaction
    and under its course lock. The caller refreshes the course's outlook. The patient is
    told "do not come until we call you" when they have a visit booked ahead, or had one
    (`had_visit`: cancelled by the caller just before), and their reminders are withdrawn
    (DESIGN §2; issue 18 §2)."""
    today = timezone.localdate()
    last = course.events.order_by("-on").first()
    on = max(today, last.on) if last else today
    event = CourseEvent(
        course=course,
        kind=CourseEvent.Kind.HOLD,
        on=max(on, course.start_date),
        reason=reason,
        reason_detail=reason_detail,
        recorded_by=recorded_by,
    )
    event._history_user = course._history_user = recorded_by
    event.save()
    course.status = TreatmentCourse.Status.HELD
    course.save(update_fields=["status"])
    _bump_booked(course, recorded_by)
    visit_ahead = Booking.objects.active().filter(
        dose__course=course, slot__start__gt=timezone.now()
    )
    outbox.course_on_hold(course, had_visit=had_visit or visit_ahead.exists())
    # Every hold tells the clinicians, on commit (issue 18 item 7; `schedules.notices`).
    notices.course_held(course, by=recorded_by)


def _bump_booked(course, by) -> None:
    """The course's booked visits change in the patient's feed when it is held or released
    (CANCELLED while held, `schedules.feeds.ical`): their SEQUENCE goes up."""
    for booking in Booking.objects.active().filter(dose__course=course).select_related("dose"):
        bump_calendar_sequence(booking.dose, by=by)


def _event_date(course: TreatmentCourse, on: date, kind: str) -> date:
    """The date a decision is recorded on, or a refusal.

    A course whose start is still ahead (a typo such as 2062, or a start postponed) can be
    paused or stopped today: the decision is recorded on its start date, so nothing is ever
    projected from it, and the engine's rule "no event before the start" still holds.
    """
    if on < course.start_date:
        if kind == CourseEvent.Kind.RESUME or course.start_date <= timezone.localdate():
            raise CourseError("The date cannot be before the course started.")
        on = course.start_date
    elif on > timezone.localdate():
        raise CourseError("The date cannot be in the future.")
    last = course.events.order_by("-on").first()
    if last and on < last.on:
        raise CourseError(f"The date cannot be before the last change ({format_day(last.on)}).")
    return on


def _record_decision(course, *, kind, on, reason="", reason_detail="", **fields) -> None:
    """Record a clinician's decision and the course status it leads to, in the caller's
    transaction and under its course lock."""
    if kind != CourseEvent.Kind.RESUME:
        if reason not in CourseEvent.Reason.values:
            raise CourseError(
                f"Choose a reason for {'pausing' if kind == 'pause' else 'stopping'}."
            )
        if reason == CourseEvent.Reason.OTHER and not reason_detail.strip():
            raise CourseError("Say why, since the reason is “Other”.")
    on = _event_date(course, on, kind)
    rules.check_no_dose_given_after(course, on)
    event = CourseEvent(
        course=course,
        kind=kind,
        on=on,
        reason=reason,
        reason_detail=reason_detail.strip(),
        **fields,
    )
    event._history_user = course._history_user = fields.get("recorded_by")
    event.save()
    course.status = {
        CourseEvent.Kind.PAUSE: TreatmentCourse.Status.PAUSED,
        CourseEvent.Kind.RESUME: TreatmentCourse.Status.ACTIVE,
        CourseEvent.Kind.STOP: TreatmentCourse.Status.STOPPED,
        CourseEvent.Kind.HOLD: TreatmentCourse.Status.HELD,
    }[kind]
    course.save(update_fields=["status"])


@retry_when_busy
@transaction.atomic
def pause_course(
    *,
    course,
    on: date,
    reason: str,
    reason_detail: str = "",
    recorded_by,
    previewed: str | None = None,
) -> int:
    """Pause treatment and cancel future bookings (DESIGN §2). Returns how many were cancelled.

    Reasons from the labels' warnings: side effects; respiratory or spinal changes that make
    the lumbar puncture unsafe (US PI §5; EU SmPC 4.4). `previewed`: `check_preview`.

    Locks: the course, then its future bookings' slots and the bookings.
    """
    require_permission(recorded_by, MANAGE_COURSE, "pause treatment")
    course = locks.lock_course(course)
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise CourseError(f"Only an active course can be paused; this one is {course.status}.")
    check_preview(course, planning.Decision(CourseEvent.Kind.PAUSE, on), previewed)
    _record_decision(
        course,
        kind=CourseEvent.Kind.PAUSE,
        on=on,
        reason=reason,
        reason_detail=reason_detail,
        recorded_by=recorded_by,
    )
    cancelled = _cancel_future_bookings(course, "Treatment paused", by=recorded_by)
    outbox.course_on_hold(course, had_visit=cancelled > 0)  # "do not come until we call you"
    outlook.refresh_next_due(course)
    return cancelled


@retry_when_busy
@transaction.atomic
def resume_course(
    *,
    course,
    on: date,
    restart_loading: bool = False,
    recorded_by,
    previewed: str | None = None,
) -> None:
    """Resume a paused course: the next dose is due as soon as possible (DESIGN §2). Restarting
    the loading doses is a clinician's recorded choice, never automatic. `previewed`:
    `check_preview`.

    Locks: the course."""
    require_permission(recorded_by, MANAGE_COURSE, "resume treatment")
    course = locks.lock_course(course)
    if course.status != TreatmentCourse.Status.PAUSED:
        raise CourseError("Only a paused course can be resumed.")
    rules.check_no_open_serious_event(course, error=CourseError)
    blockers = course.patient.treatment_blockers(on=on)
    if blockers:
        raise CourseError("Cannot resume treatment: " + " ".join(blockers))
    decision = planning.Decision(CourseEvent.Kind.RESUME, on, restart_loading=restart_loading)
    check_preview(course, decision, previewed)
    _record_decision(
        course,
        kind=CourseEvent.Kind.RESUME,
        on=on,
        restart_loading=restart_loading,
        recorded_by=recorded_by,
    )
    outlook.refresh_next_due(course)


@retry_when_busy
@transaction.atomic
def stop_course(
    *,
    course,
    on: date,
    reason: str,
    reason_detail: str = "",
    recorded_by,
    previewed: str | None = None,
) -> int:
    """Stop treatment: the course is closed and future bookings are cancelled (DESIGN §2).
    `previewed`: `check_preview`.

    Locks: the course, then its future bookings' slots and the bookings."""
    require_permission(recorded_by, MANAGE_COURSE, "stop treatment")
    course = locks.lock_course(course)
    if course.status == TreatmentCourse.Status.STOPPED:
        raise CourseError("This course is already stopped.")
    check_preview(course, planning.Decision(CourseEvent.Kind.STOP, on), previewed)
    _record_decision(
        course,
        kind=CourseEvent.Kind.STOP,
        on=on,
        reason=reason,
        reason_detail=reason_detail,
        recorded_by=recorded_by,
    )
    cancelled = _cancel_future_bookings(course, "Treatment stopped", by=recorded_by)
    outlook.refresh_next_due(course)
    return cancelled


@retry_when_busy
@transaction.atomic
def correct_start_date(*, course, start_date: date, reason: str, corrected_by) -> int:
    """Correct a course's start date typed wrong (a year typo: 2062 for 2026), before any dose
    is given. Returns how many future bookings were cancelled.

    Every date of the course is counted from day 0 (DESIGN §2 dosing schedule), so the bookings
    made from the wrong start are cancelled, to be rebooked from Needs booking; once a dose is
    given its date anchors the schedule and the start can no longer be corrected here. The new
    start has the same sane range as a new course (issue 8), and a pause, resume or hold dated
    before it would contradict it. The reason goes into the course's history with who did it.

    Locks: the course, then its future bookings' slots and the bookings."""
    require_permission(corrected_by, MANAGE_COURSE, "correct a course's start date")
    course = locks.lock_course(course)
    if course.status == TreatmentCourse.Status.STOPPED:
        raise CourseError("This course is stopped; its start date can no longer be corrected.")
    _check_start_date(start_date)
    if start_date == course.start_date:
        raise CourseError(f"The course already starts on {format_day(start_date)}.")
    first_given = course.doses.filter(given_at__isnull=False).order_by("number").first()
    if first_given is not None:
        raise CourseError(
            f"Dose {first_given.number} was given on "
            f"{format_day(timezone.localdate(first_given.given_at))}: the given doses anchor the "
            "schedule, so the start date can no longer be corrected. Ask the records team."
        )
    earlier = course.events.filter(on__lt=start_date).order_by("on").first()
    if earlier is not None:
        raise CourseError(
            f"The course was {earlier.get_kind_display().lower()} on {format_day(earlier.on)}, "
            f"before {format_day(start_date)}: a course cannot start after its own decisions."
        )
    cancelled = _cancel_future_bookings(course, "Course start date corrected", by=corrected_by)
    course.start_date = start_date
    course._history_user = corrected_by
    course._change_reason = reason[:100]
    course.save(update_fields=["start_date"])
    outlook.refresh_next_due(course)
    return cancelled


@retry_when_busy
@transaction.atomic
def record_review_decision(*, course, decision: str, on: date, note: str, recorded_by) -> int:
    """A clinician's review of a held course (DESIGN §2): continue (the next dose is due as
    soon as possible, never sooner than its interval), pause or stop (future bookings are
    cancelled). Continuing needs the SOD1 confirmation and both consents on file. Returns how
    many bookings were cancelled.

    "Continue" releases the hold, never a pause in force when the course was held
    (`rules.pause_in_force`, issue 17 §4): the course goes back to paused, the pause recorded
    again with its reason and the review note, and it needs its own resume, with its preview.

    Locks: the course, then its future bookings' slots and the bookings."""
    require_permission(recorded_by, MANAGE_COURSE, "record the review decision")
    course = locks.lock_course(course)
    if course.status != TreatmentCourse.Status.HELD:
        raise CourseError("This course is not on hold for review.")
    if decision not in ReviewDecision.values:
        raise CourseError("Choose continue, pause or stop.")
    if not note.strip():
        raise CourseError("Write the review note: what was decided and why.")
    if decision == ReviewDecision.CONTINUE:
        blockers = course.patient.treatment_blockers(on=on)
        if blockers:
            raise CourseError("Cannot continue treatment: " + " ".join(blockers))
    kind, reason, detail = _review_event(course, ReviewDecision(decision), note)
    _record_decision(
        course, kind=kind, on=on, reason=reason, reason_detail=detail, recorded_by=recorded_by
    )
    cancelled = 0
    if kind != CourseEvent.Kind.RESUME:
        cancelled = _cancel_future_bookings(
            course, f"Clinical review: treatment {decision}", by=recorded_by
        )
    else:
        _bump_booked(course, recorded_by)
    outlook.refresh_next_due(course)
    return cancelled


def _review_event(course, decision: ReviewDecision, note: str) -> tuple[str, str, str]:
    """The course event a review decision records: (kind, reason, detail)."""
    if decision == ReviewDecision.CONTINUE:
        pause = rules.pause_in_force(course)
        if pause is None:
            return CourseEvent.Kind.RESUME, "", note
        detail = (
            f"Clinical review: continue. The pause of {format_day(pause.on)} "
            f"({pause.get_reason_display().lower()}) stands until treatment is resumed. {note}"
        )
        return CourseEvent.Kind.PAUSE, pause.reason, detail
    kind = CourseEvent.Kind.PAUSE if decision == ReviewDecision.PAUSE else CourseEvent.Kind.STOP
    return kind, CourseEvent.Reason.REVIEW, note
