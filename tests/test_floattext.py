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



# --- parse: float()'s floats ----------------------------------------------------------------------

def parse(cells: list[str]):
    """(parse's verdict, the floats) of a one-column file of ``cells``."""
    data = "\n".join(cells).encode()
    lengths = np.array([len(c) for c in cells], np.int64)
    ends = np.cumsum(lengths + 1) - 1
    out = np.empty(len(cells))
    return ft.parse(data, ends - lengths, ends, ord(","), 1, [0], [out]), out


def assert_float(cells: list[str]) -> None:
    ok, out = parse(cells)
    assert ok
    want = np.array([float(c) for c in cells])
    wrong = np.flatnonzero(want.view(np.int64) != out.view(np.int64))
    assert not len(wrong), [(cells[k], float(cells[k]), out[k]) for k in wrong[:10]]


def _bit_patterns(seed: int, n: int) -> np.ndarray:
    x = np.random.default_rng(seed).integers(0, 2 ** 64, n, dtype=np.uint64).view(np.float64)
    return x[np.isfinite(x)]


@built
@pytest.mark.parametrize("digits", [None, 15, 19, 25])
def test_parse_reads_floats_written_to_any_number_of_digits(digits):
    """repr's own text (the common file), and 16, 20 (past Eisel-Lemire's 19: Python's parser)
    and 26 significant digits, over random bit patterns."""
    x = _bit_patterns(digits or 0, 100_000).tolist()
    assert_float([repr(v) if digits is None else f"{v:.{digits}e}" for v in x])


@built
def test_parse_reads_random_digit_strings_at_every_exponent():
    rng = random.Random(1)
    cells = []
    for _ in range(150_000):
        d = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 21)))
        e = rng.randint(-360, 330)
        cell = rng.choice([f"{d}e{e}", f"{d[:1]}.{d[1:]}E{e:+d}", f"0.{d}", f"{d}.{d}", d,
                           f".{d}e{e}", f"{d}."])
        cells.append(rng.choice(["", "-", "+"]) + cell)
    assert_float(cells)


