"""The nurses' pages: booking, the worklists, the day list and the unit's calendar.

Every view has one shape: login and permission decorators, fetch through a helper that 404s,
bind a form, call a service, catch `ServiceError` into a message, redirect (POST/redirect/GET).
Dates come from the engine (through `schedules.planning`); the pages only
lay them out.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from schedules import engine, planning, services
from schedules.forms import AskClinicianForm, CancelForm, FindSlotsForm, SlotChoiceForm
from schedules.models import Booking, Dose, Slot, TreatmentCourse, Unit, Visit
from schedules.unit import grid as calendar_grid
from tofersen_scheduler.dates import format_day

# The name of the "Preview changes" button on pages that show a change before confirming it.
PREVIEW_BUTTON = "preview"

# Far beyond any real course (13 doses a year), small enough to refuse nonsense in URLs.
MAX_DOSE_NUMBER = 1000

view_permission = permission_required("schedules.view_booking", raise_exception=True)
book_permission = permission_required("schedules.add_booking", raise_exception=True)
change_permission = permission_required("schedules.change_booking", raise_exception=True)


# Helpers ---------------------------------------------------------------------------------------


def _course_queryset():
    return planning.course_queryset()


def _get_course(course_id: int) -> TreatmentCourse:
    return get_object_or_404(_course_queryset(), pk=course_id)


def _get_booking(booking_id: int) -> Booking:
    return get_object_or_404(
        Booking.objects.select_related("dose__course__patient", "slot__unit"), pk=booking_id
    )


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only: redirect() would take "a b" for a URL name (a 500).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _back(request, default: str):
    return redirect(_safe_next(request) or default)


def _day_url(day: date) -> str:
    return reverse("schedules:day", args=[day])


def _today() -> date:
    return timezone.localdate()


def _dose_objects(course) -> dict[int, Dose]:
    return {dose.number: dose for dose in course.doses.all()}


# Home ------------------------------------------------------------------------------------------


@login_required
def home(request):
    return redirect("schedules:today")


# Booking ---------------------------------------------------------------------------------------


def _chosen_slot(data, unit, planned):
    """The free slot the posted form (or the query string) chose, with its free places and
    window flag, or None."""
    try:
        pk = int(data.get("slot", ""))
    except (ValueError, OverflowError):
        return None
    if not 0 < pk < 2**31:
        return None
    slot = (
        Slot.objects.filter(unit=unit, pk=pk, start__gte=timezone.now()).with_booked_count().first()
    )
    if slot is None or slot.booked_count >= slot.places:
        return None
    slot.unit = unit
    slot.free_places = slot.places - slot.booked_count
    slot.in_window = planned.window_start <= slot.local_date <= planned.window_end
    return slot


def _booking_page(
    request,
    *,
    course,
    number,
    unit,
    form,
    booking=None,
    status=200,
    preview_stale="",
):
    """The book or reschedule page for dose `number`: its due date and window from the
    engine (counted from the doses before it) and the free slots to choose from."""
    today = _today()
    plan = planning.plan_for(course, today=today, unit=unit, before=number)
    problem = plan.problem
    planned = plan.dose(number)
    doses = _dose_objects(course)
    dose = doses.get(number)
    context = {
        "course": course,
        "patient": course.patient,
        "number": number,
        "planned": planned,
        "problem": problem,
        "form": form,
        "booking": booking,
        "blockers": [],
        "options": [],
        "next_url": _safe_next(request),
    }
    if planned is None or problem:
        return render(request, "schedules/book.html", context, status=status)
    if booking is None:
        active = dose.active_booking if dose else None
        if dose is not None and dose.given_at:
            context["given"] = dose
        elif active is not None:
            context["already"] = active
        elif planned.state not in planning.BOOKABLE_STATES:
            context["book_first"] = plan.pending.number if plan.pending else None
    context["blockers"] = course.patient.treatment_blockers(on=max(planned.date, today))
    later = next(
        (
            d.active_booking
            for n, d in sorted(doses.items())
            if n > number and d.active_booking is not None
        ),
        None,
    )
    context["later"] = later
    find = FindSlotsForm(request.GET or None)
    look_from = None
    if find.is_bound and find.is_valid():
        look_from = find.cleaned_data["start"]
        if look_from is not None and not calendar_grid.in_range(look_from):
            find.add_error("start", "Choose a date within this century.")
            look_from = None
    context["find"] = find
    context["look_from"] = look_from
    options = planning.book_choices(unit, planned, today=today, look_from=look_from)
    if booking is not None:
        options = [slot for slot in options if slot.pk != booking.slot_id]
    # A slot chosen on a worklist and refused (a clinician who must give a reason, a nurse
    # past the window) stays on the page, chosen, so nothing has to be found again.
    chosen = _chosen_slot(form.data if form.is_bound else request.GET, unit, planned)
    if chosen is not None and booking is not None and chosen.pk == booking.slot_id:
        chosen = None
    if chosen is not None and all(slot.pk != chosen.pk for slot in options):
        options = [chosen, *options]
    context["chosen_pk"] = chosen.pk if chosen is not None else None
    context["options"] = options
    context["can_override"] = request.user.has_perm("schedules.override_booking_window")
    if booking is not None:
        # What the move will change, for the slot chosen (or the one the page checks first).
        target = chosen or next((slot for slot in options[:1] if slot.in_window), None)
        preview = None
        if target is not None:
            preview = planning.preview_change(
                course, change=planning.Reschedule(booking, target), today=today
            )
        context["preview"] = preview
        context["preview_stale"] = preview_stale
        context["preview_slot"] = target
    return render(request, "schedules/book.html", context, status=status)


@login_required
@book_permission
@require_http_methods(["GET", "POST"])
def book(request, course_id: int, number: int):
    course = _get_course(course_id)
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
            next_url = _safe_next(request)
            return redirect(next_url or reverse("schedules:booking", args=[booking.pk]))
        # Show the page again with the choices as they are now.
        course = _get_course(course_id)
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
    booking = _get_booking(booking_id)
    course = _get_course(booking.dose.course_id)
    upcoming = [
        dose.active_booking
        for dose in course.doses.all()
        if dose.active_booking is not None and dose.active_booking.pk != booking.pk
    ]
    return render(
        request,
        "schedules/booking_detail.html",
        {
            "booking": booking,
            "patient": course.patient,
            "course": course,
            "upcoming": upcoming,
            "next_url": _safe_next(request),
        },
    )


@login_required
@book_permission
@require_http_methods(["GET", "POST"])
def book_next(request, course_id: int):
    """Book the next three doses, each in the first free slot of its window, in one action."""
    course = _get_course(course_id)
    unit = Unit.current()
    if request.method == "POST":
        choices, problem = _parse_choices(request.POST.getlist("choice"), unit)
        if problem:
            messages.error(request, problem)
            return redirect("schedules:book_next", course.pk)
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
            suggestions = planning.suggest_slots(course=course, unit=unit, count=3)
        except engine.ScheduleError as error:
            problem = planning.PROBLEM.format(error=error)
    blockers = course.patient.treatment_blockers()
    # Each dose's slot can be changed: the free slots of the window the suggestion chain gives
    # it. Choosing a later slot for one dose can push the next dose's window; the service then
    # refuses the set with a sentence saying which dose to change.
    rows = planning.book_next_options(unit, suggestions, today=_today())
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


def _parse_choices(values, unit):
    """["2:15", "3:41"] → [(2, slot 15), (3, slot 41)], or a message saying what is wrong."""
    pairs = []
    for value in values:
        number, _, slot_id = value.partition(":")
        # ASCII digits in range only: "²" passes isdigit() and 40000 overflows a smallint.
        if not (
            re.fullmatch(r"[0-9]{1,4}", number)
            and re.fullmatch(r"[0-9]{1,18}", slot_id)
            and 1 <= int(number) <= 1000
        ):
            return [], "The choices sent were not understood; please try again."
        pairs.append((int(number), int(slot_id)))
    if not pairs:
        return [], "There was nothing to book."
    slots = Slot.objects.filter(unit=unit).in_bulk([slot_id for _, slot_id in pairs])
    if len(slots) != len({slot_id for _, slot_id in pairs}):
        return [], "One of the slots no longer exists; please choose again."
    return [(number, slots[slot_id]) for number, slot_id in pairs], ""


@login_required
@change_permission
@require_http_methods(["GET", "POST"])
def reschedule(request, booking_id: int):
    booking = _get_booking(booking_id)
    unit = Unit.current()
    course = _get_course(booking.dose.course_id)
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
            course = _get_course(booking.dose.course_id)
        else:
            messages.success(
                request,
                f"Moved dose {new.dose.number} for {course.patient.full_name} to {new.slot}.",
            )
            return _back(request, reverse("schedules:booking", args=[new.pk]))
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
    booking = _get_booking(booking_id)
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
            return _back(request, _day_url(booking.local_date))
    return render(
        request,
        "schedules/cancel.html",
        {"booking": booking, "form": form, "next_url": _safe_next(request)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@change_permission
@require_POST
def arrived(request, booking_id: int):
    booking = _get_booking(booking_id)
    try:
        services.mark_arrived(booking=booking, marked_by=request.user)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"{booking.dose.course.patient.full_name} has arrived. Pressed by mistake? "
            f"Undo within {Booking.UNDO_MINUTES} minutes.",
        )
    return board_response(request, booking)


@login_required
@change_permission
@require_POST
def noshow(request, booking_id: int):
    booking = _get_booking(booking_id)
    try:
        booking = services.mark_no_show(booking=booking, marked_by=request.user)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        patient = booking.dose.course.patient
        messages.warning(
            request,
            f"{patient.full_name} did not attend: dose {booking.dose.number} is on the "
            "Overdue & rebook list. Pressed by mistake? "
            f"Undo within {Booking.UNDO_MINUTES} minutes.",
        )
        for other in booking.cancelled_later:
            messages.warning(
                request,
                f"Dose {other.dose.number} on {other.slot} was cancelled: it was counted from "
                f"the missed dose. Rebook it after dose {booking.dose.number} is given.",
            )
    return board_response(request, booking)


@login_required
@change_permission
@require_POST
def undo_arrived(request, booking_id: int):
    booking = _get_booking(booking_id)
    try:
        services.undo_arrived(booking=booking, undone_by=request.user)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Arrival undone: {booking.dose.course.patient.full_name} is waiting for arrival.",
        )
    return board_response(request, booking)


@login_required
@change_permission
@require_POST
def undo_noshow(request, booking_id: int):
    booking = _get_booking(booking_id)
    try:
        booking = services.undo_no_show(booking=booking, undone_by=request.user)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"'Did not attend' undone: {booking.dose.course.patient.full_name} is booked "
            f"again for dose {booking.dose.number}.",
        )
        for other in booking.restored_later:
            messages.success(request, f"Dose {other.dose.number} on {other.slot} is booked again.")
    return board_response(request, booking)


# Day list and worklists ------------------------------------------------------------------------


def _phase_lookup(courses, *, unit, calendar, today):
    """{course id: {dose number: phase}} from the engine, one plan per course."""
    return {
        course.pk: {
            p.number: p.phase
            for p in planning.plan_for(course, today=today, unit=unit, calendar=calendar)
        }
        for course in courses
    }


def _slots_with_patients(
    unit: Unit, first: date, last: date, *, slot_id: int | None = None, for_planning: bool = True
):
    """The unit's slots between two days (or the one slot `slot_id`) with their (not
    cancelled) bookings: a constant number of queries. `for_planning` prefetches each
    booking's course for the engine and the patient's consents (the day list shows phases and
    blockers); the week shows only names, dose numbers and statuses, so it leaves them out."""
    bookings = (
        Booking.objects.exclude(status=Booking.Status.CANCELLED)
        .select_related("dose__course__patient", "visit")
        .order_by("dose__course__patient__family_name", "pk")
    )
    if for_planning:
        bookings = bookings.prefetch_related(
            "dose__course__events",
            "dose__course__patient__consents",
            Prefetch("dose__course__doses", queryset=Dose.objects.with_active_booking()),
        )
    found = Slot.objects.between(unit, first, last)
    if slot_id is not None:
        found = found.filter(pk=slot_id)
    slots = list(
        found.with_booked_count()
        .prefetch_related(Prefetch("bookings", queryset=bookings, to_attr="listed_bookings"))
        .order_by("start")
    )
    for slot in slots:
        slot.unit = unit
        slot.free_places = max(slot.places - slot.booked_count, 0)
        for booking in slot.listed_bookings:
            booking.slot = slot
    return slots


@login_required
@view_permission
@require_GET
def today(request):
    return day(request, _today())


@login_required
@view_permission
@require_GET
def day(request, day: date):
    """The flow board: each slot with its places and who is in it; each patient's identity,
    where the visit is and the one next step (DESIGN §2 "Each visit")."""
    if not calendar_grid.in_range(day):
        raise Http404("No such day.")
    unit = Unit.current()
    board = _board(request, unit, day)
    return render(
        request,
        "schedules/day.html",
        {
            **board.context(),
            "unit": unit,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "patient_count": sum(len(s.rows) for s in board.slots),
        },
    )


# The flow board --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One button on the board: a POST form (sent with htmx when JavaScript runs) or a link
    to a page with a form (checks, give, not given, reschedule, cancel)."""

    label: str
    url: str
    post: bool = False
    style: str = "primary"


