"""What staff see (issue 18 §8): the Messages page, the banner, the patient's messages."""

from datetime import timedelta

from schedules.messaging import sending, sweep
from schedules.messaging.models import Message, WorkerHeartbeat
from tests.factories import MONDAY, at
from tests.messaging.conftest import VISIT_DAY

BANNER = "Messages to patients are not going out."


def test_the_nav_leads_nurses_to_messages(nurse_client, visit):
    page = nurse_client.get("/patients/").content.decode()
    assert 'href="/messages/">Messages</a>' in page


def test_the_page_shows_todays_sends_and_the_worker(nurse_client, visit, notify, clock):
    sweep.beat("task worker")
    sending.send_due()
    page = nurse_client.get("/messages/").content.decode()
    assert "Worker&#x27;s last heartbeat" in page or "Worker's last heartbeat" in page
    assert "Mon 2 Mar 2026, 08:00" in page
    assert '<tr><th scope="row">Sent</th><td>1</td></tr>' in page


def test_no_banner_while_sending_works(nurse_client, visit, clock):
    sweep.beat("task worker")
    assert BANNER not in nurse_client.get("/patients/").content.decode()


def test_banner_when_the_worker_is_silent_for_ten_minutes(nurse_client, visit, clock):
    sweep.beat("task worker")
    clock.shift(timedelta(minutes=10))
    assert BANNER not in nurse_client.get("/patients/").content.decode()
    clock.shift(timedelta(minutes=1))
    page = nurse_client.get("/patients/").content.decode()
    assert BANNER in page and "The worker has been silent since Mon 2 Mar 2026, 08:00" in page


def test_banner_when_a_reminder_waits_over_thirty_minutes(nurse_client, visit, clock):
    clock(VISIT_DAY - timedelta(days=7), 10, 30)
    sweep.beat("task worker")
    assert BANNER not in nurse_client.get("/patients/").content.decode()
    clock(VISIT_DAY - timedelta(days=7), 10, 31)
    sweep.beat("task worker")
    page = nurse_client.get("/patients/").content.decode()
    assert BANNER in page and "A reminder has been waiting since Thu 5 Mar 2026, 10:00" in page


def test_the_banner_costs_one_query(visit, clock, django_assert_num_queries):
    from schedules.messaging import selectors

    WorkerHeartbeat.objects.create(name="task worker", beat_at=at(MONDAY, 7))
    with django_assert_num_queries(1):
        health = selectors.health()
    assert health.worker_silent and health.last_heartbeat == at(MONDAY, 7)
    assert health.oldest_due is None


def test_the_patient_page_lists_the_messages(nurse_client, visit, notify):
    sending.send_due()
    page = nurse_client.get(f"/patients/{visit.dose.course.patient_id}/").content.decode()
    assert "Messages sent" in page
    assert "Booking made (text message)" in page and "Sent" in page


def test_someone_without_the_permission_gets_403(client, visit, django_user_model):
    user = django_user_model.objects.create_user("visitor", password="x" * 20)
    client.force_login(user)
    assert client.get("/messages/").status_code == 403


def test_the_admin_lists_the_outbox_read_only(admin_client, visit):
    page = admin_client.get("/admin/messaging/message/").content.decode()
    assert "Booking made" in page
    assert admin_client.get("/admin/messaging/message/add/").status_code == 403
    message = Message.objects.first()
    assert admin_client.get(f"/admin/messaging/message/{message.pk}/change/").status_code == 200
