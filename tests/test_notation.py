"""Textbook notation (issue 14): what gradcalc reads as a product, what it refuses, and the exact
message, caret and hint a user sees for each. Everything goes through the public parse API,
``Function(text)``, whose errors render exactly as the command line prints them."""

import math

import pytest

from gradcalc.errors import GradcalcError
from gradcalc.function import Function
from gradcalc.ops import FUNCTIONS


def rendered(text):
    with pytest.raises(GradcalcError) as info:
        Function(text)
    return info.value.render()


def value_and_gradient(text, **point):
    r = Function(text).gradient(**point)
    return r.value, r.gradient


# --- a name before '(' ---------------------------------------------------------------------------

def test_a_variable_before_a_parenthesis_is_a_product_with_a_note():
    f = Function("x(x+1)")
    assert value_and_gradient("x(x+1)", x=2) == (6.0, {"x": 5.0})
    assert f.warnings == ("x(x+1) is read as x*(x+1), a product: x is not a function",)
    assert f.gradient(x=2).warnings == f.warnings     # carried to the result the CLI prints


@pytest.mark.parametrize("text, point, value, gradient", [
    ("w1(x+1)", {"w1": 3, "x": 2}, 9.0, {"w1": 3.0, "x": 3.0}),            # digit subscript
    ("x_2(x_2-1)", {"x_2": 3}, 6.0, {"x_2": 5.0}),                         # '_' subscript
    ("θ(θ+1)", {"θ": 2}, 6.0, {"θ": 5.0}),                                 # any letter
    ("pi(x+1)", {"x": 1}, 2 * math.pi, {"x": math.pi}),                    # a constant
    ("e(x)", {"x": 2}, 2 * math.e, {"x": math.e}),
    ("rate = 2; f = rate(1+x)", {"x": 1}, 4.0, {"x": 2.0}),                # assigned earlier
    ("y = k(1+x); k = 3; f = y", {"k": 2, "x": 1}, 4.0, {"k": 2.0, "x": 2.0}),   # ... or later
    ("area(r+1) + area", {"area": 2, "r": 1}, 6.0, {"area": 3.0, "r": 2.0}),   # used as a value
    ("g = 2; f = g(x+1)", {"x": 1}, 4.0, {"x": 2.0}),                      # f, g, h assigned
    ("x (x+1)", {"x": 2}, 6.0, {"x": 5.0}),                                # a space changes nothing
    ("x(x(x+1))", {"x": 2}, 12.0, {"x": 16.0}),
])
def test_what_reads_as_a_product(text, point, value, gradient):
    r = Function(text).gradient(**point)
    assert r.value == pytest.approx(value, rel=1e-15)
    assert r.gradient == pytest.approx(gradient, rel=1e-15)


def test_the_note_comes_once_per_name_and_stays_short():
    f = Function("x(x+1) + x(x-1) + y(2)")
    assert f.warnings == ("x(x+1) is read as x*(x+1), a product: x is not a function",
                          "y(2) is read as y*(2), a product: y is not a function")
    long = "x(" + "+".join(["x"] * 100) + ")"
    (note,) = Function(long).warnings
    assert note == ("x(x+x+x+x+x+x+x+x+x+x+x+x+x+x+…x+x+x+x+x+x+x+x+x+x+x+x+x+x+x) is read as "
                    "x*(x+x+x+x+x+x+x+x+x+x+x+x+x+x+x…x+x+x+x+x+x+x+x+x+x+x+x+x+x+x), a product: "
                    "x is not a function")


def test_division_before_an_implicit_call_warns_as_1_over_2x_does():
    f = Function("1/x(x+1)")
    assert f.warnings == (
        "1/x(x+1) is read as (1/x)*(x+1): implicit multiplication binds like * (write the "
        "parentheses you mean)",
        "x(x+1) is read as x*(x+1), a product: x is not a function")
    assert f(x=2) == 1.5


def test_1_over_2_parenthesis_names_the_whole_group():
    # before: "1/2( is read as (1/2)*(" (the warning quoted one token)
    assert Function("1/2(x+1)").warnings == (
        "1/2(x+1) is read as (1/2)*(x+1): implicit multiplication binds like * (write the "
        "parentheses you mean)",)
    assert Function("1/2 sin(x)").warnings == (
        "1/2 sin(x) is read as (1/2)*sin(x): implicit multiplication binds like * (write the "
        "parentheses you mean)",)


# --- unknown functions and what gradcalc does not do ------------------------------------------

