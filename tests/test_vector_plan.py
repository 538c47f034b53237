"""The compiled plans of many-point batches (vector._Plan): the registry's rules recorded once
and run as NumPy calls into reused buffers, block by block, must give the op-by-op path's floats
and the single-point floats bit for bit (the sign of zero included), and run a block with an
undefined point again, every number checked, with the same outcome as the op-by-op path."""

import math
import sys
import zlib
from pathlib import Path

import pytest

import gradcalc.vector as vector
from gradcalc.function import Function
from gradcalc.ops import OPS
from gradcalc.vector import gradient_many, numpy

sys.path.insert(0, str(Path(__file__).parent))
from test_vector import program_for, same_as_single_points, single  # noqa: E402

np = numpy()
MANY = "sin(x*y) + exp(-z^2)*log(1 + x^2) + tanh(x + y*z)*sqrt(1 + y^2)"


@pytest.fixture
def slow_blocks(monkeypatch):
    """Small blocks, and the list of the blocks run again checked, or op by op (start, stop)."""
    calls = []
    generic, run = vector._generic, vector._Plan.run

    def spy_generic(job, start, stop):
        calls.append((start, stop))
        return generic(job, start, stop)

    def spy_run(plan, columns, start, stop, out, wrt, checked=False):
        if checked:
            calls.append((start, stop))
        return run(plan, columns, start, stop, out, wrt, checked)

    monkeypatch.setattr(vector, "_generic", spy_generic)
    monkeypatch.setattr(vector._Plan, "run", spy_run)
    monkeypatch.setattr(vector, "CHUNK", 128)
    return calls


def op_by_op(fn, columns, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(vector, "FAST", False)
        return gradient_many(fn, columns)


def bits(a):
    return np.asarray(a, dtype=np.float64).view(np.int64)


def identical(batch, other):
    assert np.array_equal(bits(batch.value), bits(other.value))
    for w in other.gradient:
        assert np.array_equal(bits(batch.gradient[w]), bits(other.gradient[w])), w
    assert batch.errors == other.errors
    assert batch.kinks == other.kinks


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_every_op_runs_compiled_and_gives_the_single_point_numbers(op, slow_blocks,
                                                                   monkeypatch):
    fn = Function(program_for(op))
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))
    columns = {k: rng.uniform(-3, 3, 1500) for k in "xyz" if k in fn.variables}
    ok = op_by_op(fn, columns, monkeypatch).ok       # the points where the program is defined
    columns = {k: c[ok][:600] for k, c in columns.items()}
    slow_blocks.clear()
    batch = gradient_many(fn, columns)
    assert slow_blocks == []                          # every block ran the plan
    identical(batch, op_by_op(fn, columns, monkeypatch))
    same_as_single_points(fn, {k: c.tolist() for k, c in columns.items()}, batch)
    for w, column in batch.gradient.items():          # no -0.0 where a single point has 0.0
        zeros = np.flatnonzero(column == 0)
        assert not np.signbit(column[zeros]).any(), w


def test_every_registry_op_has_a_plan():
    for op in OPS:
        fn = Function(program_for(op))
        gradient_many(fn, {k: [0.5, 0.25] for k in fn.variables})
        tape = fn.resolve(dict.fromkeys(fn.variables, 0.0))[0]
        assert all(p is not None for p in tape._vector_plans.values()), op.name


def test_a_block_with_an_undefined_point_alone_runs_op_by_op(slow_blocks, monkeypatch):
    fn = Function("log(x) * y + sqrt(y)")
    rng = np.random.default_rng(3)
    xs, ys = rng.uniform(0.5, 3, 1000), rng.uniform(0.5, 3, 1000)
    xs[[5, 300, 301]] = [-1.0, 0.0, -2.0]             # in two blocks of 125
    slow_blocks.clear()
    batch = gradient_many(fn, {"x": xs, "y": ys})
    assert len(slow_blocks) == 2                      # the two blocks holding them
    assert all(any(a <= i < b for a, b in slow_blocks) for i in (5, 300, 301))
    assert sorted(batch.errors) == [5, 300, 301]
    identical(batch, op_by_op(fn, {"x": xs, "y": ys}, monkeypatch))
    same_as_single_points(fn, {"x": xs.tolist(), "y": ys.tolist()}, batch)


