"""Fill an empty database with a realistic demo unit (DESIGN §4).

    python manage.py seed_demo [--patients N]

A day-care unit open Monday to Friday, its slots for the coming weeks, demo users for each
role, and patients at every stage of treatment: registered, awaiting consent, about to start,
loading, maintenance (booked and unbooked), overdue, paused and stopped; up to 10,000 for
performance runs. The histories are the engine's own on-time plans, written in bulk inserts;
bookings go through the booking service, so they obey every rule, until the slots are full.
Idempotent: a second run adds nothing. Refuses to run with DEBUG off, so it can never put
made-up patients into a live system.
"""

import base64
import hashlib
from datetime import date, datetime, time, timedelta

import nhs_number as nhs
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from patients.models import Consent, Patient
from schedules import engine, outlook, planning, services
from schedules.models import (
    Booking,
    Closure,
    Competency,
    CourseEvent,
    Dose,
    ImagingList,
    RotaEntry,
    SessionTemplate,
    Slot,
    TreatmentCourse,
    Unit,
)

DEMO_USERS = [
    # username, password, group, name, staff
    ("nurse", "nurse-demo-2026", "Nurse", ("Nadia", "Okafor"), False),
    ("clinician", "clinician-demo-2026", "Clinician", ("Dr Sam", "Patel"), False),
    ("admin", "admin-demo-2026", "Admin", ("Alex", "Morgan"), True),
]

NAMES = [
    ("Margaret", "Ellis"), ("David", "Khan"), ("Siobhan", "Murphy"), ("Tomasz", "Nowak"),
    ("Priya", "Shah"), ("George", "Williams"), ("Fatima", "Begum"), ("Owen", "Jones"),
    ("Chloe", "Taylor"), ("Kwame", "Mensah"), ("Helen", "Roberts"), ("Liam", "O'Brien"),
    ("Aisha", "Hussain"), ("Peter", "Clarke"), ("Mei", "Chen"), ("Robert", "Evans"),
    ("Sarah", "Thompson"), ("Imran", "Ahmed"), ("Eleanor", "Wright"), ("Daniel", "Green"),
    ("Zainab", "Ali"), ("Hugh", "Campbell"), ("Ruth", "Baker"), ("Marcus", "Reid"),
]  # fmt: skip

MAX_PATIENTS = 10_000
BATCH = 1000

VARIANTS = ["p.Ala5Val (A4V)", "p.Gly94Ala (G93A)", "p.Asp91Ala (D90A)", "p.Leu145Phe"]

# Lumbar-puncture operators (issue 19): username, name, procedure, valid for (days from today).
# One image-guided; one whose competency lapses in ten days (the board then says so).
DEMO_OPERATORS = [
    ("dr.lind", ("Dr Erik", "Lind"), Competency.Procedure.IMAGE_GUIDED, 365),
    ("dr.adeyemi", ("Dr Tola", "Adeyemi"), Competency.Procedure.UNGUIDED, 10),
]
IMAGING_WEEKDAYS = (1, 3)  # the X-ray list runs on Tuesdays and Thursdays
SESSION_BEDS = 3  # beds or chairs for observation per session

# Every stage a unit sees, in the order patients are given them.
STAGES = [
    "maintenance_booked",
    "loading",
    "maintenance_due",
    "starting",
    "overdue",
    "maintenance_booked",
    "paused",
    "awaiting_consent",
    "maintenance_due",
    "registered",
    "stopped",
    "loading",
]


def synthetic_nhs_numbers():
    """Valid NHS numbers from the 999 range, which NHS Digital reserves for test data."""
    candidate = 9_990_000_000
    while True:
        candidate += 1
        text = str(candidate)
        if nhs.is_valid(text):
            yield text


def demo_second_factor(username: str) -> tuple[str, list[str]]:
    """A fixed TOTP key (base32, as typed into an app) and three recovery codes per demo user,
    derived from the username so that every run prints the same ones. Demo only."""
    digest = hashlib.sha256(f"tofersen-demo-second-factor:{username}".encode()).digest()
    key = base64.b32encode(digest[:20]).decode()
    more = hashlib.sha256(digest).digest()
    codes = [base64.b32encode(more[5 * i : 5 * i + 5]).decode().lower() for i in range(3)]
    return key, codes


def seed_second_factor(user) -> None:
    key, codes = demo_second_factor(user.username)
    TOTPDevice.objects.get_or_create(
        user=user,
        name="Demo authenticator",
        defaults={"key": base64.b32decode(key).hex(), "confirmed": True},
    )
    device, created = StaticDevice.objects.get_or_create(
        user=user, name="Recovery codes", defaults={"confirmed": True}
    )
    if created:
        for code in codes:
            device.token_set.create(token=code)


