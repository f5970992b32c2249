"""Logging filter that keeps calendar-feed secrets out of every log.

A feed token is a password: anyone holding the URL reads the patient's appointments. Django logs
request paths in two places we know of ("Not Found: /feeds/…" from `django.request`, the request
line from `django.server`), and an error report may quote the path too. This filter rewrites
the message of any record that mentions a feed path and drops the attached request, so neither
a console line nor an emailed error report carries the token.
"""

import logging
import re

# A path under /feeds/, and inside it any run of token characters long enough to be (part of)
# a secret. Tokens are 43 characters; ids and words in the other feed URLs are much shorter.
# Percent-encoded characters count as token characters, so an encoded token (%41%42…) is
# redacted as a whole instead of slipping through in pieces shorter than the threshold.
# "/feeds/" itself may arrive percent-encoded (/%66eeds/): Django decodes it and routes it.
_FEED_PATH = re.compile(
    "/" + "".join(f"(?:{ch}|%{ord(ch):02x})" for ch in "feeds") + r"(?:/|%2f)\S*", re.IGNORECASE
)
_SECRET = re.compile(r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9_-]){16,}")


def redact(text: str) -> str:
    return _FEED_PATH.sub(lambda path: _SECRET.sub("[redacted]", path.group()), text)


class RedactFeedTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - logging would print the raw arguments on error
            message, record.args = str(record.msg), ()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
            request = getattr(record, "request", None)
            if request is not None and "/feeds/" in getattr(request, "path", str(request)).lower():
                # AdminEmailHandler would print the full request, path and all.
                record.request = None
        return True
