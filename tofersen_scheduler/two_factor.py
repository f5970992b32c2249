"""Second factor: TOTP enrolment with a QR code, verification, recovery codes, and the
lockout page (OWASP ASVS L2 V2.2, V2.7, V2.8; NHS DTAC multi-factor sign-in).

Built on django-otp: a `TOTPDevice` per person (an authenticator app) and a `StaticDevice`
holding ten single-use recovery codes. django-otp throttles wrong codes per device (each
failure doubles the wait); django-axes locks the password step.
"""

import base64
import re

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from schedules.access import safe_next
from tofersen_scheduler.security import redirect_to_verify

RECOVERY_CODE_COUNT = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
_TOTP_SHAPE = re.compile(r"\d{6}")
_RECOVERY_SHAPE = re.compile(r"[a-z2-7]{8}")


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self):
        return "".join(self.cleaned_data["token"].split()).lower()


def _confirmed_totp(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def verify_device(user, token: str):
    """The device that accepts `token` (TOTP for six digits, else a recovery code), or a
    sentence saying why not. The device row is locked so two tries cannot race the throttle."""
    model = TOTPDevice if _TOTP_SHAPE.fullmatch(token) else StaticDevice
    if model is StaticDevice and not _RECOVERY_SHAPE.fullmatch(token):
        return None, "That is not a 6-digit code or a recovery code."
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            return None, "That code was not recognised."
        allowed, extra = device.verify_is_allowed()
        if not allowed:
            return None, (
                "Too many wrong codes: wait a minute, then try the next code your app shows."
            )
        if not device.verify_token(token):
            return None, "That code was not recognised. Check your app and try again."
    return device, ""


def issue_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes with ten new single-use ones; returns them (shown
    once: django-otp stores them as given, so the page that shows them is not cached)."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def verify(request):
    """Ask for the second factor; send someone with no device yet to enrol."""
    next_url = safe_next(request, default=resolve_url(settings.LOGIN_REDIRECT_URL))
    if request.user.is_verified():
        return redirect(next_url)
    if _confirmed_totp(request.user) is None:
        return redirect(f"{reverse('two_factor:enrol')}?{urlencode({'next': next_url})}")
    form = TokenForm(request.POST or None)
    if form.is_valid():
        device, problem = verify_device(request.user, form.cleaned_data["token"])
        if device is None:
            form.add_error("token", problem)
        else:
            otp_login(request, device)
            return redirect(next_url)
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": next_url})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def enrol(request):
    """Add an authenticator app: scan the QR code, type one code to prove it works, and get
    ten recovery codes. Someone who already has an app must verify it before replacing it."""
    user = request.user
    next_url = safe_next(request, default=resolve_url(settings.LOGIN_REDIRECT_URL))
    if _confirmed_totp(user) is not None and not user.is_verified():
        return redirect_to_verify(next_url)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    form = TokenForm(request.POST or None)
    if form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            with transaction.atomic():
                TOTPDevice.objects.filter(user=user, confirmed=True).delete()
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                codes = issue_recovery_codes(user)
            otp_login(request, device)
            return render(
                request,
                "registration/two_factor_codes.html",
                {"codes": codes, "next": next_url, "enrolled": True},
            )
        form.add_error("token", "That code did not match. Type the code your app shows now.")
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": segno.make_qr(device.config_url, error="m").svg_inline(
            border=4, omitsize=True, title="Authenticator set-up code"
        ),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    return render(request, "registration/two_factor_enrol.html", context)


@login_required
@require_POST
def recovery_codes(request):
    """New recovery codes (the old ones stop working), for a verified session only."""
    if not request.user.is_verified():
        return redirect_to_verify(request.path)
    codes = issue_recovery_codes(request.user)
    return render(request, "registration/two_factor_codes.html", {"codes": codes, "next": "/"})


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer once a username or address is locked: when to try again."""
    until = timezone.localtime() + settings.AXES_COOLOFF_TIME
    return render(
        request,
        "registration/locked_out.html",
        {"until": until, "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)},
        status=429,
    )
