"""The quality measures of the hand-made unit (tests/quality/conftest.py), counted by hand.

Period: 1 January to 28 February 2026; today is 15 March 2026. The unit's window is the
default: never before due, up to 7 days after.
"""

from datetime import date

import pytest

from schedules.quality.measures import Period, Share, Spread, quality_report
from tests.quality.conftest import TODAY

PERIOD = Period(date(2026, 1, 1), date(2026, 2, 28))


@pytest.fixture
def report(hand_unit):
    return quality_report(PERIOD, today=TODAY)


def test_doses_given_and_their_intervals(report):
    total = report.total
    # Given in the period: A1 5 Jan, A2 19 Jan, A3 6 Feb, B4 2 Jan, B5 13 Feb, C1 12 Jan = 6.
    assert total.doses_given == 6
    # Timed (not a course's first dose): A2, A3 (loading); B4, B5 (maintenance).
    # A2: 5 Jan → 19 Jan = 14 days, due 19 Jan (5 Jan + 14): 0 from due, in window, in ±7.
    # A3: 19 Jan → 6 Feb = 18 days, due 2 Feb (19 Jan + 14): +4, in window (to 9 Feb), in ±7.
    # Actual [14, 18]: median 16; inclusive quartiles 14 + ¼·4 = 15 and 14 + ¾·4 = 17.
    # From due [0, 4]: median 2, IQR 1–3.
    assert total.loading.doses == 2
    assert total.loading.actual == Spread(2, 16, 15, 17)
    assert total.loading.planned == Spread(2, 14, 14, 14)
    assert total.loading.from_due == Spread(2, 2, 1, 3)
    assert total.loading.within_window == Share(2, 2)
    assert total.loading.within_grace == Share(2, 2)
    # B4: 1 Dec → 2 Jan = 32 days, due 29 Dec (1 Dec + 28): +4, in window, in ±7.
    # B5: 2 Jan → 13 Feb = 42 days, due 30 Jan (2 Jan + 28): +14, out of window (to 6 Feb),
    # out of ±7 (the 30 Jan visit was missed).
    # Actual [32, 42]: median 37, IQR 34.5–39.5; from due [4, 14]: median 9, IQR 6.5–11.5.
    assert total.maintenance.doses == 2
    assert total.maintenance.actual == Spread(2, 37, 34.5, 39.5)
    assert total.maintenance.planned == Spread(2, 28, 28, 28)
    assert total.maintenance.from_due == Spread(2, 9, 6.5, 11.5)
    assert total.maintenance.within_window == Share(1, 2)
    assert total.maintenance.within_grace == Share(1, 2)
    # On time overall: A2, A3, B4 of the four = 3 of 4 = 75%.
    assert total.doses_on_time == Share(3, 4)
    assert total.doses_on_time.percent == 75.0


def test_patients_with_every_dose_on_time(report):
    # A: A2 and A3 both in the window → yes. B: B5 late → no. C and D have no timed dose.
    assert report.total.patients_all_on_time == Share(1, 2)


def test_attendance_codes(report):
    # 5: A 5 Jan, A 2 Feb (arrived 08:45, LP failed), A 6 Feb, B 2 Jan, C 12 Jan = 5
    # 6: A 19 Jan (09:20), B 13 Feb (09:30) = 2
    # 7: D 2 Feb (10:15, no checks, not given) = 1
    # 2: C 26 Jan (cancelled by the pause for patient choice) = 1
    # 3: B 30 Jan = 1
    # 4: A 16 Jan (cancelled by the unit) = 1
    # 0: none (every slot is before today); not recorded: D 9 Feb = 1
    assert report.total.attendance == {"5": 5, "6": 2, "7": 1, "2": 1, "3": 1, "4": 1, "": 1}


def test_lumbar_puncture(report):
    lumbar = report.total.lumbar_puncture
    # Attempts: 6 doses given + 1 unsuccessful (A 2 Feb) = 7; D's "other" is not an attempt.
    assert lumbar.attempts == 7
    assert lumbar.success == Share(6, 7)  # 85.7%
    assert lumbar.success.percent == 85.7
    # First attempt: A1, A2, B4, B5, C1 = 5 of 6; after retry: A3 = 1 of 6.
    assert lumbar.first_attempt == Share(5, 6)
    assert lumbar.after_retry == Share(1, 6)
    assert lumbar.not_given == {"Lumbar puncture unsuccessful": 1, "Other": 1}
    # Image-guided: A3 (X-ray), B5 (CT) = 2 of 6.
    assert lumbar.image_guided == Share(2, 6)


