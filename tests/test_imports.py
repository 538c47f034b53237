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


# What a --no-check run at one point, printing its table to a file, never imports (issue 18:
# start-up time). A test of imports, not of time: each of these costs milliseconds to import.
NOT_IMPORTED_BY_A_PLAIN_RUN = [
    "sympy", "numpy", "rich", "json",                  # heavy, or not needed for a table
    "gradcalc.check", "gradcalc.render.table",          # the checker; the table drawn by rich
    "gradcalc.cli.check", "gradcalc.cli.descend", "gradcalc.cli.fit",   # other commands
    "gradcalc.cli.many", "gradcalc.cli.higher", "gradcalc.cli.training",
    "gradcalc.optimize", "gradcalc.vector", "gradcalc.derivatives", "gradcalc.limits",
    "gradcalc.steps", "gradcalc.tensor", "gradcalc.printing", "gradcalc.deadline",
]


def _imported_by(args, env=None) -> tuple[str, set[str]]:
    """(standard output, modules imported) of the gradient command run with ``args`` in a fresh
    process, its standard output a pipe (not a terminal)."""
    import os
    import subprocess
    import sys

    code = ("import sys\nfrom gradcalc.cli import main\n"
            "try:\n    main.main(sys.argv[1:], prog_name='gradcalc')\n"
            "except SystemExit:\n    pass\n"
            "sys.stderr.write('\\nMODULES ' + ' '.join(sys.modules))\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       env={**clean, **(env or {})}, check=False)
    return r.stdout, set(r.stderr.rsplit("MODULES ", 1)[1].split())


def _top(modules: set[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_a_no_check_run_imports_only_what_it_needs():
    out, modules = _imported_by(["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--no-check"])
    assert out.splitlines()[-2:] == ["z             -4         3",
                                     "not cross-checked (--no-check)"]
    assert [m for m in NOT_IMPORTED_BY_A_PLAIN_RUN if _top(modules, m)] == []
    assert "gradcalc.render.plain_table" in modules and "click" in modules


def test_rich_is_imported_when_the_table_needs_it():
    # too narrow for the table: rich folds it (and so is imported); other formats never need it
    out, modules = _imported_by(["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--no-check"],
                                {"COLUMNS": "20"})
    assert _top(modules, "rich") and "not cross-checked" in out
    out, modules = _imported_by(["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--no-check",
                                 "--format", "plain"])
    assert out == "f = -12\ndf/dx = -4\ndf/dy = -4\ndf/dz = 3\n"
    assert not _top(modules, "rich") and not _top(modules, "gradcalc.check")


def test_the_console_script_runs_a_common_command_line_without_click():
    """``gradcalc ... --no-check`` through the console script (cli.entry): quick.py reads the
    command line, so neither click nor what it imports is loaded; nor are dataclasses (records)."""
    import subprocess
    import sys

    code = ("import os, sys\nfrom gradcalc.cli import entry\n"
            "os._exit = lambda code: sys.stderr.write('\\nMODULES ' + ' '.join(sys.modules))\n"
            "entry()\n")
    r = subprocess.run([sys.executable, "-c", code, "z*(x+y)", "--at", "x=-2,y=5,z=-4",
                        "--no-check"], capture_output=True, text=True, check=False)
    assert r.stdout.splitlines()[-2:] == ["z             -4         3",
                                          "not cross-checked (--no-check)"]
    modules = set(r.stderr.rsplit("MODULES ", 1)[1].split())
    heavy = NOT_IMPORTED_BY_A_PLAIN_RUN + ["click", "dataclasses", "inspect"]
    assert [m for m in heavy if _top(modules, m)] == []
