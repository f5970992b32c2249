"""Overdue & rebook and the book page without dead ends (issue 20): an undo where the message
promises one, and a nurse offered only dates a clinician may book asks a clinician there."""

import re
from datetime import timedelta

from django.urls import reverse

from schedules import services
from schedules.models import ClinicianRequest
from tests.factories import MONDAY, book, frozen, make_course, make_patient, open_slot

FRIDAY_BEFORE = MONDAY - timedelta(days=3)


def test_did_not_attend_from_overdue_offers_its_undo_there(nurse_client, nurse, unit):
    with frozen(FRIDAY_BEFORE - timedelta(days=1)):
        course = make_course(make_patient(family_name="Missed"), start=FRIDAY_BEFORE)
        booking = book(course, 1, open_slot(unit, FRIDAY_BEFORE), nurse)
    overdue = reverse("schedules:overdue")
    with frozen(MONDAY, 8):
        page = nurse_client.post(
            reverse("schedules:noshow", args=[booking.pk]), {"next": overdue}, follow=True
        ).content.decode()
        assert "Undo within 10 minutes" in page
        row = re.search(r"<tr>(?:(?!</tr>).)*Missed(?:(?!</tr>).)*</tr>", page, re.S)[0]
        assert "Undo “did not attend”" in row and "until 08:10" in row
    with frozen(MONDAY, 8, 11):
        assert "Undo “did not attend”" not in nurse_client.get(overdue).content.decode()


def test_a_nurse_is_not_offered_a_past_window_date_but_asks_a_clinician(nurse_client, unit):
    with frozen(MONDAY, 8):
        services.generate_slots(unit=unit, weeks=2)
        course = make_course(make_patient(family_name="Late"), MONDAY - timedelta(days=20))
        url = reverse("schedules:book", args=[course.pk, 1])
        page = nurse_client.get(url).content.decode()

        radios = re.findall(r'<input class="form-check-input" type="radio"[^>]*>', page)
        past = [r for r in radios if "disabled" in r]
        assert past, "a past-window slot is shown, not usable"
        assert all('aria-describedby="ask-clinician-heading"' in r for r in past)
        assert 'id="ask-clinician-heading">Ask a clinician</h2>' in page
        assert "Book dose 1</button>" not in page  # nothing here a nurse may book
        slot = re.search(r'name="slot" value="(\d+)">\s*<input type="hidden" name="next"', page)
        response = nurse_client.post(
            reverse("schedules:ask_clinician", args=[course.pk, 1]),
            {"slot": slot[1], "note": "Back from holiday", "next": url},
            follow=True,
        )
    assert "Asked a clinician to book dose 1" in response.content.decode()
    assert ClinicianRequest.objects.get().slot_id == int(slot[1])
