"""The public addresses of calendar feeds: what a letter prints and a command shows."""

from django.conf import settings
from django.urls import reverse


def feed_url(raw_token: str, *, staff: bool = False) -> str:
    name = "feeds:staff_feed" if staff else "feeds:patient_feed"
    return settings.SITE_URL + reverse(name, kwargs={"token": raw_token})


def subscribe_url(raw_token: str) -> str:
    return settings.SITE_URL + reverse("feeds:subscribe", kwargs={"token": raw_token})


def webcal_url(url: str) -> str:
    """The same link with the webcal scheme, which makes Apple Calendar and Outlook subscribe."""
    return "webcal://" + url.split("://", 1)[1]
