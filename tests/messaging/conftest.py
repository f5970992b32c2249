"""Fixtures for the messages to patients (issue 18): the Notify stand-in reached by the real
client, a patient who agreed to text reminders, and a visit booked ten days ahead."""

from datetime import date, timedelta

import pytest

from schedules import services
from tests.factories import MONDAY, frozen, make_course, make_patient, make_slot
from tests.support.notify_standin import API_KEY, NotifyStandIn

VISIT_DAY = MONDAY + timedelta(days=10)  # Thu 12 Mar 2026
MOBILE = "+447911123456"


@pytest.fixture
def notify(settings):
    standin = NotifyStandIn().start()
    settings.NOTIFY_API_KEY = API_KEY
    settings.NOTIFY_BASE_URL = standin.url
    settings.NOTIFY_SMS_TEMPLATE_ID = "11111111-1111-4111-8111-111111111111"
    settings.NOTIFY_EMAIL_TEMPLATE_ID = "22222222-2222-4222-8222-222222222222"
    settings.NOTIFY_LETTER_TEMPLATE_ID = "33333333-3333-4333-8333-333333333333"
    settings.NOTIFY_TIMEOUT_SECONDS = 5
    yield standin
    standin.stop()


@pytest.fixture
def frozen_monday():
    with frozen(MONDAY, 8) as traveller:
        yield traveller


def texting_patient(hospital_number="H100001", **fields):
    return make_patient(
        hospital_number,
        mobile_phone=MOBILE,
        preferred_channel="sms",
        reminders_agreed_on=date(2026, 1, 5),
        **fields,
    )


@pytest.fixture
def visit(unit, nurse, clock):
    """Dose 1 of a texting patient booked for Thu 12 Mar 2026 09:00, on Mon 2 Mar 08:00."""
    clock(MONDAY, 8)
    course = make_course(texting_patient(), start=VISIT_DAY)
    slot = make_slot(unit, VISIT_DAY, 9)
    return services.book_dose_number(course=course, number=1, slot=slot, booked_by=nurse)
