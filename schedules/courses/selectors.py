"""Courses, read only."""

from django.db.models import Prefetch

from schedules.models import Booking, TreatmentCourse


def held_courses() -> list[TreatmentCourse]:
    """Courses on hold for clinical review, with their booked visits (flagged: the dose cannot
    be given until a clinician records the review decision)."""
    return list(
        TreatmentCourse.objects.filter(status=TreatmentCourse.Status.HELD)
        .select_related("patient")
        .prefetch_related(
            "events",
            Prefetch(
                "doses__bookings",
                queryset=Booking.objects.active().select_related("slot__unit", "dose"),
                to_attr="held_bookings",
            ),
        )
        .order_by("patient__family_name", "pk")
    )
