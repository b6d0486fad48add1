"""The house's shape: the README's map is the tree, and the import contract holds (and would
catch a violation: one is planted in a copy of the tree)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "blocks")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _map_paths() -> set[str]:
    """Every path the README's map names: a tree by indentation, two spaces a level; a line
    may name two modules ("batch.py, cards.py")."""
    readme = (ROOT / "docs" / "architecture.md").read_text()
    built = readme.split("## How it is built", 1)[1].split("### Dependencies", 1)[0]
    tree = built.split("```\n", 1)[1].split("```", 1)[0]
    parents: list[str] = []
    paths: set[str] = set()
    for line in tree.splitlines():
        match = re.match(r"^( *)([^\s,]+(?:, [^\s,]+)*)", line)
        if not match or ("." not in match.group(2) and not match.group(2).endswith("/")):
            continue  # a description's continuation
        depth = len(match.group(1)) // 2
        names = [n.strip() for n in match.group(2).split(",")]
        if not all(n.endswith(("/", ".py")) for n in names):
            continue
        parents = parents[:depth]
        for name in names:
            paths.add("".join(parents) + name)
        if names[0].endswith("/"):
            parents.append(names[0])
    return paths


def _tree_paths() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            relative = path.relative_to(ROOT)
            if path.name == "__init__.py":
                found.add(f"{relative.parent}/")
            else:
                found.add(str(relative))
    return found


def test_the_readme_map_is_the_tree() -> None:
    listed, tree = _map_paths(), _tree_paths()
    assert sorted(tree - listed) == [], "modules the README's map does not name"
    assert sorted(listed - tree) == [], "the README's map names modules that do not exist"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120
    )


def test_the_import_contract_holds() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout and result.stdout.count("KEPT") == 9


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("bot/domain/dates.py", "from bot.store import keys", "The domain is pure"),
        ("bot/domain/refs.py", "import redis", "The domain is pure"),
        ("blocks/card.py", "from bot.service import tickets", "Block Kit builders take domain types only"),
        ("bot/service/audit.py", "import handlers.surface", "Only the composition root"),
        ("bot/store/cache.py", "from bot.service import lookups", "bot's layers, top to bottom"),
        ("handlers/kit/texts.py", "from handlers.kit import surface", "No import cycle"),
        ("handlers/kit/texts.py", "from handlers.jobs import runner", "handlers' rooms"),
        ("handlers/kit/pacing.py", "from handlers.listeners import home", "handlers' rooms"),
        ("handlers/listeners/actions/undo.py", "from handlers.ingress import fast_ack", "handlers' rooms"),
        ("handlers/jobs/digests.py", "import slack_bolt", "know nothing of Bolt"),
        ("handlers/kit/tokens.py", "from slack_bolt import App", "know nothing of Bolt"),
        ("handlers/listeners/actions/undo.py", "from bot.store import keys", "Listeners reach storage"),
        ("handlers/listeners/home/tab.py", "from bot.truto import client", "Listeners reach storage"),
        ("bot/sandbox/changes.py", "from bot.domain import models", "The sandbox implements"),
        ("bot/sandbox/webhooks.py", "from bot.truto import webhook_events", "The sandbox implements"),
    ],
)
def test_a_planted_violation_breaks_the_contract(
    tmp_path: Path, module: str, planted: str, contract: str
) -> None:
    for name in (*PACKAGES, "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    target = tmp_path / module
    text = target.read_text()
    target.write_text(
        text.replace(
            "from __future__ import annotations\n",
            f"from __future__ import annotations\n\n{planted}  # noqa\n",
            1,
        )
    )
    # The copy is analysed, not the installed tree: it comes first on the path.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, '.'); from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout[-3000:]


def test_every_listener_module_registers_itself() -> None:
    listeners = ROOT / "handlers" / "listeners"
    surfaces = sorted(p.name for p in listeners.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert surfaces == ["actions", "commands", "events", "home", "options", "shortcuts", "views"]
    assert sorted(p.name for p in listeners.glob("*.py")) == ["__init__.py"]  # nothing loose
    modules = [p for p in listeners.glob("*/*.py")]
    missing = [str(p.relative_to(listeners)) for p in modules if "\ndef register(" not in p.read_text()]
    assert len(modules) > 20 and missing == []  # every surface's package, and each module in it
    top = sorted(p.name for p in (ROOT / "handlers").glob("*.py"))
    # nothing at the top but composition: the app, each mode's parts, the middleware around listeners
    assert top == ["__init__.py", "app.py", "distributed.py", "middleware.py", "single.py"]


# Listeners that still reach storage or the API client directly: this list may only shrink.
RATCHET = {
    "handlers.listeners.events.unfurls -> bot.store.ack_budget",
    "handlers.listeners.events.unfurls -> bot.store.keys",
    "handlers.listeners.events.installs -> bot.store.purge",
    "handlers.listeners.commands.subscriptions -> bot.store.cache",
    "handlers.listeners.commands.subscriptions -> bot.store.subscriptions",
    "handlers.listeners.views.edit -> bot.truto.errors",
}


def test_the_listeners_exceptions_only_shrink() -> None:
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [listeners] = [c for c in contracts if c["name"].startswith("Listeners reach storage")]
    assert set(listeners.get("ignore_imports", [])) <= RATCHET