def test_an_overflow_hidden_by_a_later_op_is_still_found(slow_blocks):
    fn = Function("1/exp(x) + y")   # exp(800) overflows; 1/inf would be a finite 0
    batch = gradient_many(fn, {"x": [1.0] * 300 + [800.0], "y": [2.0] * 301})
    assert len(slow_blocks) == 1 and slow_blocks[0][1] == 301   # the last block alone
    assert list(batch.errors) == [300]
    assert batch.errors[300] == single(fn, {"x": 800.0, "y": 2.0})


def test_kinks_found_in_compiled_blocks(slow_blocks, monkeypatch):
    fn = Function("relu(x) * y + abs(y - 1) + max(x, y)")
    rng = np.random.default_rng(4)
    xs = np.where(rng.random(700) < 0.5, rng.choice([0.0, 1.0, -1.0, 0.5], 700),
                  rng.normal(0, 1, 700))
    ys = rng.choice([0.0, 1.0, 2.0], 700)
    slow_blocks.clear()
    batch = gradient_many(fn, {"x": xs, "y": ys})
    assert slow_blocks == []
    assert batch.kinks and all(rows for _message, rows in batch.kinks)
    identical(batch, op_by_op(fn, {"x": xs, "y": ys}, monkeypatch))
    same_as_single_points(fn, {"x": xs.tolist(), "y": ys.tolist()}, batch)
    for message, rows in batch.kinks:   # "relu(x) is not differentiable at (0): ..."
        what = message.split(" at (")[0]
        for i in rows[:5]:
            warnings = fn.gradient(x=float(xs[i]), y=float(ys[i]), limits=0).warnings
            assert any(w.startswith(what + " at (") for w in warnings), (i, what)


def test_a_negative_zero_partial_is_zero_as_at_a_single_point(slow_blocks):
    # ∂/∂x of -(x*y) at y = 0 is -1·0 = -0 as a product; the single-point adjoint is 0 + -0 = 0
    fn = Function("-(x*y) + z")
    batch = gradient_many(fn, {"x": [1.0, 2.0, -3.0], "y": [0.0, 0.0, 0.0], "z": [1.0] * 3})
    assert [math.copysign(1, g) for g in batch.gradient["x"]] == [1.0, 1.0, 1.0]
    same_as_single_points(fn, {"x": [1.0, 2.0, -3.0], "y": [0.0] * 3, "z": [1.0] * 3}, batch)


def test_threads_and_block_sizes_do_not_change_a_bit(monkeypatch):
    fn = Function(MANY)
    rng = np.random.default_rng(5)
    columns = {k: rng.uniform(-2, 2, 50_001) for k in "xyz"}
    reference = op_by_op(fn, columns, monkeypatch)
    for threads, chunk in ((1, 8192), (2, 8192), (2, 1000), (3, 4096)):
        monkeypatch.setattr(vector, "THREADS", threads)
        monkeypatch.setattr(vector, "CHUNK", chunk)
        monkeypatch.setattr(vector, "_POOL", [])
        identical(gradient_many(fn, columns), reference)
    picks = rng.integers(0, 50_001, 30)
    same_as_single_points(fn, {k: c[picks].tolist() for k, c in columns.items()},
                          gradient_many(fn, {k: c[picks] for k, c in columns.items()}))


def test_partials_wrt_an_intermediate_and_constants(slow_blocks, monkeypatch):
    fn = Function("a = x*y\nb = sin(a) + 2\nout = b*pi + x")
    columns = {"x": np.linspace(-2, 2, 300), "y": np.linspace(3, -1, 300)}
    for wrt in (["x", "y"], ["a", "x"], ["y"]):
        slow_blocks.clear()
        batch = gradient_many(fn, columns, wrt=wrt)
        assert slow_blocks == []
        with monkeypatch.context() as m:
            m.setattr(vector, "FAST", False)
            identical(batch, gradient_many(fn, columns, wrt=wrt))