@dataclass
class BoardRow:
    booking: Booking
    stage: str
    phase: str
    blockers: list[str]
    visit: Visit | None
    primary: Action | None
    more: list[Action]
    undo: Action | None
    undo_deadline: datetime | None
    minutes_observed: int | None
    guidance: str
    waiting_for: str

    @property
    def patient(self):
        return self.booking.dose.course.patient


@dataclass
class BoardSlot:
    slot: Slot
    rows: list[BoardRow] = field(default_factory=list)

    @property
    def booked(self) -> int:
        return sum(1 for row in self.rows if row.booking.status in Booking.PLACE_STATUSES)

    @property
    def free(self) -> int:
        return max(self.slot.places - self.booked, 0)


@dataclass
class Board:
    day: date
    today: date
    closed: str
    here: str
    slots: list[BoardSlot]

    def context(self) -> dict:
        return {
            "day": self.day,
            "today": self.today,
            "is_today": self.day == self.today,
            "closed": self.closed,
            "here": self.here,
            "board": self,
            "slots": self.slots,
        }


def _board(request, unit: Unit, day: date, *, slot_id: int | None = None) -> Board:
    today_ = _today()
    now = timezone.now()
    here = request.get_full_path() if request.method == "GET" else ""
    here = here or _safe_next(request) or _day_url(day)
    closed = unit.calendar(day, day).closure_reason(day)
    slots = _slots_with_patients(unit, day, day, slot_id=slot_id)
    courses = {b.dose.course.pk: b.dose.course for s in slots for b in s.listed_bookings}
    phases = _phase_lookup(
        courses.values(), unit=unit, calendar=planning.open_calendar(unit, today_), today=today_
    )
    board = Board(day=day, today=today_, closed=closed, here=here, slots=[])
    for slot in slots:
        board_slot = BoardSlot(slot=slot)
        for booking in slot.listed_bookings:
            course = booking.dose.course
            board_slot.rows.append(
                _board_row(
                    request.user,
                    booking,
                    board,
                    now=now,
                    phase=phases.get(course.pk, {}).get(booking.dose.number, ""),
                    blockers=course.patient.treatment_blockers(on=day),
                )
            )
        board.slots.append(board_slot)
    return board


