"""The course as a picture (issue 10 item 3): the SVG on the patient page is laid out from the
engine's plan; late and early doses are flagged; pauses are drawn."""

from datetime import date
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.urls import reverse

from schedules import engine
from schedules.planning.course_svg import LEFT, RIGHT, course_timeline
from tests.factories import MONDAY, make_course

LONDON = ZoneInfo("Europe/London")
START = date(2026, 3, 2)


def test_doses_sit_on_the_axis_in_date_order_inside_their_windows():
    plan = engine.plan(start=START, today=START, count=5)
    picture = course_timeline(plan, today=START)
    xs = [mark.x for mark in picture.marks]
    assert xs == sorted(xs) and xs[0] >= LEFT and xs[-1] <= RIGHT
    for mark in picture.marks:
        assert mark.window_x <= mark.x <= mark.window_x + mark.window_width
    assert [p.label for p in picture.phases] == ["Loading", "Maintenance"]
    assert picture.today_x is not None
    assert picture.ticks[0].label == "Mar 2026"


def test_a_dose_given_after_its_window_is_flagged_late():
    given = {1: date(2026, 3, 2), 2: date(2026, 3, 30)}  # dose 2 due 16 Mar, window to 23 Mar
    plan = engine.plan(start=START, today=date(2026, 4, 1), given=given, count=4)
    picture = course_timeline(plan, today=date(2026, 4, 1))
    flags = {mark.number: mark.flag for mark in picture.marks}
    assert flags[1] == "" and flags[2] == "late"
    assert "late: window Mon 16 Mar 2026 – Mon 23 Mar 2026" in picture.marks[1].title


def test_a_pause_is_drawn_from_its_date_to_the_resume():
    plan = engine.plan(start=START, today=START, count=4)
    events = [
        SimpleNamespace(kind="pause", on=date(2026, 3, 10)),
        SimpleNamespace(kind="resume", on=date(2026, 3, 20)),
    ]
    picture = course_timeline(plan, today=START, events=events)
    assert len(picture.pauses) == 1
    assert picture.pauses[0].label == "Paused from Tue 10 Mar 2026"


def test_the_patient_page_draws_the_course(nurse_client, patient, clock):
    clock(MONDAY, 8)
    make_course(patient, start=START)
    page = nurse_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert '<figure class="course-timeline' in page
    assert "Dose 1 (loading): due Mon 2 Mar 2026" in page
    assert "<details" in page  # the window is on demand, not a column
