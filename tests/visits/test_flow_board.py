"""The flow board (issue 10, item 1): Today as slots with their places, each patient's identity
and visit stage with one next step; undo of Arrived and Did not attend for ten minutes; a
closed day that says what to do; buttons that work with htmx and without JavaScript."""

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from simple_history.utils import get_history_model_for_model

from schedules import services
from schedules.models import Booking, Closure, Visit
from tests.factories import MONDAY, VIAL, at, frozen, make_course, make_patient, make_slot

DAY_URL = reverse("schedules:day", args=[MONDAY])
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def morning(unit):
    with frozen():
        yield unit


@pytest.fixture
def booking(morning, nurse):
    """Grace Hopper, dose 1 at 09:00 today in a slot of three places."""
    patient = make_patient(
        "H123456",
        given_name="Grace",
        family_name="Hopper",
        nhs_number="9434765919",
        date_of_birth=date(1956, 12, 9),
    )
    slot = make_slot(morning, MONDAY, 9, places=3)
    return services.book_dose_number(
        course=make_course(patient), number=1, slot=slot, booked_by=nurse
    )


def row_of(page: str, booking) -> str:
    match = re.search(rf'<tr id="booking-{booking.pk}".*?</tr>', page, re.S)
    assert match, "the booking has no row on the board"
    return match[0]


