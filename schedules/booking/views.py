"""The booking pages: book a dose, book the next doses, see, move or cancel a booking, book
into one day, hand a dose to a clinician, and the two worklists (needs booking, overdue).

Every view has one shape: login and permission decorators, fetch through `schedules.access`
(404), bind a form, call a service, catch `ServiceError` into a message, redirect
(POST/redirect/GET). What a page shows comes from `schedules.booking.selectors`.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from schedules import engine, services
from schedules.access import (
    back,
    book_permission,
    change_permission,
    day_url,
    get_booking,
    get_course,
    safe_next,
    view_permission,
)
from schedules.booking import selectors
from schedules.booking.forms import (
    MAX_DOSE_NUMBER,
    AdmitDayBeforeForm,
    AskClinicianForm,
    CancelForm,
    FindSlotsForm,
    OperatorForm,
    SlotChoiceForm,
    book_next_formset,
)
from schedules.booking.services import can_override
from schedules.courses.selectors import held_courses
from schedules.models import Booking, Slot, TreatmentCourse, Unit
from schedules.planning import PROBLEM, suggest_slots
from schedules.unit import grid, resources
from tofersen_scheduler.dates import format_day

# The name of the "Preview changes" button on pages that show a change before confirming it.
PREVIEW_BUTTON = "preview"


def _look_from(request) -> tuple[FindSlotsForm, date | None]:
    """ "Look further": the date the nurse picked to search free slots from, if sensible."""
    find = FindSlotsForm(request.GET or None)
    look_from = None
    if find.is_bound and find.is_valid():
        look_from = find.cleaned_data["start"]
        if look_from is not None and not grid.in_range(look_from):
            find.add_error("start", "Choose a date within this century.")
            look_from = None
    return find, look_from


def _booking_page(request, *, course, number, unit, form, booking=None, status=200, **extra):
    """The book or reschedule page for dose `number` (built by `selectors.booking_page`)."""
    find, look_from = _look_from(request)
    page = selectors.booking_page(
        course,
        number,
        unit=unit,
        today=timezone.localdate(),
        booking=booking,
        look_from=look_from,
        chosen=(form.data if form.is_bound else request.GET).get("slot"),
    )
    context = {
        "course": course,
        "patient": course.patient,
        "number": number,
        "form": form,
        "booking": booking,
        "next_url": safe_next(request),
        **page,
    }
    if page["planned"] is not None and not page["problem"]:
        context.update(
            find=find,
            look_from=look_from,
            can_override=can_override(request.user),
            **extra,
        )
    return render(request, "schedules/book.html", context, status=status)


@login_required
@book_permission
@require_http_methods(["GET", "POST"])
def book(request, course_id: int, number: int):
    course = get_course(course_id)
    unit = Unit.current()
    if number < 1 or number > MAX_DOSE_NUMBER:
        raise Http404("No such dose.")
    form = SlotChoiceForm(request.POST or None, unit=unit, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            booking = services.book_dose_number(
                course=course,
                number=number,
                slot=form.cleaned_data["slot"],
                booked_by=request.user,
                override_reason=form.cleaned_data.get("override_reason", ""),
            )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Booked dose {number} for {course.patient.full_name}: {booking.slot}.",
            )
            # From a worklist (a one-click choice carries `next`): stay on the worklist,
            # where the row has gone; otherwise show the booking.
            next_url = safe_next(request)
            return redirect(next_url or reverse("schedules:booking", args=[booking.pk]))
        # Show the page again with the choices as they are now.
        course = get_course(course_id)
    return _booking_page(
        request,
        course=course,
        number=number,
        unit=unit,
        form=form,
        status=400 if request.method == "POST" else 200,
    )


@login_required
@view_permission
@require_GET
def booking_detail(request, booking_id: int):
    """The booking confirmation: when, where, the calendar file, and what to do next."""
    booking = get_booking(booking_id)
    course = get_course(booking.dose.course_id)
    upcoming = [
        dose.active_booking
        for dose in course.doses.all()
        if dose.active_booking is not None and dose.active_booking.pk != booking.pk
    ]
    rota = resources.rota_for(booking)
    operator_competencies = (
        list(booking.operator.competencies.all()) if booking.operator is not None else []
    )
    return render(
        request,
        "schedules/booking_detail.html",
        {
            "booking": booking,
            "patient": course.patient,
            "course": course,
            "upcoming": upcoming,
            "next_url": safe_next(request),
            "operator_form": OperatorForm(
                initial={"operator": booking.operator_id}, rota=rota, day=booking.local_date
            ),
            "operator_warning": resources.operator_warning(booking, operator_competencies),
        },
    )


@login_required
@change_permission
@require_POST
def assign_operator(request, booking_id: int):
    """Say who performs the lumbar puncture (issue 19 item 2): at booking or on the day."""
    booking = get_booking(booking_id)
    form = OperatorForm(request.POST, rota=resources.rota_for(booking), day=booking.local_date)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["operator"]))
        return redirect("schedules:booking", booking.pk)
    try:
        services.assign_operator(booking=booking, operator=form.chosen(), assigned_by=request.user)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        operator = form.chosen()
        messages.success(
            request,
            f"{operator.get_full_name() or operator.get_username()} will do the lumbar puncture."
            if operator
            else "No operator assigned yet.",
        )
    return back(request, reverse("schedules:booking", args=[booking.pk]))


@login_required
@change_permission
@require_POST
def admit_day_before(request, booking_id: int):
    """Say the patient is admitted the day before (patient leaflet), or not."""
    booking = get_booking(booking_id)
    form = AdmitDayBeforeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether the patient is admitted the day before.")
        return redirect("schedules:booking", booking.pk)
    try:
        services.set_admit_day_before(
            booking=booking,
            admit_day_before=form.cleaned_data["admit_day_before"],
            changed_by=request.user,
        )
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Saved. Reprint the schedule letter.")
    return redirect("schedules:booking", booking.pk)


@login_required
@book_permission
@require_http_methods(["GET", "POST"])
def book_next(request, course_id: int):
    """Book the next three doses, each in the first free slot of its window, in one action."""
    course = get_course(course_id)
    unit = Unit.current()
    if request.method == "POST":
        formset = book_next_formset(request.POST.getlist("choice"), unit=unit)
        if formset.problem:
            messages.error(request, formset.problem)
            return redirect("schedules:book_next", course.pk)
        choices = formset.choices
        try:
            bookings = services.book_next_doses(
                course=course, choices=choices, booked_by=request.user
            )
        except services.ServiceError as error:
            messages.error(request, str(error))
            return redirect("schedules:book_next", course.pk)
        numbers = ", ".join(str(b.dose.number) for b in bookings)
        messages.success(
            request,
            f"Booked dose{'s' if len(bookings) > 1 else ''} {numbers} for "
            f"{course.patient.full_name}.",
        )
        return redirect("schedules:booking", bookings[0].pk)

    problem = ""
    suggestions = []
    if course.status != TreatmentCourse.Status.ACTIVE:
        problem = (
            f"Treatment is {course.get_status_display().lower()}: "
            "a clinician must resume it before doses can be booked."
        )
    else:
        try:
            suggestions = suggest_slots(course=course, unit=unit, count=3)
        except engine.ScheduleError as error:
            problem = PROBLEM.format(error=error)
    blockers = course.patient.treatment_blockers()
    # Each dose's slot can be changed: the free slots of the window the suggestion chain gives
    # it. Choosing a later slot for one dose can push the next dose's window; the service then
    # refuses the set with a sentence saying which dose to change.
    rows = selectors.book_next_options(unit, suggestions, today=timezone.localdate())
    return render(
        request,
        "schedules/book_next.html",
        {
            "course": course,
            "patient": course.patient,
            "suggestions": suggestions,
            "rows": rows,
            "bookable": [s for s in suggestions if s.slot is not None],
            "problem": problem,
            "blockers": blockers,
        },
    )


@login_required
@change_permission
@require_http_methods(["GET", "POST"])
def reschedule(request, booking_id: int):
    booking = get_booking(booking_id)
    unit = Unit.current()
    course = get_course(booking.dose.course_id)
    form = SlotChoiceForm(request.POST or None, unit=unit, user=request.user)
    moving = request.method == "POST" and form.is_valid()

    def page(**options):
        return _booking_page(
            request,
            course=course,
            number=booking.dose.number,
            unit=unit,
            form=form,
            booking=booking,
            **options,
        )

    if moving and PREVIEW_BUTTON in request.POST and booking.status == Booking.Status.BOOKED:
        # Shown before it is confirmed: later doses that move or fall outside their window,
        # and the letter to reprint (issue 10).
        return page()
    if moving:
        try:
            # Made only when the preview the nurse confirmed is still what will happen,
            # checked under the course lock (hazard H30).
            new = services.reschedule_booking(
                booking=booking,
                slot=form.cleaned_data["slot"],
                rescheduled_by=request.user,
                override_reason=form.cleaned_data.get("override_reason", ""),
                previewed=request.POST.get("previewed", ""),
            )
        except services.PreviewChanged as changed:
            return page(preview_stale=str(changed))
        except services.ServiceError as error:
            form.add_error(None, str(error))
            course = get_course(booking.dose.course_id)
        else:
            messages.success(
                request,
                f"Moved dose {new.dose.number} for {course.patient.full_name} to {new.slot}.",
            )
            return back(request, reverse("schedules:booking", args=[new.pk]))
    elif booking.status != Booking.Status.BOOKED and request.method == "GET":
        messages.warning(
            request,
            f"This booking is {booking.get_status_display().lower()} and cannot be moved.",
        )
        return redirect("schedules:booking", booking.pk)
    return page(status=400 if request.method == "POST" else 200)


@login_required
@change_permission
@require_http_methods(["GET", "POST"])
def cancel(request, booking_id: int):
    booking = get_booking(booking_id)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_booking(
                booking=booking, reason=form.cleaned_data["reason"], cancelled_by=request.user
            )
        except services.ServiceError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                f"Cancelled dose {booking.dose.number} for "
                f"{booking.dose.course.patient.full_name} on {booking.slot}.",
            )
            return back(request, day_url(booking.local_date))
    return render(
        request,
        "schedules/cancel.html",
        {"booking": booking, "form": form, "next_url": safe_next(request)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@view_permission
@require_GET
def needs_booking(request):
    """Doses due in the next weeks with no booking, most urgent first, with the first free
    slots of each window offered as one-click choices (built by `selectors.needs_booking`)."""
    today_ = timezone.localdate()
    worklist = selectors.needs_booking(Unit.current(), today=today_, page=request.GET.get("page"))
    return render(
        request,
        "schedules/needs_booking.html",
        {
            "rows": worklist.rows,
            "problems": worklist.problems,
            "overdue": worklist.overdue,
            "weeks": worklist.weeks,
            "page": worklist.page,
            "today": today_,
            "here": request.get_full_path(),
        },
    )


@login_required
@view_permission
@require_GET
def overdue(request):
    """Overdue doses (with any missed appointment), bookings flagged because an earlier dose
    moved, and past appointments with no outcome recorded (built by `selectors.overdue`)."""
    today_ = timezone.localdate()
    worklist = selectors.overdue(Unit.current(), today=today_, page=request.GET.get("page"))
    return render(
        request,
        "schedules/overdue.html",
        {
            "overdue_rows": worklist.overdue_rows,
            "flagged": worklist.flagged,
            "unrecorded": worklist.unrecorded,
            "problems": worklist.problems,
            "page": worklist.page,
            "held": held_courses(),
            "asked": [row for row in worklist.overdue_rows if row.request],
            "today": today_,
            "here": request.get_full_path(),
            "can_override": can_override(request.user),
        },
    )


@login_required
@book_permission
@require_GET
def book_day(request, day: date):
    """Book into one day (from the month's heat map): each dose that can be booked now and
    whose window holds that day (or that is overdue, so as soon as possible), with that day's
    free slots as one-click choices. Booking returns here (the `next` of each choice)."""
    if not grid.in_range(day):
        raise Http404("No such day.")
    unit = Unit.current()
    today_ = timezone.localdate()
    if day < today_:
        messages.warning(request, f"{format_day(day)} has passed: choose today or a later day.")
        return redirect(f"{reverse('schedules:calendar')}?month={day:%Y-%m}")
    slots, rows = selectors.bookable_on(unit, day, today=today_)
    return render(
        request,
        "schedules/book_day.html",
        {
            "day": day,
            "rows": rows,
            "slots": slots,
            "closed": unit.calendar(day, day).closure_reason(day),
            "today": today_,
            "here": request.get_full_path(),
        },
    )


@login_required
@book_permission
@require_POST
def ask_clinician(request, course_id: int, number: int):
    """A nurse hands an overdue dose to a clinician (Overdue & rebook lists it for them)."""
    course = get_course(course_id)
    if not 1 <= number <= MAX_DOSE_NUMBER:
        raise Http404("No such dose.")
    form = AskClinicianForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        messages.error(request, f"Nothing was sent to a clinician: {field} — {errors[0]}")
        return back(request, reverse("schedules:overdue"))
    slot_id = form.cleaned_data["slot"]
    slot = Slot.objects.filter(pk=slot_id).first() if slot_id else None
    try:
        services.ask_clinician(
            course=course,
            number=number,
            slot=slot,
            note=form.cleaned_data["note"],
            asked_by=request.user,
        )
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Asked a clinician to book dose {number} for {course.patient.full_name}: "
            "it is listed for them on Overdue & rebook.",
        )
    return back(request, reverse("schedules:overdue"))
