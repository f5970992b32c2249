"""Admin for bookings and the requests handed to a clinician."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from schedules.models import (
    Booking,
    ClinicianRequest,
)


class BookingInline(admin.TabularInline):
    model = Booking
    extra = 0
    fields = ["slot", "status", "booked_by", "override_reason", "cancel_reason"]
    raw_id_fields = ["slot", "booked_by"]


@admin.register(Booking)
class BookingAdmin(SimpleHistoryAdmin):
    list_display = ["dose", "patient", "slot", "status", "booked_by", "booked_at"]
    list_filter = ["status", "slot__start"]
    search_fields = ["dose__course__patient__hospital_number", "dose__course__patient__family_name"]
    list_select_related = ["dose__course__patient", "slot__unit", "booked_by"]
    raw_id_fields = ["dose", "slot", "booked_by", "cancelled_by_no_show"]

    @admin.display(ordering="dose__course__patient__family_name")
    def patient(self, booking):
        return booking.dose.course.patient


@admin.register(ClinicianRequest)
class ClinicianRequestAdmin(admin.ModelAdmin):
    list_display = ["course", "dose_number", "slot", "asked_by", "asked_at"]
    list_select_related = ["course__patient", "slot__unit", "asked_by"]
    search_fields = ["course__patient__hospital_number", "course__patient__family_name"]
    raw_id_fields = ["course", "slot", "asked_by"]
