"""Patients' and staff calendar feeds: what three independent parsers read, what the HTTP
layer answers, and what never appears (health information, tokens in logs)."""

import json
import logging
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from patients.models import FeedToken
from patients.services import issue_feed_link, issue_staff_feed_link, revoke_feed_link
from schedules import services
from schedules.feeds import ical
from schedules.models import Booking, Closure, Dose, Slot
from tests.factories import MONDAY, give_dose, make_patient, make_user

LONDON = ZoneInfo("Europe/London")
ROOT = Path(__file__).resolve().parents[2]
PARSER = ROOT / "tests" / "js" / "parse_feed.mjs"
FORBIDDEN = ["lovelace", "h100001", "9434765919", "943 476 5919", "tofersen", "qalsody"]


def assert_private(body: bytes) -> None:
    """No name, hospital or NHS number, or drug name, even across folded lines."""
    text = body.decode().replace("\r\n ", "").lower()
    for word in FORBIDDEN:
        assert word not in text, word
    assert not re.search(r"\bada\b", text)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def slot(unit, start: datetime, hours: int = 2) -> Slot:
    return Slot.objects.get_or_create(
        unit=unit, start=start, defaults={"end": start + timedelta(hours=hours), "places": 2}
    )[0]


def book(course, number, unit, start, by):
    dose = services.dose_for(course=course, number=number)
    return services.book_dose(dose=dose, slot=slot(unit, start), booked_by=by)


def fetch(client, raw, **headers):
    return client.get(reverse("feeds:patient_feed", kwargs={"token": raw}), **headers)


