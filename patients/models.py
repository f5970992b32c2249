"""Who the patient is: identity, contact, SOD1 confirmation, consents and calendar-feed tokens."""

import hashlib
import re
import secrets

import nhs_number as nhs
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from simple_history.models import HistoricalRecords

from patients.search import search_text_expression
from patients.validators import (
    ADDRESS_MAX,
    is_ascii_digits,
    normalise_identifier,
    normalise_uk_mobile,
    validate_multiline,
    validate_past_date,
    validate_single_line,
    validate_uk_mobile,
)
from tofersen_scheduler.dates import format_day


def normalise_nhs_number(value: str) -> str:
    """NFKC (full-width digits become ASCII), then strip the spaces and hyphens people type:
    '943 476 5919'. Digits of other scripts stay as they are, and are refused."""
    return "".join(ch for ch in normalise_identifier(value) if ch not in " -\t")


def validate_nhs_number(value: str) -> None:
    """NHS Data Dictionary: 10 digits, the last a modulus-11 check digit. Only ASCII digits
    are stored, so one number has one spelling (and the uniqueness constraint holds)."""
    digits = normalise_nhs_number(value)
    if not (len(digits) == 10 and is_ascii_digits(digits)):
        raise ValidationError("An NHS number has 10 digits, for example 943 476 5919.")
    if not nhs.is_valid(digits):
        raise ValidationError("This NHS number fails its check digit: please check for a typo.")


HOSPITAL_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9/-]{0,19}")


def normalise_hospital_number(value: str) -> str:
    return normalise_identifier(value).upper()


def validate_hospital_number(value: str) -> None:
    if not HOSPITAL_NUMBER.fullmatch(value):
        raise ValidationError(
            "A hospital number has up to 20 letters and digits (A–Z, 0–9; - and / inside).",
            code="hospital_number",
        )


class Channel(models.TextChoices):
    """How a patient is sent reminders (issue 18 Interfaces: sms, email, letter, none)."""

    SMS = "sms", "Text message"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    NONE = "none", "No reminders"


