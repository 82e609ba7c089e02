"""The floor plan holds: dependencies point one way, and only ``store/`` touches the databases.

Every import of every module under ``papercast/`` is read with ``ast`` (module level, inside
functions, under ``TYPE_CHECKING``) and checked against the layers of docs/architecture.md
("Packages and the way dependencies point")::

    commands/, tui/, cli  ->  service  ->  agent/  ->  tools/  ->  store/  ->  models, config, errors, logs

A module may import its own layer and the layers below it, even for a type hint: the agent is
handed the service at run time but knows it only as its port (``agent/port.py``, ``Library``).
Inside ``tools/``, sources and llm come first, ranking may use them, writing may use all three,
delivery all four.

Run directly to check another tree (the plan before this layout fails it)::

    .venv/bin/python tests/test_architecture.py ../some/checkout/papercast
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "papercast"

# (module prefix, layer); the longest matching prefix wins. Fractions order tools/' subpackages.
LAYERS: list[tuple[str, float]] = [
    ("papercast", 0), ("papercast.errors", 0), ("papercast.logs", 0), ("papercast.config", 0),
    ("papercast.models", 0),
    ("papercast.store", 1),
    ("papercast.tools", 2), ("papercast.tools.sources", 2.0), ("papercast.tools.llm", 2.0),
    ("papercast.tools.ranking", 2.1), ("papercast.tools.writing", 2.2),
    ("papercast.tools.delivery", 2.3),
    ("papercast.agent", 3),
    ("papercast.service", 4),
    ("papercast.commands", 5), ("papercast.tui", 5), ("papercast.cli", 5), ("papercast.__main__", 5),
    ("papercast.mcp_server", 5),
]
# Libraries that hold a database: only store/ may import them.
DATABASE_LIBRARIES = ("sqlite3", "aiosqlite", "chromadb", "langgraph.checkpoint.sqlite")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name (for "from a import b": "a.b" when b is a module, else "a")
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> float | None:
    best = None
    for prefix, value in LAYERS:
        if ((module == prefix or module.startswith(prefix + "."))
                and (best is None or len(prefix) > len(best[0]))):
            best = (prefix, value)
    return best[1] if best else None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, package: Path) -> list[Import]:
    """Every import in the file, with relative imports resolved and ``from pkg import module`` seen
    as importing ``pkg.module`` when it is a module of the package."""
    name = module_name(path, package)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(name, alias.name, node.lineno, type_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                as_module = (package.parent / Path(*candidate.split("."))).with_suffix(".py").exists() or (
                    package.parent / Path(*candidate.split(".")) / "__init__.py").exists()
                found.append(Import(name, candidate if as_module else base, node.lineno, type_only))
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(tree, False)
    return found


def all_imports(package: Path) -> list[Import]:
    return [imp for path in sorted(package.rglob("*.py")) for imp in imports_of(path, package)]


def upward_imports(package: Path) -> list[str]:
    """Imports that point up the layers, as ``importer:line -> target`` lines."""
    problems = []
    for imp in all_imports(package):
        if not imp.target.startswith("papercast"):
            continue
        mine, theirs = layer(imp.importer), layer(imp.target)
        if mine is None or theirs is None or theirs <= mine:
            continue
        problems.append(f"{imp.importer}:{imp.line} -> {imp.target}")
    return problems


def database_imports_outside_store(package: Path) -> list[str]:
    return [f"{imp.importer}:{imp.line} -> {imp.target}" for imp in all_imports(package)
            if any(imp.target == lib or imp.target.startswith(lib + ".") for lib in DATABASE_LIBRARIES)
            and not imp.importer.startswith("papercast.store")]


def test_every_module_has_a_layer() -> None:
    unplaced = {module_name(p, PACKAGE) for p in PACKAGE.rglob("*.py")} - {
        m for m in (module_name(p, PACKAGE) for p in PACKAGE.rglob("*.py")) if layer(m) is not None}
    assert not unplaced


def test_dependencies_point_one_way() -> None:
    assert upward_imports(PACKAGE) == []


def test_only_the_store_touches_the_databases() -> None:
    assert database_imports_outside_store(PACKAGE) == []


def test_the_commands_do_not_import_the_cli_that_imports_them() -> None:
    cycle = [f"{i.importer}:{i.line}" for i in all_imports(PACKAGE)
             if i.target == "papercast.cli" and i.importer != "papercast.__main__"]
    assert cycle == []


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """A test that cannot fail proves nothing: plant each kind of violation in a copy of the plan."""
    package = tmp_path / "papercast"
    for module in ("store/papers.py", "tools/ranking/score.py", "tools/writing/digest.py", "agent/toolbox.py",
                   "service.py", "models.py"):
        target = package / module
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    for folder in (package, *{p.parent for p in package.rglob("*.py")}):
        (folder / "__init__.py").touch()
    (package / "store" / "papers.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from papercast.service import Papercast\n")
    (package / "tools" / "ranking" / "score.py").write_text(
        "def f():\n    from papercast.tools.writing import digest\n")
    (package / "agent" / "toolbox.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from papercast.service import Papercast\n")
    (package / "models.py").write_text("from .store import papers\nimport sqlite3\n")
    assert sorted(upward_imports(package)) == [
        "papercast.agent.toolbox:3 -> papercast.service",
        "papercast.models:1 -> papercast.store.papers",
        "papercast.store.papers:3 -> papercast.service",
        "papercast.tools.ranking.score:2 -> papercast.tools.writing.digest",
    ]
    assert database_imports_outside_store(package) == ["papercast.models:2 -> sqlite3"]


# -- the agent and its port ----------------------------------------------------------------------------
def port_mismatches(port: type, implementation: type) -> list[str]:
    """Members of the ``Protocol`` that ``implementation`` lacks, or whose parameters it does not take
    (by name and kind; the implementation may take more, with defaults)."""
    import inspect

    problems = []
    members = [name for name in vars(port) if not name.startswith("_")]
    for name in members:
        declared, actual = (inspect.getattr_static(port, name),
                            inspect.getattr_static(implementation, name, None))
        if actual is None and isinstance(declared, property):  # an attribute the constructor sets?
            init = getattr(implementation, "__init__", None)
            actual = f"self.{name} =" in (inspect.getsource(init) if inspect.isfunction(init) else "") or None
        if actual is None:
            problems.append(f"{name}: missing")
            continue
        if not callable(declared):  # a property: the implementation has one, or an attribute set in __init__
            continue
        wanted = inspect.signature(declared).parameters
        given = inspect.signature(actual).parameters
        for param in wanted.values():
            other = given.get(param.name)
            if other is None or other.kind != param.kind:
                problems.append(f"{name}: does not take {param.name} ({param.kind.description})")
        extra = [p for n, p in given.items() if n not in wanted and p.default is p.empty
                 and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        problems += [f"{name}: requires {p.name}, which the port does not pass" for p in extra]
    return problems


def test_the_service_implements_the_agents_port() -> None:
    from papercast.agent.port import Library
    from papercast.service import Papercast

    assert port_mismatches(Library, Papercast) == []


def test_the_port_check_sees_a_missing_member_and_a_changed_signature() -> None:
    from papercast.agent.port import Library
    from papercast.service import Papercast

    class Broken(Papercast):
        def get_paper(self, pid: str) -> None:  # type: ignore[override]  (renamed parameter)
            return None

        def count(self, scope: str) -> int:  # type: ignore[override]  (a required extra)
            return 0

    members = {k: v for cls in reversed(Papercast.__mro__[:-1]) for k, v in vars(cls).items()}  # its mixins'
    del_member = type("Lacking", (), {k: v for k, v in members.items() if k != "similar"})
    assert port_mismatches(Library, Broken) == ["count: requires scope, which the port does not pass",
                                                "get_paper: does not take paper_id (positional or keyword)",
                                                "get_paper: requires pid, which the port does not pass"]
    assert "similar: missing" in port_mismatches(Library, del_member)


def test_nothing_in_the_agent_stands_for_the_service_as_any() -> None:
    """The agent names what it is handed by its port: a ``service``/``library`` typed ``Any`` (or
    untyped) would let it reach past the port at run time, as ``service: Any`` once did."""
    loose = []
    for path in sorted((PACKAGE / "agent").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[tuple[str, ast.expr | None]] = []
            if isinstance(node, ast.arg):
                targets.append((node.arg, node.annotation))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets.append((node.target.id, node.annotation))
            for name, annotation in targets:
                if name in ("service", "library") and (annotation is None
                                                       or ast.unparse(annotation) == "Any"):
                    loose.append(f"{path.name}:{node.lineno} {name}")
    assert loose == []
    assert "service" not in {a.split(".")[1] for a in [imp.target for imp in all_imports(PACKAGE)
                                                        if imp.importer.startswith("papercast.agent")]
                             if a.startswith("papercast.") and "." in a}


if __name__ == "__main__":
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else PACKAGE
    lines = upward_imports(root) + [f"database outside store/: {x}"
                                    for x in database_imports_outside_store(root)]
    print("\n".join(lines) or "no upward imports")
    raise SystemExit(1 if lines else 0)


# -- the structure stays simple ------------------------------------------------------------------------
MAX_LINES = 600
# Each keeps the TUI's first paint or `--help` fast (moving the service's store and LLM imports up made
# the first paint ~0.1 s later, measured); a group a module uses often is one accessor
# (``service.core.ranking_tools``). Lower, never raise.
MAX_LAZY_IMPORTS = 30


def import_cycles(package: Path) -> list[list[str]]:
    """Groups of modules that import each other, at module level or inside functions (an import under
    ``TYPE_CHECKING`` is only a type hint and runs nothing, so it does not count)."""
    modules = {module_name(p, package) for p in package.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for imp in all_imports(package):
        if imp.type_only:
            continue
        target = imp.target
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != imp.importer and not imp.importer.startswith(target + "."):
            edges[imp.importer].add(target)  # importing a package runs its __init__, not its importer
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return sorted(cycles)


def lazy_imports(package: Path) -> list[tuple[str, int, bool]]:
    """``(file, line, has a reason)`` of each import of a papercast module inside a function."""
    found = []
    for path in sorted(package.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()

        def visit(node: ast.AST, in_function: bool, lines: list[str] = lines, path: Path = path) -> None:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                return
            in_function = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if in_function and isinstance(node, ast.Import | ast.ImportFrom):
                name = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                if (isinstance(node, ast.ImportFrom) and node.level) or (name or "").startswith("papercast"):
                    found.append((str(path.relative_to(package.parent)), node.lineno,
                                  "# lazy:" in lines[node.lineno - 1]))
            for child in ast.iter_child_nodes(node):
                visit(child, in_function)

        visit(ast.parse("\n".join(lines)), False)
    return found


def test_no_import_cycles() -> None:
    assert import_cycles(PACKAGE) == []


def test_few_imports_inside_functions_and_each_says_why() -> None:
    """An import inside a function is for start-up time (``papercast --help``, the TUI's first paint)
    only; one that works around a cycle hides the cycle from the test above."""
    found = lazy_imports(PACKAGE)
    assert [f"{f}:{n}" for f, n, reason in found if not reason] == [], "say why: '# lazy: <reason>'"
    assert len(found) <= MAX_LAZY_IMPORTS


def test_no_module_is_too_long_to_read() -> None:
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_structure_checks_see_a_cycle_and_an_unexplained_lazy_import(tmp_path: Path) -> None:
    package = tmp_path / "papercast"
    (package / "store").mkdir(parents=True)
    for module in ("__init__.py", "store/__init__.py"):
        (package / module).write_text("")
    (package / "store" / "a.py").write_text("from papercast.store import b\n")
    (package / "store" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from papercast.store import c\n"
        "def f():\n    from papercast.store import a\n")
    (package / "store" / "c.py").write_text(
        "def g():\n    from papercast.store import b  # lazy: slow to import\n")
    assert import_cycles(package) == [["papercast.store.a", "papercast.store.b"]]
    assert lazy_imports(package) == [("papercast/store/b.py", 5, False), ("papercast/store/c.py", 2, True)]


def long_docstrings(package: Path, most: int = 10) -> list[str]:
    """``file:name`` of every module, class or function docstring over ``most`` lines."""
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in [tree, *ast.walk(tree)]:
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                text = ast.get_docstring(node, clean=False) or ""
                if len(text.strip().splitlines()) > most:
                    found.append(f"{path.relative_to(package.parent)}:{getattr(node, 'name', '<module>')}")
    return found


def test_docstrings_say_what_and_why_in_ten_lines_at_most(tmp_path: Path) -> None:
    """Figures and history belong in docs/benchmarks.md, where the command that reproduces them is."""
    assert long_docstrings(PACKAGE) == []
    planted = tmp_path / "papercast"
    planted.mkdir()
    (planted / "m.py").write_text('def f():\n    """' + "\n".join(["line"] * 11) + '"""\n')
    assert long_docstrings(planted) == ["papercast/m.py:f"]
