"""Array values of --at beyond literals (issue 15, docs/tensors.md): a file or a constructor.

- ``@w.npy`` (NumPy's format, read with ``allow_pickle=False`` only, after its header says the
  array holds numbers), ``@f.npz:W`` (a member of an .npz archive; without ``:W``, the member
  named like the variable, or the only one), or a headerless text matrix (``.csv``/``.txt``:
  numbers separated by commas or by spaces, one row a line; ``#`` starts a comment). The path is
  relative to the working directory; the kind of file is told by its first bytes.
- ``zeros(m, n)``, ``ones(n)``, ``eye(n)``, ``randn(m, n)``, ``rand(m, n)``, alone or scaled by a
  constant (``0.01*randn(3, 4)``, or after it: ``randn(3, 4)*0.01``). The random ones draw from
  one ``numpy.random.default_rng(seed)`` shared by the whole --at text, in the order written
  (``Draws``).

Every value is a float64 array of finite entries, at most ``max_elements`` of them, checked
before the file's data is read or the array made. Errors are UsageErrors whose source is the
value as written, the span under the part they are about (parse_point moves it into the --at
text). ``save_gradients`` writes the gradients back as .npy files (--save-gradients).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from .errors import GradcalcError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

CONSTRUCTORS = {"zeros": 2, "ones": 2, "eye": 1, "randn": 2, "rand": 2}   # name -> most sizes
_CALL = re.compile(r"\b(zeros|ones|eye|randn|rand)\s*\(")
_WHOLE = re.compile(r"(?P<pre>.*?)(?P<name>zeros|ones|eye|randn|rand)\s*\((?P<args>[^()]*)\)\s*"
                    r"(?:\*(?P<post>.*))?", re.S)
_SIZE = re.compile(r"[0-9]+")
_NPY, _ZIP = b"\x93NUMPY", (b"PK\x03\x04", b"PK\x05\x06")
LINE_LIMIT = 64 << 20   # bytes of one line of a text matrix (a longer one is refused)
_NUMERIC = "biuf"       # dtype kinds read: bool, signed and unsigned integers, floats
_KINDS = {"c": "complex numbers", "U": "text", "S": "bytes", "O": "Python objects",
          "V": "records (a structured array)", "M": "dates", "m": "time spans"}


class Draws:
    """The random generator of one --at text: made on the first randn/rand, then shared, so
    A=randn(2,3),B=randn(2,3) gives different A and B, and the same ones for the same seed."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self._rng = None

    @property
    def rng(self):
        if self._rng is None:
            from .lazy import numpy

            self._rng = numpy().random.default_rng(self.seed)
        return self._rng


def special(value: str) -> bool:
    """Whether a --at value is a file (@...) or uses a constructor: an array, made here."""
    return value.lstrip().startswith("@") or _CALL.search(value) is not None


def array_input(name: str, value: str, draws: Draws, max_elements: int | None = None,
                finite: bool = True) -> Any:
    """The array a --at value names (``special(value)`` is true): a float64 array (a float for a
    0-d file), every entry finite (a file's entries may be left unchecked with ``finite``
    False: fit's data says which row holds a non-finite value)."""
    if value.lstrip().startswith("@"):
        return _from_file(name, value, max_elements, finite)
    return _construct(name, value, draws, max_elements)


def check_size(name: str, shape: tuple[int, ...], max_elements: int | None, value: str,
               span: tuple[int, int] | None = None) -> None:
    """Refuse an input of more than ``max_elements`` entries (None: no limit), by its shape."""
    size = 1
    for n in shape:
        size *= n
    if max_elements and size > max_elements:
        raise UsageError(f"{name} ({_shape_text(shape)}) has {size:,} entries, more than "
                         f"--max-elements allows ({max_elements:,})", value,
                         span or _whole(value),
                         hint=f"raise the limit: --max-elements {size} (0: no limit)")


