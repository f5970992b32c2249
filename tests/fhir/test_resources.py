"""What another system reads from the FHIR API: every resource it returns is valid FHIR (checked
by `fhir.resources`, whose R4B models match R4 for these resources), and says what the record
says: the NHS number, a booking's status, a dose given or not, a serious event, a course's
state."""

import pytest
from fhir.resources.R4B.adverseevent import AdverseEvent
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from schedules.fhir.resources import hospital_number_system
from tests.fhir.conftest import NHS_NUMBER

MODELS = {
    model.__name__: model
    for model in (
        Patient,
        Schedule,
        Slot,
        Appointment,
        MedicationAdministration,
        AdverseEvent,
        CarePlan,
    )
}
NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
# Codes with a required binding in R4, which `fhir.resources` does not check.
REQUIRED_CODES = {
    ("Appointment", "status"): {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    },
    ("Slot", "status"): {"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"},
    ("MedicationAdministration", "status"): {
        "in-progress",
        "not-done",
        "on-hold",
        "completed",
        "entered-in-error",
        "stopped",
        "unknown",
    },
    ("CarePlan", "status"): {
        "draft",
        "active",
        "on-hold",
        "revoked",
        "completed",
        "entered-in-error",
        "unknown",
    },
    ("CarePlan", "intent"): {"proposal", "plan", "order", "option"},
    ("AdverseEvent", "actuality"): {"actual", "potential"},
    ("Bundle", "type"): {"searchset"},
}


def valid(response, model=None) -> dict:
    """The response's JSON, after `fhir.resources` has validated it (a Bundle's entries each as
    its own type too)."""
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    body = response.json()
    model = model or MODELS.get(body["resourceType"]) or Bundle
    model.model_validate(body)
    check_codes(body)
    if body["resourceType"] == "Bundle":
        for entry in body.get("entry", []):
            resource = entry["resource"]
            MODELS[resource["resourceType"]].model_validate(resource)
            check_codes(resource)
            assert entry["fullUrl"].endswith(
                f"/fhir/R4/{resource['resourceType']}/{resource['id']}"
            )
    return body


def check_codes(resource: dict) -> None:
    for (resource_type, element), codes in REQUIRED_CODES.items():
        if resource["resourceType"] == resource_type:
            assert resource[element] in codes, (resource_type, element, resource[element])


def search(fhir_get, path):
    response = fhir_get(path)
    assert response.status_code == 200, response.content
    return valid(response)


def resources_of(bundle) -> list[dict]:
    return [entry["resource"] for entry in bundle.get("entry", [])]


def test_metadata_lists_every_served_type_and_is_valid(client):
    response = client.get("/fhir/R4/metadata")
    assert response.status_code == 200
    statement = valid(response, CapabilityStatement)
    served = {resource["type"] for resource in statement["rest"][0]["resource"]}
    assert served == set(MODELS)
    assert statement["fhirVersion"] == "4.0.1"


@pytest.mark.parametrize("resource_type", sorted(MODELS))
def test_every_resource_read_and_searched_is_valid_fhir(fhir_get, record, resource_type):
    """Each type: a search returns at least one resource, and reading each by id returns the
    same resource; both pass `fhir.resources` validation."""
    bundle = search(fhir_get, f"/fhir/R4/{resource_type}?_count=100")
    found = resources_of(bundle)
    assert found, f"no {resource_type} in the record"
    assert bundle["total"] == len(found)
    for resource in found:
        response = fhir_get(f"/fhir/R4/{resource_type}/{resource['id']}")
        assert response.status_code == 200
        assert valid(response) == resource


def test_patient_found_by_nhs_number_carries_both_identifiers(fhir_get, record):
    bundle = search(fhir_get, f"/fhir/R4/Patient?identifier={NHS_SYSTEM}|{NHS_NUMBER}")
    (patient,) = resources_of(bundle)
    assert patient["id"] == str(record.ada.pk)
    identifiers = {ident["system"]: ident["value"] for ident in patient["identifier"]}
    assert identifiers[NHS_SYSTEM] == NHS_NUMBER
    assert "H100001" in identifiers.values()
    assert patient["name"][0] == {"use": "official", "family": "Lovelace", "given": ["Ada"]}
    assert patient["birthDate"] == "1970-05-17"