def run_icaljs(text: str) -> dict:
    """Mozilla's ical.js, run by Node: missing tools fail the test rather than skip it."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is required for the ical.js check (install nodejs).")
    if not (ROOT / "node_modules" / "ical.js" / "package.json").exists():
        pytest.fail("node_modules/ical.js is missing: run `make install` (npm ci).")
    result = subprocess.run(
        [node, str(PARSER)], input=text, capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_valid(text: str) -> icalendar.Calendar:
    """icalendar parses it, vobject validates it, and every TZID has its VTIMEZONE."""
    vobject.readOne(text, validate=True)
    cal = icalendar.Calendar.from_ical(text)
    defined = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    used = {
        prop.params["TZID"]
        for event in cal.walk("VEVENT")
        for name in ("DTSTART", "DTEND")
        for prop in [event.get(name)]
        if prop is not None and "TZID" in prop.params
    }
    assert used <= defined, f"TZIDs without VTIMEZONE: {used - defined}"
    assert not cal.get_missing_tzids()
    return cal


@pytest.fixture
def loading_patient(clock, unit, nurse, clinician):
    """Loading doses over the March 2026 clock change (29 March), one rescheduled, one given,
    one cancelled, and provisional doses after it. Returns (patient, doses by number)."""
    patient = make_patient(nhs_number="9434765919")
    clock(date(2026, 2, 23), 10)
    course = services.start_course(
        patient=patient, start_date=date(2026, 3, 2), started_by=clinician
    )
    book(course, 1, unit, at(2026, 3, 2, 9), nurse)
    second = book(course, 2, unit, at(2026, 3, 16, 9), nurse)
    book(course, 3, unit, at(2026, 3, 30, 9), nurse)  # the Monday after the change
    fourth = book(course, 4, unit, at(2026, 4, 27, 9), nurse)

    clock(MONDAY, 9, 40)  # arrived, checked and given at 09:40
    give_dose(Dose.objects.get(course=course, number=1), at(2026, 3, 2, 9, 40), clinician)
    services.reschedule_booking(
        booking=second, slot=slot(unit, at(2026, 3, 16, 11)), rescheduled_by=nurse
    )
    services.cancel_booking(booking=fourth, reason="Patient on holiday", cancelled_by=nurse)
    clock(date(2026, 3, 3), 8)
    return patient, {dose.number: dose for dose in Dose.objects.filter(course=course)}


@pytest.fixture
def autumn_patient(clock, unit, nurse, clinician):
    """Loading doses ending on the Monday after the October 2026 change (25 October), then the
    first maintenance dose 28 days later."""
    patient = make_patient("H200002", given_name="Grace", family_name="Hopper")
    clock(date(2026, 9, 21), 10)
    course = services.start_course(
        patient=patient, start_date=date(2026, 9, 28), started_by=clinician
    )
    book(course, 1, unit, at(2026, 9, 28, 9), nurse)
    book(course, 2, unit, at(2026, 10, 12, 9), nurse)
    book(course, 3, unit, at(2026, 10, 26, 9), nurse)
    book(course, 4, unit, at(2026, 11, 23, 11), nurse)
    return patient


def test_loading_feed_reads_the_same_in_three_parsers(client, loading_patient):
    patient, doses = loading_patient
    raw = issue_feed_link(patient=patient, issued_by=None)

    response = fetch(client, raw)

    assert response.status_code == 200
    text = response.content.decode()
    cal = assert_valid(text)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == str(cal["NAME"]) == "Hospital appointments"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT4H" in text
    assert "X-PUBLISHED-TTL:PT4H" in text
    [vtimezone] = cal.walk("VTIMEZONE")
    assert [c.name for c in vtimezone.subcomponents] == ["DAYLIGHT", "STANDARD"]
    assert all("RRULE" in c and "RDATE" not in c for c in vtimezone.subcomponents)

    events = run_icaljs(text)["events"]
    timed = [
        (e["uid"], e["sequence"], e["london"], e["utc"], e["status"])
        for e in events
        if not e["all_day"]
    ]
    assert timed == [
        (str(doses[1].uid), 2, "2026-03-02T09:00", "2026-03-02T09:00", "CONFIRMED"),
        (str(doses[2].uid), 2, "2026-03-16T11:00", "2026-03-16T11:00", "CONFIRMED"),
        (str(doses[3].uid), 0, "2026-03-30T09:00", "2026-03-30T08:00", "CONFIRMED"),
    ]
    provisional = [(e["uid"], e["date"], e["status"]) for e in events if e["all_day"]]
    # The cancelled dose 4 is back as a provisional date under its own UID; later doses follow
    # every 28 days, for half a year ahead.
    assert provisional[0] == (str(doses[4].uid), "2026-04-27", "TENTATIVE")
    assert [p[1] for p in provisional[1:]] == [
        "2026-05-25",
        "2026-06-22",
        "2026-07-20",
        "2026-08-17",
    ]
    assert all(e["tzid"] == "Europe/London" for e in events if not e["all_day"])
    # Reminders for visits to come; none for the one already given.
    assert [e["alarms"] for e in events if not e["all_day"]] == [0, 2, 2]
    assert len({e["uid"] for e in events}) == len(events)
    assert "time to be confirmed" in events[-1]["summary"]


def test_autumn_clock_change_and_maintenance(client, autumn_patient):
    raw = issue_feed_link(patient=autumn_patient, issued_by=None)
    text = fetch(client, raw).content.decode()
    assert_valid(text)

    events = run_icaljs(text)["events"]
    timed = [(e["london"], e["utc"], e["end_london"]) for e in events if not e["all_day"]]
    assert timed == [
        ("2026-09-28T09:00", "2026-09-28T08:00", "2026-09-28T11:00"),
        ("2026-10-12T09:00", "2026-10-12T08:00", "2026-10-12T11:00"),
        ("2026-10-26T09:00", "2026-10-26T09:00", "2026-10-26T11:00"),
        ("2026-11-23T11:00", "2026-11-23T11:00", "2026-11-23T13:00"),
    ]
    # The next maintenance dose is 28 days after the booked one.
    assert [e["date"] for e in events if e["all_day"]][0] == "2026-12-21"


def test_event_contents_for_the_patient(client, loading_patient, unit):
    patient, doses = loading_patient
    raw = issue_feed_link(patient=patient, issued_by=None)
    cal = icalendar.Calendar.from_ical(fetch(client, raw).content)

    event = next(e for e in cal.walk("VEVENT") if str(e["UID"]) == str(doses[3].uid))
    assert str(event["SUMMARY"]) == "Hospital appointment"
    assert str(event["LOCATION"]) == unit.address
    description = str(event["DESCRIPTION"])
    assert "arrive by 08:45" in description
    assert "about 2 hours" in description and "60 to 90 minutes" in description
    assert "severe headache, neck stiffness, changes in your vision" in description
    assert unit.phone in description
    assert event.decoded("DTSTAMP").tzinfo is not None
    assert event.decoded("DTSTAMP").utcoffset() == timedelta(0)
    assert event["DTSTAMP"].to_ical().endswith(b"Z")
    assert event["LAST-MODIFIED"].to_ical().endswith(b"Z")
    triggers = sorted(alarm.decoded("TRIGGER") for alarm in event.walk("VALARM"))
    assert triggers == [timedelta(days=-1), timedelta(hours=-2)]

    tentative = next(e for e in cal.walk("VEVENT") if str(e["UID"]) == str(doses[4].uid))
    assert tentative["DTSTART"].params.get("VALUE") == "DATE"
    assert tentative.decoded("DTSTART") == date(2026, 4, 27)
    assert str(tentative["STATUS"]) == "TENTATIVE"
    assert int(tentative["SEQUENCE"]) == doses[4].calendar_sequence == 1


def test_no_health_information_or_identity_in_the_bytes(client, loading_patient):
    patient, _ = loading_patient
    raw = issue_feed_link(patient=patient, issued_by=None)
    assert_private(fetch(client, raw).content)


def test_rebooked_dose_keeps_its_uid_with_a_higher_sequence(
    client, loading_patient, unit, nurse, clock
):
    patient, doses = loading_patient
    raw = issue_feed_link(patient=patient, issued_by=None)
    before = icalendar.Calendar.from_ical(fetch(client, raw).content)
    old = next(e for e in before.walk("VEVENT") if str(e["UID"]) == str(doses[4].uid))

    book(doses[4].course, 4, unit, at(2026, 4, 28, 13), nurse)

    after = icalendar.Calendar.from_ical(fetch(client, raw).content)
    new = [e for e in after.walk("VEVENT") if str(e["UID"]) == str(doses[4].uid)]
    assert len(new) == 1
    assert int(new[0]["SEQUENCE"]) > int(old["SEQUENCE"])
    assert new[0].decoded("DTSTART") == at(2026, 4, 28, 13)


def test_the_window_drops_visits_older_than_90_days(client, loading_patient, clock):
    patient, doses = loading_patient
    raw = issue_feed_link(patient=patient, issued_by=None)
    clock(date(2026, 6, 5), 8)  # 95 days after 2 March

    uids = {
        str(e["UID"])
        for e in icalendar.Calendar.from_ical(fetch(client, raw).content).walk("VEVENT")
    }

    assert str(doses[1].uid) not in uids
    assert str(doses[3].uid) in uids


def test_http_headers(client, loading_patient, django_assert_num_queries):
    patient, _ = loading_patient
    raw = issue_feed_link(patient=patient, issued_by=None)
    # A fixed number of queries, however many visits: no query per booking or dose. The
    # freshness query, the fetch time, the visits, the courses with their events, doses and
    # their bookings (and, for an overdue dose, the unit's open days: three more).
    with django_assert_num_queries(7):
        response = fetch(client, raw)

    assert response["Content-Type"] == "text/calendar; charset=utf-8; method=PUBLISH"
    assert response["Cache-Control"] == "private"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Robots-Tag"] == "noindex"
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"].endswith("GMT")


def test_conditional_get_answers_304_without_building(
    client, loading_patient, unit, nurse, monkeypatch, django_assert_num_queries
):
    patient, doses = loading_patient
    raw = issue_feed_link(patient=patient, issued_by=None)
    first = fetch(client, raw)
    etag = first["ETag"]

    def refuse(*args, **kwargs):
        raise AssertionError("built the calendar for a conditional GET")

    with monkeypatch.context() as patch:
        patch.setattr(ical, "patient_calendar", refuse)
        with django_assert_num_queries(1):  # token, unit and every stamp in one query
            again = fetch(client, raw, HTTP_IF_NONE_MATCH=etag)
        by_date = fetch(client, raw, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert again.content == b""
    assert by_date.status_code == 304
    assert fetch(client, raw).content == first.content  # the bytes are stable

    booking = Booking.objects.active().get(dose=doses[3])
    services.reschedule_booking(
        booking=booking, slot=slot(unit, at(2026, 3, 31, 9)), rescheduled_by=nurse
    )
    changed = fetch(client, raw, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "20260331T090000" in changed.content.decode()


def _move_dose_3(ctx):
    booking = Booking.objects.active().get(dose=ctx.doses[3])
    services.reschedule_booking(
        booking=booking, slot=slot(ctx.unit, at(2026, 3, 31, 9)), rescheduled_by=ctx.nurse
    )


def _edit(instance, **values):
    """An admin's edit: a plain save, which leaves a history row."""
    for name, value in values.items():
        setattr(instance, name, value)
    instance.save()


