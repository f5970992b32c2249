"""Admin for the unit: its sessions, closures (with the bookings a closure affects) and slots."""

from django import forms
from django.contrib import admin, messages
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from schedules import planning
from schedules.admin.booking import BookingInline
from schedules.models import (
    Booking,
    Closure,
    SessionTemplate,
    Slot,
    Unit,
)
from tofersen_scheduler.dates import format_day_time


class SessionTemplateInline(admin.TabularInline):
    model = SessionTemplate
    extra = 0


class ClosureInline(admin.TabularInline):
    """The unit's closures, listed; they are added and changed on the Closure admin, whose form
    lists the bookings on the days being closed (an inline form would skip that check)."""

    model = Closure
    extra = 0
    fields = readonly_fields = ["start_date", "end_date", "reason"]
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Unit)
class UnitAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "phone",
        "book_early_days",
        "flag_late_days",
        "load_target_percent",
        "closed_on_bank_holidays",
        "rota_required",
    ]
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
        "beds",
        "active",
    ]
    list_filter = ["unit", "weekday", "active"]
    search_fields = ["unit__name"]
    list_select_related = ["unit"]


def _booking_line(booking: Booking) -> str:
    patient = booking.dose.course.patient
    return (
        f"{patient.full_name} ({patient.hospital_number}), dose {booking.dose.number}, "
        f"{format_day_time(timezone.localtime(booking.slot.start, booking.slot.unit.zone))}"
    )


class ClosureForm(forms.ModelForm):
    """A closure over days with bookings asks the admin to confirm having seen them (issue
    10): closing a day never cancels its bookings (a nurse reschedules each one), so they must
    not go unnoticed."""

    seen_bookings = forms.BooleanField(
        label="I have seen the bookings on these days", required=False
    )

    class Meta:
        model = Closure
        fields = ["unit", "start_date", "end_date", "reason"]

    def clean(self):
        cleaned = super().clean()
        unit, first, last = (cleaned.get(name) for name in ("unit", "start_date", "end_date"))
        self.bookings = []
        # Asked when days are closed: a new closure, or one whose days change (not when only
        # its reason is reworded).
        closes_days = self.instance.pk is None or {"unit", "start_date", "end_date"} & set(
            self.changed_data
        )
        if closes_days and unit and first and last and first <= last:
            self.bookings = planning.bookings_between(unit, first, last)
        count = len(self.bookings)
        if count:
            label = f"I have seen the {count} booking{pluralize(count)} on these days"
            # The admin may have made the bound field already: set the label on both.
            self.fields["seen_bookings"].label = self["seen_bookings"].label = label
        if count and not cleaned.get("seen_bookings"):
            listed = "; ".join(_booking_line(booking) for booking in self.bookings)
            raise forms.ValidationError(
                f"{count} patient{pluralize(count)} {'is' if count == 1 else 'are'} booked on "
                f"these days: {listed}. Closing the days does not cancel these bookings: "
                "reschedule each one. Tick “I have seen the bookings” to close the days."
            )
        return cleaned


@admin.register(Closure)
class ClosureAdmin(SimpleHistoryAdmin):
    form = ClosureForm
    list_display = ["unit", "start_date", "end_date", "reason"]
    list_filter = ["unit", "start_date"]
    search_fields = ["reason"]
    list_select_related = ["unit"]
    date_hierarchy = "start_date"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        bookings = getattr(form, "bookings", [])
        if bookings:
            items = format_html_join(
                "",
                '<li>{} — <a href="{}">reschedule</a></li>',
                (
                    (_booking_line(b), reverse("schedules:reschedule", args=[b.pk]))
                    for b in bookings
                ),
            )
            messages.warning(
                request,
                format_html(
                    "{} booking{} on the closed day(s) still stand{} and must be "
                    "rescheduled:<ul>{}</ul>",
                    len(bookings),
                    pluralize(len(bookings)),
                    "" if len(bookings) > 1 else "s",
                    items,
                ),
            )


@admin.register(Slot)
class SlotAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "unit", "places", "template"]
    list_filter = ["unit", "start"]
    search_fields = ["unit__name"]
    list_select_related = ["unit", "template"]
    raw_id_fields = ["template"]
    date_hierarchy = "start"
    inlines = [BookingInline]
