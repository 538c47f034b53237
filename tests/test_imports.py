"""No import cycles among gradcalc's modules: each module sits above the ones it uses (issue 14:
parse_point, the NumPy loader, the SymPy printer and the deadline moved below their users).

Every import counts, those inside functions too. The one exception is the public ``Function``:
its convenience methods (``.hessian``, ``.derivative``, ...) hand over to the engines built on
it, lazily, so ``function`` -> ``derivatives``/``limits`` -> ``function`` is allowed."""

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1] / "gradcalc"
ALLOWED = {frozenset({"gradcalc.function", "gradcalc.derivatives", "gradcalc.limits"})}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


def _imports(name: str, path: Path, mods) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - max(node.level - 1, 0)] \
                if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in mods]
            found.update(subs or ([target] if target in mods else []))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in mods)
    found.discard(name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan's, without recursion)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = set()
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.add(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(comp)
    return out


def test_no_import_cycles():
    mods = _modules()
    graph = {name: _imports(name, path, mods) for name, path in mods.items()}
    cycles = [c for c in _cycles(graph) if frozenset(c) not in ALLOWED]
    assert cycles == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_the_moved_helpers_live_below_their_users():
    mods = _modules()
    assert "gradcalc.cli" not in _imports("gradcalc.problems", mods["gradcalc.problems"], mods)
    assert "gradcalc.vector" not in _imports("gradcalc.domains", mods["gradcalc.domains"], mods)
    for name in ("gradcalc.render.table", "gradcalc.render.higher", "gradcalc.steps"):
        assert "gradcalc.check" not in _imports(name, mods[name], mods)
