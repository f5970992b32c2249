"""The live board (issue 20 §1): it refreshes itself, an unchanged board is a 304 from one
query, every write the board shows makes the next refresh a 200 with the change; stage counts,
time in stage, the long-wait highlight and the observation alert; the poll never keeps an idle
session signed in."""

import re
from datetime import date, timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import override_settings
from django.urls import reverse

from schedules import services
from schedules.models import Booking
from schedules.visits import board as flow_board
from schedules.visits import freshness
from tests.factories import (
    MONDAY,
    VIAL,
    at,
    frozen,
    make_course,
    make_patient,
    make_slot,
)
from tofersen_scheduler.security import SESSION_SEEN_KEY

DAY_URL = reverse("schedules:day", args=[MONDAY])
POLL_URL = reverse("schedules:board_poll", args=[MONDAY])
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def booking(unit, nurse):
    """Grace Hopper, dose 1 at 09:00 on Monday, the clock at 08:00 that Monday."""
    with frozen(MONDAY, 8):
        patient = make_patient("H123456", given_name="Grace", family_name="Hopper")
        slot = make_slot(unit, MONDAY, 9, places=3)
        yield services.book_dose_number(
            course=make_course(patient), number=1, slot=slot, booked_by=nurse
        )


def etag_of(client, url=DAY_URL) -> str:
    page = client.get(url)
    assert page.status_code == 200
    match = re.search(r'data-etag="([^"]+)"', page.content.decode())
    assert match, "the board carries no ETag for its poll"
    return match[1].replace("&quot;", '"')


def poll(client, etag="", **extra):
    headers = {**HTMX, **({"HTTP_IF_NONE_MATCH": etag} if etag else {})}
    return client.get(POLL_URL, **headers, **extra)


def row_of(page: str, booking) -> str:
    match = re.search(rf'<tr id="booking-{booking.pk}".*?</tr>', page, re.S)
    assert match, "the booking has no row on the board"
    return match[0]


# The poll --------------------------------------------------------------------------------------


def test_the_day_page_polls_its_board_every_15_seconds_with_its_etag(booking, nurse_client):
    page = nurse_client.get(DAY_URL).content.decode()
    assert f'hx-get="{POLL_URL}?here=' in page
    assert 'hx-trigger="every 15s"' in page
    assert 'data-etag="&quot;' in page
    assert "js/board.js" in page  # sends the ETag: htmx does not by itself


def test_an_unchanged_board_is_a_304_from_exactly_one_query(
    booking, nurse_client, django_assert_num_queries
):
    with frozen(MONDAY, 8, 1):
        etag = etag_of(nurse_client)
        with django_assert_num_queries(1):
            response = poll(nurse_client, etag)
    assert response.status_code == 304
    assert response["ETag"] == etag
    assert response.content == b""


def test_a_poll_without_an_etag_or_with_an_old_one_gets_the_board(booking, nurse_client):
    with frozen(MONDAY, 8, 1):
        first = poll(nurse_client)
        assert first.status_code == 200
        assert 'id="booking-' in first.content.decode()
        stale = poll(nurse_client, '"1-' + "0" * 32 + '"')
    assert stale.status_code == 200
    assert stale["ETag"] == first["ETag"]


def _visit_until(step):
    """Set up the visit up to `step` (arrived first), returning the write under test."""

    def setup(booking, nurse, clinician):
        services.mark_arrived(booking=booking, marked_by=nurse)
        writes = [
            lambda: services.record_checks(
                booking=booking, recorded_by=nurse, identity_confirmed=True, blood_sample_taken=True
            ),
            lambda: services.record_administration(
                dose=booking.dose, given_at=at(MONDAY, 8, 5), recorded_by=clinician, **VIAL
            ),
            lambda: services.start_observation(booking=booking, recorded_by=nurse),
            lambda: services.record_discharge(
                booking=booking, recorded_by=nurse, early_reason="Transport came early"
            ),
        ]
        for write in writes[:step]:
            write()
        return writes[step]

    return setup


def _another_booking(booking, nurse, clinician):
    course = make_course(make_patient("H200002", family_name="Babbage"))
    return lambda: services.book_dose_number(
        course=course, number=1, slot=booking.slot, booked_by=nurse
    )