# Every fact the feed is built from, changed the way the unit changes it.
FEED_CHANGES = {
    "unit phone": lambda ctx: _edit(ctx.unit, phone="020 7946 0999"),
    "unit calendar title": lambda ctx: _edit(ctx.unit, calendar_title="Clinic visit"),
    "closure added": lambda ctx: Closure.objects.create(
        unit=ctx.unit, start_date=date(2026, 4, 27), end_date=date(2026, 4, 28), reason="Training"
    ),
    "session stopped": lambda ctx: _edit(ctx.unit.session_templates.last(), active=False),
    "slot time edited": lambda ctx: _edit(
        Booking.objects.active().get(dose=ctx.doses[3]).slot,
        start=at(2026, 3, 30, 10),
        end=at(2026, 3, 30, 12),
    ),
    "extra session added": lambda ctx: Slot.objects.create(
        unit=ctx.unit, start=at(2026, 4, 25, 9), end=at(2026, 4, 25, 11), places=1
    ),
    "booking moved": _move_dose_3,
    "booking cancelled": lambda ctx: services.cancel_booking(
        booking=Booking.objects.active().get(dose=ctx.doses[3]),
        reason="Patient asked",
        cancelled_by=ctx.nurse,
    ),
    "dose given": lambda ctx: give_dose(ctx.doses[2], at(2026, 3, 16, 12, 5), ctx.clinician),
    "course paused": lambda ctx: services.pause_course(
        course=ctx.course, on=date(2026, 3, 16), reason="side_effects", recorded_by=ctx.clinician
    ),
    "course start corrected": lambda ctx: _edit(ctx.course, start_date=date(2026, 3, 1)),
    "course event corrected": lambda ctx: _edit(
        ctx.course.events.get(kind="hold"), reason_detail="Corrected by the clinician"
    ),
}


