"""What must never reach output or logs: credentials inside URLs, and Slack response URLs
(anyone holding one can post into the conversation for 30 minutes)."""

from __future__ import annotations

import re

# `user:password@host`, in a URL or in a mistyped one (`redis//:secret@host`).
_URL_CREDENTIALS = re.compile(r"(?P<before>[^\s:@'\"]*):(?P<password>[^\s/:@'\"]+)@(?=[^\s@'\"]+)")
# Slack's response URLs: https://hooks.slack.com/commands/T…/<id>/<token> (and /actions/, /app/),
# also with JSON-escaped slashes, as a DEBUG dump of a payload holds them.
_RESPONSE_URL = re.compile(
    r"https?:(?:\\?/){2}[^\s\"']*?(?:\\?/)(?:commands|actions|app)(?:\\?/)T[A-Z0-9]+(?:\\?/)\d+(?:\\?/)[A-Za-z0-9]+"
)
RESPONSE_URL_MARK = "[response_url]"


def mask_url_credentials(text: str) -> str:
    """`redis://:secret@host` → `redis://:***@host` wherever a URL with a password appears."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['before']}:***@", text)


def redact_response_urls(text: str) -> str:
    return _RESPONSE_URL.sub(RESPONSE_URL_MARK, text)


def redact(text: str) -> str:
    return redact_response_urls(mask_url_credentials(text))
