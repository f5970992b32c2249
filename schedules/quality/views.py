"""The Quality page and the CSV exports (issue 21)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from schedules.models import Unit
from schedules.quality import exports, measures
from schedules.quality.charts import column_chart
from schedules.quality.forms import PeriodForm
from schedules.quality.models import ExportRecord

# The page is for everyone who may see the unit's bookings (nurse, clinician, admin); the
# exports carry patient-level rows and are for clinicians and admins (issue 21).
view_permission = permission_required("schedules.view_booking", raise_exception=True)
export_permission = permission_required("quality.export_quality_data", raise_exception=True)


def _period_form(request) -> PeriodForm:
    return PeriodForm(request.GET or None, today=timezone.localdate())


@login_required
@view_permission
@require_safe
def quality(request):
    form = _period_form(request)
    today = form.today
    if form.is_bound and not form.is_valid():
        return render(request, "schedules/quality/quality.html", {"form": form}, status=400)
    period = form.period if form.is_bound else measures.default_period(today)
    report = measures.quality_report(period, today=today)
    return render(
        request,
        "schedules/quality/quality.html",
        {
            "form": form,
            "report": report,
            "total": report.total,
            "charts": charts_for(report),
            "phases": [
                ("Loading", report.total.loading),
                ("Maintenance", report.total.maintenance),
            ],
            "can_export": request.user.has_perm("quality.export_quality_data"),
            "export_kinds": ExportRecord.Kind.choices,
            "query": f"start={period.first.isoformat()}&end={period.last.isoformat()}",
        },
    )


@login_required
@export_permission
@require_safe
def export(request, kind: str):
    if kind not in ExportRecord.Kind.values:
        raise Http404("No such export.")
    form = _period_form(request)
    if form.is_bound and not form.is_valid():
        errors = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    period = form.period if form.is_bound else measures.default_period(form.today)
    built = exports.build_export(kind, period, unit=Unit.current(), today=form.today)
    exports.record_export(kind=kind, period=period, rows=len(built.rows), exported_by=request.user)
    response = HttpResponse(built.csv_text(), content_type="text/csv; charset=utf-8")
    filename = f"tofersen-{kind}-{period.first.isoformat()}-to-{period.last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# Charts --------------------------------------------------------------------------------------


def _points(report, read) -> list[tuple[str, str, float | None]]:
    points = []
    for index, month in enumerate(report.months):
        first = month.period.first
        year = first.strftime("%Y") if index == 0 or first.month == 1 else ""
        points.append((first.strftime("%b"), year, read(month)))
    return points


def _lowest(report, read) -> str:
    known = [(read(m), m.period.label) for m in report.months if read(m) is not None]
    if len(known) < 2:
        return ""
    value, label = min(known)
    return f" The lowest month was {label} at {value:g}%."


def _sentence(share, what: str, reference: str = "") -> str:
    """ "75% (3 of 4) of doses … (published: 92%)." or, with nothing to count, says so."""
    published = f" (published: {reference})" if reference else ""
    if not share.total:
        return f"Nothing to count in this period{published}."
    return f"{share} {what}{published}."


def charts_for(report: measures.QualityReport) -> list:
    total = report.total

    def on_time(m):
        return m.doses_on_time.percent

    def lp(m):
        return m.lumbar_puncture.success.percent

    def plph(m):
        return m.plph.percent

    def used(m):
        return m.utilisation.percent

    on_time_share = total.doses_on_time
    lp_share = total.lumbar_puncture.success
    low, high = measures.REFERENCE_LP_SUCCESS
    attendance = [(code, label, count) for code, label, count in total.attendance_rows]
    return [
        column_chart(
            slug="on-time",
            title="Doses given within the unit's window, by month",
            summary=_sentence(
                on_time_share,
                "of doses with an interval were given within the unit's window",
                "92% of nusinersen doses on time",
            )
            + _lowest(report, on_time),
            points=_points(report, on_time),
            maximum=100,
            references=(
                (measures.REFERENCE_DOSES_ON_TIME,) * 2
                + ("Published 92%: adult nusinersen doses on time, nine US centres",),
            ),
            value_heading="Doses within the window",
        ),
        column_chart(
            slug="lumbar-puncture",
            title="Lumbar puncture success, by month",
            summary=_sentence(
                lp_share, "of lumbar punctures ended with the dose given", "96.8–100%"
            )
            + _lowest(report, lp),
            points=_points(report, lp),
            maximum=100,
            references=((low, high, "Published 96.8–100%: success with triage or image guidance"),),
            value_heading="Successful lumbar punctures",
        ),
        column_chart(
            slug="plph",
            title="Post-lumbar-puncture headache per injection, by month",
            summary=_sentence(
                total.plph,
                "of injections were followed by a post-lumbar-puncture headache, "
                f"{total.blood_patch_referrals.count} referred for a blood patch",
                "2.2% needing treatment",
            ),
            points=_points(report, plph),
            references=(
                (measures.REFERENCE_PLPH_TREATED,) * 2
                + ("Published 2.2%: injections followed by a headache needing treatment",),
            ),
            value_heading="Headaches per injection",
        ),
        column_chart(
            slug="attendance",
            title="Appointments by attendance code (NHS Data Dictionary)",
            summary=_attendance_sentence(total),
            points=[(code or "—", "", count) for code, _, count in attendance],
            unit="",
            value_heading="Appointments",
            row_labels=[f"{code or '—'}: {label}" for code, label, _ in attendance],
        ),
        column_chart(
            slug="utilisation",
            title="Places booked, by month",
            summary=_sentence(
                total.utilisation, "of the period's places were booked and not cancelled"
            )
            + _lowest(report, used),
            points=_points(report, used),
            maximum=100,
            value_heading="Places booked",
        ),
    ]


def _attendance_sentence(total) -> str:
    counts = total.attendance
    seen = counts.get("5", 0) + counts.get("6", 0)
    due = seen + sum(counts.get(code, 0) for code in ("7", "3"))
    if not due:
        return "No appointments fell due in this period."
    return (
        f"{seen} of {due} appointments that fell due were attended and seen "
        f"({round(100 * seen / due, 1):g}%); {counts.get('3', 0)} did not attend; cancelled: "
        f"{counts.get('2', 0)} for the patient, {counts.get('4', 0)} by the unit."
    )
