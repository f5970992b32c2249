"""Notify's delivery receipts at POST /notify/callback/ (issue 18 §6)."""

import json

import pytest

from schedules.messaging import sending
from schedules.messaging.models import Message

TOKEN = "callback-secret-0123456789abcdef"


@pytest.fixture
def sent(visit, notify, settings):
    settings.NOTIFY_CALLBACK_TOKEN = TOKEN
    sending.send_due()
    return Message.objects.get(kind="booked")


def receipt(client, message, status, *, token=TOKEN, provider_id=None):
    return client.post(
        "/notify/callback/",
        json.dumps(
            {
                "id": provider_id or message.provider_id,
                "reference": str(message.pk),
                "to": "+447911123456",
                "status": status,
                "notification_type": "sms",
            }
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"} if token is not None else {},
    )


@pytest.mark.parametrize("token", [None, "wrong", TOKEN + "x", "", TOKEN[:-1]])
def test_a_wrong_or_missing_token_is_401_with_no_body(client, sent, token):
    response = receipt(client, sent, "delivered", token=token)
    assert response.status_code == 401
    assert response.content == b""
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_no_token_configured_accepts_nothing(client, sent, settings):
    settings.NOTIFY_CALLBACK_TOKEN = ""
    assert receipt(client, sent, "delivered", token="").status_code == 401


def test_delivered_is_recorded_and_a_repeat_changes_nothing(client, sent):
    assert receipt(client, sent, "delivered").status_code == 204
    sent.refresh_from_db()
    first = sent.status_at
    assert sent.status == "delivered"
    assert receipt(client, sent, "delivered").status_code == 204
    sent.refresh_from_db()
    assert sent.status == "delivered" and sent.status_at == first


def test_receipts_out_of_order_never_move_a_status_backwards(client, sent):
    receipt(client, sent, "delivered")
    receipt(client, sent, "sending")  # late
    receipt(client, sent, "permanent-failure")  # a final answer does not replace another
    sent.refresh_from_db()
    assert sent.status == "delivered"


def test_a_bounce_puts_the_patient_on_fix_contact_details(client, sent, nurse_client):
    receipt(client, sent, "sending")
    receipt(client, sent, "permanent-failure")
    sent.refresh_from_db()
    assert sent.status == "permanent_failure"
    page = nurse_client.get("/messages/").content.decode()
    assert "the number or address does not exist" in page


def test_a_receipt_for_another_notification_is_not_applied(client, sent):
    response = receipt(client, sent, "delivered", provider_id="someone-elses-id")
    assert response.status_code == 404
    sent.refresh_from_db()
    assert sent.status == "sent"


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"status": "delivered"}', b'{"status": "x", "reference": "1"}']
)
def test_a_malformed_receipt_is_400_not_500(client, sent, body):
    response = client.post(
        "/notify/callback/",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 400


def test_only_post(client, sent):
    assert client.get("/notify/callback/").status_code == 405
