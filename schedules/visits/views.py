"""The day: the flow board and the visit, start to finish (issue 7) — arrival, did not attend
and their undo, pre-dose checks, given or not given, observation, discharge; the live board's
poll and My tasks. Adverse events, the review and follow-up calls: `event_views`.

Each visit step is a small POST endpoint that redirects back (`next=`), or with htmx
re-renders the row's slot in place. Views bind a form, call a service, turn `ServiceError`
into a message and redirect; the services decide what is allowed. The board itself is built
by `schedules.visits.board`.
"""

from datetime import date, timedelta
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect

from schedules import services
from schedules.access import (
    back,
    change_permission,
    day_url,
    get_booking,
    safe_next,
    view_permission,
)
from schedules.models import Booking, Unit
from schedules.unit import grid
from schedules.visits import board as flow_board
from schedules.visits import freshness, tasks
from schedules.visits.administration import at_the_visit
from schedules.visits.forms import (
    ChecksForm,
    ClearChecksForm,
    DoseRecordForm,
    EarlyDischargeForm,
    NotGivenForm,
)
from schedules.visits.selectors import next_open_day, unit_calendar
from tofersen_scheduler.dates import format_day

record_permission = permission_required("schedules.record_administration", raise_exception=True)


@login_required
def home(request):
    return redirect("schedules:today")


def _board(request, unit: Unit, day: date, *, slot_id: int | None = None) -> flow_board.Board:
    here = request.get_full_path() if request.method in ("GET", "HEAD") else ""
    return flow_board.build_board(
        request.user,
        unit,
        day,
        today=timezone.localdate(),
        now=timezone.now(),
        here=here or safe_next(request) or day_url(day),
        slot_id=slot_id,
    )


def board_response(request, booking: Booking):
    """After a board button: with htmx, the booking's slot re-rendered in place and the
    messages swapped out of band (announced by their live region); without JavaScript,
    back to the page the button was on (POST/redirect/GET)."""
    if not request.htmx:
        return back(request, day_url(booking.local_date))
    unit = Unit.current()
    board = _board(request, unit, booking.local_date, slot_id=booking.slot_id)
    return render(
        request,
        "schedules/board/_htmx_slot.html",
        {**board.context(), "unit": unit, "board_slot": board.slots[0]},
    )


@login_required
@view_permission
@require_safe
def today(request):
    """Today's board; on a day the unit is closed (a weekend, a bank holiday, a closure) with
    no one booked, the next open day's board, saying so: a nurse opening the app on a Sunday
    sees Monday's list, not a blank page. A closed day that still holds bookings stays today's
    board, whose banner asks for them to be moved."""
    today_ = timezone.localdate()
    unit = Unit.current()
    state = freshness.board_state(today_, request.user.pk)  # before the board: see day()
    board = _board(request, unit, today_)
    if _patient_count(board):  # someone is booked: today's board (no calendar to read)
        return _day_page(request, unit, board, state)
    calendar = unit_calendar(today_, today_)
    if calendar.is_open(today_):
        return _day_page(request, unit, board, state)
    shown = next_open_day(calendar, today_)
    if not calendar.is_open(shown):  # no open day in sight: today's (empty) board
        return _day_page(request, unit, board, state)
    state = freshness.board_state(shown, request.user.pk)
    return _day_page(
        request,
        unit,
        _board(request, unit, shown),
        state,
        closed_today=f"The unit is closed today; showing {format_day(shown)}.",
    )


@login_required
@view_permission
@require_safe
def day(request, day: date):
    """The flow board: each slot with its places and who is in it; each patient's identity,
    where the visit is and the one next step (DESIGN §2 "Each visit"). It refreshes itself:
    `board_poll` every BOARD_POLL_SECONDS, sending the ETag it was given."""
    if not grid.in_range(day):
        raise Http404("No such day.")
    # The validator first: a write landing while the board is built makes the next poll a
    # 200 again (never a 304 over a change this page did not show).
    state = freshness.board_state(day, request.user.pk)
    unit = Unit.current()
    return _day_page(request, unit, _board(request, unit, day), state)


def _patient_count(board: flow_board.Board) -> int:
    return sum(len(s.rows) for s in board.slots)


def _day_page(
    request,
    unit: Unit,
    board: flow_board.Board,
    state: freshness.BoardState,
    *,
    closed_today: str = "",
):
    day = board.day
    return render(
        request,
        "schedules/day.html",
        {
            **_live_context(request, board, state),
            "unit": unit,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "closed_today": closed_today,
        },
    )


def _live_context(request, board: flow_board.Board, state: freshness.BoardState) -> dict:
    return {
        **board.context(),
        "patient_count": _patient_count(board),
        "etag": state.etag,
        "poll_url": reverse("schedules:board_poll", args=[board.day])
        + "?"
        + urlencode({"here": board.here}),
        "poll_seconds": max(int(settings.BOARD_POLL_SECONDS), 1),
    }