@pytest.mark.parametrize("change", FEED_CHANGES)
def test_every_change_to_what_the_feed_reads_changes_its_etag(
    client, loading_patient, unit, nurse, clinician, clock, change
):
    patient, doses = loading_patient
    course = doses[1].course
    clock(date(2026, 3, 16), 12)
    if change == "course event corrected":
        services.record_adverse_event(
            course=course,
            term="back_pain",
            onset=date(2026, 3, 3),
            serious=True,
            recorded_by=clinician,
        )
    raw = issue_feed_link(patient=patient, issued_by=None)
    before = fetch(client, raw)
    assert fetch(client, raw, HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304

    clock(date(2026, 3, 16), 12, 5)  # later the same day
    ctx = SimpleNamespace(unit=unit, doses=doses, course=course, nurse=nurse, clinician=clinician)
    FEED_CHANGES[change](ctx)
    after = fetch(client, raw, HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]


def test_a_changed_feed_is_rebuilt_and_an_unchanged_one_is_not(
    client, loading_patient, unit, monkeypatch, clock, django_assert_num_queries
):
    """The rendered feed is kept by its ETag: the same version is served again without a
    rebuild (one query), and a change (the unit's phone, in every event) is in the next one."""
    patient, _ = loading_patient
    raw = issue_feed_link(patient=patient, issued_by=None)
    first = fetch(client, raw)

    def refuse(*args, **kwargs):
        raise AssertionError("rebuilt a feed that had not changed")

    with monkeypatch.context() as patch:
        patch.setattr(ical, "patient_calendar", refuse)
        with django_assert_num_queries(1):
            again = fetch(client, raw)
    assert again.status_code == 200
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]

    clock(date(2026, 3, 3), 8, 5)
    _edit(unit, phone="020 7946 0999")
    changed = fetch(client, raw).content.decode().replace("\r\n ", "")
    assert "020 7946 0999" in changed
    assert unit.phone in changed and "020 7946 0000" not in changed