def test_patient_search_by_hospital_number_and_unknown_system(fhir_get, record):
    hospital_system = hospital_number_system()
    bundle = search(fhir_get, f"/fhir/R4/Patient?identifier={hospital_system}|H100002")
    assert [p["name"][0]["family"] for p in resources_of(bundle)] == ["Hopper"]
    # Grace has no NHS number: nothing is sent under the NHS system for her.
    assert [i["system"] for i in resources_of(bundle)[0]["identifier"]] == [hospital_system]
    assert search(fhir_get, "/fhir/R4/Patient?identifier=H100003")["total"] == 1
    assert search(fhir_get, "/fhir/R4/Patient?identifier=urn:other|H100003")["total"] == 0
    # The NHS number as people type it, with spaces, still matches.
    spaced = "943%20476%205919"
    assert search(fhir_get, f"/fhir/R4/Patient?identifier={NHS_SYSTEM}|{spaced}")["total"] == 1


def test_appointment_status_follows_the_booking(fhir_get, record):
    bundle = search(fhir_get, f"/fhir/R4/Appointment?patient={record.ada.pk}")
    by_id = {a["id"]: a for a in resources_of(bundle)}
    expected = {
        "fulfilled1": "fulfilled",
        "fulfilled2": "fulfilled",
        "fulfilled3": "fulfilled",
        "not_given": "fulfilled",
        "cancelled": "cancelled",
        "noshow": "noshow",
        "arrived": "arrived",
        "booked": "booked",
    }
    assert {name: by_id[str(record.bookings[name].pk)]["status"] for name in expected} == expected
    cancelled = by_id[str(record.bookings["cancelled"].pk)]
    assert cancelled["cancelationReason"]["text"] == "Patient asked to move"
    not_given = by_id[str(record.bookings["not_given"].pk)]
    assert "dose not given: Lumbar puncture unsuccessful" in not_given["comment"]
    booked = by_id[str(record.bookings["booked"].pk)]
    assert booked["start"] == "2026-04-01T09:00:00+01:00"  # British Summer Time
    assert booked["participant"][0]["actor"]["reference"] == f"Patient/{record.ada.pk}"
    assert booked["participant"][1]["actor"]["display"] == "Neurology Day Unit"
    assert booked["slot"] == [{"reference": f"Slot/{record.slots[7].pk}"}]


def test_appointment_search_by_date_and_status(fhir_get, record):
    path = f"/fhir/R4/Appointment?patient=Patient/{record.ada.pk}&date=ge2026-03-01"
    march_on = resources_of(search(fhir_get, path))
    assert [a["start"][:10] for a in march_on] == [
        "2026-03-04",
        "2026-03-05",
        "2026-03-06",
        "2026-04-01",
    ]
    ranged = search(fhir_get, "/fhir/R4/Appointment?date=ge2026-01-19&date=lt2026-01-22")
    assert [a["start"][:10] for a in resources_of(ranged)] == ["2026-01-19", "2026-01-21"]
    in_month = search(fhir_get, "/fhir/R4/Appointment?date=2026-03")
    assert in_month["total"] == 3
    statuses = search(fhir_get, "/fhir/R4/Appointment?status=cancelled,noshow")
    assert sorted(a["status"] for a in resources_of(statuses)) == ["cancelled", "noshow"]
    assert search(fhir_get, f"/fhir/R4/Appointment?patient={record.grace.pk}")["total"] == 0


