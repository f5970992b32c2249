"""Needs booking, Overdue & rebook and the day list: what a nurse sees, and a constant number
of queries however many patients there are."""

import re
from datetime import date, timedelta

import pytest
from django.db.models import Count, F, Q
from django.urls import reverse

from schedules import outlook, services
from schedules.models import Booking, Closure, CourseEvent, Dose, Slot, TreatmentCourse
from tests.factories import at, frozen, make_course, make_patient, make_slot

MONDAY = date(2026, 3, 2)


@pytest.fixture
def frozen_monday():
    with frozen(MONDAY, 8):
        yield


def populate(unit, nurse, count: int):
    """`count` patients at different stages: some booked today, some due in the coming weeks,
    some given and overdue, one paused. Slots for eight weeks."""
    services.generate_slots(unit=unit, weeks=8)
    slots_today = list(Slot.objects.on_day(unit, MONDAY))
    for index in range(count):
        patient = make_patient(f"Q{index:05d}", family_name=f"Family{index:03d}")
        stage = index % 4
        if stage == 0:  # dose 1 today
            course = make_course(patient, start=MONDAY)
            if len(Booking.objects.filter(slot__in=slots_today)) < 6:
                slot = slots_today[index % 3]
                services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
        elif stage == 1 and index == 1:  # dose 1 given a week ago, dose 2 due next week
            course = make_course(patient, start=MONDAY - timedelta(days=7))
            Dose.objects.create(course=course, number=1, given_at=at(MONDAY - timedelta(days=7)))
        elif stage == 1:  # due in a few weeks
            make_course(patient, start=MONDAY + timedelta(days=index % 35))
        elif stage == 2:  # dose 1 given, dose 2 overdue
            course = make_course(patient, start=MONDAY - timedelta(days=30))
            Dose.objects.create(course=course, number=1, given_at=at(MONDAY - timedelta(days=30)))
        else:  # paused
            course = make_course(patient, start=MONDAY - timedelta(days=10))
            course.status = TreatmentCourse.Status.PAUSED
            course.save()
            CourseEvent.objects.create(
                course=course,
                kind=CourseEvent.Kind.PAUSE,
                on=MONDAY - timedelta(days=5),
                reason=CourseEvent.Reason.SIDE_EFFECTS,
            )
    outlook.refresh_all()  # facts written directly, not through the services


# Queries per page, measured with 10 and with 200 patients: the same. A change here means a
# page started querying per row (or someone found a saving): look before updating the number.
# Each staff page has one more for the messaging banner (issue 18 §8, one query).
PAGES = [
    # The flow board: one more for the ETag its poll sends back (issue 20, live board).
    ("schedules:today", None, "", 14),
    ("schedules:day", [MONDAY], "", 14),
    # + the day loads: slots, rota, competencies, imaging (levelled choices, issue 19)
    ("schedules:needs_booking", None, "", 22),
    # + courses on hold, + the clinician hand-offs, + arrivals with no outcome (issue 17)
    # + every waiting hand-off, whichever page its course is on (issue 20)
    ("schedules:overdue", None, "", 23),
    # + the forecast of unbooked demand, + the rota and the imaging lists (issue 19)
    ("schedules:calendar", None, "", 15),
    ("schedules:calendar", None, "?month=2026-04", 15),
    ("schedules:week", None, "", 9),  # names, doses and statuses only: no plan to prefetch
]


@pytest.mark.parametrize(
    ("name", "args", "query", "queries"), PAGES, ids=[p[0] + p[2] for p in PAGES]
)
def test_query_count_does_not_grow_with_patients(
    name, args, query, queries, unit, nurse, nurse_client, frozen_monday, django_assert_num_queries
):
    url = reverse(name, args=args) + query
    populate(unit, nurse, 10)
    with django_assert_num_queries(queries):
        assert nurse_client.get(url).status_code == 200
    populate_more(unit, nurse, 200)
    assert TreatmentCourse.objects.count() == 200
    with django_assert_num_queries(queries):
        assert nurse_client.get(url).status_code == 200