def save_gradients(gradient: dict[str, Any], directory: str) -> list[Path]:
    """One ``directory/<name>.npy`` per partial (float64, its input's shape), the directory made
    if missing; the paths written."""
    from pathlib import Path  # here: a plain run does without pathlib (start-up)

    from .lazy import numpy

    np = numpy()
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UsageError(f"--save-gradients {directory}: a file of that name is in the way; "
                         "it needs a directory") from None
    except OSError as exc:
        raise UsageError(f"--save-gradients cannot create {directory}: "
                         f"{exc.strerror or exc}") from None
    written = []
    for name, g in gradient.items():
        path = folder / f"{name}.npy"
        try:
            np.save(path, np.asarray(g, dtype=np.float64), allow_pickle=False)
        except OSError as exc:
            raise UsageError(f"--save-gradients cannot write {path}: "
                             f"{exc.strerror or exc}") from None
        written.append(path)
    return written


# --- constructors -----------------------------------------------------------------------------

def _construct(name: str, value: str, draws: Draws, max_elements: int | None) -> Any:
    from .lazy import numpy

    calls = list(_CALL.finditer(value))
    if len(calls) > 1:
        second = calls[1]
        raise UsageError(f"the value of {name} makes two arrays: one constructor per value",
                         value, second.span(1), hint="e.g. --at A=randn(2,3),B=zeros(2,3)")
    m = _WHOLE.fullmatch(value)
    pre = m["pre"].strip() if m else ""
    post = m["post"] if m and m["post"] is not None else None
    if m is None or (pre and pre not in ("+", "-") and not pre.endswith("*")) or (
            post is not None and not post.strip()):
        raise UsageError(f"{calls[0][1]}(...) stands alone in a value, or scaled by a "
                         "constant", value, calls[0].span(1),
                         hint=f"e.g. {name}=0.01*randn(3,4)")
    ctor = m["name"]
    sizes = _sizes(ctor, value, m.start("args"), m["args"])
    shape = (sizes[0], sizes[0]) if ctor == "eye" else tuple(sizes)
    check_size(name, shape, max_elements, value)
    scale = -1.0 if pre == "-" else 1.0 if pre in ("", "+") else _scale(name, value, pre[:-1])
    if post is not None:   # randn(3, 4)*0.01: the constant after it
        scale *= _scale(name, value, post, m.start("post"))
    np = numpy()
    if ctor == "zeros":
        array = np.zeros(shape)
    elif ctor == "ones":
        array = np.ones(shape)
    elif ctor == "eye":
        array = np.eye(shape[0])
    elif ctor == "randn":
        array = draws.rng.standard_normal(shape)
    else:
        array = draws.rng.random(shape)
    if scale != 1.0:
        array = scale * array
    return array + 0.0   # -0.0 becomes 0.0, as for every value


def _sizes(ctor: str, value: str, start: int, args: str) -> list[int]:
    """The sizes inside ctor(...): 1 or 2 whole numbers ≥ 1 (eye: one)."""
    most = CONSTRUCTORS[ctor]
    example = "eye(3)" if ctor == "eye" else f"{ctor}(3) or {ctor}(3,4)"
    if not args.strip():
        raise UsageError(f"{ctor} needs {'a size' if most == 1 else 'one or two sizes'}", value,
                         (start - 1, start + len(args) + 1), hint=f"e.g. {example}")
    sizes, at = [], start
    for k, piece in enumerate(args.split(",")):
        text = piece.strip()
        span = (at + len(piece) - len(piece.lstrip()), at + len(piece.rstrip()))
        if span[0] >= span[1]:
            span = (at, at + 1)
        if k == most:
            what = "one size: eye(n) is the n×n identity" if most == 1 else \
                "at most two sizes (a vector or a matrix)"
            raise UsageError(f"{ctor} takes {what}", value, span, hint=f"e.g. {example}")
        if not text:
            raise UsageError(f"a size of {ctor} is missing", value, span,
                             hint=f"e.g. {example}")
        if not _SIZE.fullmatch(text):
            raise UsageError(f"a size is a whole number ≥ 1, not {text}", value, span,
                             hint=f"e.g. {example}")
        if len(text) > 18:   # beyond any array's size (and int()'s digit limit)
            raise UsageError(f"a size of {len(text)} digits is beyond any array", value, span)
        if int(text) == 0:
            raise UsageError(f"a size is at least 1, not {text}: arrays are never empty",
                             value, span, hint=f"e.g. {example}")
        sizes.append(int(text))
        at += len(piece) + 1
    return sizes


