"""A dose in a slot: bookings, and the requests a nurse hands to a clinician to book."""

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from schedules.models.courses import Dose, TreatmentCourse
from schedules.models.unit import Slot

if TYPE_CHECKING:
    from schedules.models.visits import Visit


class BookingQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=Booking.ACTIVE_STATUSES)

    def later_active(self, course, number: int):
        """The active bookings of the course's doses after dose `number`: counted from it, so
        they move, are cancelled or are refused with it (the one home of "later bookings")."""
        return self.active().filter(dose__course=course, dose__number__gt=number)

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
    cancelled_by_no_show = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="no_show_cancellations",
        help_text=(
            "The booking marked 'did not attend' that cancelled this one (a later dose counted "
            "from it); what undoing 'did not attend' books again."
        ),
    )
    # The patient leaflet allows admission the day before the lumbar puncture (DESIGN §2
    # "After"): said on the booking, the letter and the feed (no health information).
    admit_day_before = models.BooleanField(
        "admitted the day before",
        default=False,
        help_text="The patient is admitted the day before the dose (patient leaflet).",
    )
    # Who performs the lumbar puncture (issue 19 item 2): assigned at booking or on the day,
    # only someone on the session's rota with a competency valid on the visit's day.
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="operated_bookings",
        help_text="Who performs the lumbar puncture.",
    )
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
            # One lumbar puncture at a time: an operator takes one patient per slot.
            models.UniqueConstraint(
                fields=["slot", "operator"],
                condition=Q(status__in=["booked", "arrived"], operator__isnull=False),
                name="booking_operator_once_per_slot",
                violation_error_message="This operator already has a patient in that slot.",
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
    def admission_day(self) -> date | None:
        """The day the patient is admitted when they come the day before (patient leaflet)."""
        return self.local_date - timedelta(days=1) if self.admit_day_before else None

    @property
    def visit_or_none(self) -> "Visit | None":
        from schedules.models.visits import Visit

        try:
            return self.visit
        except Visit.DoesNotExist:
            return None

    @property
    def stage(self) -> "Visit.Stage":
        """Where the visit is in its life (DESIGN §2 "Each visit"), for the day list and the
        flow board: booked → arrived → checks done → given | not given → observation →
        discharged; or did not attend, or cancelled."""
        from schedules.models.visits import Visit

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
