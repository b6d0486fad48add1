from __future__ import annotations

import pytest

from bot.domain.slack_text import plain_from_slack


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("see <https://ex.com/a?b=1&amp;c=2|the doc>", "see the doc (https://ex.com/a?b=1&c=2)"),
        ("<https://ex.com/x>", "https://ex.com/x"),
        ("<https://ex.com/x|https://ex.com/x>", "https://ex.com/x"),
        ("mail <mailto:ana@ex.com|ana@ex.com>", "mail ana@ex.com"),
        ("in <#C0OPS|ops> and <#C0X>", "in #ops and #channel"),
        ("<!here> and <!channel> <!subteam^S0DEV|@devs>", "@here and @channel @devs"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("thanks <@U0ANA>!", "thanks <@U0ANA>!"),
        ("  two\nlines\u202e  ", "two\nlines"),
        ("due <!date^1765000000^{date}|Dec 6th>", "due Dec 6th"),
    ],
)
def test_slack_entities_become_plain_text(slack: str, plain: str) -> None:
    assert plain_from_slack(slack) == plain
