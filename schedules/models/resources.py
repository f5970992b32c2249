"""The unit's capacity as people and places (issue 19 item 1; DESIGN §3 "Capacity is people and
places"): who may do a lumbar puncture (the competency register), who is on for a session (the
rota), and the sessions with an imaging list. Beds are counted per session on
`SessionTemplate.beds`, over the visit's length (`VISIT_BED_MINUTES`).

A *session* on a day is a session template's slots on that local day: they share its beds, its
rota and its imaging list. A one-off slot (no template) is a session of its own, with no bed,
rota or imaging limit beyond its places.
"""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from patients.validators import validate_single_line
from schedules.models.unit import SessionTemplate
from tofersen_scheduler.dates import format_day

# How long a visit occupies a bed or chair from its slot's start (DESIGN §2: "each a bed for
# about two hours (20–30 min procedure, 60–90 min observation)"; the patient leaflet's
# observation advice). Two slots whose visits overlap within this time share the session's beds.
VISIT_BED_MINUTES = 120


class CompetencyQuerySet(models.QuerySet):
    def valid_on(self, day: date):
        """Competencies signed off and still valid on `day` (valid until is inclusive)."""
        return self.filter(valid_until__gte=day, signed_off_on__lte=day)


class Competency(models.Model):
    """One entry of the lumbar-puncture competency register: this person may perform this
    procedure until this date, signed off by whom and when (issue 19 item 1). An image-guided
    competency also covers an unguided lumbar puncture."""

    class Procedure(models.TextChoices):
        UNGUIDED = "unguided", "Lumbar puncture (unguided)"
        IMAGE_GUIDED = "image_guided", "Lumbar puncture under image guidance (X-ray or CT)"

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="competencies",
        help_text="The clinician who performs the lumbar puncture.",
    )
    procedure = models.CharField(max_length=20, choices=Procedure.choices)
    valid_until = models.DateField(
        "valid until", help_text="The last day this person may perform it without a re-check."
    )
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The supervisor or clinical lead who signed the competency off.",
    )
    signed_off_on = models.DateField("signed off on")

    objects = CompetencyQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "competencies"
        ordering = ["operator__username", "procedure", "-valid_until"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("signed_off_on")),
                name="competency_valid_after_sign_off",
                violation_error_message="A competency cannot expire before it was signed off.",
            ),
        ]

    def __str__(self):
        return (
            f"{self.operator.get_full_name() or self.operator.get_username()}: "
            f"{self.get_procedure_display()} until {format_day(self.valid_until)}"
        )


class RotaEntry(models.Model):
    """Who is on for a session on a day, to perform lumbar punctures (the rota)."""

    template = models.ForeignKey(
        SessionTemplate, on_delete=models.CASCADE, related_name="rota", verbose_name="session"
    )
    day = models.DateField()
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rota_entries"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = "rota entry"
        verbose_name_plural = "rota"
        ordering = ["day", "template__start_time", "operator__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "day", "operator"], name="rota_once_per_session"
            ),
        ]

    def __str__(self):
        who = self.operator.get_full_name() or self.operator.get_username()
        return f"{who} on {format_day(self.day)} ({self.template.start_time:%H:%M} session)"


class ImagingList(models.Model):
    """A session with X-ray or CT available for image-guided lumbar punctures, and how many it
    can take (DESIGN §2: "image guidance (X-ray or CT) sometimes")."""

    template = models.ForeignKey(
        SessionTemplate,
        on_delete=models.CASCADE,
        related_name="imaging_lists",
        verbose_name="session",
    )
    day = models.DateField()
    places = models.PositiveSmallIntegerField(
        "image-guided places", default=2, help_text="Image-guided procedures the list can take."
    )
    note = models.CharField(
        max_length=120, blank=True, validators=[validate_single_line], help_text="X-ray room 2…"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = "imaging list"
        ordering = ["day", "template__start_time"]
        constraints = [
            models.UniqueConstraint(fields=["template", "day"], name="imaging_list_once"),
            models.CheckConstraint(condition=Q(places__gte=1), name="imaging_list_has_places"),
        ]

    def __str__(self):
        return f"Imaging list {format_day(self.day)} ({self.template.start_time:%H:%M} session)"
