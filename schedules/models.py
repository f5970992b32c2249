"""When and where: treatment courses, doses, the day-care unit, its slots and bookings.

Store facts, derive dates: these tables hold what happened and what was decided. Due dates and
projections are computed by `schedules.engine` from them and never stored.
"""

import uuid
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from patients.models import Patient
from patients.validators import (
    ADDRESS_MAX,
    validate_multiline,
    validate_single_line,
    validate_time_zone,
)
from schedules import engine
from tofersen_scheduler.dates import format_day, format_day_time


@lru_cache(maxsize=16)
def _england_bank_holidays(years: tuple[int, ...]) -> dict:
    """{date: name} for those years; worked out once per process (about 10 ms each time
    otherwise, on every page that reads the unit's open days). A plain dict, read-only."""
    return dict(holidays.country_holidays("GB", subdiv="ENG", years=list(years)))


class UnitMissing(Exception):
    """The installation has no day-care unit yet; the message says what an admin must do."""


class Unit(models.Model):
    """A hospital day-care unit and its booking policy (unit policy, not label rules)."""

    name = models.CharField(max_length=120, validators=[validate_single_line])
    address = models.TextField(
        max_length=ADDRESS_MAX,
        validators=[validate_multiline],
        help_text="Shown to patients as the appointment location.",
    )
    phone = models.CharField(
        max_length=30,
        validators=[validate_single_line],
        help_text="Shown to patients: who to call if unwell after a dose.",
    )
    time_zone = models.CharField(
        max_length=50,
        default="Europe/London",
        validators=[validate_time_zone],
        help_text="An IANA time zone, for example Europe/London.",
    )
    book_early_days = models.PositiveSmallIntegerField(
        "may book days before due",
        default=0,
        help_text=(
            "Unit policy: the labels give no tolerance window, so the default never books a dose "
            "before it is due. Earlier needs a clinician's override."
        ),
    )
    flag_late_days = models.PositiveSmallIntegerField(
        "flag when later than (days)",
        default=7,
        help_text=(
            "Unit policy: bookings this many days after due are flagged and need a clinician."
        ),
    )
    closed_on_bank_holidays = models.BooleanField(
        "closed on bank holidays", default=True, help_text="Bank holidays of England."
    )
    horizon_weeks = models.PositiveSmallIntegerField("slots generated ahead (weeks)", default=16)
    needs_booking_weeks = models.PositiveSmallIntegerField(
        "needs-booking list looks ahead (weeks)", default=6
    )
    calendar_title = models.CharField(
        "patients' calendar event title",
        max_length=80,
        default="Hospital appointment",
        help_text="Neutral on purpose: no drug or condition appears in patients' calendars.",
    )
    arrive_minutes_before = models.PositiveSmallIntegerField(
        "ask patients to arrive (minutes before)", default=15
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @classmethod
    def current(cls) -> "Unit":
        """The unit this installation serves (one per deployment for now). Reading never
        writes: an admin (or `seed_demo`) creates the unit; until then pages say so
        (`UnitMissing`, shown by `schedules.middleware.UnitMissingMiddleware`)."""
        unit = cls.objects.order_by("pk").first()
        if unit is None:
            raise UnitMissing(
                "No day-care unit is set up yet: an administrator must add one (name, address "
                "and phone) in the admin before patients can be scheduled."
            )
        return unit

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def policy(self) -> engine.Policy:
        return engine.Policy(
            book_early_days=self.book_early_days, flag_late_days=self.flag_late_days
        )

    def bank_holidays(self, years) -> dict:
        if not self.closed_on_bank_holidays:
            return {}
        return _england_bank_holidays(tuple(years))

    def calendar(self, start: date, end: date) -> "UnitCalendar":
        return UnitCalendar(self, start, end)


class UnitCalendar:
    """The unit's open days between two dates, loaded in two queries.

    A day is open when a session template runs on that weekday and the day is neither an
    England bank holiday (when the unit closes on them) nor inside a closure. One-off extra
    sessions open a day too. Passed to the engine as `is_open`.
    """

    def __init__(self, unit: Unit, start: date, end: date):
        self.unit, self.start, self.end = unit, start, end

    @cached_property
    def weekdays(self) -> set[int]:
        return set(
            self.unit.session_templates.filter(active=True).values_list("weekday", flat=True)
        )

    @cached_property
    def closures(self) -> list["Closure"]:
        return list(self.unit.closures.filter(start_date__lte=self.end, end_date__gte=self.start))

    @cached_property
    def holidays(self) -> dict:
        return self.unit.bank_holidays(range(self.start.year, self.end.year + 2))

    def closure_reason(self, day: date) -> str:
        """Why the unit is closed that day ("" when it is not closed)."""
        if day in self.holidays:
            return f"Bank holiday: {self.holidays.get(day)}"
        for closure in self.closures:
            if closure.start_date <= day <= closure.end_date:
                return f"Closed: {closure.reason}"
        return ""

    @cached_property
    def extra_session_days(self) -> set[date]:
        """Days with a one-off extra session (a slot made by hand, not from a template)."""
        starts = (
            Slot.objects.between(self.unit, self.start, self.end)
            .filter(template__isnull=True)
            .values_list("start", flat=True)
        )
        return {timezone.localtime(start, self.unit.zone).date() for start in starts}

    def is_open(self, day: date) -> bool:
        if self.closure_reason(day):
            return False
        return day.weekday() in self.weekdays or day in self.extra_session_days


class SessionTemplate(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="session_templates")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField(help_text="Local time of the first slot of the session.")
    slot_minutes = models.PositiveSmallIntegerField(
        "slot length (minutes)",
        default=120,
        help_text="Procedure (20–30 min) plus 60–90 min observation (patient leaflet).",
    )
    slot_count = models.PositiveSmallIntegerField(
        "slots in the session", default=1, help_text="Consecutive slots, one after another."
    )
    places = models.PositiveSmallIntegerField(
        "places per slot",
        default=2,
        help_text="Beds with a clinician able to do a lumbar puncture.",
    )
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["unit", "weekday", "start_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "weekday", "start_time"], name="sessiontemplate_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=15, slot_count__gte=1, places__gte=1),
                name="sessiontemplate_sane_sizes",
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M} × {self.slot_count}"


