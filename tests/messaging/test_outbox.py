"""The outbox is written by the services in the change's own transaction (issue 18 §2)."""

from datetime import date, timedelta

import pytest

from schedules import services
from schedules.courses import services as course_services
from schedules.messaging.models import Message
from schedules.models import Booking
from schedules.visits import services as visit_services
from tests.factories import at, make_course, make_patient, make_slot
from tests.messaging.conftest import VISIT_DAY, texting_patient


def kinds(**filters):
    return sorted(
        (m.kind, m.days_before or 0, m.status)
        for m in Message.objects.filter(**filters).order_by("pk")
    )


def test_booking_writes_the_notice_and_the_two_reminders(visit):
    messages = {(m.kind, m.days_before): m for m in Message.objects.filter(booking=visit)}
    assert set(messages) == {("booked", None), ("reminder", 7), ("reminder", 2)}
    assert messages[("reminder", 7)].send_after == at(VISIT_DAY - timedelta(days=7), 10)
    assert messages[("reminder", 2)].send_after == at(VISIT_DAY - timedelta(days=2), 10)
    booked = messages[("booked", None)]
    assert booked.channel == "sms" and booked.status == "pending"
    assert "Thu 12 Mar 2026 at 09:00" in booked.body
    assert "020 7946 0000" in booked.body


def test_a_booking_inside_the_window_gets_its_reminder_now(unit, nurse, clock):
    clock(VISIT_DAY - timedelta(days=3), 8)
    course = make_course(texting_patient(), start=VISIT_DAY)
    booking = services.book_dose_number(
        course=course, number=1, slot=make_slot(unit, VISIT_DAY, 9), booked_by=nurse
    )
    reminders = Message.objects.filter(booking=booking, kind="reminder").order_by("days_before")
    assert [(m.days_before, m.send_after) for m in reminders] == [
        (2, at(VISIT_DAY - timedelta(days=2), 10)),
        (7, at(VISIT_DAY - timedelta(days=3), 8)),  # due now: the nearest passed one
    ]


def test_a_refused_booking_writes_nothing(unit, nurse, frozen_monday):
    course = make_course(texting_patient(), start=VISIT_DAY)
    early = make_slot(unit, VISIT_DAY - timedelta(days=3), 9)
    with pytest.raises(services.BookingError):
        services.book_dose_number(course=course, number=1, slot=early, booked_by=nurse)
    assert not Message.objects.exists()


def test_replaying_a_booking_makes_no_second_message(visit, nurse):
    again = services.book_dose_number(
        course=visit.dose.course, number=1, slot=visit.slot, booked_by=nurse
    )
    assert again == visit
    assert Message.objects.filter(kind="booked").count() == 1


def test_no_agreement_no_messages(unit, nurse, frozen_monday):
    course = make_course(
        make_patient(mobile_phone="+447911123456", preferred_channel="sms"), start=VISIT_DAY
    )
    services.book_dose_number(
        course=course, number=1, slot=make_slot(unit, VISIT_DAY, 9), booked_by=nurse
    )
    assert not Message.objects.exists()


def test_cancelling_cancels_the_reminders_and_says_so(visit, nurse):
    services.cancel_booking(booking=visit, reason="Patient asked", cancelled_by=nurse)
    assert kinds() == [
        ("booked", 0, "cancelled"),  # not sent yet: "booked" then "cancelled" would confuse
        ("cancelled", 0, "pending"),
        ("reminder", 2, "cancelled"),
        ("reminder", 7, "cancelled"),
    ]


def test_moving_says_changed_and_moves_the_reminders(visit, unit, nurse):
    later = make_slot(unit, VISIT_DAY + timedelta(days=1), 9)
    moved = services.reschedule_booking(booking=visit, slot=later, rescheduled_by=nurse)
    assert kinds(booking=visit) == [
        ("booked", 0, "cancelled"),
        ("reminder", 2, "cancelled"),
        ("reminder", 7, "cancelled"),
    ]
    assert kinds(booking=moved) == [
        ("changed", 0, "pending"),
        ("reminder", 2, "pending"),
        ("reminder", 7, "pending"),
    ]
    assert "now on Fri 13 Mar 2026 at 09:00" in Message.objects.get(kind="changed").body


def test_did_not_attend_asks_the_patient_to_call(visit, nurse, clock):
    clock(VISIT_DAY, 13)
    visit_services.mark_no_show(booking=visit, marked_by=nurse)
    rebook = Message.objects.get(kind="rebook")
    assert rebook.booking == visit
    assert "Please call us on 020 7946 0000 to rebook" in rebook.body


def test_pausing_says_do_not_come_and_withdraws_the_reminders(visit, clinician):
    course_services.pause_course(
        course=visit.dose.course,
        on=date(2026, 3, 2),
        reason="side_effects",
        recorded_by=clinician,
    )
    assert Booking.objects.get(pk=visit.pk).status == "cancelled"
    hold = Message.objects.get(kind="hold")
    assert "do not come to your hospital appointments until we call you" in hold.body
    assert set(Message.objects.filter(kind="reminder").values_list("status", flat=True)) == {
        "cancelled"
    }


def test_a_hold_for_review_withdraws_the_reminders(visit, clinician):
    course_services._hold(
        visit.dose.course,
        reason="serious_event",
        reason_detail="Aseptic meningitis",
        recorded_by=clinician,
    )
    assert Message.objects.filter(kind="hold").count() == 1
    assert not Message.objects.filter(kind="reminder", status="pending").exists()
