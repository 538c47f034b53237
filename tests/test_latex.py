"""--format latex: the align* block (floats at --digits, --exact, --precision, the symbolic case)
and the --steps tables, asserted as exact text; compiled by pdflatex when the machine has it."""

import pytest

from gradcalc import parse
from gradcalc.function import precise
from gradcalc.points import parse_point
from gradcalc.render.latex import latex_name, latex_number, latex_point, latex_text


def block(source, at, digits=None, exact=None):
    """latex_point as the command line calls it: the symbolic gradient of the same partials as
    the float result, and --exact's SymPy result or --precision's mpmath one from the exact
    point."""
    fn = parse(source)
    result = fn.gradient(parse_point(at))
    sym = fn.symbolic(wrt=list(result.gradient))
    if exact == "exact":
        exact = fn.symbolic(parse_point(at, exact=True), wrt=list(result.gradient))
    elif exact is not None:
        exact = precise(fn, parse_point(at, exact=True), exact, list(result.gradient))
    return latex_point(sym, result, digits, exact).splitlines()


def test_readme_example():
    # the shape formats.latex_document printed, so tests/test_expect.py holds as it is
    assert block("z*(x+y)", "x=-2,y=5,z=-4") == [
        "% at x = -2, y = 5, z = -4",
        r"\begin{align*}",
        r"f &= z \left(x + y\right) = -12 \\",
        r"\frac{\partial f}{\partial x} &= z = -4 \\",
        r"\frac{\partial f}{\partial y} &= z = -4 \\",
        r"\frac{\partial f}{\partial z} &= x + y = 3",
        r"\end{align*}",
    ]


def test_symbolic_without_a_point():
    assert latex_point(parse("x^2*sin(w1)").symbolic()).splitlines() == [
        r"\begin{align*}",
        r"f &= x^{2} \sin{\left(w_{1} \right)} \\",
        r"\frac{\partial f}{\partial x} &= 2 x \sin{\left(w_{1} \right)} \\",
        r"\frac{\partial f}{\partial w_{1}} &= x^{2} \cos{\left(w_{1} \right)}",
        r"\end{align*}",
    ]


def test_exact_values_as_fractions_with_their_decimals():
    assert block("x^2*y", "x=1/3,y=3", exact="exact") == [
        "% at x = 1/3, y = 3",
        r"\begin{align*}",
        r"f &= x^{2} y = \frac{1}{3} \approx 0.333333 \\",
        r"\frac{\partial f}{\partial x} &= 2 x y = 2 \\",
        r"\frac{\partial f}{\partial y} &= x^{2} = \frac{1}{9} \approx 0.111111",
        r"\end{align*}",
    ]


def test_exact_roots():
    assert block("sin(x)", "x=pi/6", exact="exact")[2:4] == [
        r"f &= \sin{\left(x \right)} = \frac{1}{2} \approx 0.5 \\",
        r"\frac{\partial f}{\partial x} &= \cos{\left(x \right)} = \frac{\sqrt{3}}{2} "
        r"\approx 0.866025",
    ]


def test_float_that_rounds_to_a_half():
    # math.sin(math.pi/6) is 0.49999999999999994: six significant digits, as the tables show
    assert block("sin(x)", "x=pi/6")[2] == r"f &= \sin{\left(x \right)} = 0.5 \\"
    assert block("sin(x)", "x=pi/6", digits=17)[2] == (
        r"f &= \sin{\left(x \right)} = 0.49999999999999994 \\")


def test_digits_and_scientific_notation():
    lines = [r"\begin{align*}",
             r"f &= \frac{e^{x}}{y} = 9.06 \times 10^{-8} \\",
             r"\frac{\partial f}{\partial x} &= \frac{e^{x}}{y} = 9.06 \times 10^{-8} \\",
             r"\frac{\partial f}{\partial y} &= - \frac{e^{x}}{y^{2}} = -3.02 \times 10^{-15}",
             r"\end{align*}"]
    assert block("exp(x)/y", "x=1,y=3e7", digits=3)[1:] == lines
    assert block("exp(x)/y", "x=1,y=3e7")[2] == (
        r"f &= \frac{e^{x}}{y} = 9.06094 \times 10^{-8} \\")


