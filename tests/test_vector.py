"""Many points at once: the NumPy domain must give, point by point, the very floats (or the very
error message) of a single-point run, since it runs the same registry."""

import math
import random
import zlib

import pytest

from gradcalc import GradcalcError
from gradcalc.domains import FLOAT, numpy_domain
from gradcalc.errors import EvaluationError, UsageError
from gradcalc.function import Function
from gradcalc.ops import OPS, REGISTRY, TENSOR_OPS, VARIADIC
from gradcalc.vector import gradient_few, gradient_many, numpy, undetermined_message

np = numpy()


def program_for(op) -> str:
    """A program exercising ``op`` on the variables x, y (and z), inside and outside its domain."""
    if op.infix and op.arity == 1:
        return "-(x*y) + z"
    if op.infix:
        return f"(x {op.infix} y) {op.infix} z"
    name = op.calls[0]
    if op.arity == VARIADIC:
        return f"{name}(x, y, z) + {name}(x, y)"
    if op.arity == 2:
        return f"{name}(x, y) * z"
    return f"{name}(x*y) + {name}(z)"


def grid(n, seed):
    """Points mixing special values (0, ±1, ±0.5, small integers, ties) with random ones."""
    rng = random.Random(seed)
    special = [0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, 1e-300, 700.0, -750.0]
    pick = lambda: rng.choice(special) if rng.random() < 0.4 else rng.uniform(-3, 3)  # noqa: E731
    return {k: [pick() for _ in range(n)] for k in "xyz"}


def single(fn, point):
    try:
        r = fn.gradient(point, limits=0)   # many points never ask SymPy for limits
    except EvaluationError as exc:
        return exc.message
    if r.undetermined:
        return undetermined_message(r)
    return r.value, r.gradient


def same_as_single_points(fn, columns, batch):
    names = list(columns)
    for i in range(len(columns[names[0]])):
        expected = single(fn, {k: columns[k][i] for k in names})
        if isinstance(expected, str):
            assert batch.errors.get(i) == expected, i
            continue
        value, gradient = expected
        assert i not in batch.errors, (i, batch.errors.get(i))
        # bit for bit: == on floats, and the sign of zero too
        assert math.copysign(1, batch.value[i]) == math.copysign(1, value)
        assert batch.value[i] == value, (i, value, batch.value[i])
        for w, d in gradient.items():
            assert batch.gradient[w][i] == d, (i, w, d, batch.gradient[w][i])


def test_numpy_domain_has_every_function_of_the_float_domain():
    assert set(vars(numpy_domain())) == set(vars(FLOAT))


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_every_op_gives_the_single_point_numbers(op):
    fn = Function(program_for(op))
    columns = {k: c for k, c in grid(1000, zlib.crc32(op.name.encode())).items()
               if k in fn.variables}
    batch = gradient_many(fn, columns)
    same_as_single_points(fn, columns, batch)


@pytest.mark.parametrize("source", [
    "sin(x*y) + exp(-z^2)*log(1 + x^2) + tanh(x + y*z)*sqrt(1 + y^2)",
    "q = x*y; r = relu(q - 1); f = r*r + max(q, z)^2",
    "b = x + x; c = b*b; f = c/y + z^y",
    "sqrt(x)*0 + y",                      # 0·∞ where x = 0: the float path's warning, value 0
    "1/(1/x) + log(abs(y)) + atan2(y, z)",
    "x^0.5 + x^-1 + x^3 + y^2.5 + 2^z",
    "erf(x) + sigmoid(y) + softplus(z) + cbrt(x)",
])
def test_programs_give_the_single_point_numbers(source, monkeypatch):
    import gradcalc.vector as vector

    monkeypatch.setattr(vector, "BLOCK", 37)    # many blocks, run in threads
    fn = Function(source)
    columns = {k: c for k, c in grid(500, 7).items() if k in fn.variables}
    same_as_single_points(fn, columns, gradient_many(fn, columns))
    few = gradient_few(fn, {k: c[:40] for k, c in columns.items()})
    same_as_single_points(fn, {k: c[:40] for k, c in columns.items()}, few)


def test_undefined_points_do_not_stop_the_batch():
    fn = Function("log(x) * y")
    b = gradient_many(fn, {"x": [1.0, -1.0, math.e, 0.0], "y": [2.0, 2.0, 1.0, 1.0]})
    assert b.errors == {1: "log(x) is undefined: it needs x > 0, but x = -1",
                        3: "log(x) is undefined: it needs x > 0, but x = 0"}
    assert b.value[0] == 0.0 and b.value[2] == 1.0
    assert b.gradient["x"][0] == 2.0 and b.gradient["y"][2] == 1.0
    assert math.isnan(b.value[1]) and math.isnan(b.gradient["x"][3])
    assert b.ok.tolist() == [True, False, True, False]


def test_an_error_hidden_by_a_later_op_is_still_found():
    # 1/(1/x) at x = 0: NumPy gives 1/inf = 0; a single-point run refuses 1/0
    b = gradient_many(Function("1/(1/x)"), {"x": [0.0, 2.0]})
    assert b.errors[0].startswith("1/x is undefined")
    assert b.value[1] == 2.0 and b.gradient["x"][1] == 1.0


def test_kinks_are_reported_with_the_points_that_hit_them():
    b = gradient_many(Function("relu(x) * y"), {"x": [0.0, 1.0, 0.0, -1.0], "y": [1.0] * 4})
    assert b.kinks == [("relu(x) is not differentiable at (0): gradcalc uses relu'(0) = 0, as "
                        "PyTorch does", [0, 2])]
    assert b.gradient["x"].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_max_ties_split_the_gradient_evenly():
    b = gradient_many(Function("max(x, y, z)"), {"x": [1.0, 2.0], "y": [1.0, 1.0],
                                                 "z": [1.0, 0.0]})
    assert [b.gradient[k].tolist() for k in "xyz"] == [[1 / 3, 1.0], [1 / 3, 0.0], [1 / 3, 0.0]]
    assert [rows for _w, rows in b.kinks] == [[0]]