def _scale(name: str, value: str, text: str, at: int = 0) -> float:
    """The constant before '*' in 0.01*randn(3,4) (or after it, at ``at`` in the value, in
    randn(3,4)*0.01): a finite number, no variables or arrays."""
    import math

    from .function import Function

    span = (at + len(text) - len(text.lstrip()), at + len(text.rstrip()))
    try:
        f = Function(text)
        if f.variables or f.graph.tensor:
            raise UsageError(f"the scale of {name} must be a constant number", value, span,
                             hint=f"e.g. {name}=0.01*randn(3,4)")
        top = f.graph.nodes[f.graph.names[f.output]]
        if top.op in ("add", "sub") and top.span == (span[0] - at, span[1] - at):
            # 1+0.5*randn(3) would be 1.5·randn(3), not a shift by 1
            raise UsageError(f"the value of {name} is a constructor scaled by a constant, never "
                             "shifted: this sum would scale it", value, span,
                             hint=f"scale by a sum in parentheses, e.g. {name}=(1+0.5)*randn(3)")
        scale = float(f())
    except GradcalcError as exc:
        if exc.source == text and exc.span is not None:
            raise UsageError(exc.message, value, (exc.span[0] + at, exc.span[1] + at),
                             exc.hint) from None
        raise
    if not math.isfinite(scale):
        raise UsageError(f"the scale of {name} must be finite", value, span)
    return scale


# --- files ------------------------------------------------------------------------------------

def _from_file(name: str, value: str, max_elements: int | None, finite: bool = True) -> Any:
    start = value.index("@") + 1
    spec = value[start:].rstrip()
    whole = (start - 1, start + len(spec))
    if not spec.strip():
        raise UsageError(f"no file after @ in the value of {name}", value, whole,
                         hint=f"e.g. {name}=@{name}.npy (a .npy, .npz, .csv or .txt file)")
    shown, member = spec, None
    if ":" in spec and not _exists(spec):
        shown, _, member = spec.rpartition(":")
        if not shown.strip() or not member.strip():
            said = "no file before ':'" if not shown.strip() else "no member after ':'"
            raise UsageError(f"{said} in the value of {name}", value, whole,
                             hint=f"a member of an .npz archive: {name}=@f.npz:{name}")
    from pathlib import Path

    path = Path(os.path.expanduser(shown))
    place = (start, start + len(shown))
    try:
        if not _exists(shown):
            raise UsageError(f"no file {shown}", value, place,
                             hint=f"a path is relative to the working directory, {os.getcwd()}")
        if not path.is_file():
            raise UsageError(f"{shown} is not a regular file", value, place)
        with path.open("rb") as stream:
            magic = stream.read(6)
    except OSError as exc:
        raise UsageError(f"cannot read {shown}: {exc.strerror or exc}", value, place) from None
    if magic == _NPY:
        if member is not None:
            raise UsageError(f"{shown} is a .npy file, which holds one array: ':{member}' "
                             "names a member of an .npz archive", value,
                             (place[1], whole[1]), hint=f"write {name}=@{shown}")
        array = _npy(name, shown, path, value, place, max_elements)
    elif magic[:4] in _ZIP:
        array = _npz(name, shown, path, member, value, place, (place[1] + 1, whole[1]),
                     max_elements)
    else:
        if member is not None:
            raise UsageError(f"{shown} is not an .npz archive: ':{member}' names a member of "
                             "one", value, (place[1], whole[1]))
        array = _text(name, shown, path, value, place, max_elements)
    return _finite(shown, array, value, place, finite)