def board(client, url=DAY_URL) -> str:
    """The board as the client's user sees it now (signed in again: the clock may have moved
    past the 30-minute idle sign-out)."""
    client.force_login(client.user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def post(client, url, data, **extra):
    client.force_login(client.user)
    return client.post(url, data, **extra)


@pytest.fixture
def nurse_client(client, nurse):
    client.user = nurse
    client.force_login(nurse)
    return client


def buttons(row: str) -> list[str]:
    return [re.sub(r"\s+", " ", b).strip() for b in re.findall(r"<button[^>]*>(.*?)</button>", row)]


# What the board shows --------------------------------------------------------------------------


def test_each_slot_says_its_places_and_each_patient_their_identity(booking, nurse_client):
    page = board(nurse_client)
    assert "09:00–11:00" in page
    assert "1 of 3 places booked · 2 free" in page
    row = row_of(page, booking)
    assert "Grace Hopper" in row
    assert "Sun 9 Dec 1956" in row  # date of birth, in the one date format
    assert "943 476 5919" in row  # NHS number 3-3-4
    assert "H123456" in row
    # One primary step; the others quieter, under More; no calendar file on the board.
    assert buttons(row)[0] == "Arrived"
    assert "<details" in row and "Did not attend" in row.split("<details")[1]
    assert ".ics" not in page and "Add to calendar" not in page


def test_the_visit_stage_and_its_times_follow_the_visit(booking, nurse, clinician, nurse_client):
    with frozen(MONDAY, 9, 2):
        services.mark_arrived(booking=booking, marked_by=nurse)
        row = row_of(board(nurse_client), booking)
    assert "Arrived 09:02" in row and "Pre-dose checks" in row
    with frozen(MONDAY, 9, 10):
        services.record_checks(
            booking=booking, recorded_by=nurse, identity_confirmed=True, blood_sample_taken=True
        )
        services.record_administration(
            dose=booking.dose, given_at=at(MONDAY, 9, 10), recorded_by=clinician, **VIAL
        )
        services.start_observation(booking=booking, recorded_by=nurse)
    with frozen(MONDAY, 9, 35):
        page = board(nurse_client)
        row = row_of(page, booking)
    assert "1 of 3 places booked" in page  # given and in observation: still in a bed
    assert "In observation since 09:10" in row
    assert "25 min" in row
    assert "minimum (60 min) ends 10:10" in row
    assert buttons(row)[0] == "Discharge"


def test_a_nurse_waits_for_a_clinician_to_record_the_dose(booking, nurse, nurse_client):
    with frozen(MONDAY, 9, 2):
        services.mark_arrived(booking=booking, marked_by=nurse)
        services.record_checks(
            booking=booking, recorded_by=nurse, identity_confirmed=True, blood_sample_taken=True
        )
        row = row_of(board(nurse_client), booking)
    assert "a clinician records the dose" in row
    assert "Record dose given" not in row


def test_a_closed_day_is_a_banner_and_each_row_says_to_reschedule(booking, morning, nurse_client):
    Closure.objects.create(
        unit=morning, start_date=MONDAY, end_date=MONDAY, reason="Staff training"
    )
    page = board(nurse_client)
    assert re.search(
        r"<h2[^>]*>The unit is closed on this day</h2>\s*<p[^>]*>.*Staff training", page
    )
    row = row_of(page, booking)
    assert "Unit closed: reschedule this booking." in row
    primary = re.search(r'<a class="btn[^"]*board-primary" href="([^"]+)">([^<]+)</a>', row)
    assert primary[2] == "Reschedule"
    assert primary[1].startswith(reverse("schedules:reschedule", args=[booking.pk]))
    assert "Arrived" not in buttons(row)
    assert " free" not in page and "No one booked yet" not in page


def test_date_of_birth_and_nhs_number_are_in_the_print_columns(booking, nurse_client):
    page = board(nurse_client)
    for heading in ("Time", "Date of birth", "NHS no.", "Hospital no.", "Dose", "Arrived",
                    "Checks", "Given", "Obs end", "Discharged"):  # fmt: skip
        assert f">{heading}</th>" in page
    assert "Neurology Day Unit · printed Mon 2 Mar 2026" in page


def test_print_css_hides_buttons_badges_and_the_more_menu():
    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text()
    print_rules = " ".join(re.findall(r"@media print \{(.*?)\n\}", css, re.S))
    assert re.search(r"\.btn[^{]*\{ *display: none !important", print_rules)
    assert ".screen-only" in print_rules and ".board-more" in print_rules
    assert ".print-only" in print_rules


# Undo ------------------------------------------------------------------------------------------


def test_arrived_can_be_undone_within_ten_minutes(booking, nurse):
    with frozen(MONDAY, 9, 0):
        services.mark_arrived(booking=booking, marked_by=nurse)
    with frozen(MONDAY, 9, 10):
        services.undo_arrived(booking=booking, undone_by=nurse)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED
    assert not Visit.objects.filter(booking=booking).exists()
    assert booking.stage == "booked"
    # Undone twice (a double click): nothing more.
    with frozen(MONDAY, 9, 10):
        services.undo_arrived(booking=booking, undone_by=nurse)


def test_undo_of_arrived_is_refused_after_the_window(booking, nurse):
    with frozen(MONDAY, 9, 0):
        services.mark_arrived(booking=booking, marked_by=nurse)
    with (
        frozen(MONDAY, 9, 11),
        pytest.raises(services.ServiceError, match="more than 10 minutes ago"),
    ):
        services.undo_arrived(booking=booking, undone_by=nurse)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ARRIVED


def test_undo_of_arrived_is_refused_once_checks_are_recorded(booking, nurse):
    with frozen(MONDAY, 9, 0):
        services.mark_arrived(booking=booking, marked_by=nurse)
        services.record_checks(
            booking=booking, recorded_by=nurse, identity_confirmed=True, blood_sample_taken=True
        )
        with pytest.raises(services.ServiceError, match="Pre-dose checks"):
            services.undo_arrived(booking=booking, undone_by=nurse)
    visit = Visit.objects.get(booking=booking)
    assert visit.checks_at is not None and visit.blood_sample_taken


def test_undo_is_recorded_in_the_history_with_who_undid_it(booking, nurse, clinician):
    with frozen(MONDAY, 9, 0):
        services.mark_arrived(booking=booking, marked_by=nurse)
        services.undo_arrived(booking=booking, undone_by=clinician)
    last = booking.history.latest("history_id")
    assert last.status == "booked"
    assert last.history_user == clinician
    assert last.history_change_reason == "Arrival undone"
    deleted = get_history_model_for_model(Visit).objects.filter(booking_id=booking.pk)
    assert deleted.latest("history_id").history_type == "-"
    assert deleted.latest("history_id").history_user == clinician


def _with_later_doses(booking, nurse, unit):
    """Doses 2 and 3 booked after dose 1 (each counted from the one before)."""
    course = booking.dose.course
    two = services.book_dose_number(
        course=course, number=2, slot=make_slot(unit, MONDAY + timedelta(days=14)), booked_by=nurse
    )
    three = services.book_dose_number(
        course=course, number=3, slot=make_slot(unit, MONDAY + timedelta(days=28)), booked_by=nurse
    )
    return two, three


def test_did_not_attend_undone_restores_the_later_bookings_it_cancelled(booking, nurse, morning):
    two, three = _with_later_doses(booking, nurse, morning)
    with frozen(MONDAY, 11, 0):
        marked = services.mark_no_show(booking=booking, marked_by=nurse)
        assert [b.pk for b in marked.cancelled_later] == [two.pk, three.pk]
    with frozen(MONDAY, 11, 9):
        undone = services.undo_no_show(booking=booking, undone_by=nurse)
    assert [b.pk for b in undone.restored_later] == [two.pk, three.pk]
    for each in (booking, two, three):
        each.refresh_from_db()
        assert each.status == Booking.Status.BOOKED and each.cancel_reason == ""
    last = booking.history.latest("history_id")
    assert last.history_user == nurse and last.history_change_reason == "'Did not attend' undone"


def test_did_not_attend_undo_finds_what_it_cancelled_whatever_the_message_says(
    booking, nurse, morning
):
    """The undo reads the stored link to the bookings 'did not attend' cancelled, not the
    wording of their cancellation: rewording the message (here, as if stored by an older
    release) still restores them."""
    two, three = _with_later_doses(booking, nurse, morning)
    with frozen(MONDAY, 11, 0):
        services.mark_no_show(booking=booking, marked_by=nurse)
    Booking.objects.filter(pk__in=[two.pk, three.pk]).update(
        cancel_reason="Dose 1 not attended: book again once given."
    )
    with frozen(MONDAY, 11, 5):
        undone = services.undo_no_show(booking=booking, undone_by=nurse)
    assert [b.pk for b in undone.restored_later] == [two.pk, three.pk]
    for each in (two, three):
        each.refresh_from_db()
        assert each.status == Booking.Status.BOOKED and each.cancelled_by_no_show is None


def test_did_not_attend_undo_is_refused_after_the_window(booking, nurse, morning):
    two, _ = _with_later_doses(booking, nurse, morning)
    with frozen(MONDAY, 11, 0):
        services.mark_no_show(booking=booking, marked_by=nurse)
    with (
        frozen(MONDAY, 11, 11),
        pytest.raises(services.ServiceError, match="more than 10 minutes ago"),
    ):
        services.undo_no_show(booking=booking, undone_by=nurse)
    booking.refresh_from_db()
    two.refresh_from_db()
    assert booking.status == Booking.Status.NOSHOW and two.status == Booking.Status.CANCELLED


def test_did_not_attend_undo_changes_nothing_if_a_place_was_taken_since(booking, nurse, morning):
    """All or nothing: dose 2's place was given to someone else, so dose 1 stays missed and
    dose 2 stays cancelled (never a half-restored chain, never a slot over its places)."""
    two, three = _with_later_doses(booking, nurse, morning)
    with frozen(MONDAY, 11, 0):
        services.mark_no_show(booking=booking, marked_by=nurse)
        for index in range(2):  # two.slot has two places
            other = make_course(make_patient(f"H9{index}"), start=MONDAY + timedelta(days=14))
            services.book_dose_number(course=other, number=1, slot=two.slot, booked_by=nurse)
    with (
        frozen(MONDAY, 11, 5),
        pytest.raises(services.ServiceError, match="place of dose 2 .* taken"),
    ):
        services.undo_no_show(booking=booking, undone_by=nurse)
    for each, status in ((booking, "noshow"), (two, "cancelled"), (three, "cancelled")):
        each.refresh_from_db()
        assert each.status == status


def test_did_not_attend_undo_is_refused_when_the_dose_was_rebooked(booking, nurse, morning):
    with frozen(MONDAY, 11, 0):
        services.mark_no_show(booking=booking, marked_by=nurse)
        services.book_dose_number(
            course=booking.dose.course, number=1, slot=make_slot(morning, MONDAY, 13),
            booked_by=nurse,
        )  # fmt: skip
    with frozen(MONDAY, 11, 5), pytest.raises(services.ServiceError, match="booked again since"):
        services.undo_no_show(booking=booking, undone_by=nurse)


# The buttons: htmx in place, and without JavaScript ----------------------------------------------


def test_without_javascript_a_button_posts_and_redirects_back(booking, nurse_client):
    with frozen(MONDAY, 9, 1):
        response = post(
            nurse_client, reverse("schedules:arrived", args=[booking.pk]), {"next": DAY_URL}
        )
        assert response.status_code == 302 and response["Location"] == DAY_URL
        page = board(nurse_client)
    assert "has arrived" in page and "Undo within 10 minutes" in page
    assert "Undo arrived" in buttons(row_of(page, booking))
    with frozen(MONDAY, 9, 3):
        response = post(
            nurse_client,
            reverse("schedules:undo_arrived", args=[booking.pk]),
            {"next": DAY_URL},
            follow=True,
        )
    assert "Arrival undone" in response.content.decode()
    assert buttons(row_of(response.content.decode(), booking))[0] == "Arrived"


def test_with_htmx_a_button_returns_its_slot_and_the_messages(booking, nurse_client):
    with frozen(MONDAY, 9, 1):
        response = post(
            nurse_client, reverse("schedules:arrived", args=[booking.pk]), {"next": DAY_URL}, **HTMX
        )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tbody id="slot-{booking.slot_id}"')
    assert "<html" not in body and "<nav" not in body
    assert 'data-stage="arrived"' in row_of(body, booking)
    assert "Undo arrived" in buttons(row_of(body, booking))
    assert re.search(r'id="messages" aria-live="polite" hx-swap-oob="true"', body)
    assert "Grace Hopper has arrived" in body
    # The buttons in the returned slot post in place again, to the same board.
    assert 'hx-target="closest tbody"' in body and f'value="{DAY_URL}"' in body


def test_with_htmx_a_refusal_is_a_message_in_place(booking, nurse, nurse_client):
    with frozen(MONDAY, 9, 0):
        services.mark_arrived(booking=booking, marked_by=nurse)
    with frozen(MONDAY, 9, 30):
        response = post(
            nurse_client,
            reverse("schedules:undo_arrived", args=[booking.pk]),
            {"next": DAY_URL},
            **HTMX,
        )
    body = response.content.decode()
    assert "can no longer be undone" in body and "alert-danger" in body
    assert "Undo arrived" not in buttons(row_of(body, booking))


def test_the_undo_button_disappears_when_the_window_closes(booking, nurse, nurse_client):
    with frozen(MONDAY, 9, 0):
        services.mark_no_show(booking=booking, marked_by=nurse)
    with frozen(MONDAY, 9, 10):
        row = row_of(board(nurse_client), booking)
        assert "Undo did not attend" in buttons(row) and "until 09:10" in row
    with frozen(MONDAY, 9, 11):
        row = row_of(board(nurse_client), booking)
        assert "Undo did not attend" not in buttons(row)


# Queries ---------------------------------------------------------------------------------------


def test_the_board_queries_do_not_grow_with_bookings(
    booking, morning, nurse, nurse_client, django_assert_num_queries
):
    """1 booking against 10, at every stage of a visit: the same number of queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    nurse_client.get(DAY_URL)  # the session's first request reads more than the next ones
    with CaptureQueriesContext(connection) as one:
        nurse_client.get(DAY_URL)
    with frozen(MONDAY, 8, 30):
        services.mark_arrived(booking=booking, marked_by=nurse)
    slots = [make_slot(morning, MONDAY, hour, places=3) for hour in (11, 13, 15)]
    for index in range(9):
        slot = slots[index % 3]
        course = make_course(make_patient(f"H2{index:02d}", family_name=f"Family{index}"))
        other = services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
        if index % 3 == 1:
            with frozen(MONDAY, 8, 30):
                services.mark_arrived(booking=other, marked_by=nurse)
                services.record_checks(
                    booking=other, recorded_by=nurse, identity_confirmed=True,
                    blood_sample_taken=True,
                )  # fmt: skip
    assert Booking.objects.count() == 10
    with django_assert_num_queries(len(one)):
        nurse_client.get(DAY_URL)


def test_a_closed_day_without_bookings_lists_no_free_places(morning, nurse_client):
    make_slot(morning, MONDAY, 9, places=3)
    Closure.objects.create(unit=morning, start_date=MONDAY, end_date=MONDAY, reason="Bank audit")
    page = board(nurse_client)
    assert "The unit is closed on this day" in page and "Bank audit" in page
    assert "No one is booked." in page
    assert "free" not in page and "<table" not in page


def test_the_visit_pages_write_dates_the_one_way(booking, nurse, nurse_client):
    with frozen(MONDAY, 9, 0):
        services.mark_arrived(booking=booking, marked_by=nurse)
        page = board(nurse_client, reverse("schedules:visit_checks", args=[booking.pk]))
    assert "Day list Mon 2 Mar 2026" in page
    assert "Born Sun 9 Dec 1956" in page
    assert "signed Sat 1 Feb 2025" in page
