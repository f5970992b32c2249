from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from schedules.models import (
    AdverseEvent,
    Booking,
    ClinicianRequest,
    Closure,
    CourseEvent,
    Dose,
    FollowUpCall,
    SessionTemplate,
    Slot,
    TreatmentCourse,
    Unit,
    Visit,
)


class SessionTemplateInline(admin.TabularInline):
    model = SessionTemplate
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


@admin.register(Unit)
class UnitAdmin(SimpleHistoryAdmin):
    list_display = ["name", "phone", "book_early_days", "flag_late_days", "closed_on_bank_holidays"]
    search_fields = ["name", "address"]
    inlines = [SessionTemplateInline, ClosureInline]


@admin.register(SessionTemplate)
class SessionTemplateAdmin(SimpleHistoryAdmin):
    list_display = [
        "unit",
        "weekday",
        "start_time",
        "slot_minutes",
        "slot_count",
        "places",
        "active",
    ]
    list_filter = ["unit", "weekday", "active"]
    search_fields = ["unit__name"]
    list_select_related = ["unit"]


@admin.register(Closure)
class ClosureAdmin(SimpleHistoryAdmin):
    list_display = ["unit", "start_date", "end_date", "reason"]
    list_filter = ["unit", "start_date"]
    search_fields = ["reason"]
    list_select_related = ["unit"]
    date_hierarchy = "start_date"


class BookingInline(admin.TabularInline):
    model = Booking
    extra = 0
    fields = ["slot", "status", "booked_by", "override_reason", "cancel_reason"]
    raw_id_fields = ["slot", "booked_by"]


@admin.register(Slot)
class SlotAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "unit", "places", "template"]
    list_filter = ["unit", "start"]
    search_fields = ["unit__name"]
    list_select_related = ["unit", "template"]
    raw_id_fields = ["template"]
    date_hierarchy = "start"
    inlines = [BookingInline]


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


@admin.register(Booking)
class BookingAdmin(SimpleHistoryAdmin):
    list_display = ["dose", "patient", "slot", "status", "booked_by", "booked_at"]
    list_filter = ["status", "slot__start"]
    search_fields = ["dose__course__patient__hospital_number", "dose__course__patient__family_name"]
    list_select_related = ["dose__course__patient", "slot__unit", "booked_by"]
    raw_id_fields = ["dose", "slot", "booked_by"]

    @admin.display(ordering="dose__course__patient__family_name")
    def patient(self, booking):
        return booking.dose.course.patient


@admin.register(Visit)
class VisitAdmin(SimpleHistoryAdmin):
    """Read in the admin; the day list's services write visits (with who, in the history)."""

    list_display = ["booking", "arrived_at", "checks_at", "not_given_reason", "discharged_at"]
    list_select_related = ["booking__dose__course__patient", "booking__slot__unit"]
    raw_id_fields = ["booking", "checks_by", "cleared_by"]


@admin.register(AdverseEvent)
class AdverseEventAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "course", "serious", "outcome", "recorded_by"]
    list_filter = ["term", "serious", "outcome"]
    raw_id_fields = ["course", "dose", "recorded_by"]


@admin.register(FollowUpCall)
class FollowUpCallAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "dose", "called_by"]
    raw_id_fields = ["dose", "adverse_event", "called_by"]


@admin.register(ClinicianRequest)
class ClinicianRequestAdmin(admin.ModelAdmin):
    list_display = ["course", "dose_number", "slot", "asked_by", "asked_at"]
    list_select_related = ["course__patient", "slot__unit", "asked_by"]
    search_fields = ["course__patient__hospital_number", "course__patient__family_name"]
    raw_id_fields = ["course", "slot", "asked_by"]
