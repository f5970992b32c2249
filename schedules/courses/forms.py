"""The clinician's forms about a course: start, pause or stop, resume, correct the start
(DESIGN §2). They live with the course code; the patient's own forms stay in `patients.forms`.
A dose given is recorded with `schedules.visits.forms.DoseRecordForm` (one form, issue 17)."""

from crispy_forms.layout import Submit
from django import forms

from patients.forms import DateInput, _helper, harden
from schedules.models import CourseEvent


class StartCourseForm(forms.Form):
    start_date = forms.DateField(
        label="Start date (day 0, first loading dose)",
        widget=DateInput(),
        help_text="Loading doses follow on days 14 and 28, then every 28 days.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Start treatment course", "btn-success")
        harden(self)


class PreviewButton(Submit):
    """A secondary submit button (crispy's Submit is always btn-primary)."""

    field_classes = "btn btn-outline-secondary"


class PreviewedForm(forms.Form):
    """A course decision shown before it is made (issue 10): a "Preview changes" button, and
    the fingerprint of the preview the page showed, posted back with the confirmation."""

    previewed = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def add_preview_button(self):
        self.helper.add_input(PreviewButton("preview", "Preview changes"))

    def show_preview(self, fingerprint: str) -> None:
        """Render `fingerprint` in the hidden field, bound or not."""
        if self.is_bound:
            self.data = self.data.copy()
            self.data[self.add_prefix("previewed")] = fingerprint
        else:
            self.initial["previewed"] = fingerprint


class CourseChangeForm(PreviewedForm):
    """Pause or stop: a reason from the list (DESIGN §2), free text when "other"."""

    on = forms.DateField(label="Date", widget=DateInput())
    reason = forms.ChoiceField(choices=[("", "Choose…"), *CourseEvent.Reason.choices])
    reason_detail = forms.CharField(
        label="Details", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, submit_label, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(submit_label, "btn-warning")
        self.add_preview_button()
        harden(self)

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("reason") == CourseEvent.Reason.OTHER
            and not cleaned.get("reason_detail", "").strip()
        ):
            self.add_error("reason_detail", "Say why, since the reason is “Other”.")
        return cleaned


class ResumeCourseForm(PreviewedForm):
    on = forms.DateField(label="Resume on", widget=DateInput())
    restart_loading = forms.BooleanField(
        label="Restart loading doses (three doses 14 days apart)",
        required=False,
        help_text="A clinical decision after a long gap; the labels give no rule for it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Resume treatment", "btn-success")
        self.add_preview_button()
        harden(self)


class CorrectStartForm(forms.Form):
    """A start date typed wrong, corrected by a clinician with a reason (kept in the course's
    history, whose reason field holds 100 characters)."""

    start_date = forms.DateField(label="Correct start date (day 0)", widget=DateInput())
    reason = forms.CharField(
        label="Why the date is being corrected",
        max_length=100,
        help_text="For example: year typed wrong. Kept in the course's history.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Correct the start date", "btn-warning")
        harden(self)
