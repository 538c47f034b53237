"""The gradient command's options as one object, with what they mean once parsed."""

from __future__ import annotations

from .. import formats
from ..errors import UsageError
from ..records import record
from .app import Settings, echo


@record(frozen=True)
class Options:
    """The gradient command's options, as click (gradient.py) or quick.py read them: one
    object, not 40 arguments."""

    program: str | None
    file: object
    at: tuple[str, ...]
    points_file: str | None
    keep_columns: bool
    chunk_size: int | None
    save_points: str | None        # --save-points FILE or DIR/ (columnar.py, distributed.py)
    scheduler: str | None          # --scheduler local|tcp://HOST:PORT (distributed.py)
    wrt: str | None
    output: str | None
    jacobian: bool
    fmt: str
    digits: int | None
    check_timeout: float
    no_check: bool
    no_symbolic: bool
    steps: bool
    graph_file: str | None
    html_file: str | None
    rankdir: str
    tree: bool
    hessian: bool
    direction: str | None
    implicit: str | None
    order: int | None
    expect: tuple[str, ...]
    exact: bool
    precision: int | None
    tol: str | None
    max_size: int
    max_nodes: int
    max_depth: int
    max_digits: int
    max_memory: int
    max_elements: int
    seed: int
    save_gradients: str | None
    fast_math: bool                # --fast-math: batches' vector kernels (fastmath.py)
    quiet: bool
    no_color: bool

    def given(self, *names: str) -> list[str]:
        """The options among ``names`` (attribute names) the user gave, as typed: ['--steps']."""
        return ["--" + n.replace("_file", "").replace("_", "-") for n in names
                if getattr(self, n) not in (None, False, ())]

    @property
    def wrt_names(self) -> list[str] | None:
        if not self.wrt:
            return None
        names = [w.strip() for w in self.wrt.split(",") if w.strip()]
        if not names:
            raise UsageError(f"--wrt {self.wrt!r} names nothing", hint="write --wrt x,y")
        return names

    @property
    def timeout(self) -> float | None:
        """The cross-check's time, or None for no check."""
        if self.check_timeout != self.check_timeout:
            raise UsageError("--check-timeout must be a number of seconds, not nan")
        return None if self.no_check else self.check_timeout

    def out(self, settings: Settings) -> formats.Out:
        return formats.Out(echo, settings, self.digits, not self.no_symbolic, self.tree)


# The defaults, in one place: the click declarations (gradient.py) and quick.py read them here.
DEFAULTS = Options(
    program=None, file=None, at=(), points_file=None, keep_columns=False, chunk_size=None,
    save_points=None, scheduler=None, wrt=None, output=None, jacobian=False, fmt="table",
    digits=None, check_timeout=5.0, no_check=False, no_symbolic=False, steps=False,
    graph_file=None, html_file=None, rankdir="auto", tree=False, hessian=False, direction=None,
    implicit=None, order=None, expect=(), exact=False, precision=None, tol=None,
    max_size=5_000_000, max_nodes=1_000_000, max_depth=100_000, max_digits=100_000,
    max_memory=4096, max_elements=10_000_000, seed=0, save_gradients=None, fast_math=False,
    quiet=False, no_color=False)