def test_plph_and_blood_patches(report):
    # One PLPH (A, 7 Feb) per 6 injections = 16.7%; triaged to the blood-patch step.
    assert report.total.plph == Share(1, 6)
    assert report.total.plph.percent == 16.7
    assert report.total.blood_patch_referrals == Share(1, 6)


def test_serious_events_per_patient_year(report):
    total = report.total
    # Serious: B's myelitis (20 Feb). A's PLPH and back pain are not serious.
    assert total.serious_events == 1
    # Exposure, first dose to stop or 28 Feb, clipped to the period:
    # A 5 Jan–28 Feb = 27 + 28 = 55 days; B 1 Jan–28 Feb = 59; C 12 Jan–10 Feb (stopped)
    # = 20 + 10 = 30; D no dose given. 144 days / 365.25 = 0.394 → 0.39 patient-years.
    assert total.patient_years == 0.39
    # 1 × 365.25 / 144 = 2.536… → 2.54 per patient-year.
    assert total.serious_per_patient_year == 2.54
    # Patients with a serious neurological event: B, of A, B, C exposed = 1 of 3.
    assert total.serious_neurological_patients == Share(1, 3)


def test_holds(report):
    # B held 20 Feb, resumed 2 Mar: one hold, ended, 10 days. C's pause is not a hold.
    total = report.total
    assert (total.holds_raised, total.holds_ended, total.holds_open) == (1, 1, 0)
    assert total.hold_days == Spread(1, 10, 10, 10)


def test_notice_given(report):
    # Bookings not cancelled, days from booking to the visit:
    # A 29 Dec→5 Jan 7, 5 Jan→19 Jan 14, 19 Jan→2 Feb 14, 3 Feb→6 Feb 3;
    # B 1 Dec→2 Jan 32, 2 Jan→30 Jan 28, 31 Jan→13 Feb 13; C 5 Jan→12 Jan 7;
    # D 26 Jan→2 Feb 7, 2 Feb→9 Feb 7.
    # Sorted [3, 7, 7, 7, 7, 13, 14, 14, 28, 32]: median (7 + 13) / 2 = 10;
    # Q1 at position 9 × ¼ = 2.25 → 7 + ¼ × (7 − 7) = 7; Q3 at 6.75 → 14 + ¾ × 0 = 14.
    assert report.total.notice_days == Spread(10, 10, 7, 14)
    assert report.total.notice_under_7_days == Share(1, 10)


def test_utilisation(report):
    # 11 slots × 2 places = 22; bookings not cancelled = 4 (A) + 3 (B) + 1 (C) + 2 (D) = 10.
    assert report.total.utilisation == Share(10, 22)
    assert report.total.utilisation.percent == 45.5


def test_by_month(report):
    january, february = report.months
    assert (january.period.label, february.period.label) == ("Jan 2026", "Feb 2026")
    # January: given A1, A2, B4, C1; timed A2, B4 both on time.
    assert january.doses_given == 4
    assert january.doses_on_time == Share(2, 2)
    # February: given A3, B5; timed A3 on time, B5 late. LP: 2 given + 1 failed.
    assert february.doses_given == 2
    assert february.doses_on_time == Share(1, 2)
    assert january.lumbar_puncture.success == Share(4, 4)
    assert february.lumbar_puncture.success == Share(2, 3)
    # Places: January 7 slots (14 places), 5 standing bookings; February 4 slots (8), 5.
    assert january.utilisation == Share(5, 14)
    assert february.utilisation == Share(5, 8)
    # Exposure: January 27 + 31 + 20 = 78 days, February 28 + 28 + 10 = 66 days.
    assert january.patient_years == round(78 / 365.25, 2)
    assert february.patient_years == round(66 / 365.25, 2)
    assert (january.serious_events, february.serious_events) == (0, 1)


def test_a_period_with_nothing_in_it_has_no_figures(hand_unit):
    empty = quality_report(Period(date(2024, 1, 1), date(2024, 1, 31)), today=TODAY).total
    assert empty.doses_given == 0
    assert empty.doses_on_time.percent is None
    assert empty.serious_per_patient_year is None
    assert str(empty.loading.actual) == "—"
