"""Messages read as sentences, whatever rule produced them."""

from __future__ import annotations

import pytest

from blocks.text import sentence


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("unknown field 'priorty'", "Unknown field 'priorty'."),
        ("priority: no priority matches 'sky'", "Priority: no priority matches 'sky'."),
        ("did you mean 'priority'?", "Did you mean 'priority'?"),
        ("cf.points: takes a number", "cf.points: takes a number."),  # a name as typed stays
        ("PROJ-9 was not found", "PROJ-9 was not found."),
        ("ticketbot can't take this right now.", "ticketbot can't take this right now."),
        ("Already a sentence.", "Already a sentence."),
        ("(see the logs)", "(see the logs)."),
        ("Done (see the logs.)", "Done (see the logs.)"),
    ],
)
def test_a_message_becomes_a_sentence(said: str, shown: str) -> None:
    assert sentence(said) == shown
