from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone

from patients.models import Consent, Patient, normalise_nhs_number, validate_nhs_number
from schedules.models import CourseEvent, Dose


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _helper(submit_label: str, css_class: str = "btn-primary") -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", submit_label, css_class=css_class))
    return helper


class PatientSearchForm(forms.Form):
    """The patient list's search box. A form so that stray input (control characters, which
    PostgreSQL refuses) becomes a message, not a server error."""

    q = forms.CharField(max_length=100, required=False, strip=True)


class PatientForm(forms.ModelForm):
    # Wider than the stored 10 digits so "943 476 5919" can be typed; clean_ normalises it.
    nhs_number = forms.CharField(
        label="NHS number",
        max_length=14,
        required=False,
        validators=[validate_nhs_number],
        help_text=Patient._meta.get_field("nhs_number").help_text,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    class Meta:
        model = Patient
        fields = [
            "hospital_number",
            "nhs_number",
            "given_name",
            "family_name",
            "date_of_birth",
            "could_be_pregnant",
            "phone",
            "email",
            "address",
            "sod1_variant",
            "sod1_confirmed_on",
        ]
        widgets = {
            "date_of_birth": DateInput(),
            "sod1_confirmed_on": DateInput(),
            "address": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, submit_label="Save patient", **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(submit_label)

    def clean_hospital_number(self):
        return self.cleaned_data["hospital_number"].strip().upper()

    def clean_nhs_number(self):
        return normalise_nhs_number(self.cleaned_data["nhs_number"])

    def clean(self):
        cleaned = super().clean()
        variant, confirmed = cleaned.get("sod1_variant"), cleaned.get("sod1_confirmed_on")
        if variant and not confirmed and "sod1_confirmed_on" not in self.errors:
            self.add_error("sod1_confirmed_on", "Give the date genetic testing confirmed it.")
        if confirmed and not variant:
            self.add_error("sod1_variant", "Give the SOD1 variant the laboratory reported.")
        return cleaned


class ConsentForm(forms.ModelForm):
    class Meta:
        model = Consent
        fields = ["kind", "signed_on", "reference"]
        widgets = {"signed_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Record consent")


class WithdrawConsentForm(forms.Form):
    withdrawn_on = forms.DateField(label="Withdrawn on", widget=DateInput())

    def __init__(self, *args, consent, **kwargs):
        super().__init__(*args, **kwargs)
        self.consent = consent
        self.helper = _helper("Record withdrawal", "btn-danger")

    def clean_withdrawn_on(self):
        day = self.cleaned_data["withdrawn_on"]
        if day < self.consent.signed_on:
            raise forms.ValidationError("Consent cannot be withdrawn before it was signed.")
        if day > timezone.localdate():
            raise forms.ValidationError("The date cannot be in the future.")
        return day


class StartCourseForm(forms.Form):
    start_date = forms.DateField(
        label="Start date (day 0, first loading dose)",
        widget=DateInput(),
        help_text="Loading doses follow on days 14 and 28, then every 28 days.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Start treatment course", "btn-success")


class CourseChangeForm(forms.Form):
    """Pause or stop: a reason from the list (DESIGN §2), free text when "other"."""

    on = forms.DateField(label="Date", widget=DateInput())
    reason = forms.ChoiceField(choices=[("", "Choose…"), *CourseEvent.Reason.choices])
    reason_detail = forms.CharField(
        label="Details", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, submit_label, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(submit_label, "btn-warning")

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("reason") == CourseEvent.Reason.OTHER
            and not cleaned.get("reason_detail", "").strip()
        ):
            self.add_error("reason_detail", "Say why, since the reason is “Other”.")
        return cleaned


class ResumeCourseForm(forms.Form):
    on = forms.DateField(label="Resume on", widget=DateInput())
    restart_loading = forms.BooleanField(
        label="Restart loading doses (three doses 14 days apart)",
        required=False,
        help_text="A clinical decision after a long gap; the labels give no rule for it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Resume treatment", "btn-success")


class AdministrationForm(forms.ModelForm):
    """The procedure record (DESIGN §2: operator, needle, imaging, CSF removed, vial batch and
    expiry, time)."""

    given_at = forms.DateTimeField(
        label="Given at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    class Meta:
        model = Dose
        fields = [
            "operator",
            "needle",
            "imaging",
            "csf_removed_ml",
            "vial_batch",
            "vial_expiry",
            "notes",
        ]
        widgets = {"vial_expiry": DateInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ["operator", "vial_batch", "vial_expiry"]:
            self.fields[name].required = True
        self.fields["csf_removed_ml"].help_text = "About 10 mL is usually removed first."
        self.helper = _helper("Record dose given", "btn-success")
        self.fields = {"given_at": self.fields.pop("given_at"), **self.fields}