def test_the_etag_differs_between_patients_and_days(client, loading_patient, autumn_patient, clock):
    patient, _ = loading_patient
    mine = fetch(client, issue_feed_link(patient=patient, issued_by=None))
    theirs = fetch(client, issue_feed_link(patient=autumn_patient, issued_by=None))
    assert mine["ETag"] != theirs["ETag"]
    raw = issue_feed_link(patient=patient, issued_by=None)
    today = fetch(client, raw)["ETag"]
    clock(date(2026, 3, 4), 8)  # projections move with the date
    assert fetch(client, raw, HTTP_IF_NONE_MATCH=today).status_code == 200


def test_revoked_and_unknown_tokens_get_identical_404s(client, loading_patient):
    patient, _ = loading_patient
    raw = issue_feed_link(patient=patient, issued_by=None)
    revoke_feed_link(patient=patient, revoked_by=None)

    revoked = fetch(client, raw)
    unknown = fetch(client, FeedToken.new_secret())

    assert revoked.status_code == unknown.status_code == 404
    assert revoked.content == unknown.content
    assert sorted(revoked.headers.items()) == sorted(unknown.headers.items())


def test_issuing_a_new_link_revokes_the_old_one(client, patient):
    old = issue_feed_link(patient=patient, issued_by=None)
    new = issue_feed_link(patient=patient, issued_by=None)

    assert fetch(client, old).status_code == 404
    assert fetch(client, new).status_code == 200
    assert FeedToken.objects.active().filter(patient=patient).count() == 1
    # Only the hash is stored.
    assert not FeedToken.objects.filter(token_hash=new).exists()
    assert FeedToken.objects.filter(token_hash=FeedToken.hash(new)).exists()
    assert len(new) >= 22  # 128 bits of URL-safe base64


@pytest.mark.parametrize(
    "path",
    ["/feeds/short.ics", "/feeds/" + "x" * 500 + ".ics", "/feeds/%00%00.ics", "/feeds/a b c.ics"],
)
def test_malformed_feed_urls_are_404(client, db, path):
    assert client.get(path).status_code == 404


def test_feed_accepts_only_get_and_head(client, patient):
    raw = issue_feed_link(patient=patient, issued_by=None)
    url = reverse("feeds:patient_feed", kwargs={"token": raw})
    assert client.post(url).status_code == 405
    assert client.head(url).status_code == 200


def test_last_fetched_is_recorded_at_most_once_a_minute(client, patient, clock):
    clock(date(2026, 3, 3), 8)
    raw = issue_feed_link(patient=patient, issued_by=None)
    token = FeedToken.objects.get(patient=patient)
    assert token.last_fetched_at is None

    fetch(client, raw)
    token.refresh_from_db()
    assert token.last_fetched_at == at(2026, 3, 3, 8)

    clock(date(2026, 3, 3), 8, 0, 30)
    fetch(client, raw)
    token.refresh_from_db()
    assert token.last_fetched_at == at(2026, 3, 3, 8)

    clock(date(2026, 3, 3), 9)
    fetch(client, raw)
    token.refresh_from_db()
    assert token.last_fetched_at == at(2026, 3, 3, 9)


def test_patient_without_a_course_gets_an_empty_valid_calendar(client, patient):
    raw = issue_feed_link(patient=patient, issued_by=None)
    text = fetch(client, raw).content.decode()
    cal = assert_valid(text)
    assert cal.walk("VEVENT") == []
    assert run_icaljs(text)["events"] == []