def test_an_unknown_function_names_the_closest_known_ones():
    assert rendered("maximum(x)") == (
        "error: maximum is not a function gradcalc knows\n"
        "  maximum(x)\n"
        "  ^^^^^^^\n"
        "hint: the closest function gradcalc knows is max")
    assert rendered("2*sinn(x)") == (
        "error: sinn is not a function gradcalc knows\n"
        "  2*sinn(x)\n"
        "    ^^^^\n"
        "hint: the closest functions gradcalc knows: sin, sinh, sign")
    assert rendered("arcsin(x)").endswith("hint: the closest functions gradcalc knows: asin, "
                                          "asinh, sin")
    assert rendered("Tanh(x)").endswith("hint: the closest functions gradcalc knows: tanh, "
                                        "atanh, tan")


def test_with_no_close_name_every_function_is_listed_from_the_registry():
    assert rendered("foo(x)") == (
        "error: foo is not a function gradcalc knows\n"
        "  foo(x)\n"
        "  ^^^\n"
        f"hint: the functions gradcalc knows: {', '.join(sorted(FUNCTIONS))}")
    assert "abs, acos, acosh" in rendered("foo(x)")


def test_the_suggestions_follow_the_registry(monkeypatch):
    # maximum is not a function; were the registry to have one close to it, it would be suggested
    monkeypatch.setitem(FUNCTIONS, "maximumm", FUNCTIONS["max"])
    assert rendered("maximum(x)").endswith(
        "hint: the closest functions gradcalc knows: maximumm, max")


@pytest.mark.parametrize("text, shown, caret", [
    ("diff(x^3, x)", "diff", "^^^^"),
    ("derivative(x^3)", "derivative", "^^^^^^^^^^"),
    ("grad(x^3)", "grad", "^^^^"),
    ("d/dx(x^3)", "d/dx", "^^^^"),
])
def test_asking_for_a_derivative_says_gradcalc_differentiates_the_program(text, shown, caret):
    assert rendered(text) == (
        f"error: {shown} is not a function gradcalc knows\n"
        f"  {text}\n"
        f"  {caret}\n"
        'hint: gradcalc differentiates the program itself: write just the expression, '
        'e.g. gradcalc "x^3" --at x=2')


def test_the_derivative_hint_uses_the_expression_and_variable_typed():
    assert rendered("diff(sin(t)*t, t)").endswith('e.g. gradcalc "sin(t)*t" --at t=2')
    assert rendered("derivative(sin(t))").endswith('e.g. gradcalc "sin(t)" --at t=2')
    assert rendered("y = 2\ndf/dy(y^2)") == (
        "error: df/dy is not a function gradcalc knows\n"
        "  line 2: df/dy(y^2)\n"
        "          ^^^^^\n"
        'hint: gradcalc differentiates the program itself: write just the expression, '
        'e.g. gradcalc "y^2" --at y=2')


NO_INTEGRALS = "gradcalc does not compute integrals, only values and derivatives"
NO_LIMITS = "gradcalc does not compute limits, only values and derivatives"


@pytest.mark.parametrize("text, name, hint", [
    ("integrate(x^2, x)", "integrate", NO_INTEGRALS),
    ("integral(x^2)", "integral", NO_INTEGRALS),
    ("int(x)", "int", NO_INTEGRALS),
    ("limit(sin(x)/x, x, 0)", "limit", NO_LIMITS),
    ("lim(1/x)", "lim", NO_LIMITS),
])
def test_asking_for_integrals_and_limits_says_so_plainly(text, name, hint):
    assert rendered(text) == (f"error: {name} is not a function gradcalc knows\n"
                              f"  {text}\n"
                              f"  {'^' * len(name)}\n"
                              f"hint: {hint}")


def test_f_of_x_is_a_function_call_gradcalc_does_not_have():
    assert rendered("f(x)") == (
        "error: f is not a function gradcalc knows\n"
        "  f(x)\n"
        "  ^\n"
        "hint: gradcalc has no functions of your own: write the expression itself (f = x^2, or "
        "just x^2); to multiply, write f*(x)")


@pytest.mark.parametrize("text", ["y + x(1, 2)", "y + x()"])
def test_a_comma_or_nothing_in_the_parentheses_makes_it_a_call(text):
    assert rendered(text) == (
        "error: x is not a function gradcalc knows\n"
        f"  {text}\n"
        "      ^\n"
        f"hint: the functions gradcalc knows: {', '.join(sorted(FUNCTIONS))}")


# --- juxtaposition with a space -----------------------------------------------------------------

