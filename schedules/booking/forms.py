from django import forms

from patients.forms import harden
from schedules.booking.services import can_override
from schedules.models import Slot
from schedules.models.waitlist import MAX_NOTICE_DAYS
from schedules.unit import resources


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
        if not can_override(user):
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


# Far beyond any real course (13 doses a year), small enough to refuse nonsense in URLs.
MAX_DOSE_NUMBER = 1000


class BookNextChoiceForm(forms.Form):
    """One dose of "Book next doses" and the slot chosen for it."""

    number = forms.IntegerField(min_value=1, max_value=MAX_DOSE_NUMBER)
    slot = forms.IntegerField(min_value=1, max_value=2**63 - 1)


class BaseBookNextFormSet(forms.BaseFormSet):
    """The doses to book at once; `choices` holds [(dose number, slot)] once valid."""

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.choices = []

    def get_form_kwargs(self, index):
        # Every posted choice is a dose to book: none may be left empty.
        return {**super().get_form_kwargs(index), "empty_permitted": False}

    def clean(self):
        if any(self.errors):
            return
        pairs = [(form.cleaned_data["number"], form.cleaned_data["slot"]) for form in self.forms]
        slots = Slot.objects.filter(unit=self.unit).in_bulk([slot for _, slot in pairs])
        if len(slots) != len({slot for _, slot in pairs}):
            raise forms.ValidationError("One of the slots no longer exists; please choose again.")
        self.choices = [(number, slots[slot]) for number, slot in pairs]

    @property
    def problem(self) -> str:
        """One sentence for the nurse when the set cannot be booked, else ""."""
        if not self.forms:
            return "There was nothing to book."
        if self.is_valid():
            return ""
        if any(self.errors):
            return "The choices sent were not understood; please try again."
        return " ".join(self.non_form_errors())


BookNextFormSet = forms.formset_factory(
    BookNextChoiceForm, formset=BaseBookNextFormSet, extra=0, max_num=MAX_DOSE_NUMBER
)


def book_next_formset(values: list[str], *, unit) -> BaseBookNextFormSet:
    """The page's selects post "number:slot" per dose ("2:15"); bound as a formset."""
    data = {"form-TOTAL_FORMS": str(len(values)), "form-INITIAL_FORMS": "0"}
    for index, value in enumerate(values):
        number, _, slot = value.partition(":")
        data[f"form-{index}-number"] = number
        data[f"form-{index}-slot"] = slot
    return BookNextFormSet(data, unit=unit)


class AdmitDayBeforeForm(forms.Form):
    """Admission the day before the dose (patient leaflet): a yes or no on the booking."""

    admit_day_before = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")], coerce=lambda value: value == "yes"
    )


class WaitlistForm(forms.Form):
    """Mark the patient as one who would come earlier (issue 19 item 5)."""

    notice_days = forms.IntegerField(
        label="Notice needed (days)",
        min_value=0,
        max_value=MAX_NOTICE_DAYS,
        initial=3,
        help_text=f"0 to {MAX_NOTICE_DAYS}: how many days ahead they must be told.",
    )
    scope = forms.ChoiceField(
        label="For",
        choices=[("next", "Whichever dose is booked next"), ("this", "This dose only")],
        initial="next",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)


class MoveEarlierForm(forms.Form):
    """The one-click move of a waitlisted booking into a freed place (the book-a-day page)."""

    slot = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    previewed = forms.CharField(max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)


class OperatorForm(forms.Form):
    """Who performs the lumbar puncture: one of the operators on the session's rota (the
    service refuses anyone whose competency is not valid on the day), or nobody yet."""

    operator = forms.TypedChoiceField(
        label="Lumbar-puncture operator",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "Choose someone on the rota for this session."},
    )

    def __init__(self, *args, rota, day, **kwargs):
        super().__init__(*args, **kwargs)
        self.operators = {operator.pk: operator for operator, _ in rota}
        self.fields["operator"].choices = [("", "Nobody yet")] + [
            (operator.pk, resources.competency_label(operator, competencies, day))
            for operator, competencies in rota
        ]
        harden(self)

    def chosen(self):
        pk = self.cleaned_data["operator"]
        return None if pk is None else self.operators[pk]