class Patient(models.Model):
    #: What the patient is contacted by: a change takes the patient off "Fix contact details".
    CONTACT_FIELDS = ("mobile_phone", "email", "address", "preferred_channel")
    Channel = Channel

    #: Clinical facts only a clinician records (hazard log H5/H14; issue 9).
    CLINICAL_FIELDS = (
        "sod1_variant",
        "sod1_confirmed_on",
        "could_be_pregnant",
        "contraception_advised_on",
    )

    hospital_number = models.CharField(
        "hospital number",
        max_length=20,
        unique=True,
        validators=[validate_hospital_number],
        help_text="The hospital's own patient identifier (MRN).",
    )
    nhs_number = models.CharField(
        "NHS number",
        max_length=10,
        blank=True,
        default="",
        validators=[validate_nhs_number],
        help_text="Optional; 10 digits with a valid check digit. Spaces are allowed when typing.",
    )
    given_name = models.CharField("given name", max_length=100, validators=[validate_single_line])
    family_name = models.CharField("family name", max_length=100, validators=[validate_single_line])
    date_of_birth = models.DateField("date of birth", validators=[validate_past_date])
    phone = models.CharField("phone", max_length=30, blank=True, validators=[validate_single_line])
    mobile_phone = models.CharField(
        "mobile phone",
        max_length=20,
        blank=True,
        validators=[validate_uk_mobile],
        help_text="A UK mobile number, for text reminders; stored as +447…",
    )
    email = models.EmailField("email", blank=True)
    preferred_channel = models.CharField(
        "reminders by",
        max_length=10,
        choices=Channel.choices,
        default=Channel.NONE,
        help_text="How the patient wants appointment reminders and changes sent.",
    )
    reminders_agreed_on = models.DateField(
        "agreed to reminders on",
        null=True,
        blank=True,
        validators=[validate_past_date],
        help_text="The day the patient agreed to be sent reminders. No reminders without it.",
    )
    reminders_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="agreement recorded by",
    )
    contact_changed_at = models.DateTimeField(
        "contact details changed at",
        null=True,
        blank=True,
        editable=False,
        help_text="When the mobile number, email, address or channel last changed: a message "
        "that failed before this is no longer on the 'Fix contact details' list.",
    )
    address = models.TextField(
        "address", blank=True, max_length=ADDRESS_MAX, validators=[validate_multiline]
    )
    could_be_pregnant = models.BooleanField(
        "could become pregnant",
        default=False,
        help_text=(
            "Ask about pregnancy and breastfeeding before each dose (tofersen label: safety in "
            "pregnancy unknown)."
        ),
    )
    contraception_advised_on = models.DateField(
        "contraception advice given on",
        null=True,
        blank=True,
        validators=[validate_past_date],
        help_text=(
            "When a clinician discussed contraception with a patient who could become pregnant "
            "(tofersen label: safety in pregnancy unknown). Asked about again at each visit."
        ),
    )
    # Issue 19 item 1: "image guidance (X-ray or CT) sometimes" (DESIGN §2); a difficult spine.
    # Such a dose books only where an image-guided operator and an imaging list are on.
    needs_image_guidance = models.BooleanField(
        "needs image guidance",
        default=False,
        help_text="Book only into sessions with an imaging list and an image-guided operator.",
    )
    image_guidance_reason = models.CharField(
        "why image guidance",
        max_length=200,
        blank=True,
        validators=[validate_single_line],
        help_text="Optional: a difficult spine, earlier failed attempts…",
    )
    sod1_variant = models.CharField(
        "SOD1 variant",
        max_length=60,
        blank=True,
        validators=[validate_single_line],
        help_text="As reported by the genetics laboratory, for example p.Ala5Val (A4V).",
    )
    sod1_confirmed_on = models.DateField(
        "SOD1 mutation confirmed on",
        null=True,
        blank=True,
        validators=[validate_past_date],
        help_text="Date genetic testing confirmed the SOD1 mutation (eligibility for tofersen).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Computed by the database from the name and hospital number (patients/search.py).
    search_text = models.GeneratedField(
        expression=search_text_expression(),
        output_field=models.CharField(max_length=250),
        db_persist=True,
        verbose_name="search text",
    )

    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        ordering = ["family_name", "given_name", "hospital_number"]
        permissions = [
            (
                "record_clinical_facts",
                "Can record SOD1 confirmation and whether the patient could become pregnant",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["nhs_number"],
                condition=~Q(nhs_number=""),
                name="patient_unique_nhs_number",
                violation_error_message="Another patient already has this NHS number.",
            ),
            models.CheckConstraint(
                condition=Q(sod1_variant="", sod1_confirmed_on__isnull=True)
                | (~Q(sod1_variant="") & Q(sod1_confirmed_on__isnull=False)),
                name="patient_sod1_variant_with_date",
                violation_error_message="Give both the SOD1 variant and the date it was confirmed.",
            ),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.hospital_number})"

    def get_absolute_url(self):
        return reverse("patients:detail", args=[self.pk])

    def clean(self):
        self.nhs_number = normalise_nhs_number(self.nhs_number)
        self.mobile_phone = normalise_uk_mobile(self.mobile_phone)
        errors = self.contact_errors()
        if errors:
            raise ValidationError(errors)
        self.hospital_number = normalise_hospital_number(self.hospital_number)
        if self.date_of_birth and self.date_of_birth >= timezone.localdate():
            raise ValidationError({"date_of_birth": "The date of birth must be in the past."})
        if self.sod1_confirmed_on and self.sod1_confirmed_on > timezone.localdate():
            raise ValidationError(
                {"sod1_confirmed_on": "The confirmation date cannot be in the future."}
            )

    def contact_errors(self) -> dict:
        """The chosen channel needs its address (a text needs a mobile number, and so on)."""
        needed = {
            Channel.SMS: ("mobile_phone", "Give a mobile number to send text reminders."),
            Channel.EMAIL: ("email", "Give an email address to send email reminders."),
            Channel.LETTER: ("address", "Give a postal address to send reminder letters."),
        }.get(self.preferred_channel)
        if needed and not getattr(self, needed[0]):
            return {needed[0]: needed[1]}
        if self.reminders_agreed_on and self.reminders_agreed_on > timezone.localdate():
            return {"reminders_agreed_on": "The date cannot be in the future."}
        return {}

    @property
    def reminders_wanted(self) -> bool:
        """Reminders only with the patient's recorded agreement and a channel (issue 18 §1)."""
        return self.reminders_agreed_on is not None and self.preferred_channel != Channel.NONE

    @property
    def needs_contraception_advice(self) -> bool:
        """Could become pregnant and no contraception advice recorded (DESIGN §2 pregnancy:
        contraception must be discussed)."""
        return self.could_be_pregnant and self.contraception_advised_on is None

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def nhs_number_display(self) -> str:
        n = self.nhs_number
        return f"{n[:3]} {n[3:6]} {n[6:]}" if n else ""

    @property
    def sod1_confirmed(self) -> bool:
        return bool(self.sod1_variant and self.sod1_confirmed_on)

    def active_consent(self, kind: str, on=None):
        """The consent of `kind` in force on `on` (default today), from prefetched consents.

        A withdrawal stands until a consent signed after it (DESIGN §2 "a consent withdrawal
        stands until a consent signed after it"; issue 17 §4): a form signed before the
        withdrawal, entered again, does not restore eligibility. "After" is a later day: a
        form dated the day of the withdrawal cannot be told apart from the withdrawn one."""
        on = on or timezone.localdate()
        consents = [consent for consent in self.consents.all() if consent.kind == kind]
        withdrawals = [c.withdrawn_on for c in consents if c.withdrawn_on and c.withdrawn_on <= on]
        last_withdrawal = max(withdrawals, default=None)
        for consent in consents:
            if last_withdrawal is not None and consent.signed_on <= last_withdrawal:
                continue
            if consent.in_force_on(on):
                return consent
        return None

    def treatment_blockers(self, on=None) -> list[str]:
        """Why no dose may be booked or given (DESIGN §2 eligibility gate and consent).

        Tofersen is indicated only for ALS with a confirmed SOD1 mutation (US PI §1, EU SmPC
        4.1); the hospital consent form and, while the drug is supplied through early access,
        the manufacturer's form must both be signed and not withdrawn.
        """
        blockers = []
        if not self.sod1_confirmed:
            blockers.append("Genetic testing confirming a SOD1 mutation is not recorded.")
        for kind, label in Consent.Kind.choices:
            if self.active_consent(kind, on) is None:
                blockers.append(f"No signed {label.lower()} on file.")
        return blockers


