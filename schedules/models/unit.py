"""The day-care unit: its policy, session templates, closures and slots."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from patients.validators import (
    ADDRESS_MAX,
    validate_multiline,
    validate_single_line,
    validate_time_zone,
)
from schedules import engine
from schedules.unit.calendar import UnitCalendar, _england_bank_holidays
from tofersen_scheduler.dates import format_day, format_day_time


class UnitMissing(Exception):
    """The installation has no day-care unit yet; the message says what an admin must do."""


# The clinical bounds of the unit's booking policy (issue 17 §7). The labels give no tolerance
# window (US PI §2.1, EU SmPC 4.2; DESIGN §2): the window around the due date is unit policy,
# and these are the widest values a clinical lead signs for it, so a typo (13 for 3) cannot
# quietly let nurses book ten days early. Held by the validators (forms, the admin,
# `full_clean`) and by database constraints (every other door).
BOOK_EARLY_MAX_DAYS = 3
FLAG_LATE_MAX_DAYS = 14
# Reminders (issue 18): at most four weeks ahead, the maintenance interval.
REMINDER_MAX_DAYS = 28


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
        validators=[MaxValueValidator(BOOK_EARLY_MAX_DAYS)],
        help_text=(
            f"0 to {BOOK_EARLY_MAX_DAYS}. Unit policy (DESIGN §2): the labels give no tolerance "
            "window, so the default never books a dose before it is due; the clinical bound is "
            f"{BOOK_EARLY_MAX_DAYS} days. Earlier needs a clinician's override with a reason."
        ),
    )
    flag_late_days = models.PositiveSmallIntegerField(
        "flag when later than (days)",
        default=7,
        validators=[MaxValueValidator(FLAG_LATE_MAX_DAYS)],
        help_text=(
            f"0 to {FLAG_LATE_MAX_DAYS}. Unit policy (DESIGN §2; the labels give no tolerance): "
            "bookings more than this many days after due are flagged and need a clinician; "
            f"the clinical bound is {FLAG_LATE_MAX_DAYS} days (half a maintenance interval)."
        ),
    )
    load_target_percent = models.PositiveSmallIntegerField(
        "daily load target (%)",
        default=85,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=(
            "1 to 100. Booking suggestions keep each open day's load (places booked of places "
            "offered) closest to this share, inside each dose's window (issue 19 item 3). "
            "Unit policy: the labels say nothing about it."
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
    first_reminder_days = models.PositiveSmallIntegerField(
        "first reminder (days before the visit)",
        default=7,
        validators=[MaxValueValidator(REMINDER_MAX_DAYS)],
        help_text="Patients who agreed to reminders are sent one this many days before each "
        "visit; 0 sends none.",
    )
    second_reminder_days = models.PositiveSmallIntegerField(
        "second reminder (days before the visit)",
        default=2,
        validators=[MaxValueValidator(REMINDER_MAX_DAYS)],
        help_text="And a second one; 0 sends none.",
    )
    rota_required = models.BooleanField(
        "book only where an operator is on the rota",
        default=False,
        help_text=(
            "On: a slot books only while a lumbar-puncture operator on the session's rota, "
            "with a valid competency, is free. Off: operators are not counted (a patient "
            "needing image guidance is always checked)."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(book_early_days__lte=BOOK_EARLY_MAX_DAYS),
                name="unit_book_early_days_within_clinical_bound",
                violation_error_message=(
                    f"A dose may be booked at most {BOOK_EARLY_MAX_DAYS} days before it is due "
                    "(unit policy's clinical bound)."
                ),
            ),
            models.CheckConstraint(
                condition=Q(load_target_percent__gte=1, load_target_percent__lte=100),
                name="unit_load_target_percent_1_to_100",
                violation_error_message="The daily load target is a share from 1 to 100%.",
            ),
            models.CheckConstraint(
                condition=Q(flag_late_days__lte=FLAG_LATE_MAX_DAYS),
                name="unit_flag_late_days_within_clinical_bound",
                violation_error_message=(
                    f"Late bookings must be flagged within {FLAG_LATE_MAX_DAYS} days of due "
                    "(unit policy's clinical bound)."
                ),
            ),
        ]

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
    def reminder_offsets(self) -> list[int]:
        """Days before a visit a reminder goes out (issue 18: default 7 and 2), largest first."""
        offsets = {self.first_reminder_days, self.second_reminder_days} - {0}
        return sorted(offsets, reverse=True)

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
    beds = models.PositiveSmallIntegerField(
        "beds or chairs",
        null=True,
        blank=True,
        help_text=(
            "Beds or chairs for observation shared by the session's slots: a visit holds one "
            "for two hours from its slot's start (DESIGN §2). Empty: not counted apart from "
            "places."
        ),
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
        from schedules.models.booking import Booking

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
