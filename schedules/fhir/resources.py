"""The record as FHIR R4 resources: one function per resource type, from one row to one dict.

What each resource says, and the mappings another system relies on (README "FHIR API"):

- Patient: the NHS number under `https://fhir.nhs.uk/Id/nhs-number` (UK Core), the hospital
  number under the hospital's own system (`FHIR_HOSPITAL_NUMBER_SYSTEM`).
- Schedule: the day-care unit's diary (one per unit; its sessions in `comment`).
- Slot: one day-case slot; `busy` when every place is taken, `busy-unavailable` on a day the
  unit is closed, else `free`.
- Appointment: one booking. Its status is the booking's, which already follows FHIR: booked,
  arrived, fulfilled, cancelled, noshow. A visit that ended without the dose ("not given") is
  `fulfilled` (the patient attended; the appointment took place), with the reason in
  `comment`: the dose itself is the `not-done` MedicationAdministration.
- MedicationAdministration: `dose-<id>` for each dose given (`completed`: tofersen 100 mg
  intrathecal, the operator, vial batch and expiry when recorded); `visit-<id>` for each visit
  that ended without the dose (`not-done`, `statusReason` the recorded reason).
- AdverseEvent: seriousness, severity, outcome from HL7's adverse-event code systems; the dose
  it followed as the suspect entity.
- CarePlan: the treatment course. active → `active`; paused → `on-hold`; held for clinical
  review → `on-hold`; stopped → `revoked` (tofersen has no planned end, so every stop ends the
  plan before its activities are complete; `completed` is never sent). The latest decision
  and its reason are in `note`; an active course's next dose, from `schedules.planning`, is
  an activity (booked → `scheduled`, else `not-started`, on the engine's date).
"""

from django.conf import settings
from django.utils import timezone

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
PERFORM_FUNCTION = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
# SNOMED CT 72607000 |Intrathecal route (qualifier value)|: the only route of tofersen (US PI §2).
INTRATHECAL = {"system": SNOMED, "code": "72607000", "display": "Intrathecal route"}
MEDICATION_TEXT = "Tofersen 100 mg/15 mL solution for injection"

# Booking.Status → Appointment.status (FHIR R4 value set appointmentstatus).
APPOINTMENT_STATUS = {
    "booked": "booked",
    "arrived": "arrived",
    "fulfilled": "fulfilled",
    "cancelled": "cancelled",
    "noshow": "noshow",
    "not_given": "fulfilled",
}
# TreatmentCourse.Status → CarePlan.status (FHIR R4 value set request-status).
CARE_PLAN_STATUS = {
    "active": "active",
    "paused": "on-hold",
    "held": "on-hold",
    "stopped": "revoked",
}
AE_OUTCOME_CODES = {
    "ongoing": ("ongoing", "Ongoing"),
    "resolved": ("resolved", "Resolved"),
    "sequelae": ("resolvedWithSequelae", "Resolved with Sequelae"),
}


def hospital_number_system() -> str:
    return settings.FHIR_HOSPITAL_NUMBER_SYSTEM or f"{settings.SITE_URL}/fhir/Id/hospital-number"


def code_system(name: str) -> str:
    """This deployment's own code systems (reasons, terms), under its public address."""
    return f"{settings.SITE_URL}/fhir/CodeSystem/{name}"


def instant(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def reference(resource_type: str, pk, display: str = "") -> dict:
    ref = {"reference": f"{resource_type}/{pk}"}
    if display:
        ref["display"] = display
    return ref


def patient(row) -> dict:
    identifiers = []
    if row.nhs_number:
        identifiers.append(
            {"use": "official", "system": NHS_NUMBER_SYSTEM, "value": row.nhs_number}
        )
    identifiers.append(
        {
            "use": "usual",
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                        "code": "MR",
                        "display": "Medical record number",
                    }
                ]
            },
            "system": hospital_number_system(),
            "value": row.hospital_number,
        }
    )
    resource = {
        "resourceType": "Patient",
        "id": str(row.pk),
        "meta": {"lastUpdated": instant(row.updated_at)},
        "identifier": identifiers,
        "active": True,
        "name": [{"use": "official", "family": row.family_name, "given": [row.given_name]}],
        "birthDate": row.date_of_birth.isoformat(),
    }
    telecom = []
    if row.phone:
        telecom.append({"system": "phone", "value": row.phone})
    if row.email:
        telecom.append({"system": "email", "value": row.email})
    if telecom:
        resource["telecom"] = telecom
    if row.address:
        resource["address"] = [{"text": row.address}]
    return resource


def schedule(unit) -> dict:
    sessions = [
        f"{template.get_weekday_display()} {template.start_time:%H:%M}: {template.slot_count} "
        f"slot(s) of {template.slot_minutes} minutes, {template.places} place(s) each"
        for template in unit.session_templates.all()
        if template.active
    ]
    resource = {
        "resourceType": "Schedule",
        "id": str(unit.pk),
        "active": True,
        "serviceType": [{"text": "Intrathecal tofersen day case"}],
        "actor": [{"display": unit.name}],
    }
    if sessions:
        resource["comment"] = "Sessions: " + "; ".join(sessions) + "."
    return resource


