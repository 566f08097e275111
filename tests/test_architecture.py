"""The shape of the house, read from the source (issue 13): sizes, import circles, layers, private names,
one definition of shared pieces.

Nothing here imports the package under test: every rule reads ``workbench/**/*.py`` with :mod:`ast`
and ``widgets/*.js`` as text, so it takes about a second and can read any tree. It reads the
tree this file is in, or the one named by ``WORKBENCH_SOURCE_ROOT`` (a folder holding ``workbench/``
and ``widgets/``)::

    WORKBENCH_SOURCE_ROOT=/path/to/other/checkout pytest tests/test_architecture.py

What counts as an import
------------------------
Every ``import`` and ``from ... import`` statement in a module, wherever it is: at the top, inside a
function or method (an import run on first use is still a dependency), under ``try``. Relative
imports are resolved against the module's package. ``from package import name`` depends on the
module ``package.name`` when that is a module of the tree, else on ``package`` itself (as grimp,
the graph behind import-linter, counts it). Imports under ``if TYPE_CHECKING:`` are *not* counted: they never run, they
only give a type checker the names used in annotations. Imports made by ``importlib`` at run time are
not seen.

The rules
---------
- no module over :data:`MAX_MODULE_LINES` lines, no class over :data:`MAX_CLASS_LINES` (``class``
  line to last line);
- no import circle between modules;
- the layers of :data:`LAYERS`: each unit (a top-level module or subpackage of ``workbench``) imports
  only units of lower layers, and of its own layer only those the layer allows;
- no module takes a private name from another unit: ``from workbench.x import _name``, an import of a
  private module (``workbench.x._mod``), or ``Name._attr`` where ``Name`` was imported from another
  unit (a module, a class such as ``AnnotationTable._from_valid``, a function);
- ``OUTCOME_COLOURS`` is assigned at module level exactly once in ``workbench/``;
- in ``widgets/*.js`` the helpers ``fmt``, ``parseTime`` and ``el`` are each defined exactly once
  (``function name(``, ``const name = (...) =>`` or ``= function``, exported or not).

Run ``python tests/test_architecture.py [SOURCE_ROOT]`` for the layer table in Markdown (the one the
architecture page shows), the largest modules and classes, the import graph between units, and every
violation; ``python tests/test_architecture.py --layers`` for the table alone.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import pytest

# -- the rules, as data ----------------------------------------------------------------------------

MAX_MODULE_LINES = 1200
MAX_CLASS_LINES = 600


class Layer(NamedTuple):
    """A row of :data:`LAYERS`: a name, its units, which imports among them are allowed, what lives there."""

    name: str
    units: tuple[str, ...]
    peers: Literal["any"] | tuple[tuple[str, str], ...]  # "any", or the allowed (importer, imported) pairs
    what: str


#: The layers of ``workbench/``, bottom to top. A unit is a top-level module or subpackage of
#: ``workbench`` (``store`` covers ``workbench.store.*``; ``workbench`` is the package's own
#: ``__init__``). A unit imports units of lower layers, never of higher ones; within its own layer, any
#: unit (``"any"``) or only the listed pairs (an empty tuple: the units are independent peers).
#: This table is the one docs/architecture.md shows (``python tests/test_architecture.py --layers``).
LAYERS: tuple[Layer, ...] = (
    Layer(
        "core",
        ("errors", "util", "model", "scheme", "annotations", "deidentify", "instruments"),
        "any",
        "errors, small helpers, domain records, the coding scheme, AnnotationTable, de-identification, "
        "outcome instruments",
    ),
    Layer(
        "services",
        ("store", "media", "io", "analysis"),
        (("analysis", "io"),),
        "persistence (SQLAlchemy, Alembic), OpenCV media, interchange formats, pure analyses: "
        "peers on the core (analysis reads rMEA's text files through io's bounded reader)",
    ),
    Layer(
        "facade",
        ("project", "workbench"),
        (("workbench", "project"),),
        "Project and open_project: the store combined with media; the package's lazy front door",
    ),
    Layer(
        "builders",
        ("charts", "charts_3d", "batch", "report", "ui"),
        (
            ("charts_3d", "charts"),
            ("report", "charts"),
            ("report", "charts_3d"),
            ("ui", "charts"),
            ("ui", "charts_3d"),
        ),
        "chart builders, batch jobs on Dask, notebook reports and packs, widgets and the review state",
    ),
    Layer("entry points", ("app", "demo", "cli", "__main__"), "any", "the practitioners' app, the demo, the CLI"),
)

#: Assigned at module level exactly once in ``workbench/``.
DEFINED_ONCE = ("OUTCOME_COLOURS",)
#: Defined exactly once in ``widgets/*.js``.
JS_HELPERS = ("fmt", "parseTime", "el")


def source_root() -> Path:
    """The tree to read: ``WORKBENCH_SOURCE_ROOT`` or the checkout this file is in."""
    return Path(os.environ.get("WORKBENCH_SOURCE_ROOT") or Path(__file__).resolve().parents[1])


def layer_of() -> dict[str, int]:
    """Each unit's layer (its index in :data:`LAYERS`)."""
    return {unit: i for i, layer in enumerate(LAYERS) for unit in layer.units}


