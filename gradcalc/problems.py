"""A whole problem set: `gradcalc check FILE.toml`.

The file holds problems, each a program, an optional point and the expected answers (the same
``NAME=ANSWER`` forms as --expect). gradcalc decides every answer and reports a score; a problem
that cannot be run (a typo in its program) is reported as such and the others still run.

    [[problem]]
    name = "Chain rule warm-up"
    program = "q = x + y; f = z*q"
    at = "x=-2, y=5, z=-4"            # optional: without it, answers are checked symbolically
    expect = ["q = 3", "df/dz = 3"]   # or one string: "q=3, df/dz=3"
    tol = "1e-3"                      # optional, as --tol
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from .errors import GradcalcError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass
class ProblemReport:
    name: str
    verdicts: list = field(default_factory=list)
    error: str | None = None

    @property
    def right(self) -> int:
        return sum(1 for v in self.verdicts if v.ok)


def load(path: str) -> list[dict]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    problems = data.get("problem")
    if not isinstance(problems, list) or not problems:
        raise UsageError(f"{path} has no [[problem]] tables",
                         hint="see examples/homework.toml for the format")
    for k, p in enumerate(problems, start=1):
        if not isinstance(p, dict) or not isinstance(p.get("program"), str):
            raise UsageError(f"{path}: problem {k} has no program = \"...\"")
        if not p.get("expect"):
            raise UsageError(f"{path}: problem {k} has no expect = [...]")
    return problems


def run(problems: list[dict]) -> list[ProblemReport]:
    """Decide every answer of every problem."""
    from .expect import check_answers, parse_tol, split_answers
    from .function import Function
    from .points import parse_point

    reports = []
    for k, p in enumerate(problems, start=1):
        report = ProblemReport(str(p.get("name", f"problem {k}")))
        try:
            fn = Function(p["program"])
            point = parse_point(str(p["at"])) if p.get("at") else None
            expect = p["expect"]
            texts = [expect] if isinstance(expect, str) else [str(e) for e in expect]
            tol = None
            if p.get("tol") is not None:
                tol = parse_tol(p["tol"], 'write tol = "REL" or "REL,ABS", e.g. "1e-3"')
            expectations = [e for t in texts for e in split_answers(t, fn.output)]
            report.verdicts = check_answers(fn, expectations, point, tol)
        except GradcalcError as exc:
            report.error = exc.render()
        reports.append(report)
    return reports
