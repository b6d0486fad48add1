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


# Credentials a tool's error text may echo back: `Authorization: Bearer …` / `Basic …`, key=value
# pairs named like secrets (api_key=, token=, bot_access_token=, password=, …), and well-known
# token shapes (Slack's xox…, xapp- and a workflow step's xwfp-, Stripe-style sk_live_/sk_test_).
# The value is masked; the name stays, for meaning.
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
_SECRET_PAIR = re.compile(
    r"\b((?:[a-z]+_)*"  # a prefix: bot_access_token, slack_client_secret
    r"(?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|token|secret|client[_-]?secret|password|passwd|pwd)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;]{3,})",
    re.IGNORECASE,
)
_TOKEN_SHAPES = re.compile(
    r"\b(?:xox[a-z]-[A-Za-z0-9.-]{8,}|xapp-[A-Za-z0-9-]{8,}|xwfp-[A-Za-z0-9-]{8,}"
    r"|sk_(?:live|test)_[A-Za-z0-9]{8,})"
)
MASK = "***"


def mask_secrets(text: str) -> str:
    """Credentials in free text (an error a tool sent back, a header echoed in a message) masked."""
    text = _AUTH_SCHEME.sub(lambda m: f"{m[1]} {MASK}", text)
    text = _SECRET_PAIR.sub(lambda m: f"{m[1]}{MASK}", text)
    return _TOKEN_SHAPES.sub(MASK, text)


def redact(text: str) -> str:
    return mask_secrets(redact_response_urls(mask_url_credentials(text)))