def slot(row, *, closed_reason: str = "") -> dict:
    booked = row.booked_count
    if closed_reason:
        status = "busy-unavailable"
    elif booked >= row.places:
        status = "busy"
    else:
        status = "free"
    comment = f"{booked} of {row.places} places booked"
    if closed_reason:
        comment += f"; {closed_reason}"
    return {
        "resourceType": "Slot",
        "id": str(row.pk),
        "schedule": reference("Schedule", row.unit_id),
        "status": status,
        "start": instant(row.start),
        "end": instant(row.end),
        "overbooked": booked > row.places,
        "comment": comment,
    }


def appointment(row) -> dict:
    dose, slot_row = row.dose, row.slot
    course_patient = dose.course.patient
    resource = {
        "resourceType": "Appointment",
        "id": str(row.pk),
        "meta": {"lastUpdated": instant(row.updated_at)},
        "status": APPOINTMENT_STATUS[row.status],
        "serviceType": [{"text": "Intrathecal tofersen day case"}],
        "description": f"Tofersen dose {dose.number}",
        "start": instant(slot_row.start),
        "end": instant(slot_row.end),
        "created": instant(row.booked_at),
        "slot": [reference("Slot", slot_row.pk)],
        "participant": [
            {
                "actor": reference("Patient", course_patient.pk, course_patient.full_name),
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": {"display": slot_row.unit.name},
                "required": "information-only",
                "status": "accepted",
            },
        ],
    }
    # The course is not a ServiceRequest (basedOn): it is linked as supporting information.
    resource["supportingInformation"] = [reference("CarePlan", dose.course_id)]
    if row.status == "cancelled" and row.cancel_reason:
        resource["cancelationReason"] = {"text": row.cancel_reason}
    if row.status == "not_given":
        resource["comment"] = f"Attended; dose not given: {row.cancel_reason}".rstrip(": ")
    return resource


def _medication(dose=None) -> dict:
    medication = {"resourceType": "Medication", "id": "tofersen", "code": {"text": MEDICATION_TEXT}}
    batch = {}
    if dose is not None and dose.vial_batch:
        batch["lotNumber"] = dose.vial_batch
    if dose is not None and dose.vial_expiry:
        batch["expirationDate"] = dose.vial_expiry.isoformat()
    if batch:
        medication["batch"] = batch
    return medication


def _dosage() -> dict:
    return {
        "text": "100 mg (15 mL) intrathecal bolus over 1 to 3 minutes",
        "route": {"coding": [INTRATHECAL], "text": "Intrathecal"},
        "dose": {"value": 100, "unit": "mg", "system": UCUM, "code": "mg"},
    }


def medication_given(dose) -> dict:
    """A dose given (`Dose.given_at` set): MedicationAdministration `dose-<id>`."""
    course_patient = dose.course.patient
    performers = []
    if dose.operator:
        performers.append(
            {
                "function": {"coding": [{"system": PERFORM_FUNCTION, "code": "performer"}]},
                "actor": {"display": dose.operator},
            }
        )
    elif dose.given_by_id:
        name = dose.given_by.get_full_name() or dose.given_by.get_username()
        performers.append({"actor": {"display": name}})
    resource = {
        "resourceType": "MedicationAdministration",
        "id": f"dose-{dose.pk}",
        "meta": {"lastUpdated": instant(dose.updated_at)},
        "contained": [_medication(dose)],
        "status": "completed",
        "medicationReference": {"reference": "#tofersen", "display": MEDICATION_TEXT},
        "subject": reference("Patient", course_patient.pk, course_patient.full_name),
        "effectiveDateTime": instant(dose.given_at),
        "supportingInformation": [reference("CarePlan", dose.course_id)],
        "dosage": _dosage(),
    }
    if performers:
        resource["performer"] = performers
    if dose.volume_injected_ml is not None:
        resource["dosage"]["text"] += f"; {dose.volume_injected_ml} mL injected"
    notes = [f"Dose {dose.number} of the course."]
    if dose.override_reason:
        notes.append(f"Given before its window: {dose.override_reason}")
    resource["note"] = [{"text": " ".join(notes)}]
    return resource


def medication_not_done(visit) -> dict:
    """A visit that ended without the dose: MedicationAdministration `visit-<id>`, `not-done`
    with the recorded reason (DESIGN §2: it anchors nothing, the dose stays due)."""
    booking = visit.booking
    dose = booking.dose
    course_patient = dose.course.patient
    reason = {
        "coding": [
            {
                "system": code_system("not-given-reason"),
                "code": visit.not_given_reason,
                "display": visit.get_not_given_reason_display(),
            }
        ],
        "text": visit.get_not_given_reason_display(),
    }
    if visit.not_given_detail:
        reason["text"] += f": {visit.not_given_detail}"
    return {
        "resourceType": "MedicationAdministration",
        "id": f"visit-{visit.pk}",
        "meta": {"lastUpdated": instant(visit.updated_at)},
        "contained": [_medication()],
        "status": "not-done",
        "statusReason": [reason],
        "medicationReference": {"reference": "#tofersen", "display": MEDICATION_TEXT},
        "subject": reference("Patient", course_patient.pk, course_patient.full_name),
        "effectiveDateTime": instant(visit.arrived_at),
        "supportingInformation": [
            reference("Appointment", booking.pk),
            reference("CarePlan", dose.course_id),
        ],
        "note": [{"text": f"Dose {dose.number} of the course was not given at this visit."}],
    }


