"""The unit's calendar pages: the month (a heat map of places booked and due), the week (each
slot with its patients), capacity ahead, and making the coming weeks' slots."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from schedules import services
from schedules.access import back, view_permission
from schedules.models import Unit
from schedules.unit import grid, selectors
from schedules.unit.forms import DEFAULT_FORECAST_WEEKS, CapacityForm
from schedules.visits.board import slots_with_patients


@login_required
@view_permission
@require_safe
def month(request):
    """Month view: per day, places booked of places offered; closures and bank holidays."""
    unit = Unit.current()
    today = timezone.localdate()
    first = today.replace(day=1)
    requested = request.GET.get("month", "")
    if requested:
        parsed = grid.parse_month(requested)
        if parsed is None:
            messages.warning(
                request, f"“{requested[:20]}” is not a month like 2026-03; showing this month."
            )
        else:
            first = parsed
    previous_month, next_month = grid.previous_month(first), grid.next_month(first)
    return render(
        request,
        "schedules/month.html",
        {
            "first": first,
            "grid": selectors.month_grid(unit, first, today=today),
            "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            "previous_month": previous_month if grid.in_range(previous_month) else None,
            "next_month": next_month if grid.in_range(next_month) else None,
            "this_month": today.replace(day=1),
            "today": today,
        },
    )


@login_required
@view_permission
@require_safe
def week(request):
    """Week view: each slot with its patients."""
    unit = Unit.current()
    today = timezone.localdate()
    anchor = today
    requested = request.GET.get("week", "")
    if requested:
        parsed = grid.parse_day(requested)
        if parsed is None:
            messages.warning(
                request,
                f"“{requested[:20]}” is not a date like 2026-03-02; showing this week.",
            )
        else:
            anchor = parsed
    days = grid.week_of(anchor)
    slots = slots_with_patients(unit, days[0], days[-1], for_planning=False)
    previous_week, next_week = days[0] - timedelta(days=7), days[0] + timedelta(days=7)
    return render(
        request,
        "schedules/week.html",
        {
            "columns": selectors.week_columns(unit, days, today=today, slots=slots),
            "first": days[0],
            "last": days[-1],
            "previous_week": previous_week if grid.in_range(previous_week) else None,
            "next_week": next_week if grid.in_range(next_week) else None,
            "today": today,
        },
    )


@login_required
@view_permission
@require_safe
def capacity(request):
    """Demand and capacity ahead (issues 8 and 19): per day and session places, beds,
    operators, imaging, booked, due but unbooked and utilisation (closed days shown, never
    flagged); weeks that cannot fit their due doses; how many more patients can start next
    month; days on target, notice given and doses given late."""
    form = CapacityForm(request.GET)
    weeks = form.weeks_or_default()
    status = 200
    if not form.is_valid():
        messages.warning(request, f"{form.errors['weeks'][0]} Showing {DEFAULT_FORECAST_WEEKS}.")
        status = 400
    today = timezone.localdate()
    unit = Unit.current()
    report = selectors.forecast_report(unit, weeks=weeks, today=today)
    return render(
        request,
        "schedules/capacity.html",
        {
            "report": report,
            "measures": selectors.capacity_measures(unit, today=today, weeks=weeks),
            "weeks": weeks,
            "today": today,
        },
        status=status,
    )


@login_required
@permission_required("schedules.add_slot", raise_exception=True)
@require_POST
def generate(request):
    """Make the coming weeks' slots from the session templates (also run nightly)."""
    unit = Unit.current()
    try:
        report = services.generate_slots(unit=unit)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Slots brought up to date: {report}.")
        for booking in report.affected:
            patient = booking.dose.course.patient
            messages.warning(
                request,
                f"Rebook {patient.full_name} ({patient.hospital_number}), dose "
                f"{booking.dose.number}: {booking.slot} is no longer available.",
            )
    return back(request, reverse("schedules:calendar"))
