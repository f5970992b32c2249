"""Input hardening shared by models and forms (issue 9; OWASP ASVS L2 V5.1).

Text a person typed is stored only if a person could have meant it: no control characters (a
NUL or ESC in a name breaks PostgreSQL, exports and printed letters), no invisible
direction overrides that make one name display as another, and a length cap everywhere.
Identifiers are normalised (NFKC, ASCII digits) so one NHS number cannot be stored three ways.
"""

import re
import unicodedata
import zoneinfo
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
TEXT_AREA_MAX = 2000
ADDRESS_MAX = 500

# Unicode bidirectional overrides and isolates: they reorder how a name is displayed.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_LINE_BREAKS = set("\n\r\t")


def _bad_character(value: str, *, multiline: bool) -> str | None:
    for ch in value:
        if multiline and ch in _LINE_BREAKS:
            continue
        # Cf: zero-width spaces, byte-order marks, the Arabic letter mark (U+200B, U+FEFF,
        # U+061C…): invisible, so "Ell\u200bis" looks like Ellis but is not found as Ellis.
        if ch in _BIDI or unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn", "Cf"}:
            return ch
    return None


def validate_single_line(value: str) -> None:
    if _bad_character(value, multiline=False) is not None:
        raise ValidationError(
            "Remove the control or invisible character from this field (it may have come "
            "from copying and pasting).",
            code="control_character",
        )


def validate_multiline(value: str) -> None:
    if _bad_character(value, multiline=True) is not None:
        raise ValidationError(
            "Remove the control or invisible character from this text (it may have come "
            "from copying and pasting).",
            code="control_character",
        )


def normalise_identifier(value: str) -> str:
    """NFKC (full-width Ｈ１２ → H12), without spaces or hyphens at either end."""
    return unicodedata.normalize("NFKC", value or "").strip()


_ASCII_DIGITS = re.compile(r"[0-9]+")


def is_ascii_digits(value: str) -> bool:
    return bool(_ASCII_DIGITS.fullmatch(value))


def validate_time_zone(value: str) -> None:
    """Only a zone the zoneinfo database knows: a typo (Europe/Londn) would break every page."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(
            "Choose a time zone from the IANA list, for example Europe/London.",
            code="time_zone",
        ) from None
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            "Choose a time zone from the IANA list, for example Europe/London.",
            code="time_zone",
        )


def validate_plausible_date(value) -> None:
    """Dates after 1900 and before 2101: 0001-01-01 is a typo, not a date of birth."""
    day = value.date() if hasattr(value, "date") and callable(value.date) else value
    if day is not None and not (EARLIEST_DATE <= day <= LATEST_DATE):
        raise ValidationError(
            f"Enter a date between {EARLIEST_DATE:%Y} and {LATEST_DATE:%Y}.", code="date_range"
        )


def validate_past_date(value) -> None:
    """A date that has happened: after 1900 and not in the future."""
    validate_plausible_date(value)
    day = value.date() if hasattr(value, "date") and callable(value.date) else value
    if day is not None and day > timezone.localdate():
        raise ValidationError("This date cannot be in the future.", code="future_date")


def _parse_uk_number(value: str):
    import phonenumbers

    try:
        return phonenumbers.parse(normalise_identifier(value), "GB")
    except phonenumbers.NumberParseException:
        return None


def normalise_uk_mobile(value: str) -> str:
    """A UK mobile number typed any usual way (07911 123456, +44 7911 123456, 0044…) stored
    in one spelling, E.164 (+447911123456), so Notify gets one form and duplicates show.
    A value that is not a number is left as typed, for the validator to refuse."""
    import phonenumbers

    if not value or not value.strip():
        return ""
    number = _parse_uk_number(value)
    if number is None or not phonenumbers.is_valid_number(number):
        return value.strip()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_uk_mobile(value: str) -> None:
    """A UK mobile (07…, +447…): text reminders go to mobiles only (GOV.UK Notify sends texts
    to UK mobiles; a landline cannot receive them)."""
    import phonenumbers

    if not value:
        return
    number = _parse_uk_number(value)
    if (
        number is None
        or number.country_code != 44
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise ValidationError(
            "Give a UK mobile number, for example 07911 123456.", code="uk_mobile"
        )
