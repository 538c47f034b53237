"""--format latex: the align* block (floats at --digits, --exact, --precision, the symbolic case)
and the --steps tables, asserted as exact text; compiled by pdflatex when the machine has it."""

import re

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


# --- --steps --------------------------------------------------------------------------------------

def steps(source, at, digits=None):
    from gradcalc.render.latex import latex_steps
    from gradcalc.steps import walkthrough

    fn = parse(source)
    return latex_steps(walkthrough(fn, fn.gradient(parse_point(at) if at else {})), digits)


def test_steps_readme_example():
    assert steps("q = x + y; f = z*q", "x=-2,y=5,z=-4").splitlines() == [
        r"\noindent",
        r"\begin{tabular}{rllr}",
        r"\multicolumn{4}{l}{\textbf{Forward pass}} \\",
        r"\hline",
        r"step & node & definition & value \\",
        r"\hline",
        r"1 & $x$ & input & $-2$ \\",
        r"2 & $y$ & input & $5$ \\",
        r"3 & $q$ & $x + y$ & $3$ \\",
        r"4 & $z$ & input & $-4$ \\",
        r"5 & $f$ & $z \cdot q$ & $-12$ \\",
        r"\hline",
        r"\end{tabular}",
        "",
        r"\medskip",
        "",
        r"\noindent",
        r"\begin{tabular}{rlllr}",
        r"\multicolumn{5}{l}{\textbf{Backward pass (per edge): downstream = upstream $\times$ "
        r"local}} \\",
        r"\hline",
        r"step & edge & local gradient & upstream $\times$ local $=$ downstream & "
        r"$\partial f/\partial$target \\",
        r"\hline",
        r"1 & $f \to z$ & $\partial(z \cdot q)/\partial z = q$ & $1 \times 3 = 3$ & $3$ \\",
        r"2 & $f \to q$ & $\partial(z \cdot q)/\partial q = z$ & $1 \times (-4) = -4$ & $-4$ \\",
        r"3 & $q \to x$ & $\partial(x + y)/\partial x = 1$ & $(-4) \times 1 = -4$ & $-4$ \\",
        r"4 & $q \to y$ & $\partial(x + y)/\partial y = 1$ & $(-4) \times 1 = -4$ & $-4$ \\",
        r"\hline",
        r"\end{tabular}",
    ]


def test_steps_paths_meet_names_and_digits():
    lines = steps("b_1 = a_in + a_in; c = b_1^2 + sigmoid(b_1)", "a_in=1/3", digits=3)
    rows = [line for line in lines.splitlines() if line[:1].isdigit()]
    assert rows == [
        r"1 & $a_{\mathit{in}}$ & input & $0.333$ \\",
        r"2 & $b_{1}$ & $a_{\mathit{in}} + a_{\mathit{in}}$ & $0.667$ \\",
        r"3 & $t_{1}$ & $b_{1}^{2}$ & $0.444$ \\",
        r"4 & $t_{2}$ & $\operatorname{sigmoid}(b_{1})$ & $0.661$ \\",
        r"5 & $c$ & $t_{1} + t_{2}$ & $1.11$ \\",
        r"1 & $c \to t_{1}$ & $\partial(t_{1} + t_{2})/\partial t_{1} = 1$ & $1 \times 1 = 1$ & "
        r"$1$ \\",
        r"2 & $c \to t_{2}$ & $\partial(t_{1} + t_{2})/\partial t_{2} = 1$ & $1 \times 1 = 1$ & "
        r"$1$ \\",
        r"3 & $t_{2} \to b_{1}$ & $\partial \operatorname{sigmoid}(b_{1})/\partial b_{1} = "
        r"\frac{1}{\left(1 + e^{- b_{1}}\right) \left(e^{b_{1}} + 1\right)}$ & "
        r"$1 \times 0.224 = 0.224$ & $0.224$ (+ more) \\",
        r"4 & $t_{1} \to b_{1}$ & $\partial(b_{1}^{2})/\partial b_{1} = 2 b_{1}$ & "
        r"$1 \times 1.33 = 1.33$ & $1.56$ (sum of 2 paths) \\",
        r"5 & $b_{1} \to a_{\mathit{in}}$ & $\partial(a_{\mathit{in}} + a_{\mathit{in}})/\partial "
        r"a_{\mathit{in}} = 1$ & $1.56 \times 1 = 1.56$ & $1.56$ (+ more) \\",
        r"6 & $b_{1} \to a_{\mathit{in}}$ & $\partial(a_{\mathit{in}} + a_{\mathit{in}})/\partial "
        r"a_{\mathit{in}} = 1$ & $1.56 \times 1 = 1.56$ & $3.11$ (sum of 2 paths) \\",
    ]


