"""The waitlist (issue 19 item 5): patients who would come earlier than they are booked."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from schedules.models.booking import Booking

# Notice a patient can ask for: four weeks is a maintenance interval; more would never be
# offered inside a dose's window.
MAX_NOTICE_DAYS = 28


class WaitlistEntry(models.Model):
    """A patient who would come earlier than booked, and how many days' notice they need.

    With `booking`: that booked dose only; without: whichever dose is booked next. When a
    place is free on a day inside that dose's window, at least `notice_days` ahead, the
    book-a-day page offers them first (`booking.offers.waitlist_offers`). Moving the
    booking earlier clears it (`booking.services.reschedule_booking`)."""

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.CASCADE, related_name="waitlist_entry"
    )
    booking = models.ForeignKey(
        Booking,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only this booked dose; empty: whichever dose is booked next.",
    )
    notice_days = models.PositiveSmallIntegerField(
        "notice needed (days)",
        validators=[MaxValueValidator(MAX_NOTICE_DAYS)],
        help_text=f"0 to {MAX_NOTICE_DAYS}: how many days ahead they must be told.",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["added_at"]
        verbose_name = "waitlist entry"
        verbose_name_plural = "waitlist"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(notice_days__lte=MAX_NOTICE_DAYS),
                name="waitlist_notice_within_four_weeks",
            ),
        ]

    def __str__(self):
        return f"{self.patient} would come earlier ({self.notice_days} days' notice)"