# Each write under test, after its setup: setup(booking, nurse, clinician) -> the write.
WRITES = {
    "arrived": lambda b, n, c: lambda: services.mark_arrived(booking=b, marked_by=n),
    "checks": _visit_until(0),
    "dose given": _visit_until(1),
    "observation": _visit_until(2),
    "discharge": _visit_until(3),
    "did not attend": lambda b, n, c: lambda: services.mark_no_show(booking=b, marked_by=n),
    "cancelled": lambda b, n, c: (
        lambda: services.cancel_booking(booking=b, reason="Patient phoned", cancelled_by=n)
    ),
    "a new booking": _another_booking,
    "a hold": lambda b, n, c: (
        lambda: services.record_adverse_event(
            course=b.dose.course, term="myelitis", onset=MONDAY, serious=True, recorded_by=c
        )
    ),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_write_the_board_shows_ends_the_304(write, booking, nurse, clinician, nurse_client):
    """Each write a nurse or a clinician makes changes the ETag: the next poll is a 200 with
    the change, never a 304 over it (the board would stay stale on another nurse's screen)."""
    with frozen(MONDAY, 8, 5):
        change = WRITES[write](booking, nurse, clinician)
        etag = etag_of(nurse_client)
        assert poll(nurse_client, etag).status_code == 304
        before = nurse_client.get(DAY_URL).content.decode()
        change()
        after = poll(nurse_client, etag)
    assert after.status_code == 200
    assert after["ETag"] != etag
    assert re.sub(r"csrfmiddlewaretoken\" value=\"[^\"]+", "", after.content.decode()) != (
        re.sub(r"csrfmiddlewaretoken\" value=\"[^\"]+", "", before)
    )


def test_a_clinicians_booking_request_ends_the_304(booking, nurse, clinician, client):
    client.force_login(clinician)
    with frozen(MONDAY, 8, 5):
        course = make_course(make_patient("H300003", family_name="Turing"))
        etag = etag_of(client)
        services.ask_clinician(course=course, number=1, slot=None, asked_by=nurse)
        assert poll(client, etag).status_code == 200


def test_the_next_day_ends_the_304(booking, nurse_client):
    with frozen(MONDAY, 23, 50):
        nurse_client.force_login(booking.booked_by)
        etag = etag_of(nurse_client)
    with frozen(MONDAY + timedelta(days=1), 0, 5):
        nurse_client.force_login(booking.booked_by)
        assert poll(nurse_client, etag).status_code == 200


# Who may have a 304 ----------------------------------------------------------------------------


def test_another_users_etag_is_not_answered_304(booking, nurse, clinician, client):
    """The ETag names its user; the 304 is given only to that user's signed-in session."""
    with frozen(MONDAY, 8, 1):
        client.force_login(nurse)
        etag = etag_of(client)
        client.force_login(clinician)
        assert poll(client, etag).status_code == 200


def test_a_signed_out_poll_takes_the_page_to_the_sign_in_screen(booking, nurse_client):
    with frozen(MONDAY, 8, 1):
        etag = etag_of(nurse_client)
        nurse_client.logout()
        response = poll(nurse_client, etag)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("login"))
    assert response.content == b""


def test_a_poll_after_the_idle_limit_signs_out_instead_of_answering(booking, nurse_client):
    with frozen(MONDAY, 8, 1):
        etag = etag_of(nurse_client)
    with frozen(MONDAY, 8, 40), override_settings(SESSION_IDLE_MINUTES=30):
        response = poll(nurse_client, etag, HTTP_HX_CURRENT_URL="http://testserver" + DAY_URL)
        assert response.status_code == 200
        # The whole page to sign-in, and back to the board (not its poll) afterwards.
        assert response["HX-Redirect"] == f"{reverse('login')}?next={DAY_URL}"
        assert SESSION_KEY not in nurse_client.session


def test_polling_does_not_keep_an_idle_board_signed_in(booking, nurse_client):
    """The poll is not activity: the last-seen time stays where the nurse left it, so a board
    left open on a ward computer still signs out after the idle limit."""
    with frozen(MONDAY, 8, 1):
        nurse_client.get(DAY_URL)
        seen = nurse_client.session[SESSION_SEEN_KEY]
    for minute in (5, 10, 20):
        with frozen(MONDAY, 8, minute):
            assert poll(nurse_client).status_code == 200
    assert nurse_client.session[SESSION_SEEN_KEY] == seen
    with frozen(MONDAY, 8, 35):
        response = poll(nurse_client)
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_a_nurse_without_the_board_permission_gets_no_poll(booking, client, django_user_model):
    someone = django_user_model.objects.create_user("visitor", password="x-long-pass-123")
    client.force_login(someone)
    assert poll(client).status_code == 403