class Closure(models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="closures")
    start_date = models.DateField()
    end_date = models.DateField()
    reason = models.CharField(max_length=120, help_text="Staff shortage, training day…")

    history = HistoricalRecords()

    class Meta:
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")),
                name="closure_end_not_before_start",
                violation_error_message="A closure cannot end before it starts.",
            ),
        ]

    def __str__(self):
        if self.start_date == self.end_date:
            return f"{format_day(self.start_date)}: {self.reason}"
        return f"{format_day(self.start_date)} – {format_day(self.end_date)}: {self.reason}"


class SlotQuerySet(models.QuerySet):
    def between(self, unit: Unit, first: date, last: date):
        """The unit's slots starting on local days `first` to `last`, inclusive. Days are the
        unit's own (Europe/London), so a range across a clock change is still whole days."""
        start = datetime.combine(first, time.min, tzinfo=unit.zone)
        end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=unit.zone)
        return self.filter(unit=unit, start__gte=start, start__lt=end)

    def on_day(self, unit: Unit, day: date):
        return self.between(unit, day, day)

    def with_booked_count(self):
        return self.annotate(
            booked_count=models.Count(
                "bookings", filter=Q(bookings__status__in=Booking.PLACE_STATUSES)
            )
        )


class Slot(models.Model):
    """A day-case appointment time with a number of places (beds)."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="slots")
    template = models.ForeignKey(
        SessionTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="slots",
        help_text="Empty for a one-off extra session.",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    places = models.PositiveSmallIntegerField()

    objects = SlotQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "start"], name="slot_unique_start"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="slot_end_after_start"),
        ]

    def __str__(self):
        local = timezone.localtime(self.start, self.unit.zone if self.unit_id else None)
        return format_day_time(local)

    @property
    def local_date(self) -> date:
        return timezone.localtime(self.start, self.unit.zone).date()


class TreatmentCourse(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        # A serious event or a withdrawn consent: nothing is booked, given or projected until a
        # clinician records the review decision (DESIGN §2 adverse events).
        HELD = "held", "On hold for clinical review"
        STOPPED = "stopped", "Stopped"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    start_date = models.DateField("start date (day 0)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date"]
        permissions = [
            ("manage_course", "Can start, pause, resume and stop a treatment course"),
            ("override_booking_window", "Can book a dose outside the unit's window"),
            ("record_administration", "Can record that a dose was given"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=~Q(status="stopped"),
                name="course_one_open_per_patient",
                violation_error_message="This patient already has a treatment course.",
            ),
        ]

    def __str__(self):
        return f"Course from {format_day(self.start_date)} for {self.patient.hospital_number}"

    def get_absolute_url(self):
        return reverse("patients:detail", args=[self.patient_id])

    @property
    def is_held(self) -> bool:
        return self.status == self.Status.HELD

    @property
    def open_hold(self) -> "CourseEvent | None":
        """The HOLD event that put the course on hold, while it is held."""
        if not self.is_held:
            return None
        holds = [event for event in self.events.all() if event.kind == CourseEvent.Kind.HOLD]
        return holds[-1] if holds else None

    def engine_events(self) -> list[engine.CourseEvent]:
        return [
            engine.CourseEvent(
                kind=engine.EventKind(event.kind),
                on=event.on,
                restart_loading=event.restart_loading,
            )
            for event in self.events.all()
        ]

    def facts(self, *, before: int | None = None) -> tuple[dict[int, date], dict[int, date]]:
        """The dates doses were given and are booked for, from prefetched doses
        (`Dose.objects.with_active_booking()`).

        With `before`, only the doses ahead of that number: a dose's window depends only on the
        doses before it, so moving dose n is judged without the later bookings it may invalidate.
        """
        given, booked = {}, {}
        for dose in self.doses.all():
            if before is not None and dose.number >= before:
                continue
            if dose.given_at:
                given[dose.number] = timezone.localdate(dose.given_at)
            else:
                active = dose.active_booking
                if active is not None:
                    booked[dose.number] = active.local_date
        return given, booked

    def plan(
        self,
        *,
        today: date | None = None,
        is_open=None,
        policy=None,
        before: int | None = None,
        extra_booked: dict[int, date] | None = None,
        **limits,
    ) -> list[engine.PlannedDose]:
        """The engine's plan for this course, from prefetched doses and events.
        `extra_booked` adds hypothetical bookings, for chained suggestions."""
        given, booked = self.facts(before=before)
        booked.update(extra_booked or {})
        return engine.plan(
            start=self.start_date,
            today=today or timezone.localdate(),
            given=given,
            booked=booked,
            events=self.engine_events(),
            is_open=is_open,
            policy=policy or engine.Policy(),
            **limits,
        )


class CourseEvent(models.Model):
    """A decision about a course: pause, resume (maybe restarting loading), stop; or a hold for
    clinical review (a serious adverse event, a withdrawn consent) until a clinician decides."""

    class Kind(models.TextChoices):
        PAUSE = "pause", "Paused"
        RESUME = "resume", "Resumed"
        STOP = "stop", "Stopped"
        HOLD = "hold", "Held for clinical review"

    class Reason(models.TextChoices):
        SIDE_EFFECTS = "side_effects", "Side effects"
        RESPIRATORY = "respiratory", "Respiratory change"
        SPINAL = "spinal", "Spinal change making lumbar puncture unsafe"
        PATIENT_CHOICE = "patient_choice", "Patient choice"
        SERIOUS_EVENT = "serious_event", "Serious adverse event"
        CONSENT_WITHDRAWN = "consent_withdrawn", "Consent withdrawn"
        REVIEW = "review", "Clinical review decision"
        OTHER = "other", "Other"

    course = models.ForeignKey(TreatmentCourse, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    on = models.DateField("date")
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    reason_detail = models.TextField("details", blank=True)
    restart_loading = models.BooleanField(
        "restart loading doses",
        default=False,
        help_text="Give three loading doses 14 days apart again (a clinician's choice).",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["on", "recorded_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="pause") | ~Q(reason=""),
                name="courseevent_pause_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(reason_detail=""),
                name="courseevent_other_reason_explained",
            ),
            models.CheckConstraint(
                condition=Q(kind="resume") | Q(restart_loading=False),
                name="courseevent_restart_only_on_resume",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {format_day(self.on)}"


class DoseQuerySet(models.QuerySet):
    def for_planning(self):
        """Only what a plan and a worklist row read of each dose (its number, when given, its
        calendar sequence), with its active booking: building every dose's full procedure
        record was most of a worklist's time at 5,000 patients (issue 8)."""
        return self.only(
            "id", "course_id", "number", "given_at", "uid", "calendar_sequence"
        ).with_active_booking()

    def with_active_booking(self):
        return self.prefetch_related(
            models.Prefetch(
                "bookings",
                queryset=Booking.objects.active().select_related("slot__unit"),
                to_attr="active_bookings",
            )
        )


