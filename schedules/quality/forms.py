from django import forms

from patients.forms import DateInput, harden
from schedules.quality.measures import Period, check_period, default_period


class PeriodForm(forms.Form):
    """The period the Quality page and the exports cover (GET, so a period can be shared as
    a link). Empty fields fall back to the last twelve months and this one."""

    start = forms.DateField(
        label="From",
        required=False,
        widget=DateInput(),
        error_messages={"invalid": "Enter the start as a date, for example 2026-01-01."},
    )
    end = forms.DateField(
        label="To",
        required=False,
        widget=DateInput(),
        error_messages={"invalid": "Enter the end as a date, for example 2026-12-31."},
    )

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        harden(self)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        default = default_period(self.today)
        try:
            cleaned["period"] = check_period(
                cleaned.get("start") or default.first, cleaned.get("end") or default.last
            )
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        return cleaned

    @property
    def period(self) -> Period:
        return self.cleaned_data["period"]