def _board_row(user, booking: Booking, board: Board, *, now, phase, blockers) -> BoardRow:
    """What one row offers: the next step as one button, the rest under "More"."""
    stage, visit, day, today_ = booking.stage, booking.visit_or_none, board.day, board.today
    pk, here = booking.pk, board.here

    def link(name, label, style="primary"):
        return Action(label, f"{reverse(name, args=[pk])}?next={quote(here)}", style=style)

    def post(name, label, style="primary"):
        return Action(label, reverse(name, args=[pk]), post=True, style=style)

    may_give = user.has_perm("schedules.record_administration")
    primary, more, guidance, waiting_for = None, [], "", ""
    if stage == Visit.Stage.BOOKED:
        if board.closed and day >= today_:
            guidance = "Unit closed: reschedule this booking."
            primary = link("schedules:reschedule", "Reschedule")
        elif day == today_:
            primary = post("schedules:arrived", "Arrived")
        elif day < today_:
            primary = (
                link("schedules:visit_give", "Record given (late)")
                if may_give
                else link("schedules:visit_not_given", "Not given")
            )
        if day <= today_:
            more.append(post("schedules:noshow", "Did not attend", "outline-danger"))
        if day < today_ and may_give:
            more.append(link("schedules:visit_not_given", "Not given", "outline-danger"))
        if day >= today_:
            if primary is None or primary.label != "Reschedule":
                more.append(link("schedules:reschedule", "Reschedule", "outline-primary"))
            more.append(link("schedules:cancel", "Cancel", "outline-secondary"))
    elif stage == Visit.Stage.ARRIVED:
        if visit is not None and visit.needs_clinician:
            if may_give:
                primary = link("schedules:visit_clear", "Clinician decision", "warning")
            else:
                waiting_for = "A clinician must decide before the dose is given."
            more.append(link("schedules:visit_checks", "Pre-dose checks", "outline-primary"))
        else:
            primary = link("schedules:visit_checks", "Pre-dose checks")
        more.append(link("schedules:visit_not_given", "Not given", "outline-danger"))
    elif stage == Visit.Stage.CHECKS_DONE:
        if may_give:
            primary = link("schedules:visit_give", "Record dose given", "success")
        else:
            waiting_for = "Checks done: a clinician records the dose."
        more.append(link("schedules:visit_not_given", "Not given", "outline-danger"))
    elif stage == Visit.Stage.GIVEN:
        primary = post("schedules:visit_observe", "Start observation")
        more.append(post("schedules:visit_discharge", "Discharge", "outline-success"))
    elif stage == Visit.Stage.OBSERVATION:
        primary = post("schedules:visit_discharge", "Discharge", "success")
    undo, deadline = None, booking.undo_deadline
    if deadline is not None and now <= deadline:
        if stage == Visit.Stage.NOSHOW:
            undo = post("schedules:undo_noshow", "Undo did not attend", "outline-dark")
        else:
            undo = post("schedules:undo_arrived", "Undo arrived", "outline-dark")
    return BoardRow(
        booking=booking,
        stage=stage,
        phase=phase,
        blockers=blockers,
        visit=visit,
        primary=primary,
        more=more,
        undo=undo,
        undo_deadline=deadline if undo else None,
        minutes_observed=visit.minutes_observed(now) if visit else None,
        guidance=guidance,
        waiting_for=waiting_for,
    )


