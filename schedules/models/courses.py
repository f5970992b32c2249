"""A patient's treatment course: its decisions (course events) and its doses (the facts)."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from patients.models import Patient
from tofersen_scheduler.dates import format_day


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
        from schedules.models.booking import Booking

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
    partial = models.BooleanField(
        "partial dose",
        default=False,
        help_text="Volume injected far from 15 mL: a clinician recorded it and decides what "
        "follows.",
    )
    partial_reason = models.TextField("why the dose was partial", blank=True)
    elsewhere_checks = models.JSONField(
        "pre-dose checks (given elsewhere)",
        default=dict,
        blank=True,
        help_text="Who checked what, for a dose recorded with no visit here (paper record, "
        "another hospital).",
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
            models.CheckConstraint(
                condition=Q(partial=False) | ~Q(partial_reason=""),
                name="dose_partial_has_reason",
            ),
        ]

    def __str__(self):
        return f"Dose {self.number}"

    @property
    def active_booking(self):
        """The booked/arrived booking, from `with_active_booking()` when prefetched."""
        if hasattr(self, "active_bookings"):
            return self.active_bookings[0] if self.active_bookings else None
        return self.bookings.active().select_related("slot__unit").first()


class ReviewDecision(models.TextChoices):
    """A clinician's decision on a course held for review (`record_review_decision`)."""

    CONTINUE = "continue", "Continue treatment"
    PAUSE = "pause", "Pause treatment"
    STOP = "stop", "Stop treatment"
