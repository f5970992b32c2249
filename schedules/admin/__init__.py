"""The schedules admin, one module per capability; importing them registers every model."""

from schedules.admin.booking import BookingAdmin, BookingInline, ClinicianRequestAdmin
from schedules.admin.courses import (
    CourseEventAdmin,
    CourseEventInline,
    DoseAdmin,
    DoseInline,
    TreatmentCourseAdmin,
)
from schedules.admin.resources import CompetencyAdmin, ImagingListAdmin, RotaEntryAdmin
from schedules.admin.unit import (
    ClosureAdmin,
    ClosureForm,
    ClosureInline,
    SessionTemplateAdmin,
    SessionTemplateInline,
    SlotAdmin,
    UnitAdmin,
)
from schedules.admin.visits import AdverseEventAdmin, FollowUpCallAdmin, VisitAdmin

__all__ = [
    "AdverseEventAdmin",
    "CompetencyAdmin",
    "ImagingListAdmin",
    "RotaEntryAdmin",
    "BookingAdmin",
    "BookingInline",
    "ClinicianRequestAdmin",
    "ClosureAdmin",
    "ClosureForm",
    "ClosureInline",
    "CourseEventAdmin",
    "CourseEventInline",
    "DoseAdmin",
    "DoseInline",
    "FollowUpCallAdmin",
    "SessionTemplateAdmin",
    "SessionTemplateInline",
    "SlotAdmin",
    "TreatmentCourseAdmin",
    "UnitAdmin",
    "VisitAdmin",
]