def test_an_error_in_the_constant_part_is_an_error_of_the_program():
    with pytest.raises(EvaluationError, match="log"):
        gradient_many(Function("x + log(-1)"), {"x": [1.0, 2.0]})


def test_non_finite_inputs_are_reported_per_point():
    b = gradient_many(Function("x*2"), {"x": [1.0, math.inf, math.nan]})
    assert b.value[0] == 2.0
    assert b.errors == {1: "the value of x must be finite, not inf",
                        2: "the value of x must be finite, not nan"}


def test_wrt_an_intermediate_and_an_output():
    fn = Function("q = x + y; f = z*q")
    b = gradient_many(fn, {"x": [-2.0, 1.0], "y": [5.0, 1.0], "z": [-4.0, 3.0]}, wrt=["x", "q"])
    assert b.gradient["q"].tolist() == [-4.0, 3.0]
    assert b.gradient["x"].tolist() == [-4.0, 3.0]
    assert gradient_many(fn, {"x": [1.0], "y": [2.0], "z": [3.0]}, output="q").value[0] == 3.0


def test_api_takes_arrays_or_a_table():
    fn = Function("z*(x+y)")
    b = fn.gradient({"x": np.array([-2.0, 1.0]), "y": [5.0, 2.0]}, z=-4)
    assert b.value.tolist() == [-12.0, -12.0]
    assert b.gradient["z"].tolist() == [3.0, 3.0]
    t = fn.gradient(np.array([[-2, 5, -4], [1, 2, 3]]), variables=["x", "y", "z"])
    assert t.value.tolist() == [-12.0, 9.0]
    assert t.gradient["x"].tolist() == [-4.0, 3.0]
    assert fn.gradient(x=1, y=2, z=3).value == 9.0    # one point is still a Result


def test_api_raises_on_an_undefined_point_unless_told_to_report():
    fn = Function("log(x)")
    with pytest.raises(EvaluationError, match=r"at point 1 \(x=-1.0\): log\(x\) is undefined"):
        fn.gradient(x=[1.0, -1.0])
    b = fn.gradient(x=[1.0, -1.0], errors="report")
    assert list(b.errors) == [1]


@pytest.mark.parametrize("call, message", [
    (lambda f: f.gradient([[1, 2]], variables=["x"]), "one column per variable"),
    (lambda f: f.gradient({"x": [1, 2]}, variables=["x"]), "2-D array"),
    (lambda f: f.gradient(x=[1, 2], y=[1, 2, 3]), "different numbers of points"),
    (lambda f: f.gradient(x=[1, 2], y=[1, 2], errors="ignore"), "errors must be"),
    (lambda f: f.gradient(x=[[1, 2]], y=[1]), "1-D"),
])
def test_api_misuse_is_a_clear_error(call, message):
    with pytest.raises(GradcalcError, match=message):
        call(Function("x*y"))


def test_registry_tests_run_on_arrays_as_on_numbers():
    """kink and singular tests are evaluated element-wise on arrays by the batch path."""
    rng = random.Random(3)
    values = [0.0, 1.0, -1.0, 0.5, 2.0, 0.0, 1.0]
    for op in OPS:
        tests = [t for t in (op.kink[0] if op.kink else None, op.singular) if t is not None]
        arity = 3 if op.arity == VARIADIC else op.arity
        for test in tests:
            args = [[rng.choice(values) for _ in range(50)] for _ in range(arity)]
            vectorised = np.broadcast_to(test(*(np.array(a) for a in args)), (50,))
            scalar = [bool(test(*(a[i] for a in args))) for i in range(50)]
            assert vectorised.tolist() == scalar, op.name


def test_every_registry_op_is_covered():
    assert {op.name for op in OPS} == set(REGISTRY) - {op.name for op in TENSOR_OPS}


def test_usage_errors_name_the_problem():
    with pytest.raises(UsageError, match="no value for y"):
        gradient_many(Function("x*y"), {"x": [1.0]})


def test_the_readme_api_example():
    import gradcalc

    f = gradcalc.parse("q = x + y; f = z*q")
    b = f.gradient({"x": np.linspace(-1, 1, 5), "y": [5.0] * 5}, z=-4)
    assert b.value.tolist() == [-16.0, -18.0, -20.0, -22.0, -24.0]
    assert b.gradient["z"].tolist() == [4.0, 4.5, 5.0, 5.5, 6.0]
    t = f.gradient(np.array([[-2, 5, -4], [1, 2, 3]]), variables=["x", "y", "z"])
    assert t.value.tolist() == [-12.0, 9.0]
    assert gradcalc.parse("log(x)").gradient(x=[1, -1], errors="report").errors == {
        1: "log(x) is undefined: it needs x > 0, but x = -1"}


def test_a_kink_behind_a_structural_zero_is_not_reported_in_batches_either():
    # asin(relu(u)) is 0 near u = -0.25 (relu's flat side), so abs is not at a kink that
    # matters there; at u = 0 it is (relu'(0) = 0 is a convention, not a flat side)
    fn = Function("abs(asin(relu(u)))")
    assert fn.gradient(u=-0.25).kinks == () and fn.gradient(u=0.0).kinks != ()
    batch = fn.gradient({"u": np.array([-0.25] * 20_000 + [0.0])})
    assert [rows for _message, rows in batch.kinks] == [[20_000]]
