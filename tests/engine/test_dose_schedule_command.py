"""`manage.py dose_schedule` (DESIGN.md §4): the engine's plan on the command line.

No database. Happy paths run in process through call_command; bad input runs the real
command line in a subprocess, because what matters there is the exit status and that stderr
holds one readable line and no traceback.
"""

import json
import subprocess
import sys
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import frozen

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "dose_schedule", *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def schedule(*arguments: str) -> str:
    out = StringIO()
    call_command("dose_schedule", *arguments, stdout=out)
    return out.getvalue()


def test_json_for_a_known_history():
    output = schedule(
        "--start=2026-01-05",
        "--given=1=2026-01-05",
        "--given=2=2026-01-22",
        "--booked=3=2026-02-05",
        "--today=2026-01-25",
        "--count=5",
        "--json",
    )

    assert json.loads(output) == [
        {
            "number": 1,
            "phase": "loading",
            "due": "2026-01-05",
            "state": "given",
            "date": "2026-01-05",
            "window_start": "2026-01-05",
            "window_end": "2026-01-12",
        },
        {
            "number": 2,
            "phase": "loading",
            "due": "2026-01-19",
            "state": "given",
            "date": "2026-01-22",
            "window_start": "2026-01-19",
            "window_end": "2026-01-26",
        },
        {
            "number": 3,
            "phase": "loading",
            "due": "2026-02-05",
            "state": "booked",
            "date": "2026-02-05",
            "window_start": "2026-02-05",
            "window_end": "2026-02-12",
        },
        {
            "number": 4,
            "phase": "maintenance",
            "due": "2026-03-05",
            "state": "due",
            "date": "2026-03-05",
            "window_start": "2026-03-05",
            "window_end": "2026-03-12",
        },
        {
            "number": 5,
            "phase": "maintenance",
            "due": "2026-04-02",
            "state": "planned",
            "date": "2026-04-02",
            "window_start": "2026-04-02",
            "window_end": "2026-04-09",
        },
    ]


def test_overdue_dose_in_json():
    output = schedule(
        "--start", "2026-01-05", "--given", "1=2026-01-05", "--today", "2026-02-01", "--json"
    )

    doses = json.loads(output)
    assert len(doses) == 13
    assert doses[1] == {
        "number": 2,
        "phase": "loading",
        "due": "2026-01-19",
        "state": "overdue",
        "date": "2026-02-01",
        "window_start": "2026-01-19",
        "window_end": "2026-01-26",
    }
    assert doses[2]["due"] == "2026-02-15"


def test_text_table_is_readable():
    output = schedule(
        "--start=2026-01-05",
        "--given=1=2026-01-05",
        "--booked=2=2026-01-30",
        "--today=2026-01-10",
        "--count=4",
    )

    lines = output.splitlines()
    assert lines[0] == "Course starting 2026-01-05, as of 2026-01-10:"
    assert lines[1].split() == ["Dose", "Phase", "Due", "State", "Date", "Window"]
    assert lines[2].split() == [
        "1", "loading", "2026-01-05", "given", "2026-01-05", "2026-01-05", "to", "2026-01-12"
    ]  # fmt: skip
    assert lines[3].split()[:5] == ["2", "loading", "2026-01-19", "booked", "2026-01-30"]
    assert lines[3].endswith("outside window")  # 11 days after due: a nurse should see it
    assert lines[4].split()[:5] == ["3", "loading", "2026-02-13", "due", "2026-02-13"]
    assert lines[5].split()[:5] == ["4", "maintenance", "2026-03-13", "planned", "2026-03-13"]
    assert len(lines) == 6


def test_count_defaults_to_13():
    output = schedule("--start=2026-01-05", "--today=2026-01-05", "--json")

    assert [dose["number"] for dose in json.loads(output)] == list(range(1, 14))