def populate_more(unit, nurse, total):
    """Up to `total` patients: due soon, overdue, or booked in the coming weeks."""
    for index in range(TreatmentCourse.objects.count(), total):
        patient = make_patient(f"R{index:05d}", family_name=f"More{index:03d}")
        stage = index % 3
        if stage == 0:
            make_course(patient, start=MONDAY + timedelta(days=index % 35))
        elif stage == 1:
            course = make_course(patient, start=MONDAY - timedelta(days=30))
            Dose.objects.create(course=course, number=1, given_at=at(MONDAY - timedelta(days=30)))
        else:
            course = make_course(patient, start=MONDAY + timedelta(days=1 + index % 20))
            # The first slot from the start day with a place left (full slots would only be
            # refused: half the service calls, same bookings).
            taken = Count("bookings", filter=Q(bookings__status__in=Booking.ACTIVE_STATUSES))
            free = (
                Slot.objects.filter(start__gte=at(course.start_date, 0))
                .annotate(taken=taken)
                .filter(taken__lt=F("places"))
                .order_by("start", "pk")
            )
            for slot in free:
                try:
                    services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
                except services.BookingError:
                    continue
                break
    outlook.refresh_all()  # facts written directly, not through the services


BOOK_PAGE_QUERIES = 11


def test_book_pages_query_count_does_not_grow(
    unit, nurse, nurse_client, frozen_monday, django_assert_num_queries
):
    populate(unit, nurse, 10)
    course = make_course(make_patient("S1"), start=MONDAY + timedelta(days=3))
    # Both read the day loads (slots, rota, competencies, imaging) and the dose's failed
    # visits (levelled suggestions, issue 19).
    expected = {
        reverse("schedules:book", args=[course.pk, 1]): 18,
        reverse("schedules:book_next", args=[course.pk]): 18,
    }
    urls = list(expected)
    counts = {}
    for url in urls:
        with django_assert_num_queries(counts.setdefault(url, expected[url])):
            nurse_client.get(url)
    populate_more(unit, nurse, 200)
    for url in urls:
        with django_assert_num_queries(counts[url]):
            nurse_client.get(url)


# What the nurse sees ---------------------------------------------------------------------------


def test_needs_booking_lists_due_doses_most_urgent_first(unit, nurse, nurse_client, frozen_monday):
    services.generate_slots(unit=unit, weeks=8)
    later = make_course(make_patient("N2", family_name="Later"), start=MONDAY + timedelta(days=20))
    sooner = make_course(make_patient("N1", family_name="Sooner"), start=MONDAY + timedelta(days=2))
    make_course(make_patient("N3", family_name="Faraway"), start=MONDAY + timedelta(weeks=10))
    booked = make_course(make_patient("N4", family_name="Booked"), start=MONDAY)
    services.book_dose_number(course=booked, number=1, slot=Slot.objects.first(), booked_by=nurse)
    page = nurse_client.get(reverse("schedules:needs_booking")).content.decode()
    assert page.index("Sooner") < page.index("Later")
    assert "Faraway" not in page, "beyond the needs-booking horizon"
    # Dose 1 is booked, so the next one to book is dose 2, two weeks later.
    assert "Mon 16 Mar – Mon 23 Mar 2026" in page
    assert "Wed 4 Mar – Wed 11 Mar 2026" in page  # Sooner's window
    assert "Book Wed 4 Mar 2026, 09:00" in page  # one-click first free slot
    assert sooner and later


def test_one_click_booking_from_needs_booking(unit, nurse, nurse_client, frozen_monday):
    services.generate_slots(unit=unit, weeks=2)
    course = make_course(make_patient("N5"), start=MONDAY + timedelta(days=2))
    slot = Slot.objects.on_day(unit, MONDAY + timedelta(days=2)).first()
    response = nurse_client.post(
        reverse("schedules:book", args=[course.pk, 1]),
        {"slot": slot.pk, "next": reverse("schedules:needs_booking")},
        follow=True,
    )
    # One click: the nurse stays on the worklist, told what was booked, the row gone.
    assert response.redirect_chain == [(reverse("schedules:needs_booking"), 302)]
    page = response.content.decode()
    assert "Booked dose 1" in page
    assert "Wed 4 Mar – Wed 11 Mar" not in page, "dose 1 is booked"
    assert "Wed 18 Mar – Wed 25 Mar 2026" in page, "dose 2 is next, counted from dose 1"