def test_paused_course_shows_no_provisional_dates(client, loading_patient, clinician, clock):
    patient, doses = loading_patient
    course = doses[1].course
    services.pause_course(
        course=course, on=date(2026, 3, 3), reason="side_effects", recorded_by=clinician
    )
    raw = issue_feed_link(patient=patient, issued_by=None)
    events = run_icaljs(fetch(client, raw).content.decode())["events"]
    # Pausing cancelled the future visits; the one already given stays as history.
    assert [e["uid"] for e in events] == [str(doses[1].uid)]


# Staff feed ------------------------------------------------------------------------------------


def test_staff_feed_shows_initials_and_hospital_number_only(client, loading_patient, nurse):
    patient, _ = loading_patient
    raw = issue_staff_feed_link(user=nurse)

    response = client.get(reverse("feeds:staff_feed", kwargs={"token": raw}))

    assert response.status_code == 200
    text = response.content.decode()
    cal = assert_valid(text)
    summaries = {str(e["SUMMARY"]) for e in cal.walk("VEVENT")}
    assert summaries == {"A.L. H100001"}
    unfolded = text.replace("\r\n ", "").lower()
    for word in ["lovelace", "9434765919", "tofersen", "qalsody"]:
        assert word not in unfolded
    assert not re.search(r"\bada\b", unfolded)
    events = run_icaljs(text)["events"]
    assert "2026-03-30T09:00" in [e["london"] for e in events]
    # Never the patient's own UID (a client holding both must not merge them), no reminders.
    assert all(e["uid"].startswith("staff-") and e["alarms"] == 0 for e in events)
    assert response["Cache-Control"] == "private"
    assert (
        client.get(
            reverse("feeds:staff_feed", kwargs={"token": raw}), HTTP_IF_NONE_MATCH=response["ETag"]
        ).status_code
        == 304
    )


def test_staff_feed_stops_for_a_deactivated_user(client, nurse):
    raw = issue_staff_feed_link(user=nurse)
    url = reverse("feeds:staff_feed", kwargs={"token": raw})
    assert client.get(url).status_code == 200
    nurse.is_active = False
    nurse.save()
    assert client.get(url).status_code == 404


def test_patient_and_staff_tokens_do_not_cross(client, patient, nurse):
    patient_raw = issue_feed_link(patient=patient, issued_by=None)
    staff_raw = issue_staff_feed_link(user=nurse)
    assert client.get(reverse("feeds:staff_feed", kwargs={"token": patient_raw})).status_code == 404
    assert fetch(client, staff_raw).status_code == 404


def test_staff_link_page_shows_the_link_once(nurse_client):
    response = nurse_client.post(reverse("feeds:staff_issue"))
    assert response.status_code == 200  # the page itself: the token never enters the session
    page = response.content.decode()
    assert "webcal://" in page and "<svg" in page
    assert not any("feeds" in key for key, _ in nurse_client.session.items())
    again = nurse_client.get(reverse("feeds:staff_link")).content.decode()
    assert "webcal://" not in again
    assert "Link hidden" in again
    assert nurse_client.post(reverse("feeds:staff_revoke")).status_code == 302
    assert not FeedToken.objects.active().exists()


# Issuing and revoking from the patient page ------------------------------------------------------


def test_nurse_issues_a_link_and_lands_on_the_letter(nurse_client, patient, nurse):
    response = nurse_client.post(reverse("feeds:issue", args=[patient.pk]))

    assert response.status_code == 200
    assert "Schedule letter" in response.content.decode()
    token = FeedToken.objects.active().get(patient=patient)
    assert token.issued_by == nurse


def test_issue_and_revoke_need_post_login_and_permission(client, patient, db):
    issue_url = reverse("feeds:issue", args=[patient.pk])
    revoke_url = reverse("feeds:revoke", args=[patient.pk])
    assert client.post(issue_url).status_code == 302  # to the login page
    assert "login" in client.post(issue_url)["Location"]

    viewer = make_user("viewer", "Nurse")
    viewer.groups.clear()
    viewer.user_permissions.add(Permission.objects.get(codename="view_patient"))
    client.force_login(viewer)
    assert client.post(issue_url).status_code == 403
    assert client.post(revoke_url).status_code == 403
    assert not FeedToken.objects.exists()


