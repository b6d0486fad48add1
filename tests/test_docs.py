"""The README is a front door and docs/ the manual: every `ticketbot …` command either shows
is one the CLI takes (parsed by its own parser), and every link between them resolves."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bot.cli.main import _parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def _commands() -> list[tuple[str, str]]:
    """(page, command) for every `ticketbot …` line in a code block or inline code."""
    found = []
    for page in PAGES:
        text = page.read_text()
        blocks = re.findall(r"```(?:sh|bash)?\n(.*?)```", text, re.S)
        lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
        candidates = [line for line in lines if "`" not in line]  # a map's descriptions quote names
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        candidates += re.findall(r"`((?:[A-Z_]+=\S+ )*ticketbot [^`\n]*)`", prose)
        for line in candidates:
            line = line.split(" #", 1)[0].strip()
            # A placeholder (…, <x>, [--flag], a|b) is a pattern, not a command to run.
            if "ticketbot " not in line or any(c in line for c in "…<[|"):
                continue
            starts = [m.start() for m in re.finditer(r"ticketbot (?=[a-z])", line)]
            command = line[starts[-1] :]
            for end in (" && ", ";", ")", " &"):
                command = command.split(end, 1)[0]
            found.append((page.name, command.strip().rstrip("&").strip()))
    return found


def test_the_readme_is_a_front_door() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) < 300


@pytest.mark.parametrize(("page", "command"), _commands())
def test_every_command_shown_is_one_the_cli_takes(page: str, command: str) -> None:
    words = [w for w in shlex.split(command)[1:] if not _ENV.match(w)]
    try:
        _parser().parse_args(words)
    except SystemExit as exc:  # --help exits 0: a command it takes
        if exc.code != 0:
            raise AssertionError(f"{page}: `{command}` is not a command ticketbot takes") from exc


def test_links_between_the_pages_resolve() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(((?:docs/)?[a-z_-]+\.md)\)", page.read_text()):
            assert (page.parent / target).exists() or (ROOT / target).exists(), f"{page.name} → {target}"