def test_doses_given_and_not_given_as_medication_administration(fhir_get, record):
    bundle = search(fhir_get, f"/fhir/R4/MedicationAdministration?patient={record.ada.pk}")
    found = resources_of(bundle)
    # In the order they happened: dose 1, the failed visit, dose 2, dose 3.
    assert [m["status"] for m in found] == ["completed", "not-done", "completed", "completed"]
    first = found[0]
    assert first["id"] == f"dose-{record.given[0].pk}"
    assert first["effectiveDateTime"] == "2026-01-05T09:30:00+00:00"
    assert first["dosage"]["route"]["coding"][0]["code"] == "72607000"
    assert first["dosage"]["dose"] == {
        "value": 100,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    medication = first["contained"][0]
    assert medication["batch"] == {"lotNumber": "B123", "expirationDate": "2027-06-30"}
    assert first["performer"][0]["actor"]["display"] == "Dr Lumbar"
    # Dose 3 had no batch recorded: none is invented.
    assert "batch" not in found[3]["contained"][0]

    not_done = found[1]
    assert not_done["id"] == f"visit-{record.not_given_visit.pk}"
    reason = not_done["statusReason"][0]
    assert reason["coding"][0]["code"] == "lp_unsuccessful"
    assert reason["text"] == "Lumbar puncture unsuccessful: Three attempts"
    assert {"reference": f"Appointment/{record.bookings['not_given'].pk}"} in not_done[
        "supportingInformation"
    ]

    only_not_done = search(fhir_get, "/fhir/R4/MedicationAdministration?status=not-done")
    assert [m["id"] for m in resources_of(only_not_done)] == [not_done["id"]]
    february = search(fhir_get, "/fhir/R4/MedicationAdministration?date=2026-02")
    assert [m["id"] for m in resources_of(february)] == [f"dose-{record.given[2].pk}"]


def test_adverse_events_say_serious_and_the_dose_they_followed(fhir_get, record):
    bundle = search(fhir_get, f"/fhir/R4/AdverseEvent?patient={record.ada.pk}")
    plph, myelitis = resources_of(bundle)
    assert plph["seriousness"]["coding"][0]["code"] == "non-serious"
    assert plph["event"]["text"] == "Post-lumbar-puncture headache"
    assert plph["outcome"]["coding"][0]["code"] == "resolved"
    assert plph["suspectEntity"][0]["instance"]["reference"] == (
        f"MedicationAdministration/dose-{record.given[0].pk}"
    )
    assert plph["suspectEntity"][0]["causality"][0]["assessment"]["text"] == (
        "Related to the lumbar puncture"
    )
    assert myelitis["seriousness"]["coding"][0]["code"] == "serious"
    assert myelitis["severity"]["coding"][0]["code"] == "severe"
    assert myelitis["date"] == "2026-02-01"
    later = search(fhir_get, "/fhir/R4/AdverseEvent?date=ge2026-01-07")
    assert [e["id"] for e in resources_of(later)] == [str(record.myelitis.pk)]


def test_course_status_as_care_plan(fhir_get, record):
    statuses = {
        plan["id"]: plan["status"] for plan in resources_of(search(fhir_get, "/fhir/R4/CarePlan"))
    }
    assert statuses == {
        str(record.ada_course.pk): "on-hold",  # held for clinical review
        str(record.grace_course.pk): "on-hold",  # paused
        str(record.alan_course.pk): "revoked",  # stopped
    }
    stopped = fhir_get(f"/fhir/R4/CarePlan/{record.alan_course.pk}").json()
    assert stopped["period"] == {"start": "2025-06-02", "end": "2025-12-01"}
    assert "Stopped on 2025-12-01: Patient choice" in stopped["note"][0]["text"]
    held = fhir_get(f"/fhir/R4/CarePlan/{record.ada_course.pk}").json()
    assert "On hold for clinical review" in held["note"][0]["text"]
    revoked = search(fhir_get, "/fhir/R4/CarePlan?status=revoked")
    assert [p["id"] for p in resources_of(revoked)] == [str(record.alan_course.pk)]


def test_slots_and_schedule_show_places(fhir_get, record, unit):
    (schedule,) = resources_of(search(fhir_get, "/fhir/R4/Schedule"))
    assert "Monday 09:00" in schedule["comment"]
    slots = resources_of(search(fhir_get, f"/fhir/R4/Slot?schedule=Schedule/{unit.pk}"))
    assert len(slots) == len(record.slots)
    assert all(s["schedule"]["reference"] == f"Schedule/{unit.pk}" for s in slots)
    by_id = {s["id"]: s for s in slots}
    # A cancelled booking frees its place; a booked one takes it.
    assert by_id[str(record.slots[4].pk)]["comment"] == "0 of 2 places booked"
    assert by_id[str(record.slots[7].pk)]["comment"] == "1 of 2 places booked"
    assert by_id[str(record.slots[7].pk)]["status"] == "free"
    # 6 April 2026 is Easter Monday, a bank holiday: a slot on it is unavailable.
    from tests.fhir.conftest import _slot

    easter = _slot(unit, record.slots[7].start.date().replace(month=4, day=6))
    assert fhir_get(f"/fhir/R4/Slot/{easter.pk}").json()["status"] == "busy-unavailable"


def test_paging_returns_every_row_exactly_once(fhir_get, record):
    """Follow `next` links at two per page: every appointment once, the total on each page."""
    seen = []
    url = "/fhir/R4/Appointment?_count=2"
    pages = 0
    while url:
        bundle = search(fhir_get, url)
        pages += 1
        assert bundle["total"] == 8
        seen += [a["id"] for a in resources_of(bundle)]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        url = links.get("next", "").replace("http://testserver", "")
    assert pages == 4
    assert len(seen) == len(set(seen)) == 8
    assert set(seen) == {str(b.pk) for b in record.bookings.values()}
    only_total = search(fhir_get, "/fhir/R4/Appointment?_count=0")
    assert only_total["total"] == 8 and "entry" not in only_total


def test_medication_administration_paging_across_both_kinds(fhir_get, record):
    seen = []
    for offset in range(0, 4):
        bundle = search(fhir_get, f"/fhir/R4/MedicationAdministration?_count=1&_offset={offset}")
        seen += [m["id"] for m in resources_of(bundle)]
    assert len(set(seen)) == 4
    assert search(fhir_get, "/fhir/R4/MedicationAdministration?_offset=4")["total"] == 4


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/R4/Appointment?patiant=1",
        "/fhir/R4/Appointment?date=yesterday",
        "/fhir/R4/Appointment?date=2026-02-30",
        "/fhir/R4/Appointment?date=ap2026-01-01",
        "/fhir/R4/Appointment?date=2026-01-01T09:00",
        "/fhir/R4/Appointment?patient=Practitioner/1",
        "/fhir/R4/Appointment?patient=",
        "/fhir/R4/Appointment?status=waitlist",
        "/fhir/R4/Appointment?_count=-1",
        "/fhir/R4/Appointment?_count=101",
        "/fhir/R4/Appointment?_count=%EF%BC%91",
        "/fhir/R4/Patient?identifier=",
        "/fhir/R4/Patient?_format=xml",
        "/fhir/R4/Patient/1?_summary=true",
        "/fhir/R4/MedicationAdministration?status=done",
        "/fhir/R4/Slot?start=9999999999",
    ],
)
def test_bad_search_is_400_operation_outcome(fhir_get, record, path):
    response = fhir_get(path)
    assert response.status_code == 400
    outcome = valid(response, OperationOutcome)
    assert outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00%2B14:00",
        "9999-12-31T23:59:59-14:00",
        "le9999-12-31",
        "ge0001-01-01",
        "9999-12",
        "0001",
    ],
)
def test_dates_at_the_calendar_edges_are_never_a_server_error(fhir_get, record, value):
    for resource_type in ("Appointment", "Slot", "MedicationAdministration", "AdverseEvent"):
        response = fhir_get(f"/fhir/R4/{resource_type}?date={value}")
        assert response.status_code in (200, 400), (resource_type, value)
        valid(response, None if response.status_code == 200 else OperationOutcome)


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/R4/Patient/999999",
        "/fhir/R4/Patient/abc",
        "/fhir/R4/Patient/99999999999999999999999",
        "/fhir/R4/MedicationAdministration/42",
        "/fhir/R4/MedicationAdministration/dose-999999",
        "/fhir/R4/MedicationAdministration/visit-x",
        "/fhir/R4/Observation/1",
        "/fhir/R4/Observation",
        "/fhir/R4/",
        "/fhir/R4/Patient/",
        "/fhir/R4/Patient/1/_history/1",
    ],
)
def test_unknown_id_or_type_is_404_operation_outcome(fhir_get, record, path):
    response = fhir_get(path)
    assert response.status_code == 404
    valid(response, OperationOutcome)


