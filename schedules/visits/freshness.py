"""The live board's freshness: the validator (ETag) of a board refresh from ONE query, so the
poll every open board sends (every 15 s) is answered 304 before anything is read or built.

What the board and the clinician's task badge show is read from rows that every write saves
through the ORM, and every such save (or delete) leaves a history row (django-simple-history):
bookings, visits (arrival, checks, dose, observation, discharge), doses, courses (holds,
pauses, stops), course events, adverse events, follow-up calls, patients and consents, slots,
closures, sessions, the unit. Nurses' booking requests to a clinician have no history; their
table is small (one row per request), so it is counted whole.

The fingerprint of a history table is the SUM of its newest `RECENT` history ids: any new row
raises it, whoever wrote it, from the board, a worklist, the admin or a command. Why not
MAX(history_id): two writes at once take ids 100 and 101; if 101 commits first and a poll reads
MAX = 101 before 100 commits, MAX never moves for the write with id 100 and that board would
stay stale until the next change. The sum over the newest `RECENT` ids moves when id 100 lands
(as long as fewer than `RECENT` later rows of that table committed while its transaction was
open: transactions here last milliseconds). Each sum is a backwards walk of the primary key's
index over `RECENT` entries: constant cost at any number of patients.

The stamps are the unit's, not the day's: a change on another day re-renders the board once
(one ordinary page render), which is cheaper and safer than a day-scoped query that could miss a
booking moved out of the day. The ETag also names the day shown, today's date (the stages of a
past day and the task list move at midnight) and the user (the buttons and the badge depend on
who asks), and is refused unless the session presenting it is that user's, signed in and within
its limits (`fresh_for_session`); a 304 carries nothing but "unchanged".
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import date
from functools import cache

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from schedules.models import ClinicianRequest

# How many of each history table's newest ids the fingerprint sums (see the docstring).
RECENT = 100
# Bumped when what the board renders from the same rows changes (a new release's markup).
BOARD_FORMAT = 1

# Session keys written by tofersen_scheduler.security (read here without importing the
# middleware module: the same strings).
SESSION_STARTED_KEY = "security:signed_in_at"
SESSION_SEEN_KEY = "security:last_seen_at"
OTP_DEVICE_KEY = "otp_device_id"

HISTORY_TABLES = (
    "schedules_historicalbooking",
    "schedules_historicalvisit",
    "schedules_historicaldose",
    "schedules_historicaltreatmentcourse",
    "schedules_historicalcourseevent",
    "schedules_historicaladverseevent",
    "schedules_historicalfollowupcall",
    "schedules_historicalslot",
    "schedules_historicalclosure",
    "schedules_historicalsessiontemplate",
    "schedules_historicalunit",
    "patients_historicalpatient",
    "patients_historicalconsent",
)


@cache
def _statement(groups: int) -> tuple[str, tuple[str, ...]]:
    """The one statement: the session row, the user's password hash and whether they need a
    second factor (staff, or in one of `groups` TWO_FACTOR_GROUPS: NULL columns when no session
    is asked about), then the stamps. Built from constants only; values are parameters."""
    quote = connection.ops.quote_name
    requests = quote(ClinicianRequest._meta.db_table)
    stamps = {
        f"h{index}": (
            f"SELECT SUM(history_id) FROM (SELECT history_id FROM {quote(table)} "  # noqa: S608
            f"ORDER BY history_id DESC LIMIT {RECENT}) recent"
        )
        for index, table in enumerate(HISTORY_TABLES)
    }
    stamps["requests"] = f"SELECT COUNT(*) FROM {requests}"  # noqa: S608 - constants only
    stamps["request_ids"] = f"SELECT SUM(id) FROM {requests}"  # noqa: S608 - constants only
    stamps["request_asked"] = f"SELECT MAX(asked_at) FROM {requests}"  # noqa: S608
    user = get_user_model()
    users, pk = quote(user._meta.db_table), quote(user._meta.pk.column)
    membership = user.groups.through
    member_of = quote(membership._meta.db_table)
    group_table = quote(membership._meta.get_field("group").related_model._meta.db_table)
    names = ", ".join(["%s"] * groups) or "NULL"
    columns = ",\n    ".join(f"({sql}) AS {name}" for name, sql in stamps.items())
    staff = (
        f"SELECT COUNT(*) FROM {users} "  # noqa: S608 - constants only
        f"WHERE {pk} = %s AND (is_staff = %s OR is_superuser = %s)"
    )
    grouped = (
        f"SELECT COUNT(*) FROM {member_of} m JOIN {group_table} g ON g.id = m.group_id "  # noqa: S608
        f"WHERE m.user_id = %s AND g.name IN ({names})"
    )
    sql = (
        f"SELECT (SELECT session_data FROM {quote(Session._meta.db_table)} "  # noqa: S608
        "WHERE session_key = %s AND expire_date > %s) AS session_data,\n"
        f"    (SELECT password FROM {users} WHERE {pk} = %s AND is_active = %s) AS password,\n"
        f"    ({staff}) + ({grouped}) AS second_factor,\n"
        f"    {columns}"
    )
    return sql, tuple(stamps)


@dataclass(frozen=True)
class BoardState:
    etag: str  # quoted, as sent in the ETag header
    session_data: str | None
    password: str | None
    second_factor: bool  # the user must have verified a second factor (when it is required)


def _digest(day: date, today: date, user_id: int, stamps: list) -> str:
    text = repr([BOARD_FORMAT, day.isoformat(), today.isoformat(), user_id, stamps])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def board_state(
    day: date, user_id: int, *, today: date | None = None, session_key: str = ""
) -> BoardState:
    """The board's ETag for this user and day, and (when `session_key` is given) the session
    row and the user's password hash, all from one query."""
    groups = list(settings.TWO_FACTOR_GROUPS)
    sql, names = _statement(len(groups))
    parameters = [session_key or None, timezone.now(), user_id, True, user_id, True, True]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*parameters, user_id, *groups])
        row = cursor.fetchone()
    session_data, password, second_factor, *values = row
    stamps = [str(value) for value in values]  # SQLite and PostgreSQL: the same text
    digest = _digest(day, today or timezone.localdate(), user_id, stamps)
    return BoardState(
        etag=f'"{user_id}-{digest}"',
        session_data=session_data,
        password=password,
        second_factor=bool(second_factor),
    )


