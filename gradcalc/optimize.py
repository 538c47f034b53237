"""Using the gradients: gradient descent on a program (``descend``) and mini-batch training of
its parameters on data (``fit``).

Every step is the textbook loop: forward pass, backward pass, then each parameter moves against
its gradient as the optimizer says. The optimizers follow PyTorch's definitions (``torch.optim``):

- SGD:       p ← p − lr·g
- momentum:  v ← μ·v + g;   p ← p − lr·v
- Adam:      m ← β1·m + (1−β1)·g;   v ← β2·v + (1−β2)·g²;   m̂ = m/(1−β1ᵗ);   v̂ = v/(1−β2ᵗ);
             p ← p − lr·m̂/(√v̂ + ε)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from .errors import EvaluationError, UsageError, describe
from .numfmt import fmt
from .records import field, record

DEFAULT_LR = {"sgd": 0.01, "momentum": 0.01, "adam": 0.001,   # PyTorch's customary defaults
              "newton": 1.0}                                 # a full Newton step
BLOWUP = 1e100     # a value, gradient or parameter beyond this has diverged
GROWTH = 100       # a loss more than this many times its start is diverging (growth_warning)


@record
class Optimizer:
    """One optimizer's state and hyper-parameters; ``step`` updates a dict of parameters."""

    kind: str = "sgd"              # sgd | momentum | adam
    lr: float | None = None        # default: DEFAULT_LR[kind]
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = 0
    state: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in DEFAULT_LR:
            raise UsageError(f"unknown optimizer {self.kind!r}",
                             hint="sgd, momentum, adam or newton")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.kind]
        for name in ("lr", "momentum", "beta1", "beta2", "eps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise UsageError(f"--{name} must be a finite number ≥ 0, not {value}")
        if not (self.beta1 < 1 and self.beta2 < 1):
            raise UsageError("the Adam betas must be below 1")

    @property
    def rate(self) -> float:
        """The learning rate in use: ``lr`` as given, or (set by __post_init__) the default."""
        assert self.lr is not None
        return self.lr

    def step(self, params: dict, grads: dict, hessian=None) -> dict:
        """The parameters after one step against ``grads`` (a new dict). Newton's method needs
        the ``hessian`` (rows in the order of ``params``)."""
        self.t += 1
        lr, new = self.rate, {}
        if self.kind == "newton":
            return self._newton(params, grads, hessian)
        for name, p in params.items():
            g = grads[name]
            if self.kind == "sgd":
                new[name] = p - lr * g
            elif self.kind == "momentum":
                v = self.state[name] = self.momentum * self.state.get(name, 0.0) + g
                new[name] = p - lr * v
            else:
                m, v = self.state.get(name, (0.0, 0.0))
                m = self.beta1 * m + (1 - self.beta1) * g
                v = self.beta2 * v + (1 - self.beta2) * g * g
                self.state[name] = (m, v)
                m_hat = m / (1 - self.beta1 ** self.t)
                v_hat = v / (1 - self.beta2 ** self.t)
                new[name] = p - lr * m_hat / (math.sqrt(v_hat) + self.eps)
        return new


    def _newton(self, params: dict, grads: dict, hessian) -> dict:
        """x ← x - lr·(H + λI)⁻¹ g. λ = 0 when H is positive definite; otherwise λ lifts its
        smallest eigenvalue to 1e-3 of the largest magnitude (at least 1e-3), so the step still
        goes downhill (the damping is recorded in ``state["damping"]``, one per step)."""
        from .lazy import numpy

        np = numpy()
        names = list(params)
        h = np.array(hessian, dtype=float)
        g = np.array([grads[n] for n in names], dtype=float)
        eig = np.linalg.eigvalsh((h + h.T) / 2)
        floor = 1e-3 * max(1.0, float(np.max(np.abs(eig))))
        damping = 0.0 if eig[0] > 0 and eig[0] >= 1e-12 * float(np.max(np.abs(eig))) else (
            floor - float(eig[0]))
        self.state.setdefault("damping", []).append(damping)
        d = np.linalg.solve(h + damping * np.eye(len(names)), g)
        return {n: params[n] - self.rate * float(d[k]) for k, n in enumerate(names)}


@record(frozen=True)
class Step:
    """One iteration: the point it started from, the value and gradient there."""

    number: int                    # 0 for the start point
    point: dict[str, float]
    value: float
    gradient: dict[str, float]

    @property
    def norm(self) -> float:
        return math.sqrt(sum(g * g for g in self.gradient.values()))


@record
class Outcome:
    """How a run ended: its last good step, why it stopped, whether that is success."""

    last: Step
    reason: str
    converged: bool
    diverged: bool = False
    history: list[float] = field(default_factory=list)   # the value at every step
    tol: float | None = None                             # the --tol the run stopped by
    warnings: list[str] = field(default_factory=list)    # e.g. the value grew 100-fold


def apart(value: float, bound: float, least: int = 3) -> int:
    """The fewest significant digits (at least ``least``) at which ``value`` rounded is still
    below ``bound``, so that "9.99999999e-09 is below 1e-08" never shows as "1e-08 is below
    1e-08" (the bound is shown exactly, as typed)."""
    for digits in range(least, 17):
        if float(f"{value:.{digits}g}") < bound:
            return digits
    return 17


def _below_tol(norm: float, tol: float) -> str:
    return f"the gradient norm {norm:.{apart(norm, tol)}g} is below --tol {fmt(tol)}"


def descend(fn, start: dict, wrt=None, optimizer: Optimizer | None = None, steps: int = 1000,
            tol: float = 1e-8, output: str | None = None) -> Iterator[Step | Outcome]:
    """Minimize ``fn``'s output from ``start``, moving only ``wrt`` (default: every variable).
    Yields each Step as it is computed, and finally the Outcome, whose ``warnings`` say if the
    value grew by orders of magnitude on the way (see ``growth_warning``)."""
    optimizer = optimizer or Optimizer()
    for item in _descend(fn, start, wrt, optimizer, steps, tol, output):
        if isinstance(item, Outcome):
            item.tol = tol
            warning = growth_warning(output or fn.output, item.history[0], item.history,
                                     optimizer.rate)
            item.warnings = [warning] if warning else []
        yield item


def _descend(fn, start, wrt, optimizer, steps, tol, output) -> Iterator[Step | Outcome]:
    point = dict(start)
    wrt = list(wrt) if wrt else list(fn.variables)
    moving = {w: point[w] for w in wrt}
    history = []
    previous = None
    for number in range(steps + 1):
        try:
            r = fn.gradient(point, wrt=wrt, output=output, limits=0)
            if r.undetermined:
                from .vector import undetermined_message

                raise EvaluationError(undetermined_message(r))
        except EvaluationError as exc:
            if previous is None:
                raise
            yield Outcome(previous, f"diverged: at step {number} the program is undefined "
                                    f"({exc.message})", False, True, history)
            return
        step = Step(number, dict(point), r.value, dict(r.gradient))
        history.append(r.value)
        bad = _blown_up(step)
        if bad:
            if previous is None:
                raise UsageError(f"the start point is unusable: {bad}")
            yield Outcome(previous, f"diverged at step {number}: {bad}", False, True, history)
            return
        yield step
        previous = step
        if step.norm < tol:
            yield Outcome(step, _below_tol(step.norm, tol), True, history=history)
            return
        if number == steps:
            break
        hessian = None
        if optimizer.kind == "newton":
            hessian = _hessian_rows(fn, point, output, list(moving))
            if hessian is None:
                yield Outcome(step, f"stopped at step {number}: the Hessian is undetermined "
                                    "here", False, True, history)
                return
        moving = optimizer.step(moving, step.gradient, hessian)
        point.update(moving)
    assert previous is not None   # steps ≥ 0: step 0 was taken, or the loop raised or returned
    yield Outcome(previous, f"reached --steps {steps}", False, history=history)


def _hessian_rows(fn, point: dict, output, names: list[str]):
    """The Hessian's rows and columns for ``names``, in that order (None if an entry is
    undetermined)."""
    h = fn.hessian(point, output=output)
    index = {v: k for k, v in enumerate(h.variables)}
    rows = [[h.matrix[index[a]][index[b]] for b in names] for a in names]
    return None if any(x is None for row in rows for x in row) else rows


def growth_warning(what: str, start: float, values, lr: float) -> str | None:
    """A warning when ``what`` grew by orders of magnitude over its ``start``: some value v of
    ``values`` (the run's values, last one last) has v > start and |v| > GROWTH·|start|. Such a
    loss is diverging, mostly because the learning rate is too large, though it may stay finite
    (below BLOWUP) for the whole run and so would otherwise end silently with exit code 0.
    Falling values never warn: a minimum far below the start is what descent is for."""
    values = [v for v in values if v == v]          # a NaN neither grew nor fell
    grown = [v for v in values if v > start and abs(v) > GROWTH * abs(start)]
    if not grown:
        return None
    last = values[-1]
    if last in grown:
        how = f"{what} grew from {fmt(start, 4)} to {fmt(last, 4)}"
    else:
        how = (f"{what} rose from {fmt(start, 4)} to {fmt(max(grown), 4)}, then fell to "
               f"{fmt(last, 4)}")
    return f"{how}: the learning rate is probably too large; try --lr {lr / 10:g}"


def _blown_up(step: Step) -> str | None:
    """Why a step has diverged (None if it has not)."""
    if not abs(step.value) < BLOWUP:
        return f"the value is {step.value:.3g}"
    for name, g in step.gradient.items():
        if not abs(g) < BLOWUP:
            return f"∂/∂{name} is {g:.3g}"
    for name, x in step.point.items():
        if not abs(x) < BLOWUP:
            return f"{name} is {x:.3g}"
    return None


@record(frozen=True)
class Epoch:
    """One pass over the data: its number, the mean of its batch losses, the parameters after."""

    number: int
    loss: float
    params: dict[str, float]
    steps: int                     # optimizer steps so far


@record(frozen=True)
class Batch:
    """One optimizer step of fit, so that a progress bar can move per mini-batch (an epoch of a
    big data set may take minutes): where the run is, and this batch's loss before the step."""

    epoch: int
    epochs: int
    number: int                    # within the epoch, from 1
    batches: int                   # per epoch
    loss: float

    @property
    def done(self) -> int:
        """Batches done in the whole run, this one included."""
        return (self.epoch - 1) * self.batches + self.number

    @property
    def total(self) -> int:
        return self.epochs * self.batches


def fit_batches(rows: int, batch_size: int, epochs: int) -> int:
    """How many mini-batches (optimizer steps) fit runs if it does not stop early: the total of
    a progress bar that advances per Batch."""
    return epochs * -(-rows // max(1, min(batch_size, rows)))


@record
class FitOutcome:
    """The fitted parameters, the loss over all the data with them, and how the run ended."""

    params: dict[str, float]
    loss: float | None
    epochs: int
    steps: int
    reason: str
    diverged: bool = False
    history: list[float] = field(default_factory=list)   # mean batch loss per epoch
    last_loss: float | None = None       # the batch loss that diverged (None if none did)
    initial_loss: float | None = None    # over all the data, with the start parameters
    warnings: list[str] = field(default_factory=list)    # e.g. the loss grew 100-fold


def initial_params(spec: Mapping[str, float | tuple[str, float]], seed: int) -> dict[str, float]:
    """Values for --params: numbers as given; '~' (or '~0.5') draws from a normal distribution
    with mean 0 and standard deviation 1 (or 0.5), seeded, in the order the names were given."""
    import random

    rng = random.Random(seed)
    return {k: rng.gauss(0.0, v[1]) if isinstance(v, tuple) else float(v)
            for k, v in spec.items()}


def load_params(path: str, variables) -> dict[str, float]:
    """The parameters in a file ``fit --save`` wrote ({"params": {"w": 2.5, ...}, "loss": ...};
    "loss" and any other key are ignored), for ``fit --init``. Every name must be one of the
    program's ``variables``. Each way the file can be wrong is a UsageError that names it."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not JSON: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}, column "
                         f"{exc.colno}") from None
    saved = doc.get("params") if isinstance(doc, dict) else None
    if not isinstance(saved, dict) or not saved:
        raise UsageError(f'{path} holds no saved parameters: expected {{"params": {{"w": 1.5, '
                         '...}}', hint="write one with gradcalc fit ... --save FILE.json")
    params = {}
    for name, value in saved.items():
        number = _finite(value)
        if number is None:
            raise UsageError(f"in {path}, {describe(name)} is {json.dumps(value)}, not a finite "
                             "number")
        params[name] = number
    return known_only(path, params, variables)


def known_only(path: str, params: dict, variables) -> dict:
    """The parameters a saved file gives, refused if it names one the program does not have."""
    unknown = [name for name in params if name not in variables]
    if unknown:
        raise UsageError(f"{path} gives {', '.join(map(describe, unknown))}, which the program "
                         "does not have",
                         hint=f"its variables: {', '.join(map(describe, variables))}")
    return params


def _finite(value) -> float | None:
    """A JSON value as a finite float, or None (true/false are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def start_params(spec: dict | None, seed: int, init: str | None = None,
                 variables=()) -> dict[str, float]:
    """Where fit starts: the parameters saved in ``init`` (--init, see load_params), then
    --params (``spec``, see initial_params) over them: a name --params gives overrides the file's
    value (w=~ draws it afresh), a new name adds a parameter. With --init, --params is optional;
    one of the two must be given."""
    if spec is None and init is None:
        raise UsageError("fit needs starting parameters",
                         hint="give --params w=0,b=0, or --init FILE.json written by --save")
    params = load_params(init, variables) if init is not None else {}
    params.update(initial_params(spec or {}, seed))
    return params


@record(frozen=True)
class Schedule:
    """How fit goes through the data: passes, rows per optimizer step, their order."""

    epochs: int = 100
    batch_size: int = 32
    shuffle: bool = True             # shuffle the rows before each epoch
    seed: int = 0                    # of the shuffling


# Nine arguments: the training options are keyword-only, each named at the call (as torch's
# DataLoader takes them); inside they travel on together as a Schedule.
def fit(fn, data: dict, params: dict[str, float],  # noqa: PLR0913
        optimizer: Optimizer | None = None, *, epochs: int = 100, batch_size: int = 32,
        shuffle: bool = True, seed: int = 0,
        output: str | None = None) -> Iterator[Batch | Epoch | FitOutcome]:
    """Mini-batch training: the loss is ``fn``'s output averaged over a batch of ``data`` rows
    (columns named after the program's other variables). Yields a Batch after each step, an
    Epoch after each pass, then the FitOutcome. The loss over all the data at the start
    (``initial_loss``) is what the outcome's ``warnings`` measure growth against (see
    ``growth_warning``)."""
    from .lazy import numpy

    np = numpy()
    optimizer = optimizer or Optimizer()
    columns = {k: np.asarray(c, dtype=np.float64) for k, c in data.items()}
    rows = len(next(iter(columns.values()))) if columns else 1
    if rows == 0:
        raise UsageError("the data has no rows")
    try:
        start, _grads = batch_loss(fn, columns, np.arange(rows), params, output, names=())
    except EvaluationError as exc:
        yield FitOutcome(params, None, 0, 0, exc.message, True)
        return
    schedule = Schedule(epochs, batch_size, shuffle, seed)
    for item in _train(fn, columns, params, optimizer, schedule, output):
        if isinstance(item, FitOutcome):
            item.initial_loss = start
            values = item.history + [v for v in (item.last_loss, item.loss) if v is not None]
            warning = growth_warning("the loss", start, values, optimizer.rate)
            item.warnings = [warning] if warning else []
        yield item


def _train(fn, columns: dict, params: dict[str, float], optimizer: Optimizer,
           schedule: Schedule, output: str | None) -> Iterator[Batch | Epoch | FitOutcome]:
    from .lazy import numpy

    np = numpy()
    epochs = schedule.epochs
    rows = len(next(iter(columns.values()))) if columns else 1
    size = max(1, min(schedule.batch_size, rows))
    batches = fit_batches(rows, schedule.batch_size, 1)
    order = np.arange(rows)
    rng = np.random.default_rng(schedule.seed)
    history: list[float] = []
    steps = 0
    for epoch in range(1, epochs + 1):
        if schedule.shuffle:
            rng.shuffle(order)
        losses = []
        for number, first in enumerate(range(0, rows, size), 1):
            idx = order[first:first + size]
            try:
                loss, grads = batch_loss(fn, columns, idx, params, output)
            except EvaluationError as exc:
                yield FitOutcome(params, None, epoch - 1, steps, exc.message, True, history)
                return
            new = optimizer.step(params, grads)
            steps += 1
            bad = next((f"{k} is {x:.3g}" for k, x in new.items() if not abs(x) < BLOWUP), None)
            if bad or not abs(loss) < BLOWUP:
                why = bad or f"the loss is {loss:.3g}"
                yield FitOutcome(params, None, epoch - 1, steps,
                                 f"diverged in epoch {epoch}: {why}", True, history,
                                 last_loss=loss)
                return
            params = new
            losses.append(loss)
            yield Batch(epoch, epochs, number, batches, loss)
        history.append(float(np.mean(losses)))
        yield Epoch(epoch, history[-1], dict(params), steps)
    try:
        final, _grads = batch_loss(fn, columns, np.arange(rows), params, output, names=())
    except EvaluationError as exc:
        yield FitOutcome(params, None, epochs, steps, exc.message, True, history)
        return
    yield FitOutcome(params, final, epochs, steps, f"ran {epochs} epochs", False, history)


def batch_loss(fn, columns: dict, idx, params: dict, output=None, names=None):
    """(mean loss, mean gradient per parameter) over the data rows ``idx``; raises
    EvaluationError naming the first row (1-based) where the program is undefined."""
    from .vector import gradient_few, gradient_many, numpy

    np = numpy()
    n = len(idx)
    wrt = list(params) if names is None else list(names)
    if n <= 64:   # a float pass per row: given Python floats (the same numbers as the arrays'
        #           elements), each row takes Function.gradient's fast path (issue 18)
        batch = {k: c[idx].tolist() for k, c in columns.items()}
        batch.update({k: [float(v)] * n for k, v in params.items()})
        result = gradient_few(fn, batch, wrt, output)
    else:
        batch = {k: c[idx] for k, c in columns.items()}
        batch.update({k: np.full(n, v) for k, v in params.items()})
        result = gradient_many(fn, batch, wrt, output)
    if result.errors:
        k, why = next(iter(result.errors.items()))
        raise EvaluationError(f"the loss is undefined at data row {int(idx[k]) + 1}: {why}")
    loss = float(np.mean(result.value))
    return loss, {w: float(np.mean(result.gradient[w])) for w in wrt}
