"""The C extension gradcalc._floattext (floattext.py): repr's text of many floats, written into
CSV lines. Every text is compared with repr's, string for string; the powers of ten with exact
rational arithmetic."""

from __future__ import annotations

import math
import platform
import random
import shutil
import sys
from fractions import Fraction
from typing import Any

import pytest

from gradcalc import floattext

np = pytest.importorskip("numpy")
ft: Any = floattext.native()
built = pytest.mark.skipif(ft is None, reason="gradcalc._floattext is not built here")


def test_the_extension_is_built_where_it_can_be():
    """On 64-bit Linux with a C compiler (as in CI), the install must have built it (else
    every test below would skip and nothing would hold it)."""
    if sys.platform != "linux" or platform.architecture()[0] != "64bit" or not shutil.which("cc"):
        pytest.skip("not a machine it is built for")
    assert ft is not None and ft.rows.__doc__


def reprs(values) -> list[str]:
    x = np.ascontiguousarray(values, dtype=np.float64)
    none = np.zeros(len(x), np.int64)
    return ft.rows(b"", none, none, [x], b"", b"\n", {}).decode().split("\n")[:-1]


def assert_repr(values) -> None:
    x = np.asarray(values, dtype=np.float64)
    got, want = reprs(x), [repr(v) for v in x.tolist()]
    wrong = [(w, g) for w, g in zip(want, got, strict=True) if w != g]
    assert not wrong, wrong[:10]


def floats(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.uint64).view(np.float64)


# --- the powers of ten --------------------------------------------------------------------------

@built
def test_the_table_is_the_scaled_powers_of_ten_rounded_up():
    """g = floor(10^-k 2^(125 - floor(log2 10^-k))) + 1, computed here with Fractions."""
    data = floattext.table(ft.K_MIN, ft.K_MAX)
    words = [int.from_bytes(data[i:i + 8], sys.byteorder) for i in range(0, len(data), 8)]
    assert len(words) == 2 * (ft.K_MAX - ft.K_MIN + 1)
    for i, k in enumerate(range(ft.K_MIN, ft.K_MAX + 1)):
        p = Fraction(10) ** -k
        e = -4 * k   # a guess; made exact below
        while Fraction(2) ** e > p:
            e -= 1
        while Fraction(2) ** (e + 1) <= p:
            e += 1
        g = math.floor(p * Fraction(2) ** (125 - e)) + 1
        assert 2 ** 125 <= g <= 2 ** 126
        assert words[2 * i] < 2 ** 63 and words[2 * i + 1] < 2 ** 63
        assert (words[2 * i] << 63) + words[2 * i + 1] == g, k


@built
def test_the_table_covers_every_float():
    """k = floor(log10(2^q)) for the smallest and largest binary exponents of a float."""
    assert ft.K_MIN == math.floor(-1074 * math.log10(2)) == -324
    assert ft.K_MAX == math.floor(971 * math.log10(2)) == 292


# --- repr's text ----------------------------------------------------------------------------------

@built
def test_every_binary_exponent_at_the_edges_of_its_mantissas():
    """Each of the 2048 exponents with the smallest, largest and middle mantissas, both signs:
    the normal and subnormal floats, powers of two (whose interval is lopsided), inf and NaN."""
    edges = [0, 1, 2, 3, 4, 5, (1 << 52) - 1, (1 << 52) - 2, 1 << 51, (1 << 51) + 1,
             (1 << 51) - 1, 0x5555555555555, 0xAAAAAAAAAAAAA]
    bits = [(sign << 63) | (exponent << 52) | t for sign in (0, 1)
            for exponent in range(2048) for t in edges]
    assert_repr(floats(bits))


@built
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_bit_patterns(seed):
    rng = np.random.default_rng(seed)
    assert_repr(rng.integers(0, 2 ** 64, 300_000, dtype=np.uint64).view(np.float64))


@built
def test_random_numbers_at_every_scale():
    rng = np.random.default_rng(5)
    n = 200_000
    assert_repr(rng.uniform(-2, 2, n))
    with np.errstate(over="ignore"):   # (some are inf)
        assert_repr(10.0 ** rng.uniform(-330, 310, n) * rng.choice([-1.0, 1.0], n))
    # mantissas of few bits: many are exact short decimals, or halfway between two
    assert_repr(rng.integers(1, 2 ** 20, n).astype(np.float64)
                * np.exp2(rng.integers(-1094, 1003, n).astype(np.float64)))


@built
def test_short_decimals_at_every_exponent():
    """Numbers people write (one to three digits, at every power of ten), whose shortest text
    is the one written: the interval's ends decide there."""
    values = [float(f"{m}e{e}") for m in (1, 2, 5, 9, 15, 25, 123, 999, 3.14159, 7.5)
              for e in range(-325, 310)]
    values += [10.0 ** k for k in range(-323, 309)] + [2.0 ** k for k in range(-1074, 1024)]
    assert_repr(values + [-v for v in values])


