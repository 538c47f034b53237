"""The language: numbers, names, precedence, implicit multiplication, programs, and errors with
carets in the right place."""

import math

import pytest

import gradcalc
from gradcalc.errors import ParseError
from gradcalc.syntax import parse_graph, tokenize


def value(src, **pt):
    f = gradcalc.parse(src)
    return f(**{k: v for k, v in pt.items() if k in f.inputs})


@pytest.mark.parametrize("src, expected", [
    ("2", 2.0), ("-3.5", -3.5), (".5", 0.5), ("1e-3", 0.001), ("2.5E+4", 25000.0),
    ("3.", 3.0), ("1/4", 0.25), ("2^10", 1024.0), ("2**10", 1024.0),
    ("pi", math.pi), ("e", math.e), ("2e", 2 * math.e), ("2e3", 2000.0),
])
def test_numbers_and_constants(src, expected):
    assert value(src) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("src, expected", [
    ("-x^2", -9.0),                  # power binds tighter than unary minus
    ("(-x)^2", 9.0),
    ("2^-1", 0.5),
    ("2^3^2", 512.0),                # right-associative
    ("2**3**2", 512.0),
    ("-2^2", -4.0),
    ("2^-x", 0.125),
    ("2^-x*3", 0.375),               # (2^(-x))*3, as in Python
    ("1 - 2 - 3", -4.0),
    ("24/4/2", 3.0),
    ("2 + 3*x", 11.0),
    ("--x", 3.0),
    ("+x", 3.0),
    ("x - -1", 4.0),
    ("|x - 5|", 2.0),
    ("|x - |x - 10||", 4.0),
    ("|x||x|", 9.0),
])
def test_precedence(src, expected):
    assert value(src, x=3) == pytest.approx(expected)


@pytest.mark.parametrize("implicit, explicit", [
    ("2x", "2*x"), ("2(x+1)", "2*(x+1)"), ("(x+1)(x-1)", "(x+1)*(x-1)"),
    ("2 sin(x)", "2*sin(x)"), ("3x^2", "3*(x^2)"), ("2pi x", "2*pi*x"), ("2x y", "2*x*y"),
    ("2|x|", "2*abs(x)"), ("(x)y", "x*y"),
])
def test_implicit_multiplication(implicit, explicit):
    if explicit is None:
        with pytest.raises(ParseError):
            value(implicit, x=1.5, y=2)
        return
    assert value(implicit, x=1.5, y=2) == pytest.approx(value(explicit, x=1.5, y=2))


def test_xy_is_one_name():
    assert gradcalc.parse("xy + x").variables == ("xy", "x")


def test_greek_and_underscored_names():
    f = gradcalc.parse("θ*α_1 + x_0")
    assert f.variables == ("θ", "α_1", "x_0")
    assert f(θ=2, α_1=3, x_0=1) == 7.0


def test_implicit_multiplication_after_division_warns():
    f = gradcalc.parse("1/2x")
    assert f(x=4) == 2.0                     # (1/2)*x
    assert "read as (1/2)*x" in f.warnings[0]


def test_unicode_operator_synonyms():
    assert value("x − 1 × 2 ÷ 4", x=3) == 2.5


@pytest.mark.parametrize("src, expected", [
    ("log(8, 2)", 3.0), ("ln(e)", 1.0), ("log(e^2)", 2.0), ("log2(8)", 3.0),
    ("log10(1000)", 3.0), ("max(1, 5, 3)", 5.0), ("min(4, 2, 8, 6)", 2.0), ("pow(2, 5)", 32.0),
    ("atan2(1, 1)", math.pi / 4),
    ("cbrt(-27)", -3.0), ("abs(-2)", 2.0), ("relu(-2)", 0.0), ("sigmoid(0)", 0.5),
])
def test_functions(src, expected):
    assert value(src) == pytest.approx(expected, rel=1e-14)


def test_programs_statements_and_reassignment():
    f = gradcalc.parse("c = 1; c = c + x\n c *= 2  # double it\nd = c - 1")
    assert f.output == "d"
    assert f(x=3) == 7.0
    assert gradcalc.parse("c = x; c += 1; c -= 3; c *= 4; c /= 8")(x=2) == 0.0


def test_final_bare_expression_is_called_f():
    f = gradcalc.parse("q = x + y\nz*q")
    assert f.output == "f"
    assert f(x=-2, y=5, z=-4) == -12.0


def test_assigned_name_shadows_constant():
    assert gradcalc.parse("e = 2; f = e*x")(x=3) == 6.0
    assert gradcalc.parse("pi = 3; f = pi")() == 3.0


def test_long_chain_does_not_recurse():
    n = 100_000
    f = gradcalc.parse("+".join(["x"] * n))
    r = f.gradient(x=0.5)
    assert r.value == n * 0.5
    assert r.gradient["x"] == n


def test_long_program_does_not_recurse():
    n = 100_000
    src = "v0 = x\n" + "\n".join(f"v{k} = v{k-1} + 1" for k in range(1, n))
    r = gradcalc.parse(src).gradient(x=1)
    assert r.value == n
    assert r.gradient["x"] == 1.0


def test_deep_nesting_does_not_recurse():
    depth = 20_000
    f = gradcalc.parse("(" * depth + "x" + ")" * depth)
    assert f.gradient(x=2).gradient["x"] == 1.0
    g = gradcalc.parse("sin(" * 2000 + "x" + ")" * 2000)
    assert g(x=0.5) == pytest.approx(0.0385, abs=1e-3)


