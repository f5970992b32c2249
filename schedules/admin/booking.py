"""Admin for bookings and the requests handed to a clinician: read-only (schedules.admin.window);
cancelling goes through `services.cancel_booking`, as on the booking page."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from schedules import services
from schedules.admin.window import ClinicalRecordAdmin, ClinicalRecordInline, ReadOnlyAdminMixin
from schedules.booking.forms import CancelForm
from schedules.models import (
    Booking,
    ClinicianRequest,
    WaitlistEntry,
)


class BookingInline(ClinicalRecordInline):
    model = Booking
    fields = ["slot", "status", "booked_by", "override_reason", "cancel_reason"]
    show_change_link = True


@admin.register(Booking)
class BookingAdmin(ClinicalRecordAdmin):
    list_display = ["dose", "patient", "slot", "status", "booked_by", "booked_at"]
    list_filter = ["status", "slot__start"]
    search_fields = ["dose__course__patient__hospital_number", "dose__course__patient__family_name"]
    list_select_related = ["dose__course__patient", "slot__unit", "booked_by"]
    raw_id_fields = ["dose", "slot", "booked_by", "cancelled_by_no_show", "operator"]
    actions = ["cancel_selected"]

    @admin.display(ordering="dose__course__patient__family_name")
    def patient(self, booking):
        return booking.dose.course.patient

    def has_cancel_permission(self, request):
        """The permission the booking page's "Cancel" asks for (schedules.access)."""
        return request.user.has_perm("schedules.change_booking")

    @admin.action(description="Cancel the selected bookings, with a reason", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        """Asks for the reason on a page of its own, then cancels each booking through
        `services.cancel_booking` (its locks, refusals, history with who, worklist refresh).
        A refusal (a later dose booked after it, a visit already under way) is shown for that
        booking; the others are still cancelled."""
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/schedules/booking/cancel_selected.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Cancel bookings",
                    "opts": self.model._meta,
                    "bookings": queryset.select_related("dose__course__patient", "slot__unit"),
                    "form": form,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        cancelled = 0
        for booking in queryset.order_by("-dose__number"):
            try:
                services.cancel_booking(
                    booking=booking,
                    reason=form.cleaned_data["reason"],
                    cancelled_by=request.user,
                )
            except services.ServiceError as error:
                self.message_user(request, f"{booking}: {error}", messages.ERROR)
            else:
                cancelled += 1
        self.message_user(request, f"{cancelled} booking(s) cancelled.")
        return None


@admin.register(ClinicianRequest)
class ClinicianRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only; a nurse asks and a clinician books from the worklists (no simple-history on
    this model: the admin's own log shows its page)."""

    list_display = ["course", "dose_number", "slot", "asked_by", "asked_at"]
    list_select_related = ["course__patient", "slot__unit", "asked_by"]
    search_fields = ["course__patient__hospital_number", "course__patient__family_name"]
    raw_id_fields = ["course", "slot", "asked_by"]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ClinicalRecordAdmin):
    """Read-only: nurses set and clear it on the booking page (the service keeps it under the
    course lock and clears it when the patient is moved earlier)."""

    list_display = ["patient", "booking", "notice_days", "added_by", "added_at"]
    list_select_related = ["patient", "booking__slot", "added_by"]
    search_fields = ["patient__hospital_number", "patient__family_name"]
    raw_id_fields = ["patient", "booking", "added_by"]
