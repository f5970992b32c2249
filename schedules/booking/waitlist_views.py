"""The waitlist's pages (issue 19 item 5): who waits for an earlier date, marking and clearing
a patient, the one-click move into a freed place, and the message that a freed place has
someone waiting."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from schedules import services
from schedules.access import (
    back,
    change_permission,
    get_booking,
    view_permission,
)
from schedules.booking import offers
from schedules.booking.forms import (
    MoveEarlierForm,
    WaitlistForm,
)
from schedules.models import Slot, Unit
from tofersen_scheduler.dates import format_day

# The waitlist (issue 19 item 5) ----------------------------------------------------------------


def offer_freed_place(request, day: date) -> None:
    """After a cancellation or a move: when someone on the waitlist could take the place that
    freed, say so, and where they are offered."""
    today_ = timezone.localdate()
    if day < today_:
        return
    waiting = len(offers.waitlist_offers_on(Unit.current(), day, today=today_))
    if waiting:
        messages.info(
            request,
            f"A place is free on {format_day(day)} and {waiting} patient"
            f"{'s' if waiting > 1 else ''} waiting for an earlier date could take it: "
            f"Calendar → Book into {format_day(day)} offers them first.",
        )


@login_required
@view_permission
@require_safe
def waitlist(request):
    """Who waits for an earlier date, longest first."""
    return render(request, "schedules/waitlist.html", {"rows": offers.waitlist(Unit.current())})


@login_required
@change_permission
@require_POST
def waitlist_set(request, booking_id: int):
    """Mark the patient as one who would come earlier, with the notice they need."""
    booking = get_booking(booking_id)
    form = WaitlistForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        messages.error(request, f"Not added to the waitlist: {field} — {errors[0]}")
        return redirect("schedules:booking", booking.pk)
    try:
        services.set_waitlist(
            booking=booking,
            notice_days=form.cleaned_data["notice_days"],
            this_dose_only=form.cleaned_data["scope"] == "this",
            set_by=request.user,
        )
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        patient = booking.dose.course.patient
        messages.success(
            request,
            f"{patient.full_name} is on the waitlist for an earlier date "
            f"({form.cleaned_data['notice_days']} days' notice).",
        )
    return back(request, reverse("schedules:booking", args=[booking.pk]))


@login_required
@change_permission
@require_POST
def waitlist_clear(request, booking_id: int):
    """The patient no longer waits for an earlier date."""
    booking = get_booking(booking_id)
    if services.clear_waitlist(booking=booking, cleared_by=request.user):
        messages.success(request, "Taken off the waitlist for an earlier date.")
    else:
        messages.info(request, "The patient was not on the waitlist.")
    return back(request, reverse("schedules:booking", args=[booking.pk]))


@login_required
@change_permission
@require_POST
def move_earlier(request, booking_id: int):
    """The one-click "Move here" of a waitlist offer: the existing reschedule service, with
    its locks and checks, and the fingerprint of the change the page showed (H30)."""
    booking = get_booking(booking_id)
    form = MoveEarlierForm(request.POST)
    slot = None
    if form.is_valid():
        slot = Slot.objects.filter(
            unit=booking.slot.unit, pk=form.cleaned_data["slot"], start__gte=timezone.now()
        ).first()
    if slot is None:
        messages.error(request, "That place is no longer offered: nothing was moved.")
        return back(request, reverse("schedules:waitlist"))
    try:
        moved = services.reschedule_booking(
            booking=booking,
            slot=slot,
            rescheduled_by=request.user,
            previewed=form.cleaned_data["previewed"],
        )
    except services.PreviewChanged:
        messages.error(
            request,
            "What this move changes is not what the page showed (something changed "
            "meanwhile): nothing was moved. Check the offer again.",
        )
    except services.ServiceError as error:
        messages.error(request, f"Nothing was moved: {error}")
    else:
        messages.success(
            request,
            f"Moved dose {moved.dose.number} for {booking.dose.course.patient.full_name} to "
            f"{moved.slot}. Tell the patient and reprint the schedule letter.",
        )
    return back(request, reverse("schedules:waitlist"))