def allowed_sideways(importer: str, imported: str) -> bool:
    """Whether ``importer`` may import ``imported``, a unit of its own layer."""
    peers = LAYERS[layer_of()[importer]].peers
    return peers == "any" or (importer, imported) in peers


def layers_markdown() -> str:
    """:data:`LAYERS` as the Markdown table of the architecture page, top layer first."""
    lines = [
        "| layer | units | imports within the layer | what lives there |",
        "| --- | --- | --- | --- |",
    ]
    for i, layer in reversed(list(enumerate(LAYERS))):
        peers = "any" if layer.peers == "any" else "; ".join(f"{a} -> {b}" for a, b in layer.peers) or "none"
        lines.append(f"| {i} {layer.name} | {', '.join(layer.units)} | {peers} | {layer.what} |")
    lines += [
        "",
        "A unit imports units of lower layers, never of higher ones (imports inside functions count; imports",
        "under `if TYPE_CHECKING:` do not).",
    ]
    return "\n".join(lines)


# -- reading the tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One import statement's dependency of ``source`` on ``target`` (both modules of the tree)."""

    source: str
    target: str
    line: int
    names: tuple[str, ...] = ()  # the names taken by ``from target import ...`` (not the submodules)
    bound: tuple[str, ...] = ()  # the local names it binds to objects of ``target``
    in_function: bool = False
    private_module: bool = False  # ``target`` (or the module named) has a ``_private`` part


@dataclass
class Module:
    """A module of the tree: its name, file, lines and syntax tree."""

    name: str
    path: Path
    lines: int
    tree: ast.Module
    is_package: bool

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass
class Tree:
    """Every module of ``workbench/`` and every import between them."""

    root: Path
    modules: dict[str, Module] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)
    attributes: list[tuple[str, int, str, str]] = field(default_factory=list)  # module, line, name, attr

    def graph(self) -> dict[str, set[str]]:
        """Module -> the modules it imports."""
        out: dict[str, set[str]] = {m: set() for m in self.modules}
        for imp in self.imports:
            if imp.target != imp.source:
                out[imp.source].add(imp.target)
        return out