def test_issue_by_get_is_refused(nurse_client, patient):
    assert nurse_client.get(reverse("feeds:issue", args=[patient.pk])).status_code == 405
    assert not FeedToken.objects.exists()


def test_issue_checks_csrf(client, nurse, patient):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(nurse)
    assert strict.post(reverse("feeds:issue", args=[patient.pk])).status_code == 403


def test_revoke_from_the_patient_page(nurse_client, patient):
    raw = issue_feed_link(patient=patient, issued_by=None)
    response = nurse_client.post(reverse("feeds:revoke", args=[patient.pk]))
    assert response.status_code == 302
    assert fetch(nurse_client, raw).status_code == 404


@pytest.mark.parametrize("name", ["feeds:issue", "feeds:revoke"])
def test_unknown_patient_is_404(nurse_client, name):
    assert nurse_client.post(reverse(name, args=[987654])).status_code == 404
    assert nurse_client.post(f"/feeds/patients/{10**30}/issue").status_code == 404


def test_feed_panel_shows_last_fetch_and_warning(nurse_client, patient, clock, client):
    clock(date(2026, 3, 3), 8)
    page = nurse_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "No calendar link" in page

    raw = issue_feed_link(patient=patient, issued_by=None)
    page = nurse_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Calendar last updated on the patient's phone:" in page.replace("&#x27;", "'")
    assert "never" in page
    assert "12–24 hours" in page

    fetch(client, raw)
    page = nurse_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "3 Mar 2026, 08:00" in page
    assert raw not in page


# Single appointment download -------------------------------------------------------------------


def test_booking_download(nurse_client, loading_patient):
    patient, doses = loading_patient
    booking = Booking.objects.active().get(dose=doses[3])
    url = reverse("feeds:booking_ics", args=[booking.pk])

    assert Client().get(url).status_code == 302  # login first
    response = nurse_client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8; method=PUBLISH"
    assert 'filename="appointment-2026-03-30.ics"' in response["Content-Disposition"]
    text = response.content.decode()
    cal = assert_valid(text)
    [event] = run_icaljs(text)["events"]
    assert (event["uid"], event["london"]) == (str(doses[3].uid), "2026-03-30T09:00")
    assert len(cal.walk("VEVENT")) == 1
    assert_private(response.content)


def test_cancelled_booking_download_is_404(nurse_client, loading_patient):
    _, doses = loading_patient
    cancelled = Booking.objects.get(dose=doses[4], status=Booking.Status.CANCELLED)
    assert nurse_client.get(reverse("feeds:booking_ics", args=[cancelled.pk])).status_code == 404
    assert nurse_client.get("/feeds/bookings/999999.ics").status_code == 404


# Logs ------------------------------------------------------------------------------------------


def test_tokens_never_reach_the_logs(client, patient, caplog):
    raw = issue_feed_link(patient=patient, issued_by=None)
    revoke_feed_link(patient=patient, revoked_by=None)
    unknown = FeedToken.new_secret()

    with caplog.at_level(logging.DEBUG):
        assert fetch(client, raw).status_code == 404
        assert fetch(client, unknown).status_code == 404
        assert client.get(f"/feeds/{unknown}.icsx").status_code == 404

    assert "Not Found: /feeds/[redacted].ics" in caplog.text
    assert raw not in caplog.text
    assert unknown not in caplog.text
    assert raw[:16] not in caplog.text


def test_runserver_request_lines_are_redacted(caplog):
    raw = FeedToken.new_secret()
    server = logging.getLogger("django.server")
    server.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="django.server"):
            server.info('"%s" %s %s', f"GET /feeds/{raw}.ics HTTP/1.1", "200", "1234")
    finally:
        server.removeHandler(caplog.handler)
    assert '"GET /feeds/[redacted].ics HTTP/1.1" 200 1234' in caplog.text
    assert raw not in caplog.text


# The time zone ---------------------------------------------------------------------------------


