"""Tables for people at every terminal width: a number is never cut (…) or split across lines;
formulas fold or are cut with a note; one style; the tree and the answers table."""

import json
import re

import pytest
import sympy
from click.testing import CliRunner
from rich.console import Console

from gradcalc import parse
from gradcalc.check import SKIPPED, check_point
from gradcalc.cli import main
from gradcalc.expect import check_answers, split_answers
from gradcalc.numfmt import fmt
from gradcalc.printing import sstr
from gradcalc.render.higher import hessian_table, partials_table
from gradcalc.render.steps import steps_tables
from gradcalc.render.table import CUT, Col, answers_table, fit, point_table, symbolic_table
from gradcalc.render.tree import graph_tree
from gradcalc.steps import walkthrough

SIGMOID = "1/(1+exp(-(w0*x0 + w1*x1 + w2)))"
POINT = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
WIDTHS = [40, 60, 80, 200]


def console(width: int) -> Console:
    return Console(width=width, record=True, color_system=None)


def assert_whole(text: str, numbers) -> None:
    """Each number appears whole on one line (not followed by more digits), and nothing is
    cut with an ellipsis."""
    assert "…" not in text
    lines = text.splitlines()
    for n in numbers:
        pattern = re.compile(rf"(?<![\d.]){re.escape(n)}(?![\d.])")
        assert any(pattern.search(line) for line in lines), f"{n} is not whole on a line"


@pytest.fixture(scope="module")
def sigmoid():
    fn = parse(SIGMOID)
    result = fn.gradient(POINT)
    return fn, result, check_point(fn, result, 10.0), walkthrough(fn, result)


@pytest.mark.parametrize("width", WIDTHS)
def test_point_and_steps_tables_keep_every_number_whole(sigmoid, width):
    fn, result, check, walk = sigmoid
    c = console(width)
    point_table(c, SIGMOID, result, check, 6)
    steps_tables(c, walk, 6)
    numbers = {fmt(x, 6) for x in [result.value, *result.gradient.values()]}
    numbers |= {fmt(s.value, 6) for s in walk.forward}
    numbers |= {fmt(x, 6) for s in walk.backward for x in (s.upstream, s.local, s.downstream)}
    assert_whole(c.export_text(), numbers)


@pytest.mark.parametrize("width", WIDTHS)
def test_precision_40_shows_every_digit_at_every_width(width):
    args = [SIGMOID, "--at", "w0=2,x0=-1,w1=-3,x1=-2,w2=-3", "--precision", "40"]
    runner = CliRunner(env={"COLUMNS": str(width)})
    digits = json.loads(runner.invoke(main, [*args, "--format", "json"]).stdout)["precision"]
    r = runner.invoke(main, [*args, "--steps"])
    assert r.exit_code == 0, r.output
    assert_whole(r.stdout, [digits["value"], *digits["gradient"].values()])


@pytest.mark.parametrize("width", WIDTHS)
def test_hessian_and_partials_keep_every_number_whole(width):
    names = [f"x{k}" for k in range(8)]
    fn = parse(" + ".join(f"{a}*{b}^2/7" for a, b in zip(names, names[1:] + names[:1],
                                                         strict=True)))
    point = {n: 1.0 + k / 3 for k, n in enumerate(names)}
    h = fn.hessian(**point)
    c = console(width)
    hessian_table(c, "f", h, None, 9)
    partials_table(c, "f", fn.derivative(**point, order=2), None, 9)
    assert_whole(c.export_text(), {fmt(x, 9) for row in h.matrix for x in row})


def test_the_sigmoid_steps_at_60_columns_go_vertical_and_at_80_stay_a_table(sigmoid):
    *_, walk = sigmoid
    narrow, wide = console(60), console(80)
    steps_tables(narrow, walk, 6)
    steps_tables(wide, walk, 6)
    text = narrow.export_text()
    assert "step 1: f → t7\n  upstream:       1\n  local gradient: ∂(1/t7)/∂t7 = -1/t7^2\n" in text
    assert "  ∂f/∂target:     -0.534447\n" in text
    table = wide.export_text()
    assert "   1  f → t7           1  ∂(1/t7)/∂t7 =" in table
    assert max(len(line.rstrip()) for line in table.splitlines()) <= 80


