"""The derived worklist cache (one writer: `schedules.outlook`)."""

from django.db import models

from schedules.models.courses import TreatmentCourse


class CourseOutlook(models.Model):
    """What the worklists filter on, kept beside a course's facts (issue 8).

    Derived, never a fact: `schedules.outlook.refresh_next_due` rewrites the row from the
    engine's plan at the end of every service that changes the course, and the nightly
    `refresh_next_due` command rewrites every row for the passage of time. Not audited (it
    holds nothing anyone decided), so its rewrites leave no history noise.
    """

    course = models.OneToOneField(
        TreatmentCourse, on_delete=models.CASCADE, primary_key=True, related_name="outlook"
    )
    next_due = models.DateField(
        "next dose to book is due",
        null=True,
        blank=True,
        db_index=True,
        help_text="Due date of the first dose that may be booked now; empty when there is "
        "nothing to book (not active, every next dose booked, or a history to check).",
    )
    next_number = models.PositiveIntegerField(null=True, blank=True)
    problem = models.BooleanField(
        default=False, help_text="The recorded history contradicts itself: a clinician checks."
    )
    flagged = models.BooleanField(
        default=False,
        help_text="A booked dose sits outside its window with no clinician's reason recorded.",
    )
    refreshed_on = models.DateField()

    class Meta:
        verbose_name = "course outlook"

    def __str__(self):
        return f"Outlook of course {self.course_id}: next due {self.next_due or '—'}"


class ProjectedDose(models.Model):
    """A dose the engine projects and nobody has booked yet, kept for the capacity forecast
    (issue 8), like `CourseOutlook`: derived, rewritten by `outlook.refresh_next_due` and the
    nightly pass, never edited. `on` is the engine's date (for an overdue dose, the next open
    day as of `CourseOutlook.refreshed_on`)."""

    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.CASCADE, related_name="projected_doses"
    )
    number = models.PositiveSmallIntegerField()
    on = models.DateField(db_index=True)
    due = models.DateField()
    window_end = models.DateField()
    overdue = models.BooleanField(default=False)

    class Meta:
        verbose_name = "projected dose"
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="projected_dose_once")
        ]

    def __str__(self):
        return f"Course {self.course_id} dose {self.number} projected {self.on}"
