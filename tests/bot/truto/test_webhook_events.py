"""The unified API's webhook deliveries: signature, envelope, and the ticket they name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.truto.webhook_events import Delivery, parse_time, sign, signature_valid, ticket_event

BODY = b'{"id":"evt_1","event":"record:updated"}'


def test_the_signature_is_the_hmac_of_the_raw_body() -> None:
    header = sign(BODY, "s3cret")
    assert header.startswith("format=sha256,v=") and len(header) == len("format=sha256,v=") + 64
    assert signature_valid(BODY, header, ["s3cret"])
    assert not signature_valid(BODY + b" ", header, ["s3cret"])  # one byte more
    assert not signature_valid(BODY, header, ["other"])


def test_any_configured_secret_verifies_while_rotating() -> None:
    assert signature_valid(BODY, sign(BODY, "old"), ["new", "old"])


@pytest.mark.parametrize(
    "header",
    [None, "", "v=abc", "format=sha1,v=" + "0" * 64, "format=sha256", "x" * 600, "format=sha256,v=zz"],
)
def test_junk_headers_never_verify(header: str | None) -> None:
    assert not signature_valid(BODY, header, ["s3cret"])


def test_no_secret_verifies_nothing() -> None:
    assert not signature_valid(BODY, sign(BODY, ""), [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-09-10 12:00:00", datetime(2024, 9, 10, 12, tzinfo=UTC)),  # the documented form: UTC
        ("2024-09-10T12:00:00Z", datetime(2024, 9, 10, 12, tzinfo=UTC)),
        ("2024-09-10T14:00:00+02:00", datetime(2024, 9, 10, 12, tzinfo=UTC)),
        (1725969600, datetime(2024, 9, 10, 12, tzinfo=UTC)),
        (1725969600000, datetime(2024, 9, 10, 12, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        (True, None),
    ],
)
def test_created_at_in_every_plausible_form(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def delivery(event: str, payload: dict[str, object]) -> Delivery:
    parsed = Delivery.parse({"id": "evt_1", "event": event, "payload": payload, "created_at": 1725969600})
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    "payload",
    [
        {
            "integrated_account_id": "ia-1",
            "resource": "tickets",
            "unified_model": "ticketing",
            "record": {"id": "42"},
        },
        {"integrated_account_id": "ia-1", "resource": "tickets", "model": "ticketing", "id": "42"},
        {"integrated_account_id": "ia-1", "resource": "ticketing/tickets", "record_id": "42"},
        {"integrated_account_id": "ia-1", "resource": "tickets", "resource_id": 42},
    ],
)
def test_every_accepted_payload_shape_names_the_ticket(payload: dict[str, object]) -> None:
    event = ticket_event(delivery("record:updated", payload))
    assert event is not None
    assert (event.integrated_account_id, event.ticket_id, event.action) == ("ia-1", "42", "updated")


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("integrated_account:active", {"integrated_account_id": "ia-1"}),
        ("record:updated", {"integrated_account_id": "ia-1", "resource": "contacts", "id": "42"}),
        (
            "record:updated",
            {"integrated_account_id": "ia-1", "resource": "tickets", "unified_model": "crm", "id": "1"},
        ),
        ("record:updated", {"resource": "tickets", "id": "42"}),  # no account
        ("record:updated", {"integrated_account_id": "ia-1", "resource": "tickets"}),  # no ticket
        ("record:moved", {"integrated_account_id": "ia-1", "resource": "tickets", "id": "42"}),
    ],
)
def test_other_events_name_no_ticket(event: str, payload: dict[str, object]) -> None:
    assert ticket_event(delivery(event, payload)) is None


@pytest.mark.parametrize(
    "data", [[], "x", {"event": "record:updated"}, {"id": "e", "event": 3}, {"id": "", "event": "x"}]
)
def test_bodies_that_are_not_deliveries(data: object) -> None:
    assert Delivery.parse(data) is None
