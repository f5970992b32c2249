"""How a page finds what it acts on, one copy each: the course or booking from the URL (a 404
when there is none), where to go back to (`next`, a path on this site only), and the
permissions the nurses' pages check."""

from datetime import date

from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from schedules.models import Booking, TreatmentCourse
from schedules.planning.facts import course_queryset

view_permission = permission_required("schedules.view_booking", raise_exception=True)
book_permission = permission_required("schedules.add_booking", raise_exception=True)
change_permission = permission_required("schedules.change_booking", raise_exception=True)


def get_course(course_id: int) -> TreatmentCourse:
    """The course with what planning and the worklists read (`planning.course_queryset`)."""
    return get_object_or_404(course_queryset(), pk=course_id)


def get_patient_course(patient_pk: int, course_pk: int) -> TreatmentCourse:
    """A course by its patient's URL (/patients/<pk>/course/<course_pk>/…)."""
    return get_object_or_404(
        TreatmentCourse.objects.select_related("patient"), pk=course_pk, patient_id=patient_pk
    )


def get_booking(booking_id: int, *, with_visit: bool = False) -> Booking:
    """The booking with its patient and slot (and its visit, for the visit's pages)."""
    related = ["dose__course__patient", "slot__unit", *(["visit"] if with_visit else [])]
    return get_object_or_404(Booking.objects.select_related(*related), pk=booking_id)


def safe_next(request, default: str = "") -> str:
    """`next` from the form or query string when it is a path on this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only: redirect() would take "a b" for a URL name (a 500).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def back(request, default: str):
    """Redirect to `next` when it is safe, else to `default` (POST/redirect/GET)."""
    return redirect(safe_next(request) or default)


def day_url(day: date) -> str:
    return reverse("schedules:day", args=[day])
