"""Calendar feeds (no login: the secret link is the key), their links, and the schedule letter.

Feeds answer an unknown and a revoked token with the same bytes, and a conditional GET with a
304 from one query (`freshness`: the token, the unit and every stamp the ETag needs), before
anything else is read or built, because calendar apps poll every few hours for years. Pages
that issue, revoke or print a link follow the usual view shape.
"""

from datetime import timedelta

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import caches
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, urlencode
from django.views.decorators.http import require_POST, require_safe

from patients.models import FeedToken, Patient
from patients.services import (
    issue_feed_link,
    issue_staff_feed_link,
    revoke_feed_link,
    revoke_staff_feed_link,
)
from schedules.feeds import freshness, ical
from schedules.feeds.links import feed_url, subscribe_url, webcal_url
from schedules.messaging import texts
from schedules.models import Booking, TreatmentCourse, Unit

CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8; method=PUBLISH"
# Writing last_fetched_at on every poll would turn reads into writes; once a minute is plenty
# for "calendar last updated on the patient's phone".
FETCH_RECORD_INTERVAL = timedelta(minutes=1)
STAFF_FEED_PERMISSION = "schedules.view_booking"
FEED_CACHE = "feeds"  # settings.CACHES
# A version of a feed lives a day at most: its ETag changes at the unit's midnight anyway.
FEED_CACHE_SECONDS = 24 * 60 * 60


def _feed_headers(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


def _not_found() -> HttpResponse:
    """The single answer for unknown, revoked and mistyped tokens: nothing tells them apart."""
    response = HttpResponse(
        "Calendar not found.\n", status=404, content_type="text/plain; charset=utf-8"
    )
    return _feed_headers(response)


TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)


def _canonical(request, token: str) -> bool:
    """The token exactly as issued: 43 characters, and not percent-encoded in the request
    line (WSGI servers decode the path; gunicorn and uWSGI keep the raw one). A variant gets
    the same 404 as an unknown token, before any lookup."""
    raw_uri = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    return len(token) == TOKEN_LENGTH and (raw_uri is None or token in raw_uri.split("?")[0])


def _record_fetch(token_id: int, last_fetched_at) -> None:
    now = timezone.now()
    if last_fetched_at is None or now - last_fetched_at >= FETCH_RECORD_INTERVAL:
        FeedToken.objects.filter(pk=token_id).update(last_fetched_at=now)


def _serve(request, state: freshness.FeedState, build) -> HttpResponse:
    """304 from the validators alone; otherwise build the calendar."""
    etag = f'"{state.etag}"'
    last_modified = state.last_modified.timestamp()
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = HttpResponse(build(), content_type=CALENDAR_CONTENT_TYPE)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    return _feed_headers(response)


@require_safe
def patient_feed(request, token: str):
    """One query answers a poll with nothing new (304); a changed feed is built after it."""
    if not _canonical(request, token):
        return _not_found()
    found = freshness.patient_feed(token)
    if found is None:  # no unit yet: an unknown link is still just not found
        if FeedToken.objects.lookup(token) is None:
            return _not_found()
        Unit.current()  # raises UnitMissing, which says what an admin must do
    if found.owner_id is None:
        return _not_found()
    _record_fetch(found.token_id, found.last_fetched_at)
    return _serve(request, found.state, lambda: _patient_body(found))


def _patient_body(found: freshness.Freshness) -> bytes:
    """The patient's calendar, rendered once per version: the key holds the ETag, which
    changes whenever anything the calendar is built from does (and every day), so a cached
    body is never stale; a new version simply misses. Each app server keeps its own copies."""
    key = f"patient:{found.owner_id}:{found.state.etag}"
    cache = caches[FEED_CACHE]
    body = cache.get(key)
    if body is None:
        body = ical.patient_calendar(found.owner_id, found.unit, today=found.today).to_ical()
        cache.set(key, body, FEED_CACHE_SECONDS)
    return body