def test_negative_zero_inputs_are_zero(slow_blocks):
    # zeros carry no sign: atan2(-0.0, -1) is π as atan2(0, -1) (and the caller's arrays stay
    # as they were)
    fn = Function("atan2(y, x) + x*y")
    ys = np.array([-0.0, 0.0, -0.0, 1.0])
    xs = np.array([-1.0, -1.0, -0.0, -0.0])
    batch = gradient_many(fn, {"x": xs, "y": ys})
    assert slow_blocks == [] or batch.errors
    same_as_single_points(fn, {"x": xs.tolist(), "y": ys.tolist()}, batch)
    assert batch.value[0] == math.pi
    assert np.signbit(ys[0]) and np.signbit(xs[2])


@pytest.mark.parametrize("source", [
    "sin(x*y) + exp(-z^2)*log(1 + x^2) + tanh(x + y*z)*sqrt(1 + y^2)",
    "q = x*y; r = relu(q - 1); f = r*r + max(q, z)^2",
    "b = x + x; c = b*b; f = c/y + z^y",
    "sqrt(x)*0 + y",
    "1/(1/x) + log(abs(y)) + atan2(y, z)",
    "x^0.5 + x^-1 + x^3 + y^2.5 + 2^z",
    "erf(x) + sigmoid(y) + softplus(z) + cbrt(x)",
    "x",
    "2*3 + x*0 + y",
    "pi*x + e^y - z",
    "max(x, y, z) - min(x, 2) + maxshare(x, y) + minshare(y, z)",
    "sign(x - 1) + step(y - 1) + abs(z - 1)",
    "x^y + log(x, y + 1) + log2(z) + log10(x)",
    "sec(x) + csc(y) + cot(z) + sech(x*y) + sinh(z) + cosh(x)",
    "asin(x/3) + acos(y/3) + atan(z) + asinh(x) + acosh(y + 1) + atanh(z/3)",
])
def test_programs_run_compiled_with_the_single_point_numbers(source, slow_blocks, monkeypatch):
    fn = Function(source)
    rng = np.random.default_rng(zlib.crc32(source.encode()))
    special = np.array([0.5, 1.0, 2.0, 1.5])
    columns = {k: np.where(rng.random(900) < 0.3, rng.choice(special, 900),
                           rng.uniform(0.1, 2.5, 900)) for k in "xyz" if k in fn.variables}
    slow_blocks.clear()
    batch = gradient_many(fn, columns)
    assert len(slow_blocks) < 8                       # most of the 8 blocks ran the plan
    identical(batch, op_by_op(fn, columns, monkeypatch))
    same_as_single_points(fn, {k: c.tolist() for k, c in columns.items()}, batch)


def test_a_checked_block_hands_the_float_path_more_points_never_other_numbers(slow_blocks):
    # at x = y = 1e8 every number is finite but their running sum overflows: such a point goes
    # to the float path too, which gives it the single-point numbers
    fn = Function("x*1e300 - y*1e300 + log(z)")
    xs = [1e8, 1.0, 1e8, 2.0, 0.5]
    columns = {"x": xs, "y": [1e8, 1.0, 1e8, 3.0, 0.5], "z": [1.0, 2.0, -1.0, 3.0, 0.0]}
    batch = gradient_many(fn, columns)
    assert slow_blocks == [(0, 5)]
    assert sorted(batch.errors) == [2, 4]
    same_as_single_points(fn, columns, batch)
    assert batch.value[0] == 0.0


