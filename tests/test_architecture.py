"""The house's rules (issue 11), checked from the source: stages import downwards, no cycles, one name
per module, a model loads without the store, `import laughvid` stays cheap, the app is thin.

Imports are read from the AST (module level and inside functions alike), so a rule cannot be
dodged by a lazy import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "laughvid"
HEAVY = ("onnxruntime", "torch", "streamlit", "cv2")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The laughvid modules `name` imports anywhere in its file; `from a import b` counts a.b when b is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])])
            submodules = {f"{base}.{a.name}" for a in node.names} & known
            found |= submodules
            if len(submodules) < len(node.names):  # some names are attributes of `base` itself
                found.add(base)
    return {m for m in found if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("stage", ["laughvid.pipeline", "laughvid.training"])
def test_pipeline_and_training_do_not_import_the_outer_layers(stage):
    forbidden = ("laughvid.ui", "laughvid.cli", "laughvid.governance")
    wrong = sorted(
        f"{m} imports {i}"
        for m, imported in _graph().items()
        if m == stage or m.startswith(stage + ".")
        for i in imported
        if any(i == f or i.startswith(f + ".") for f in forbidden)
    )
    assert not wrong, wrong


def test_no_two_library_modules_share_a_file_name():
    cli = PACKAGE / "cli"
    names = Counter(p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" and p.parent != cli)
    assert not [n for n, count in names.items() if count > 1]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_loading_a_model_never_opens_the_store():
    done = _run(
        "import sqlite3, sys\n"
        "def refuse(*a, **k): raise AssertionError('sqlite3.connect called while loading a model')\n"
        "sqlite3.connect = refuse\n"
        "from laughvid.config import SHIPPED_MODEL_DIR\n"
        "from laughvid.pipeline.scoring import SmileClassifier\n"
        "SmileClassifier.load(SHIPPED_MODEL_DIR)\n"
        "assert 'laughvid.store' not in sys.modules, 'laughvid.store was imported'\n"
    )
    assert done.returncode == 0, done.stderr


def test_import_laughvid_is_cheap_and_its_public_names_load_on_use():
    done = _run(
        f"import sys, laughvid\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "missing = [n for n in laughvid.__all__ if getattr(laughvid, n, None) is None]\nassert not missing, missing\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_app_is_thin_and_reaches_the_library_through_actions():
    assert len((REPO / "streamlit_app.py").read_text().splitlines()) < 30
    allowed = ("laughvid.ui", "laughvid.types", "laughvid.errors", "laughvid.config")
    graph = _graph()
    wrong = sorted(
        f"{m} imports {i}"
        for m in graph
        if m.startswith("laughvid.ui.") and m != "laughvid.ui.actions"
        for i in graph[m]
        if not any(i == a or i.startswith(a + ".") for a in allowed)
    )
    assert not wrong, wrong
