"""What the API serves: each resource type with its search parameters, its read by id and its
paged search. The CapabilityStatement and the OpenAPI document are written from this table, so
what they promise is what the views do."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import CharField, F, Q, QuerySet, Value
from django.utils import timezone

from patients.models import Patient, normalise_hospital_number, normalise_nhs_number
from schedules import planning
from schedules.fhir import resources
from schedules.fhir.params import (
    SearchError,
    parse_code,
    parse_date,
    parse_id,
    parse_token,
)
from schedules.models import AdverseEvent, Booking, Dose, Slot, TreatmentCourse, Unit, Visit


@dataclass(frozen=True)
class Param:
    """A search parameter: its FHIR type (for the CapabilityStatement), what it matches, and
    the filter it adds, given the queryset, the parameter's name (for error messages) and one
    raw value (repeats are ANDed)."""

    type: str
    documentation: str
    apply: Callable[[QuerySet, str, str], QuerySet]
    example: str = ""


def _zone():
    return timezone.get_current_timezone()


def _by_id(field_name: str, resource_type: str | None = None):
    def apply(queryset, name, raw):
        return queryset.filter(**{field_name: parse_id(name, raw, resource_type)})

    return apply


def _by_instant(field_name: str):
    def apply(queryset, name, raw):
        return queryset.filter(parse_date(name, raw, _zone()).q(field_name))

    return apply


def _by_day(field_name: str):
    def apply(queryset, name, raw):
        return queryset.filter(parse_date(name, raw, _zone()).q_date(field_name, _zone()))

    return apply


def _by_code(field_name: str, mapping: dict[str, list[str]]):
    """A status search: FHIR codes → the stored values that map to each."""

    def apply(queryset, name, raw):
        codes = parse_code(name, raw, mapping)
        return queryset.filter(
            **{f"{field_name}__in": [v for code in codes for v in mapping[code]]}
        )

    return apply


def _inverse(mapping: dict[str, str]) -> dict[str, list[str]]:
    inverse: dict[str, list[str]] = {}
    for stored, code in mapping.items():
        inverse.setdefault(code, []).append(stored)
    return inverse


def _patient_identifier(queryset, name, raw):
    """identifier=system|value: the NHS number or the hospital number; without a system,
    either."""
    system, value = parse_token(name, raw)
    nhs = Q(nhs_number=normalise_nhs_number(value)) & ~Q(nhs_number="")
    hospital = Q(hospital_number=normalise_hospital_number(value))
    if system is None or system == "":
        return queryset.filter(nhs | hospital)
    if system == resources.NHS_NUMBER_SYSTEM:
        return queryset.filter(nhs)
    if system == resources.hospital_number_system():
        return queryset.filter(hospital)
    return queryset.none()


PATIENT_REF = "The patient: Patient/<id> or <id>."
DATE_DOC = (
    "Prefixes eq, ne, gt, ge, lt, le; YYYY, YYYY-MM, YYYY-MM-DD (a day of the unit, "
    "Europe/London) or a date and time with its zone. Repeat to give a range."
)


@dataclass
class ResourceType:
    """One served resource type backed by one model."""

    name: str
    queryset: Callable[[], QuerySet]
    build: Callable[[object], dict]
    order_by: tuple[str, ...]
    params: dict[str, Param] = field(default_factory=dict)
    id_pattern: str = "[0-9]{1,18}"

    def read(self, raw_id: str) -> dict | None:
        if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 18:
            return None
        row = self.queryset().filter(pk=int(raw_id)).first()
        return None if row is None else self.build_page([row])[0]

    def filtered(self, criteria: list[tuple[str, str]]) -> QuerySet:
        queryset = self.queryset()
        for name, raw in criteria:
            queryset = self.params[name].apply(queryset, name, raw)
        return queryset

    def search(self, criteria, *, offset: int, count: int) -> tuple[int, list[dict]]:
        queryset = self.filtered(criteria)
        total = queryset.count()
        if count == 0 or offset >= total:
            return total, []
        rows = list(queryset.order_by(*self.order_by)[offset : offset + count])
        return total, self.build_page(rows)

    def build_page(self, rows) -> list[dict]:
        return [self.build(row) for row in rows]


class SlotType(ResourceType):
    def build_page(self, rows) -> list[dict]:
        """Closed days need the unit's calendar, loaded once for the page's days."""
        days_by_unit: dict[int, list] = {}
        for row in rows:
            days_by_unit.setdefault(row.unit_id, []).append(row.local_date)
        units = {row.unit_id: row.unit for row in rows}
        calendars = {
            pk: units[pk].calendar(min(days), max(days)) for pk, days in days_by_unit.items()
        }
        return [
            resources.slot(row, closed_reason=calendars[row.unit_id].closure_reason(row.local_date))
            for row in rows
        ]


class CarePlanType(ResourceType):
    def build_page(self, rows) -> list[dict]:
        """Each active course with its next dose, planned for the page in one batch through
        the planning read path (no date arithmetic here). No unit yet: no plans."""
        unit = Unit.objects.order_by("pk").first()
        active = [row for row in rows if row.status == TreatmentCourse.Status.ACTIVE]
        plans = {}
        if unit is not None and active:
            plans = planning.plans_from_values(active, today=timezone.localdate(), unit=unit)
        built = []
        for row in rows:
            plan = plans.get(row.pk)
            built.append(
                resources.care_plan(
                    row,
                    next_dose=planning.next_dose(plan) if plan else None,
                    problem=plan.problem if plan else "",
                )
            )
        return built


class MedicationAdministrationType(ResourceType):
    """Two kinds of row under one type: `dose-<id>` (a dose given) and `visit-<id>` (a visit
    that ended without the dose). Searched as one list, ordered by when they happened."""

    def __init__(self):
        super().__init__(
            name="MedicationAdministration",
            queryset=lambda: Dose.objects.none(),
            build=lambda row: row,
            order_by=(),
            params={
                "patient": Param("reference", PATIENT_REF, None),
                "effective-time": Param("date", "When the dose was given. " + DATE_DOC, None),
                "date": Param("date", "Same as effective-time. " + DATE_DOC, None),
                "status": Param("token", "completed (given) or not-done.", None, "not-done"),
            },
            id_pattern="(dose|visit)-[0-9]{1,18}",
        )

    @staticmethod
    def doses():
        return Dose.objects.filter(given_at__isnull=False).select_related(
            "course__patient", "given_by"
        )

    @staticmethod
    def visits():
        return (
            Visit.objects.filter(booking__status=Booking.Status.NOT_GIVEN)
            .exclude(not_given_reason="")
            .select_related("booking__dose__course__patient")
        )

    def read(self, raw_id: str) -> dict | None:
        kind, _, number = raw_id.partition("-")
        if not number.isascii() or not number.isdigit() or len(number) > 18:
            return None
        if kind == "dose":
            dose = self.doses().filter(pk=int(number)).first()
            return resources.medication_given(dose) if dose else None
        if kind == "visit":
            visit = self.visits().filter(pk=int(number)).first()
            return resources.medication_not_done(visit) if visit else None
        return None

    def search(self, criteria, *, offset: int, count: int) -> tuple[int, list[dict]]:
        doses, visits = self.doses(), self.visits()
        for name, raw in criteria:
            if name == "patient":
                patient_id = parse_id(name, raw, "Patient")
                doses = doses.filter(course__patient_id=patient_id)
                visits = visits.filter(booking__dose__course__patient_id=patient_id)
            elif name in ("date", "effective-time"):
                interval = parse_date(name, raw, _zone())
                doses = doses.filter(interval.q("given_at"))
                visits = visits.filter(interval.q("arrived_at"))
            elif name == "status":
                codes = parse_code(name, raw, {"completed", "not-done"})
                if "completed" not in codes:
                    doses = doses.none()
                if "not-done" not in codes:
                    visits = visits.none()
        total = doses.count() + visits.count()
        if count == 0 or offset >= total:
            return total, []
        # One ordered list of (when, kind, pk) across both tables, paged in the database.
        kind = CharField(max_length=5)
        page = list(
            doses.order_by()
            .annotate(kind=Value("dose", output_field=kind), when=F("given_at"))
            .values_list("when", "kind", "pk")
            .union(
                visits.order_by()
                .annotate(kind=Value("visit", output_field=kind), when=F("arrived_at"))
                .values_list("when", "kind", "pk"),
                all=True,
            )
            .order_by("when", "kind", "pk")[offset : offset + count]
        )
        dose_rows = self.doses().in_bulk([pk for _, k, pk in page if k == "dose"])
        visit_rows = self.visits().in_bulk([pk for _, k, pk in page if k == "visit"])
        return total, [
            resources.medication_given(dose_rows[pk])
            if k == "dose"
            else resources.medication_not_done(visit_rows[pk])
            for _, k, pk in page
        ]


def _courses():
    return TreatmentCourse.objects.select_related("patient").prefetch_related("events")


RESOURCE_TYPES: dict[str, ResourceType] = {
    resource.name: resource
    for resource in (
        ResourceType(
            name="Patient",
            queryset=Patient.objects.all,
            build=resources.patient,
            order_by=("pk",),
            params={
                "identifier": Param(
                    "token",
                    f"system|value: the NHS number ({resources.NHS_NUMBER_SYSTEM}) or the "
                    "hospital number; a value alone matches either.",
                    _patient_identifier,
                    f"{resources.NHS_NUMBER_SYSTEM}|9434765919",
                ),
                "_id": Param("token", "The patient's id.", _by_id("pk")),
            },
        ),
        ResourceType(
            name="Schedule",
            queryset=lambda: Unit.objects.prefetch_related("session_templates"),
            build=resources.schedule,
            order_by=("pk",),
            params={"_id": Param("token", "The schedule's id.", _by_id("pk"))},
        ),
        SlotType(
            name="Slot",
            queryset=lambda: Slot.objects.select_related("unit").with_booked_count(),
            build=resources.slot,
            order_by=("start", "pk"),
            params={
                "schedule": Param(
                    "reference",
                    "The schedule: Schedule/<id> or <id>.",
                    _by_id("unit_id", "Schedule"),
                ),
                "start": Param("date", "When the slot starts. " + DATE_DOC, _by_instant("start")),
                "date": Param("date", "Same as start. " + DATE_DOC, _by_instant("start")),
                "_id": Param("token", "The slot's id.", _by_id("pk")),
            },
        ),
        ResourceType(
            name="Appointment",
            queryset=lambda: Booking.objects.select_related("slot__unit", "dose__course__patient"),
            build=resources.appointment,
            order_by=("slot__start", "pk"),
            params={
                "patient": Param(
                    "reference", PATIENT_REF, _by_id("dose__course__patient_id", "Patient")
                ),
                "date": Param(
                    "date", "When the appointment starts. " + DATE_DOC, _by_instant("slot__start")
                ),
                "status": Param(
                    "token",
                    "booked, arrived, fulfilled, cancelled or noshow (comma for any of them).",
                    _by_code("status", _inverse(resources.APPOINTMENT_STATUS)),
                    "cancelled,noshow",
                ),
                "_id": Param("token", "The appointment's id.", _by_id("pk")),
            },
        ),
        MedicationAdministrationType(),
        ResourceType(
            name="AdverseEvent",
            queryset=lambda: AdverseEvent.objects.select_related("course__patient", "dose"),
            build=resources.adverse_event,
            order_by=("onset", "pk"),
            params={
                "patient": Param("reference", PATIENT_REF, _by_id("course__patient_id", "Patient")),
                "subject": Param(
                    "reference", "Same as patient.", _by_id("course__patient_id", "Patient")
                ),
                "date": Param("date", "The onset. " + DATE_DOC, _by_day("onset")),
                "_id": Param("token", "The event's id.", _by_id("pk")),
            },
        ),
        CarePlanType(
            name="CarePlan",
            queryset=_courses,
            build=resources.care_plan,
            order_by=("start_date", "pk"),
            params={
                "patient": Param("reference", PATIENT_REF, _by_id("patient_id", "Patient")),
                "subject": Param("reference", "Same as patient.", _by_id("patient_id", "Patient")),
                "date": Param(
                    "date", "The course's start date. " + DATE_DOC, _by_day("start_date")
                ),
                "status": Param(
                    "token",
                    "active, on-hold or revoked (comma for any of them).",
                    _by_code("status", _inverse(resources.CARE_PLAN_STATUS)),
                    "on-hold",
                ),
                "_id": Param("token", "The care plan's id.", _by_id("pk")),
            },
        ),
    )
}

# Parameters every search takes, besides its own.
PAGING = {
    "_count": "Resources per page, 0 to 100 (default 20; 0 gives only the total).",
    "_offset": "Resources to skip: the `next` link sets it.",
    "_format": "json or application/fhir+json (the only format served).",
}
FORMATS = {"json", "application/json", "application/fhir+json"}


def check_format(raw: str) -> None:
    if raw.strip() not in FORMATS:
        raise SearchError(f"_format: {raw!r} is not served; this API answers in JSON only.")
