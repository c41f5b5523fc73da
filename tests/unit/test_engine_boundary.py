"""`engine/` alone talks to Docker (DESIGN.md): a module elsewhere that imports aiodocker,
runs the docker command, opens the engine's socket or calls the raw API on an Engine
fails this test, so the rule stays true as the code changes.

The check reads the source (ast), so it sees code paths no test runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "faasbox"
ENGINE = PACKAGE / "engine"
_RAW_API = {"call", "stream"}  # Engine's raw-API methods
_ENGINE_NAMES = {"engine", "_engine"}
# Modules that name Docker without talking to it, each with the reason.
_ALLOWED = {
    "cli/privileges.py": "stats the socket file for its group, to drop root; never connects",
}


def _outside_engine() -> list[Path]:
    return sorted(
        p
        for p in PACKAGE.rglob("*.py")
        if ENGINE not in p.parents and str(p.relative_to(PACKAGE)) not in _ALLOWED
    )


def _is_aiodocker(module: str) -> bool:
    return module.split(".")[0] == "aiodocker"


def _talks_to_docker(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if _is_aiodocker(a.name)]
        elif isinstance(node, ast.ImportFrom) and _is_aiodocker(node.module or ""):
            found.append(f"imports from {node.module}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text == "docker" or text.endswith("/docker") or text.startswith("docker "):
                found.append(f"names the docker command ({text!r})")
            if "docker.sock" in text:
                found.append(f"names the engine's socket ({text!r})")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _RAW_API
        ):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if name in _ENGINE_NAMES:
                found.append(f"calls the raw engine API ({name}.{node.func.attr})")
    return found


@pytest.mark.parametrize("path", _outside_engine(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_engine_talks_to_docker(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    assert _talks_to_docker(tree) == []


@pytest.mark.parametrize(
    "source",
    [
        "import aiodocker",
        "from aiodocker.utils import httpize",
        "import asyncio\nasyncio.create_subprocess_exec('docker', 'manifest', 'push')",
        "import subprocess\nsubprocess.run(['/usr/bin/docker', 'info'])",
        "import os\nos.system('docker ps')",
        "URL = 'unix:///var/run/docker.sock'",
        "async def f(self):\n    await self._engine.call('GET', 'containers/x/json')",
        "async def f(engine):\n    async with engine.stream('POST', 'build'):\n        pass",
    ],
)
def test_the_check_sees_each_way_of_talking_to_docker(source: str) -> None:
    assert _talks_to_docker(ast.parse(source))


def test_the_engine_package_itself_is_allowed() -> None:
    """The rule is about everyone else: engine/ does talk to Docker, so the check would
    flag it; that it does keeps the check honest (it is not blind)."""
    flagged = [p for p in ENGINE.glob("*.py") if _talks_to_docker(ast.parse(p.read_text()))]
    assert ENGINE / "client.py" in flagged
    assert ENGINE / "multiarch.py" in flagged