def test_precision_digits():
    assert block("sqrt(x)", "x=2", exact=20) == [
        "% at x = 2",
        r"\begin{align*}",
        r"f &= \sqrt{x} = 1.4142135623730950488 \\",
        r"\frac{\partial f}{\partial x} &= \frac{1}{2 \sqrt{x}} = 0.3535533905932737622",
        r"\end{align*}",
    ]


def test_undetermined_partial():
    lines = block("sqrt(x^2)*y", "x=0,y=2")
    assert lines[3] == r"\frac{\partial f}{\partial x} &= \frac{x y}{\left|{x}\right|} = " \
                       r"\text{undetermined} \\"
    assert block("sqrt(x^2)*y", "x=0,y=2", exact="exact")[3] == lines[3]


def test_names_with_underscores():
    assert block("loss = (w_1*x_2 - y_true)^2", "w_1=0.5,x_2=2,y_true=3") == [
        "% at w_1 = 0.5, x_2 = 2, y_true = 3",
        r"\begin{align*}",
        r"\mathit{loss} &= \left(w_{1} x_{2} - y_{\mathit{true}}\right)^{2} = 4 \\",
        r"\frac{\partial \mathit{loss}}{\partial w_{1}} &= "
        r"x_{2} \left(2 w_{1} x_{2} - 2 y_{\mathit{true}}\right) = -8 \\",
        r"\frac{\partial \mathit{loss}}{\partial x_{2}} &= "
        r"w_{1} \left(2 w_{1} x_{2} - 2 y_{\mathit{true}}\right) = -2 \\",
        r"\frac{\partial \mathit{loss}}{\partial y_{\mathit{true}}} &= "
        r"- 2 w_{1} x_{2} + 2 y_{\mathit{true}} = 4",
        r"\end{align*}",
    ]


@pytest.mark.parametrize("name, tex", [
    ("x", "x"), ("w_1", "w_{1}"), ("t1", "t_{1}"), ("x10", "x_{10}"), ("theta_0", r"\theta_{0}"),
    ("α", r"\alpha"), ("x_alpha", r"x_{\alpha}"), ("loss", r"\mathit{loss}"),
    ("x_in", r"x_{\mathit{in}}"), ("c'", "c'"), ("w_1'", "w_{1}'"),
    # no pattern to follow: written out, not guessed (SymPy makes x__y x^{y}, a_b_c a_{b c})
    ("a_b_c", r"\mathit{a\_b\_c}"), ("x__y", r"\mathit{x\_\_y}"), ("x1_2", r"\mathit{x1\_2}"),
    ("_a", r"\mathit{\_a}"), ("a_", r"\mathit{a\_}"),
])
def test_latex_name(name, tex):
    assert latex_name(name) == tex


def test_latex_text_escapes():
    assert latex_text("∂f/∂w_1 at 0·∞: 100% {a} & x^2 #1 ~ $5") == (
        r"$\partial$f/$\partial$w\_1 at 0$\cdot\infty$: 100\% \{a\} \& x\textasciicircum{}2 "
        r"\#1 \textasciitilde{} \$5")


@pytest.mark.parametrize("value, digits, tex", [
    (-12.0, None, "-12"), (-0.0, None, "0"), (1.5e-8, None, r"1.5 \times 10^{-8}"),
    (1e20, None, r"1 \times 10^{20}"), (123456789.0, None, r"1.23457 \times 10^{8}"),
    (123456789.0, 9, "123456789"), (2 / 3, 3, "0.667"), (float("-inf"), None, r"-\infty"),
    (float("nan"), None, r"\mathrm{NaN}"), (None, None, r"\text{undetermined}"),
])
def test_latex_number(value, digits, tex):
    assert latex_number(value, digits) == tex
