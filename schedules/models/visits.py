"""The day of a dose: the visit record, adverse events and follow-up calls."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from schedules.models.booking import Booking
from schedules.models.courses import Dose, TreatmentCourse
from tofersen_scheduler.dates import format_day, format_day_time


class Visit(models.Model):
    """What happened at the bedside for one booking: pre-dose checks, outcome, observation and
    discharge (DESIGN §2 "Each visit"; patient leaflet). Created when the patient arrives."""

    class Stage(models.TextChoices):
        BOOKED = "booked", "Booked"
        ARRIVED = "arrived", "Arrived"
        CHECKS_DONE = "checks_done", "Checks done"
        GIVEN = "given", "Given"
        NOT_GIVEN = "not_given", "Not given"
        OBSERVATION = "observation", "In observation"
        DISCHARGED = "discharged", "Discharged"
        NOSHOW = "noshow", "Did not attend"
        CANCELLED = "cancelled", "Cancelled"

    class NotGivenReason(models.TextChoices):
        LP_UNSUCCESSFUL = "lp_unsuccessful", "Lumbar puncture unsuccessful"
        UNWELL = "unwell", "Patient unwell"
        CHECKS_FAILED = "checks_failed", "Pre-dose checks failed"
        DECLINED = "declined", "Patient declined"
        NO_DRUG = "no_drug", "Drug not available"
        OTHER = "other", "Other"

    class Pregnancy(models.TextChoices):
        NOT_APPLICABLE = "", "Not applicable"
        NO = "no", "Not pregnant or breastfeeding"
        YES = "yes", "Pregnant or breastfeeding"

    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="visit")
    arrived_at = models.DateTimeField()
    # Pre-dose checks (DESIGN §2, patient leaflet "Before").
    identity_confirmed = models.BooleanField(default=False)
    consents_on_file = models.BooleanField(
        default=False, help_text="Read from the consent records when the checks were saved."
    )
    symptom_headache = models.BooleanField("severe headache", default=False)
    symptom_neck_stiffness = models.BooleanField("neck stiffness", default=False)
    symptom_vision = models.BooleanField("change in vision", default=False)
    symptom_numbness_weakness = models.BooleanField("new numbness or weakness", default=False)
    fever = models.BooleanField(
        default=False, help_text="A fever means no dose without a clinician's decision."
    )
    pregnancy = models.CharField(
        "pregnancy or breastfeeding", max_length=3, choices=Pregnancy.choices, blank=True
    )
    blood_sample_taken = models.BooleanField(default=False)
    clotting_checked = models.BooleanField(
        "clotting and platelets checked",
        null=True,
        blank=True,
        help_text="Only when the clinician asked for it; empty when not requested.",
    )
    checks_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checks_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cleared_note = models.TextField(
        "clinician's decision", blank=True, help_text="Why the dose may go ahead despite a 'yes'."
    )
    # Outcome.
    not_given_reason = models.CharField(max_length=20, choices=NotGivenReason.choices, blank=True)
    not_given_detail = models.TextField(blank=True)
    observation_start = models.DateTimeField(null=True, blank=True)
    observation_end = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    early_discharge_reason = models.TextField(
        "reason for discharge before 60 minutes",
        blank=True,
        help_text="Confirmed by the nurse when the patient left before the leaflet's 60 minutes.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(not_given_reason="other") | ~Q(not_given_detail=""),
                name="visit_other_reason_explained",
            ),
        ]

    def __str__(self):
        return f"Visit for {self.booking}"

    SYMPTOM_FIELDS = (
        "symptom_headache",
        "symptom_neck_stiffness",
        "symptom_vision",
        "symptom_numbness_weakness",
    )

    # Answers that stand once given, until a clinician records a decision (DESIGN §2 "A 'yes'
    # to a new symptom or pregnancy stands until a clinician records a decision"; a fever).
    STANDING_FIELDS = (*SYMPTOM_FIELDS, "fever")
    # "Not given" for these reasons means no same-day retry without a clinician (DESIGN §2).
    ILLNESS_REASONS = frozenset({NotGivenReason.UNWELL, NotGivenReason.CHECKS_FAILED})

    @property
    def symptoms(self) -> list[str]:
        return [
            str(self._meta.get_field(name).verbose_name)
            for name in self.STANDING_FIELDS
            if getattr(self, name)
        ]

    @property
    def needs_clinician(self) -> bool:
        """A 'yes' to a new symptom, a fever, or to pregnancy stops the checks until a
        clinician decides (DESIGN §2)."""
        return bool(self.symptoms or self.pregnancy == self.Pregnancy.YES) and not self.cleared_by

    @classmethod
    def same_day_retry_blocker(cls, dose, day) -> str:
        """Why dose `dose` cannot be tried again on `day` without a clinician: a visit that
        day ended "not given" for illness or failed checks, or with a fever recorded (DESIGN
        §2: "A fever, or 'not given' for illness or failed checks, means no same-day retry
        without a clinician"). "" when nothing stands in the way. Read by booking."""
        # A dose's visits that ended "not given" are few: compared by the unit's local day.
        ended = cls.objects.filter(
            booking__dose=dose, booking__status=Booking.Status.NOT_GIVEN
        ).select_related("booking__slot__unit")
        for visit in ended:
            if visit.booking.local_date != day:
                continue
            if visit.not_given_reason in cls.ILLNESS_REASONS or visit.fever:
                return (
                    f"Dose {dose.number} was not given earlier today "
                    f"({visit.get_not_given_reason_display().lower()}"
                    f"{', fever' if visit.fever else ''}): trying again the same day needs a "
                    "clinician, with a reason."
                )
        return ""

    @property
    def has_record(self) -> bool:
        """Anything recorded after the arrival itself (checks, a decision, an outcome)."""
        return bool(
            self.checks_at
            or self.cleared_by_id
            or self.not_given_reason
            or self.observation_start
            or self.discharged_at
        )

    # The patient leaflet's observation after the dose: 60–90 minutes (DESIGN §2 "After").
    MIN_OBSERVATION = timedelta(minutes=60)

    @property
    def minimum_observation_end(self) -> datetime | None:
        """When the 60-minute minimum ends, counted from the start of observation (never
        earlier than 60 minutes after the dose, since observation starts after it)."""
        if self.observation_start is None:
            return None
        return self.observation_start + self.MIN_OBSERVATION

    def minutes_observed(self, now: datetime) -> int | None:
        if self.observation_start is None:
            return None
        return max(int((now - self.observation_start).total_seconds() // 60), 0)

    @property
    def checks_complete(self) -> bool:
        return bool(
            self.checks_at
            and self.identity_confirmed
            and self.consents_on_file
            and self.blood_sample_taken
            and self.clotting_checked is not False
            and not self.needs_clinician
        )


class AdverseEvent(models.Model):
    """An adverse event recorded against the patient's course, and the dose it followed when it
    did (DESIGN §2 adverse events; US PI §5, §6; EU SmPC 4.4, 4.8)."""

    class Term(models.TextChoices):
        PLPH = "plph", "Post-lumbar-puncture headache"
        BACK_PAIN = "back_pain", "Back pain"
        PROCEDURAL_PAIN = "procedural_pain", "Procedural pain"
        PAIN_IN_EXTREMITY = "pain_extremity", "Pain in extremity"
        FATIGUE = "fatigue", "Fatigue"
        MYALGIA = "myalgia", "Myalgia"
        ARTHRALGIA = "arthralgia", "Arthralgia"
        PYREXIA = "pyrexia", "Pyrexia"
        CSF_RAISED = "csf_raised", "Raised CSF white cells or protein"
        MYELITIS = "myelitis", "Myelitis"
        RADICULITIS = "radiculitis", "Radiculitis"
        ASEPTIC_MENINGITIS = "aseptic_meningitis", "Aseptic meningitis"
        PAPILLOEDEMA = "papilloedema", "Papilloedema / raised intracranial pressure"
        # Named in the seed trial data (issue 17, seed gaps).
        HEADACHE = "headache", "Headache (not post-lumbar-puncture)"
        INFECTION = "infection", "Infection"
        NERVE_PAIN = "nerve_pain", "Nerve pain"
        MUSCLE_STIFFNESS = "muscle_stiffness", "Muscle stiffness"
        FALL = "fall", "Fall"
        OTHER = "other", "Other"

    # Terms the headache triage applies to (DESIGN §2 PLPH pathway): a headache after a lumbar
    # puncture is triaged whatever it is first called, so a red flag is never missed.
    TRIAGED_TERMS = frozenset({Term.PLPH, Term.HEADACHE})

    class PlphStep(models.TextChoices):
        """The step of the PLPH pathway the triage gave (`schedules.plph`)."""

        URGENT = "urgent", "Red flag: urgent same-day review, course held"
        BLOOD_PATCH = "blood_patch", "Refer to anaesthetics for an epidural blood patch"
        CONSERVATIVE = "conservative", "Conservative care"
        NOT_PLPH = "not_plph", "Not typical: clinician reviews other causes"

    # Label warnings (US PI §5.1–5.4; EU SmPC 4.4): each needs a clinician's review.
    SERIOUS_NEUROLOGICAL = frozenset(
        {Term.MYELITIS, Term.RADICULITIS, Term.ASEPTIC_MENINGITIS, Term.PAPILLOEDEMA}
    )

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"

    class Relation(models.TextChoices):
        UNKNOWN = "", "Not assessed"
        UNRELATED = "unrelated", "Not related"
        PROCEDURE = "procedure", "Related to the lumbar puncture"
        DRUG = "drug", "Related to the drug"

    class Outcome(models.TextChoices):
        ONGOING = "ongoing", "Ongoing"
        RESOLVED = "resolved", "Resolved"
        RESOLVED_SEQUELAE = "sequelae", "Resolved with after-effects"

    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.PROTECT, related_name="adverse_events"
    )
    dose = models.ForeignKey(
        Dose, on_delete=models.PROTECT, null=True, blank=True, related_name="adverse_events"
    )
    term = models.CharField(max_length=20, choices=Term.choices)
    term_detail = models.CharField("description", max_length=200, blank=True)
    onset = models.DateField()
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    serious = models.BooleanField(default=False)
    relation = models.CharField(
        "relation to treatment", max_length=10, choices=Relation.choices, blank=True
    )
    action_taken = models.TextField(blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.ONGOING)
    resolved_on = models.DateField("date resolved", null=True, blank=True)
    # PLPH triage (DESIGN §2 PLPH pathway): the answers and the advice given.
    # The answers are a dict with every question of `schedules.plph.PLPH_QUESTIONS` as its
    # key (canonical form, `plph.triage_answers`); the step is stored to be queried.
    triage = models.JSONField(default=dict, blank=True)
    plph_step = models.CharField(
        "headache triage step", max_length=12, choices=PlphStep.choices, blank=True
    )
    advice = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-onset", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(term="other") | ~Q(term_detail=""),
                name="adverseevent_other_term_described",
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=F("onset")),
                name="adverseevent_resolved_after_onset",
            ),
        ]

    def __str__(self):
        return f"{self.get_term_display()} from {format_day(self.onset)}"

    @property
    def needs_review(self) -> bool:
        """Held for a clinician's review: a serious event, a serious neurological one (label
        warnings), or a headache with a red flag (DESIGN §2: "hold the course like a serious
        event")."""
        return (
            self.serious
            or self.term in self.SERIOUS_NEUROLOGICAL
            or self.plph_step == self.PlphStep.URGENT
        )

    @property
    def label(self) -> str:
        if self.term == self.Term.OTHER:
            return self.term_detail
        return self.get_term_display()