def _npy(name, shown, path, value, place, max_elements):
    from .lazy import numpy

    np = numpy()
    with _reading(shown, value, place):
        with path.open("rb") as stream:
            shape, dtype = _header(stream, shown, value, place)
            start = stream.tell()
        _numeric(shown, dtype, value, place)
        check_size(name, shape, max_elements, value, place)
        _whole_data(shown, shape, dtype, path.stat().st_size - start, value, place)
        array = np.load(path, allow_pickle=False)
    return array


def _npz(name, shown, path, member, value, place, member_span, max_elements):
    import zipfile

    from .lazy import numpy

    np = numpy()
    with _reading(shown, value, place):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m[:-4] for m in archive.namelist() if m.endswith(".npy")]
                key = member if member is not None else name if name in members else \
                    members[0] if len(members) == 1 else None
                if key not in members:
                    listed = ", ".join(members) or "none"
                    said = f"has no member {member}" if member is not None else \
                        f"has no member named {name}"
                    raise UsageError(f"{shown} {said}; its members: {listed}", value,
                                     member_span if member is not None else place,
                                     hint=f"write {name}=@{shown}:{members[0]}"
                                     if members else None)
                with archive.open(key + ".npy") as stream:
                    shape, dtype = _header(stream, f"{shown}:{key}", value, place)
                    have = archive.getinfo(key + ".npy").file_size - stream.tell()
        except zipfile.BadZipFile:
            raise UsageError(f"{shown} is not a valid .npz archive", value, place) from None
        _numeric(f"{shown}:{key}", dtype, value, place)
        check_size(name, shape, max_elements, value, place)
        _whole_data(f"{shown}:{key}", shape, dtype, have, value, place)
        with np.load(path, allow_pickle=False) as archive:
            array = archive[key]
    return array


def _header(stream, shown, value, place):
    """The shape and dtype an .npy header declares, read without reading the data."""
    from .lazy import numpy

    fmt = numpy().lib.format
    version = fmt.read_magic(stream)
    if version == (1, 0):
        shape, _fortran, dtype = fmt.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _fortran, dtype = fmt.read_array_header_2_0(stream)
    else:   # 3.0 is written only for records with non-Latin-1 field names
        raise UsageError(f"{shown} holds records (an .npy file of version "
                         f"{'.'.join(map(str, version))}), not numbers", value, place)
    return tuple(shape), dtype


def _whole_data(shown, shape, dtype, have: int, value, place) -> None:
    """Refuse a file shorter than its header says (before NumPy allocates what it promises)."""
    need = dtype.itemsize
    for n in shape:
        need *= n
    if have < need:
        raise UsageError(f"{shown} is cut short: its header promises a {_shape_text(shape)} "
                         f"array of {dtype} ({need:,} bytes), but {max(have, 0):,} bytes "
                         "follow it", value, place)


def _numeric(shown, dtype, value, place) -> None:
    if dtype.kind not in _NUMERIC:
        what = _KINDS.get(dtype.kind, "values that are not numbers")
        never = "; gradcalc never unpickles" if dtype.kind == "O" else ""
        raise UsageError(f"{shown} holds {what} (dtype {dtype}), not numbers{never}", value,
                         place, hint="save an array of numbers, e.g. "
                                     "np.save(path, a.astype(float))")


