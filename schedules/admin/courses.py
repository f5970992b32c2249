"""Admin for treatment courses, their decisions and doses: read-only, with history
(schedules.admin.window). A course's status changes only by a clinician's decision through
the services: an admin cannot set a held course to Active."""

from django.contrib import admin

from schedules.admin.booking import BookingInline
from schedules.admin.window import ClinicalRecordAdmin, ClinicalRecordInline
from schedules.models import (
    CourseEvent,
    Dose,
    TreatmentCourse,
)


class DoseInline(ClinicalRecordInline):
    model = Dose
    fields = ["number", "given_at", "operator", "vial_batch", "vial_expiry"]
    show_change_link = True


class CourseEventInline(ClinicalRecordInline):
    model = CourseEvent
    fields = ["kind", "on", "reason", "reason_detail", "restart_loading", "recorded_by"]


@admin.register(TreatmentCourse)
class TreatmentCourseAdmin(ClinicalRecordAdmin):
    list_display = ["patient", "start_date", "status"]
    list_filter = ["status", "start_date"]
    search_fields = ["patient__hospital_number", "patient__family_name", "patient__nhs_number"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient", "started_by"]
    inlines = [CourseEventInline, DoseInline]


@admin.register(CourseEvent)
class CourseEventAdmin(ClinicalRecordAdmin):
    list_display = ["course", "kind", "on", "reason", "restart_loading", "recorded_by"]
    list_filter = ["kind", "reason", "on"]
    search_fields = ["course__patient__hospital_number", "course__patient__family_name"]
    list_select_related = ["course__patient", "recorded_by"]
    raw_id_fields = ["course", "recorded_by"]


@admin.register(Dose)
class DoseAdmin(ClinicalRecordAdmin):
    list_display = ["__str__", "course", "given_at", "operator", "vial_batch"]
    list_filter = ["given_at", "imaging"]
    search_fields = [
        "course__patient__hospital_number",
        "course__patient__family_name",
        "vial_batch",
    ]
    list_select_related = ["course__patient"]
    raw_id_fields = ["course", "given_by"]
    readonly_fields = ["uid", "calendar_sequence"]
    inlines = [BookingInline]
