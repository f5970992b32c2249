"""The Quality page and the quality_report command: who may see it, what it says, bad input,
its query bound, and that the page and the command print the same numbers."""

import json
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.quality.conftest import TODAY, at

URL = reverse("quality:page")
PERIOD = {"start": "2026-01-01", "end": "2026-02-28"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(at(TODAY, 12), tick=False):
        yield


def test_a_nurse_reads_the_page_without_exports(client, nurse, hand_unit):
    client.force_login(nurse)
    response = client.get(URL, PERIOD)
    assert response.status_code == 200
    page = response.content.decode()
    assert "75% (3 of 4) of doses with an interval were given within the unit" in page
    assert "Published 92%" in page and "Published 96.8–100%" in page
    assert "Published 2.2%" in page
    assert "85.7% (6 of 7) of lumbar punctures ended with the dose given" in page
    # Every chart has its data table.
    assert page.count('<svg class="chart"') == page.count("Data table:") == 5
    assert 'id="exports"' not in page


def test_a_clinician_is_offered_the_exports_for_the_period(client, clinician, hand_unit):
    client.force_login(clinician)
    page = client.get(URL, PERIOD).content.decode()
    link = reverse("quality:export", args=["attendance"]) + "?start=2026-01-01&amp;end=2026-02-28"
    assert link in page


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-02-30"}, "Enter the start as a date"),
        ({"end": "yesterday"}, "Enter the end as a date"),
        ({"start": "2026-03-01", "end": "2026-01-01"}, "must be on or before its end"),
        ({"start": "1990-01-01", "end": "2026-01-01"}, "five years or less"),
        ({"start": "0001-01-01"}, "From:"),
        ({"start": "<script>alert(1)</script>"}, "Enter the start as a date"),
    ],
)
def test_a_bad_period_says_what_is_wrong(nurse_client, query, message):
    response = nurse_client.get(URL, query)
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page and message in page
    assert "<script>alert(1)" not in page


def test_the_page_costs_a_fixed_number_of_queries(
    nurse_client, hand_unit, django_assert_num_queries
):
    """Sign-in and permissions (4), the unit (2), then one query per kind of fact, whatever
    the number of patients, doses or months; the open days (3) for projecting overdue doses."""
    with django_assert_num_queries(22):
        assert nurse_client.get(URL, PERIOD).status_code == 200
    # Twice the period, the same queries: months are summarised from the facts in memory.
    with django_assert_num_queries(22):
        assert (
            nurse_client.get(URL, {"start": "2025-11-01", "end": "2026-03-15"}).status_code == 200
        )


def test_the_page_and_the_command_print_the_same_numbers(nurse_client, hand_unit):
    report = nurse_client.get(URL, PERIOD).context["report"]
    out = StringIO()
    call_command(
        "quality_report", "--from", "2026-01-01", "--to", "2026-02-28", "--json", stdout=out
    )
    printed = json.loads(out.getvalue())
    assert printed == json.loads(json.dumps(report.as_dict()))
    assert printed["period"]["doses_on_time"] == {"count": 3, "total": 4, "percent": 75.0}
    assert [month["doses_given"] for month in printed["months"]] == [4, 2]
    assert printed["period"]["attendance"]["7"] == 1


def test_the_command_in_words(hand_unit):
    out = StringIO()
    call_command("quality_report", "--from", "2026-01-01", "--to", "2026-02-28", stdout=out)
    text = out.getvalue()
    assert "Doses on time (unit's window): 75% (3 of 4)" in text
    assert "Places booked: 45.5% (10 of 22)" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-02-30"], "--from: expected a date as YYYY-MM-DD, got '2026-02-30'."),
        (["--to", "soon"], "--to: expected a date as YYYY-MM-DD, got 'soon'."),
        (["--from", "2026-03-01", "--to", "2026-01-01"], "must be on or before its end"),
    ],
)
def test_the_command_refuses_a_bad_period_in_one_line(db, args, message):
    with pytest.raises(CommandError) as raised:
        call_command("quality_report", *args)
    assert message in str(raised.value) and "\n" not in str(raised.value)
