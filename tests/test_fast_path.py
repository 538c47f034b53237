"""The fast path of ``Function.gradient`` and ``Function.__call__`` (issue 18): a Function used
again with a point of the same names takes a plan made on the first call. Its answers, warnings
and errors must be the full path's own, bit for bit: each call below is compared with the same
call on a freshly parsed Function (which has no plan, so takes the full path)."""

import math
import random

import numpy as np
import pytest

import gradcalc
from gradcalc import records
from gradcalc.function import _PLAN, Result, _plan_key

UNARY = ["sin", "cos", "exp", "log", "sqrt", "abs", "relu", "tanh", "cbrt", "step", "sign",
         "asin", "acosh", "atanh", "sigmoid", "softplus", "erf", "tan", "log2"]
BINARY = ["+", "-", "*", "/", "^"]
CALLS2 = ["max", "min", "atan2", "log", "pow"]
VALUES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, 1e-300, 1e300, 0.25, 10.0, -3.5]


def _expr(rng: random.Random, names, depth: int) -> str:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice([*names, *names, "1", "2", "0.5", "pi", "0"])
    kind = rng.random()
    if kind < 0.4:
        op = rng.choice(BINARY)
        return f"({_expr(rng, names, depth - 1)} {op} {_expr(rng, names, depth - 1)})"
    if kind < 0.8:
        return f"{rng.choice(UNARY)}({_expr(rng, names, depth - 1)})"
    return f"{rng.choice(CALLS2)}({_expr(rng, names, depth - 1)}, {_expr(rng, names, depth - 1)})"


def _program(rng: random.Random) -> tuple[str, list[str]]:
    names = ["x", "y", "z"][:rng.randint(1, 3)]
    if rng.random() < 0.4:
        return f"q = {_expr(rng, names, 2)}; f = {_expr(rng, [*names, 'q'], 2)}", names
    return _expr(rng, names, 3), names


def _value(rng: random.Random):
    r = rng.random()
    if r < 0.6:
        return rng.choice(VALUES)
    if r < 0.8:
        return rng.uniform(-3, 3)
    return rng.choice([1, -2, 0, True, np.float64(0.75), np.float64(-0.0), "1.5", "x", None,
                       math.inf, math.nan, 10**400, [1.0, 2.0], np.int64(3)])


def _outcome(call):
    """What a call gives, comparable bit for bit: its result's repr (every float in full, -0.0
    apart from 0.0, dicts in order), or its error's type and fields."""
    try:
        r = call()
    except gradcalc.GradcalcError as exc:
        return ("error", type(exc).__name__, str(exc), sorted(map(repr, vars(exc).items())))
    if isinstance(r, float):
        return ("value", repr(r), math.copysign(1.0, r))
    return ("result", type(r).__name__, repr(r))


def _calls(rng: random.Random, names):
    """A few points for a program: mostly its names in a fixed order with new values (the fast
    path), sometimes reordered, one missing, one extra, or a wrt/output of its own."""
    base = list(names)
    for _ in range(12):
        keys = list(base)
        r = rng.random()
        if r < 0.1:
            rng.shuffle(keys)
        elif r < 0.15 and keys:
            keys.pop(rng.randrange(len(keys)))
        elif r < 0.2:
            keys.append(rng.choice(["w", "q", "pi", "e"]))
        point = {k: _value(rng) if rng.random() < 0.5 else rng.uniform(-2, 2) for k in keys}
        wrt = None
        if rng.random() < 0.2:
            wrt = rng.sample([*names, "q"], k=rng.randint(1, len(names)))
        yield point, wrt


@pytest.mark.parametrize("seed", range(40))
def test_the_fast_path_gives_what_the_full_path_gives(seed):
    rng = random.Random(seed)
    for _ in range(6):
        source, names = _program(rng)
        f = gradcalc.parse(source)
        for point, wrt in _calls(rng, names):
            fast = _outcome(lambda f=f, p=point, w=wrt: f.gradient(dict(p), wrt=w, limits=0))
            full = _outcome(lambda s=source, p=point, w=wrt: gradcalc.parse(s).gradient(
                dict(p), wrt=w, limits=0))
            assert fast == full, (source, point, wrt)
            fast = _outcome(lambda f=f, p=point: f(dict(p)))
            full = _outcome(lambda s=source, p=point: gradcalc.parse(s)(dict(p)))
            assert fast == full, (source, point)


def _planned(f, point, wrt=None, output=None):
    """The plan a Function keeps for a point's names (None if it has none)."""
    return f._tapes.get(_plan_key(point, output, wrt))


def test_a_later_call_takes_the_plan():
    f = gradcalc.parse("relu(w1*x1 + w2*x2 + b) * s")
    point = {"w1": 0.3, "x1": 0.5, "w2": -0.7, "x2": 1.2, "b": 0.1, "s": 2.0}
    assert _planned(f, point) is None
    first = f.gradient(point)
    assert _planned(f, point) is None   # made the second time the names come
    assert repr(f.gradient(point)) == repr(first)
    plan = _planned(f, point)
    assert plan is not None
    later = dict(point, b=0.2)
    by_plan = plan.gradient(later)   # the fast path itself, not the full path behind it
    assert by_plan is not None
    assert repr(by_plan) == repr(f.gradient(later)) == repr(gradcalc.parse(f.source).gradient(
        later))
    assert first.gradient.keys() == by_plan.gradient.keys()
    # by hand: relu(0.3*0.5 - 0.7*1.2 + 0.2) = relu(-0.49) = 0, the flat side
    assert by_plan.value == 0.0 and by_plan.gradient == dict.fromkeys(point, 0.0)
    on = plan.gradient({**point, "b": 1.0})   # 0.15 - 0.84 + 1 = 0.31 > 0
    assert on.value == pytest.approx(0.62)
    assert on.gradient == pytest.approx({"w1": 1.0, "x1": 0.6, "w2": 2.4, "x2": -1.4,
                                         "b": 2.0, "s": 0.31})