@pytest.mark.parametrize(
    ("now", "today"),
    [
        # 23:30 UTC is still the same day in London in winter (GMT)...
        pytest.param(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "2026-03-28", id="winter"),
        # ...but already tomorrow in summer (BST), the night before the October change.
        pytest.param(datetime(2026, 10, 24, 23, 30, tzinfo=UTC), "2026-10-25", id="summer"),
    ],
)
def test_today_defaults_to_the_date_in_london(now, today):
    with frozen(now):
        output = schedule("--start=2026-01-05", "--count=1")

    assert output.splitlines()[0] == f"Course starting 2026-01-05, as of {today}:"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--start=2026-02-30"], "not a real date", id="impossible date"),
        pytest.param(["--start=5 Jan 2026"], "YYYY-MM-DD", id="date in another format"),
        pytest.param(["--start=2026-01-05", "--given=1"], "N=YYYY-MM-DD", id="missing date"),
        pytest.param(
            ["--start=2026-01-05", "--given=one=2026-01-05"], "whole number", id="word for N"
        ),
        pytest.param(
            ["--start=2026-01-05", "--given=1=2026-13-01"], "not a real date", id="month 13"
        ),
        pytest.param(
            ["--start=2026-01-05", "--given=1=2026-01-05", "--given=1=2026-01-19"],
            "listed twice",
            id="same dose twice",
        ),
        pytest.param(
            ["--start=2026-01-05", "--given=2=2026-01-19"],
            "dose 1 is not",
            id="dose numbers out of order",
        ),
        pytest.param(
            ["--start=2026-01-05", "--given=1=2026-01-10", "--given=2=2026-01-08"],
            "not after dose 1",
            id="given before the previous dose",
        ),
        pytest.param(
            ["--start=2026-01-05", "--given=1=2026-01-01"],
            "before the course start",
            id="given before start",
        ),
        pytest.param(
            ["--start=2026-01-05", "--given=1=2026-01-05", "--booked=1=2026-01-19"],
            "already given",
            id="booked a given dose",
        ),
        pytest.param(["--start=2026-01-05", "--count=0"], "at least 1", id="count 0"),
        pytest.param(["--start=2026-01-05", "--count=-4"], "at least 1", id="negative count"),
        pytest.param(["--start=2026-01-05", "--count=many"], "whole number", id="count a word"),
    ],
)
def test_bad_input_is_refused(arguments, message):
    with pytest.raises(CommandError, match=message):
        schedule(*arguments, "--today=2026-02-01")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--start", "2026-02-30"], "not a real date", id="impossible date"),
        pytest.param(["--start", "2026-01-05", "--given", "1"], "N=YYYY-MM-DD", id="no date"),
        pytest.param(
            ["--start", "2026-01-05", "--given", "x=2026-01-05"],
            "whole number",
            id="non-numeric dose number",
        ),
        pytest.param(
            ["--start", "2026-01-05", "--given", "2=2026-01-19"],
            "dose 1 is not",
            id="dose numbers out of order",
        ),
        pytest.param(
            ["--start", "2026-01-05", "--given", "1=2026-01-10", "--given", "2=2026-01-08"],
            "not after dose 1",
            id="given before the previous dose",
        ),
        pytest.param(["--start", "2026-01-05", "--count", "0"], "at least 1", id="count 0"),
        pytest.param(["--start", "2026-01-05", "--count", "-1"], "at least 1", id="count -1"),
        pytest.param(
            ["--start", "9999-12-01"], "too far from today to plan", id="end of the calendar"
        ),
    ],
)
def test_command_line_errors_are_one_line_without_traceback(arguments, message):
    result = run(*arguments, "--today", "2026-02-01")

    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("CommandError: ")
    assert message in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--start", "2026-01-05", "--bogus"], "unrecognized arguments: --bogus"),
        pytest.param([], "required: --start"),
    ],
    ids=["unknown option", "no start"],
)
def test_usage_errors_exit_non_zero_without_traceback(arguments, message):
    result = run(*arguments)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr.splitlines()[-1]


def test_command_line_happy_path():
    result = run(
        "--start", "2026-01-05", "--given", "1=2026-01-05", "--today", "2026-01-06",
        "--count", "2", "--json",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert [
        (dose["number"], dose["state"], dose["date"]) for dose in json.loads(result.stdout)
    ] == [
        (1, "given", "2026-01-05"),
        (2, "due", "2026-01-19"),
    ]