def test_a_rule_failing_on_a_constant_fails_every_point_as_a_single_point_does():
    # ∂(x/0)/∂x is 1/0 in floats: no plan, and every point gets the single-point message
    fn = Function("x/0 + y")
    columns = {"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0]}
    batch = gradient_many(fn, columns)
    assert sorted(batch.errors) == [0, 1, 2]
    same_as_single_points(fn, columns, batch)


def test_partials_nobody_asked_for_are_not_computed(monkeypatch):
    fn = Function(MANY)
    rng = np.random.default_rng(6)
    columns = {k: rng.uniform(-2, 2, 2000) for k in "xyz"}
    calls = {}
    for wrt in (["x", "y", "z"], ["z"]):
        batch = gradient_many(fn, columns, wrt=wrt)
        tape = fn.resolve(dict.fromkeys("xyz", 0.0))[0]
        calls[len(wrt)] = len(tape._vector_plans[tuple(tape.graph.index_of(w)
                                                       for w in wrt)].prog)
        with monkeypatch.context() as m:
            m.setattr(vector, "FAST", False)
            identical(batch, gradient_many(fn, columns, wrt=wrt))
    assert calls[1] < calls[3]


def plan_of(fn, columns):
    """``fn``'s compiled plan (all partials), made by a batch over ``columns``."""
    gradient_many(fn, columns)
    tape = fn.resolve(dict.fromkeys(fn.variables, 0.0))[0]
    (plan,) = tape._vector_plans.values()
    return plan


def plan_calls(fn, columns) -> list[str]:
    """The names of the NumPy calls of ``fn``'s compiled plan."""
    return [step[0].__name__ for step in plan_of(fn, columns).prog]


def test_tanh_from_expm1_is_the_float_paths_tanh_bit_for_bit():
    # plans take tanh as fdlibm does, from expm1, where that gives math.tanh at every probe
    # point; here, at many more (every range, random bit patterns, zeros of both signs)
    if not vector._tanh_matches():
        assert "tanh" in plan_calls(Function("tanh(x)"), {"x": [0.5, 2.0]})
        pytest.skip("this C library's tanh is not fdlibm's: plans call NumPy's tanh")
    rng = np.random.default_rng(7)
    x = np.concatenate([
        rng.uniform(-1, 1, 40_000), rng.uniform(-30, 30, 40_000),
        rng.uniform(0.999, 1.001, 10_000), rng.uniform(21.99, 22.01, 10_000),
        10.0 ** rng.uniform(-323, 3, 20_000),
        rng.integers(0, 2**63, 40_000, dtype=np.int64).view(np.float64),
        [0.0, -0.0, 5e-324, 2.0**-55, 1.0, 22.0, 710.0, 1e308, math.inf]])
    x = np.concatenate([x, -x])
    x = x[~np.isnan(x)]
    with np.errstate(all="ignore"):
        got = vector._tanh_steps(np, x)
    want = np.array([math.tanh(v) for v in x.tolist()])
    assert np.array_equal(bits(got), bits(want))


def test_tanh_in_a_plan_gives_the_single_point_numbers(slow_blocks, monkeypatch):
    fn = Function("tanh(x*y) + sech(x) + tanh(-x)*y")
    calls = plan_calls(fn, {"x": [0.5, 2.0], "y": [1.0, 1.0]})
    assert ("expm1" in calls and "tanh" not in calls) == vector._tanh_matches()
    edge = [0.0, 5e-324, 2.0**-55, 1e-9, 0.5, 1.0 - 2**-53, 1.0, 1.0 + 2**-52, 3.0, 19.0,
            22.0, 22.5, 400.0, 1e300]
    xs = np.array(edge + [-v for v in edge] + np.linspace(-25, 25, 572).tolist())
    ys = np.resize([1.0, -1.0, 0.5, 2.0, 1e-300], len(xs))
    columns = {"x": xs, "y": ys}
    slow_blocks.clear()
    batch = gradient_many(fn, columns)
    assert slow_blocks == [] and not batch.errors
    identical(batch, op_by_op(fn, columns, monkeypatch))   # NumPy's tanh, op by op
    with monkeypatch.context() as m:
        m.setattr(vector, "TANH", False)                     # a plan with NumPy's tanh
        fn2 = Function("tanh(x*y) + sech(x) + tanh(-x)*y")
        assert "tanh" in plan_calls(fn2, columns)
        identical(batch, gradient_many(fn2, columns))
    same_as_single_points(fn, {k: c.tolist() for k, c in columns.items()}, batch)


def test_a_call_made_twice_is_made_once_and_minus_abs_is_copysign(slow_blocks, monkeypatch):
    # |u| is computed once for tanh(u) (from expm1) and for its slope sech(u)²; -|u| is
    # copysign(u, -1), the same float for every u, zeros, infinities and NaNs included
    fn = Function("tanh(x*y) + exp(-abs(x - y))")
    xs = np.array([0.0, 1e-310, -2.5, 3.0, 1.0, -0.0])
    ys = np.array([1.0, 0.0, 2.0, 3.0, -1.0, 0.0])
    plan = plan_of(fn, {"x": xs, "y": ys})
    made_by = {o: f.__name__ for f, _slots, o, _b in plan.prog}
    assert not [s for f, s, _o, _b in plan.prog if f.__name__ == "negative"
                and made_by.get(s[0]) == "absolute"]
    assert len([s for f, s, _o, _b in plan.prog if f.__name__ == "copysign"
                and plan.init[s[1]] == -1.0]) == 2   # -|x*y| (in sech) and -|x - y|
    assert [f.__name__ for f, *_ in plan.prog].count("absolute") == 2   # |x*y| once, |x - y|
    slow_blocks.clear()
    batch = gradient_many(fn, {"x": xs, "y": ys})
    assert slow_blocks == []
    identical(batch, op_by_op(fn, {"x": xs, "y": ys}, monkeypatch))
    same_as_single_points(fn, {"x": xs.tolist(), "y": ys.tolist()}, batch)
    v = np.array([0.0, -0.0, 1e-310, -1e-310, 2.5, -2.5, math.inf, -math.inf, math.nan,
                  -math.nan])
    with np.errstate(all="ignore"):
        assert np.array_equal(bits(np.copysign(v, -1.0)), bits(np.negative(np.abs(v))))


def test_one_thread_runs_blocks_of_several_sizes_in_turn(monkeypatch):
    # a thread's buffers grow for larger blocks, and its calls are bound once per block size:
    # every size, in any order, gives the op-by-op numbers
    fn = Function(MANY)
    rng = np.random.default_rng(8)
    monkeypatch.setattr(vector, "THREADS", 1)
    for n, chunk in ((1000, 300), (5000, 4096), (1000, 4096), (3001, 1000), (5000, 4096)):
        monkeypatch.setattr(vector, "CHUNK", chunk)
        columns = {k: rng.uniform(-2, 2, n) for k in "xyz"}
        identical(gradient_many(fn, columns), op_by_op(fn, columns, monkeypatch))


def test_blocks_with_an_input_not_finite_are_run_again_with_it_set_aside(monkeypatch):
    # each block adds up its columns first; one with inf or NaN (in any column, read or not),
    # or whose sum overflows, waits until those points are set aside, then runs
    fn = Function("sin(x*y) + tanh(x) + 0*w")
    rng = np.random.default_rng(9)
    n = 1000
    xs, ys, ws = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    xs[[3, 450]] = [math.inf, math.nan]
    ys[[3, 700]] = [-math.inf, math.inf]
    ws[[910]] = math.nan                        # in a third column
    ws[[200, 201]] = [1.5e308, 1.5e308]         # finite, but the block's sum overflows
    runs = []
    sweep = vector._sweep

    def spy(*args, **kw):
        out = sweep(*args, **kw)
        runs.append((kw.get("only"), sorted(out.skipped)))
        return out

    monkeypatch.setattr(vector, "_sweep", spy)
    monkeypatch.setattr(vector, "CHUNK", 100)
    monkeypatch.setattr(vector, "THREADS", 2)
    columns = {"x": xs, "y": ys, "w": ws}
    batch = gradient_many(fn, columns)
    assert runs[0] == (None, [0, 200, 400, 700, 900])
    assert runs[1][0] == [0, 200, 400, 700, 900]
    assert batch.errors == {3: "the value of x must be finite, not inf",
                            450: "the value of x must be finite, not nan",
                            700: "the value of y must be finite, not inf",
                            910: "the value of w must be finite, not nan"}
    assert not batch.ok[[3, 450, 700, 910]].any() and batch.ok.sum() == n - 4
    monkeypatch.setattr(vector, "_sweep", sweep)
    identical(batch, op_by_op(fn, columns, monkeypatch))
    ok = [0, 2, 4, 199, 200, 201, 202, 451, 699, 701, 909, 911, 999]
    assert [(batch.value[i], {w: batch.gradient[w][i] for w in "xyw"}) for i in ok] == [
        single(fn, {k: float(c[i]) for k, c in columns.items()}) for i in ok]