@require_safe
def board_poll(request, day: date):
    """The live board's refresh (htmx, every BOARD_POLL_SECONDS): 304 when nothing it shows
    changed (usually answered by schedules.middleware.BoardPollMiddleware from one query,
    before the session is read), else the board re-rendered, with the "My tasks" badge out of
    band. Signed out (the idle limit passed): the page goes to the sign-in screen."""
    if not request.user.is_authenticated:
        return HttpResponseClientRedirect(redirect_to_login(day_url(day)).url)
    if not request.user.has_perm("schedules.view_booking"):
        raise PermissionDenied
    if not grid.in_range(day):
        raise Http404("No such day.")
    state = freshness.board_state(day, request.user.pk)
    if freshness.matches(state, request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
        response["ETag"] = state.etag
        return response
    here = request.GET.get("here", "")
    # Where the rows' buttons come back to: the page the board is on, a path on this site.
    if not (
        here.startswith("/")
        and url_has_allowed_host_and_scheme(here, allowed_hosts={request.get_host()})
    ):
        here = day_url(day)
    unit = Unit.current()
    board = flow_board.build_board(
        request.user, unit, day, today=timezone.localdate(), now=timezone.now(), here=here
    )
    response = render(
        request,
        "schedules/board/_poll.html",
        {**_live_context(request, board, state), "unit": unit},
    )
    response["ETag"] = state.etag
    return response


@login_required
@require_safe
def my_tasks(request):
    """A clinician's queue (issue 20 §2): holds to review, checks stopped for a decision,
    booking requests, visits with no outcome, headache calls without a triage; each with the
    page that resolves it. For the people who may decide (`tasks.may_decide`)."""
    if not tasks.may_decide(request.user):
        raise PermissionDenied
    groups = tasks.my_tasks(
        Unit.current(), today=timezone.localdate(), here=request.get_full_path()
    )
    return render(
        request,
        "schedules/tasks.html",
        {"groups": groups, "total": sum(len(group.tasks) for group in groups)},
    )


@login_required
@change_permission
@require_POST
def arrived(request, booking_id: int):
    booking = get_booking(booking_id)
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
    booking = get_booking(booking_id)
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
    booking = get_booking(booking_id)
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
    booking = get_booking(booking_id)
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


def _page(request, template, booking, form, title, status=200, **extra):
    return render(
        request,
        template,
        {
            "booking": booking,
            "patient": booking.dose.course.patient,
            "visit": booking.visit_or_none,
            "form": form,
            "title": title,
            "next_url": safe_next(request),
            **extra,
        },
        status=status,
    )


@login_required
@change_permission
@require_http_methods(["GET", "HEAD", "POST"])
def checks(request, booking_id: int):
    """The pre-dose checks form; consents are shown from the record, not typed."""
    booking = get_booking(booking_id, with_visit=True)
    patient = booking.dose.course.patient
    form = ChecksForm(
        request.POST or None,
        could_be_pregnant=patient.could_be_pregnant,
        visit=getattr(booking, "visit", None),
    )
    if form.is_valid():
        try:
            visit = services.record_checks(
                booking=booking, recorded_by=request.user, **form.service_kwargs()
            )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            if visit.checks_complete:
                messages.success(request, "Pre-dose checks complete: the dose may be given.")
            elif visit.needs_clinician:
                stopped_by = visit.symptoms + (
                    ["pregnancy or breastfeeding"] if visit.pregnancy == visit.Pregnancy.YES else []
                )
                messages.warning(
                    request,
                    "Checks saved; the dose is stopped until a clinician decides, because the "
                    "answer was yes to: " + ", ".join(stopped_by) + ".",
                )
            else:
                messages.warning(
                    request,
                    "Checks saved but not complete: the dose cannot be given yet, because "
                    + "; ".join(_incomplete_because(visit))
                    + ".",
                )
            return back(request, day_url(booking.local_date))
    return _page(
        request,
        "schedules/visit/checks.html",
        booking,
        form,
        "Pre-dose checks",
        status=400 if request.method == "POST" else 200,
        blockers=patient.treatment_blockers(on=booking.local_date),
        consents=patient.consents.all(),
    )


def _incomplete_because(visit) -> list[str]:
    """What keeps saved checks from being complete, besides a clinician's decision
    (`Visit.checks_complete`), in words a nurse can act on."""
    reasons = []
    if not visit.consents_on_file:
        reasons.append("a consent is not on file (see the patient's record)")
    if visit.clotting_checked is False:
        reasons.append("clotting and platelets were asked for and not done")
    return reasons or ["a check is missing"]


@login_required
@record_permission
@require_http_methods(["GET", "HEAD", "POST"])
def clear(request, booking_id: int):
    booking = get_booking(booking_id, with_visit=True)
    form = ClearChecksForm(request.POST or None)
    if form.is_valid():
        try:
            services.clear_checks(
                booking=booking, cleared_by=request.user, note=form.cleaned_data["note"]
            )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Clinician's decision recorded: the dose may go ahead.")
            return back(request, day_url(booking.local_date))
    return _page(request, "schedules/visit/form.html", booking, form, "Clinician's decision")


def dose_record_page(request, *, dose_of, number: int, booking, patient, done_url: str):
    """The one page for a dose given (issue 17 §2), for the visit and the patient page alike:
    bind `DoseRecordForm`, call `record_administration` once, in one transaction (a refused
    record leaves no empty Dose row behind), and go back. `dose_of()` returns the dose to
    record (created for a dose given elsewhere with no booking). Given at the visit when the
    patient arrived or the visit is today or later; given elsewhere otherwise."""
    today = timezone.localdate()
    elsewhere = not at_the_visit(booking)
    start = booking.slot.start if booking is not None and booking.local_date < today else None
    initial = {"given_at": timezone.localtime(start).replace(second=0, microsecond=0)}
    if start is None:
        initial["given_at"] = timezone.localtime().replace(second=0, microsecond=0)
    form = DoseRecordForm(
        request.POST or None,
        initial=initial,
        elsewhere=elsewhere,
        could_be_pregnant=patient.could_be_pregnant,
    )
    if form.is_valid():
        try:
            with transaction.atomic():
                dose = services.record_administration(
                    dose=dose_of(), recorded_by=request.user, **form.service_kwargs()
                )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Dose {dose.number} recorded as given.")
            for warning in dose.warnings:
                messages.warning(request, warning)
            return redirect(safe_next(request) or done_url)
    title = f"Record dose {number} given" + (" elsewhere" if elsewhere else "")
    return render(
        request,
        "schedules/visit/dose_record.html",
        {
            "booking": booking,
            "patient": patient,
            "visit": booking.visit_or_none if booking is not None else None,
            "form": form,
            "title": title,
            "elsewhere": elsewhere,
            "next_url": safe_next(request),
        },
    )


@login_required
@record_permission
@require_http_methods(["GET", "HEAD", "POST"])
def give(request, booking_id: int):
    """Record the dose given at this visit (or, for a past visit left with no record, given
    elsewhere: a clinician's record with a reason and who did the checks)."""
    booking = get_booking(booking_id, with_visit=True)
    return dose_record_page(
        request,
        dose_of=lambda: booking.dose,
        number=booking.dose.number,
        booking=booking,
        patient=booking.dose.course.patient,
        done_url=day_url(booking.local_date),
    )


@login_required
@change_permission
@require_http_methods(["GET", "HEAD", "POST"])
def not_given(request, booking_id: int):
    booking = get_booking(booking_id, with_visit=True)
    form = NotGivenForm(request.POST or None)
    if form.is_valid():
        try:
            booking = services.record_not_given(
                booking=booking, recorded_by=request.user, **form.cleaned_data
            )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.warning(
                request,
                f"Dose {booking.dose.number} not given: it stays due and is on the Overdue & "
                "rebook list.",
            )
            for other in booking.cancelled_later:
                messages.warning(
                    request,
                    f"Dose {other.dose.number} on {other.slot} was cancelled: it was counted "
                    "from this visit.",
                )
            return back(request, day_url(booking.local_date))
    return _page(
        request,
        "schedules/visit/form.html",
        booking,
        form,
        f"Dose {booking.dose.number} not given",
        status=400 if request.method == "POST" else 200,
    )


@login_required
@change_permission
@require_POST
def observe(request, booking_id: int):
    booking = get_booking(booking_id, with_visit=True)
    try:
        services.start_observation(booking=booking, recorded_by=request.user)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Observation started (60–90 minutes).")
    return board_response(request, booking)


@login_required
@change_permission
@require_http_methods(["GET", "HEAD", "POST"])
def discharge(request, booking_id: int):
    """Discharge from the board (a POST). Before the leaflet's 60 minutes of observation the
    service refuses it unconfirmed: the nurse is sent to this page's form, which asks for the
    confirmation and the reason the visit keeps."""
    booking = get_booking(booking_id, with_visit=True)
    if request.method == "POST" and "early_reason" not in request.POST:
        try:
            visit = services.record_discharge(booking=booking, recorded_by=request.user)
        except services.EarlyDischarge as early:
            messages.warning(request, str(early))
            url = reverse("schedules:visit_discharge", args=[booking.pk])
            url += f"?next={quote(safe_next(request) or day_url(booking.local_date))}"
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        except services.ServiceError as error:
            messages.error(request, str(error))
        else:
            _discharged(request, booking, visit)
        return board_response(request, booking)
    form = EarlyDischargeForm(request.POST or None)
    if form.is_valid():
        try:
            visit = services.record_discharge(
                booking=booking,
                recorded_by=request.user,
                early_reason=form.cleaned_data["early_reason"],
            )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            _discharged(request, booking, visit)
            return back(request, day_url(booking.local_date))
    return _page(
        request,
        "schedules/visit/form.html",
        booking,
        form,
        "Discharge before 60 minutes of observation",
        status=400 if request.method == "POST" else 200,
    )


def _discharged(request, booking, visit) -> None:
    messages.success(request, f"{booking.dose.course.patient.full_name} discharged.")
    for warning in visit.warnings:
        messages.warning(request, warning)
