"""Admin for patients and their feed links. Consents and courses are clinical records: read
here with their history, written through the patient page's services (schedules.admin.window)."""

from django.contrib import admin
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from patients.models import Consent, FeedToken, Patient
from schedules.admin.window import ClinicalRecordAdmin, ClinicalRecordInline
from schedules.models import TreatmentCourse


class ConsentInline(ClinicalRecordInline):
    model = Consent
    fields = ["kind", "signed_on", "withdrawn_on", "reference", "recorded_by"]


class TreatmentCourseInline(ClinicalRecordInline):
    model = TreatmentCourse
    fields = ["start_date", "status", "started_by"]
    show_change_link = True


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    list_display = [
        "hospital_number",
        "family_name",
        "given_name",
        "nhs_number",
        "date_of_birth",
        "sod1_confirmed_on",
        "could_be_pregnant",
        "contraception_advised_on",
        "preferred_channel",
        "reminders_agreed_on",
    ]
    search_fields = ["hospital_number", "nhs_number", "family_name", "given_name"]
    list_filter = [
        "could_be_pregnant",
        "sod1_confirmed_on",
        "courses__status",
        "preferred_channel",
    ]
    date_hierarchy = "created_at"
    inlines = [ConsentInline, TreatmentCourseInline]
    # The eligibility and pregnancy gates are recorded by a clinician on the patient page
    # (`save_patient` checks the role): read here, so the admin is no side door to them.
    readonly_fields = (*Patient.CLINICAL_FIELDS, "reminders_recorded_by", "contact_changed_at")
    fieldsets = [
        (None, {"fields": ["hospital_number", "nhs_number", "given_name", "family_name"]}),
        (
            "Details",
            {
                "fields": [
                    "date_of_birth",
                    "could_be_pregnant",
                    "contraception_advised_on",
                    "phone",
                    "address",
                ]
            },
        ),
        (
            "Contact and reminders",
            {
                "fields": [
                    "mobile_phone",
                    "email",
                    "preferred_channel",
                    "reminders_agreed_on",
                    "reminders_recorded_by",
                    "contact_changed_at",
                ]
            },
        ),
        ("Eligibility", {"fields": ["sod1_variant", "sod1_confirmed_on"]}),
    ]

    def save_model(self, request, obj, form, change):
        """The same stamps as `patients.services.save_patient`: who recorded the agreement to
        reminders, and when the contact details changed (issue 18 §1, §5)."""
        changed = set(form.changed_data)
        if "reminders_agreed_on" in changed:
            obj.reminders_recorded_by = request.user if obj.reminders_agreed_on else None
        if change and changed & set(Patient.CONTACT_FIELDS):
            obj.contact_changed_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(Consent)
class ConsentAdmin(ClinicalRecordAdmin):
    """A consent signed or withdrawn is recorded on the patient page (`withdraw_consent` holds
    the course and lists what it cancels); here it is read."""

    list_display = ["patient", "kind", "signed_on", "withdrawn_on", "reference"]
    list_filter = ["kind", "signed_on", "withdrawn_on"]
    search_fields = ["patient__hospital_number", "patient__family_name", "reference"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient", "recorded_by"]


@admin.register(FeedToken)
class FeedTokenAdmin(admin.ModelAdmin):
    """Tokens are issued from the patient page or `issue_feed_link`; here they can only be
    inspected and revoked, since the raw secret is never stored."""

    list_display = ["__str__", "patient", "user", "issued_at", "revoked_at", "last_fetched_at"]
    list_filter = ["revoked_at", "issued_at"]
    search_fields = ["patient__hospital_number", "patient__family_name", "user__username"]
    list_select_related = ["patient", "user"]
    raw_id_fields = ["patient", "user", "issued_by"]
    readonly_fields = ["token_hash", "issued_at", "issued_by", "last_fetched_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected feed links")
    def revoke(self, request, queryset):
        """Through the services, so each revocation is locked, logged with who did it, and
        follows the same rules as the patient page."""
        from patients import services

        count = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("patient", "user"):
            if token.patient_id:
                count += services.revoke_feed_link(patient=token.patient, revoked_by=request.user)
            else:
                count += services.revoke_staff_feed_link(user=token.user)
        self.message_user(request, f"{count} feed link(s) revoked.")
