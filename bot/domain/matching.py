"""Name resolution over a lookup list: exact, then unique prefix, then suggestions.

Pure functions; items are the API's JSON objects (`{id, name, …}`; users also have
`first_name`, `last_name`, `username`, `emails: [{email}]`).
"""

from __future__ import annotations

import bisect
import math
import re
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

from rapidfuzz import fuzz, process

from bot.domain.errors import ResolveError
from bot.domain.packed import PackedItems

Item = dict[str, Any]
MAX_CANDIDATES = 5
LIST_ALL_UP_TO = 25  # short lists (statuses, priorities) are listed in full on error


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


_NOT_ALNUM = re.compile(r"[\W_]+")


def compact(text: str) -> str:
    """`To Do`, `todo` and `to-do` compare equal."""
    return _NOT_ALNUM.sub("", text.casefold())


def _folded(text: str, seen: dict[str, str]) -> str:
    """`text` case-folded, as one object per distinct value in a list (`seen`): an index of
    50 000 users holds each first name once, and an id already in lower case as itself."""
    folded = text.casefold()
    if folded == text:
        folded = text
    return seen.setdefault(folded, folded)


def _aliases(item: Item, is_user: bool, seen: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
    """Every lower-cased form an item answers to: (its names, also without spaces or
    punctuation; its id and emails, matched exactly or by prefix only)."""
    seen = {} if seen is None else seen
    names = [item_name(item)]
    if item.get("label"):
        names.append(str(item["label"]))
    exact = [str(item.get("id", ""))]
    if is_user:
        names.extend(str(item[k]) for k in ("username", "first_name") if item.get(k))
        exact.extend(user_emails(item))
    folded = [_folded(v, seen) for v in names if v]
    squeezed = [seen.setdefault(c, c) for c in map(compact, folded) if c and c not in folded]
    return folded + squeezed, [_folded(v, seen) for v in exact if v]


Label = tuple[str, str]  # (one, many): ("status", "statuses")


def _ambiguous(text: str, what: Label, matches: list[Item], is_user: bool) -> ResolveError:
    label = _user_label if is_user else item_name
    shown = [label(m) for m in matches[:MAX_CANDIDATES]]
    more = f" and {len(matches) - MAX_CANDIDATES} more" if len(matches) > MAX_CANDIDATES else ""
    hint = "use an email or an @mention" if is_user else "type more of the name"
    return ResolveError(f"'{text}' matches several {what[1]}: {', '.join(shown)}{more}; {hint}", shown)


def resolve(text: str, items: Sequence[Item], *, what: Label, is_user: bool = False) -> Item:
    """The one item `text` names: by exact name/id (any alias), then by unique prefix."""
    return NameIndex(items, is_user=is_user).resolve(text, what)


def _plausible(text: str, name: str, score: float) -> bool:
    """A "did you mean" worth saying: close overall, a typo that starts as the name does, or the
    name inside what was typed ("sky-high": High). A shared ending alone is no likeness
    ("urgentest" is not "Lowest", its opposite)."""
    typed, named = text.casefold(), name.casefold()
    return score >= 80 or typed[:1] == named[:1] or named in typed or typed in named


def _no_match(
    text: str, items: Sequence[Item], what: Label, is_user: bool, suggested: list[str] | None = None
) -> ResolveError:
    names = [item_name(i) for i in items] if suggested is None or len(items) <= LIST_ALL_UP_TO else []
    if suggested is None:
        found = process.extract(text, names, scorer=fuzz.WRatio, limit=MAX_CANDIDATES, score_cutoff=60)
        suggested = [match[0] for match in found if _plausible(text, match[0], match[1])]
    suggestions = list(dict.fromkeys(suggested))
    message = f"no {what[0]} matches '{text}'"
    if suggestions:
        message += f"; did you mean {', '.join(suggestions)}?"
    if not items:
        message += f" (this account has no {what[1]})"
    elif len(items) <= LIST_ALL_UP_TO:
        message += f"{' Accepted' if suggestions else '; accepted'}: {', '.join(names)}"
    elif is_user:
        message += f"{' Use' if suggestions else '; use'} an email, a username or an @mention"
    return ResolveError(message, suggestions)


def resolve_email(
    email: str, users: Sequence[Item], *, who: str | None = None, tool: str = "the ticketing tool"
) -> Item:
    """The ticketing user with this email (case-insensitive), or a ResolveError naming `who`."""
    return NameIndex(users, is_user=True).by_email(email, who=who, tool=tool)


def _one_by_email(email: str, matches: list[Item], who: str | None, tool: str) -> Item:
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise _ambiguous(email, ("user", "users"), matches, True)
    person = f" ({who})" if who and who != email else ""
    raise ResolveError(f"no user in {tool} has the email {email}{person}")


def rank(query: str, items: Sequence[Item], *, limit: int = 100, is_user: bool = False) -> list[Item]:
    """Items for a typed prefix: prefix matches, then substring, then similar names."""
    return NameIndex(items, is_user=is_user).rank(query, limit)


SIMILAR = 70  # fuzz.ratio a name needs to be offered as similar


class NameIndex:
    """A list prepared for many look-ups: aliases computed once, prefixes found by bisection."""

    def __init__(self, items: Sequence[Item], *, is_user: bool = False) -> None:
        # Compact: positions and lengths in typed arrays (4 bytes each, where a list holds an
        # int object and a pointer), and one sorted list of aliases serving prefix and exact
        # look-ups alike (50 000 users: 64 → 22 MiB; bench/README.md, "Acks at the floor").
        self.items = items if isinstance(items, PackedItems) else list(items)
        self.is_user = is_user
        seen: dict[str, str] = {}
        forms = [_aliases(item, is_user, seen) for item in self.items]
        self.names = [named[0] for named, _ in forms]  # the folded name, the first alias
        # Every item's names in one string, so a substring search is one pass in C.
        self._offsets = array("I")
        parts: list[str] = []
        position = 0
        for named, _ in forms:
            self._offsets.append(position)
            text = "\x00".join(named) + "\n"
            parts.append(text)
            position += len(text)
        self._corpus = "".join(parts)
        # Similar-name search compares only names of a length that can reach the cut-off.
        self._by_length = array("I", sorted(range(len(self.names)), key=lambda i: len(self.names[i])))
        self._lengths = array("I", (len(self.names[i]) for i in self._by_length))
        keys: list[str] = []
        positions: list[int] = []
        for index, (named, exact) in enumerate(forms):
            for alias in dict.fromkeys(named + exact):
                keys.append(alias)
                positions.append(index)
        order = sorted(range(len(keys)), key=keys.__getitem__)
        self._keys = [keys[i] for i in order]
        self._positions = array("I", (positions[i] for i in order))

    def _exactly(self, alias: str) -> list[int]:
        """Items with this very alias, in list order."""
        found = []
        for position in range(bisect.bisect_left(self._keys, alias), len(self._keys)):
            if self._keys[position] != alias:
                break
            found.append(self._positions[position])
        return sorted(found)

    def _prefixed(self, query: str, limit: int) -> list[int]:
        found: dict[int, None] = {}
        start = bisect.bisect_left(self._keys, query)
        for position in range(start, len(self._keys)):
            if not self._keys[position].startswith(query):
                break
            found.setdefault(self._positions[position])
            if len(found) >= limit:
                break
        return sorted(found)

    def _containing(self, text: str, limit: int, taken: set[int]) -> list[int]:
        """Items with `text` inside a name, in list order, found by scanning the corpus. A
        single character is found with str.find (memchr); longer text with a compiled
        pattern, whose literal scan is about three times faster than str.find on a
        multi-megabyte string when the text is rare or absent."""
        found: list[int] = []
        start = 0
        pattern = re.compile(re.escape(text)) if len(text) > 1 else None
        while len(found) < limit:
            if pattern is None:
                position = self._corpus.find(text, start)
            else:
                match = pattern.search(self._corpus, start)
                position = match.start() if match else -1
            if position < 0:
                break
            index = bisect.bisect_right(self._offsets, position) - 1
            if index not in taken:
                found.append(index)
            start = self._offsets[index + 1] if index + 1 < len(self._offsets) else len(self._corpus)
        return found

    def _similar(self, text: str, limit: int, taken: set[int]) -> list[int]:
        """Names with a fuzz.ratio of at least SIMILAR to `text`, best first. The ratio (one
        minus the indel distance over the summed lengths) cannot reach s% unless the longer
        length is within (200 - s) / s of the shorter, so only those names are compared."""
        spread = (200 - SIMILAR) / SIMILAR
        low = bisect.bisect_left(self._lengths, math.floor(len(text) / spread))
        high = bisect.bisect_right(self._lengths, math.ceil(len(text) * spread))
        candidates = self._by_length[low:high]
        if not candidates:
            return []
        similar = process.extract(
            text,
            [self.names[i] for i in candidates],
            scorer=fuzz.ratio,
            limit=limit + len(taken),
            score_cutoff=SIMILAR,
        )
        found = [candidates[position] for _, _, position in similar]
        return [index for index in found if index not in taken][:limit]

    def by_email(self, email: str, *, who: str | None = None, tool: str = "the ticketing tool") -> Item:
        """The user with this email, exactly (case-insensitive). A user list's emails are among
        its exact aliases, so only the items holding that alias are read (a packed list of
        50 000 is not unpacked for one look-up)."""
        wanted = email.strip().casefold()
        if self.is_user:
            candidates: Iterable[int] = self._exactly(wanted)
        else:
            candidates = range(len(self.items))
        matches = []
        for index in candidates:
            item = self.items[index]
            if any(address.casefold() == wanted for address in user_emails(item)):
                matches.append(item)
        return _one_by_email(email, matches, who, tool)

    def by_ids(self, ids: Iterable[str]) -> dict[str, Item]:
        """The items with these ids (found through the index: a packed list is not unpacked)."""
        found: dict[str, Item] = {}
        for wanted in ids:
            for index in self._exactly(wanted.casefold()):
                item = self.items[index]
                if str(item.get("id")) == wanted:
                    found[wanted] = item
        return found

    def resolve(self, text: str, what: Label) -> Item:
        query = text.strip().casefold()
        if not query:
            raise ResolveError(f"an empty {what[0]} name")
        queries = [q for q in dict.fromkeys([query, compact(query)]) if q]
        exact = sorted({i for q in queries for i in self._exactly(q)})
        if len(exact) == 1:
            return self.items[exact[0]]
        if exact:
            raise _ambiguous(text, what, [self.items[i] for i in exact], self.is_user)
        prefixed = sorted({i for q in queries for i in self._prefixed(q, MAX_CANDIDATES + 100)})
        if len(prefixed) == 1:
            return self.items[prefixed[0]]
        if prefixed:
            raise _ambiguous(text, what, [self.items[i] for i in prefixed], self.is_user)
        raise _no_match(text, self.items, what, self.is_user, self._suggested(text))

    def _suggested(self, text: str) -> list[str] | None:
        """For a long list, the names like `text`, compared with the index's folded names (the
        items themselves are not all read); None for a short one (compared as shown)."""
        if len(self.items) <= LIST_ALL_UP_TO:
            return None
        found = process.extract(
            text.casefold(), self.names, scorer=fuzz.WRatio, limit=MAX_CANDIDATES, score_cutoff=60
        )
        return [item_name(self.items[index]) for name, score, index in found if _plausible(text, name, score)]

    def rank(self, query: str, limit: int = 100) -> list[Item]:
        """Prefix matches, then substring, then similar names; at most `limit`."""
        text = query.strip().casefold()
        if not text:
            return self.items[:limit]
        chosen = self._prefixed(text, limit)
        if len(chosen) < limit:
            chosen += self._containing(text, limit - len(chosen), set(chosen))
        if len(chosen) < limit:
            chosen += self._similar(text, limit - len(chosen), set(chosen))
        return [self.items[i] for i in chosen]