def test_a_day_out_of_range_is_a_404(nurse_client):
    url = reverse("schedules:board_poll", args=[date(9999, 12, 31)])
    assert nurse_client.get(url, **HTMX).status_code == 404


def test_here_must_be_a_path_on_this_site(booking, nurse_client):
    with frozen(MONDAY, 8, 1):
        page = nurse_client.get(POLL_URL + "?here=https://evil.example/", **HTMX)
    assert "evil.example" not in page.content.decode()


# What the board shows --------------------------------------------------------------------------


def test_stage_counts_at_the_top(booking, nurse, unit, nurse_client):
    with frozen(MONDAY, 8, 30):
        other = services.book_dose_number(
            course=make_course(make_patient("H200002", family_name="Babbage")),
            number=1,
            slot=booking.slot,
            booked_by=nurse,
        )
        services.mark_arrived(booking=other, marked_by=nurse)
        nurse_client.force_login(nurse)
        page = nurse_client.get(DAY_URL).content.decode()
    counts = dict(
        (stage, int(number))
        for stage, number in re.findall(
            r'data-stage="(\w+)"><span class="board-count-number">(\d+)</span>', page
        )
    )
    assert counts["booked"] == 1
    assert counts["arrived"] == 1
    assert counts["given"] == 0
    assert "1</span> arrived" in page


def test_time_in_stage_and_a_long_wait_highlighted(booking, nurse, nurse_client):
    with frozen(MONDAY, 8, 0):
        services.mark_arrived(booking=booking, marked_by=nurse)
    with frozen(MONDAY, 8, 20):
        nurse_client.force_login(nurse)
        row = row_of(nurse_client.get(DAY_URL).content.decode(), booking)
    assert "20 min</span> at this stage since 08:00" in row
    assert "board-waiting" not in row
    assert re.search(r'class="board-wait-flag[^"]*" hidden', row)
    with frozen(MONDAY, 8, 31):
        nurse_client.force_login(nurse)
        row = row_of(nurse_client.get(DAY_URL).content.decode(), booking)
    assert "board-row board-waiting" in row
    assert "Waiting too long for the pre-dose checks" in row
    assert not re.search(r'class="board-wait-flag[^"]*" hidden', row)


def test_the_waiting_threshold_is_half_an_hour():
    assert timedelta(minutes=30) == flow_board.WAITING_TOO_LONG
    assert timedelta(minutes=90) == flow_board.LONGEST_OBSERVATION


def test_the_observation_alert_shows_when_60_minutes_are_reached(
    booking, nurse, clinician, nurse_client
):
    with frozen(MONDAY, 8, 0):
        services.mark_arrived(booking=booking, marked_by=nurse)
        services.record_checks(
            booking=booking, recorded_by=nurse, identity_confirmed=True, blood_sample_taken=True
        )
        services.record_administration(
            dose=booking.dose, given_at=at(MONDAY, 8, 0), recorded_by=clinician, **VIAL
        )
    with frozen(MONDAY, 8, 10):
        services.start_observation(booking=booking, recorded_by=nurse)
    with frozen(MONDAY, 9, 0):
        nurse_client.force_login(nurse)
        row = row_of(nurse_client.get(DAY_URL).content.decode(), booking)
    assert 'data-observation-left="600"' in row  # counted down by the page
    assert re.search(r'class="board-obs-alert[^"]*"[^>]* hidden>60 minutes reached at 09:10', row)
    with frozen(MONDAY, 9, 11):
        nurse_client.force_login(nurse)
        page = nurse_client.get(DAY_URL).content.decode()
    row = row_of(page, booking)
    assert re.search(r'class="board-obs-alert[^"]*"[^>]*>60 minutes reached at 09:10', row)
    assert not re.search(r'class="board-obs-alert[^"]*"[^>]* hidden', row)
    assert "Grace Hopper: 60 minutes of observation reached at 09:10; may be discharged." in row
    # The announcement is made by the page once, into a live region outside the refreshed part.
    assert '<div id="board-announcer" class="visually-hidden" aria-live="polite"' in page
    assert page.index("board-announcer") < page.index('id="board-live"')


