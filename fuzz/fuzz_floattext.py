"""Atheris target: the C extension of floattext.py against Python's float() and repr (differential).

The first byte chooses what the rest is:

- even: the text of a small CSV chunk, each byte mapped onto the characters that matter (digits,
  ``. e E + -``, the delimiter and the line end). ``_floattext.parse`` must say a chunk is whole
  exactly when every row has the first row's number of cells and every cell is one float()
  reads, and then give float()'s floats, bit for bit.
- odd: floats, 8 bytes each. ``_floattext.rows`` must write each as repr writes it, after its
  row's given text, or the given line where there is one.

A finding is any difference, or any exception. Needs the extension built (``python setup.py
build_ext --inplace``).

Run: ``python fuzz/fuzz_floattext.py fuzz/corpus/floattext fuzz/seeds -max_total_time=60``
"""

from __future__ import annotations

import struct
import sys

import atheris

with atheris.instrument_imports(include=["gradcalc"]):
    from gradcalc import floattext
    from gradcalc.lazy import numpy

np = numpy()
ft = floattext.native()
ALPHABET = "0123456789" * 3 + "..eE+-,,\n"


def spans(lines: list[bytes]):
    ends = np.cumsum([len(line) + 1 for line in lines], dtype=np.int64) - 1
    return b"\n".join(lines), ends - np.array([len(line) for line in lines], np.int64), ends


@atheris.instrument_func
def check_parse(data: bytes) -> None:
    text = "".join(ALPHABET[b % len(ALPHABET)] for b in data)
    lines = text.split("\n")
    width = lines[0].count(",") + 1
    cells = [line.split(",") for line in lines]
    try:
        want = None if any(len(row) != width for row in cells) else \
            [[float(c) for c in column] for column in zip(*cells, strict=True)]
    except ValueError:
        want = None
    chunk, starts, ends = spans([line.encode() for line in lines])
    out = [np.empty(len(lines)) for _ in range(width)]
    ok = ft.parse(chunk, starts, ends, ord(","), width, list(range(width)), out)
    if ok != (want is not None):
        raise AssertionError(f"parse says {ok} of {text!r}")
    if ok:
        got = [x.view(np.int64).tolist() for x in out]
        if got != [np.array(c).view(np.int64).tolist() for c in want]:
            raise AssertionError(f"parse read {text!r} as {out}, float() as {want}")


@atheris.instrument_func
def check_rows(data: bytes) -> None:
    n = len(data) // 8
    x = np.array(struct.unpack(f"<{n}d", data[:8 * n]), dtype=np.float64)
    prefixes = [str(k % 7).encode() * (k % 3) for k in range(n)]
    given = {k: b"given %d\n" % k for k in range(0, n, 5)}
    chunk, starts, ends = spans(prefixes)
    got = ft.rows(chunk, starts, ends, [x, x[::-1].copy()], b";", b";\n", given)
    want = b"".join(given[k] if k in given else
                    b"%s;%s;%s;\n" % (prefixes[k], repr(v).encode(), repr(w).encode())
                    for k, (v, w) in enumerate(zip(x.tolist(), x[::-1].tolist(), strict=True)))
    if got != want:
        raise AssertionError(f"rows wrote {got!r}, repr {want!r}")


def test_one_input(data: bytes) -> None:
    if not data:
        return
    (check_parse if data[0] % 2 == 0 else check_rows)(data[1:])


if __name__ == "__main__":
    if ft is None:
        sys.exit("gradcalc._floattext is not built (python setup.py build_ext --inplace)")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
