"""A long list of items (50 000 users) kept as one compact JSON text per item, each decoded when
it is read.

As dicts, 50 000 users take about 40 MiB in the process (a dict, a list and a dict inside it,
and every string an object of its own); packed, about 9 MiB. What reads them reads few at a
time (a live select's 100 options, one resolved user), through the name index, which holds what
searching needs.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

Item = dict[str, Any]


def _pack(item: Item) -> bytes:
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()


class PackedItems(Sequence[Item]):
    """The texts end to end in one bytes object, with where each starts: one allocation of its
    own (outside the small-object heap), so it leaves no holes among the index's strings."""

    def __init__(self, items: Iterable[Item]) -> None:
        parts = [_pack(item) for item in items]
        self._starts = array("I", [0])
        for part in parts:
            self._starts.append(self._starts[-1] + len(part))
        self._blob = b"".join(parts)

    @classmethod
    def joined(cls, lists: Sequence[PackedItems]) -> PackedItems:
        """One list of the items of `lists`, in order (a list packed a page at a time)."""
        whole = cls([])
        for part in lists:
            base = whole._starts[-1]
            whole._starts.extend(base + start for start in part._starts[1:])
        whole._blob = b"".join(part._blob for part in lists)
        return whole

    def json_array(self) -> bytes:
        """The items as one JSON array, without unpacking them."""
        texts = (self._blob[self._starts[i] : self._starts[i + 1]] for i in range(len(self)))
        return b"[" + b",".join(texts) + b"]"

    def __len__(self) -> int:
        return len(self._starts) - 1

    def _at(self, index: int) -> Item:
        loaded: Item = json.loads(self._blob[self._starts[index] : self._starts[index + 1]])
        return loaded

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...
    def __getitem__(self, index: int | slice) -> Item | list[Item]:
        """A fresh dict each time: a caller's change never reaches the list."""
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("packed item index out of range")
        return self._at(index)

    def __iter__(self) -> Iterator[Item]:
        return (self._at(i) for i in range(len(self)))
