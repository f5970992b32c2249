"""The visit's worklists, read only."""

from datetime import date, timedelta

from django.utils import timezone

from schedules.models import Dose, FollowUpCall


def follow_up_doses(today: date) -> list[dict]:
    """The follow-up-call worklist: doses given one and two days ago (PLPH typically starts
    within 48 hours, DESIGN §2) whose call has not reached the patient yet."""
    first, last = today - timedelta(days=2), today - timedelta(days=1)
    doses = (
        Dose.objects.filter(given_at__date__gte=first - timedelta(days=1))
        .select_related("course__patient")
        .prefetch_related("follow_up_calls")
        .order_by("given_at")
    )
    rows = []
    for dose in doses:
        if not first <= timezone.localdate(dose.given_at) <= last:
            continue
        calls = list(dose.follow_up_calls.all())
        if any(call.outcome != FollowUpCall.Outcome.NO_ANSWER for call in calls):
            continue
        rows.append({"dose": dose, "patient": dose.course.patient, "attempts": calls})
    return rows