def _text(name, shown, path, value, place, max_elements):
    """A headerless matrix of numbers, one row a line, separated by commas (if the first row has
    one) or by spaces and tabs. One row or one column is a vector (as numpy.loadtxt reads it)."""
    from array import array as floats

    from .lazy import numpy

    cells = floats("d")
    width, first, rows, sep = 0, 0, 0, None
    with _reading(shown, value, place), path.open("rb") as stream:
        for number, raw in enumerate(iter(lambda: stream.readline(LINE_LIMIT + 1), b""), 1):
            if len(raw) > LINE_LIMIT:
                raise UsageError(f"{shown}, line {number} is longer than "
                                 f"{LINE_LIMIT >> 20} MiB", value, place,
                                 hint="save big arrays with numpy.save (.npy)")
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise UsageError(f"{shown} is not a .npy or .npz file, nor a text file of "
                                 f"numbers (line {number} is not UTF-8)", value,
                                 place) from None
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if sep is None:
                sep = "," if "," in line else ""
            texts = line.split(sep) if sep else line.split()
            try:
                row = [float(t) for t in texts]
            except ValueError:
                field, bad = next((k, t.strip()) for k, t in enumerate(texts, 1)
                                  if not _number(t))
                shown_bad = bad if len(bad) <= 20 else bad[:20] + "…"   # not a whole line
                said = f"field {field} is empty" if not bad else \
                    f"field {field}, {shown_bad!r}, is not a number"
                raise UsageError(f"{shown}, line {number}: {said}", value, place,
                                 hint="numbers are separated by commas or by spaces, "
                                      "one row a line") from None
            if not rows:
                width, first = len(row), number
            elif len(row) != width:
                raise UsageError(f"{shown}, line {number} has {_numbers(len(row))}, but "
                                 f"line {first} has {width}: a ragged matrix", value, place,
                                 hint="every row of a matrix has the same length")
            rows += 1
            if max_elements and rows * width > max_elements:
                raise UsageError(f"{name} ({shown}) has more entries than --max-elements "
                                 f"allows ({max_elements:,}): {rows}×{width} by line {number}",
                                 value, place,
                                 hint="raise the limit: --max-elements N (0: no limit)")
            cells.extend(row)
    if not rows:
        raise UsageError(f"{shown} holds no numbers", value, place)
    np = numpy()
    array = np.array(cells, dtype=np.float64)
    if rows > 1 and width > 1:
        return array.reshape(rows, width)
    return array if array.size > 1 else array.reshape(())


def _exists(shown: str) -> bool:
    """Whether a path names anything; False for a name the system refuses (too long, NUL)."""
    try:
        return os.path.exists(os.path.expanduser(shown))
    except (OSError, ValueError):
        return False


def _numbers(n: int) -> str:
    return f"{n} number{'s' * (n != 1)}"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _finite(shown, array, value, place, check: bool = True) -> Any:
    """float64, every entry finite (unless not ``check``ed); a 0-d array is a float."""
    from .lazy import numpy

    np = numpy()
    if array.size == 0:
        raise UsageError(f"{shown} holds an empty array (shape {array.shape})", value, place)
    with np.errstate(all="ignore"):
        array = np.asarray(array, dtype=np.float64)
    ok = np.isfinite(array) if check else None
    if ok is not None and not ok.all():
        at = tuple(int(k) for k in np.argwhere(~ok)[0])
        where = f"entry [{', '.join(map(str, at))}]" if at else "its value"
        raise UsageError(f"{shown}: {where} is {array[at]}; every entry must be finite", value,
                         place)
    if array.ndim == 0:
        return float(array)
    array += 0.0   # -0.0 becomes 0.0, in place: the array was just read (no second copy)
    return array


class _reading:
    """Errors of reading a file (truncated, a malformed header, the disk) said as ours."""

    def __init__(self, shown: str, value: str, place: tuple[int, int]):
        self.shown, self.value, self.place = shown, value, place

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, GradcalcError) or not isinstance(
                exc, (OSError, ValueError, EOFError)):
            return False
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read {self.shown}: {why.strip().rstrip('.')}", self.value,
                         self.place) from None


def _whole(value: str) -> tuple[int, int]:
    return (len(value) - len(value.lstrip()), len(value.rstrip()))


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"