def test_the_result_of_the_fast_path_is_a_whole_result():
    f = gradcalc.parse("q = x*y; f = q + x")
    f.gradient(x=1.0, y=2.0, wrt=["x", "q"])
    f.gradient(x=1.0, y=2.0, wrt=["x", "q"])
    r = _planned(f, {"x": 1.0, "y": 2.0}, ["x", "q"]).gradient({"x": 3.0, "y": -1.0})
    assert set(vars(r)) == {field.name for field in records.fields(Result)}
    assert r == Result("f", 0.0, {"x": 0.0, "q": 1.0}, {"x": 3.0, "y": -1.0},
                       intermediates={"q": -3.0})
    assert r.undetermined == {}
    with pytest.raises(records.FrozenInstanceError):
        r.value = 1.0   # type: ignore[misc]


def test_kinks_take_the_full_path_and_warn():
    f = gradcalc.parse("relu(x) + abs(y)")
    f.gradient(x=1.0, y=1.0)
    r = f.gradient(x=0.0, y=0.0)
    assert r.gradient == {"x": 0.0, "y": 0.0}
    assert len(r.warnings) == 2 and "relu'(0) = 0" in r.warnings[0]
    assert r.kinks
    assert f.gradient(x=-0.0, y=2.0).warnings[0].startswith("relu(x) is not differentiable")


def test_domain_errors_are_the_full_paths_errors():
    f = gradcalc.parse("log(x) + sqrt(y)")
    assert f.gradient(x=1.0, y=4.0).gradient == {"x": 1.0, "y": 0.25}
    with pytest.raises(gradcalc.EvaluationError, match=r"log\(x\) is undefined: it needs x > 0"):
        f.gradient(x=-1.0, y=4.0)
    with pytest.raises(gradcalc.EvaluationError) as fast:
        f.gradient(x=-1.0, y=4.0)
    with pytest.raises(gradcalc.EvaluationError) as full:
        gradcalc.parse("log(x) + sqrt(y)").gradient(x=-1.0, y=4.0)
    assert vars(fast.value) == vars(full.value)
    with pytest.raises(gradcalc.EvaluationError, match="overflows"):
        gradcalc.parse("exp(x)").gradient(x=1000.0)
    # sqrt at 0: an infinite derivative, explained
    with pytest.raises(gradcalc.EvaluationError, match="derivative of sqrt"):
        f.gradient(x=1.0, y=0.0)
    # cbrt(x)^3 at 0 (0·∞): the partial is determined another way
    g = gradcalc.parse("cbrt(x)^3 + y")
    assert g.gradient(x=1.0, y=0.0).gradient == pytest.approx({"x": 1.0, "y": 1.0})
    r = g.gradient(x=0.0, y=0.0, limits=0)
    assert r.determined and r.gradient["x"] == pytest.approx(1.0)


def test_names_missing_extra_and_reordered():
    f = gradcalc.parse("x*y + z")
    assert f.gradient(x=1.0, y=2.0, z=3.0).gradient == {"x": 2.0, "y": 1.0, "z": 1.0}
    with pytest.raises(gradcalc.UsageError, match="no value for z"):
        f.gradient(x=1.0, y=2.0)
    with pytest.raises(gradcalc.UsageError, match="no variable named w"):
        f.gradient(x=1.0, y=2.0, z=3.0, w=4.0)
    r = f.gradient({"z": 3.0, "y": 2.0, "x": 1.0})   # the caller's order is the result's
    assert list(r.gradient) == list(r.point) == ["z", "y", "x"]
    r = f.gradient(x=1.0, y=2.0, z=3.0)
    assert list(r.gradient) == ["x", "y", "z"]
    with pytest.raises(gradcalc.UsageError, match="not a number"):
        f.gradient(x="one", y=2.0, z=3.0)
    with pytest.raises(gradcalc.UsageError, match="must be finite"):
        f.gradient(x=math.inf, y=2.0, z=3.0)
    with pytest.raises(gradcalc.UsageError, match="wrt must be a list of names"):
        f.gradient(x=1.0, y=2.0, z=3.0, wrt="xy")
    r = f.gradient(x=-0.0, y=2.0, z=3.0)
    assert math.copysign(1.0, r.point["x"]) == 1.0   # -0.0 is made 0.0, as on the full path


def test_values_of_other_types():
    f = gradcalc.parse("x*y")
    assert f.gradient(x=1.0, y=2.0).gradient == {"x": 2.0, "y": 1.0}
    for x in (3, np.float64(3.0), "3", True):
        r = f.gradient(x=x, y=2.0)
        assert r.point == {"x": float(x), "y": 2.0} and type(r.point["x"]) is float
    batch = f.gradient(x=[1.0, 2.0], y=2.0)   # an array: many points
    assert list(batch.value) == [2.0, 4.0]


def test_the_plans_are_bounded():
    f = gradcalc.parse("a + b + c + d + e + g")
    names = ["a", "b", "c", "d", "e", "g"]
    rng = random.Random(0)
    for _ in range(600):
        rng.shuffle(names)
        assert f.gradient(dict.fromkeys(names, 1.0)).value == 6.0
    assert sum(1 for k in f._tapes if k[0] == _PLAN) < 300