def test_needs_booking_shows_why_a_patient_cannot_be_booked(unit, nurse_client, frozen_monday):
    make_course(make_patient("N6", eligible=False), start=MONDAY + timedelta(days=2))
    page = nurse_client.get(reverse("schedules:needs_booking")).content.decode()
    assert "Cannot book yet" in page
    assert "SOD1" in page


def test_overdue_lists_overdue_no_shows_and_flagged_bookings(unit, nurse, nurse_client):
    with frozen(MONDAY, 8):
        services.generate_slots(unit=unit, weeks=6)
        # Overdue: dose 1 given 20 days ago, dose 2 was due 6 days ago.
        overdue = make_course(make_patient("O1", family_name="Overdue"), MONDAY - timedelta(20))
        Dose.objects.create(course=overdue, number=1, given_at=at(MONDAY - timedelta(days=20)))
        outlook.refresh_next_due(overdue)  # a fact written directly, not by a service
        # Flagged: dose 2 booked 14 days after dose 1, then dose 1 moved three days later.
        moved = make_course(make_patient("O2", family_name="Moved"), MONDAY)
        first = services.book_dose_number(
            course=moved,
            number=1,
            slot=Slot.objects.on_day(unit, MONDAY).first(),
            booked_by=nurse,
        )
        services.book_dose_number(
            course=moved,
            number=2,
            slot=Slot.objects.on_day(unit, MONDAY + timedelta(days=14)).first(),
            booked_by=nurse,
        )
        services.reschedule_booking(
            booking=first,
            slot=Slot.objects.on_day(unit, MONDAY + timedelta(days=3)).first(),
            rescheduled_by=nurse,
        )
        # No-show: booked today, did not come.
        missed = make_course(make_patient("O3", family_name="Missed"), MONDAY)
        booking = services.book_dose_number(
            course=missed,
            number=1,
            slot=Slot.objects.on_day(unit, MONDAY)[1],
            booked_by=nurse,
        )
    with frozen(MONDAY, 17):
        services.mark_no_show(booking=booking, marked_by=nurse)
    with frozen(MONDAY + timedelta(days=1), 8):
        nurse_client.force_login(nurse)
        page = nurse_client.get(reverse("schedules:overdue")).content.decode()
    overdue_part, flagged_part, _ = page.split("<h2")[1:4]
    assert "Overdue" in overdue_part and "7 days late" in overdue_part
    assert "Missed" in overdue_part and "Did not attend on Mon 2 Mar 2026" in overdue_part
    assert "Moved" in flagged_part and "Too early" in flagged_part
    # Never moved silently: dose 2 is still where it was booked.
    assert Booking.objects.active().get(dose__course=moved, dose__number=2).local_date == (
        MONDAY + timedelta(days=14)
    )


def test_overdue_lists_past_appointments_without_outcome(unit, nurse, nurse_client):
    with frozen(MONDAY, 8):
        course = make_course(make_patient("O4", family_name="Forgotten"), MONDAY)
        services.book_dose_number(
            course=course, number=1, slot=make_slot(unit, MONDAY), booked_by=nurse
        )
    with frozen(MONDAY + timedelta(days=2), 8):
        page = nurse_client.get(reverse("schedules:overdue")).content.decode()
    assert "Forgotten" in page.split("Past appointments with no outcome")[1]


def test_day_list_shows_the_patients_and_actions(unit, nurse, nurse_client, frozen_monday):
    slot = make_slot(unit, MONDAY, 9)
    course = make_course(make_patient("D1", given_name="Grace", family_name="Hopper"))
    booking = services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
    page = nurse_client.get(reverse("schedules:today")).content.decode()
    assert "09:00–11:00" in page
    assert "Grace Hopper" in page and "D1" in page
    assert "Dose 1" in page and "loading" in page
    assert "Booked" in page
    assert reverse("schedules:arrived", args=[booking.pk]) in page
    assert reverse("schedules:noshow", args=[booking.pk]) in page
    assert "1 of 2 places booked · 1 free" in page
    assert "data-print" in page  # static/js/app.js prints (strict CSP: no inline handler)