def test_a_dose_not_given_is_not_readable_as_given(fhir_get, record):
    """dose-<id> is only a dose that was given: dose 4 (cancelled, missed, arrived) is not."""
    dose4 = record.bookings["arrived"].dose
    assert fhir_get(f"/fhir/R4/MedicationAdministration/dose-{dose4.pk}").status_code == 404


def test_search_queries_do_not_grow_with_rows(fhir_get, record, django_assert_max_num_queries):
    """A page of up to 100 of each type in a fixed number of queries: the token, its last
    use, the count, the page with what it shows, the read log; for CarePlan the planning
    read path's batch for the active courses (its facts and the unit's calendar)."""
    from datetime import date

    from schedules.models import TreatmentCourse
    from tests.factories import make_patient

    for number in range(3):
        TreatmentCourse.objects.create(
            patient=make_patient(f"H30000{number}"), start_date=date(2026, 1, 5)
        )
    for resource_type in MODELS:
        with django_assert_max_num_queries(13):
            assert fhir_get(f"/fhir/R4/{resource_type}?_count=100").status_code == 200


def test_the_trusts_own_hospital_number_system(fhir_get, record, settings):
    settings.FHIR_HOSPITAL_NUMBER_SYSTEM = "https://fhir.example-trust.nhs.uk/Id/mrn"
    bundle = search(
        fhir_get, f"/fhir/R4/Patient?identifier={settings.FHIR_HOSPITAL_NUMBER_SYSTEM}|H100001"
    )
    (patient,) = resources_of(bundle)
    assert {
        "use": "usual",
        "system": settings.FHIR_HOSPITAL_NUMBER_SYSTEM,
        "value": "H100001",
    }.items() <= patient["identifier"][1].items()


