"""Admin for visits, adverse events and follow-up calls: read-only, with history
(schedules.admin.window); the day list's and the patient page's services write them."""

from django.contrib import admin

from schedules.admin.window import ClinicalRecordAdmin
from schedules.models import (
    AdverseEvent,
    FollowUpCall,
    Visit,
)


@admin.register(Visit)
class VisitAdmin(ClinicalRecordAdmin):
    """Read in the admin; the day list's services write visits (with who, in the history)."""

    list_display = ["booking", "arrived_at", "checks_at", "not_given_reason", "discharged_at"]
    list_select_related = ["booking__dose__course__patient", "booking__slot__unit"]
    raw_id_fields = ["booking", "checks_by", "cleared_by"]


@admin.register(AdverseEvent)
class AdverseEventAdmin(ClinicalRecordAdmin):
    list_display = ["__str__", "course", "serious", "outcome", "recorded_by"]
    list_filter = ["term", "serious", "outcome"]
    raw_id_fields = ["course", "dose", "recorded_by"]


@admin.register(FollowUpCall)
class FollowUpCallAdmin(ClinicalRecordAdmin):
    list_display = ["__str__", "dose", "called_by"]
    raw_id_fields = ["dose", "adverse_event", "called_by"]