def test_day_list_marks_arrival(unit, nurse, nurse_client, frozen_monday):
    slot = make_slot(unit, MONDAY, 9)
    course = make_course(make_patient("D2"))
    booking = services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
    response = nurse_client.post(
        reverse("schedules:arrived", args=[booking.pk]),
        {"next": reverse("schedules:today")},
        follow=True,
    )
    assert "has arrived" in response.content.decode()
    assert "Arrived" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ARRIVED


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "0000-01-01", "tomorrow"])
def test_day_list_bad_dates_are_404(nurse_client, bad):
    assert nurse_client.get(f"/day/{bad}/").status_code == 404


def test_home_redirects_to_today(nurse_client):
    response = nurse_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("schedules:today")


def test_booking_on_a_day_closed_later_is_flagged_not_moved(unit, nurse, nurse_client):
    with frozen(MONDAY, 8):
        course = make_course(make_patient("O5", family_name="Closedday"), MONDAY)
        booking = services.book_dose_number(
            course=course,
            number=1,
            slot=make_slot(unit, MONDAY + timedelta(days=2)),
            booked_by=nurse,
        )
        Closure.objects.create(
            unit=unit,
            start_date=MONDAY + timedelta(days=2),
            end_date=MONDAY + timedelta(days=2),
            reason="Staff shortage",
        )
        page = nurse_client.get(reverse("schedules:overdue")).content.decode()
    flagged_part = page.split("Bookings to check")[1].split("Past appointments")[0]
    assert "Closedday" in flagged_part
    assert "Unit closed" in flagged_part and "Staff shortage" in flagged_part
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED


def test_overdue_choices_are_yellow_only_for_the_dose_past_its_window(
    unit, nurse_client, frozen_monday
):
    """The help text says yellow choices are past the window. The same slot can be inside one
    dose's window and past another's: each row answers for its own dose."""
    services.generate_slots(unit=unit, weeks=2)
    make_course(make_patient("P1", family_name="Pastwindow"), MONDAY - timedelta(days=20))
    make_course(make_patient("P2", family_name="Stillinwindow"), MONDAY - timedelta(days=2))
    page = nurse_client.get(reverse("schedules:overdue")).content.decode()
    rows = page.split("<h2")[1].split("<tr>")[1:]
    past = next(row for row in rows if "Pastwindow" in row)
    inside = next(row for row in rows if "Stillinwindow" in row)
    # A nurse may not book past the window: the date is shown, not offered as a button
    # (issue 20: no dead ends), and the row asks a clinician instead.
    assert "past window, a clinician books it" in past
    assert "btn-outline-primary" not in past.split("Other dates")[0]
    assert "Ask a clinician to book" in past
    assert "past window" not in inside and "Ask a clinician" not in inside


def test_a_clinicians_past_window_choice_goes_straight_to_the_reason(
    unit, clinician, client, frozen_monday
):
    """Issue 20: "Book … with a reason" leads to the form asking the reason, with that slot
    chosen, not to an error first; giving the reason books it."""
    services.generate_slots(unit=unit, weeks=2)
    course = make_course(make_patient("P1", family_name="Pastwindow"), MONDAY - timedelta(days=20))
    client.force_login(clinician)
    page = client.get(reverse("schedules:overdue")).content.decode()
    row = next(r for r in page.split("<h2")[1].split("<tr>")[1:] if "Pastwindow" in r)
    link = re.search(r'href="([^"]+)">Book ([^<]+) <span class="small">\(past window\)', row)
    assert link is not None

    form = client.get(link[1].replace("&amp;", "&"))
    assert form.status_code == 200
    text = form.content.decode()
    assert "Reason for booking outside the window" in text
    assert "error" not in text.split("<main", 1)[1].split("<form", 1)[0].lower()
    slot_id = re.search(r"slot=(\d+)", link[1])[1]
    assert (
        f'value="{slot_id}" id="slot-{slot_id}"' in text and f'id="slot-{slot_id}" checked' in text
    )

    booked = client.post(
        link[1].replace("&amp;", "&").split("#")[0],
        {"slot": slot_id, "override_reason": "Back from holiday"},
    )
    assert booked.status_code == 302
    assert Booking.objects.active().get(dose__course=course).override_reason == "Back from holiday"


