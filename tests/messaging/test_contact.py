"""Contact details and the agreement to reminders on the patient (issue 18 §1)."""

from datetime import date

import pytest

from patients.models import Patient
from schedules.messaging import texts
from tests.factories import make_patient

FORM = {
    "hospital_number": "H100001",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1970-05-17",
}


@pytest.fixture
def ada(db):
    return make_patient()


def edit(client, patient, **fields):
    return client.post(f"/patients/{patient.pk}/edit/", {**FORM, **fields})


@pytest.mark.parametrize("typed", ["07911 123456", "+44 7911 123456", "0044 7911-123456"])
def test_a_nurse_records_a_mobile_in_one_spelling(nurse_client, ada, typed):
    response = edit(nurse_client, ada, mobile_phone=typed, preferred_channel="none")
    assert response.status_code == 302, response.content.decode()[:2000]
    ada.refresh_from_db()
    assert ada.mobile_phone == "+447911123456"


@pytest.mark.parametrize("typed", ["020 7946 0000", "12345", "07911 12345x", "+33 6 12 34 56 78"])
def test_a_landline_or_a_foreign_number_is_refused_with_a_message(nurse_client, ada, typed):
    response = edit(nurse_client, ada, mobile_phone=typed, preferred_channel="none")
    assert response.status_code == 200
    assert "Give a UK mobile number" in response.content.decode()
    ada.refresh_from_db()
    assert ada.mobile_phone == ""


def test_the_channel_needs_its_address(nurse_client, ada):
    response = edit(nurse_client, ada, preferred_channel="sms", reminders_agreed_on="2026-01-05")
    assert "Give a mobile number to send text reminders." in response.content.decode()
    ada.refresh_from_db()
    assert ada.preferred_channel == "none"


def test_the_agreement_records_who_recorded_it(nurse_client, nurse, ada):
    edit(
        nurse_client,
        ada,
        mobile_phone="07911 123456",
        preferred_channel="sms",
        reminders_agreed_on="2026-01-05",
    )
    ada.refresh_from_db()
    assert ada.reminders_agreed_on == date(2026, 1, 5)
    assert ada.reminders_recorded_by == nurse
    page = nurse_client.get(f"/patients/{ada.pk}/").content.decode()
    assert "Reminders by text message, agreed Mon 5 Jan 2026 (recorded by Nurse)." in page


def test_a_future_agreement_date_is_refused(nurse_client, ada):
    response = edit(
        nurse_client,
        ada,
        mobile_phone="07911 123456",
        preferred_channel="sms",
        reminders_agreed_on="2099-01-05",
    )
    assert response.status_code == 200
    assert Patient.objects.get().reminders_agreed_on is None


def test_the_letter_says_when_texts_come(unit, ada):
    assert texts.letter_line(ada, unit) == ""  # no agreement: nothing promised
    ada.mobile_phone, ada.preferred_channel = "+447911123456", "sms"
    ada.reminders_agreed_on = date(2026, 1, 5)
    assert (
        texts.letter_line(ada, unit) == "You will get a text 7 days and 2 days before each visit."
    )
    unit.second_reminder_days = 0
    ada.preferred_channel, ada.email = "email", "ada@example.org"
    assert texts.letter_line(ada, unit) == "You will get an email 7 days before each visit."


def test_the_printed_letter_carries_the_line(nurse_client, unit, ada):
    Patient.objects.filter(pk=ada.pk).update(
        mobile_phone="+447911123456", preferred_channel="sms", reminders_agreed_on="2026-01-05"
    )
    page = nurse_client.get(f"/feeds/patients/{ada.pk}/letter").content.decode()
    assert "You will get a text 7 days and 2 days before each visit." in page
