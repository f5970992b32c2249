"""Clinical facts are clinician-only (issue 9; hazard log H5/H14): the SOD1 confirmation,
consents and whether the patient could become pregnant. A nurse's POST that carries them
changes nothing and says why, in the form and in the service. One test per role × form."""

from datetime import date

import pytest
from django.urls import reverse

from patients import services as patient_services
from patients.models import Consent, Patient
from tests.factories import make_patient, make_user

ROLES = ["nurse", "clinician", "admin"]
CAN_RECORD = {"nurse": False, "clinician": True, "admin": True}

IDENTITY = {
    "hospital_number": "H100001",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1970-05-17",
    "address": "1 New Street",
}


@pytest.fixture
def as_role(client, db):
    def sign_in(role):
        extra = {"is_staff": True, "is_superuser": True} if role == "admin" else {}
        user = make_user(role, role.title(), **extra)
        client.force_login(user)
        return user

    return sign_in


def _facts(patient):
    patient.refresh_from_db()
    return (patient.sod1_variant, patient.sod1_confirmed_on, patient.could_be_pregnant)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "clinical",
    [
        {"sod1_variant": "p.Gly94Ala", "sod1_confirmed_on": "2025-06-01"},
        {"sod1_variant": "", "sod1_confirmed_on": ""},  # clearing the confirmation
        {"could_be_pregnant": "on", "sod1_variant": "p.Ala5Val (A4V)"},
    ],
    ids=["change-sod1", "clear-sod1", "pregnancy"],
)
def test_editing_clinical_facts(client, as_role, role, clinical):
    patient = make_patient()
    before = _facts(patient)
    as_role(role)
    posted = {
        **IDENTITY,
        "sod1_variant": patient.sod1_variant,
        "sod1_confirmed_on": "2025-01-10",
        **clinical,
    }

    response = client.post(reverse("patients:edit", args=[patient.pk]), posted)

    if CAN_RECORD[role]:
        assert response.status_code == 302
        assert _facts(patient) != before
    else:
        assert response.status_code == 200
        page = response.content.decode()
        assert "Only a clinician can record the SOD1 confirmation" in page
        assert "nothing was saved" in page
        assert _facts(patient) == before
        assert patient.address == ""  # nothing else was saved either


@pytest.mark.parametrize("role", ROLES)
def test_editing_identity_keeps_the_clinical_facts(client, as_role, role):
    """The ordinary edit (no clinical fields posted, as the browser sends for a nurse)."""
    patient = make_patient(could_be_pregnant=True)
    before = _facts(patient)
    as_role(role)
    posted = dict(IDENTITY)
    if CAN_RECORD[role]:
        posted.update(
            sod1_variant="p.Ala5Val (A4V)", sod1_confirmed_on="2025-01-10", could_be_pregnant="on"
        )

    response = client.post(reverse("patients:edit", args=[patient.pk]), posted)

    assert response.status_code == 302
    assert _facts(patient) == before
    assert patient.address == "1 New Street"


@pytest.mark.parametrize("role", ROLES)
def test_the_edit_form_shows_clinical_facts_read_only_to_a_nurse(client, as_role, role):
    patient = make_patient()
    as_role(role)
    page = client.get(reverse("patients:edit", args=[patient.pk])).content.decode()
    disabled = (
        'name="sod1_variant"' in page and "disabled" in page.split('name="sod1_variant"')[1][:200]
    )
    assert disabled is not CAN_RECORD[role]


@pytest.mark.parametrize("role", ROLES)
def test_registering_with_clinical_facts(client, as_role, role):
    as_role(role)
    posted = {**IDENTITY, "sod1_variant": "p.Gly94Ala", "sod1_confirmed_on": "2025-06-01"}

    response = client.post(reverse("patients:create"), posted)

    if CAN_RECORD[role]:
        assert Patient.objects.get().sod1_confirmed
    else:
        assert "Only a clinician" in response.content.decode()
        assert not Patient.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_recording_a_consent(client, as_role, role):
    patient = make_patient(eligible=False)
    as_role(role)

    response = client.post(
        reverse("patients:consent_add", args=[patient.pk]),
        {"kind": "hospital", "signed_on": "2025-02-01", "reference": "SCAN-1"},
    )

    if CAN_RECORD[role]:
        assert response.status_code == 302
        assert Consent.objects.filter(patient=patient).count() == 1
    else:
        assert response.status_code == 403
        assert "needs another role" in response.content.decode()
        assert not Consent.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_withdrawing_a_consent(client, as_role, role):
    patient = make_patient()
    consent = patient.consents.first()
    as_role(role)

    response = client.post(
        reverse("patients:consent_withdraw", args=[patient.pk, consent.pk]),
        {"withdrawn_on": "2025-03-01"},
    )

    consent.refresh_from_db()
    if CAN_RECORD[role]:
        assert consent.withdrawn_on == date(2025, 3, 1)
    else:
        assert response.status_code == 403
        assert consent.withdrawn_on is None


def test_the_service_refuses_a_nurse_changing_clinical_facts(nurse):
    patient = make_patient()

    with pytest.raises(patient_services.ClinicianOnly):
        patient_services.save_patient(
            patient=patient, changes={"sod1_variant": "", "sod1_confirmed_on": None}, by=nurse
        )

    assert Patient.objects.get().sod1_confirmed
