"""Name resolution: exact, unique prefix, suggestions; users by id, email, name or username."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from bot.domain.errors import ResolveError
from bot.domain.matching import SIMILAR, NameIndex, resolve, resolve_email

STATUS = ("status", "statuses")
USER = ("user", "users")
STATUSES = [
    {"id": "1", "name": "To Do"},
    {"id": "2", "name": "In Progress"},
    {"id": "3", "name": "In Review"},
    {"id": "4", "name": "Done"},
]
USERS = [
    {"id": "u1", "name": "Ana Lima", "username": "ana", "emails": [{"email": "ana@acme.example"}]},
    {"id": "u2", "name": "Ana Souza", "username": "asouza", "emails": [{"email": "ana.souza@acme.example"}]},
    {
        "id": "u3",
        "first_name": "Bruno",
        "last_name": "Costa",
        "emails": [{"email": "bruno@acme.example"}, {"email": "B.Costa@Home.example"}],
    },
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("done", "4"),
        ("DONE", "4"),
        ("  in progress ", "2"),
        ("3", "3"),
        ("to", "1"),
        ("in p", "2"),
        ("d", "4"),
    ],
)
def test_status_resolution(text: str, expected: str) -> None:
    assert resolve(text, STATUSES, what=STATUS)["id"] == expected


def test_ambiguous_prefix_lists_candidates() -> None:
    with pytest.raises(ResolveError) as caught:
        resolve("in", STATUSES, what=STATUS)
    assert (
        caught.value.message == "'in' matches several statuses: In Progress, In Review; type more of the name"
    )
    assert caught.value.candidates == ["In Progress", "In Review"]


def test_no_match_suggests_and_lists_short_lists() -> None:
    with pytest.raises(ResolveError) as caught:
        resolve("Dne", STATUSES, what=STATUS)
    assert caught.value.message == (
        "no status matches 'Dne'; did you mean Done? Accepted: To Do, In Progress, In Review, Done"
    )
    with pytest.raises(ResolveError, match="no status matches 'finished'; accepted: To Do, In Progress"):
        resolve("finished", STATUSES, what=STATUS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("u2", "u2"),
        ("ana", "u1"),  # exact username beats the prefix of "Ana Souza"
        ("asouza", "u2"),
        ("ana lima", "u1"),
        ("bruno costa", "u3"),
        ("bruno", "u3"),
        ("b.costa@home.example", "u3"),
        ("ana.souza@acme.example", "u2"),
    ],
)
def test_user_resolution(text: str, expected: str) -> None:
    assert resolve(text, USERS, what=USER, is_user=True)["id"] == expected


def test_ambiguous_users_show_emails() -> None:
    with pytest.raises(ResolveError) as caught:
        resolve("an", USERS, what=USER, is_user=True)
    assert caught.value.message == (
        "'an' matches several users: Ana Lima (ana@acme.example), Ana Souza (ana.souza@acme.example); "
        "use an email or an @mention"
    )


def test_at_most_five_candidates_are_listed() -> None:
    many = [{"id": str(i), "name": f"Team {i}"} for i in range(9)]
    with pytest.raises(ResolveError) as caught:
        resolve("team", many, what=("team", "teams"))
    assert len(caught.value.candidates) == 5
    assert caught.value.message.endswith("Team 4 and 4 more; type more of the name")


def test_resolve_email_is_exact_and_case_insensitive() -> None:
    assert resolve_email("ANA@acme.example", USERS)["id"] == "u1"
    with pytest.raises(
        ResolveError, match=r"no user in the ticketing tool has the email zed@x.example \(@zed\)"
    ):
        resolve_email("zed@x.example", USERS, who="@zed")
    with pytest.raises(ResolveError) as caught:  # the email typed: said once, the tool named
        resolve_email("nobody@nowhere.example", USERS, who="nobody@nowhere.example", tool="Jira")
    assert caught.value.message == "no user in Jira has the email nobody@nowhere.example"


def test_empty_list_says_so() -> None:
    with pytest.raises(ResolveError, match=r"no status matches 'x' \(this account has no statuses\)"):
        resolve("x", [], what=STATUS)


WORD = st.text(alphabet="abcdeé -", min_size=1, max_size=10)


@given(query=WORD, affixes=st.lists(st.tuples(WORD, WORD, st.integers(0, 10)), min_size=1, max_size=30))
@settings(max_examples=300)
def test_similar_names_skip_only_lengths_that_cannot_match(
    query: str, affixes: list[tuple[str, str, int]]
) -> None:
    """Comparing only names of a reachable length finds what comparing every name finds
    (names are the query cut and padded, so many sit near the cut-off)."""
    names = [f"{before}{query[:cut]}{after}" for before, after, cut in affixes]
    index = NameIndex([{"id": str(n), "name": name} for n, name in enumerate(names)])
    text = query.casefold()
    everything = {
        position
        for _, score, position in process.extract(text, index.names, scorer=fuzz.ratio, limit=None)
        if score >= SIMILAR
    }
    assert set(index._similar(text, len(names), set())) == everything


def test_ids_and_emails_match_by_prefix_not_inside() -> None:
    users = [
        {"id": "u1", "name": "Ana Lima", "emails": [{"email": "ana@example.com"}]},
        {"id": "u2", "name": "Rex Stone", "emails": [{"email": "rex@acme.example"}]},
    ]
    index = NameIndex(users, is_user=True)
    assert [u["id"] for u in index.rank("x")] == ["u2"]  # in a name, not in "example"
    assert [u["id"] for u in index.rank("ana@")] == ["u1"]  # an email by its start
    assert [u["id"] for u in index.rank("lima")] == ["u1"]  # inside a name


def test_text_inside_names_is_matched_literally() -> None:
    items = [
        {"id": "t1", "name": "backend (api)"},
        {"id": "t2", "name": "a.b.c"},
        {"id": "t3", "name": "abc"},
        {"id": "t4", "name": "x+y"},
    ]
    index = NameIndex(items)
    assert [i["id"] for i in index.rank("(api")] == ["t1"]
    assert [i["id"] for i in index.rank(".b.")] == ["t2"]  # not "abc": a dot is a dot
    assert [i["id"] for i in index.rank("+y")] == ["t4"]
    assert [i["id"] for i in index.rank("c")] == ["t1", "t2", "t3"]  # one character: in list order
