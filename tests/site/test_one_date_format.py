"""One date format on every page (issue 10): "Thu 26 Nov 2026", through the `|day` filter;
and forms leave it to the server's error summary to say what is missing, not the browser."""

import re
from datetime import date
from pathlib import Path

from django.urls import reverse

from schedules import services
from schedules.models import CourseEvent
from tests.factories import MONDAY

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# The Today flow board's templates are rebuilt elsewhere (issue 10, item 1).
ELSEWHERE = {"schedules/day.html"}
# A day written by hand: a day-of-month or weekday format character in a |date filter.
DAY_BY_HAND = re.compile(r"""\|date:\s*["'][^"']*[jdDl][^"']*["']""")


def test_no_template_writes_a_day_by_hand():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        name = path.relative_to(TEMPLATES).as_posix()
        if name in ELSEWHERE or name.startswith("schedules/visit/"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            # A date in a URL (?week=2026-03-02) is for machines, and a month grid's day
            # number ("12", its link labelled with the whole day) is layout.
            for match in DAY_BY_HAND.finditer(line):
                if match.group(0) not in ("|date:'Y-m-d'", '|date:"Y-m-d"', '|date:"j"'):
                    offenders.append(f"{name}:{number}: {match.group(0)}")
    assert offenders == []


def test_hold_banner_and_clinical_history_use_the_one_format(
    clinician_client, patient, clinician, unit, clock
):
    clock(MONDAY, 10)
    course = services.start_course(
        patient=patient, start_date=date(2026, 3, 2), started_by=clinician
    )
    services.record_adverse_event(
        course=course,
        term="myelitis",
        onset=date(2026, 3, 2),
        serious=True,
        recorded_by=clinician,
        severity="severe",
        relation="drug",
        outcome="ongoing",
    )
    page = clinician_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    banner = page.split("data-hold")[1].split("</div>")[0]
    assert "since Mon 2 Mar 2026" in banner
    assert course.events.filter(kind=CourseEvent.Kind.HOLD).exists()
    assert "from Mon 2 Mar 2026" in page
    assert " 2 Mar 2026 10:00" not in page


def test_forms_leave_missing_fields_to_the_servers_error_summary(clinician_client, patient):
    page = clinician_client.get(reverse("courses:start", args=[patient.pk])).content.decode()
    assert re.search(r"<form[^>]*\bnovalidate\b", page)

    response = clinician_client.post(
        reverse("courses:start", args=[patient.pk]), {"start_date": ""}
    )

    assert 'class="alert alert-danger error-summary"' in response.content.decode()
