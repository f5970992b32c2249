from django import forms

from patients.forms import harden
from schedules.models import Slot


class SlotChoiceForm(forms.Form):
    """Choose a slot (radio buttons drawn by the page) and, for clinicians, say why a date
    outside the unit's window is needed."""

    slot = forms.ModelChoiceField(
        queryset=Slot.objects.none(),
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose a slot.",
            "invalid_choice": "That slot no longer exists; choose another.",
        },
    )
    override_reason = forms.CharField(
        label="Reason for booking outside the window",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Clinicians only. Leave empty for a date inside the window.",
    )

    def __init__(self, *args, unit, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].queryset = Slot.objects.filter(unit=unit)
        if not user.has_perm("schedules.override_booking_window"):
            # A nurse cannot override; the service still refuses if one is posted anyway.
            del self.fields["override_reason"]
        harden(self)


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason for cancelling",
        max_length=200,
        error_messages={"required": "Give a reason for cancelling."},
        help_text="For example: patient unwell, transport not available, patient's request.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)


class FindSlotsForm(forms.Form):
    """Look for free slots from another date."""

    start = forms.DateField(
        label="Free slots from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date, for example 2026-03-02."},
    )


class AskClinicianForm(forms.Form):
    """A nurse's hand-off of a dose to a clinician: the slot she proposes and a short note."""

    slot = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    note = forms.CharField(required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)
