"""Forms for the visit, adverse events, the review decision and follow-up calls (issue 7).
Each only shapes input; the services in `schedules.services` decide what is allowed."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from patients.forms import DateInput, _helper, harden
from schedules import plph
from schedules.models import AdverseEvent, Dose, FollowUpCall, ReviewDecision, Visit

YES_NO = [("", "Choose…"), ("no", "No"), ("yes", "Yes")]


ANSWER = [("yes", "Yes"), ("no", "No")]
CLOTTING = [
    ("not_requested", "Not requested"),
    ("yes", "Checked and acceptable"),
    ("no", "Requested but not done"),
]


def _question(label: str, choices=ANSWER, help_text: str = "") -> forms.ChoiceField:
    """One check as an explicit question: a pair of radio buttons in a fieldset whose legend is
    the question (issue 20: "good" and "bad" answers were identical checkboxes, and a box left
    empty read as "no"). Not required here, so that `clean` names every missing answer."""
    return forms.ChoiceField(
        label=label, choices=choices, widget=forms.RadioSelect, required=False, help_text=help_text
    )


class ChecksForm(forms.Form):
    """The pre-dose checks (DESIGN §2 "Before"; patient leaflet), each a yes/no question that
    must be answered. What an answer means is the service's (`record_checks`): identity not
    confirmed or no blood sample refuses the save; a "yes" to a new symptom, a fever or
    pregnancy stops the dose for a clinician; clotting requested and not done leaves the
    checks incomplete."""

    identity_confirmed = _question(
        "Is the patient's identity confirmed (name, date of birth, hospital number)?"
    )
    symptom_headache = _question("Since the last dose: a severe headache?")
    symptom_neck_stiffness = _question("Since the last dose: neck stiffness?")
    symptom_vision = _question("Since the last dose: a change in vision?")
    symptom_numbness_weakness = _question("Since the last dose: new numbness or weakness?")
    fever = _question("A fever today?")
    pregnancy = _question("Pregnant or breastfeeding?")
    blood_sample_taken = _question("Blood sample taken (one at every visit)?")
    clotting_checked = _question(
        "Clotting and platelets?", CLOTTING, help_text="Checked only when the clinician asked."
    )

    def __init__(self, *args, could_be_pregnant: bool, visit: Visit | None = None, **kwargs):
        if visit is not None and visit.checks_at and "initial" not in kwargs:
            kwargs["initial"] = answers_of(visit)
        super().__init__(*args, **kwargs)
        harden(self)
        if not could_be_pregnant:
            del self.fields["pregnancy"]
        self.helper = _helper("Save checks", "btn-primary")

    def clean(self):
        cleaned = super().clean()
        missing = [
            name for name in self.fields if not cleaned.get(name) and name not in self.errors
        ]
        for name in missing:
            self.add_error(name, "Answer this question.")
        if missing:
            questions = "; ".join(f"“{self.fields[name].label}”" for name in missing)
            raise forms.ValidationError(
                f"Not saved: {len(missing)} question{'s' if len(missing) > 1 else ''} "
                f"not answered: {questions}"
            )
        return cleaned

    def service_kwargs(self) -> dict:
        data = {
            name: value == "yes"
            for name, value in self.cleaned_data.items()
            if name not in ("pregnancy", "clotting_checked")
        }
        data["pregnancy"] = self.cleaned_data.get("pregnancy", "")
        data["clotting_checked"] = {"not_requested": None, "yes": True, "no": False}[
            self.cleaned_data["clotting_checked"]
        ]
        return data


def answers_of(visit: Visit) -> dict:
    """The answers last saved on the visit, as the form shows them (issue 20: re-opening the
    checks showed an empty form)."""
    answers = {
        name: "yes" if getattr(visit, name) else "no"
        for name in ("identity_confirmed", "blood_sample_taken", *Visit.STANDING_FIELDS)
    }
    answers["pregnancy"] = visit.pregnancy or ""
    answers["clotting_checked"] = {None: "not_requested", True: "yes", False: "no"}[
        visit.clotting_checked
    ]
    return answers


class ClearChecksForm(forms.Form):
    note = forms.CharField(
        label="Clinical decision", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)
        self.helper = _helper("Dose may go ahead", "btn-warning")


class DoseRecordForm(forms.ModelForm):
    """The one form for a dose given (issue 17 §2), on the visit page and on the patient page:
    the procedure record (DESIGN §2 "Procedure"), a clinician's reasons, and, for a dose given
    elsewhere (`elsewhere=True`: no visit here, or a past visit left with no record), who
    checked what. It only shapes input: `record_administration` decides what is allowed and
    requires what it needs again."""

    given_at = forms.DateTimeField(
        label="Given at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    override_reason = forms.CharField(
        label="Clinician's reason: given before the window, or given elsewhere (paper record, "
        "another hospital)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    partial_reason = forms.CharField(
        label="Partial dose (clinicians only): why other than 15 mL was given",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Outside 14–16 mL the dose is recorded as partial; the clinician decides "
        "what follows.",
    )
    # The pre-dose checks of a dose given elsewhere (DESIGN §2 "Before").
    checked_by = forms.CharField(
        label="Pre-dose checks done by (name and place)", required=False, max_length=200
    )
    identity_confirmed = forms.BooleanField(
        label="Identity confirmed (name, date of birth, hospital number)", required=False
    )
    blood_sample_taken = forms.BooleanField(label="Blood sample taken", required=False)
    symptom_headache = forms.BooleanField(label="New symptom: severe headache", required=False)
    symptom_neck_stiffness = forms.BooleanField(label="New symptom: neck stiffness", required=False)
    symptom_vision = forms.BooleanField(label="New symptom: change in vision", required=False)
    symptom_numbness_weakness = forms.BooleanField(
        label="New symptom: new numbness or weakness", required=False
    )
    fever = forms.BooleanField(label="Fever", required=False)
    pregnancy = forms.ChoiceField(
        label="Pregnant or breastfeeding?", choices=YES_NO, required=False
    )

    CHECK_FIELDS = (
        "checked_by",
        "identity_confirmed",
        "blood_sample_taken",
        *Visit.STANDING_FIELDS,
        "pregnancy",
    )

    class Meta:
        model = Dose
        fields = [
            "operator",
            "needle",
            "imaging",
            "csf_removed_ml",
            "volume_injected_ml",
            "vial_batch",
            "vial_expiry",
            "notes",
        ]
        widgets = {"vial_expiry": DateInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, elsewhere: bool, could_be_pregnant: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)
        self.elsewhere = elsewhere
        for name in ["operator", "vial_batch", "vial_expiry"]:
            self.fields[name].required = True
        self.fields["csf_removed_ml"].help_text = "About 10 mL is usually removed first."
        self.fields["volume_injected_ml"].initial = 15
        if not elsewhere:
            for name in self.CHECK_FIELDS:
                del self.fields[name]
        elif not could_be_pregnant:
            del self.fields["pregnancy"]
        self.fields = {"given_at": self.fields.pop("given_at"), **self.fields}
        self.helper = _helper("Record dose given", "btn-success")

    def details(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}

    def service_kwargs(self) -> dict:
        """What `record_administration` takes, beside the dose and who records it."""
        data = self.cleaned_data
        kwargs = {
            "given_at": data["given_at"],
            "override_reason": data["override_reason"],
            "partial_reason": data["partial_reason"],
            **self.details(),
        }
        if self.elsewhere:
            kwargs["elsewhere_checks"] = {
                name: data[name] for name in self.CHECK_FIELDS if name in data
            }
        return kwargs


class NotGivenForm(forms.Form):
    reason = forms.ChoiceField(choices=[("", "Choose…"), *Visit.NotGivenReason.choices])
    detail = forms.CharField(
        label="Details", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)
        self.helper = _helper("Record not given", "btn-danger")


class EarlyDischargeForm(forms.Form):
    """Discharge before the leaflet's 60 minutes of observation: confirmed, with the reason
    kept on the visit (DESIGN §2 "After")."""

    confirm = forms.BooleanField(
        label="I confirm the patient leaves before 60 minutes of observation", required=True
    )
    early_reason = forms.CharField(
        label="Why the patient leaves early",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)
        self.helper = _helper("Discharge now", "btn-warning")


TRIAGE_FIELDS = [
    "onset_within_48h",
    "postural",
    "hours_since_onset",
    "conservative_tried",
    *plph.PLPH_RED_FLAGS,
]


class AdverseEventForm(forms.Form):
    """An adverse event; the headache triage (DESIGN §2 PLPH pathway, every question of
    `schedules.plph`) applies when the term is a post-lumbar-puncture headache or a headache.
    `follow_up_call`: the call that found the event, linked to it when it is saved."""

    term = forms.ChoiceField(choices=[("", "Choose…"), *AdverseEvent.Term.choices])
    term_detail = forms.CharField(label="Description (for “Other”)", required=False)
    onset = forms.DateField(widget=DateInput())
    severity = forms.ChoiceField(
        choices=[("", "Choose…"), *AdverseEvent.Severity.choices], required=False
    )
    serious = forms.BooleanField(
        label="Serious (hospitalisation, disability, life-threatening…)", required=False
    )
    dose = forms.ModelChoiceField(
        label="After dose", queryset=Dose.objects.none(), required=False, empty_label="None"
    )
    relation = forms.ChoiceField(
        label="Relation to treatment", choices=AdverseEvent.Relation.choices, required=False
    )
    action_taken = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.ChoiceField(choices=AdverseEvent.Outcome.choices)
    resolved_on = forms.DateField(label="Date resolved", required=False, widget=DateInput())
    follow_up_call = forms.ModelChoiceField(
        queryset=FollowUpCall.objects.none(), required=False, widget=forms.HiddenInput()
    )
    # Headache triage (DESIGN §2 PLPH pathway and red flags).
    onset_within_48h = forms.BooleanField(
        label="Headache: started within 48 hours of the lumbar puncture", required=False
    )
    postural = forms.BooleanField(
        label="Headache: worse sitting or standing, better lying down", required=False
    )
    hours_since_onset = forms.IntegerField(
        label="Headache: hours since it started", required=False, min_value=0, max_value=24 * 60
    )
    conservative_tried = forms.BooleanField(
        label="Headache: conservative care tried (lying flat, 2–3 L fluids, paracetamol or "
        "ibuprofen, caffeine)",
        required=False,
    )
    fever = forms.BooleanField(label="Red flag: fever", required=False)
    neck_stiffness = forms.BooleanField(label="Red flag: neck stiffness", required=False)
    vision_change = forms.BooleanField(label="Red flag: change in vision", required=False)
    vomiting = forms.BooleanField(label="Red flag: vomiting", required=False)
    confusion = forms.BooleanField(label="Red flag: confusion or drowsiness", required=False)
    photophobia = forms.BooleanField(
        label="Red flag: photophobia (bright light hurts the eyes)", required=False
    )
    new_numbness_or_weakness = forms.BooleanField(
        label="Red flag: new numbness or weakness", required=False
    )

    def __init__(self, *args, course, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)
        self.fields["dose"].queryset = Dose.objects.filter(course=course, given_at__isnull=False)
        self.fields["follow_up_call"].queryset = FollowUpCall.objects.filter(
            dose__course=course, outcome__in=FollowUpCall.NEEDS_EVENT, adverse_event=None
        )
        self.fields["onset"].initial = timezone.localdate()
        self.helper = _helper("Record adverse event", "btn-danger")

    def clean(self):
        """The headache triage is answered in full: how severe, and for how long (DESIGN §2:
        the step depends on both). A box not ticked is a "no"."""
        data = super().clean()
        if data.get("term") in AdverseEvent.TRIAGED_TERMS:
            if not data.get("severity"):
                self.add_error("severity", "Ask how severe the headache is.")
            if data.get("hours_since_onset") is None:
                self.add_error("hours_since_onset", "Ask how many hours ago it started.")
        return data

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("follow_up_call", None)
        triage = {name: data.pop(name) for name in TRIAGE_FIELDS if name in data}
        if data["term"] in AdverseEvent.TRIAGED_TERMS:
            triage["severity"] = data.get("severity", "")
            data["triage"] = triage
        if not data.get("severity"):
            data.pop("severity", None)
        return data


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("", "Choose…"), *ReviewDecision.choices])
    on = forms.DateField(label="Date", widget=DateInput())
    note = forms.CharField(
        label="Review note", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)
        self.fields["on"].initial = timezone.localdate()
        self.helper = _helper("Record review decision", "btn-primary")


class FollowUpForm(forms.Form):
    """A follow-up call (DESIGN §2 follow-up). No outcome is chosen for the nurse (issue 20: it
    defaulted to "No problems"). With "Headache", the headache triage is answered on the same
    form (the questions of `AdverseEventForm`, DESIGN §2 PLPH pathway) and the call and its
    event are saved together; without the triage the call waits on the list as before."""

    outcome = forms.ChoiceField(
        choices=[("", "Choose the outcome…"), *FollowUpCall.Outcome.choices],
        error_messages={"required": "Choose the outcome of the call."},
    )
    note = forms.CharField(required=False, max_length=2000)
    # The headache triage, inline.
    term = forms.ChoiceField(
        label="Kind of headache",
        choices=[(t, AdverseEvent.Term(t).label) for t in sorted(AdverseEvent.TRIAGED_TERMS)],
        widget=forms.RadioSelect,
        required=False,
    )
    severity = forms.ChoiceField(
        choices=[("", "Choose…"), *AdverseEvent.Severity.choices], required=False
    )
    hours_since_onset = AdverseEventForm.base_fields["hours_since_onset"]
    onset_within_48h = AdverseEventForm.base_fields["onset_within_48h"]
    postural = AdverseEventForm.base_fields["postural"]
    conservative_tried = AdverseEventForm.base_fields["conservative_tried"]
    fever = AdverseEventForm.base_fields["fever"]
    neck_stiffness = AdverseEventForm.base_fields["neck_stiffness"]
    vision_change = AdverseEventForm.base_fields["vision_change"]
    vomiting = AdverseEventForm.base_fields["vomiting"]
    confusion = AdverseEventForm.base_fields["confusion"]
    photophobia = AdverseEventForm.base_fields["photophobia"]
    new_numbness_or_weakness = AdverseEventForm.base_fields["new_numbness_or_weakness"]

    TRIAGE = ("term", "severity", *TRIAGE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden(self)

    def triage_started(self) -> bool:
        """Whether the nurse answered the inline triage at all (a headache call saved without
        it waits on the list for the triage, as before)."""
        data = self.cleaned_data
        return bool(data.get("term") or data.get("severity") or data.get("hours_since_onset"))

    def clean(self):
        data = super().clean()
        if data.get("outcome") == FollowUpCall.Outcome.HEADACHE and self.triage_started():
            if not data.get("term"):
                self.add_error("term", "Choose the kind of headache.")
            if not data.get("severity"):
                self.add_error("severity", "Ask how severe the headache is.")
            if data.get("hours_since_onset") is None:
                self.add_error("hours_since_onset", "Ask how many hours ago it started.")
        return data

    def call_kwargs(self) -> dict:
        return {"outcome": self.cleaned_data["outcome"], "note": self.cleaned_data["note"]}

    def event_kwargs(self) -> dict:
        """The headache as `record_follow_up_headache` records it: onset from the hours since
        it started (the unit's day), the triage answers as `AdverseEventForm` gives them."""
        data = self.cleaned_data
        started = timezone.localtime() - timedelta(hours=data["hours_since_onset"])
        triage = {name: data.get(name) for name in TRIAGE_FIELDS}
        triage["severity"] = data["severity"]
        return {
            "term": data["term"],
            "onset": started.date(),
            "severity": data["severity"],
            "serious": False,
            "outcome": AdverseEvent.Outcome.ONGOING,
            "triage": triage,
        }