def adverse_event(row) -> dict:
    course_patient = row.course.patient
    serious = row.needs_review
    event = {
        "coding": [{"system": code_system("adverse-event-term"), "code": row.term}],
        "text": row.label,
    }
    if row.term != "other":
        event["coding"][0]["display"] = row.get_term_display()
    resource = {
        "resourceType": "AdverseEvent",
        "id": str(row.pk),
        "actuality": "actual",
        "event": event,
        "subject": reference("Patient", course_patient.pk, course_patient.full_name),
        "date": row.onset.isoformat(),
        "recordedDate": instant(row.recorded_at),
        "seriousness": {
            "coding": [
                {
                    "system": SERIOUSNESS,
                    "code": "serious" if serious else "non-serious",
                    "display": "Serious" if serious else "Non-serious",
                }
            ]
        },
        "outcome": {
            "coding": [
                {
                    "system": AE_OUTCOME,
                    "code": AE_OUTCOME_CODES[row.outcome][0],
                    "display": AE_OUTCOME_CODES[row.outcome][1],
                }
            ]
        },
    }
    if row.severity:
        resource["severity"] = {
            "coding": [
                {"system": SEVERITY, "code": row.severity, "display": row.get_severity_display()}
            ]
        }
    if row.dose_id:
        dose = row.dose
        if dose.given_at:
            instance = reference(
                "MedicationAdministration", f"dose-{dose.pk}", f"Dose {dose.number}"
            )
        else:
            instance = {"display": f"Dose {dose.number} (not recorded as given)"}
        suspect = {"instance": instance}
        if row.relation:
            suspect["causality"] = [{"assessment": {"text": row.get_relation_display()}}]
        resource["suspectEntity"] = [suspect]
    return resource


def care_plan(course, *, next_dose=None, problem: str = "") -> dict:
    """The course, with its next dose from the planning read path (`schedules.planning`): the
    engine's date for it, booked or projected, when the course is active."""
    course_patient = course.patient
    period = {"start": course.start_date.isoformat()}
    events = list(course.events.all())
    if course.status == "stopped":
        stops = [event for event in events if event.kind == "stop"]
        if stops:
            period["end"] = stops[-1].on.isoformat()
    activities = [
        {
            "detail": {
                "kind": "MedicationRequest",
                "status": _activity_status(course.status),
                "productCodeableConcept": {"text": MEDICATION_TEXT},
                "description": "Tofersen 100 mg intrathecal by lumbar puncture",
            }
        }
    ]
    if next_dose is not None:
        activities.append({"detail": _next_dose_activity(next_dose)})
    resource = {
        "resourceType": "CarePlan",
        "id": str(course.pk),
        "status": CARE_PLAN_STATUS[course.status],
        "intent": "plan",
        "title": "Intrathecal tofersen",
        "description": (
            "Three loading doses of 100 mg 14 days apart, then 100 mg every 28 days, each "
            "counted from the date the previous dose was given."
        ),
        "subject": reference("Patient", course_patient.pk, course_patient.full_name),
        "period": period,
        "activity": activities,
    }
    notes = [f"Course status: {course.get_status_display()}."]
    if events:
        last = events[-1]
        decision = f"{last.get_kind_display()} on {last.on.isoformat()}"
        if last.reason:
            decision += f": {last.get_reason_display()}"
        if last.reason_detail:
            decision += f" ({last.reason_detail})"
        notes.append(decision + ".")
    if problem:
        notes.append(problem)
    resource["note"] = [{"text": " ".join(notes)}]
    return resource


def _next_dose_activity(planned) -> dict:
    """The next dose not yet given (`planning.next_dose`): booked → `scheduled`; due, overdue
    or planned → `not-started`, on the engine's date (for an overdue dose, the next open
    day)."""
    state = str(planned.state)
    words = {
        "booked": f"booked for {planned.date.isoformat()}",
        "due": f"to book for {planned.date.isoformat()}",
        "overdue": f"overdue since {planned.due.isoformat()}",
        "planned": f"planned for {planned.date.isoformat()}",
    }[state]
    return {
        "kind": "Appointment",
        "status": "scheduled" if state == "booked" else "not-started",
        "scheduledPeriod": {"start": planned.date.isoformat()},
        "productCodeableConcept": {"text": MEDICATION_TEXT},
        "description": (
            f"Next dose: dose {planned.number} ({planned.phase}), due {planned.due.isoformat()}, "
            f"{words}."
        ),
    }


def _activity_status(status: str) -> str:
    return {
        "active": "in-progress",
        "paused": "on-hold",
        "held": "on-hold",
        "stopped": "stopped",
    }[status]
