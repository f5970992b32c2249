"""The CSV exports: clinicians and admins only, rows from the hand-made unit, formula cells
escaped, every download recorded in the audit trail (read-only in the admin)."""

import csv
import io

import pytest
import time_machine
from django.urls import reverse

from schedules.models import AdverseEvent
from schedules.quality.exports import safe_cell
from schedules.quality.models import ExportRecord
from tests.quality.conftest import TODAY, at, feb

PERIOD = {"start": "2026-01-01", "end": "2026-02-28"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(at(TODAY, 12), tick=False):
        yield


def _rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _url(kind: str) -> str:
    return reverse("quality:export", args=[kind])


def test_the_per_dose_export(clinician_client, hand_unit):
    rows = _rows(clinician_client.get(_url("doses"), PERIOD))
    # 6 doses given, A's failed lumbar puncture, B's missed visit, D's visit not given.
    assert len(rows) == 9
    b5 = [r for r in rows if r["hospital_number"] == "H000002" and r["dose_number"] == "5"]
    missed, given = b5
    assert missed["outcome"] == "Did not attend" and missed["planned_date"] == "2026-01-30"
    assert given["planned_date"] == "2026-01-30" and given["actual_date"] == "2026-02-13"
    assert (given["planned_interval_days"], given["actual_interval_days"]) == ("28", "42")
    assert given["days_from_due"] == "14" and given["within_unit_window"] == "no"
    assert given["route"] == "Intrathecal (lumbar puncture)" and given["imaging"] == "ct"
    a3 = [r for r in rows if r["hospital_number"] == "H000001" and r["dose_number"] == "3"]
    assert [r["outcome"] for r in a3] == [
        "Not given: Lumbar puncture unsuccessful",
        "Given after a failed lumbar puncture",
    ]
    assert a3[1]["linked_adverse_events"] == "Post-lumbar-puncture headache"


def test_the_attendance_export_carries_the_data_dictionary_codes(clinician_client, hand_unit):
    rows = _rows(clinician_client.get(_url("attendance"), PERIOD))
    codes = [
        (r["appointment_date"], r["hospital_number"], r["attended_or_did_not_attend_code"])
        for r in rows
    ]
    assert ("2026-01-19", "H000001", "6") in codes
    assert ("2026-01-26", "H000003", "2") in codes
    assert ("2026-01-16", "H000001", "4") in codes
    assert ("2026-02-02", "H000004", "7") in codes
    assert ("2026-01-30", "H000002", "3") in codes
    late = next(
        r
        for r in rows
        if r["appointment_date"] == "2026-02-02" and r["code_meaning"].startswith("Arrived late")
    )
    assert late["arrived_at"] == "10:15"


def test_the_safety_extract_and_formula_cells(clinician_client, hand_unit):
    AdverseEvent.objects.create(
        course=hand_unit.a,
        term="other",
        term_detail='=HYPERLINK("http://evil.example","click")',
        action_taken="+1 call the team",
        onset=feb(21),
        serious=True,
        recorded_by=hand_unit.user,
    )
    rows = _rows(clinician_client.get(_url("safety"), PERIOD))
    kinds = [(r["record"], r["date"], r["hospital_number"], r["what"]) for r in rows]
    assert ("serious_event", "2026-02-20", "H000002", "Myelitis") in kinds
    assert ("pause", "2026-01-20", "H000003", "Patient choice") in kinds
    assert ("discontinuation", "2026-02-10", "H000003", "Patient choice") in kinds
    injected = next(r for r in rows if r["date"] == "2026-02-21")
    assert injected["what"] == '\'=HYPERLINK("http://evil.example","click")'
    assert injected["details"] == "'+1 call the team"
    # The PLPH and back pain are not serious: not in the extract.
    assert not any("headache" in r["what"].lower() for r in rows)


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+1", "'=1+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), (-2, -2)],
)
def test_formula_starts_are_escaped_and_numbers_kept(value, cell):
    assert safe_cell(value) == cell


def test_each_download_is_recorded(clinician_client, clinician, hand_unit):
    clinician_client.get(_url("attendance"), PERIOD)
    record = ExportRecord.objects.get()
    assert (record.kind, record.exported_by, record.rows) == ("attendance", clinician, 12)
    assert (record.period_start.isoformat(), record.period_end.isoformat()) == (
        "2026-01-01",
        "2026-02-28",
    )


def test_nurses_cannot_export_and_nothing_is_recorded(nurse_client, hand_unit):
    for kind in ExportRecord.Kind.values:
        assert nurse_client.get(_url(kind), PERIOD).status_code == 403
    assert not ExportRecord.objects.exists()


def test_a_bad_period_or_kind_is_refused(clinician_client):
    response = clinician_client.get(_url("doses"), {"start": "2026-03-01", "end": "2026-01-01"})
    assert response.status_code == 400
    assert b"must be on or before its end" in response.content
    assert clinician_client.get(_url("everything"), PERIOD).status_code == 404
    assert not ExportRecord.objects.exists()


def test_the_audit_trail_is_read_only_in_the_admin(admin_client, clinician_client, hand_unit):
    clinician_client.get(_url("safety"), PERIOD)
    record = ExportRecord.objects.get()
    changelist = admin_client.get(reverse("admin:quality_exportrecord_changelist"))
    assert changelist.status_code == 200 and b"Safety-study extract" in changelist.content
    assert admin_client.get(reverse("admin:quality_exportrecord_add")).status_code == 403
    change = reverse("admin:quality_exportrecord_change", args=[record.pk])
    assert admin_client.post(change, {"rows": 0}).status_code == 403
    assert ExportRecord.objects.get().rows == record.rows