def test_vtimezone_rule_matches_the_tz_database_for_decades():
    component = ical.vtimezone("Europe/London", 2000, 2037)
    text = component.to_ical().decode()
    parsed = icalendar.Timezone.from_ical(text)
    rules = sorted((str(block.name), dict(block["RRULE"])) for block in parsed.subcomponents)
    assert rules == [
        ("DAYLIGHT", {"FREQ": ["YEARLY"], "BYMONTH": [3], "BYDAY": ["-1SU"]}),
        ("STANDARD", {"FREQ": ["YEARLY"], "BYMONTH": [10], "BYDAY": ["-1SU"]}),
    ]
    assert "DTSTART:19700329T010000" in text
    assert "DTSTART:19701025T020000" in text
    # icalendar's own reading of our component agrees with zoneinfo on both sides of each change.
    tz = component.to_tz()
    for moment in [
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 59, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
        datetime(2030, 7, 1, 12, tzinfo=UTC),
    ]:
        assert moment.astimezone(tz).utcoffset() == moment.astimezone(LONDON).utcoffset()


def test_zone_whose_rule_changed_falls_back_to_exact_dates():
    # US rules changed in 2007: no single yearly rule covers 2005–2008.
    text = ical.vtimezone("America/New_York", 2005, 2008).to_ical().decode()
    assert "RDATE" in text or text.count("BEGIN:DAYLIGHT") > 1
    # A zone without summer time gets one STANDARD block.
    text = ical.vtimezone("Asia/Tokyo", 2025, 2030).to_ical().decode()
    assert text.count("BEGIN:STANDARD") == 1 and "DAYLIGHT" not in text


def test_missed_visit_comes_back_as_soon_as_possible_under_its_uid(
    client, autumn_patient, nurse, clock
):
    booking = Booking.objects.get(dose__number=1, dose__course__patient=autumn_patient)
    dose = booking.dose
    clock(date(2026, 9, 28), 16)
    services.mark_no_show(booking=booking, marked_by=nurse)
    dose.refresh_from_db()
    raw = issue_feed_link(patient=autumn_patient, issued_by=None)

    clock(date(2026, 10, 3), 10)  # a Saturday
    events = run_icaljs(fetch(client, raw).content.decode())["events"]

    mine = [e for e in events if e["uid"] == str(dose.uid)]
    assert len(mine) == 1
    # Overdue: as soon as possible, which is the next day the unit is open (Monday).
    assert (mine[0]["all_day"], mine[0]["date"], mine[0]["status"]) == (
        True,
        "2026-10-05",
        "TENTATIVE",
    )
    assert mine[0]["sequence"] == dose.calendar_sequence >= 1


def test_a_failing_feed_is_logged_without_its_token(client, patient, monkeypatch, caplog):
    raw = issue_feed_link(patient=patient, issued_by=None)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ical, "patient_calendar", broken)
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        assert fetch(client, raw).status_code == 500
    assert "Internal Server Error: /feeds/[redacted].ics" in caplog.text
    assert raw not in caplog.text
    assert all(getattr(record, "request", None) is None for record in caplog.records)


@pytest.mark.parametrize(
    "path",
    [
        f"/feeds/bookings/{10**30}.ics",
        f"/feeds/patients/{10**30}/letter",
        "/feeds/bookings/-1.ics",
        "/feeds/patients/abc/letter",
    ],
)
def test_out_of_range_ids_are_404(nurse_client, path):
    assert nurse_client.get(path).status_code == 404


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_issues_leave_exactly_one_working_link(client):
    from tests.support.threads import race

    patient = make_patient("H300003")
    results = race([lambda: issue_feed_link(patient=patient, issued_by=None)] * 6)

    assert all(isinstance(raw, str) for raw in results), results
    assert FeedToken.objects.filter(patient=patient).count() == 6
    working = [raw for raw in results if fetch(client, raw).status_code == 200]
    assert len(working) == 1
    assert FeedToken.objects.active().get(patient=patient).token_hash == FeedToken.hash(working[0])


def test_a_malformed_log_record_does_not_leak_its_arguments():
    from schedules.log_filters import RedactFeedTokens

    raw = FeedToken.new_secret()
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "%s %s", (f"/feeds/{raw}.ics",), None
    )
    assert RedactFeedTokens().filter(record)
    assert raw not in record.getMessage()