def unit(module: str) -> str:
    """The top-level unit a module belongs to: ``workbench.store.project`` -> ``store``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _module_name(package_dir: Path, path: Path) -> tuple[str, bool]:
    rel = path.relative_to(package_dir.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Visitor(ast.NodeVisitor):
    """Collects a module's imports (not those under ``if TYPE_CHECKING:``) and ``name._attr`` uses."""

    def __init__(self, tree: Tree, module: Module) -> None:
        self.tree = tree
        self.module = module
        self.depth = 0  # functions we are inside
        self.imported: dict[str, str] = {}  # local name -> module it came from (in the tree)

    # -- scopes
    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    # -- imports
    def _resolve(self, name: str) -> str | None:
        """The longest module of the tree that ``name`` is or is inside of."""
        parts = name.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in self.tree.modules:
                return candidate
            parts.pop()
        return None

    def _add(
        self,
        target: str,
        node: ast.stmt,
        *,
        names: tuple[str, ...] = (),
        bound: tuple[str, ...] = (),
        private_module: bool = False,
    ) -> None:
        self.tree.imports.append(
            Import(self.module.name, target, node.lineno, names, bound, self.depth > 0, private_module)
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            target = self._resolve(alias.name)
            if target is None:
                continue
            private = any(_is_private(p) for p in alias.name.split("."))
            local = alias.asname or alias.name.split(".")[0]
            bound = (local,) if alias.asname else ()
            if alias.asname:
                self.imported[local] = target
            self._add(target, node, bound=bound, private_module=private)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.module.package.split(".")
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            name = ".".join([*base, node.module] if node.module else base)
        else:
            name = node.module or ""
        if self._resolve(name) is None:
            return
        objects: list[str] = []
        bound: list[str] = []
        for alias in node.names:
            sub = f"{name}.{alias.name}"
            local = alias.asname or alias.name
            if sub in self.tree.modules:  # from package import module
                self.imported[local] = sub
                self._add(sub, node, bound=(local,), private_module=any(_is_private(p) for p in sub.split(".")))
            else:
                objects.append(alias.name)
                bound.append(local)
                self.imported[local] = self._resolve(name) or name
        if objects:
            target = self._resolve(name)
            assert target is not None
            self._add(
                target,
                node,
                names=tuple(objects),
                bound=tuple(bound),
                private_module=any(_is_private(p) for p in name.split(".")),
            )

    def private_attributes(self) -> None:
        """``Name._attr`` where ``Name`` was imported (anywhere in the module, before or after the use)."""
        for node in ast.walk(self.module.tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                owner = self.imported.get(node.value.id)
                if owner is not None and _is_private(node.attr):
                    self.tree.attributes.append((self.module.name, node.lineno, node.value.id, f"{owner}:{node.attr}"))


def read_tree(root: Path) -> Tree:
    """Parse every module of ``root/workbench`` and collect the imports between them."""
    package_dir = root / "workbench"
    if not (package_dir / "__init__.py").is_file():
        raise FileNotFoundError(f"Expected a package at {package_dir}, but there is no __init__.py.")
    tree = Tree(root)
    for path in sorted(package_dir.rglob("*.py")):
        name, is_package = _module_name(package_dir, path)
        text = path.read_text(encoding="utf-8")
        tree.modules[name] = Module(name, path, len(text.splitlines()), ast.parse(text, str(path)), is_package)
    for module in tree.modules.values():
        visitor = _Visitor(tree, module)
        visitor.visit(module.tree)
        visitor.private_attributes()
    return tree


# -- the checks --------------------------------------------------------------------------------------


def oversized_modules(tree: Tree, limit: int = MAX_MODULE_LINES) -> list[tuple[str, int]]:
    """Modules over ``limit`` lines, largest first."""
    return sorted(((m.name, m.lines) for m in tree.modules.values() if m.lines > limit), key=lambda x: -x[1])


def class_sizes(tree: Tree) -> list[tuple[str, int]]:
    """Every class (``module.Class``, nested ones too) with its lines, largest first."""
    out = []
    for module in tree.modules.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef):
                out.append((f"{module.name}.{node.name}", (node.end_lineno or node.lineno) - node.lineno + 1))
    return sorted(out, key=lambda x: (-x[1], x[0]))


def oversized_classes(tree: Tree, limit: int = MAX_CLASS_LINES) -> list[tuple[str, int]]:
    """Classes over ``limit`` lines, largest first."""
    return [(name, n) for name, n in class_sizes(tree) if n > limit]


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        item = stack.pop()
                        on_stack.discard(item)
                        component.append(item)
                        if item == node:
                            break
                    out.append(sorted(component))
    return out


def _shortest_path(graph: dict[str, set[str]], start: str, goal: str, allowed: set[str]) -> list[str] | None:
    previous: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & allowed):
                if child in previous:
                    continue
                previous[child] = node
                if child == goal:
                    path: list[str] = []
                    step: str | None = child
                    while step is not None:
                        path.append(step)
                        step = previous[step]
                    return path[::-1]
                nxt.append(child)
        frontier = nxt
    return None


