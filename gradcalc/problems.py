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

Messages speak of the file's keys (``at``, ``expect``, ``tol``), not of the command line's
options, since the file is what the user has to fix.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field

from .errors import GradcalcError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PROBLEM_KEYS = ("name", "program", "at", "expect", "tol")
TOP_KEYS = ("problem",)
# Words people write for a key, where spelling alone would suggest nothing (point is not like at).
SYNONYMS = {"point": "at", "answer": "expect", "answers": "expect", "expected": "expect",
            "tolerance": "tol", "title": "name", "expression": "program", "function": "program"}
TOL_USAGE = 'write tol = "REL" or "REL,ABS", e.g. "1e-3"'


@dataclass
class ProblemReport:
    name: str
    verdicts: list = field(default_factory=list)
    error: str | None = None

    @property
    def right(self) -> int:
        return sum(1 for v in self.verdicts if v.ok)


def load(path: str) -> list[dict]:
    """The problems of a TOML file, each checked for its keys and their types (an error here is
    the whole file's: nothing has run yet)."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    _known_keys(data, TOP_KEYS, f"{path} has an unknown key", "problems are [[problem]] tables")
    problems = data.get("problem")
    if not isinstance(problems, list) or not problems:
        raise UsageError(f"{path} has no [[problem]] tables",
                         hint="see examples/homework.toml for the format")
    for k, p in enumerate(problems, start=1):
        if not isinstance(p, dict):
            raise UsageError(f"{path}: problem {k} is not a table", hint="write [[problem]]")
        _known_keys(p, PROBLEM_KEYS, f"{path}: problem {k} has an unknown key",
                    f"a problem's keys: {', '.join(PROBLEM_KEYS)}")
        _check_types(p, f"{path}: problem {k}")
    return problems


def _known_keys(table: dict, known: tuple[str, ...], message: str, keys: str) -> None:
    """An unknown key is an error naming it and the closest known key: a typo such as expectt
    would otherwise read as a problem with no answers, and colour would be silently ignored."""
    for key in table:
        if key not in known:
            close = ([SYNONYMS[key.lower()]] if SYNONYMS.get(key.lower()) in known
                     else difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6))
            hint = f"did you mean {close[0]}? {keys}" if close else keys
            raise UsageError(f"{message} {key!r}", hint=hint)


def _check_types(p: dict, where: str) -> None:
    """Each key's value of the type it needs: a TOML number or table where text belongs would
    otherwise fail later with a message about something else."""
    if not isinstance(p.get("program"), str):
        raise UsageError(f'{where} has no program = "..."')
    expect = p.get("expect")
    texts = [expect] if isinstance(expect, str) else expect
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise UsageError(f"{where}: expect must be a list of strings or one string",
                         hint='write expect = ["f = -12", "df/dx = -4"]')
    if not _count(texts):
        raise UsageError(f"{where} has no expect = [...]")
    if "at" in p and not isinstance(p["at"], str):
        raise UsageError(f"{where}: at must be a string", hint='write at = "x=1, y=2"')
    if "tol" in p and (isinstance(p["tol"], bool) or not isinstance(p["tol"], (str, int, float))):
        raise UsageError(f"{where}: tol must be a string or a number", hint=TOL_USAGE)


def _count(texts: list[str]) -> int:
    """How many answers the texts hold, without checking them (for problems that cannot run)."""
    from .syntax import split_top_level

    return sum(1 for t in texts for piece, _ in split_top_level(t) if piece.strip())


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
                tol = parse_tol(p["tol"], TOL_USAGE)
            expectations = [e for t in texts for e in split_answers(t, fn.output)]
            report.verdicts = check_answers(fn, expectations, point, tol)
        except GradcalcError as exc:
            report.error = exc.render()
        reports.append(report)
    return reports