class Consent(models.Model):
    class Kind(models.TextChoices):
        HOSPITAL = "hospital", "Hospital consent form"
        EARLY_ACCESS = "early_access", "Manufacturer early-access consent form"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField("form", max_length=20, choices=Kind.choices)
    signed_on = models.DateField("signed on", validators=[validate_past_date])
    withdrawn_on = models.DateField(
        "withdrawn on", null=True, blank=True, validators=[validate_past_date]
    )
    reference = models.CharField(
        "reference",
        max_length=100,
        blank=True,
        validators=[validate_single_line],
        help_text="Document or scan reference.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["patient", "kind", "-signed_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=models.F("signed_on")),
                name="consent_withdrawn_after_signed",
                violation_error_message="Consent cannot be withdrawn before it was signed.",
            ),
            # A double submit (or two people recording the same form) makes one consent.
            models.UniqueConstraint(
                fields=["patient", "kind", "signed_on"],
                condition=Q(withdrawn_on__isnull=True),
                name="consent_recorded_once",
                violation_error_message="This consent form is already recorded for that date.",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} signed {format_day(self.signed_on)}"

    def clean(self):
        today = timezone.localdate()
        if self.signed_on and self.signed_on > today:
            raise ValidationError({"signed_on": "The signed date cannot be in the future."})
        if self.withdrawn_on and self.signed_on and self.withdrawn_on < self.signed_on:
            raise ValidationError(
                {"withdrawn_on": "Consent cannot be withdrawn before it was signed."}
            )

    def in_force_on(self, day) -> bool:
        return self.signed_on <= day and (self.withdrawn_on is None or self.withdrawn_on > day)


class FeedTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def lookup(self, raw_token: str):
        """The active token for a raw secret, found by its hash; None when unknown or revoked."""
        return self.active().filter(token_hash=FeedToken.hash(raw_token)).first()


class FeedToken(models.Model):
    """A private calendar-feed secret. Only its SHA-256 hash is stored, so a leaked database
    does not leak working links; the raw token is shown once, when issued."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="feed_tokens"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="feed_tokens",
        help_text="Set for a staff member's feed of the unit's bookings.",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    owner_check = models.CharField(
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text="For a staff feed: a fingerprint of the owner's password when issued, so "
        "the link stops working when the password changes.",
    )
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    objects = FeedTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(patient__isnull=False, user__isnull=True)
                | Q(patient__isnull=True, user__isnull=False),
                name="feedtoken_for_patient_or_user",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(revoked_at__isnull=True, patient__isnull=False),
                name="feedtoken_one_active_per_patient",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(revoked_at__isnull=True, user__isnull=False),
                name="feedtoken_one_active_per_user",
            ),
        ]

    def __str__(self):
        owner = self.patient or self.user
        state = "revoked" if self.revoked_at else "active"
        return f"Feed link for {owner} ({state})"

    @staticmethod
    def hash(raw_token: str) -> str:
        return hashlib.sha256(raw_token.encode()).hexdigest()

    @staticmethod
    def owner_fingerprint(user) -> str:
        """Changes whenever the user's password does (as Django's session hash does)."""
        return salted_hmac("patients.FeedToken.owner_check", user.password).hexdigest()

    def owner_still_valid(self) -> bool:
        """A staff link works while its owner is active and has the password it was issued
        under (issue 9: deactivation or a password change ends it)."""
        user = self.user
        return (
            user is not None
            and user.is_active
            and bool(self.owner_check)
            and constant_time_compare(self.owner_check, self.owner_fingerprint(user))
        )

    @staticmethod
    def new_secret() -> str:
        """32 random bytes (256 bits) from `secrets`, URL-safe."""
        return secrets.token_urlsafe(32)
