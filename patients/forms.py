import unicodedata

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone

from patients.models import (
    Consent,
    Patient,
    normalise_hospital_number,
    normalise_nhs_number,
    validate_nhs_number,
)
from patients.validators import (
    TEXT_AREA_MAX,
    normalise_uk_mobile,
    validate_multiline,
    validate_plausible_date,
    validate_single_line,
)

CLINICIAN_ONLY_MESSAGE = (
    "Only a clinician can record the SOD1 confirmation or whether the patient could become "
    "pregnant, so nothing was saved. Ask a clinician to change {fields}."
)


def harden(form: forms.BaseForm) -> None:
    """Every text field refuses control characters and has a length cap; every date is
    after 1900 (issue 9, ASVS V5.1.3–V5.1.4). Called at the end of each form's __init__."""
    for field in form.fields.values():
        if isinstance(field, forms.CharField) and not isinstance(field, forms.EmailField):
            multiline = isinstance(field.widget, forms.Textarea)
            if field.max_length is None:
                field.max_length = TEXT_AREA_MAX
                field.validators.append(forms.CharField(max_length=TEXT_AREA_MAX).validators[0])
                field.widget.attrs.setdefault("maxlength", str(TEXT_AREA_MAX))
            field.validators.append(validate_multiline if multiline else validate_single_line)
        elif isinstance(field, (forms.DateField, forms.DateTimeField)):
            field.validators.append(validate_plausible_date)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _helper(submit_label: str, css_class: str = "btn-primary") -> FormHelper:
    helper = FormHelper()
    # The server's error summary (templates/_error_summary.html), not the browser's bubbles,
    # says what to fix: bubbles vanish, are not read out reliably and list one field at a time.
    helper.attrs = {"novalidate": ""}
    helper.add_input(Submit("submit", submit_label, css_class=css_class))
    return helper


class _SearchText(forms.CharField):
    """Search text without invisible formatting characters (Unicode Cf: a zero-width space or
    byte-order mark pasted with a name), so "Love\u200blace" finds Lovelace."""

    def to_python(self, value):
        text = super().to_python(value)
        return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


class PatientSearchForm(forms.Form):
    """The patient list's search box. A form so that stray input (control characters, which
    PostgreSQL refuses) becomes a message, not a server error."""

    q = _SearchText(max_length=100, required=False, strip=True, validators=[validate_single_line])


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
            "contraception_advised_on",
            "needs_image_guidance",
            "image_guidance_reason",
            "phone",
            "mobile_phone",
            "email",
            "address",
            "preferred_channel",
            "reminders_agreed_on",
            "sod1_variant",
            "sod1_confirmed_on",
        ]
        widgets = {
            "date_of_birth": DateInput(),
            "sod1_confirmed_on": DateInput(),
            "contraception_advised_on": DateInput(),
            "reminders_agreed_on": DateInput(),
            "mobile_phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "address": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user, submit_label="Save patient", **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(submit_label)
        self.fields["preferred_channel"].required = False
        self.may_record_clinical_facts = user.has_perm("patients.record_clinical_facts")
        if not self.may_record_clinical_facts:
            # Shown, not editable: Django ignores a disabled field's posted value, and clean()
            # refuses the whole form if one was posted anyway (hazard log H5/H14).
            for name in Patient.CLINICAL_FIELDS:
                self.fields[name].disabled = True
                self.fields[name].help_text = "Recorded by a clinician."
        harden(self)

    def clean_hospital_number(self):
        return normalise_hospital_number(self.cleaned_data["hospital_number"])

    def clean_nhs_number(self):
        return normalise_nhs_number(self.cleaned_data["nhs_number"])

    def clean_preferred_channel(self):
        # A form posted without it (an older page, a script) changes nothing: no reminders.
        return self.cleaned_data.get("preferred_channel") or (
            self.instance.preferred_channel if self.instance.pk else Patient.Channel.NONE
        )

    def clean_mobile_phone(self):
        return normalise_uk_mobile(self.cleaned_data["mobile_phone"])

    def clinical_fields_posted(self) -> list[str]:
        """The clinician-only fields this POST tries to change (as the browser never sends a
        disabled field, any such value was typed by hand or by a script)."""
        changed = []
        for name in Patient.CLINICAL_FIELDS:
            if name not in self.data:
                continue
            field = self.fields[name]
            try:
                posted = field.to_python(field.widget.value_from_datadict(self.data, {}, name))
            except forms.ValidationError:
                changed.append(name)
                continue
            current = getattr(self.instance, name) if self.instance.pk else field.initial
            if (posted or None) != (current or None):
                changed.append(name)
        return changed

    def clean(self):
        cleaned = super().clean()
        if not self.may_record_clinical_facts:
            changed = self.clinical_fields_posted()
            if changed:
                labels = ", ".join(str(self.fields[name].label).lower() for name in changed)
                raise forms.ValidationError(CLINICIAN_ONLY_MESSAGE.format(fields=labels))
            return cleaned
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
        harden(self)


class WithdrawConsentForm(forms.Form):
    withdrawn_on = forms.DateField(label="Withdrawn on", widget=DateInput())

    def __init__(self, *args, consent, **kwargs):
        super().__init__(*args, **kwargs)
        self.consent = consent
        self.helper = _helper("Record withdrawal", "btn-danger")
        harden(self)

    def clean_withdrawn_on(self):
        day = self.cleaned_data["withdrawn_on"]
        if day < self.consent.signed_on:
            raise forms.ValidationError("Consent cannot be withdrawn before it was signed.")
        if day > timezone.localdate():
            raise forms.ValidationError("The date cannot be in the future.")
        return day
