from django import forms

from schedules.unit.selectors import FORECAST_MAX_WEEKS

DEFAULT_FORECAST_WEEKS = 12


class CapacityForm(forms.Form):
    """How many weeks the capacity page looks ahead."""

    weeks = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=FORECAST_MAX_WEEKS,
        error_messages={
            "invalid": f"Choose 1 to {FORECAST_MAX_WEEKS} weeks.",
            "min_value": f"Choose 1 to {FORECAST_MAX_WEEKS} weeks.",
            "max_value": f"Choose 1 to {FORECAST_MAX_WEEKS} weeks.",
        },
    )

    def weeks_or_default(self) -> int:
        if self.is_valid() and self.cleaned_data["weeks"] is not None:
            return self.cleaned_data["weeks"]
        return DEFAULT_FORECAST_WEEKS