@require_safe
def staff_feed(request, token: str):
    if not _canonical(request, token):
        return _not_found()
    feed_token = FeedToken.objects.select_related("user").lookup(token)
    user = feed_token.user if feed_token is not None else None
    # A member of staff who leaves (deactivated), changes password or changes role loses the
    # feed at once.
    if (
        user is None
        or not feed_token.owner_still_valid()
        or not user.has_perm(STAFF_FEED_PERMISSION)
    ):
        return _not_found()
    _record_fetch(feed_token.pk, feed_token.last_fetched_at)
    found = freshness.staff_feed(feed_token)
    if found is None:
        Unit.current()  # raises UnitMissing
    return _serve(
        request, found.state, lambda: ical.staff_calendar(found.unit, today=found.today).to_ical()
    )


@require_safe
def subscribe(request, token: str):
    """Where the letter's QR code leads: one button per calendar app, each subscribing (not
    importing once) to the patient's feed. No login, like the feed, and as discreet."""
    if not _canonical(request, token):
        return _not_found()
    feed_token = FeedToken.objects.lookup(token)
    if feed_token is None or feed_token.patient_id is None:
        return _not_found()
    link = feed_url(token)
    unit = Unit.current()
    name = ical.calendar_name(unit)
    context = {
        "name": name,
        "link": link,
        "webcal_link": webcal_url(link),
        "google_link": "https://calendar.google.com/calendar/render?"
        + urlencode({"cid": webcal_url(link)}),
        "outlook_link": "https://outlook.live.com/calendar/0/addfromweb?"
        + urlencode({"url": link, "name": name}),
        "unit": unit,
    }
    response = _feed_headers(render(request, "feeds/subscribe.html", context))
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@permission_required("schedules.view_booking", raise_exception=True)
@require_safe
def booking_ics(request, booking_id: int):
    """One appointment as a file to import or attach to an email: the feed's event, so
    importing it next to the subscription does not make a second, different event."""
    booking = get_object_or_404(Booking.objects.select_related("slot__unit", "dose"), pk=booking_id)
    if booking.status not in ical.FEED_STATUSES:
        return HttpResponse(
            f"This booking is {booking.get_status_display().lower()}: there is no appointment "
            "to download.\n",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    body = ical.booking_calendar(booking).to_ical()
    response = HttpResponse(body, content_type=CALENDAR_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="appointment-{booking.slot.local_date:%Y-%m-%d}.ics"'
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


# Patients' links and the letter ----------------------------------------------------------------


def _patient_page(patient: Patient):
    try:
        return patient.get_absolute_url()
    except NoReverseMatch:  # the patient pages are not mounted (a bare install)
        return reverse("feeds:letter", kwargs={"patient_id": patient.pk})


@login_required
@permission_required("patients.add_feedtoken", raise_exception=True)
@require_POST
def issue(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    raw = issue_feed_link(patient=patient, issued_by=request.user)
    messages.success(
        request,
        "New calendar link issued; any previous link has stopped working. Print this letter "
        "now: the link is shown only once.",
    )
    # The raw token goes into this response only (no-store), never the session or a redirect.
    return _letter(request, patient, raw)


@login_required
@permission_required("patients.add_feedtoken", raise_exception=True)
@require_POST
def revoke(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    if revoke_feed_link(patient=patient, revoked_by=request.user):
        messages.success(
            request,
            "Calendar link revoked: the patient's calendar stops updating. Their phone may "
            "keep the appointments it already has.",
        )
    else:
        messages.info(request, "This patient had no calendar link to revoke.")
    return redirect(_patient_page(patient))


def _no_store(response: HttpResponse) -> HttpResponse:
    """The page may hold the secret link: keep it out of caches and the browser history.

    Its URL holds no secret, so the site's same-origin referrer policy stays: "no-referrer"
    would make browsers send `Origin: null` with the page's forms, failing the CSRF check.
    """
    response["Cache-Control"] = "no-store"
    return response


def qr_svg(url: str) -> str:
    # A viewBox and no fixed size, so CSS sizes it for paper; the standard 4-module quiet zone
    # keeps it scannable from a printout.
    return segno.make_qr(url, error="m").svg_inline(border=4, omitsize=True, title="Calendar link")


@login_required
@permission_required("patients.view_patient", raise_exception=True)
@require_safe
def letter(request, patient_id: int):
    """The printed schedule letter: next visits, provisional dates, the calendar link and QR
    code (only straight after issuing), what the visit involves and who to call."""
    return _letter(request, get_object_or_404(Patient, pk=patient_id), None)


def _letter(request, patient: Patient, raw: str | None):
    unit = Unit.current()
    today = timezone.localdate()
    bookings = (
        Booking.objects.active()
        .filter(dose__course__patient=patient, slot__start__gte=timezone.now())
        .select_related("slot", "dose__course")
        .order_by("slot__start")
    )
    # A visit of a held or paused course is not printed as an appointment (DESIGN §2): the
    # letter says the unit will call instead.
    appointments = [
        {
            "start": booking.slot.start,
            "arrive": ical.arrival_time(booking, unit),
            "admission_day": booking.admission_day,
        }
        for booking in bookings
        if not ical.on_hold(booking)
    ]
    on_hold = any(ical.on_hold(booking) for booking in bookings) or any(
        course.status in (TreatmentCourse.Status.HELD, TreatmentCourse.Status.PAUSED)
        for course in ical.open_courses(patient)
    )
    provisional = [
        planned
        for course in ical.open_courses(patient)
        for planned in ical.provisional_doses(course, unit, today)
    ]
    link = feed_url(raw) if raw else None
    context = {
        "patient": patient,
        "unit": unit,
        "reminder_line": texts.letter_line(patient, unit),
        "appointments": appointments,
        "on_hold": on_hold,
        "on_hold_text": ical.ON_HOLD_TEXT,
        "provisional": provisional,
        "link": link,
        "webcal_link": webcal_url(link) if link else None,
        # The QR code opens a page of "add to my calendar" buttons: a phone that opened the
        # feed itself would import today's events once instead of subscribing to changes.
        "subscribe_link": subscribe_url(raw) if raw else None,
        "qr_svg": qr_svg(subscribe_url(raw)) if raw else None,
        "active_token": FeedToken.objects.active().filter(patient=patient).first(),
        "printed_on": today,
        "patient_page": _patient_page(patient),
        "safety_net": ical.safety_net(unit),
    }
    return _no_store(render(request, "schedules/letter.html", context))


# A member of staff's own feed ------------------------------------------------------------------


@login_required
@permission_required(STAFF_FEED_PERMISSION, raise_exception=True)
@require_safe
def staff_link(request):
    return _staff_page(request, None)


def _staff_page(request, raw: str | None):
    link = feed_url(raw, staff=True) if raw else None
    context = {
        "unit": Unit.current(),
        "link": link,
        "webcal_link": webcal_url(link) if link else None,
        "qr_svg": qr_svg(link) if link else None,
        "active_token": FeedToken.objects.active().filter(user=request.user).first(),
    }
    return _no_store(render(request, "schedules/staff_feed.html", context))


@login_required
@permission_required(STAFF_FEED_PERMISSION, raise_exception=True)
@require_POST
def staff_issue(request):
    raw = issue_staff_feed_link(user=request.user)
    messages.success(request, "New link issued; your previous link has stopped working.")
    return _staff_page(request, raw)  # the raw token in this response only


@login_required
@permission_required(STAFF_FEED_PERMISSION, raise_exception=True)
@require_POST
def staff_revoke(request):
    if revoke_staff_feed_link(user=request.user):
        messages.success(request, "Your calendar link is revoked.")
    else:
        messages.info(request, "You had no calendar link to revoke.")
    return redirect("feeds:staff_link")