class Command(BaseCommand):
    help = "Fill an empty database with a realistic demo unit, users and patients."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=24, help="How many demo patients.")

    def handle(self, *args, patients, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on: it creates made-up patients.")
        if not 1 <= patients <= MAX_PATIENTS:
            raise CommandError(f"--patients must be between 1 and {MAX_PATIENTS:,}.")
        with transaction.atomic():
            users = self.seed_users()
            unit = self.seed_unit()
            self.seed_resources(unit, users)
            created = self.seed_patients(patients, unit, users)
            self.seed_image_guidance(unit)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {created} new patient(s), "
                f"{Patient.objects.count()} in all, unit “{unit.name}”."
            )
        )
        self.stdout.write("Demo logins (username / password):")
        for username, password, group, _, _ in DEMO_USERS:
            self.stdout.write(f"  {group:<10} {username} / {password}")
        self.stdout.write(
            "Second factor: asked of admins and clinicians when TWO_FACTOR_REQUIRED is on (the "
            "default with DEBUG off; TWO_FACTOR_REQUIRED=1 make run to try it). Add the key to "
            "an authenticator app (time-based, 6 digits), or sign in with a recovery code:"
        )
        for username, _, _, _, _ in DEMO_USERS:
            key, codes = demo_second_factor(username)
            self.stdout.write(f"  {username:<10} key {key}  recovery codes {' '.join(codes)}")

    def seed_users(self) -> dict[str, User]:
        users = {}
        for username, password, group, (first, last), staff in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "is_staff": staff},
            )
            if created:
                user.set_password(password)
                user.is_superuser = staff
                user.save()
                user.groups.add(Group.objects.get(name=group))
            seed_second_factor(user)
            users[group] = user
        return users

    def seed_unit(self) -> Unit:
        unit = Unit.objects.order_by("pk").first() or Unit.objects.create(
            name="Neurology Day Unit", address="-", phone="-"
        )
        if not unit.session_templates.exists():
            unit.name = "Neurology Day Unit"
            unit.address = "Ward 7, St Elsewhere Hospital, 1 Hospital Road, London SE1 7EH"
            unit.phone = "020 7946 0000"
            unit.save()
            for weekday in range(5):
                SessionTemplate.objects.create(
                    unit=unit,
                    weekday=weekday,
                    start_time=time(9),
                    slot_minutes=120,
                    slot_count=3,
                    places=2,
                )
            training = timezone.localdate() + timedelta(days=17)
            while training.weekday() != 2:  # a Wednesday
                training += timedelta(days=1)
            Closure.objects.create(
                unit=unit, start_date=training, end_date=training, reason="Staff training day"
            )
        services.generate_slots(unit=unit)
        return unit

    def seed_resources(self, unit: Unit, users) -> None:
        """Beds per session, the competency register (the demo clinician, one image-guided
        operator, one lapsing soon), a rota for every session with slots, and imaging lists
        on Tuesdays and Thursdays (issue 19). The rota has two operators valid all along on
        every session, so the demo's two places per slot stay bookable; idempotent."""
        today = timezone.localdate()
        unit.session_templates.filter(beds__isnull=True).update(beds=SESSION_BEDS)
        if not unit.rota_required:
            unit.rota_required = True
            unit.save(update_fields=["rota_required"])
        signer = users["Admin"]
        operators = [users["Clinician"]]
        register = [(users["Clinician"], Competency.Procedure.UNGUIDED, 365)]
        for username, (first, last), procedure, days in DEMO_OPERATORS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_unusable_password()
                user.save()
                user.groups.add(Group.objects.get(name="Clinician"))
            operators.append(user)
            register.append((user, procedure, days))
        for user, procedure, days in register:
            Competency.objects.get_or_create(
                operator=user,
                procedure=procedure,
                defaults={
                    "valid_until": today + timedelta(days=days),
                    "signed_off_by": signer,
                    "signed_off_on": today - timedelta(days=300),
                },
            )
        sessions = set()
        for start, template_id in Slot.objects.filter(
            unit=unit, template__isnull=False, start__gte=timezone.now() - timedelta(days=7)
        ).values_list("start", "template_id"):
            sessions.add((template_id, timezone.localtime(start, unit.zone).date()))
        clinician, guided, lapsing = operators
        rota = []
        for template_id, day in sorted(sessions):
            on = [clinician, guided] + ([lapsing] if day.weekday() in (0, 2) else [])
            rota += [RotaEntry(template_id=template_id, day=day, operator=o) for o in on]
        RotaEntry.objects.bulk_create(rota, ignore_conflicts=True, batch_size=BATCH)
        ImagingList.objects.bulk_create(
            [
                ImagingList(template_id=template_id, day=day, places=2, note="X-ray room 2")
                for template_id, day in sorted(sessions)
                if day.weekday() in IMAGING_WEEKDAYS
            ],
            ignore_conflicts=True,
        )

    def seed_image_guidance(self, unit: Unit) -> None:
        """A patient who needs image guidance (a difficult spine): the first booked patient
        whose coming visits all fall on imaging-list days, flagged; the lapsing operator
        assigned to a coming booking so the board shows the warning."""
        today = timezone.localdate()
        if Patient.objects.filter(needs_image_guidance=True).exists():
            return
        coming = (
            Booking.objects.active()
            .filter(slot__unit=unit, slot__start__gte=timezone.now())
            .select_related("slot__unit", "dose__course__patient")
            .order_by("slot__start")
        )
        by_patient: dict[int, list[Booking]] = {}
        for booking in coming:
            by_patient.setdefault(booking.dose.course.patient_id, []).append(booking)
        for bookings in by_patient.values():
            if all(b.local_date.weekday() in IMAGING_WEEKDAYS for b in bookings):
                patient = bookings[0].dose.course.patient
                patient.needs_image_guidance = True
                patient.image_guidance_reason = "Difficult spine: scoliosis surgery"
                patient.save(update_fields=["needs_image_guidance", "image_guidance_reason"])
                break
        lapsing = User.objects.filter(username=DEMO_OPERATORS[1][0]).first()
        for booking in coming:
            later = booking.local_date > today + timedelta(days=DEMO_OPERATORS[1][3])
            patient = booking.dose.course.patient
            on_rota = RotaEntry.objects.filter(
                template_id=booking.slot.template_id, day=booking.local_date, operator=lapsing
            ).exists()
            if later and on_rota and not patient.needs_image_guidance:
                # Assigned while still valid; the competency lapses before the visit.
                Booking.objects.filter(pk=booking.pk).update(operator=lapsing)
                break

    def seed_patients(self, count: int, unit: Unit, users) -> int:
        """Patients, consents, courses, given doses and decisions in bulk inserts (5,000 in
        well under two minutes); bookings through the booking service, so they obey every
        rule, until the unit's slots are full. Then every course's outlook, in one pass."""
        today = timezone.localdate()
        numbers = synthetic_nhs_numbers()
        existing = set(Patient.objects.values_list("hospital_number", flat=True))
        patients, stages = [], {}
        for index in range(count):
            hospital_number = f"RX{index + 1:05d}"
            nhs_number = next(numbers)
            if hospital_number in existing:
                continue
            given_name, family_name = NAMES[index % len(NAMES)]
            stage = STAGES[index % len(STAGES)]
            stages[hospital_number] = (index, stage)
            patients.append(
                Patient(
                    hospital_number=hospital_number,
                    nhs_number=nhs_number,
                    given_name=given_name,
                    family_name=family_name,
                    date_of_birth=date(1950 + index % 40, 1 + index % 12, 1 + index % 28),
                    could_be_pregnant=index % 5 == 2,
                    phone=f"07700 9{index % 100000:05d}",
                    # Half the demo patients agreed to text reminders, a quarter to emails
                    # (issue 18), so `make run` shows messages on the console.
                    mobile_phone=f"+447911{index % 1000000:06d}",
                    email=f"{given_name}.{family_name}@example.org".lower().replace(" ", ""),
                    preferred_channel=("sms", "email", "sms", "none")[index % 4],
                    reminders_agreed_on=None if index % 4 == 3 else today - timedelta(days=380),
                    sod1_variant="" if stage == "registered" else VARIANTS[index % len(VARIANTS)],
                    sod1_confirmed_on=None if stage == "registered" else today - timedelta(400),
                )
            )
        patients = Patient.objects.bulk_create(patients, batch_size=BATCH)
        clinician = users["Clinician"]
        consents, courses = [], []
        for patient in patients:
            index, stage = stages[patient.hospital_number]
            if stage not in ("registered", "awaiting_consent"):
                consents += [
                    Consent(
                        patient=patient,
                        kind=kind,
                        signed_on=today - timedelta(days=380),
                        reference=f"CONSENT-{patient.hospital_number}-{kind[:4].upper()}",
                        recorded_by=clinician,
                    )
                    for kind in Consent.Kind.values
                ]
            elif stage == "awaiting_consent":
                consents.append(
                    Consent(
                        patient=patient,
                        kind=Consent.Kind.HOSPITAL,
                        signed_on=today - timedelta(days=3),
                        recorded_by=clinician,
                    )
                )
            history = self.history(stage, index, today)
            if history is not None:
                courses.append((patient, stage, index, *history))
        Consent.objects.bulk_create(consents, batch_size=BATCH)
        self.seed_courses(courses, unit, users, today)
        return len(patients)

    @staticmethod
    def history(stage, index, today):
        """(start date, dates of the doses given) for a patient at `stage`, or None."""
        # How many doses were given, and how long ago the course started.
        plans = {
            "starting": (0, -(3 + index % 5)),
            "loading": (1, 13 + index % 3),
            "maintenance_booked": (4 + index % 5, None),
            "maintenance_due": (3 + index % 6, None),
            "overdue": (5, None),
            "paused": (4, None),
            "stopped": (6, None),
        }
        if stage not in plans:
            return None
        given, started_days_ago = plans[stage]
        if started_days_ago is None:
            # Place the last given dose so the next is due soon (or late, for "overdue").
            lateness = {"overdue": 12, "maintenance_due": -(5 + index % 20)}.get(stage, -3)
            span = engine.plan(start=today, today=today, count=given + 1)[-1].due - today
            started_days_ago = span.days + lateness
        start = today - timedelta(days=started_days_ago)
        on_time = engine.plan(start=start, today=start, count=max(given, 1))
        return start, [p.date for p in on_time[:given] if p.date < today]

    def seed_courses(self, rows, unit, users, today):
        clinician, nurse = users["Clinician"], users["Nurse"]
        status = {
            "paused": TreatmentCourse.Status.PAUSED,
            "stopped": TreatmentCourse.Status.STOPPED,
        }
        courses = TreatmentCourse.objects.bulk_create(
            [
                TreatmentCourse(
                    patient=patient,
                    start_date=start,
                    status=status.get(stage, TreatmentCourse.Status.ACTIVE),
                    started_by=clinician,
                )
                for patient, stage, _, start, _ in rows
            ],
            batch_size=BATCH,
        )
        doses, events, to_book = [], [], []
        for course, (_, stage, index, _, given) in zip(courses, rows, strict=True):
            for number, on in enumerate(given, start=1):
                doses.append(
                    Dose(
                        course=course,
                        number=number,
                        given_at=datetime.combine(on, time(9, 40), tzinfo=unit.zone),
                        given_by=clinician,
                        operator="Dr Sam Patel",
                        needle="22G atraumatic spinal",
                        imaging=Dose.Imaging.NONE,
                        csf_removed_ml=10,
                        vial_batch=f"TFB{24000 + index * 7 + number}",
                        vial_expiry=on + timedelta(days=300),
                    )
                )
            if stage == "paused":
                events.append(
                    CourseEvent(
                        course=course,
                        kind=CourseEvent.Kind.PAUSE,
                        on=today - timedelta(days=10),
                        reason="side_effects",
                        reason_detail="Post-lumbar-puncture headache needing a blood patch.",
                        recorded_by=clinician,
                    )
                )
            elif stage == "stopped":
                events.append(
                    CourseEvent(
                        course=course,
                        kind=CourseEvent.Kind.STOP,
                        on=today - timedelta(days=5),
                        reason="respiratory",
                        recorded_by=clinician,
                    )
                )
            elif stage in ("maintenance_booked", "loading"):
                to_book.append((course, 3 if stage == "maintenance_booked" else 1))
        Dose.objects.bulk_create(doses, batch_size=BATCH)
        CourseEvent.objects.bulk_create(events, batch_size=BATCH)
        misses = 0
        for course, count in to_book:
            misses = 0 if self.book_next(course, unit, nurse, count=count) else misses + 1
            if misses == 20:
                break  # the unit's slots are full: later patients wait on Needs booking
        outlook.refresh_all()

    def book_next(self, course, unit, nurse, count) -> bool:
        """Book the course's next doses in the first free slots; False when none was free."""
        course = planning.planned_course(course.pk)
        choices = [
            (suggestion.planned.number, suggestion.slot)
            for suggestion in planning.suggest_slots(course=course, unit=unit, count=count)
            if suggestion.slot is not None
        ]
        if choices:
            services.book_next_doses(course=course, choices=choices, booked_by=nurse)
        return bool(choices)