def test_a_number_wider_than_the_terminal_is_printed_whole():
    c = console(20)
    fit(c, [Col("name"), Col("value", "right")], [["x", "0." + "3" * 40]])
    assert "\n0." + "3" * 40 + "\n" in c.export_text()   # at the left edge, on one line


def test_long_formulas_are_cut_with_a_note_and_json_keeps_them():
    fn = parse("relu(" + " + ".join(f"w{k}*x{k}" for k in range(30)) + ")")
    result = fn.gradient({**{f"w{k}": 1 for k in range(30)}, **{f"x{k}": 1 for k in range(30)}})
    check = check_point(fn, result, 10.0)
    c = console(100)
    point_table(c, "relu(...)", result, check, 6)
    text = c.export_text()
    assert f"longer than {CUT} characters are cut" in text and "--format json" in text
    assert " …" in text
    longest = max(len(p.symbolic) for p in check.partials)
    assert longest > CUT   # the check itself keeps the whole formula (JSON prints it)


def test_symbolic_false_leaves_out_the_sympy_column(sigmoid):
    fn, result, check, _ = sigmoid
    c = console(200)
    point_table(c, SIGMOID, result, check, 6, symbolic=False)
    text = c.export_text()
    assert "SymPy ∂f/∂var" not in text and "exp(" not in text.split("f = ")[1]
    assert "check" in text and "✓" in text


def test_symbolic_table_cuts_the_expression_and_can_hide_sympy_diff():
    fn = parse("x^2*sin(y)")
    sym = fn.symbolic()
    printed = type(sym)(sym.output, sstr(sym.expression),
                        {k: sstr(v) for k, v in sym.gradient.items()}, sym.warnings)
    c = console(80)
    symbolic_table(c, "x^2*sin(y)", printed, SKIPPED, symbolic=False)
    text = c.export_text()
    assert "2*x*sin(y)" in text and "sympy.diff" not in text


def test_piecewise_prints_as_cases():
    x, y = sympy.symbols("x y", real=True)
    assert sstr(sympy.Piecewise((1, x > 0), (0, True))) == "{1 if x > 0; 0 otherwise}"
    assert sstr(y * sympy.Piecewise((x, x > 0), (0, True))) == "y*{x if x > 0; 0 otherwise}"
    both = sympy.Piecewise((1, sympy.And(x > 0, sympy.Or(y < 1, y > 3))), (0, True))
    assert sstr(both) == "{1 if x > 0 and (y > 3 or y < 1); 0 otherwise}"


def test_relu_gradient_reads_as_maths():
    r = CliRunner().invoke(main, ["relu(x)*y", "--format", "plain", "--no-check"])
    assert "df/dy = {x if x > 0; 0 otherwise}" in r.stdout
    assert " else " not in r.stdout


def test_tree_has_single_spaces_and_constant_leaves():
    fn = parse("q = x + y; f = z*q + 2*x")
    w = walkthrough(fn, fn.gradient(x=-2, y=5, z=-4), formulas=False)
    c = console(100)
    c.print(graph_tree(w))
    text = c.export_text()
    assert "  " not in "".join(line.lstrip("│├└─ ") for line in text.splitlines())
    assert "q = x + y = 3, ∂f/∂q = -4" in text
    assert "── 2 (constant)" in text


def test_answers_table_shows_correct_at_the_main_tables_digits():
    fn = parse("x^2")
    verdicts = check_answers(fn, split_answers("df/dx=2.4691,df/dx=2.469135780", "f"),
                             {"x": 1.23456789}, None)
    c = console(100)
    answers_table(c, verdicts, 6)
    lines = c.export_text().splitlines()
    assert "2.4691   " in lines[4] and " 2.46914 " in lines[4]
    assert " 2.46913578 " in lines[5]      # as many digits as the student wrote


def test_every_table_has_one_style(sigmoid):
    fn, result, check, walk = sigmoid
    c = console(200)
    point_table(c, SIGMOID, result, check, 6)
    steps_tables(c, walk, 6)
    hessian_table(c, "f", parse("x*y").hessian(x=1, y=2), None, 6)
    text = c.export_text()
    rules = [line for line in text.splitlines() if line.startswith("─")]
    assert len(rules) == 5 and all(set(r) == {"─"} for r in rules)
    assert "━" not in text and "│" not in text
