"""What a cross-check decided (``check.py`` decides it): per partial and for the whole point.
Apart from the checker, so that a run without a check (--no-check) need not import it."""

from __future__ import annotations

from .records import record


@record(frozen=True)
class PartialCheck:
    """One partial derivative as the checker sees it."""

    name: str
    ours: object                      # our value (float) or expression
    reference: float | None = None    # the checker's value at the point
    symbolic: str | None = None       # sympy.diff's derivative, printed
    status: str = "agree"             # see STATUSES
    note: str | None = None
    method: str | None = None         # how the reference was found, when not as the check's


# Each partial's verdict. Only agree means a second method confirms the number; kink and
# ill-conditioned are warnings (the number stands), undetermined and disagree fail (exit 1).
STATUSES = ("agree", "kink", "ill-conditioned", "undetermined", "disagree", "skipped")


@record(frozen=True)
class Check:
    """The outcome of a cross-check: which method ran, and per-partial verdicts."""

    method: str                       # sympy | finite-difference | none
    status: str                       # agree | disagree | undetermined | skipped
    partials: tuple[PartialCheck, ...] = ()
    value_reference: float | None = None
    value_status: str = "agree"       # agree | disagree | ill-conditioned | skipped
    seconds: float = 0.0
    reason: str | None = None         # why the method is not sympy, when it is not
    expression: str | None = None     # the output as SymPy sees it

    def by_name(self) -> dict[str, PartialCheck]:
        return {p.name: p for p in self.partials}

    def counts(self) -> dict[str, int]:
        """How many partials have each status (those with none left out), in STATUSES order."""
        found = [p.status for p in self.partials]
        return {s: found.count(s) for s in STATUSES if s in found}

    @property
    def failed(self) -> bool:
        """Whether the check is a failure of the answer: exit 1."""
        return self.status in ("disagree", "undetermined")


SKIPPED = Check("none", "skipped", reason="--no-check", value_status="skipped")
