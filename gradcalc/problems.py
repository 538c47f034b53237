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

from .errors import GradcalcError, UsageError
from .records import field, record

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


@record
class ProblemReport:
    """One problem's outcome: its verdicts, or why it could not run (``error``, rendered). The
    program and point are kept as written so that a report can show what was checked."""

    name: str
    verdicts: list = field(default_factory=list)
    error: str | None = None
    program: str = ""
    at: str | None = None   # the point as written; None: the answers are checked symbolically
    answers: int = 0        # answers written, counted also when the problem could not run

    @property
    def right(self) -> int:
        return sum(1 for v in self.verdicts if v.ok)


@record(frozen=True)
class Score:
    """The unit is the answer. An answer of a problem that could not run counts in the total as
    not right (``not_checked`` of them): a broken problem must not make the score look better,
    as leaving its answers out of the total did."""

    right: int
    total: int           # every answer written, checked or not
    could_not_run: int   # problems
    not_checked: int     # answers in the problems that could not run

    @property
    def sentence(self) -> str:
        """'18 of 20 answers right', or '3 of 7 answers right (4 not checked: 2 problems could
        not run)'."""
        text = f"{self.right} of {self.total} answer{'s' * (self.total != 1)} right"
        if self.could_not_run:
            problems = f"{self.could_not_run} problem{'s' * (self.could_not_run != 1)}"
            text += f" ({self.not_checked} not checked: {problems} could not run)"
        return text


def score(reports: list[ProblemReport]) -> Score:
    """The score of a problem set's reports (see Score for what counts)."""
    broken = [r for r in reports if r.error is not None]
    not_checked = sum(r.answers for r in broken)
    total = sum(len(r.verdicts) for r in reports if r.error is None) + not_checked
    return Score(sum(r.right for r in reports), total, len(broken), not_checked)


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
    """Decide every answer of every problem (as ``load`` returns them); a problem that cannot
    run gets its error in its report and the others still run."""
    return [_run_one(k, p) for k, p in enumerate(problems, start=1)]


def _run_one(k: int, p: dict) -> ProblemReport:
    from .expect import check_answers, parse_tol, split_answers
    from .function import Function
    from .points import every_variable, parse_point

    texts = [p["expect"]] if isinstance(p["expect"], str) else list(p["expect"])
    at = p["at"] if p.get("at", "").strip() else None   # at = "" reads as no point, as before
    report = ProblemReport(str(p.get("name", f"problem {k}")), program=p["program"], at=at,
                           answers=_count(texts))
    try:
        fn = Function(p["program"])
        point = None
        if at is not None:
            point = parse_point(at, option="at")
            every_variable(fn.variables, point, at, "at")
        tol = parse_tol(p["tol"], TOL_USAGE) if p.get("tol") is not None else None
        expectations = [e for t in texts for e in split_answers(t, fn.output, "expect")]
        report.answers = len(expectations)
        report.verdicts = check_answers(fn, expectations, point, tol, point_option="at")
    except GradcalcError as exc:
        report.error = exc.render()
    return report
