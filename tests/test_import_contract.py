"""The import contract: which rooms of the house may import which (issue 23).

Read from the source with :mod:`ast` (no import-linter needed): ``spec/`` sits at the
bottom and imports nothing of ours above it; ``render/`` never imports the pipeline;
``mapdata`` never imports ``render``; module-level imports form no cycle; an import of
our own module inside a function carries a ``# why:`` comment saying why it cannot be
at the top (a real cycle, a slow optional dependency). The same function checks a
tiny fixture package with deliberately wrong imports, so the test can fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAD = Path(__file__).parent / "data" / "contract_bad"

#: What ``spec`` may import besides itself: the ground floor (no I/O beyond YAML).
SPEC_MAY_IMPORT = (
    "errors", "i18n", "_yaml", "_validate", "settings", "schema", "tagfilter", "wording",
)  # fmt: skip
#: The rooms above ``render``: the renderers are handed data, they never fetch it.
ABOVE_RENDER = ("pipeline", "pack", "batch", "check", "cli")
#: The readers: render is handed read data and shares cell meanings through the ground
#: floor (``fields``, ``schema``), never by reaching into a reader's module.
READERS = ("sources",)
#: Breaches still in the code, each with why it is not fixed yet. The test fails when
#: one is gone (remove it here), so the list only shrinks.
KNOWN: dict[str, str] = {}


def _modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` (under ``root``) by dotted name."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str, package: str, modules: dict[str, Path]):
    """Own-module imports of one file: (target, line, at_top, type_only, why_comment)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    is_pkg = path.name == "__init__.py"
    found: list[tuple[str, int, bool, bool, bool]] = []

    def resolve(node: ast.ImportFrom | ast.Import) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names if a.name.split(".")[0] == package]
        base = node.module or ""
        if node.level:
            here = name.split(".") if is_pkg else name.split(".")[:-1]
            here = here[: len(here) - (node.level - 1)]
            base = ".".join([*here, base] if base else here)
        if base.split(".")[0] != package:
            return []
        # ``from civicmap.render import tiles`` imports the module civicmap.render.tiles
        subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
        return subs or [base]

    def visit(node: ast.AST, depth: int, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                line = child.lineno
                above = line - 2  # the comment block right above the import, or its own line
                while above >= 0 and lines[above].strip().startswith("#"):
                    above -= 1
                why = any("# why:" in text for text in lines[above + 1 : line])
                found.extend((t, line, depth == 0, type_only, why) for t in resolve(child))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, depth + 1, type_only)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child, depth, True)
            else:
                visit(child, depth, type_only)

    visit(tree, 0, False)
    return found


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def contract_problems(root: Path, package: str) -> list[str]:
    """Every breach of the contract in ``package`` under ``root``, one line each."""
    modules = _modules(root, package)
    problems: list[str] = []
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        rel = path.relative_to(root)
        for target, line, at_top, type_only, why in _imports(path, name, package, modules):
            where = f"{rel}:{line}: {name} imports {target}"
            src, dst = _room(name), _room(target)
            if src == "spec" and dst != "spec" and dst not in SPEC_MAY_IMPORT and target != package:
                problems.append(f"{where}: spec may import only {', '.join(SPEC_MAY_IMPORT)}")
            if src == "render" and dst in ABOVE_RENDER + READERS:
                problems.append(f"{where}: render never imports {dst}")
            if src == "mapdata" and dst == "render":
                problems.append(f"{where}: mapdata never imports render")
            if not at_top and not why:
                problems.append(f"{where} inside a function without a '# why:' comment")
            if at_top and not type_only and target in modules and target != name:
                graph[name].add(target)
    problems += [f"import cycle: {' -> '.join(c)}" for c in _cycles(graph)]
    return problems


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _unnumbered(problem: str) -> str:
    file, _, rest = problem.partition(":")
    return f"{file}:{rest.partition(':')[2]}" if rest.partition(":")[0].isdigit() else problem


def test_civicmap_keeps_the_import_contract():
    problems = [_unnumbered(p) for p in contract_problems(ROOT, "civicmap")]
    new = [p for p in problems if p not in KNOWN]
    assert new == [], "\n".join(new)
    gone = [k for k in KNOWN if k not in problems]
    assert gone == [], "fixed, remove from KNOWN:\n" + "\n".join(gone)


def test_the_contract_catches_each_kind_of_wrong_import():
    problems = "\n".join(contract_problems(BAD, "civicmap"))
    assert "spec may import only" in problems  # spec/mapfile.py imports render
    assert "render never imports pipeline" in problems
    assert (
        "civicmap.render.filters imports civicmap.sources.layouts: render never imports sources"
        in problems
    )
    assert "mapdata never imports render" in problems
    assert "inside a function without a '# why:' comment" in problems
    assert "import cycle: civicmap.a -> civicmap.b" in problems
    # the one in-function import that says why is not reported
    assert "civicmap/render/web.py:9" not in problems
