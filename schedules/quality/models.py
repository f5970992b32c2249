from django.conf import settings
from django.db import models


class ExportRecord(models.Model):
    """Who downloaded which export, when, for which period (issue 21 audit trail). Written
    once by `schedules.quality.exports.record_export`, never edited: read-only in the admin."""

    class Kind(models.TextChoices):
        DOSES = "doses", "Per-dose CSV"
        SAFETY = "safety", "Safety-study extract"
        ATTENDANCE = "attendance", "Attendance extract"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    period_start = models.DateField("period from")
    period_end = models.DateField("period to")
    rows = models.PositiveIntegerField("rows exported")
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    exported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-exported_at", "-pk"]
        verbose_name = "export record"
        permissions = [
            ("export_quality_data", "Can download the quality and safety exports"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.period_start} to {self.period_end}"
