"""Confirming a change shown with a preview (issue 10): press "Preview changes", then confirm
with the fingerprint of the preview shown, as a user does."""

import re


def confirm(client, url, data, **extra):
    """POST `data` to a page with a change preview, the way the page is used: preview, then
    confirm what was shown. Returns the confirming response."""
    shown = client.post(url, {**data, "preview": "1"}).content.decode()
    match = re.search(r'name="previewed" value="([0-9a-f]+)"', shown)
    previewed = match[1] if match else ""
    return client.post(url, {**data, "previewed": previewed}, **extra)
