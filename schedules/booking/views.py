"""The booking pages: book a dose, book the next doses, see, move or cancel a booking, book
into one day, hand a dose to a clinician, and the two worklists (needs booking, overdue).

Every view has one shape: login and permission decorators, fetch through `schedules.access`
(404), bind a form, call a service, catch `ServiceError` into a message, redirect
(POST/redirect/GET). What a page shows comes from `schedules.booking.selectors`.
"""

from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

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
from schedules.booking import offers, selectors
from schedules.booking.forms import (
    MAX_DOSE_NUMBER,
    AdmitDayBeforeForm,
    AskClinicianForm,
    CancelForm,
    FindSlotsForm,
    OperatorForm,
    SlotChoiceForm,
    WaitlistForm,
    book_next_formset,
)
from schedules.booking.services import can_override
from schedules.booking.waitlist_views import offer_freed_place
from schedules.courses.selectors import held_courses
from schedules.models import Booking, Slot, TreatmentCourse, Unit, WaitlistEntry
from schedules.planning import PROBLEM, suggest_slots
from schedules.unit import grid, resources
from tofersen_scheduler.dates import format_day

# The name of the "Preview changes" button on pages that show a change before confirming it.
PREVIEW_BUTTON = "preview"
# "Move them all" on the reschedule page (issue 19 item 4), and where the confirmation keeps
# the dates moved until the booking's page shows them.
SERIES_BUTTON = "series"
SERIES_SESSION_KEY = "series_moved"


def _series_choices(values: list[str], unit) -> tuple[list, str]:
    """The later bookings and their new slots posted as "booking:slot" each, or a problem."""
    pairs = []
    for value in values:
        booking_id, _, slot_id = value.partition(":")
        if not (booking_id.isdigit() and slot_id.isdigit()):
            return [], "The moves sent were not understood; please preview again."
        pairs.append((int(booking_id), int(slot_id)))
    if not pairs or any(not 0 < n < 2**31 for pair in pairs for n in pair):
        return [], "There were no later doses to move; please preview again."
    bookings = Booking.objects.in_bulk([b for b, _ in pairs])
    slots = Slot.objects.filter(unit=unit).in_bulk([s for _, s in pairs])
    if len(bookings) != len({b for b, _ in pairs}) or len(slots) != len({s for _, s in pairs}):
        return [], "A booking or slot no longer exists; please preview again."
    return [(bookings[b], slots[s]) for b, s in pairs], ""


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
        "unit": unit,
        "next_url": safe_next(request),
        **page,
    }
    if page["planned"] is not None and not page["problem"]:
        may_override = can_override(request.user)
        options = list(page.get("options") or [])
        past_window = next((o for o in options if not o.in_window), None)
        context.update(
            find=find,
            look_from=look_from,
            can_override=may_override,
            # A nurse offered only dates a clinician may book asks a clinician right here
            # (issue 20: no dead ends); a booked dose has nothing to ask.
            offer_ask=not may_override
            and booking is None
            and (past_window is not None or not any(o.in_window for o in options)),
            ask_slot=past_window,
            # No "Book" button when every slot shown is one this person may not book.
            usable_options=may_override or any(o.in_window for o in options),
            **extra,
        )
    return render(request, "schedules/book.html", context, status=status)


