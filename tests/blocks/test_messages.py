"""The help's examples: in the channel's own terms, with only what its tool can change."""

from __future__ import annotations


def test_help_examples_use_only_fields_the_tool_can_change() -> None:
    from blocks.messages import tool_examples

    everything = [cmd for cmd, _ in tool_examples("ENG", ["Todo", "In Progress"], ["Urgent"])]
    assert 'ENG-42 assignee=@ana tags+=backend due="next friday"' in everything  # dates quoted
    without_dates = tool_examples("ENG", ["Todo"], ["Urgent"], {"status", "priority", "assignees", "tags"})
    assert not any("due" in cmd for cmd, _ in without_dates)
    assert ("ENG-42 assignee=@ana tags+=backend", "assign, add a tag") in without_dates
    read_only = [cmd for cmd, _ in tool_examples("ENG", ["Todo"], ["Urgent"], set())]
    assert read_only == ["show ENG-42", "ENG-42"]
