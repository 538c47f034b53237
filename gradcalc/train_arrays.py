"""``fit`` on arrays (issue 16): mini-batch training of a program's parameter arrays on data
arrays, PyTorch's loop.

The program is the loss of a **mini-batch** (``cross_entropy`` is already a mean over its
rows); its inputs are split into data (named arrays whose first axis is the example axis: a
mini-batch slices that axis of every one) and parameters (arrays of any shape). Each step is
forward pass, backward pass, then every parameter array moves against its gradient by
PyTorch's rule (``ArrayOptimizer``: SGD, momentum, Adam, L2 weight decay in the gradient,
StepLR). The scalar path (optimize.fit: a loss per row, averaged) is untouched.

- Everything that can be wrong with the input is found before the first step (``prepare``):
  names (data the program does not use, a program name nothing gives), first axes that differ,
  class labels out of range, data that is not finite (named with its row), and one shape pass
  over the tape with a mini-batch's shapes, whose message names the operands and their shapes.
- The tape is compiled once (the loss's, with the parameters as the only variables, so the data
  gets no gradient and a product with data computes only the parameter's side) with tensor.py's
  plan of its backward steps for the batch's shapes, and the reported statements are forward
  steps beside it: one forward pass gives the loss and every figure. Per step there is no name
  checking, no shape pass and no copying of values.
- Memory: the data once (a mini-batch is a view of it, or without --no-shuffle a copy of its
  rows) and one mini-batch's intermediates; a figure over a whole data set is computed
  mini-batch by mini-batch and averaged, weighted by the batches' sizes (the exact value for a
  mean over the rows, as a loss or an accuracy is).
- The order: each epoch the rows are shuffled in place by ``numpy.random.default_rng(seed)
  .shuffle`` (the generator made once, the order starting as 0, 1, ..., N-1), as the scalar fit
  does; batch k takes rows ``order[k·B:(k+1)·B]``. With shuffle off, batch k is rows k·B to
  (k+1)·B - 1.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

from .autodiff import Tape
from .errors import EvaluationError, GradcalcError, UsageError, describe
from .optimize import BLOWUP, Batch, Optimizer, Schedule, growth_warning, known_only
from .records import field, record
from .tensor import _plan as plan_of
from .tensor import label_inputs, shape_text, shapes

# --- the optimizer --------------------------------------------------------------------------

@record
class TrainingOptimizer(Optimizer):
    """An Optimizer (sgd, momentum, adam: PyTorch's rules) with weight decay and a step
    learning-rate schedule, which also steps arrays in place (``step_arrays``). On scalars its
    ``step`` is Optimizer's after the decay is added to the gradient, so without --weight-decay
    a scalar fit is exactly as before; on arrays each rule is Optimizer's, written in the same
    order of operations, so a one-entry array moves bit for bit as the scalar does.

    - weight decay (torch.optim's ``weight_decay``): g ← g + λ·p before the rule (L2 in the
      gradient; for Adam too, as torch.optim.Adam, not AdamW);
    - StepLR (torch.optim.lr_scheduler.StepLR): after every ``lr_step`` epochs lr ← lr·γ."""

    weight_decay: float = 0.0
    lr_step: int | None = None
    lr_gamma: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        self.initial_lr = self.rate   # (lr moves with the schedule)
        for name in ("weight_decay", "lr_gamma"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise UsageError(f"--{name.replace('_', '-')} must be a finite number ≥ 0, not "
                                 f"{value}")
        if self.lr_step is not None and self.lr_step < 1:
            raise UsageError("--lr-step must be a whole number of epochs ≥ 1")

    def step(self, params: dict, grads: dict, hessian=None) -> dict:
        if self.weight_decay:
            grads = {k: g + self.weight_decay * params[k] for k, g in grads.items()}
        return super().step(params, grads, hessian)

    def step_arrays(self, params: dict, grads: dict) -> None:
        """One step of every parameter array in ``params``, in place; ``grads`` (fresh arrays
        of the same shapes) may be overwritten."""
        import numpy as np

        self.t += 1
        lr, wd = self.rate, self.weight_decay
        for name, g in grads.items():
            p = params[name]
            if wd:
                g += wd * p
            if self.kind == "sgd":
                p -= lr * g
            elif self.kind == "momentum":
                v = self.state.get(name)
                if v is None:
                    v = self.state[name] = np.zeros_like(p)
                v *= self.momentum
                v += g
                p -= lr * v
            else:
                m, v = self.state.get(name) or (np.zeros_like(p), np.zeros_like(p))
                self.state[name] = (m, v)
                m *= self.beta1
                m += (1 - self.beta1) * g
                v *= self.beta2
                v += (1 - self.beta2) * g * g
                m_hat = m / (1 - self.beta1 ** self.t)
                v_hat = v / (1 - self.beta2 ** self.t)
                p -= lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def epoch_done(self, epoch: int) -> None:
        """After epoch ``epoch`` (from 1): StepLR's lr ← lr·γ every ``lr_step`` epochs."""
        if self.lr_step and epoch % self.lr_step == 0:
            self.lr = self.rate * self.lr_gamma


# --- data -----------------------------------------------------------------------------------

@record
class Data:
    """Named float64 arrays sharing their first axis (the examples), and where each came from."""

    arrays: dict[str, Any]
    sources: dict[str, str]
    rows: int
    csv: set[str] = field(default_factory=set)   # names read from a CSV file's columns

    def where(self, name: str, row: int) -> str:
        """'row 17 (counting from 0) of FILE', or for a CSV 'row 18 of FILE (after its
        header)', as the CSV's rows are counted in its other messages."""
        if name in self.csv:
            return f"row {row + 1} of {self.sources[name]} (after its header)"
        return f"row {row} (counting from 0) of {self.sources[name]}"


_COLUMN = re.compile(r"(?P<name>[^\W\d]\w*)(?:\[(?P<i>\d+)\]|\.(?P<j>\d+))?")
_NAMED = re.compile(r"(?P<name>[^\W\d]\w*)\s*=(?P<path>.+)")


def read_data(specs: Sequence[str], option: str = "--data") -> Data:
    """The arrays of ``--data`` (or ``--validate``): an .npz archive (its members), NAME=FILE
    (an .npy file, a member FILE.npz:M, or a headerless text matrix, as --at's @FILE), or a
    CSV/TSV file with a header (``X[0]`` ... ``X[63]`` or ``X.0`` ... make the matrix X; a
    plain column a vector). Several may be given; a name given twice is refused."""
    from .arrays_io import array_input

    arrays: dict[str, Any] = {}
    sources: dict[str, str] = {}
    csv: set[str] = set()

    def add(name: str, array, source: str) -> None:
        if name in arrays:
            raise UsageError(f"{option} gives {describe(name)} twice ({sources[name]} and "
                             f"{source})")
        arrays[name], sources[name] = array, source

    for spec in specs:
        named = _NAMED.fullmatch(spec)
        if named and not _exists(spec):
            name, path = named["name"], named["path"].strip()
            add(name, _loaded(array_input, name, "@" + path), path)
            continue
        kind = _kind(spec, option)
        if kind == "npz":
            for name in _members(spec):
                add(name, _loaded(array_input, name, f"@{spec}:{name}"), spec)
        elif kind == "npy":
            raise UsageError(f"{spec} is a .npy file, which holds one array without a name",
                             hint=f"name it: {option} X={spec}")
        else:
            for name, array in _csv(spec).items():
                add(name, array, spec)
                csv.add(name)
    if not arrays:
        raise UsageError(f"{option} gives no arrays")
    data = Data(arrays, sources, 0, csv)
    data.rows = _rows(data, option)
    _check_finite(data)
    return data


def array_data(spec: str) -> bool:
    """Whether a --data (or --init) value holds arrays: NAME=FILE, an .npz or .npy file, or a
    CSV whose header has a column X[0] or X.0. (A missing file is left to the reader to say.)"""
    if spec == "-":
        return False
    if _NAMED.fullmatch(spec) and not _exists(spec):
        return True
    try:
        with open(spec, "rb") as fh:
            start = fh.read(1 << 16)
    except OSError:
        return False
    if start[:6] == b"\x93NUMPY" or start[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return True
    header = next((line for line in start.splitlines() if line.strip()), b"")
    return re.search(rb"(^|[,\t])\s*[^\W\d]\w*(\[\d+\]|\.\d+)\s*($|[,\t])", header) is not None


def _loaded(array_input, name: str, value: str, finite: bool = False):
    """arrays_io's array of ``value`` (@FILE...), its errors said without the made-up text."""
    from .arrays_io import Draws

    try:
        return array_input(name, value, Draws(), None, finite=finite)
    except GradcalcError as exc:   # said about "@FILE": the message names the file
        raise UsageError(exc.message, hint=exc.hint) from None


def _exists(path: str) -> bool:
    from pathlib import Path

    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def _kind(path: str, option: str) -> str:
    """'npz', 'npy' or 'text', from the file's first bytes."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except FileNotFoundError:
        raise UsageError(f"cannot read {path}: no such file", hint=(
            "--init takes the file --save wrote (.npz, or .json for scalars)"
            if option == "--init" else f"{option} takes FILE.npz, FILE.csv or NAME=FILE.npy")
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return "npy" if magic == b"\x93NUMPY" else "npz" if magic[:4] in (
        b"PK\x03\x04", b"PK\x05\x06") else "text"


def _members(path: str) -> list[str]:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = [m[:-4] for m in archive.namelist() if m.endswith(".npy")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{path} is not a valid .npz archive ({exc})") from None
    if not names:
        raise UsageError(f"{path} holds no arrays")
    return names


def _csv(path: str) -> dict[str, Any]:
    """A CSV/TSV file with a header: its arrays. Columns X[0], X[1], ... (or X.0, X.1, ...)
    are the columns of the matrix X, in order; a plain name is a vector."""
    import numpy as np

    from .points import PointsFile

    with open(path, "rb") as stream:
        names = PointsFile(stream, path, ()).names
    groups: dict[str, dict[int, str]] = {}
    for column in names:
        m = _COLUMN.fullmatch(column)
        if m is None:
            raise UsageError(f"{path}: the column {column!r} names no array",
                             hint="name a column y (a vector), or X[0], X[1], ... (or X.0, "
                                  "X.1, ...) for the columns of a matrix X")
        index = m["i"] if m["i"] is not None else m["j"]
        entries = groups.setdefault(m["name"], {})
        key = -1 if index is None else int(index)
        if entries and (key == -1 or -1 in entries or key in entries):
            raise UsageError(f"{path}: the column {column} clashes with "
                             f"{', '.join(entries.values())}",
                             hint="a name is either a plain column (a vector) or X[0], X[1], "
                                  "... (a matrix), each once")
        entries[key] = column
    for name, entries in groups.items():
        missing = next((k for k in range(len(entries)) if k not in entries), None)
        if -1 not in entries and missing is not None:
            raise UsageError(f"{path}: the columns of {name} stop short: it has "
                             f"{entries[max(entries)]} but no column for entry {missing}",
                             hint=f"a matrix {name} needs columns numbered 0, 1, 2, ... "
                                  "without gaps")
    parts: dict[str, list] = {n: [] for n in names}
    with open(path, "rb") as stream:
        for chunk in PointsFile(stream, path, names).chunks():
            if chunk.invalid:
                k, why = next(iter(chunk.invalid.items()))
                raise UsageError(f"row {chunk.start + k + 1} of {path} (after its header) is "
                                 f"malformed: {why}")
            for n in names:
                parts[n].append(np.asarray(chunk.columns[n], dtype=np.float64))
    if not parts[names[0]]:
        raise UsageError(f"{path} has no rows")
    columns = {n: np.concatenate(p) for n, p in parts.items()}
    arrays = {}
    for name, entries in groups.items():
        arrays[name] = columns[entries[-1]] if -1 in entries else np.column_stack(
            [columns.pop(entries[k]) for k in range(len(entries))])
    return arrays


def _rows(data: Data, option: str) -> int:
    """The examples: the first axis every array shares."""
    firsts = {}
    for name, a in data.arrays.items():
        if getattr(a, "ndim", 0) == 0:
            raise UsageError(f"{describe(name)} in {data.sources[name]} is a single number, not "
                             "an array of examples", hint="data arrays hold one example per "
                                                          "entry of their first axis")
        firsts[name] = a.shape[0]
    if len(set(firsts.values())) > 1:
        (a, n), (b, m) = sorted(firsts.items(), key=lambda kv: kv[1])[::len(firsts) - 1]
        raise UsageError(f"the arrays of {option} differ in their first axis, the examples: "
                         f"{describe(a)} has {n} ({data.sources[a]}), {describe(b)} has {m} "
                         f"({data.sources[b]})",
                         hint="each array holds one entry of its first axis per example")
    return next(iter(firsts.values()))


def _check_finite(data: Data) -> None:
    import numpy as np

    for name, a in data.arrays.items():
        ok = np.isfinite(a)
        if not ok.all():
            at = tuple(int(k) for k in np.argwhere(~ok)[0])
            raise UsageError(f"{describe(name)}[{', '.join(map(str, at))}] is {a[at]}, at "
                             f"{data.where(name, at[0])}: every value of the data must be "
                             "finite")


# --- parameters -----------------------------------------------------------------------------

def load_init(path: str, variables) -> dict[str, Any]:
    """The parameters --save wrote: an .npz archive (or a scalar fit's JSON file). Every name
    must be one of the program's ``variables``."""
    if _kind(path, "--init") != "npz":
        from .optimize import load_params

        return dict(load_params(path, variables))
    from .arrays_io import array_input

    params = {name: _loaded(array_input, name, f"@{path}:{name}", finite=True)
              for name in _members(path)}
    return known_only(path, params, variables)


def save_params(path: str, params: dict[str, Any]) -> None:
    """--save on arrays: an .npz archive, one member per parameter (what --init reads)."""
    import numpy as np

    try:
        with open(path, "wb") as fh:
            arrays: dict[str, Any] = {k: np.asarray(v, dtype=np.float64)
                                      for k, v in params.items()}
            np.savez(fh, **arrays)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


# --- the model: names, shapes and labels checked once, the tape compiled once ---------------

@record
class Model:
    """A program ready to train: its loss tape (the parameters its only variables), the
    forward steps of the loss and every reported statement, and where each value goes."""

    fn: Any
    output: str
    params: list[str]                      # in the order given
    data_names: list[str]
    report: list[str]                      # reported statements, the output first
    tape: Tape                             # the output's, compiled for the parameters
    forward_steps: list                    # the loss's and the reported statements'
    plans: dict[int, Any]                  # batch rows -> tensor's plan of the loss tape
    template: list                         # constants in place; inputs filled per batch
    slots: list[tuple[int, str]]           # (node, input name) to fill
    nodes: dict[str, int]                  # statement -> node
    param_nodes: dict[str, int]
    shapes: dict[str, tuple] = field(default_factory=dict)   # every parameter's
    idle: list[str] = field(default_factory=list)            # parameters the loss ignores
    labels: dict[str, int] = field(default_factory=dict)     # label input -> classes


def prepare(fn, output: str | None, data: Data, params: dict[str, Any], report=(),
            batch_size: int = 32, validation: Data | None = None) -> Model:
    """Check everything before training: names, labels, one shape pass for a mini-batch
    (and the last, shorter one); compile the tape. Raises UsageError or EvaluationError (the
    shape check's, with the caret under the operands)."""
    import numpy as np

    from .domains import tensor_domain

    graph = fn.graph
    output = output or fn.output
    _check_names(fn, output, data, params, report)
    report = list(dict.fromkeys([output, *report]))
    param_names = list(params)
    tape = Tape.compile(graph, graph.names[output], param_names, (), True)
    tapes = {name: tape if name == output else
             Tape.compile(graph, graph.names[name], param_names, (), True) for name in report}
    rows = data.rows
    size = max(1, min(batch_size, rows))
    sizes = {size, rows % size or size}
    if validation is not None:
        _same_names(data, validation)
        sizes |= {min(size, validation.rows), validation.rows % size or size}
    plans = {}
    for n in sorted(sizes, reverse=True):
        point = {**{k: a[:n] for k, a in data.arrays.items()}, **params}
        for name, t in tapes.items():
            shape = _shapes(t, point, params)
            if t is tape and shape[t.out] == () and n in (size, rows % size):
                # the backward steps for these shapes (tensor.py's, kept with fn's tapes)
                plans[n] = plan_of(fn, tape, point)
            if shape[t.out] != ():
                node = graph.nodes[t.out]
                what = "the loss fit minimizes" if name == output else "a reported figure"
                raise EvaluationError(f"{name} is not a scalar but a "
                                      f"{shape_text(shape[t.out])} array: {what} is one number "
                                      "for a mini-batch", graph.source, node.span,
                                      hint=f"reduce it, e.g. mean({graph.snippet(t.out)})")
    labels = _labels(tapes.values(), {**{k: a[:size] for k, a in data.arrays.items()},
                                      **params}, set(params))
    for d in (data, validation):
        if d is not None:
            _check_labels(d, labels)
    steps = {s[0]: s for t in tapes.values() for s in t.forward_steps}
    forward = [steps[i] for i in sorted(steps)]
    D = tensor_domain()
    top = max(t.out for t in tapes.values())
    template: list = [None] * (top + 1)
    slots = []
    for i in sorted({i for t in tapes.values() for i in t.order}):
        node = graph.nodes[i]
        if node.op == "const":
            template[i] = np.float64(D.literal(node.value, node.text))
        elif node.op == "input":
            if node.text in params or node.text in data.arrays:
                slots.append((i, str(node.text)))
            else:   # pi or e
                template[i] = np.float64(D.pi if node.text == "pi" else D.e)
    param_nodes = {p: graph.inputs[p] for p in param_names}
    idle = [p for p in param_names if not tape.keeps(param_nodes[p])]
    return Model(fn, output, param_names, list(data.arrays), report, tape, forward,
                 plans, template, slots,
                 {name: t.out for name, t in tapes.items()}, param_nodes,
                 {p: np.shape(params[p]) for p in param_names}, idle, labels)


def _shapes(tape: Tape, point: dict, params: dict) -> list:
    """tensor.shapes, its message followed by every input's shape (a mini-batch's, for the
    data), so that a parameter of the wrong shape is seen beside what it meets."""
    try:
        return shapes(tape, point)
    except EvaluationError as exc:
        said = ", ".join(f"{k} {shape_text(getattr(x, 'shape', ()))}" for k, x in point.items()
                         if k not in params)
        given = ", ".join(f"{k} {shape_text(getattr(x, 'shape', ()))}"
                          for k, x in params.items())
        exc.hint = (f"a mini-batch of the data: {said}; the parameters: {given}"
                    + (f" ({exc.hint})" if exc.hint else ""))
        raise


def _check_names(fn, output: str, data: Data, params: dict, report) -> None:
    graph = fn.graph
    variables = fn.variables
    statements = ", ".join(graph.names)
    if output not in graph.names:
        raise UsageError(f"no statement is named {output!r}", hint=f"statements: {statements}")
    for name in report:
        if name not in graph.names:
            raise UsageError(f"--report {name}: the program has no statement of that name",
                             hint=f"its statements: {statements}")
    both = [n for n in params if n in data.arrays]
    if both:
        raise UsageError(f"{', '.join(map(describe, both))} is given both by --params and by "
                         f"the data ({data.sources[both[0]]})", hint="drop one of them")
    unused = [n for n in data.arrays if n not in variables]
    if unused:
        computed = [n for n in unused if n in graph.names]
        why = (f"{', '.join(map(describe, computed))} is computed by the program" if computed
               else "the program does not use it")
        raise UsageError(f"the data gives {', '.join(map(describe, unused))} "
                         f"({data.sources[unused[0]]}), but {why}",
                         hint=f"the program's variables: {', '.join(map(describe, variables))}; "
                              "leave that array out of the data")
    unknown = [n for n in params if n not in variables]
    if unknown:
        raise UsageError(f"the program has no variable named {', '.join(map(describe, unknown))}",
                         hint=f"its variables: {', '.join(map(describe, variables))}")
    missing = [v for v in variables if v not in params and v not in data.arrays]
    if missing:
        raise UsageError(f"nothing gives {', '.join(map(describe, missing))} a value: neither the "
                         "data nor the parameters",
                         hint=f"give {missing[0]} in the data (an array named {missing[0]}), or "
                              f"as a parameter (--params \"{missing[0]}=...\")")


def _same_names(data: Data, validation: Data) -> None:
    have, want = set(validation.arrays), set(data.arrays)
    if have != want:
        extra, missing = sorted(have - want), sorted(want - have)
        said = (f"lacks {', '.join(missing)}" if missing else "") + (
            " and " if missing and extra else "") + (f"gives {', '.join(extra)}, which the "
                                                     "training data does not" if extra else "")
        raise UsageError(f"the validation data {said}",
                         hint=f"it needs the arrays the training data has: "
                              f"{', '.join(data.arrays)}")
    for name, a in validation.arrays.items():
        if a.shape[1:] != data.arrays[name].shape[1:]:
            raise UsageError(f"{name} is {shape_text(a.shape)} in the validation data "
                             f"({validation.sources[name]}) but "
                             f"{shape_text(data.arrays[name].shape)} in the training data: "
                             "only the first axis, the examples, may differ")


def _labels(tapes, point: dict, params: set) -> dict[str, int]:
    """Inputs that are class labels, and the classes of the scores they label."""
    found: dict[str, int] = {}
    for t in tapes:
        names = label_inputs(t)
        if not names:
            continue
        nodes = t.graph.nodes
        shape = shapes(t, point)
        from .ops import REGISTRY

        for i in t.order:
            node = nodes[i]
            for k in (REGISTRY[node.op].labels if node.args else ()):
                j = node.args[k]
                if nodes[j].op == "input" and str(nodes[j].text) in names:
                    name = str(nodes[j].text)
                    if name in params:
                        raise UsageError(f"{name} holds class labels, whole numbers: it cannot "
                                         "be a parameter", hint=f"give {name} in the data")
                    classes = shape[node.args[0]][-1]
                    found[name] = min(classes, found.get(name, classes))
    return found


def _check_labels(data: Data, labels: dict[str, int]) -> None:
    import numpy as np

    for name, classes in labels.items():
        y = data.arrays.get(name)
        if y is None:
            continue
        bad = np.flatnonzero((y != np.round(y)) | (y < 0) | (y >= classes))
        if bad.size:
            k = int(bad[0])
            at = np.unravel_index(k, y.shape)
            raise UsageError(f"{describe(name)}[{', '.join(map(str, at))}] is {y.flat[k]:g}, at "
                             f"{data.where(name, int(at[0]))}: not a class label; the scores "
                             f"have {classes} classes, labelled 0 to {classes - 1}",
                             hint=f"class labels are whole numbers 0 to {classes - 1}" +
                                  (f" ({bad.size} values of {name} are not)"
                                   if bad.size > 1 else ""))


# --- running it -----------------------------------------------------------------------------

def _forward(model: Model, batch: dict, params: dict) -> list:
    """Every value of the loss and the reported statements for one mini-batch."""
    import numpy as np

    from .domains import tensor_domain
    from .ops import ValueRefused

    v = model.template.copy()
    for i, name in model.slots:
        v[i] = batch[name] if name in batch else params[name]
    with np.errstate(all="ignore"):
        try:
            Tape._run(tensor_domain(), v, model.forward_steps)
        except ValueRefused as exc:   # a singular matrix
            graph = model.tape.graph
            i = next(s[0] for s in model.forward_steps if v[s[0]] is None)
            args = graph.nodes[i].args
            span = graph.nodes[i if exc.arg is None else args[exc.arg]].span
            raise EvaluationError(str(exc).format(*(graph.snippet(j) for j in args)),
                                  graph.source, span) from None
    return v


def _gradients(model: Model, v: list, params: dict, rows: int) -> dict:
    """∂loss/∂p for every parameter the loss uses: arrays of the parameters' shapes that the
    caller owns (the optimizer adds the weight decay into them)."""
    import numpy as np

    from .tensor import _backward

    with np.errstate(all="ignore"):
        g, owned = _backward(model.plans[rows], v, model.tape.out)
    out = {}
    for name, k in model.param_nodes.items():
        if name in model.idle:
            continue
        d = g[k] if k < len(g) else None
        shape = params[name].shape
        if d is None:   # no path from the loss reached it here
            d = np.zeros(shape)
        elif not owned[k] or not isinstance(d, np.ndarray) or d.shape != shape:
            d = np.array(np.broadcast_to(d, shape), dtype=np.float64)   # borrowed: a copy
        out[name] = d
    return out


def evaluate(model: Model, data: Data, params: dict, batch_size: int) -> dict[str, float]:
    """Every reported figure over a whole data set, mini-batch by mini-batch (memory: one
    batch's intermediates), averaged weighted by the batches' sizes."""
    size = max(1, min(batch_size, data.rows))
    totals = dict.fromkeys(model.report, 0.0)
    for first in range(0, data.rows, size):
        batch = {k: a[first:first + size] for k, a in data.arrays.items()}
        n = len(next(iter(batch.values())))
        v = _forward(model, batch, params)
        for name in model.report:
            totals[name] += float(v[model.nodes[name]]) * n
    return {name: total / data.rows for name, total in totals.items()}


@record(frozen=True)
class EpochFigures:
    """One pass over the training data: the training figures (each reported statement's mean
    over the epoch's mini-batches, weighted by their sizes, each taken before its step, as the
    loss a training loop prints), the validation figures after the epoch, and more."""

    number: int
    loss: float                               # the training loss (train[output])
    train: dict[str, float]
    validation: dict[str, float] | None
    lr: float                                 # the learning rate this epoch used
    grad_norms: dict[str, float]              # |∂loss/∂p| at the epoch's last step
    seconds: float
    steps: int                                # optimizer steps so far


@record
class ArrayOutcome:
    """How an array fit ended: the parameters (the last good ones when it diverged)."""

    params: dict[str, Any]
    loss: float | None                        # over all the training data, at the end
    epochs: int
    steps: int
    reason: str
    diverged: bool = False
    figures: list[EpochFigures] = field(default_factory=list)
    initial_loss: float | None = None
    validation: dict[str, float] | None = None   # at the end
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rows: int = 0
    batch_size: int = 0

    @property
    def history(self) -> list[float]:
        return [f.loss for f in self.figures]


def train(model: Model, data: Data, params: dict[str, Any], optimizer: TrainingOptimizer,
          schedule: Schedule, validation: Data | None = None
          ) -> Iterator[Batch | EpochFigures | ArrayOutcome]:
    """The loop: yields a Batch after each step, EpochFigures after each epoch, then the
    ArrayOutcome. ``params`` (float64 arrays, owned by the run) are updated in place."""
    clock = time.perf_counter()
    rows = data.rows
    size = max(1, min(schedule.batch_size, rows))
    try:
        start = evaluate(model, data, params, size)[model.output]
    except EvaluationError as exc:
        yield ArrayOutcome(params, None, 0, 0, exc.message, True, rows=rows, batch_size=size)
        return
    if not math.isfinite(start):
        yield ArrayOutcome(params, None, 0, 0, f"the loss at the start is {start}", True,
                           rows=rows, batch_size=size)
        return
    outcome = ArrayOutcome(params, None, 0, 0, "", initial_loss=start, rows=rows,
                           batch_size=size)
    first_norms: dict[str, float] = {}
    yield from _epochs(model, data, params, optimizer, schedule, validation, outcome,
                       first_norms)
    outcome.seconds = time.perf_counter() - clock
    if not outcome.diverged:
        try:
            final = evaluate(model, data, params, size)
            outcome.loss = final[model.output]
        except EvaluationError as exc:
            outcome.reason, outcome.diverged = exc.message, True
    values = outcome.history + ([outcome.loss] if outcome.loss is not None else [])
    warning = growth_warning("the loss", start, values, optimizer.rate)
    if warning:
        last = outcome.figures[-1].grad_norms if outcome.figures else {}
        grown = _most_grown(first_norms, last)
        outcome.warnings.append(warning + (f"; {grown}" if grown else ""))
    yield outcome


def _epochs(model, data, params, optimizer, schedule, validation, outcome, first_norms):
    import numpy as np

    rows = data.rows
    size = outcome.batch_size
    batches = -(-rows // size)
    order = np.arange(rows)
    rng = np.random.default_rng(schedule.seed)
    steps = 0
    for epoch in range(1, schedule.epochs + 1):
        began = time.perf_counter()
        lr = optimizer.rate
        if schedule.shuffle:
            rng.shuffle(order)
        sums = dict.fromkeys(model.report, 0.0)
        norms: dict[str, float] = {}
        for number, first in enumerate(range(0, rows, size), 1):
            if schedule.shuffle:
                idx = order[first:first + size]
                batch = {k: a[idx] for k, a in data.arrays.items()}
            else:
                batch = {k: a[first:first + size] for k, a in data.arrays.items()}
            n = min(size, rows - first)
            try:
                v = _forward(model, batch, params)
            except EvaluationError as exc:
                outcome.epochs, outcome.steps = epoch - 1, steps
                outcome.reason, outcome.diverged = exc.message, True
                return
            loss = float(v[model.nodes[model.output]])
            grads = _gradients(model, v, params, n)
            norms = {k: math.sqrt(float(np.vdot(g, g))) for k, g in grads.items()}
            if not first_norms:
                first_norms.update(norms)
            why = _diverged(model, loss, norms, first_norms, v)
            if why:
                outcome.epochs, outcome.steps = epoch - 1, steps
                outcome.reason = f"diverged in epoch {epoch}, batch {number}: {why}"
                outcome.diverged = True
                return
            for name in model.report:
                sums[name] += float(v[model.nodes[name]]) * n
            optimizer.step_arrays(params, grads)
            steps += 1
            yield Batch(epoch, schedule.epochs, number, batches, loss)
        train_figures = {name: s / rows for name, s in sums.items()}
        try:
            checked = None if validation is None else evaluate(model, validation, params, size)
        except EvaluationError as exc:
            outcome.epochs, outcome.steps = epoch, steps
            outcome.reason, outcome.diverged = f"on the validation data: {exc.message}", True
            return
        figures = EpochFigures(epoch, train_figures[model.output], train_figures, checked, lr,
                               norms, time.perf_counter() - began, steps)
        outcome.figures.append(figures)
        outcome.validation = checked
        outcome.epochs, outcome.steps = epoch, steps
        optimizer.epoch_done(epoch)
        yield figures
    outcome.reason = f"ran {schedule.epochs} epochs"


def _diverged(model: Model, loss: float, norms: dict, first: dict, v: list) -> str | None:
    """Why this step must not be taken: the loss or a gradient is not finite or past 1e100
    (naming the parameter whose gradient exploded), else None."""
    bad = next((k for k, n in norms.items() if not n < BLOWUP), None)
    if bad is not None:
        shown = f"|∂{model.output}/∂{bad}| is {norms[bad]:.3g}" if math.isfinite(norms[bad]) \
            else f"∂{model.output}/∂{bad} is not finite"
        return f"the gradient of {bad} exploded: {shown}" + (
            f" (it was {first[bad]:.3g} at the first step)" if bad in first else "")
    if abs(loss) < BLOWUP:
        return None
    said = f"the loss is {loss:.3g}"
    grown = _most_grown(first, norms, "exploded")
    if not math.isfinite(loss):
        culprit = _first_bad_node(model, v)
        if culprit:
            said += f" ({culprit})"
    return said + (f"; {grown}" if grown else "")


def _most_grown(first: dict, last: dict, said: str = "grew most") -> str | None:
    """'the gradient of W1 grew most: |∂/∂W1| from 0.1 at the first step to 3e+40' (None when
    none grew)."""
    ratios = {k: last[k] / first[k] for k in last if k in first and first[k] > 0
              and math.isfinite(last[k]) and last[k] > first[k]}
    if not ratios:
        return None
    k = max(ratios, key=lambda name: ratios[name])
    return (f"the gradient of {k} {said}: |∂/∂{k}| from {first[k]:.3g} at the first step to "
            f"{last[k]:.3g}")


def _first_bad_node(model: Model, v: list) -> str | None:
    import numpy as np

    from .tensor import _value_error

    for step in model.forward_steps:
        i = step[0]
        if not np.isfinite(v[i]).all():
            return _value_error(model.tape, v, i).message
    return None


def param_norms(params: dict) -> dict[str, float]:
    import numpy as np

    return {k: float(np.linalg.norm(np.ravel(p))) for k, p in params.items()}