class Dose(models.Model):
    """One dose of the course, created when something happens to it (booked, given)."""

    class Imaging(models.TextChoices):
        NONE = "none", "None"
        XRAY = "xray", "X-ray (fluoroscopy)"
        CT = "ct", "CT"

    course = models.ForeignKey(TreatmentCourse, on_delete=models.CASCADE, related_name="doses")
    number = models.PositiveSmallIntegerField()
    uid = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, help_text="Stable calendar UID."
    )
    calendar_sequence = models.PositiveIntegerField(
        default=0, help_text="iCalendar SEQUENCE: goes up when the appointment changes."
    )
    given_at = models.DateTimeField("given at", null=True, blank=True)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    operator = models.CharField("lumbar puncture by", max_length=120, blank=True)
    needle = models.CharField(max_length=80, blank=True, help_text="Type and gauge.")
    imaging = models.CharField(
        max_length=10, choices=Imaging.choices, default=Imaging.NONE, blank=True
    )
    csf_removed_ml = models.DecimalField(
        "CSF removed (mL)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        # DESIGN §2: about 10 mL is removed; more than 30 mL is a typing error.
        validators=[MinValueValidator(0), MaxValueValidator(30)],
    )
    vial_batch = models.CharField("vial batch", max_length=40, blank=True)
    vial_expiry = models.DateField("vial expiry", null=True, blank=True)
    volume_injected_ml = models.DecimalField(
        "volume injected (mL)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="15 mL (100 mg) as a bolus over 1–3 minutes.",
    )
    override_reason = models.TextField(
        "reason for giving early",
        blank=True,
        help_text="A clinician's reason for giving the dose before its window opened.",
    )
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DoseQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["course", "number"]
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="dose_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="dose_number_positive"),
        ]

    def __str__(self):
        return f"Dose {self.number}"

    @property
    def active_booking(self):
        """The booked/arrived booking, from `with_active_booking()` when prefetched."""
        if hasattr(self, "active_bookings"):
            return self.active_bookings[0] if self.active_bookings else None
        return self.bookings.active().select_related("slot__unit").first()


class BookingQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=Booking.ACTIVE_STATUSES)

    def holding_places(self):
        """The bookings that take one of their slot's places (`Booking.PLACE_STATUSES`)."""
        return self.filter(status__in=Booking.PLACE_STATUSES)


class Booking(models.Model):
    """A dose in a slot. States follow HL7 FHIR Appointment.status."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        ARRIVED = "arrived", "Arrived"
        FULFILLED = "fulfilled", "Given"
        CANCELLED = "cancelled", "Cancelled"
        NOSHOW = "noshow", "Did not attend"
        # The patient came but the dose was not given: the booking is closed, anchors nothing,
        # and the dose stays due (DESIGN §2). Shown as cancelled in the patient's feed.
        NOT_GIVEN = "not_given", "Not given"

    ACTIVE_STATUSES = (Status.BOOKED, Status.ARRIVED)
    # Who holds one of a slot's places (a chair, a nurse): a patient booked, in the unit, or
    # given the dose and in observation until discharged. One rule for the booking check, the
    # worklists' free places, the calendars and the flow board: a patient who arrives early can
    # be given the dose before the slot's start, while the slot can still be booked.
    PLACE_STATUSES = (Status.BOOKED, Status.ARRIVED, Status.FULFILLED)

    dose = models.ForeignKey(Dose, on_delete=models.PROTECT, related_name="bookings")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(auto_now_add=True)
    override_reason = models.TextField(
        blank=True, help_text="Why a clinician booked outside the unit's window."
    )
    cancel_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BookingQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["slot__start"]
        constraints = [
            models.UniqueConstraint(
                fields=["dose"],
                condition=Q(status__in=["booked", "arrived"]),
                name="booking_one_active_per_dose",
                violation_error_message="This dose is already booked.",
            ),
        ]

    def __str__(self):
        return f"{self.dose} in {self.slot} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def local_date(self) -> date:
        return self.slot.local_date

    @property
    def visit_or_none(self) -> "Visit | None":
        try:
            return self.visit
        except Visit.DoesNotExist:
            return None

    @property
    def stage(self) -> "Visit.Stage":
        """Where the visit is in its life (DESIGN §2 "Each visit"), for the day list and the
        flow board: booked → arrived → checks done → given | not given → observation →
        discharged; or did not attend, or cancelled."""
        status, visit = self.status, self.visit_or_none
        if status == self.Status.CANCELLED:
            return Visit.Stage.CANCELLED
        if status == self.Status.NOSHOW:
            return Visit.Stage.NOSHOW
        if status == self.Status.NOT_GIVEN:
            return Visit.Stage.NOT_GIVEN
        if status == self.Status.BOOKED:
            return Visit.Stage.BOOKED
        if status == self.Status.FULFILLED:
            if visit is None:
                return Visit.Stage.GIVEN
            if visit.discharged_at:
                return Visit.Stage.DISCHARGED
            if visit.observation_start:
                return Visit.Stage.OBSERVATION
            return Visit.Stage.GIVEN
        if visit is not None and visit.checks_complete:
            return Visit.Stage.CHECKS_DONE
        return Visit.Stage.ARRIVED

    @property
    def next_action(self) -> tuple[str, str] | None:
        """(label, URL name) of the nurse's next step, or None when the visit is over. The
        URL names take the booking id."""
        return Visit.NEXT_ACTIONS.get(self.stage)

    # How long "Arrived" and "Did not attend" can be taken back (a mis-click on the flow
    # board). Short on purpose: after it, what happened is corrected by recording it (not
    # given, reschedule), which keeps the record of the mistake.
    UNDO_MINUTES = 10
    UNDO_WINDOW = timedelta(minutes=UNDO_MINUTES)

    @property
    def undo_deadline(self) -> datetime | None:
        """Until when the last step (arrived, did not attend) can be undone, or None when
        there is nothing to undo: an arrival with checks or an outcome recorded after it is
        no longer a mis-click. `services.undo_arrived` / `undo_no_show` decide; this is what
        the board offers."""
        if self.status == self.Status.NOSHOW:
            return self.updated_at + self.UNDO_WINDOW
        visit = self.visit_or_none
        if self.status == self.Status.ARRIVED and visit is not None and not visit.has_record:
            return visit.arrived_at + self.UNDO_WINDOW
        return None


class Visit(models.Model):
    """What happened at the bedside for one booking: pre-dose checks, outcome, observation and
    discharge (DESIGN §2 "Each visit"; patient leaflet). Created when the patient arrives."""

    class Stage(models.TextChoices):
        BOOKED = "booked", "Booked"
        ARRIVED = "arrived", "Arrived"
        CHECKS_DONE = "checks_done", "Checks done"
        GIVEN = "given", "Given"
        NOT_GIVEN = "not_given", "Not given"
        OBSERVATION = "observation", "In observation"
        DISCHARGED = "discharged", "Discharged"
        NOSHOW = "noshow", "Did not attend"
        CANCELLED = "cancelled", "Cancelled"

    NEXT_ACTIONS = {
        Stage.BOOKED: ("Arrived", "schedules:arrived"),
        Stage.ARRIVED: ("Pre-dose checks", "schedules:visit_checks"),
        Stage.CHECKS_DONE: ("Record dose given", "schedules:visit_give"),
        Stage.GIVEN: ("Start observation", "schedules:visit_observe"),
        Stage.OBSERVATION: ("Discharge", "schedules:visit_discharge"),
    }

    class NotGivenReason(models.TextChoices):
        LP_UNSUCCESSFUL = "lp_unsuccessful", "Lumbar puncture unsuccessful"
        UNWELL = "unwell", "Patient unwell"
        CHECKS_FAILED = "checks_failed", "Pre-dose checks failed"
        DECLINED = "declined", "Patient declined"
        NO_DRUG = "no_drug", "Drug not available"
        OTHER = "other", "Other"

    class Pregnancy(models.TextChoices):
        NOT_APPLICABLE = "", "Not applicable"
        NO = "no", "Not pregnant or breastfeeding"
        YES = "yes", "Pregnant or breastfeeding"

    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="visit")
    arrived_at = models.DateTimeField()
    # Pre-dose checks (DESIGN §2, patient leaflet "Before").
    identity_confirmed = models.BooleanField(default=False)
    consents_on_file = models.BooleanField(
        default=False, help_text="Read from the consent records when the checks were saved."
    )
    symptom_headache = models.BooleanField("severe headache", default=False)
    symptom_neck_stiffness = models.BooleanField("neck stiffness", default=False)
    symptom_vision = models.BooleanField("change in vision", default=False)
    symptom_numbness_weakness = models.BooleanField("new numbness or weakness", default=False)
    pregnancy = models.CharField(
        "pregnancy or breastfeeding", max_length=3, choices=Pregnancy.choices, blank=True
    )
    blood_sample_taken = models.BooleanField(default=False)
    clotting_checked = models.BooleanField(
        "clotting and platelets checked",
        null=True,
        blank=True,
        help_text="Only when the clinician asked for it; empty when not requested.",
    )
    checks_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checks_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cleared_note = models.TextField(
        "clinician's decision", blank=True, help_text="Why the dose may go ahead despite a 'yes'."
    )
    # Outcome.
    not_given_reason = models.CharField(max_length=20, choices=NotGivenReason.choices, blank=True)
    not_given_detail = models.TextField(blank=True)
    observation_start = models.DateTimeField(null=True, blank=True)
    observation_end = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(not_given_reason="other") | ~Q(not_given_detail=""),
                name="visit_other_reason_explained",
            ),
        ]

    def __str__(self):
        return f"Visit for {self.booking}"

    SYMPTOM_FIELDS = (
        "symptom_headache",
        "symptom_neck_stiffness",
        "symptom_vision",
        "symptom_numbness_weakness",
    )

    @property
    def symptoms(self) -> list[str]:
        return [
            str(self._meta.get_field(name).verbose_name)
            for name in self.SYMPTOM_FIELDS
            if getattr(self, name)
        ]

    @property
    def needs_clinician(self) -> bool:
        """A 'yes' to a new symptom or to pregnancy stops the checks until a clinician
        decides (DESIGN §2)."""
        return bool(self.symptoms or self.pregnancy == self.Pregnancy.YES) and not self.cleared_by

    @property
    def has_record(self) -> bool:
        """Anything recorded after the arrival itself (checks, a decision, an outcome)."""
        return bool(
            self.checks_at
            or self.cleared_by_id
            or self.not_given_reason
            or self.observation_start
            or self.discharged_at
        )

    # The patient leaflet's observation after the dose: 60–90 minutes (DESIGN §2 "After").
    MIN_OBSERVATION = timedelta(minutes=60)

    @property
    def minimum_observation_end(self) -> datetime | None:
        """When the 60-minute minimum ends, counted from the start of observation (never
        earlier than 60 minutes after the dose, since observation starts after it)."""
        if self.observation_start is None:
            return None
        return self.observation_start + self.MIN_OBSERVATION

    def minutes_observed(self, now: datetime) -> int | None:
        if self.observation_start is None:
            return None
        return max(int((now - self.observation_start).total_seconds() // 60), 0)

    @property
    def checks_complete(self) -> bool:
        return bool(
            self.checks_at
            and self.identity_confirmed
            and self.consents_on_file
            and self.blood_sample_taken
            and self.clotting_checked is not False
            and not self.needs_clinician
        )


class AdverseEvent(models.Model):
    """An adverse event recorded against the patient's course, and the dose it followed when it
    did (DESIGN §2 adverse events; US PI §5, §6; EU SmPC 4.4, 4.8)."""

    class Term(models.TextChoices):
        PLPH = "plph", "Post-lumbar-puncture headache"
        BACK_PAIN = "back_pain", "Back pain"
        PROCEDURAL_PAIN = "procedural_pain", "Procedural pain"
        PAIN_IN_EXTREMITY = "pain_extremity", "Pain in extremity"
        FATIGUE = "fatigue", "Fatigue"
        MYALGIA = "myalgia", "Myalgia"
        ARTHRALGIA = "arthralgia", "Arthralgia"
        PYREXIA = "pyrexia", "Pyrexia"
        CSF_RAISED = "csf_raised", "Raised CSF white cells or protein"
        MYELITIS = "myelitis", "Myelitis"
        RADICULITIS = "radiculitis", "Radiculitis"
        ASEPTIC_MENINGITIS = "aseptic_meningitis", "Aseptic meningitis"
        PAPILLOEDEMA = "papilloedema", "Papilloedema / raised intracranial pressure"
        OTHER = "other", "Other"

    # Label warnings (US PI §5.1–5.4; EU SmPC 4.4): each needs a clinician's review.
    SERIOUS_NEUROLOGICAL = frozenset(
        {Term.MYELITIS, Term.RADICULITIS, Term.ASEPTIC_MENINGITIS, Term.PAPILLOEDEMA}
    )

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"

    class Relation(models.TextChoices):
        UNKNOWN = "", "Not assessed"
        UNRELATED = "unrelated", "Not related"
        PROCEDURE = "procedure", "Related to the lumbar puncture"
        DRUG = "drug", "Related to the drug"

    class Outcome(models.TextChoices):
        ONGOING = "ongoing", "Ongoing"
        RESOLVED = "resolved", "Resolved"
        RESOLVED_SEQUELAE = "sequelae", "Resolved with after-effects"

    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.PROTECT, related_name="adverse_events"
    )
    dose = models.ForeignKey(
        Dose, on_delete=models.PROTECT, null=True, blank=True, related_name="adverse_events"
    )
    term = models.CharField(max_length=20, choices=Term.choices)
    term_detail = models.CharField("description", max_length=200, blank=True)
    onset = models.DateField()
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    serious = models.BooleanField(default=False)
    relation = models.CharField(
        "relation to treatment", max_length=10, choices=Relation.choices, blank=True
    )
    action_taken = models.TextField(blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.ONGOING)
    resolved_on = models.DateField("date resolved", null=True, blank=True)
    # PLPH triage (DESIGN §2 PLPH pathway): the answers and the advice given.
    triage = models.JSONField(default=dict, blank=True)
    advice = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-onset", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(term="other") | ~Q(term_detail=""),
                name="adverseevent_other_term_described",
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=F("onset")),
                name="adverseevent_resolved_after_onset",
            ),
        ]

    def __str__(self):
        return f"{self.get_term_display()} from {format_day(self.onset)}"

    @property
    def needs_review(self) -> bool:
        return self.serious or self.term in self.SERIOUS_NEUROLOGICAL

    @property
    def label(self) -> str:
        if self.term == self.Term.OTHER:
            return self.term_detail
        return self.get_term_display()


class FollowUpCall(models.Model):
    """A nurse's call to a patient one or two days after a dose (DESIGN §2 safety net)."""

    class Outcome(models.TextChoices):
        NO_PROBLEMS = "no_problems", "No problems"
        HEADACHE = "headache", "Headache: PLPH triage"
        OTHER_EVENT = "other_event", "Other event recorded"
        NO_ANSWER = "no_answer", "No answer, try again"

    dose = models.ForeignKey(Dose, on_delete=models.PROTECT, related_name="follow_up_calls")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    note = models.TextField(blank=True)
    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    called_at = models.DateTimeField()
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["called_at", "pk"]

    def __str__(self):
        return f"{self.get_outcome_display()} ({format_day_time(self.called_at)})"


