"""A long list of items (50 000 users) kept as one compact JSON text per item, each decoded when
it is read.

As dicts, 50 000 users take about 40 MiB in the process (a dict, a list and a dict inside it,
and every string an object of its own); packed, about 9 MiB. What reads them reads few at a
time (a live select's 100 options, one resolved user), through the name index, which holds what
searching needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

Item = dict[str, Any]


def _pack(item: Item) -> bytes:
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()


def _skip_space(text: str, at: int) -> int:
    while text[at] in " \t\n\r":
        at += 1
    return at


class PackedItems(Sequence[Item]):
    def __init__(self, items: Iterable[Item]) -> None:
        self._packed = [_pack(item) for item in items]

    @classmethod
    def from_json_array(cls, text: str, start: int) -> tuple[PackedItems, int]:
        """The items of the JSON array at `text[start]` (its "["), each parsed once to find where
        it ends and kept as its own text; and the position after the array. One item is a
        dict at a time: reading 50 000 users this way never holds them all as dicts."""
        decoder = json.JSONDecoder()
        found = cls([])
        at = _skip_space(text, start + 1)
        if text[at] == "]":
            return found, at + 1
        while True:
            _, end = decoder.raw_decode(text, at)
            found._packed.append(text[at:end].encode())
            at = _skip_space(text, end)
            if text[at] == "]":
                return found, at + 1
            if text[at] != ",":
                raise ValueError(f"expected ',' or ']' at {at}")
            at = _skip_space(text, at + 1)

    @classmethod
    def joined(cls, lists: Sequence[PackedItems]) -> PackedItems:
        """One list of the items of `lists`, in order (a list packed a page at a time)."""
        whole = cls([])
        for part in lists:
            whole._packed.extend(part._packed)
        return whole

    def json_array(self) -> bytes:
        """The items as one JSON array, without unpacking them."""
        return b"[" + b",".join(self._packed) + b"]"

    def __len__(self) -> int:
        return len(self._packed)

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...
    def __getitem__(self, index: int | slice) -> Item | list[Item]:
        """A fresh dict each time: a caller's change never reaches the list."""
        if isinstance(index, slice):
            return [json.loads(raw) for raw in self._packed[index]]
        loaded: Item = json.loads(self._packed[index])
        return loaded

    def __iter__(self) -> Iterator[Item]:
        return (json.loads(raw) for raw in self._packed)