def board_response(request, booking: Booking):
    """After a board button: with htmx, the booking's slot re-rendered in place and the
    messages swapped out of band (announced by their live region); without JavaScript,
    back to the page the button was on (POST/redirect/GET)."""
    if not request.htmx:
        return _back(request, _day_url(booking.local_date))
    unit = Unit.current()
    board = _board(request, unit, booking.local_date, slot_id=booking.slot_id)
    return render(
        request,
        "schedules/board/_htmx_slot.html",
        {**board.context(), "unit": unit, "board_slot": board.slots[0]},
    )


@login_required
@view_permission
@require_GET
def needs_booking(request):
    """Doses due in the next weeks with no booking, most urgent first, with the first free
    slots of each window offered as one-click choices (built by `planning.needs_booking`)."""
    today_ = _today()
    worklist = planning.needs_booking(Unit.current(), today=today_, page=request.GET.get("page"))
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
    moved, and past appointments with no outcome recorded (built by `planning.overdue`)."""
    today_ = _today()
    worklist = planning.overdue(Unit.current(), today=today_, page=request.GET.get("page"))
    return render(
        request,
        "schedules/overdue.html",
        {
            "overdue_rows": worklist.overdue_rows,
            "flagged": worklist.flagged,
            "unrecorded": worklist.unrecorded,
            "problems": worklist.problems,
            "page": worklist.page,
            "held": planning.held_courses(),
            "asked": [row for row in worklist.overdue_rows if row.request],
            "today": today_,
            "here": request.get_full_path(),
            "can_override": request.user.has_perm("schedules.override_booking_window"),
        },
    )


# Calendars -------------------------------------------------------------------------------------


@login_required
@view_permission
@require_GET
def month(request):
    """Month view: per day, places booked of places offered; closures and bank holidays."""
    unit = Unit.current()
    today_ = _today()
    first = today_.replace(day=1)
    requested = request.GET.get("month", "")
    if requested:
        parsed = calendar_grid.parse_month(requested)
        if parsed is None:
            messages.warning(
                request, f"“{requested[:20]}” is not a month like 2026-03; showing this month."
            )
        else:
            first = parsed
    weeks = calendar_grid.month_weeks(first)
    grid_first, grid_last = weeks[0][0], weeks[-1][-1]
    empty = {"booked": 0, "places": 0, "slots": 0, "attended": 0, "noshow": 0, "unrecorded": 0}
    totals = defaultdict(lambda: dict(empty))
    # Past days show what happened, from the facts in the same query (the forecast only looks
    # forward): patients who came (arrived, given or not given) and who did not attend.
    statuses = Booking.Status
    slots = (
        Slot.objects.between(unit, grid_first, grid_last)
        .with_booked_count()
        .annotate(
            attended=Count(
                "bookings",
                filter=Q(
                    bookings__status__in=[
                        statuses.ARRIVED,
                        statuses.FULFILLED,
                        statuses.NOT_GIVEN,
                    ]
                ),
            ),
            noshow=Count("bookings", filter=Q(bookings__status=statuses.NOSHOW)),
            unrecorded=Count("bookings", filter=Q(bookings__status=statuses.BOOKED)),
        )
    )
    for slot in slots:
        slot.unit = unit
        total = totals[slot.local_date]
        total["booked"] += slot.booked_count
        total["places"] += slot.places
        total["slots"] += 1
        total["attended"] += slot.attended
        total["noshow"] += slot.noshow
        total["unrecorded"] += slot.unrecorded
    calendar = unit.calendar(grid_first, grid_last)
    grid = [
        [
            {
                "date": day,
                "in_month": day.month == first.month,
                "is_today": day == today_,
                "closed": calendar.closure_reason(day),
                "weekend": day.weekday() >= 5,
                **totals.get(day, empty),
            }
            for day in week
        ]
        for week in weeks
    ]
    # Demand not yet booked, from the planning forecast (today onwards: the past has none).
    demand = {}
    if grid_last >= today_:
        forecast = planning.forecast(unit, max(grid_first, today_), grid_last, today=today_)
        demand = {day.date: day.due_unbooked for day in forecast}
    for week in grid:
        for cell in week:
            # A closed day is closed, never "Full"; the heat map shades open days by their
            # load: booked plus due but not yet booked, against places.
            cell["full"] = bool(cell["places"]) and cell["booked"] >= cell["places"]
            cell["full"] = cell["full"] and not cell["closed"]
            cell["due_unbooked"] = demand.get(cell["date"]) or None
            cell["past"] = cell["date"] < today_
            if cell["past"]:
                # Places that were used: who came, who did not, and any still unrecorded
                # (booked, no outcome yet: listed on Overdue & rebook).
                load = cell["attended"] + cell["noshow"] + cell["unrecorded"]
                cell["full"] = False
            else:
                load = cell["booked"] + (cell["due_unbooked"] or 0)
            cell["load"] = calendar_grid.load_level(load, cell["places"])
    previous_month = calendar_grid.previous_month(first)
    next_month = calendar_grid.next_month(first)
    return render(
        request,
        "schedules/month.html",
        {
            "first": first,
            "grid": grid,
            "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            "previous_month": previous_month if calendar_grid.in_range(previous_month) else None,
            "next_month": next_month if calendar_grid.in_range(next_month) else None,
            "this_month": today_.replace(day=1),
            "today": today_,
        },
    )


@login_required
@view_permission
@require_GET
def week(request):
    """Week view: each slot with its patients."""
    unit = Unit.current()
    today_ = _today()
    anchor = today_
    requested = request.GET.get("week", "")
    if requested:
        parsed = calendar_grid.parse_day(requested)
        if parsed is None:
            messages.warning(
                request,
                f"“{requested[:20]}” is not a date like 2026-03-02; showing this week.",
            )
        else:
            anchor = parsed
    days = calendar_grid.week_of(anchor)
    slots = _slots_with_patients(unit, days[0], days[-1], for_planning=False)
    calendar = unit.calendar(days[0], days[-1])
    by_day = defaultdict(list)
    for slot in slots:
        by_day[slot.local_date].append(slot)
    columns = [
        {
            "date": day,
            "is_today": day == today_,
            "closed": calendar.closure_reason(day),
            "slots": by_day.get(day, []),
        }
        for day in days
    ]
    previous_week, next_week = days[0] - timedelta(days=7), days[0] + timedelta(days=7)
    return render(
        request,
        "schedules/week.html",
        {
            "columns": columns,
            "first": days[0],
            "last": days[-1],
            "previous_week": previous_week if calendar_grid.in_range(previous_week) else None,
            "next_week": next_week if calendar_grid.in_range(next_week) else None,
            "today": today_,
        },
    )


@login_required
@view_permission
@require_GET
def capacity(request):
    """Demand and capacity ahead (issue 8): per open day places, booked, due but unbooked;
    weeks that cannot fit their due doses; how many more patients can start next month."""
    weeks = request.GET.get("weeks", "12")
    if not weeks.isdigit() or not 1 <= int(weeks) <= planning.FORECAST_MAX_WEEKS:
        messages.warning(request, f"Choose 1 to {planning.FORECAST_MAX_WEEKS} weeks; showing 12.")
        weeks = "12"
    report = planning.forecast_report(Unit.current(), weeks=int(weeks), today=_today())
    return render(
        request,
        "schedules/capacity.html",
        {"report": report, "weeks": int(weeks), "today": _today()},
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
    return _back(request, reverse("schedules:calendar"))


@login_required
@book_permission
@require_GET
def book_day(request, day: date):
    """Book into one day (from the month's heat map): each dose that can be booked now and
    whose window holds that day (or that is overdue, so as soon as possible), with that day's
    free slots as one-click choices. Booking returns here (the `next` of each choice)."""
    unit = Unit.current()
    today_ = _today()
    if day < today_:
        messages.warning(request, f"{format_day(day)} has passed: choose today or a later day.")
        return redirect(f"{reverse('schedules:calendar')}?month={day:%Y-%m}")
    slots, rows = planning.bookable_on(unit, day, today=today_)
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
    course = _get_course(course_id)
    if not 1 <= number <= MAX_DOSE_NUMBER:
        raise Http404("No such dose.")
    form = AskClinicianForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        messages.error(request, f"Nothing was sent to a clinician: {field} — {errors[0]}")
        return _back(request, reverse("schedules:overdue"))
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
    return _back(request, reverse("schedules:overdue"))
