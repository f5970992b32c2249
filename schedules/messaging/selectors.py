"""Reads for the Messages page, the patient page and the staff banner (issue 18 §8)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Count, F, Q
from django.utils import timezone

from schedules.messaging.models import Message, WorkerHeartbeat

#: The banner's thresholds (issue 18 §8).
WORKER_SILENT_AFTER = timedelta(minutes=10)
REMINDER_LATE_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class Health:
    last_heartbeat: datetime | None
    oldest_due: datetime | None
    now: datetime

    @property
    def worker_silent(self) -> bool:
        """A worker that has run before and has been silent for 10 minutes. One that never
        ran is caught by the reminders it leaves waiting."""
        return (
            self.last_heartbeat is not None and self.now - self.last_heartbeat > WORKER_SILENT_AFTER
        )

    @property
    def reminders_late(self) -> bool:
        return self.oldest_due is not None and self.now - self.oldest_due > REMINDER_LATE_AFTER

    @property
    def warning(self) -> bool:
        return self.worker_silent or self.reminders_late

    @property
    def oldest_due_age(self) -> timedelta | None:
        return self.now - self.oldest_due if self.oldest_due else None


def health(now=None) -> Health:
    """One query on every staff page: the latest heartbeat and the oldest due reminder still
    waiting (two scalar subqueries, so neither table's emptiness hides the other)."""
    now = now or timezone.now()
    oldest = Message.objects.filter(
        status__in=Message.WAITING, kind=Message.Kind.REMINDER, send_after__lte=now
    )
    oldest_sql, oldest_params = (
        oldest.order_by("send_after").values("send_after")[:1].query.sql_with_params()
    )
    beat_sql, beat_params = (
        WorkerHeartbeat.objects.order_by("-beat_at").values("beat_at")[:1].query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ({beat_sql}), ({oldest_sql})", [*beat_params, *oldest_params])
        beat, oldest_due = cursor.fetchone()
    field = Message._meta.get_field("send_after")
    convert = lambda value: (  # noqa: E731 (SQLite returns text; PostgreSQL a datetime)
        field.to_python(value) if value is not None else None
    )
    return Health(
        last_heartbeat=_aware(convert(beat)), oldest_due=_aware(convert(oldest_due)), now=now
    )


def _aware(value):
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, UTC)
    return value


def todays_counts(now=None) -> dict:
    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    statuses = Message.Status
    return Message.objects.filter(created_at__gte=start).aggregate(
        written=Count("pk"),
        sent=Count("pk", filter=Q(status__in=[statuses.SENT, statuses.DELIVERED])),
        delivered=Count("pk", filter=Q(status=statuses.DELIVERED)),
        failed=Count(
            "pk", filter=Q(status__in=[statuses.TEMPORARY_FAILURE, statuses.PERMANENT_FAILURE])
        ),
        cancelled=Count("pk", filter=Q(status=statuses.CANCELLED)),
        waiting=Count("pk", filter=Q(status__in=Message.WAITING)),
    )


def recent_failures(limit: int = 50):
    return (
        Message.objects.filter(
            status__in=[Message.Status.TEMPORARY_FAILURE, Message.Status.PERMANENT_FAILURE]
        )
        .select_related("patient")
        .order_by("-failed_at", "-pk")[:limit]
    )


def fix_contact_details():
    """Patients whose message failed for good since their contact details last changed,
    with the latest such failure's reason (issue 18 §5)."""
    return (
        Message.objects.filter(status=Message.Status.PERMANENT_FAILURE)
        .filter(
            Q(patient__contact_changed_at__isnull=True)
            | Q(patient__contact_changed_at__lt=F("failed_at"))
        )
        .select_related("patient")
        .order_by("patient_id", "-failed_at")
    )


def fix_contact_list() -> list[Message]:
    """One row per patient: their latest permanent failure."""
    seen, rows = set(), []
    for message in fix_contact_details():
        if message.patient_id not in seen:
            seen.add(message.patient_id)
            rows.append(message)
    return rows


def patient_messages(patient, limit: int = 20):
    return Message.objects.filter(patient=patient).order_by("-created_at", "-pk")[:limit]


def heartbeats():
    return WorkerHeartbeat.objects.order_by("-beat_at")
