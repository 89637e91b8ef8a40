"""The package layout keeps its promises: imports point one way (no cycles) and the hardware side needs no torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """Every lutnn module imported anywhere in ``tree`` (module or function level), TYPE_CHECKING blocks excluded."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "lutnn")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lutnn":
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in modules else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """lutnn module → the lutnn modules it imports (a package's own ``__init__`` counts as the package)."""
    files = {(_module_name(p)): p for p in SRC.rglob("*.py")}
    names = set(files)
    return {m: _imports(ast.parse(p.read_text()), names) - {m} for m, p in files.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
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

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_find_cycles_sees_a_cycle() -> None:
    """The checker itself: a two-module loop is found, a chain is not."""
    assert find_cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles() -> None:
    """No two lutnn modules import each other, directly or through others, at module or function level."""
    graph = import_graph()
    assert len(graph) > 40
    assert find_cycles(graph) == []


def test_lower_layers_never_import_upper_ones() -> None:
    """The IR, formats and tool adapters import nothing from the model families, the pipeline or the CLI."""
    upper = ("lutnn.lutnet", "lutnn.quantnet", "lutnn.bnn", "lutnn.cli", "lutnn.pipeline", "lutnn.predict")
    graph = import_graph()
    low = [
        m for m in graph if m.startswith(("lutnn.netlist", "lutnn.sim", "lutnn.formats", "lutnn.tools", "lutnn.aig"))
    ]
    assert low
    bad = {m: sorted(i for i in graph[m] if i.startswith(upper)) for m in low}
    assert {m: v for m, v in bad.items() if v} == {}


def test_hardware_side_imports_without_torch() -> None:
    """Quantizer, integer model, netlist, simulation, formats, compile, synthesis and verification load no torch."""
    code = (
        "import sys\n"
        "import lutnn.quantizer, lutnn.quantnet.intmodel, lutnn.quantnet.neurons, lutnn.quantnet.arith\n"
        "import lutnn.netlist, lutnn.sim, lutnn.formats, lutnn.synth, lutnn.verify, lutnn.tools.yosys, lutnn.data\n"
        "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]", r.stdout