@built
def test_parse_reads_the_halfway_cases_as_float_does():
    """Exactly halfway between two neighbouring floats (ties to even), and a hair either side:
    where the product's bits cannot decide, Python's parser must."""
    from decimal import Decimal, getcontext

    getcontext().prec = 1200
    cells = []
    for x in _bit_patterns(7, 3000).tolist():
        y = float(np.nextafter(x, np.inf))
        if not math.isfinite(y):
            continue
        mid = (Decimal(x) + Decimal(y)) / 2
        hair = (Decimal(y) - Decimal(x)) / 10 ** 30
        cells += [format(m, "e") for m in (mid, mid + hair, mid - hair)]
    # ties of at most 19 digits, which the fast method itself must see as undecided: odd
    # multiples of half an ulp, o 2^s with o of 54 bits; with o = 5^q r, written r 2^(s-q) e q
    rng = random.Random(8)
    for q in range(0, 23):
        for _ in range(40):
            r = rng.randrange(2 ** 53 // 5 ** q + 1, 2 ** 54 // 5 ** q + 1) | 1
            if not 2 ** 53 < 5 ** q * r < 2 ** 54:
                continue
            for s in range(q - 4 if q == 0 else q, q + 40):
                tie = Fraction(5 ** q * r) * Fraction(2) ** s
                d = tie / 10 ** q
                if d.denominator == 1 and len(str(d.numerator)) <= 19:
                    cells += [f"{d.numerator}e{q}", f"{d.numerator * 10 + 1}e{q - 1}",
                              f"{d.numerator * 10 - 1}e{q - 1}"]
                elif d.denominator <= 16:   # (q = 0, s < 0: a few digits after the point)
                    cells.append(format(Decimal(tie.numerator) / tie.denominator, "f"))
    assert len(cells) > 20_000
    assert_float(cells)


@built
def test_parse_reads_the_edges_of_the_float_range():
    cells = ["0", "-0", "0.0", "-0.0", "000", "00012", "5.", ".5", "+.5e-3", "-.5E+3", "1e5",
             "1E5", "1e-400", "1e400", "-1e400", "1e-320", "2.4703282292062327e-324",
             "2.4703282292062328e-324", "4.9406564584124654e-324", "2.2250738585072011e-308",
             "2.2250738585072012e-308", "1.7976931348623157e308", "1.7976931348623158e308",
             "1.7976931348623159e308", "9" * 400, "0." + "0" * 500 + "1", "9007199254740993",
             "9007199254740992.5", "1e23", "8.98846567431158e307", "1" + "0" * 30 + "e-30",
             "0.1000000000000000055511151231257827", "1e-5", "1.5e+16", "1e0000000000000005",
             "1e-00000000000000001", "123456789012345678", "1234567890123456789",
             "12345678901234567890", "0.000000000000000000000000000001234567890123456789"]
    cells += [repr(10.0 ** k) for k in range(-323, 309)] + [repr(2.0 ** k) for k in
                                                             range(-1074, 1024)]
    assert_float(cells + ["-" + c for c in cells if c[0] not in "+-"])


@built
@pytest.mark.parametrize("cell", ["", "+", "-", ".", "e", "E", "1e", "1e+", "e5", ".e5",
                                  "1.2.3", "1e5.5", "--1", "+-1", "1-", "1+1", "1e++5", "1ee5",
                                  "-.", "+.", "1e+-5", "1e5e5", "1 ", " 1", "1_000", "inf",
                                  "nan", "0x10", "1,5"])
def test_parse_refuses_what_float_refuses(cell):
    """A cell float() refuses (or one this file's two columns make two) is no number: the chunk
    goes cell by cell, where it is reported in its row."""
    ok, _out = parse(["1.5", cell, "2.5"])
    assert not ok


@built
def test_parse_reads_the_wanted_columns_of_full_rows():
    data = b"1,a,2.5\n-3,b b,1e3\n0.5,,7"
    ends = np.array([7, 18, len(data)], np.int64)
    starts = np.array([0, 8, 19], np.int64)
    z, x = np.empty(3), np.empty(3)
    assert ft.parse(data, starts, ends, ord(","), 3, [2, 0], [z, x])
    assert z.tolist() == [2.5, 1000.0, 7.0] and x.tolist() == [1.0, -3.0, 0.5]
    for width in (2, 4):   # a row with more or fewer cells than the header names
        assert not ft.parse(data, starts, ends, ord(","), width, [0], [x])
    tabs = data.replace(b",", b"\t")
    assert ft.parse(tabs, starts, ends, ord("\t"), 3, [0], [x]) and x.tolist() == [1, -3, 0.5]


@built
@pytest.mark.parametrize("bad", [
    dict(wanted=[3]),                                # no such column
    dict(wanted=[0, 0], out=[np.empty(1), np.empty(1)]),   # twice
    dict(out=[np.empty(2)]),                         # too long
    dict(out=[np.empty(1, np.float32)]),             # not float64
    dict(out=[np.empty(1)[::1].view(np.int64)]),     # not floats
    dict(out=[]),                                    # lengths differ
    dict(width=0),
    dict(sep=300),
    dict(ends=np.array([9], np.int64)),              # past the data
])
def test_parse_refuses_what_it_cannot_read(bad):
    args = dict(data=b"1,2", starts=np.array([0], np.int64), ends=np.array([3], np.int64),
                sep=ord(","), width=2, wanted=[0], out=[np.empty(1)])
    args.update(bad)
    with pytest.raises((TypeError, ValueError)):
        ft.parse(*args.values())
    frozen = np.empty(1)
    frozen.flags.writeable = False
    with pytest.raises((TypeError, ValueError, BufferError)):
        ft.parse(b"1,2", np.array([0], np.int64), np.array([3], np.int64), ord(","), 2, [0],
                 [frozen])


@built
def test_parse_leaves_huge_exponents_to_python():
    """Zeros after the point lower the exponent and a long exponent raises it: a cell whose
    exponent is past what is read here goes to Python's parser (found by review: the first
    gave 1.0, float() inf)."""
    cells = ["0." + "0" * 99_999 + "1e1000000", "0." + "0" * 123_456 + "1e1234567",
             "1" + "0" * 100_005 + "e-1000000", "1e" + "9" * 30, "1e-" + "9" * 30,
             "0." + "0" * 100_001 + "5", "0." + "0" * 99_990 + "1e99999"]
    assert_float(cells)


@built
def test_parse_and_rows_are_safe_with_odd_arguments():
    """A width past any row's cells, an output array over the starts' memory, starts of the
    wrong type, init again: a verdict or an error, never a crash."""
    one = np.empty(1)
    assert ft.parse(b"1", np.array([0]), np.array([1]), 44, 2 ** 61, [0], [one]) is False
    data = b"1e300\n2.5\n-7"
    memory = np.array([0, 6, 10, 0], np.int64)
    out = memory[1:4].view(np.float64)   # out[k] over starts[k + 1]
    assert ft.parse(data, memory[:3], np.array([5, 9, 12], np.int64), 44, 1, [0], [out])
    assert out.tolist() == [1e300, 2.5, -7.0]
    with pytest.raises(TypeError):
        ft.parse(b"1", np.array([0.0]), np.array([1]), 44, 1, [0], [one])
    with pytest.raises(TypeError):
        ft.rows(b"1", np.array([0], np.uint64), np.array([1]), [one], b",", b"\n", {})
    with pytest.raises(ValueError):
        ft.init(b"short", b"short")
    ft.init(floattext.table(ft.K_MIN, ft.K_MAX), floattext.powers(ft.E_MIN, ft.E_MAX))
    assert reprs([0.1, 1e300]) == ["0.1", "1e+300"]
