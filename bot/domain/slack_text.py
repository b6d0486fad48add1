"""A Slack message's text as plain text for a tool's comment: Slack's entities written out.

Slack sends `<https://x|label>` for a link, `<#C123|name>` for a channel, `<!here>` and
`<!subteam^S1|@team>` for broadcasts and groups, and escapes `&`, `<` and `>`. People's mentions
(`<@U123>`) are left for the service, which names them as the tool's users.
"""

from __future__ import annotations

import re

from bot.domain.sanitize import clean_text

_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+(?:\|([^>]*))?>")
_GROUP = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_BROADCAST = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_DATE = re.compile(r"<!date\^[0-9]+\^[^|>]*\|([^>]*)>")


def _link(found: re.Match[str]) -> str:
    url, label = found.group(1), found.group(2)
    if not label or label == url or url == f"mailto:{label}":
        return url.removeprefix("mailto:") if url.startswith("mailto:") else url
    return f"{label} ({url})"


def plain_from_slack(text: str) -> str:
    """Links as "label (url)", channels as #name, broadcasts as @here, entities unescaped; people's
    mentions kept as `<@U…>`."""
    text = _LINK.sub(_link, text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1) or 'channel'}", text)
    text = _GROUP.sub(lambda m: m.group(1) or "@group", text)
    text = _BROADCAST.sub(lambda m: f"@{m.group(1)}", text)
    text = _DATE.sub(lambda m: m.group(1), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return clean_text(text, multiline=True).strip()
