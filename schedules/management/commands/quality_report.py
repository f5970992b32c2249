"""How well the service runs, for a period: the numbers of the Quality page (issue 21).

    python manage.py quality_report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]

Without dates: the last twelve whole months and this month so far (as the page). With
`--json`: `{"period": {...}, "months": [...], "courses_not_timed": n, "references": {...}}`,
each period's measures as `schedules.quality.measures.Summary.as_dict` names them.
"""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from schedules.models import Unit, UnitMissing
from schedules.quality import measures


def _date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name}: expected a date as YYYY-MM-DD, got {value!r}.") from None


class Command(BaseCommand):
    help = "Quality measures for a period (doses on time, attendance, lumbar puncture, safety)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="last", help="Last day, YYYY-MM-DD.")
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args, first, last, json: bool, **options):
        today = timezone.localdate()
        default = measures.default_period(today)
        try:
            period = measures.check_period(
                _date("from", first) or default.first, _date("to", last) or default.last
            )
            unit = Unit.current()
        except (ValueError, UnitMissing) as error:
            raise CommandError(str(error)) from None
        report = measures.quality_report(period, today=today, unit=unit)
        if json:
            self.stdout.write(dumps(report.as_dict()))
            return
        total = report.total
        lines = [
            f"Quality, {period}",
            f"Doses given: {total.doses_given}",
            f"Doses on time (unit's window): {total.doses_on_time}",
        ]
        for name, phase in (("Loading", total.loading), ("Maintenance", total.maintenance)):
            lines.append(
                f"  {name}: {phase.doses} doses; actual interval {phase.actual} days; "
                f"from due {phase.from_due}; within window {phase.within_window}; "
                f"within ±7 days {phase.within_grace}"
            )
        lp = total.lumbar_puncture
        lines += [
            f"Patients with every dose on time: {total.patients_all_on_time}",
            "Attendance (NHS Data Dictionary): "
            + ", ".join(
                f"{code or 'not recorded'}: {count}" for code, _, count in total.attendance_rows
            ),
            f"Lumbar puncture success: {lp.success}; first attempt {lp.first_attempt}; "
            f"after retry {lp.after_retry}; image-guided {lp.image_guided}",
            "Not given: " + (", ".join(f"{k}: {v}" for k, v in lp.not_given.items()) or "none"),
            f"PLPH per injection: {total.plph}; "
            f"blood-patch referrals {total.blood_patch_referrals}",
            f"Serious events: {total.serious_events} in {total.patient_years} patient-years "
            f"({total.serious_per_patient_year} per patient-year); patients with a serious "
            f"neurological event {total.serious_neurological_patients}",
            f"Holds raised: {total.holds_raised} ({total.holds_ended} ended, "
            f"{total.holds_open} open); days on hold {total.hold_days}",
            f"Notice (days): {total.notice_days}; under 7 days {total.notice_under_7_days}",
            f"Places booked: {total.utilisation}",
        ]
        if report.unplanned_courses:
            lines.append(f"Courses left out of dose timing: {report.unplanned_courses}")
        self.stdout.write("\n".join(lines))


def dumps(value) -> str:
    return json.dumps(value, indent=2)