@pytest.mark.parametrize("text, point, value, gradient", [
    ("2x sin(x)", {"x": 2}, 4 * math.sin(2), {"x": 2 * math.sin(2) + 4 * math.cos(2)}),
    ("2pi x", {"x": 2}, 4 * math.pi, {"x": 2 * math.pi}),
    ("2x y", {"x": 2, "y": 3}, 12.0, {"x": 6.0, "y": 4.0}),
    ("a b c", {"a": 2, "b": 3, "c": 5}, 30.0, {"a": 15.0, "b": 10.0, "c": 6.0}),
    ("w1 x1 + w2 x2", {"w1": 2, "x1": 3, "w2": 5, "x2": 7}, 41.0,
     {"w1": 3.0, "x1": 2.0, "w2": 7.0, "x2": 5.0}),
    ("rate = 2; f = rate t", {"t": 3}, 6.0, {"t": 2.0}),     # assigned: a value
    ("2e x", {"x": 1}, 2 * math.e, {"x": 2 * math.e}),
])
def test_names_side_by_side_multiply_without_a_note(text, point, value, gradient):
    f = Function(text)
    r = f.gradient(**point)
    assert r.value == pytest.approx(value, rel=1e-15)
    assert r.gradient == pytest.approx(gradient, rel=1e-15)
    assert f.warnings == ()          # as 2x and 2 sin(x) have none


@pytest.mark.parametrize("text, value", [
    ("2e3", 2000.0), ("1e-5", 1e-5), ("2.5E+4", 25000.0), ("pi", math.pi), ("e", math.e),
    ("2e", 2 * math.e),
])
def test_numbers_and_constants_are_unchanged(text, value):
    assert Function(text)() == value


def test_names_with_digits_stay_one_name():
    assert Function("x2 x").variables == ("x2", "x")
    assert Function("x2 x").gradient(x2=3, x=5).gradient == {"x2": 5.0, "x": 3.0}


def test_a_long_name_beside_another_is_still_a_missing_operator():
    assert rendered("xy z") == ("error: missing operator between xy and z\n"
                                "  xy z\n"
                                "     ^\n"
                                "hint: write xy*z (xy is a single name)")
    assert rendered("x yz").startswith("error: missing operator between x and yz\n")


def test_d_over_dx_without_parentheses_gets_the_derivative_hint():
    assert rendered("d/dx sin(x)*x") == (
        "error: d/dx is not a function gradcalc knows\n"
        "  d/dx sin(x)*x\n"
        "  ^^^^\n"
        'hint: gradcalc differentiates the program itself: write just the expression, '
        'e.g. gradcalc "sin(x)*x" --at x=2')


def test_a_name_that_is_not_a_function_beside_a_variable_is_reported_as_unknown():
    assert rendered("2x foo(x)").startswith("error: foo is not a function gradcalc knows\n"
                                            "  2x foo(x)\n"
                                            "     ^^^\n")


# --- sin^2(x) -----------------------------------------------------------------------------------

def test_a_power_of_a_function_applies_to_its_value_with_a_note():
    f = Function("sin^2(x)")
    assert f.warnings == ("sin^2(x) is read as sin(x)^2: a power of the function's value",)
    r = f.gradient(x=0.5)
    assert (r.value, r.gradient) == (math.sin(0.5) ** 2, {"x": 2 * math.sin(0.5) * math.cos(0.5)})
    assert Function("sin**2(x)").warnings == (
        "sin**2(x) is read as sin(x)**2: a power of the function's value",)


def test_the_pythagorean_identity_reads_as_in_the_textbook():
    f = Function("sin^2(x) + cos^2(x) + sin^2(2x)")
    assert f.warnings == ("sin^2(x) is read as sin(x)^2: a power of the function's value",
                          "cos^2(x) is read as cos(x)^2: a power of the function's value")
    r = f.gradient(x=0.3)
    assert r.value == pytest.approx(1 + math.sin(0.6) ** 2, rel=1e-15)
    assert r.gradient["x"] == pytest.approx(4 * math.sin(0.6) * math.cos(0.6), rel=1e-14)


@pytest.mark.parametrize("text, same_as", [
    ("-sin^2(x)", "-(sin(x)^2)"),
    ("2^sin^2(x)", "2^(sin(x)^2)"),
    ("sin^2(x)^3", "(sin(x)^2)^3"),
    ("log^2(8, 2)", "log(8, 2)^2"),
    ("3sin^2(x)y", "3*sin(x)^2*y"),
])
def test_a_function_power_is_one_operand(text, same_as):
    f, g = Function(text), Function(same_as)
    point = {"x": 0.7, "y": 2.0}
    assert f.inputs == g.inputs
    assert f(**{k: point[k] for k in f.inputs}) == g(**{k: point[k] for k in g.inputs})