def balanced(text: str) -> bool:
    """Braces nest, every \\begin has its \\end, and math shifts pair up on every line."""
    bare = re.sub(r"\\[{}$]|\\\\", "", text)
    depth, stack = 0, []
    for m in re.finditer(r"[{}]|\\(begin|end)\{([^}]*)\}", bare):
        if m.group(1) == "begin":
            stack.append(m.group(2))
        elif m.group(1) == "end" and (not stack or stack.pop() != m.group(2)):
            return False
        elif m.group(1) is None:
            depth += 1 if m.group(0) == "{" else -1
            if depth < 0:
                return False
    return depth == 0 and not stack and all(line.count("$") % 2 == 0
                                            for line in bare.splitlines())


@pytest.mark.parametrize("source, at", [
    ("q = x + y; f = z*q", "x=-2,y=5,z=-4"),
    ("h_1 = max(x, y, 1) + log(x, 2) + abs(x) + cbrt(y) + atan2(y, x) + asin(x/4) + erf(x); "
     "h_1 = h_1^2 - 1e-3/my_var; h_1^3", "x=1.5,y=2,my_var=4"),
    ("x = x*2; x^2 + sin(x)", "x=1"),   # x' is the named x
    ("sqrt(x^2)*w_1", "x=0,w_1=2"),      # a note on the undetermined partial, in text mode
    ("c = 2; c = c^2", ""),              # one node: no edges
])
def test_steps_are_balanced(source, at):
    text = steps(source, at)
    assert balanced(text)
    assert text.count(r"\begin{tabular}") == 2


def test_steps_primed_name_as_a_base():
    # x' is x^{\prime}: squaring it needs braces, or TeX sees a double superscript
    assert r"3 & $t_{1}$ & ${x'}^{2}$ & $4$ \\" in steps("x = x*2; x^2 + sin(x)", "x=1")


def test_steps_note_in_text_mode():
    last = steps("sqrt(x^2)*w_1", "x=0,w_1=2").splitlines()[-1]
    assert last.startswith(r"\noindent $\partial$f/$\partial$x: reverse mode cannot decide it: "
                           r"the infinite derivative of sqrt(x\textasciicircum{}2) at (0) ")


def test_steps_of_a_single_node():
    assert r"\multicolumn{5}{l}{no edges to walk (the output is a single node)} \\" in (
        steps("c = 2; c = c^2", "").splitlines())


# --- a real compile, where the machine has LaTeX --------------------------------------------------

@pytest.mark.skipif(__import__("shutil").which("pdflatex") is None, reason="no pdflatex here")
def test_pdflatex_compiles_the_write_up(tmp_path):
    import subprocess

    body = "\n".join([
        "\n".join(block("loss = (w_1*x_2 - y_true)^2", "w_1=1/3,x_2=2,y_true=3", exact="exact")),
        "\n".join(block("exp(x)/y + sqrt(x^2)", "x=0,y=3e7")),
        latex_point(parse("x^2*sin(w1)").symbolic()),
        steps("b_1 = a_in + a_in; c = b_1^2 + sigmoid(b_1)", "a_in=1/3"),
        steps("x = x*2; x^2 + sin(x)", "x=1"),
        steps("sqrt(x^2)*w_1 + abs(x) + max(x, 1) + log(x + 2, 2) + erf(x)", "x=0,w_1=2"),
    ])
    (tmp_path / "handout.tex").write_text(
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        f"{body}\n\\end{{document}}\n", encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                          "handout.tex"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "handout.pdf").exists()
