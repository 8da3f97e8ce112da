"""The runtime package imports nothing of the development tooling: no module of plugins/ttw
imports ``ttw_dev`` (read with ``ast``: import statements at any depth of a file, and
``importlib.import_module`` or ``__import__`` of a literal name). The tooling adds its commands
to ``ttw`` through an entry point, so the runtime wheel runs without it."""

from __future__ import annotations

import ast
from pathlib import Path

import ttw

TOOLING = "ttw_dev"
RUNTIME = Path(ttw.__file__).parent


def _tooling_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of each import of the tooling in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        else:
            continue
        found += [(node.lineno, name) for name in names if name == TOOLING or name.startswith(f"{TOOLING}.")]
    return found


def test_no_runtime_module_imports_the_tooling():
    wrong = [
        f"{path.relative_to(RUNTIME.parent)}:{line} imports {name}"
        for path in sorted(RUNTIME.rglob("*.py"))
        for line, name in _tooling_imports(path.read_text(encoding="utf-8"))
    ]
    assert wrong == [], "the runtime package imports the tooling: " + "; ".join(wrong)


def test_the_check_finds_every_form_of_import():
    source = "\n".join(
        (
            "import ttw_dev",
            "from ttw_dev.generate import generate",
            "def f():",
            "    import ttw_dev.bench.load as load",
            "    importlib.import_module('ttw_dev.demo')",
            "from ttw import dataset",
            "import ttw_development",
        )
    )
    assert _tooling_imports(source) == [
        (1, "ttw_dev"),
        (2, "ttw_dev.generate"),
        (4, "ttw_dev.bench.load"),
        (5, "ttw_dev.demo"),
    ]
