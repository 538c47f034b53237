"""The Safety guarantees of the README, checked on the source itself: no code path of gradcalc can
evaluate text as code, and the only process it starts is Graphviz, without a shell."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = sorted((Path(__file__).parent.parent / "gradcalc").rglob("*.py"))

# Names that evaluate, import or generate code from a string.
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "sympify", "parse_expr", "lambdify",
                   "S", "simplify_logic", "import_module", "system", "popen", "loads"}
FORBIDDEN_IMPORTS = {"pickle", "marshal", "shelve", "importlib", "ctypes", "code", "codeop"}


def calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) \
                else None
            yield node, name


def test_there_is_source_to_check():
    assert len(SOURCE) > 10


@pytest.mark.parametrize("path", SOURCE, ids=lambda p: p.name)
def test_no_code_evaluation(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node, name in calls(tree):
        if name in FORBIDDEN_CALLS:
            # re.compile and Tape.compile are not Python's compile(); json.loads reads data
            owner = node.func.value if isinstance(node.func, ast.Attribute) else None
            allowed = (name == "compile" and isinstance(owner, ast.Name)
                       and owner.id in ("re", "cls", "Tape")) or (
                name == "loads" and isinstance(owner, ast.Name) and owner.id in ("json",
                                                                                 "tomllib",
                                                                                 "tomli"))
            assert allowed, f"{path.name}:{node.lineno}: {name}()"
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(
                node, ast.ImportFrom) and node.module else [])
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_IMPORTS, f"{path.name}: {name}"


@pytest.mark.parametrize("path", SOURCE, ids=lambda p: p.name)
def test_processes_are_started_without_a_shell(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node, name in calls(tree):
        if name in ("run", "Popen", "call", "check_call", "check_output") and isinstance(
                node.func, ast.Attribute) and getattr(node.func.value, "id", "") == "subprocess":
            assert path.name == "dot.py", f"{path.name}:{node.lineno} starts a process"
            assert isinstance(node.args[0], ast.List), "the command is a list, not a string"
            for kw in node.keywords:
                assert not (kw.arg == "shell" and getattr(kw.value, "value", False))


def test_user_names_never_reach_python_namespaces():
    """A program naming Python internals is just a program with odd variable names."""
    import gradcalc

    f = gradcalc.parse("cls = exec + os; f = cls * eval")
    assert f.variables == ("exec", "os", "eval")
    r = f.gradient({"exec": 1, "os": 2, "eval": 3})
    assert (r.value, r.gradient) == (9.0, {"exec": 3.0, "os": 3.0, "eval": 3.0})
    assert str(f.symbolic().expression) == "eval*(exec + os)"
    with pytest.raises(gradcalc.ParseError, match="unexpected character '_'"):
        gradcalc.parse("__import__('os')")
