"""When and where: treatment courses, doses, the day-care unit, its slots and bookings, one
module per capability (unit, courses, booking, visits, outlook). `from schedules.models import
Booking` keeps working: every model is re-exported here.

Store facts, derive dates: these tables hold what happened and what was decided. Due dates and
projections are computed by `schedules.engine` from them and never stored.
"""

from schedules.models.unit import (  # noqa: I001 (import order is dependency order)
    Closure,
    SessionTemplate,
    Slot,
    SlotQuerySet,
    Unit,
    UnitMissing,
)
from schedules.models.courses import (
    CourseEvent,
    Dose,
    DoseQuerySet,
    ReviewDecision,
    TreatmentCourse,
)
from schedules.models.resources import (
    VISIT_BED_MINUTES,
    Competency,
    CompetencyQuerySet,
    ImagingList,
    RotaEntry,
)
from schedules.models.booking import Booking, BookingQuerySet, ClinicianRequest
from schedules.models.visits import AdverseEvent, FollowUpCall, Visit
from schedules.models.outlook import CourseOutlook, ProjectedDose
from schedules.models.waitlist import WaitlistEntry
from schedules.unit.calendar import UnitCalendar, _england_bank_holidays

__all__ = [
    "AdverseEvent",
    "Booking",
    "BookingQuerySet",
    "ClinicianRequest",
    "Competency",
    "CompetencyQuerySet",
    "ImagingList",
    "RotaEntry",
    "VISIT_BED_MINUTES",
    "Closure",
    "CourseEvent",
    "CourseOutlook",
    "Dose",
    "DoseQuerySet",
    "FollowUpCall",
    "ProjectedDose",
    "ReviewDecision",
    "SessionTemplate",
    "Slot",
    "SlotQuerySet",
    "TreatmentCourse",
    "Unit",
    "UnitCalendar",
    "UnitMissing",
    "Visit",
    "WaitlistEntry",
    "_england_bank_holidays",
]