def import_cycles(tree: Tree) -> list[list[str]]:
    """Import circles as paths ``[a, b, ..., a]``: for each import inside a circle, the shortest circle
    through it (so every import that takes part in a circle is shown), without repeats."""
    graph = tree.graph()
    cycles: dict[tuple[str, ...], list[str]] = {}
    for component in _strongly_connected(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        for a in component:
            for b in sorted(graph[a] & members):
                back = _shortest_path(graph, b, a, members) if a != b else [a]
                if back is None:
                    continue
                cycle = [a, *back]
                body = cycle[:-1]
                turn = body.index(min(body))
                canonical = tuple(body[turn:] + body[:turn])
                cycles.setdefault(canonical, [*canonical, canonical[0]])
    return sorted(cycles.values(), key=lambda c: (len(c), c))


def layer_violations(tree: Tree) -> list[str]:
    """Imports that go up a layer, or sideways where the layer does not allow it, one line each."""
    layers = layer_of()
    out = []
    for imp in tree.imports:
        a, b = unit(imp.source), unit(imp.target)
        if a == b or a not in layers or b not in layers:
            continue
        if layers[b] > layers[a] or (layers[b] == layers[a] and not allowed_sideways(a, b)):
            where = "inside a function" if imp.in_function else "at import time"
            direction = "up" if layers[b] > layers[a] else "sideways"
            out.append(
                f"{imp.source} (line {imp.line}, {where}) imports {imp.target}: {direction} from "
                f"{LAYERS[layers[a]].name} ({a}) to {LAYERS[layers[b]].name} ({b})"
            )
    return out


def unknown_units(tree: Tree) -> list[str]:
    """Units of the tree that :data:`LAYERS` does not place."""
    placed = layer_of()
    return sorted({unit(m) for m in tree.modules} - set(placed))


def private_imports(tree: Tree) -> list[str]:
    """Private names one unit takes from another, one line each."""
    out = []
    for imp in tree.imports:
        if unit(imp.source) == unit(imp.target):
            continue
        private = [n for n in imp.names if _is_private(n)]
        if imp.private_module:
            out.append(f"{imp.source} (line {imp.line}) imports the private module {imp.target}")
        if private:
            out.append(f"{imp.source} (line {imp.line}) imports {', '.join(private)} from {imp.target}")
    for module, line, name, target in tree.attributes:
        owner, attr = target.split(":")
        if unit(owner) != unit(module):
            out.append(f"{module} (line {line}) uses {name}.{attr} ({name} from {owner})")
    return out


def module_level_assignments(tree: Tree, name: str) -> list[str]:
    """Where ``name`` is assigned at module level (not inside a function or class): ``module:line``."""

    def statements(body: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
        for stmt in body:
            yield stmt
            if isinstance(stmt, ast.If | ast.Try | ast.With | ast.For | ast.While):
                for part in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(stmt, part, []):
                        yield from statements(child.body if isinstance(child, ast.ExceptHandler) else [child])

    out = []
    for module in tree.modules.values():
        for stmt in statements(module.tree.body):
            targets: list[ast.AST] = []
            if isinstance(stmt, ast.Assign):
                targets = [t for target in stmt.targets for t in ast.walk(target)]
            elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
                targets = [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                out.append(f"{module.name}:{stmt.lineno}")
    return sorted(out)


def js_definitions(root: Path, names: Iterable[str] = JS_HELPERS) -> dict[str, list[str]]:
    """Where each of ``names`` is defined in ``root/widgets/*.js`` (``file:line``); comment lines skipped."""
    names = list(names)
    alternatives = "|".join(map(re.escape, names))
    patterns = [
        re.compile(rf"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*({alternatives})\s*\("),
        re.compile(
            rf"^\s*(?:export\s+)?(?:const|let|var)\s+({alternatives})\s*="
            rf"\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)"
        ),
    ]
    found: dict[str, list[str]] = {n: [] for n in names}
    for path in sorted((root / "widgets").glob("*.js")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.lstrip().startswith(("//", "*", "/*")):
                continue
            for pattern in patterns:
                match = pattern.match(line)
                if match:
                    found[match.group(1)].append(f"{path.name}:{number}")
    return found


# -- the rules on the tree ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree() -> Tree:
    """The tree under test (see :func:`source_root`)."""
    return read_tree(source_root())


def test_no_module_or_class_is_too_large(tree: Tree) -> None:
    modules = oversized_modules(tree)
    classes = oversized_classes(tree)
    assert not modules and not classes, (
        f"Expected no module over {MAX_MODULE_LINES} lines and no class over {MAX_CLASS_LINES}, but got "
        + "; ".join(f"{name} ({n} lines)" for name, n in [*modules, *classes])
    )


def test_no_import_circle(tree: Tree) -> None:
    cycles = import_cycles(tree)
    assert not cycles, "Expected no import circle, but got:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_unit_has_a_layer(tree: Tree) -> None:
    assert not unknown_units(tree), (
        f"Expected every unit of workbench/ in LAYERS, but got {', '.join(unknown_units(tree))} without one."
    )


def test_imports_respect_the_layers(tree: Tree) -> None:
    found = layer_violations(tree)
    assert not found, "Expected imports only down the layers, but got:\n" + "\n".join(found)


def test_no_private_name_crosses_a_unit(tree: Tree) -> None:
    found = private_imports(tree)
    assert not found, "Expected no private name taken from another unit, but got:\n" + "\n".join(found)


@pytest.mark.parametrize("name", DEFINED_ONCE)
def test_shared_constants_are_defined_once(tree: Tree, name: str) -> None:
    where = module_level_assignments(tree, name)
    assert len(where) == 1, f"Expected {name} assigned once in workbench/, but got {len(where)}: {where}."


@pytest.mark.parametrize("name", JS_HELPERS)
def test_widget_helpers_are_written_once(name: str) -> None:
    where = js_definitions(source_root())[name]
    assert len(where) == 1, f"Expected {name} defined once in widgets/*.js, but got {len(where)}: {where}."


# -- the checker itself, on small trees --------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Tree:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in {(root / rel).parent for rel in files}:
        while folder != root and folder.name != "widgets":
            (folder / "__init__.py").touch()
            folder = folder.parent
    return read_tree(root)


def test_checker_finds_a_circle_through_an_import_inside_a_function(tmp_path: Path) -> None:
    tree = _write(
        tmp_path,
        {
            "workbench/store/project.py": "from workbench.store import backup\n",
            "workbench/store/backup.py": "def f():\n    from workbench.store.purge import g\n",
            "workbench/store/purge.py": "def g():\n    import workbench.store.project\n",
            "workbench/store/clean.py": "from workbench.store import backup\n",
        },
    )
    assert import_cycles(tree) == [
        ["workbench.store.backup", "workbench.store.purge", "workbench.store.project", "workbench.store.backup"]
    ]
    inside = [i for i in tree.imports if i.source == "workbench.store.backup"]
    assert [(i.target, i.names, i.in_function) for i in inside] == [("workbench.store.purge", ("g",), True)]


def test_checker_ignores_type_checking_imports_but_not_their_else(tmp_path: Path) -> None:
    tree = _write(
        tmp_path,
        {
            "workbench/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from workbench.b import B\n",
            "workbench/b.py": (
                "import typing\nif typing.TYPE_CHECKING:\n    import workbench.a\nelse:\n    import workbench.c\n"
            ),
            "workbench/c.py": "from workbench import b\n",
        },
    )
    assert tree.graph()["workbench.a"] == set()
    assert tree.graph()["workbench.b"] == {"workbench.c"}
    assert import_cycles(tree) == [["workbench.b", "workbench.c", "workbench.b"]]


def test_checker_resolves_relative_imports_and_submodules(tmp_path: Path) -> None:
    tree = _write(
        tmp_path,
        {
            "workbench/batch/__init__.py": "from .tasks import Task\nfrom . import runner\n",
            "workbench/batch/tasks.py": "from ..analysis.contingency import contingencies\nfrom . import runner\n",
            "workbench/batch/runner.py": "from workbench.batch import tasks\n",
            "workbench/analysis/contingency.py": "from workbench import util\n",
            "workbench/util.py": "",
        },
    )
    graph = tree.graph()
    assert graph["workbench.batch"] == {"workbench.batch.tasks", "workbench.batch.runner"}
    assert graph["workbench.batch.tasks"] == {"workbench.analysis.contingency", "workbench.batch.runner"}
    assert graph["workbench.analysis.contingency"] == {"workbench.util"}
    assert import_cycles(tree) == [["workbench.batch.runner", "workbench.batch.tasks", "workbench.batch.runner"]]


def test_checker_finds_private_names_taken_across_units(tmp_path: Path) -> None:
    tree = _write(
        tmp_path,
        {
            "workbench/annotations.py": "class AnnotationTable:\n    pass\ndef _records(x):\n    pass\n",
            "workbench/io/_common.py": "def atomic_write_bytes(p, d):\n    pass\n",
            "workbench/io/elan.py": "from workbench.io._common import atomic_write_bytes\n",  # same unit: fine
            "workbench/store/project.py": (
                "from workbench.annotations import AnnotationTable\n"
                "from workbench.io._common import atomic_write_bytes\n"
                "from workbench.store.kernel import _now\n"  # same unit: fine
                "def f():\n"
                "    from workbench.annotations import _records\n"
                "    return AnnotationTable._from_valid(_records(1)), _now\n"
            ),
            "workbench/store/kernel.py": "def _now():\n    pass\n",
            "workbench/batch.py": "import workbench.media as media\nx = media._helper\n",
            "workbench/media/__init__.py": "",
            "workbench/ui/view.py": (
                "def g():\n    return AnnotationTable._records\nfrom workbench.annotations import AnnotationTable\n"
            ),
        },
    )
    assert private_imports(tree) == [
        "workbench.store.project (line 2) imports the private module workbench.io._common",
        "workbench.store.project (line 5) imports _records from workbench.annotations",
        "workbench.batch (line 2) uses media._helper (media from workbench.media)",
        "workbench.store.project (line 6) uses AnnotationTable._from_valid "
        "(AnnotationTable from workbench.annotations)",
        "workbench.ui.view (line 2) uses AnnotationTable._records (AnnotationTable from workbench.annotations)",
    ]


def test_checker_finds_imports_up_and_sideways(tmp_path: Path) -> None:
    tree = _write(
        tmp_path,
        {
            "workbench/store/project.py": "def f():\n    from workbench.media import probe\n",
            "workbench/media/__init__.py": "from workbench.model import Recording\n",
            "workbench/model.py": "import workbench.batch\n",
            "workbench/batch.py": "from workbench.io import elan\nfrom workbench.charts import bar\n",
            "workbench/io/elan.py": "from workbench.errors import FormatError\n",
            "workbench/errors.py": "from workbench.util import x\n",  # core: any import within the layer
            "workbench/util.py": "",
            "workbench/report/__init__.py": "from workbench.charts import bar\n",  # allowed within builders
            "workbench/charts.py": "from workbench import project\n",
            "workbench/project.py": "",
            "workbench/gadget.py": "",
        },
    )
    assert layer_violations(tree) == [
        "workbench.batch (line 2, at import time) imports workbench.charts: "
        "sideways from builders (batch) to builders (charts)",
        "workbench.model (line 1, at import time) imports workbench.batch: up from core (model) to builders (batch)",
        "workbench.store.project (line 2, inside a function) imports workbench.media: "
        "sideways from services (store) to services (media)",
    ]
    assert unknown_units(tree) == ["gadget"]


def test_checker_counts_sizes_definitions_and_widget_helpers(tmp_path: Path) -> None:
    big_class = "class Big:\n" + "    x = 1\n" * 700
    tree = _write(
        tmp_path,
        {
            "workbench/charts.py": "OUTCOME_COLOURS = {}\n" + "y = 2\n" * 1300,
            "workbench/report/figures.py": (
                "if True:\n    OUTCOME_COLOURS: dict = {}\ndef f():\n    OUTCOME_COLOURS = 1\n"
            ),
            "workbench/model.py": big_class,
            "widgets/player.js": "function fmt(ms) {}\nexport const parseTime = (t) => 1;\n// function el() {}\n",
            "widgets/table.js": "export function fmt(ms) {}\nconst el = function (tag) {};\nconst fmtx = 1;\n",
        },
    )
    assert oversized_modules(tree) == [("workbench.charts", 1301)]
    assert oversized_classes(tree) == [("workbench.model.Big", 701)]
    assert module_level_assignments(tree, "OUTCOME_COLOURS") == ["workbench.charts:1", "workbench.report.figures:2"]
    assert js_definitions(tmp_path) == {
        "fmt": ["player.js:1", "table.js:1"],
        "parseTime": ["player.js:2"],
        "el": ["table.js:2"],
    }


# -- the picture, for notes and the architecture page -------------------------------------------------


def unit_graph(tree: Tree) -> dict[tuple[str, str], int]:
    """(importer unit, imported unit) -> number of import statements, between different units."""
    counts: Counter[tuple[str, str]] = Counter()
    for imp in tree.imports:
        a, b = unit(imp.source), unit(imp.target)
        if a != b:
            counts[(a, b)] += 1
    return dict(counts)


def report(root: Path) -> str:
    """The layer table, the largest modules and classes, the unit graph and every violation, as text."""
    tree = read_tree(root)
    out = [f"# {root}", "", "## Layers", "", layers_markdown(), "", "## Largest modules", ""]
    largest = sorted(tree.modules.values(), key=lambda m: (-m.lines, m.name))[:10]
    out += [f"{m.lines:6d}  {m.name}" for m in largest]
    out += ["", "## Largest classes", ""]
    out += [f"{n:6d}  {name}" for name, n in class_sizes(tree)[:10]]
    out += ["", "## Imports between units (importer -> imported: statements)", ""]
    by_source: dict[str, list[str]] = defaultdict(list)
    for (a, b), n in sorted(unit_graph(tree).items()):
        by_source[a].append(f"{b} {n}")
    layers = layer_of()
    for a, targets in sorted(by_source.items(), key=lambda x: (layers.get(x[0], 99), x[0])):
        out.append(f"{a:12} -> {', '.join(targets)}")
    out += ["", "## Violations", ""]
    checks = {
        f"modules over {MAX_MODULE_LINES} lines": [f"{name} ({n})" for name, n in oversized_modules(tree)],
        f"classes over {MAX_CLASS_LINES} lines": [f"{name} ({n})" for name, n in oversized_classes(tree)],
        "import circles": [" -> ".join(c) for c in import_cycles(tree)],
        "units without a layer": unknown_units(tree),
        "layer violations": layer_violations(tree),
        "private names across units": private_imports(tree),
        **{f"{name} assignments": module_level_assignments(tree, name) for name in DEFINED_ONCE},
        **{f"JS {name} definitions": where for name, where in js_definitions(root).items()},
    }
    for title, items in checks.items():
        out.append(f"### {title}: {len(items)}")
        out += [f"- {item}" for item in items]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # python tests/test_architecture.py [--layers] [SOURCE_ROOT]
    args = sys.argv[1:]
    if "--layers" in args:
        print(layers_markdown())
    else:
        print(report(Path(args[0]) if args else source_root()))