def _bare(if_none_match: str) -> str:
    return if_none_match.strip().removeprefix("W/").strip('"')


def claimed_user(if_none_match: str) -> int | None:
    """The user id an If-None-Match names, or None when it is not one of the board's ETags."""
    user_id, _, digest = _bare(if_none_match).partition("-")
    # A database id (a hostile header must not become an out-of-range SQL parameter).
    if not (user_id.isascii() and user_id.isdigit() and len(user_id) < 10 and len(digest) == 32):
        return None
    return int(user_id)


def _session_is_users(state: BoardState, user_id: int) -> bool:
    """The session row belongs to this active user, signed in with their current password,
    within the idle and absolute limits (tofersen_scheduler.security.SessionLimitsMiddleware),
    with a second factor where one is required. Anything unsure is False: the ordinary request
    then decides, with every check of the full stack."""
    if not state.session_data or not state.password:
        return False
    data = SessionStore().decode(state.session_data)
    if data.get(SESSION_KEY) != str(user_id):
        return False
    user = get_user_model()(pk=user_id, password=state.password)
    stored = str(data.get(HASH_SESSION_KEY, "")).encode("utf-8", "replace")
    if not hmac.compare_digest(stored, user.get_session_auth_hash().encode()):
        return False
    now, started, seen = int(time.time()), data.get(SESSION_STARTED_KEY), data.get(SESSION_SEEN_KEY)
    if not isinstance(started, int) or not isinstance(seen, int):
        return False
    if now - seen > settings.SESSION_IDLE_MINUTES * 60:
        return False
    if now - started > settings.SESSION_ABSOLUTE_HOURS * 3600:
        return False
    # tofersen_scheduler.security.two_factor_required: staff and TWO_FACTOR_GROUPS, when on.
    return not (
        settings.TWO_FACTOR_REQUIRED and state.second_factor and not data.get(OTP_DEVICE_KEY)
    )


def matches(state: BoardState, if_none_match: str) -> bool:
    # Bytes: a header is any Latin-1 text, and compare_digest refuses non-ASCII strings.
    sent = f'"{_bare(if_none_match)}"'.encode("utf-8", "replace")
    return bool(if_none_match) and hmac.compare_digest(state.etag.encode(), sent)


def unchanged_for_session(day: date, if_none_match: str, session_key: str) -> str:
    """The ETag when the board this session's user last received is still current (answer
    304), else "" (answer normally). One query."""
    user_id = claimed_user(if_none_match)
    if user_id is None or not session_key:
        return ""
    state = board_state(day, user_id, session_key=session_key)
    if not matches(state, if_none_match):
        return ""
    return state.etag if _session_is_users(state, user_id) else ""