def test_tokens_keep_positions():
    assert tokenize("x+ 12") == [("name", "x", 0), ("op", "+", 1), ("num", "12", 3),
                                 ("end", "", 5)]


def test_spans_point_at_the_source():
    g = parse_graph("q = x + y; f = z*q")
    assert [g.snippet(i) for i in range(len(g.nodes))] == ["x", "y", "x + y", "z", "z*q"]


def caret_column(src):
    with pytest.raises(ParseError) as info:
        parse_graph(src)
    err = info.value
    lines = err.excerpt().splitlines()
    col = lines[1].index("^") - lines[0].index(src.splitlines()[0][:1] or " ")
    return err, col, lines[1].count("^")


@pytest.mark.parametrize("src, message, col, width", [
    ("f(y+1)", "f is not a function gradcalc knows", 0, 1),
    ("xy z", "missing operator between xy and z", 3, 1),
    ("sin", "sin is a function", 0, 3),
    ("2 + * 3", "expected a number", 4, 1),
    ("(x + 1", "'(' is never closed", 0, 1),
    ("x + 1)", "unmatched ')'", 5, 1),
    ("foo(x)", "foo is not a function gradcalc knows", 0, 3),
    ("atan2(x)", "atan2() takes two arguments, not 1", 0, 8),
    ("min(x, )", "expected an argument after ','", 5, 3),
    ("x $ y", "unexpected character '$'", 2, 1),
    ("x²", "unexpected character '²'", 1, 1),
    ("a, b", "',' outside a function call", 1, 1),
    ("sin = 3", "sin is a function and cannot be assigned", 0, 3),
    ("x + 1; y", "an expression without a name must be the last statement", 0, 5),
    ("2 3", "missing operator before 3", 2, 1),
    ("|x", "'|' is never closed", 0, 1),
    ("x|", "'|' is never closed", 1, 1),
    ("sin(x,)", "expected an argument after ','", 5, 2),
    ("x = ", "expected a number, a name or '(' but found the end of the input", 3, 1),
])
def test_errors_have_messages_and_carets(src, message, col, width):
    err, got_col, got_width = caret_column(src)
    assert message in err.message
    assert (got_col, got_width) == (col, width)


def test_a_one_letter_function_name_suggests_multiplication():
    with pytest.raises(ParseError) as info:
        parse_graph("2 + g(b*(c+1)) - 1")
    assert info.value.hint == ("gradcalc has no functions of your own: write the expression "
                               "itself (f = x^2, or just x^2); to multiply, write g*(b*(c+1))")
    with pytest.raises(ParseError) as info:
        parse_graph("h(b")
    assert info.value.hint.endswith("to multiply, write h*(...)")


def test_error_on_a_later_line_names_the_line():
    with pytest.raises(ParseError) as info:
        parse_graph("a = x\nb = a +\nc = 2")
    text = info.value.render()
    assert "line 2: b = a +" in text


@pytest.mark.parametrize("src", ["", "   ", "# only a comment", "\n;\n"])
def test_empty_program(src):
    with pytest.raises(ParseError, match="the program is empty"):
        parse_graph(src)


# --- limits: what one program may cost ---------------------------------------------------------

def test_limits_bound_size_nodes_and_depth():
    from gradcalc import NO_LIMITS, Limits
    from gradcalc.syntax import parse_graph

    with pytest.raises(ParseError, match="the program is 11 characters long; the limit is 10"):
        parse_graph("x+x+x+x+x+x", Limits(size=10))
    with pytest.raises(ParseError, match="more than 5 nodes") as info:
        parse_graph("x+x+x+x+x+x", Limits(nodes=5))
    assert "--max-nodes" in info.value.hint
    with pytest.raises(ParseError, match="more than 5 nodes"):
        parse_graph("a = x + 1; b = a + 1; c = b + 1", Limits(nodes=5))
    with pytest.raises(ParseError, match="more than 3 deep") as info:
        parse_graph("((((x))))", Limits(depth=3))
    assert info.value.span == (3, 4)        # the caret is under the fourth '('
    for deep in ("sin(sin(sin(sin(x))))", "(|(|x|)|)"):
        with pytest.raises(ParseError, match="deep"):
            parse_graph(deep, Limits(depth=3))
    assert len(parse_graph("((((x))))", Limits(depth=4)).nodes) == 1
    assert len(parse_graph("x+" * 2000 + "x", NO_LIMITS).nodes) == 2001


def test_default_limits_allow_big_programs_and_refuse_huge_ones():
    from gradcalc.syntax import DEFAULT_LIMITS, parse_graph

    assert DEFAULT_LIMITS.nodes == 1_000_000 and DEFAULT_LIMITS.depth == 100_000
    assert len(parse_graph("(" * 20_000 + "x" + ")" * 20_000).nodes) == 1
    with pytest.raises(ParseError, match="5,000,000"):
        parse_graph("x+" * 2_500_001)


def test_a_character_that_cannot_start_a_name_is_named():
    # found by the property test: U+0E33 can follow a letter in a name but not start one
    with pytest.raises(ParseError) as info:
        gradcalc.parse("\u0e33")
    assert "U+0E33" in info.value.message