class FollowUpCall(models.Model):
    """A nurse's call to a patient on the unit's open days after a dose (DESIGN §2 follow-up).

    A dose stays on the follow-up list until one of its calls resolves it
    (`schedules.visits.follow_up`): "no problems"; a headache or other event once the event
    (with its triage) is linked in `adverse_event`; or closed by a clinician with a note."""

    class Outcome(models.TextChoices):
        NO_PROBLEMS = "no_problems", "No problems"
        HEADACHE = "headache", "Headache: PLPH triage"
        OTHER_EVENT = "other_event", "Other event recorded"
        NO_ANSWER = "no_answer", "No answer, try again"
        CLOSED = "closed", "Closed by a clinician"

    # Outcomes that need an adverse event linked before the follow-up is done.
    NEEDS_EVENT = frozenset({Outcome.HEADACHE, Outcome.OTHER_EVENT})

    dose = models.ForeignKey(Dose, on_delete=models.PROTECT, related_name="follow_up_calls")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    note = models.TextField(blank=True)
    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    called_at = models.DateTimeField()
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # No answer: the unit's next open day, when the call is tried again (the dose stays listed
    # meanwhile).
    call_back_on = models.DateField("call back on", null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["called_at", "pk"]

    def __str__(self):
        return f"{self.get_outcome_display()} ({format_day_time(self.called_at)})"