def test_an_active_course_carries_its_next_dose_from_the_plan(fhir_get, unit, clinician):
    """The next dose is the planning read path's: due 14 days after dose 1 was given, then
    the date it is booked for once booked."""
    from datetime import date, datetime, timedelta

    import time_machine

    from schedules.models import Booking, Dose, Slot, TreatmentCourse
    from tests.factories import make_patient
    from tests.fhir.conftest import LONDON

    course = TreatmentCourse.objects.create(
        patient=make_patient("H200001"), start_date=date(2026, 1, 5)
    )
    Dose.objects.create(course=course, number=1, given_at=datetime(2026, 1, 5, 10, tzinfo=LONDON))
    with time_machine.travel(datetime(2026, 1, 10, 12, tzinfo=LONDON), tick=False):
        plan = fhir_get(f"/fhir/R4/CarePlan/{course.pk}").json()
        assert plan["status"] == "active"
        regimen, next_dose = (activity["detail"] for activity in plan["activity"])
        assert regimen["status"] == "in-progress"
        assert next_dose["status"] == "not-started"
        assert next_dose["scheduledPeriod"] == {"start": "2026-01-19"}
        assert "dose 2 (loading), due 2026-01-19" in next_dose["description"]
        CarePlan.model_validate(plan)

        start = datetime(2026, 1, 20, 9, tzinfo=LONDON)
        slot = Slot.objects.create(unit=unit, start=start, end=start + timedelta(hours=2), places=2)
        dose2 = Dose.objects.create(course=course, number=2)
        Booking.objects.create(dose=dose2, slot=slot, booked_by=clinician)
        bundle = search(fhir_get, f"/fhir/R4/CarePlan?patient={course.patient_id}")
        next_dose = resources_of(bundle)[0]["activity"][1]["detail"]
        assert next_dose["status"] == "scheduled"
        assert next_dose["scheduledPeriod"] == {"start": "2026-01-20"}
        assert "booked for 2026-01-20" in next_dose["description"]


def test_a_refusal_names_the_parameter_and_what_it_takes(fhir_get, record):
    outcome = fhir_get("/fhir/R4/Appointment?patient=Practitioner/1").json()
    assert outcome["issue"][0]["diagnostics"] == (
        "patient: 'Practitioner/1' is not Patient/<id> or <id>."
    )
    outcome = fhir_get("/fhir/R4/MedicationAdministration?effective-time=soon").json()
    assert outcome["issue"][0]["diagnostics"].startswith("effective-time: 'soon' is not a date")
    outcome = fhir_get("/fhir/R4/CarePlan?statu=active").json()
    assert "Unknown search parameter 'statu' for CarePlan" in outcome["issue"][0]["diagnostics"]
