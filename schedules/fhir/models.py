"""The API's clients (one bearer token each) and the log of what each one read."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiClientQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def lookup(self, raw_token: str) -> "ApiClient | None":
        """The active client holding this raw token, found by its hash; None when the token is
        unknown or revoked."""
        if not raw_token:
            return None
        return self.active().filter(token_hash=ApiClient.hash(raw_token)).first()


class ApiClient(models.Model):
    """Another system allowed to read the FHIR API, with one read-only bearer token.

    Only the token's SHA-256 hash is stored (the token holds 256 random bits, so a plain hash is
    enough): a leaked database leaks no working token. The raw token is shown once, when issued
    (`python manage.py issue_api_token NAME` or "Add" in the admin). Revoking is for good; a
    client that needs a new token is issued one under the same name.
    """

    # The last-used time is written at most this often, so a busy client's reads do not each
    # rewrite its row (every read is in `ApiRead` anyway).
    LAST_USED_RESOLUTION = timedelta(minutes=1)

    name = models.CharField(
        "client", max_length=100, help_text="The system that holds the token, e.g. 'Trust EPR'."
    )
    token_prefix = models.CharField(
        "token starts with",
        max_length=8,
        editable=False,
        help_text="The first characters of the token, to tell two tokens of one client apart.",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    issued_at = models.DateTimeField(default=timezone.now, editable=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="Empty when issued from the command line.",
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    last_used_at = models.DateTimeField("last used", null=True, blank=True, editable=False)

    objects = ApiClientQuerySet.as_manager()

    class Meta:
        verbose_name = "API client"
        ordering = ["name", "-issued_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=models.F("issued_at")),
                name="apiclient_revoked_after_issued",
            ),
        ]

    def __str__(self):
        state = "revoked" if self.revoked_at else "active"
        return f"{self.name} ({self.token_prefix}…, {state})"

    @staticmethod
    def hash(raw_token: str) -> str:
        return hashlib.sha256(raw_token.encode()).hexdigest()

    @classmethod
    def issue(cls, *, name: str, issued_by=None) -> tuple["ApiClient", str]:
        """A new client row and its raw token (32 random bytes, URL-safe), to show once."""
        raw = cls.new_secret()
        client = cls(name=name, issued_by=issued_by)
        client.set_token(raw)
        client.full_clean()
        client.save()
        return client, raw

    @staticmethod
    def new_secret() -> str:
        return secrets.token_urlsafe(32)

    def set_token(self, raw_token: str) -> None:
        self.token_hash = self.hash(raw_token)
        self.token_prefix = raw_token[:6]

    def revoke(self, *, by=None) -> None:
        if self.revoked_at is None:
            self.revoked_at, self.revoked_by = timezone.now(), by
            self.save(update_fields=["revoked_at", "revoked_by"])

    def touch(self, now) -> None:
        """Record that the client was seen, at most once per `LAST_USED_RESOLUTION`."""
        if self.last_used_at is None or now - self.last_used_at >= self.LAST_USED_RESOLUTION:
            ApiClient.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class ApiRead(models.Model):
    """One request an API client made: what it asked for, when, and what it got. An admin can
    answer "who read this patient's record?" from these rows."""

    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="reads")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    interaction = models.CharField(max_length=10, help_text="read (one resource by id) or search.")
    resource_type = models.CharField("resource", max_length=40, blank=True)
    resource_id = models.CharField("id", max_length=64, blank=True)
    query = models.CharField(
        "search", max_length=500, blank=True, help_text="The query string, as sent."
    )
    status = models.PositiveSmallIntegerField("HTTP status")
    returned = models.PositiveIntegerField(
        "resources returned", default=0, help_text="How many resources the response held."
    )

    class Meta:
        verbose_name = "API read"
        ordering = ["-at", "-pk"]
        # The rate limit counts a client's reads of the last minute.
        indexes = [models.Index(fields=["client", "at"], name="apiread_client_at")]

    def __str__(self):
        target = f"{self.resource_type}/{self.resource_id}" if self.resource_id else self.query
        return f"{self.client.name}: {self.interaction} {target} ({self.status})"
