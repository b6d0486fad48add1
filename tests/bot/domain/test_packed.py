"""Long lists packed (bot/domain/packed.py) answer as the dicts they were made from, and the name
index over them answers as over a plain list."""

from __future__ import annotations

import json

import pytest

from bot.domain.errors import ResolveError
from bot.domain.matching import NameIndex
from bot.domain.packed import PackedItems

USERS = [
    {
        "id": f"U{i:04d}",
        "name": f"{first} Costa {i}",
        "first_name": first,
        "username": f"{first.lower()}{i}",
        "emails": [{"email": f"{first.lower()}.{i}@acme.example", "type": "work"}],
    }
    for i, first in enumerate(["Ana", "Bruno", "Carla", "Diogo", "Élia"] * 600)
]


def test_packed_items_read_back_as_dicts_fresh_each_time() -> None:
    packed = PackedItems(USERS)
    assert len(packed) == 3000
    assert packed[4] == USERS[4] and packed[-1] == USERS[-1]
    assert packed[10:13] == USERS[10:13]
    assert list(packed) == USERS
    packed[0]["name"] = "changed"
    assert packed[0]["name"] == "Ana Costa 0"  # a caller's change never reaches the list


@pytest.mark.parametrize("query", ["", "a", "ana", "élia", "costa 1", "bruno12", "u0007", "zq", "carl"])
def test_the_index_ranks_a_packed_list_as_a_plain_one(query: str) -> None:
    plain, packed = NameIndex(USERS, is_user=True), NameIndex(PackedItems(USERS), is_user=True)
    assert packed.rank(query, limit=50) == plain.rank(query, limit=50)


def test_resolution_and_ids_over_a_packed_list() -> None:
    index = NameIndex(PackedItems(USERS), is_user=True)
    assert index.resolve("diogo3", ("user", "users"))["id"] == "U0003"
    assert index.by_email("ÉLIA.4@acme.example")["id"] == "U0004"
    assert index.by_ids(["U0002", "U2999", "U9999"]) == {"U0002": USERS[2], "U2999": USERS[2999]}


def test_a_long_list_suggests_names_without_reading_every_item() -> None:
    index = NameIndex(PackedItems(USERS), is_user=True)
    with pytest.raises(ResolveError) as refused:
        index.resolve("brunoo costa 15", ("user", "users"))
    assert str(refused.value) == (
        "no user matches 'brunoo costa 15'; did you mean Bruno Costa 151, Bruno Costa 156, "
        "Bruno Costa 1, Bruno Costa 1051, Bruno Costa 1056? Use an email, a username or an @mention"
    )


def test_lists_packed_in_parts_join_into_one() -> None:
    whole = PackedItems.joined([PackedItems(USERS[:1000]), PackedItems(USERS[1000:2500]), PackedItems([])])
    assert len(whole) == 2500 and whole[999] == USERS[999] and whole[1000] == USERS[1000]
    assert whole[2499] == USERS[2499]
    assert json.loads(whole.json_array()) == USERS[:2500]
