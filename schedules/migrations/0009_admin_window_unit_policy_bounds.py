"""The clinical bounds of the unit's booking policy (issue 17 §7): at most 3 days before due,
flagged within 14 days after.

A unit already outside them is CLAMPED, not refused: clamping only narrows the window (more
bookings then need a clinician's reason), which is the safe direction, and refusing would stop
the deployment of every other safety fix. The change is not silent: the unit's history gets a
row saying so (who: nobody, reason: this migration), and the migration prints a note naming
the unit and the old and new values. Existing bookings are left as they are; any booking
outside the narrower window shows flagged, as for any booking a clinician made outside it.
"""

import django.core.validators
from django.db import migrations, models
from django.utils import timezone

BOOK_EARLY_MAX_DAYS = 3
FLAG_LATE_MAX_DAYS = 14
REASON = "Policy clamped to the clinical bounds by migration 0009 (issue 17)"


def clamp_policy(apps, schema_editor):
    Unit = apps.get_model("schedules", "Unit")
    HistoricalUnit = apps.get_model("schedules", "HistoricalUnit")
    fields = [field.attname for field in Unit._meta.concrete_fields]
    for unit in Unit.objects.filter(
        models.Q(book_early_days__gt=BOOK_EARLY_MAX_DAYS)
        | models.Q(flag_late_days__gt=FLAG_LATE_MAX_DAYS)
    ):
        old = (unit.book_early_days, unit.flag_late_days)
        unit.book_early_days = min(unit.book_early_days, BOOK_EARLY_MAX_DAYS)
        unit.flag_late_days = min(unit.flag_late_days, FLAG_LATE_MAX_DAYS)
        unit.save(update_fields=["book_early_days", "flag_late_days"])
        HistoricalUnit.objects.create(
            **{name: getattr(unit, name) for name in fields},
            history_date=timezone.now(),
            history_type="~",
            history_change_reason=REASON,
        )
        print(  # noqa: T201 - the note an upgrade must show
            f"\n  Unit {unit.name!r}: booking policy clamped to the clinical bounds "
            f"(may book days before due {old[0]} -> {unit.book_early_days}; flag late after "
            f"{old[1]} -> {unit.flag_late_days} days). See the unit's history in the admin."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("schedules", "0008_booking_cancelled_by_no_show"),
    ]

    operations = [
        migrations.RunPython(clamp_policy, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="historicalunit",
            name="book_early_days",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="0 to 3. Unit policy (DESIGN §2): the labels give no tolerance window, so the default never books a dose before it is due; the clinical bound is 3 days. Earlier needs a clinician's override with a reason.",
                validators=[django.core.validators.MaxValueValidator(3)],
                verbose_name="may book days before due",
            ),
        ),
        migrations.AlterField(
            model_name="historicalunit",
            name="flag_late_days",
            field=models.PositiveSmallIntegerField(
                default=7,
                help_text="0 to 14. Unit policy (DESIGN §2; the labels give no tolerance): bookings more than this many days after due are flagged and need a clinician; the clinical bound is 14 days (half a maintenance interval).",
                validators=[django.core.validators.MaxValueValidator(14)],
                verbose_name="flag when later than (days)",
            ),
        ),
        migrations.AlterField(
            model_name="unit",
            name="book_early_days",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="0 to 3. Unit policy (DESIGN §2): the labels give no tolerance window, so the default never books a dose before it is due; the clinical bound is 3 days. Earlier needs a clinician's override with a reason.",
                validators=[django.core.validators.MaxValueValidator(3)],
                verbose_name="may book days before due",
            ),
        ),
        migrations.AlterField(
            model_name="unit",
            name="flag_late_days",
            field=models.PositiveSmallIntegerField(
                default=7,
                help_text="0 to 14. Unit policy (DESIGN §2; the labels give no tolerance): bookings more than this many days after due are flagged and need a clinician; the clinical bound is 14 days (half a maintenance interval).",
                validators=[django.core.validators.MaxValueValidator(14)],
                verbose_name="flag when later than (days)",
            ),
        ),
        migrations.AddConstraint(
            model_name="unit",
            constraint=models.CheckConstraint(
                condition=models.Q(("book_early_days__lte", 3)),
                name="unit_book_early_days_within_clinical_bound",
                violation_error_message="A dose may be booked at most 3 days before it is due (unit policy's clinical bound).",
            ),
        ),
        migrations.AddConstraint(
            model_name="unit",
            constraint=models.CheckConstraint(
                condition=models.Q(("flag_late_days__lte", 14)),
                name="unit_flag_late_days_within_clinical_bound",
                violation_error_message="Late bookings must be flagged within 14 days of due (unit policy's clinical bound).",
            ),
        ),
    ]