def test_a_clinicians_past_window_choice_stays_chosen_with_the_reason_box_and_a_button(
    unit, clinician, client, frozen_monday
):
    """From Overdue, a clinician's one click on a yellow choice is refused for want of a
    reason: the page keeps that slot chosen, asks for the reason, and can be submitted."""
    services.generate_slots(unit=unit, weeks=2)
    course = make_course(make_patient("R1", family_name="Pastwindow"), MONDAY - timedelta(days=20))
    slot = Slot.objects.on_day(unit, MONDAY + timedelta(days=1)).first()
    client.force_login(clinician)
    url = reverse("schedules:book", args=[course.pk, 1])
    response = client.post(url, {"slot": slot.pk, "next": reverse("schedules:overdue")})
    page = response.content.decode()
    assert response.status_code == 400
    assert f'value="{slot.pk}" id="slot-{slot.pk}" checked' in page
    assert "Reason for booking outside the window" in page
    assert "Book dose 1</button>" in page

    response = client.post(
        url,
        {
            "slot": slot.pk,
            "override_reason": "Back from abroad",
            "next": reverse("schedules:overdue"),
        },
    )
    assert response.status_code == 302
    booking = Booking.objects.active().get(dose__course=course)
    assert booking.slot == slot and booking.override_reason == "Back from abroad"


def test_a_nurse_asks_a_clinician_who_sees_it_and_books_with_a_reason(
    unit, nurse, clinician, client, frozen_monday
):
    services.generate_slots(unit=unit, weeks=2)
    course = make_course(make_patient("A1", family_name="Handoff"), MONDAY - timedelta(days=20))
    client.force_login(nurse)
    page = client.get(reverse("schedules:overdue")).content.decode()
    assert "Ask a clinician to book Mon 2 Mar 2026, 09:00" in page
    slot = Slot.objects.on_day(unit, MONDAY).first()
    response = client.post(
        reverse("schedules:ask_clinician", args=[course.pk, 1]),
        {"slot": slot.pk, "note": "Back from holiday", "next": reverse("schedules:overdue")},
        follow=True,
    )
    page = response.content.decode()
    assert "Asked a clinician to book dose 1 for Ada Handoff" in page
    assert "Clinician asked" in page
    # The nurse sees where it went (the message says so), but cannot book it.
    asked = page.split('id="asked-heading"')[1].split("</section>")[0]
    assert "Handoff" in asked and "Waiting for a clinician" in asked
    assert "with a reason" not in asked

    client.force_login(clinician)
    page = client.get(reverse("schedules:overdue")).content.decode()
    listed = page.split('id="asked-heading"')[1].split("</section>")[0]
    assert "Handoff" in listed and "Back from holiday" in listed
    assert "Book Mon 2 Mar 2026, 09:00 with a reason" in listed
    client.post(
        reverse("schedules:book", args=[course.pk, 1]),
        {"slot": slot.pk, "override_reason": "Asked by the nurse: back from holiday"},
    )
    page = client.get(reverse("schedules:overdue")).content.decode()
    assert 'id="asked-heading"' not in page  # booked: the hand-off is done


def test_asking_about_a_booked_dose_is_refused(unit, nurse, nurse_client, frozen_monday):
    services.generate_slots(unit=unit, weeks=2)
    course = make_course(make_patient("A2"), MONDAY)
    slot = Slot.objects.on_day(unit, MONDAY).first()
    services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
    response = nurse_client.post(
        reverse("schedules:ask_clinician", args=[course.pk, 1]), {"slot": slot.pk}, follow=True
    )
    assert "already booked: nothing to ask a clinician" in response.content.decode()
