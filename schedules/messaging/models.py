"""The outbox (issue 18 §2): every message to a patient is a row, written in the same
transaction as the booking change that causes it, and sent by the worker from there.

Facts only: what to send, to whom, why (the booking or course), and what happened to it.
The words are written once, when the row is (`schedules.messaging.texts`), so the admin shows
exactly what the patient was sent.
"""

from django.db import models
from django.db.models import Q

from patients.models import Channel, Patient


class Message(models.Model):
    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        BOOKED = "booked", "Booking made"
        CHANGED = "changed", "Booking changed"
        CANCELLED = "cancelled", "Booking cancelled"
        REBOOK = "rebook", "Please call us to rebook"
        HOLD = "hold", "Do not come until we call you"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        TEMPORARY_FAILURE = "temporary_failure", "Temporary failure"
        PERMANENT_FAILURE = "permanent_failure", "Permanent failure"
        CANCELLED = "cancelled", "Cancelled"

    #: Waiting for the worker: due once `send_after` has passed.
    WAITING = (Status.PENDING, Status.TEMPORARY_FAILURE)
    #: Nothing more will happen to these.
    FINAL = (Status.DELIVERED, Status.PERMANENT_FAILURE, Status.CANCELLED)

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="messages")
    booking = models.ForeignKey(
        "schedules.Booking",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        help_text="The visit the message is about, when there is one.",
    )
    course = models.ForeignKey(
        "schedules.TreatmentCourse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        help_text="For a hold: the course on hold.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    days_before = models.PositiveSmallIntegerField(
        "days before the visit",
        null=True,
        blank=True,
        help_text="For a reminder: which of the unit's reminder offsets it is.",
    )
    booking_version = models.PositiveIntegerField(
        default=0, help_text="The visit's calendar sequence when the message was written."
    )
    idempotency_key = models.CharField(
        max_length=120,
        unique=True,
        help_text="The same booking, kind, channel and version never make two messages.",
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(help_text="The words sent: date, time, place and phone only.")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    send_after = models.DateTimeField(help_text="Not sent before this (reminders, retries).")
    provider_id = models.CharField("Notify id", max_length=64, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "send_after"], name="message_due")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(channel=Channel.NONE), name="message_has_a_channel"
            ),
            models.CheckConstraint(
                condition=Q(kind="reminder", days_before__isnull=False)
                | (~Q(kind="reminder") & Q(days_before__isnull=True)),
                name="message_reminder_has_offset",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.get_channel_display().lower()} #{self.pk}"


class WorkerHeartbeat(models.Model):
    """The last time a worker ran messaging work: the Messages page and the banner show it."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self):
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