def test_the_poll_carries_the_task_badge_for_a_clinician_only(booking, clinician, client):
    with frozen(MONDAY, 8, 1):
        client.force_login(clinician)
        assert 'id="tasks-badge"' in poll(client).content.decode()
        assert 'hx-swap-oob="true"' in poll(client).content.decode()
        client.force_login(booking.booked_by)
        assert 'id="tasks-badge"' not in poll(client).content.decode()


def test_after_a_button_the_slot_comes_back_in_place(booking, nurse, nurse_client):
    """An in-place action re-renders its slot (htmx); the board's poll then sees a new ETag."""
    with frozen(MONDAY, 8, 1):
        etag = etag_of(nurse_client)
        response = nurse_client.post(
            reverse("schedules:arrived", args=[booking.pk]), {"next": DAY_URL}, **HTMX
        )
        assert response.status_code == 200
        assert f'id="booking-{booking.pk}"' in response.content.decode()
        assert Booking.objects.get(pk=booking.pk).status == Booking.Status.ARRIVED
        assert poll(nurse_client, etag).status_code == 200


def test_a_write_that_commits_after_a_later_one_still_ends_the_304(booking, nurse):
    """Two writes at once take history ids n and n+1; n+1 commits first and a poll reads the
    board; then n commits. The fingerprint must move when n lands (a MAX(history_id) would not:
    that board would stay stale until the next change)."""
    history = Booking.history.model
    with frozen(MONDAY, 8, 5):
        services.mark_arrived(booking=booking, marked_by=nurse)
        services.undo_arrived(booking=booking, undone_by=nurse)
        late = history.objects.order_by("-history_id")[1]  # the earlier of the two writes
        late_id = late.history_id
        late.delete()  # not committed yet, as far as a poll can see
        before = freshness.board_state(MONDAY, nurse.pk).etag
        late.history_id = late_id
        history.objects.bulk_create([late])  # ... and now it commits
        after = freshness.board_state(MONDAY, nurse.pk).etag
    assert after != before


def test_checks_stopped_for_a_clinician_wait_for_the_decision(booking, nurse, nurse_client):
    with frozen(MONDAY, 8, 0):
        services.mark_arrived(booking=booking, marked_by=nurse)
    with frozen(MONDAY, 8, 10):
        services.record_checks(
            booking=booking,
            recorded_by=nurse,
            identity_confirmed=True,
            blood_sample_taken=True,
            fever=True,
        )
    with frozen(MONDAY, 8, 45):
        nurse_client.force_login(nurse)
        row = row_of(nurse_client.get(DAY_URL).content.decode(), booking)
    assert "35 min</span> at this stage since 08:10" in row
    assert "Waiting too long for a clinician&#x27;s decision" in row


@pytest.mark.parametrize("verified", [True, False])
def test_with_two_factor_on_a_clinician_needs_a_verified_session_for_the_304(
    verified, booking, nurse, clinician, client, settings
):
    """Second factor required (DEBUG off): a nurse's session gets its 304 (nurses need none);
    a clinician's only when the session holds a verified device, as the full stack demands."""
    settings.TWO_FACTOR_REQUIRED = True
    with frozen(MONDAY, 8, 1):
        client.force_login(nurse)
        etag = freshness.board_state(MONDAY, nurse.pk).etag
        assert poll(client, etag).status_code == 304
        client.force_login(clinician)
        if verified:
            session = client.session
            session["otp_device_id"] = "otp_totp.totpdevice/1"
            session.save()
        etag = freshness.board_state(MONDAY, clinician.pk).etag
        session_key = client.cookies["sessionid"].value
        found = freshness.unchanged_for_session(MONDAY, etag, session_key)
    assert bool(found) is verified


@pytest.mark.parametrize(
    "header",
    [
        '"1-' + "é" * 32 + '"',
        '"99999999999999999999-' + "0" * 32 + '"',
        '"-1-' + "0" * 32 + '"',
        "*",
        'W/"abc", "def"',
        "\x00",
    ],
)
def test_a_hostile_if_none_match_is_an_ordinary_answer_never_a_500(booking, nurse_client, header):
    with frozen(MONDAY, 8, 1):
        assert poll(nurse_client, header).status_code == 200
        nurse_client.logout()
        response = poll(nurse_client, header)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("login"))
