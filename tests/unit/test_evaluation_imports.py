"""The evaluation package has no import circle: the data module imports no writer, no writer
imports another, and the delivery alone brings them together (the imports of
plugins/ttw/evaluation/*.py, read with ``ast``)."""

from __future__ import annotations

import ast
from pathlib import Path

import ttw.evaluation

PACKAGE = "ttw.evaluation"
FOLDER = Path(ttw.evaluation.__file__).parent
DATA = "data"
WRITERS = {"tables", "html", "pdf"}
DELIVERY = "deliver"


def _imports(path: Path) -> set[str]:
    """The modules of the package that ``path`` imports (at any depth of the file), by short name."""
    modules = {p.stem for p in FOLDER.glob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):  # from ttw.evaluation import html; from .data import x
            base = ".".join(filter(None, (PACKAGE, node.module))) if node.level else (node.module or "")
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            if name.startswith(f"{PACKAGE}."):
                short = name.removeprefix(f"{PACKAGE}.").split(".")[0]
                if short in modules:
                    found.add(short)
    return found


def _graph() -> dict[str, set[str]]:
    return {path.stem: _imports(path) - {path.stem} for path in sorted(FOLDER.glob("*.py"))}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return cycles


def test_the_package_has_its_data_module_writers_and_delivery():
    assert {DATA, DELIVERY, *WRITERS} <= set(_graph())


def test_no_module_of_the_package_imports_in_a_circle():
    cycles = _cycles(_graph())
    assert cycles == [], "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_writers_import_only_the_data_module_and_the_data_module_no_writer():
    graph = _graph()
    wrong = sorted(
        (module, imported)
        for module, imported_ in graph.items()
        for imported in imported_
        if (module in WRITERS and imported != DATA) or (module == DATA and imported in WRITERS | {DELIVERY})
    )
    assert wrong == [], "not allowed: " + ", ".join(f"{a} imports {b}" for a, b in wrong)
    assert graph[DATA] == set()
    assert graph[DELIVERY] >= WRITERS | {DATA}


def test_the_checks_name_the_modules_of_a_circle_or_a_writer_importing_a_writer():
    assert _cycles({"html": {"data", "pdf"}, "pdf": {"html"}, "data": set()}) == [["html", "pdf", "html"]]
    assert _cycles({"deliver": {"html", "data"}, "html": {"data"}, "data": set()}) == []