class CourseOutlook(models.Model):
    """What the worklists filter on, kept beside a course's facts (issue 8).

    Derived, never a fact: `schedules.outlook.refresh_next_due` rewrites the row from the
    engine's plan at the end of every service that changes the course, and the nightly
    `refresh_next_due` command rewrites every row for the passage of time. Not audited (it
    holds nothing anyone decided), so its rewrites leave no history noise.
    """

    course = models.OneToOneField(
        TreatmentCourse, on_delete=models.CASCADE, primary_key=True, related_name="outlook"
    )
    next_due = models.DateField(
        "next dose to book is due",
        null=True,
        blank=True,
        db_index=True,
        help_text="Due date of the first dose that may be booked now; empty when there is "
        "nothing to book (not active, every next dose booked, or a history to check).",
    )
    next_number = models.PositiveIntegerField(null=True, blank=True)
    problem = models.BooleanField(
        default=False, help_text="The recorded history contradicts itself: a clinician checks."
    )
    flagged = models.BooleanField(
        default=False,
        help_text="A booked dose sits outside its window with no clinician's reason recorded.",
    )
    refreshed_on = models.DateField()

    class Meta:
        verbose_name = "course outlook"

    def __str__(self):
        return f"Outlook of course {self.course_id}: next due {self.next_due or '—'}"


