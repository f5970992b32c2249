"""Registering, finding and reading a patient record. Registration with a SOD1 confirmation
is a clinician's (issue 9: clinical facts are clinician-only;
tests/security/test_field_permissions.py)."""

from datetime import date

import pytest
from django.urls import reverse

from patients import views as patient_views
from patients.models import Patient
from tests.factories import make_patient

VALID = {
    "hospital_number": "h200123",
    "nhs_number": "943 476 5919",
    "given_name": "Grace",
    "family_name": "Hopper",
    "date_of_birth": "1961-12-09",
    "sod1_variant": "p.Gly94Ala",
    "sod1_confirmed_on": "2025-06-01",
}


def test_clinician_registers_a_patient_with_a_spaced_nhs_number(clinician_client):
    response = clinician_client.post(reverse("patients:create"), VALID)

    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert patient.nhs_number == "9434765919"
    assert patient.hospital_number == "H200123"
    page = clinician_client.get(response["Location"]).content.decode()
    assert "Grace Hopper" in page
    assert "943 476 5919" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nhs_number", "943 476 5918", "check digit"),
        ("nhs_number", "12345", "10 digits"),
        ("nhs_number", "94347659AB", "10 digits"),
        ("date_of_birth", "2099-01-01", "must be in the past"),
        ("date_of_birth", "0001-01-01", "between 1900 and 2100"),
        ("date_of_birth", "2025-02-30", "Enter a valid date"),
        ("hospital_number", "", "This field is required"),
        ("sod1_confirmed_on", "", "Give the date genetic testing confirmed it"),
    ],
)
def test_invalid_registration_is_refused_with_a_clear_message(
    clinician_client, field, value, message
):
    response = clinician_client.post(reverse("patients:create"), {**VALID, field: value})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Patient.objects.exists()


def test_hospital_number_and_nhs_number_must_be_unique(clinician_client):
    make_patient("H200123", nhs_number="9434765919")

    response = clinician_client.post(reverse("patients:create"), VALID)

    page = response.content.decode()
    assert "Patient with this Hospital number already exists" in page
    assert "Another patient already has this NHS number" in page
    assert Patient.objects.count() == 1


def test_nhs_number_is_optional(clinician_client):
    clinician_client.post(reverse("patients:create"), {**VALID, "nhs_number": ""})

    assert Patient.objects.get().nhs_number == ""


def main_of(response) -> str:
    """The page's main content: names looked for by position must not be matched inside the
    random CSRF token in the page's head (it made this test fail now and then)."""
    html = response.content.decode()
    return html[html.index("<main") :]


def test_search_pages_in_list_order_with_constant_queries(
    nurse_client, monkeypatch, django_assert_num_queries
):
    """The match runs once for the ids (count and page); the page's patients are read by
    id, in the list's order (family name, given name), and queries do not grow with matches."""
    monkeypatch.setattr(patient_views, "PATIENTS_PER_PAGE", 2)
    for number, given in enumerate(["Eve", "Bob", "Cy"]):
        make_patient(f"H3000{number}", given_name=given, family_name="Shah")
    make_patient("H30009", given_name="Zed", family_name="Other")
    url = reverse("patients:list")
    nurse_client.get(url, {"q": "shah"})
    with django_assert_num_queries(9):
        first = main_of(nurse_client.get(url, {"q": "shah"}))
    for number, given in enumerate(["Alwyn", "Di"], start=3):
        make_patient(f"H3000{number}", given_name=given, family_name="Shah")
    with django_assert_num_queries(9):
        second = main_of(nurse_client.get(url, {"q": "shah", "page": 2}))

    assert "3 patients matching" in first and "Alwyn" not in first
    assert first.index("Bob") < first.index("Cy") and "Eve" not in first
    assert "5 patients matching" in second and "Page 2 of 3" in second
    assert second.index("Cy") < second.index("Di")
    assert "Zed" not in second and "Alwyn" not in second


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lovelace", ["H100001"]),
        ("ada love", ["H100001"]),
        ("h100002", ["H100002"]),
        ("943 476 5919", ["H100002"]),
        ("9434765919", ["H100002"]),
        ("nobody", []),
        ("love\u200blace", ["H100001"]),  # a zero-width space pasted into the search
        ("\ufeffada", ["H100001"]),
    ],
)
def test_patient_list_searches_name_hospital_and_nhs_number(nurse_client, query, expected):
    make_patient("H100001")
    make_patient("H100002", given_name="Alan", family_name="Turing", nhs_number="9434765919")

    response = nurse_client.get(reverse("patients:list"), {"q": query})

    page = response.content.decode()
    found = sorted(hn for hn in ["H100001", "H100002"] if f">{hn}</td>" in page)
    assert found == expected


def test_patient_list_needs_login(client):
    response = client.get(reverse("patients:list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_unknown_patient_is_404(nurse_client):
    assert nurse_client.get(reverse("patients:detail", args=[999])).status_code == 404


def test_patient_page_says_what_blocks_treatment(nurse_client):
    patient = make_patient(eligible=False)

    page = nurse_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()

    assert "No dose can be booked or given yet" in page
    assert "Genetic testing confirming a SOD1 mutation is not recorded" in page
    assert "No signed hospital consent form on file" in page


def test_date_of_birth_today_is_refused(clinician_client, clock):
    clock(date(2026, 11, 22), 0)
    response = clinician_client.post(
        reverse("patients:create"), {**VALID, "date_of_birth": "2026-11-22"}
    )

    assert "must be in the past" in response.content.decode()


@pytest.mark.parametrize("query", ["\x00", "a\x00b", "x" * 101])
def test_unusable_search_text_is_a_message_not_an_error(nurse_client, query):
    make_patient()

    response = nurse_client.get(reverse("patients:list"), {"q": query})

    assert response.status_code == 200
    assert "100 characters at most" in response.content.decode()
    assert ">H100001</td>" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Shah, Priya", ["H200001"]),  # the list's own "Family, Given" order
        ("priya shah", ["H200001"]),
        ("obrien", ["H200002"]),  # O'Brien without the apostrophe
        ("O'Brien", ["H200002"]),
        ("o’brien", ["H200002"]),  # a typographic apostrophe
        ("zoe", ["H200003"]),  # Zoë without the accent
        ("ZOË", ["H200003"]),
        ("smith jones", ["H200003"]),  # Smith-Jones
        ("h200002", ["H200002"]),  # hospital number in any case
        ("943 476 5919", ["H200001"]),
        ("shah obrien", []),
    ],
)
def test_search_ignores_commas_apostrophes_accents_and_case(nurse_client, query, expected):
    make_patient("H200001", given_name="Priya", family_name="Shah", nhs_number="9434765919")
    make_patient("H200002", given_name="Siobhán", family_name="O'Brien")
    make_patient("H200003", given_name="Zoë", family_name="Smith-Jones")

    response = nurse_client.get(reverse("patients:list"), {"q": query})

    page = response.content.decode()
    found = sorted(hn for hn in ["H200001", "H200002", "H200003"] if f">{hn}</td>" in page)
    assert found == expected
