"""Admin for treatment courses, their decisions and doses."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from schedules.admin.booking import BookingInline
from schedules.models import (
    CourseEvent,
    Dose,
    TreatmentCourse,
)


class DoseInline(admin.TabularInline):
    model = Dose
    extra = 0
    fields = ["number", "given_at", "operator", "vial_batch", "vial_expiry"]
    show_change_link = True


class CourseEventInline(admin.TabularInline):
    model = CourseEvent
    extra = 0
    fields = ["kind", "on", "reason", "reason_detail", "restart_loading", "recorded_by"]
    raw_id_fields = ["recorded_by"]


@admin.register(TreatmentCourse)
class TreatmentCourseAdmin(SimpleHistoryAdmin):
    list_display = ["patient", "start_date", "status"]
    list_filter = ["status", "start_date"]
    search_fields = ["patient__hospital_number", "patient__family_name", "patient__nhs_number"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient", "started_by"]
    inlines = [CourseEventInline, DoseInline]


@admin.register(CourseEvent)
class CourseEventAdmin(SimpleHistoryAdmin):
    list_display = ["course", "kind", "on", "reason", "restart_loading", "recorded_by"]
    list_filter = ["kind", "reason", "on"]
    search_fields = ["course__patient__hospital_number", "course__patient__family_name"]
    list_select_related = ["course__patient", "recorded_by"]
    raw_id_fields = ["course", "recorded_by"]


@admin.register(Dose)
class DoseAdmin(SimpleHistoryAdmin):
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