class ProjectedDose(models.Model):
    """A dose the engine projects and nobody has booked yet, kept for the capacity forecast
    (issue 8), like `CourseOutlook`: derived, rewritten by `outlook.refresh_next_due` and the
    nightly pass, never edited. `on` is the engine's date (for an overdue dose, the next open
    day as of `CourseOutlook.refreshed_on`)."""

    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.CASCADE, related_name="projected_doses"
    )
    number = models.PositiveSmallIntegerField()
    on = models.DateField(db_index=True)
    due = models.DateField()
    window_end = models.DateField()
    overdue = models.BooleanField(default=False)

    class Meta:
        verbose_name = "projected dose"
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="projected_dose_once")
        ]

    def __str__(self):
        return f"Course {self.course_id} dose {self.number} projected {self.on}"


class ClinicianRequest(models.Model):
    """A nurse's hand-off to a clinician: "please book this dose", for a date only a clinician
    may choose (past the unit's window, DESIGN §2 unit policy). It is listed on Overdue &
    rebook while the dose is still waiting; booking the dose ends it (nothing to close)."""

    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.CASCADE, related_name="clinician_requests"
    )
    dose_number = models.PositiveSmallIntegerField("dose number")
    slot = models.ForeignKey(
        Slot,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The slot the nurse proposes (past the window).",
    )
    note = models.CharField(max_length=300, blank=True)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    asked_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asked_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "dose_number"], name="clinician_request_one_per_dose"
            ),
        ]

    def __str__(self):
        return f"Dose {self.dose_number} of {self.course}: asked by {self.asked_by}"
