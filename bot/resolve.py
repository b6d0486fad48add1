"""Name resolution over a lookup list: exact, then unique prefix, then suggestions.

Pure functions; items are the API's JSON objects (`{id, name, …}`; users also have
`first_name`, `last_name`, `username`, `emails: [{email}]`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rapidfuzz import fuzz, process

Item = dict[str, Any]
MAX_CANDIDATES = 5
LIST_ALL_UP_TO = 25  # short lists (statuses, priorities) are listed in full on error


class ResolveError(ValueError):
    """A name matched nothing, or too much; the message says what would be accepted."""

    def __init__(self, message: str, candidates: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.candidates = list(candidates)


def item_name(item: Item) -> str:
    name = item.get("name")
    if name:
        return str(name)
    full = " ".join(str(item[k]) for k in ("first_name", "last_name") if item.get(k))
    return full or str(item.get("label") or item.get("id") or "?")


def user_emails(item: Item) -> list[str]:
    emails = []
    for entry in item.get("emails") or []:
        email = entry.get("email") if isinstance(entry, dict) else entry
        if email:
            emails.append(str(email))
    if item.get("email"):
        emails.append(str(item["email"]))
    return emails


def _user_label(item: Item) -> str:
    emails = user_emails(item)
    return f"{item_name(item)} ({emails[0]})" if emails else item_name(item)


def _compact(text: str) -> str:
    """`To Do`, `todo` and `to-do` compare equal."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _aliases(item: Item, is_user: bool) -> list[str]:
    values = [item_name(item), str(item.get("id", ""))]
    if item.get("label"):
        values.append(str(item["label"]))
    if is_user:
        values.extend(str(item[k]) for k in ("username", "first_name") if item.get(k))
        values.extend(user_emails(item))
    folded = [v.casefold() for v in values if v]
    return folded + [c for c in (_compact(v) for v in folded) if c and c not in folded]


def _unique(items: Iterable[Item]) -> list[Item]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = str(item.get("id"))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


Label = tuple[str, str]  # (one, many): ("status", "statuses")


def _ambiguous(text: str, what: Label, matches: list[Item], is_user: bool) -> ResolveError:
    label = _user_label if is_user else item_name
    shown = [label(m) for m in matches[:MAX_CANDIDATES]]
    more = f" and {len(matches) - MAX_CANDIDATES} more" if len(matches) > MAX_CANDIDATES else ""
    hint = "use an email or an @mention" if is_user else "type more of the name"
    return ResolveError(f"'{text}' matches several {what[1]}: {', '.join(shown)}{more}; {hint}", shown)


def resolve(text: str, items: Sequence[Item], *, what: Label, is_user: bool = False) -> Item:
    """The one item `text` names: by exact name/id (any alias), then by unique prefix."""
    query = text.strip().casefold()
    if not query:
        raise ResolveError(f"an empty {what[0]} name")
    queries = {query, _compact(query)} - {""}
    exact = _unique(i for i in items if queries & set(_aliases(i, is_user)))
    if len(exact) == 1:
        return exact[0]
    if exact:
        raise _ambiguous(text, what, exact, is_user)
    prefixed = _unique(
        i for i in items if any(a.startswith(q) for a in _aliases(i, is_user) for q in queries)
    )
    if len(prefixed) == 1:
        return prefixed[0]
    if prefixed:
        raise _ambiguous(text, what, prefixed, is_user)
    raise _no_match(text, items, what, is_user)


def _no_match(text: str, items: Sequence[Item], what: Label, is_user: bool) -> ResolveError:
    names = [item_name(i) for i in items]
    found = process.extract(text, names, scorer=fuzz.WRatio, limit=MAX_CANDIDATES, score_cutoff=60)
    suggestions = list(dict.fromkeys(match[0] for match in found))
    message = f"no {what[0]} matches '{text}'"
    if suggestions:
        message += f"; did you mean {', '.join(suggestions)}?"
    if not items:
        message += f" (this account has no {what[1]})"
    elif len(items) <= LIST_ALL_UP_TO:
        message += f"{'' if suggestions else ';'} accepted: {', '.join(names)}"
    elif is_user:
        message += f"{'' if suggestions else ';'} use an email, a username or an @mention"
    return ResolveError(message, suggestions)


def resolve_email(email: str, users: Sequence[Item], *, who: str | None = None) -> Item:
    """The ticketing user with this email (case-insensitive), or a ResolveError naming `who`."""
    wanted = email.strip().casefold()
    matches = _unique(u for u in users if wanted in (e.casefold() for e in user_emails(u)))
    if len(matches) == 1:
        return matches[0]
    person = who or email
    if matches:
        raise _ambiguous(email, ("user", "users"), matches, True)
    raise ResolveError(f"no user in the ticketing tool has the email {email} ({person})")


def rank(query: str, items: Sequence[Item], *, limit: int = 100, is_user: bool = False) -> list[Item]:
    """Items for a typed prefix: prefix matches, then substring, then similar names."""
    text = query.strip().casefold()
    if not text:
        return list(items[:limit])
    prefix: list[Item] = []
    inside: list[Item] = []
    rest: list[Item] = []
    for item in items:
        aliases = _aliases(item, is_user)
        if any(a.startswith(text) for a in aliases):
            prefix.append(item)
        elif any(text in a for a in aliases):
            inside.append(item)
        else:
            rest.append(item)
    ranked = prefix + inside
    if len(ranked) < limit and rest:
        names = [item_name(i) for i in rest]
        similar = process.extract(
            text, names, scorer=fuzz.ratio, processor=str.casefold, limit=limit - len(ranked), score_cutoff=70
        )
        ranked += [rest[index] for _, _, index in similar]
    return ranked[:limit]