@login_required
@book_permission
@require_http_methods(["GET", "HEAD", "POST"])
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
@require_safe
def booking_detail(request, booking_id: int):
    """The booking confirmation: when, where, the calendar file, and what to do next."""
    booking = get_booking(booking_id)
    course = get_course(booking.dose.course_id)
    upcoming = [
        dose.active_booking
        for dose in course.doses.all()
        if dose.active_booking is not None and dose.active_booking.pk != booking.pk
    ]
    series_moved = [
        (number, datetime.fromisoformat(old), datetime.fromisoformat(new))
        for number, old, new in request.session.pop(SERIES_SESSION_KEY, [])
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
            "series_moved": series_moved,
            "next_url": safe_next(request),
            "waitlist_entry": WaitlistEntry.objects.filter(patient=course.patient).first(),
            "waitlist_form": WaitlistForm(),
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


# "Book the year ahead" (issue 19 item 3): a maintenance dose every 28 days, so 13 doses
# cover the next twelve months.
YEAR_AHEAD_DOSES = 13
BOOK_NEXT_DOSES = 3


def _pinned(values: list[str], unit) -> tuple[dict[int, Slot], str]:
    """The slots the nurse chose per dose ("number:slot" each), or a problem sentence."""
    formset = book_next_formset(values, unit=unit)
    if formset.problem:
        return {}, formset.problem
    return dict(formset.choices), ""


@login_required
@book_permission
@require_http_methods(["GET", "HEAD", "POST"])
def book_next(request, course_id: int):
    """Book the next doses (three, or with `year=1` the year ahead), each in the best slot of
    its window (levelled, issue 19), chained, in one action: all or none.

    Changing one dose's slot suggests the later doses again from it (a GET with the choices,
    or the same page re-drawn when the choices posted no longer chain): the later doses'
    windows are counted from the earlier dose's new date, never from the one first shown
    (issue 19 "Why": the page used to keep them and then refuse, asking for a clinician)."""
    course = get_course(course_id)
    unit = Unit.current()
    year = (request.POST.get("year") or request.GET.get("year")) == "1"
    count = YEAR_AHEAD_DOSES if year else BOOK_NEXT_DOSES
    source = request.POST if request.method == "POST" else request.GET
    pinned, problem = (
        _pinned(source.getlist("choice"), unit) if source.getlist("choice") else ({}, "")
    )
    here = reverse("schedules:book_next", args=[course.pk]) + ("?year=1" if year else "")
    if problem:
        messages.error(request, problem)
        return redirect(here)

    suggestions, problem = [], ""
    if course.status != TreatmentCourse.Status.ACTIVE:
        problem = (
            f"Treatment is {course.get_status_display().lower()}: "
            "a clinician must resume it before doses can be booked."
        )
    else:
        try:
            suggestions = suggest_slots(course=course, unit=unit, count=count, pinned=pinned)
        except engine.ScheduleError as error:
            problem = PROBLEM.format(error=error)
    replaced = [s for s in suggestions if s.replaced is not None]

    if request.method == "POST" and not problem and "update" not in request.POST:
        if replaced:
            for s in replaced:
                messages.warning(
                    request,
                    f"Dose {s.planned.number}: {s.replaced} no longer fits its window "
                    f"({format_day(s.planned.window_start)} – {format_day(s.planned.window_end)},"
                    " counted from the dose before it) or has been taken; it is suggested again."
                    " Nothing was booked: check the dates and book.",
                )
        else:
            choices = sorted(pinned.items())
            try:
                bookings = services.book_next_doses(
                    course=course, choices=choices, booked_by=request.user
                )
            except services.ServiceError as error:
                messages.error(request, str(error))
                return redirect(here)
            numbers = ", ".join(str(b.dose.number) for b in bookings)
            messages.success(
                request,
                f"Booked dose{'s' if len(bookings) > 1 else ''} {numbers} for "
                f"{course.patient.full_name}. Reprint the schedule letter.",
            )
            return redirect("schedules:booking", bookings[0].pk)

    blockers = course.patient.treatment_blockers()
    rows = selectors.book_next_options(unit, suggestions, today=timezone.localdate())
    pending = suggestions[0].planned if suggestions else None
    return render(
        request,
        "schedules/book_next.html",
        {
            "course": course,
            "patient": course.patient,
            "unit": unit,
            "year": year,
            "count": count,
            "offer_year": pending is not None and pending.phase == engine.Phase.MAINTENANCE,
            "suggestions": suggestions,
            "rows": rows,
            "bookable": [s for s in suggestions if s.slot is not None],
            "problem": problem,
            "blockers": blockers,
        },
        status=200,
    )


@login_required
@change_permission
@require_http_methods(["GET", "HEAD", "POST"])
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

    if moving and SERIES_BUTTON in request.POST:
        later, problem = _series_choices(request.POST.getlist("move"), unit)
        if problem:
            form.add_error(None, problem)
            return page(status=400)
        try:
            moved = services.move_series(
                booking=booking,
                slot=form.cleaned_data["slot"],
                later=later,
                rescheduled_by=request.user,
                override_reason=form.cleaned_data.get("override_reason", ""),
                previewed=request.POST.get("previewed", ""),
            )
        except services.PreviewChanged as changed:
            return page(preview_stale=str(changed))
        except services.ServiceError as error:
            form.add_error(None, str(error))
            return page(status=400)
        # Shown once on the booking's page: every date old → new and the letter to reprint.
        request.session[SERIES_SESSION_KEY] = [
            [number, old.slot.start.isoformat(), new.slot.start.isoformat()]
            for number, old, new in moved
        ]
        messages.success(
            request,
            f"Moved {len(moved)} doses for {course.patient.full_name}. "
            "Reprint the schedule letter.",
        )
        return redirect("schedules:booking", moved[0][2].pk)
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
            offer_freed_place(request, booking.local_date)
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
@require_http_methods(["GET", "HEAD", "POST"])
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
            offer_freed_place(request, booking.local_date)
            return back(request, day_url(booking.local_date))
    return render(
        request,
        "schedules/cancel.html",
        {"booking": booking, "form": form, "next_url": safe_next(request)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@view_permission
@require_safe
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
@require_safe
def overdue(request):
    """Overdue doses (with any missed appointment), bookings flagged because an earlier dose
    moved, and past appointments with no outcome recorded (built by `selectors.overdue`)."""
    today_ = timezone.localdate()
    unit = Unit.current()
    worklist = selectors.overdue(unit, today=today_, page=request.GET.get("page"))
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
            "asked": selectors.clinician_requests(unit, today=today_),
            "today": today_,
            "now": timezone.now(),
            "here": request.get_full_path(),
            "can_override": can_override(request.user),
        },
    )


@login_required
@book_permission
@require_safe
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
            "offers": offers.waitlist_offers(unit, day, slots, today=today_),
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
            "it is listed for them on Overdue & rebook, under “Asked of a clinician”.",
        )
    return back(request, reverse("schedules:overdue"))