def test_the_power_node_keeps_its_spans():
    g = Function("sin^2(x)").graph
    assert [(n.op, g.snippet(k)) for k, n in enumerate(g.nodes)] == [
        ("input", "x"), ("sin", "sin^2(x)"), ("const", "2"), ("pow", "sin^2(x)")]


def test_a_negative_power_of_a_function_is_ambiguous():
    assert rendered("sin^-1(x)") == (
        "error: sin^-1 is ambiguous: a power, or the inverse function\n"
        "  sin^-1(x)\n"
        "  ^^^^^^\n"
        "hint: write asin(x) for the inverse function, or sin(x)^-1 for 1/sin(x)")
    assert rendered("exp^-1(x+1)").endswith("hint: write exp(x+1)^-1 for 1/exp(x+1)")
    assert rendered("tanh^-2(x)").endswith("hint: write tanh(x)^-2")


@pytest.mark.parametrize("text, hint", [
    ("sin^2 x", "to raise sin(...) to a power, write sin(...)^2"),
    ("sin^x(x)", "to raise sin(...) to a power, write sin(...)^x"),
    ("sin^(2)(x)", "to raise sin(...) to a power, write sin(...)^2"),
])
def test_other_powers_of_a_name_are_errors_with_the_spelling_to_use(text, hint):
    assert rendered(text) == ("error: sin is a function: call it as sin(...)\n"
                              f"  {text}\n"
                              "  ^^^\n"
                              f"hint: {hint}")


# --- x^-1/2 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, warning, value", [
    ("x^-1/2", "x^-1/2 is read as (x^-1)/2: a power binds tighter than / (write x^(-1/2) if you "
     "mean that)", 0.125),
    ("e^-x^2/2", "e^-x^2/2 is read as (e^-x^2)/2: a power binds tighter than / (write "
     "e^(-x^2/2) if you mean that)", math.e ** -16 / 2),
    ("x**-1/sqrt(2)", "x**-1/sqrt(2) is read as (x**-1)/sqrt(2): a power binds tighter than / "
     "(write x**(-1/sqrt(2)) if you mean that)", 0.25 / math.sqrt(2)),
    ("-x^-1/2", "x^-1/2 is read as (x^-1)/2: a power binds tighter than / (write x^(-1/2) if you "
     "mean that)", -0.125),
])
def test_a_signed_exponent_before_a_division_warns_as_1_over_2x_does(text, warning, value):
    f = Function(text)
    assert f.warnings == (warning,)
    assert f(x=4) == value


def test_the_two_precedence_warnings_read_alike():
    (implicit,) = Function("1/2x").warnings
    (power,) = Function("x^-1/2").warnings
    assert implicit == ("1/2x is read as (1/2)*x: implicit multiplication binds like * (write "
                        "the parentheses you mean)")
    assert power.startswith("x^-1/2 is read as (x^-1)/2: ")


def test_the_gradient_of_x_to_the_minus_1_over_2_is_of_the_reading_stated():
    r = Function("x^-1/2").gradient(x=4)
    assert (r.value, r.gradient) == (0.125, {"x": -0.5 / 16})


@pytest.mark.parametrize("text", ["x^2/2", "x^-1*2", "2^-x*3", "x^(-1)/2", "x^-(1/2)",
                                  "1/x^-1", "x^-1"])
def test_no_warning_without_a_signed_exponent_divided(text):
    assert Function(text).warnings == ()


def test_the_symbols_of_derivatives_and_integrals_get_the_plain_answer():
    assert rendered("∂/∂x(x^3)") == (
        "error: unexpected character '∂' (U+2202 PARTIAL DIFFERENTIAL)\n"
        "  ∂/∂x(x^3)\n"
        "  ^\n"
        'hint: gradcalc differentiates the program itself: write just the expression, '
        'e.g. gradcalc "x^3" --at x=2')
    assert rendered("∫ x dx").endswith(
        "hint: gradcalc does not compute integrals, only values and derivatives")


@pytest.mark.parametrize("text", ["abs^", "e3atanh+ 0^ 0^- 1abs^", "sin^", "sin**", "sin^-",
                                  "sin^-1", "sin^2"])
def test_a_function_power_cut_short_is_an_error_not_a_crash(text):
    # found by fuzz_parser: the tokens after "abs^" ran past the end of the input
    with pytest.raises(GradcalcError) as info:
        Function(text)
    assert "is a function: call it as" in info.value.message
