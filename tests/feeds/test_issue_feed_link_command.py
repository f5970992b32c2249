"""`manage.py issue_feed_link HOSPITAL_NUMBER` (DESIGN §4)."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command, execute_from_command_line
from django.db import connections

from patients.models import FeedToken


@pytest.fixture
def keep_test_database_open(monkeypatch):
    """run_from_argv closes every connection when it ends, as a real process would."""
    monkeypatch.setattr(connections, "close_all", lambda: None)


def test_prints_a_working_feed_url_and_revokes_the_old_one(client, patient):
    first, second = StringIO(), StringIO()
    call_command("issue_feed_link", "H100001", stdout=first)
    call_command("issue_feed_link", " H100001 ", stdout=second)

    old_url, new_url = first.getvalue().strip(), second.getvalue().strip()
    assert new_url.startswith(settings.SITE_URL + "/feeds/") and new_url.endswith(".ics")
    assert "\n" not in new_url
    path = new_url.removeprefix(settings.SITE_URL)
    assert client.get(path).status_code == 200
    assert client.get(old_url.removeprefix(settings.SITE_URL)).status_code == 404
    assert FeedToken.objects.active().filter(patient=patient).count() == 1


@pytest.mark.parametrize("number", ["NOPE", "", "   ", "H100001'; --"])
def test_unknown_number_is_a_one_line_error(patient, capsys, number, keep_test_database_open):
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "issue_feed_link", number])

    assert exit_info.value.code != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("CommandError: No patient with hospital number")
    assert "Traceback" not in captured.err
    assert not FeedToken.objects.exists()


def test_missing_argument_is_a_usage_error(db, capsys, keep_test_database_open):
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "issue_feed_link"])
    assert exit_info.value.code != 0
    assert "Traceback" not in capsys.readouterr().err