@built
def test_ties_go_to_the_even_digit():
    """Floats exactly halfway between two shortest candidates: repr takes the even one."""
    values = [2.0 ** -25, 562949953421312.25, 1743829569681555.25, 0.5, 0.25, 0.125, 2.0 ** -40,
              1125899906842624.25, 4503599627370495.5, 9007199254740992.0, 1e23, 5e-324]
    assert_repr(values + [-v for v in values])
    assert reprs([2.0 ** -25, 562949953421312.25]) == ["2.9802322387695312e-08",
                                                       "562949953421312.2"]


@built
def test_layout_as_repr_lays_it_out():
    values = [0.0, -0.0, float("inf"), -float("inf"), float("nan"), -float("nan"), 1.0, -3.0,
              1e-4, 1e-5, 9.999999999999999e-05, 1e15, 1e16, 9999999999999998.0, 1.5e16,
              123456789012345.6, 0.1, 1e100, 1e-100, 5e-324, 1.7976931348623157e308,
              2.2250738585072014e-308, 2.225073858507201e-308, 1e-7, 1.5e-7, 100.0, 1e22]
    assert reprs(values) == [repr(v) for v in values]
    assert reprs([1e16, 1e-5, 100.0, -0.0, float("nan")]) == ["1e+16", "1e-05", "100.0", "-0.0",
                                                               "nan"]


@built
def test_every_decimal_of_a_few_digits_near_one():
    values = [k / 1000 for k in range(-100_000, 100_001)] + [k / 7 for k in range(-70_000, 70_001)]
    assert_repr(values)


# --- rows -------------------------------------------------------------------------------------

def _spans(lines: list[bytes]):
    data = b"\n".join(lines)
    ends = np.cumsum([len(line) + 1 for line in lines]) - 1
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    return data, starts, ends.astype(np.int64)


@built
def test_rows_join_their_cells_and_the_numbers():
    rng = random.Random(4)
    lines = [",".join(repr(rng.uniform(-5, 5)) for _ in range(3)).encode() for _ in range(500)]
    data, starts, ends = _spans(lines)
    a, b = np.array([rng.uniform(-1e6, 1e6) for _ in range(500)]), np.arange(500.0) / 3
    got = ft.rows(data, starts, ends, [a, b], b",", b",\n", {})
    want = "".join(f"{line.decode()},{x!r},{y!r},\n" for line, x, y in
                   zip(lines, a.tolist(), b.tolist(), strict=True))
    assert got.decode() == want


@built
def test_rows_given_whole_take_their_place():
    """A row with an error is written by Python (render/rows.py) and put in its place, first,
    last or in between; the rest as ever."""
    lines = [b"1,2", b"3,4", b"5,6", b"7,8"]
    data, starts, ends = _spans(lines)
    x = np.array([0.5, 1.5, 2.5, 3.5])
    given = {0: b"first,,bad\n", 2: b"\xe2\x88\x82 says no\n", 3: b"last\n"}
    counts = {k: sys.getrefcount(v) for k, v in given.items()}
    got = ft.rows(data, starts, ends, [x], b"\t", b"\t\n", given)
    assert got == b"first,,bad\n3,4\t1.5\t\n\xe2\x88\x82 says no\nlast\n"
    assert {k: sys.getrefcount(v) for k, v in given.items()} == counts


@built
def test_rows_with_no_numbers_or_no_rows():
    data, starts, ends = _spans([b"a", b"bc"])
    assert ft.rows(data, starts, ends, [], b",", b"\n", {}) == b"a\nbc\n"
    none = np.zeros(0, np.int64)
    assert ft.rows(b"", none, none, [np.zeros(0)], b",", b"\n", {}) == b""


@built
def test_strided_numbers_are_refused_not_misread():
    data, starts, ends = _spans([b"a", b"b"])
    with pytest.raises((TypeError, ValueError, BufferError)):
        ft.rows(data, starts, ends, [np.arange(4.0)[::2]], b",", b"\n", {})


@built
@pytest.mark.parametrize("bad", [
    dict(starts=np.array([0, 5], np.int64)),                  # past the data
    dict(ends=np.array([1], np.int64)),                       # lengths differ
    dict(starts=np.array([1, 0], np.int64), ends=np.array([0, 1], np.int64)),   # start > end
    dict(starts=np.array([0, 2], np.int32)),                  # not int64
    dict(numbers=[np.zeros(3)]),                              # a column too long
    dict(numbers=[np.zeros(2, np.float32)]),                  # not float64
    dict(numbers=5),                                          # not a sequence
    dict(lines={2: b"x"}),                                    # a row that is not there
    dict(lines={0: "text"}),                                  # not bytes
    dict(lines=[(0, b"x")]),                                  # not a dict
])
def test_rows_refuse_what_they_cannot_write(bad):
    args = dict(data=b"a\nb", starts=np.array([0, 2], np.int64), ends=np.array([1, 3], np.int64),
                numbers=[np.zeros(2)], sep=b",", tail=b"\n", lines={})
    args.update(bad)
    with pytest.raises((TypeError, ValueError)):
        ft.rows(*args.values())

