"""A corpus of hostile inputs, run through the real ``gradcalc`` console script.

Each case pins the exit code and a piece of the message. Every case also checks that
gradcalc never prints a traceback, never exits 3 (internal error), keeps stdout empty on
bad input (exit 2, stderr starting with ``error:``; a points file's rows stream, see
``Case.streamed``) and writes no file nobody named. Large inputs are generated into
``tmp_path`` at run time. Where gradcalc is wrong, the case is a strict xfail that states the
right outcome.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

GRADCALC = shutil.which("gradcalc", path=str(Path(sys.executable).parent)) or shutil.which(
    "gradcalc"
)

Data = bytes | Callable[[], bytes]


@dataclass
class Case:
    name: str
    argv: list[str]
    code: int
    expect: str  # in stderr; in stdout when code == 0
    stdin: Data | None = None
    stdin_path: str | None = None  # standard input from this file instead (e.g. /dev/zero)
    files: dict[str, Data | None] = field(default_factory=dict)  # None: a directory
    outputs: tuple[str, ...] = ()  # files the case names as output
    forbid: tuple[str, ...] = ()  # must appear in neither stdout nor stderr
    # a points file streams its output: rows already written stay on stdout when a later row
    # is bad (exit 2), and the summary's "error:" line follows the check's note on stderr;
    # ``expect`` is then looked for on both (a bad row says why on stdout)
    streamed: bool = False
    max_err: int | None = None  # most characters of stderr
    limit_memory: bool = False  # run under a 2 GiB address-space limit (unbounded inputs)
    xfail: str | None = None  # why gradcalc is wrong; ``code``/``expect`` are the right outcome


def _data(value: Data | None) -> bytes | None:
    return value() if callable(value) else value


CASES: list[Case] = []


def case(name: str, argv: list[str], code: int, expect: str, **kw) -> None:
    CASES.append(Case(name, argv, code, expect, **kw))


# --- Python escape attempts: never evaluated, always a parse error -------------------------
case("import-os", ["__import__('os').system('id')"], 2, "names start with a letter")
case("dunder-class", ["x.__class__"], 2, "unexpected character '.'")
case("lambda", ["lambda: 0"], 2, "unexpected ':'")
case("tuple-bases", ["().__class__.__bases__"], 2, "unexpected character '.'")

case("exec-string", ['exec("1")'], 2, "unexpected character '\"'")
case("eval-string", ['eval("1")'], 2, "unexpected character '\"'")
# `x = x` with no x: the right side's x is an input variable, so the program is the identity
case("self-assign-unbound", ["x = x"], 0, "x = x")
case("self-assign-unbound-at", ["x = x", "--at", "x=2", "--format", "plain"], 0, "dx/dx = 1")

# --- Arrays (issue 15): every refusal names the operands and their shapes ------------------
case("ragged-literal", ["sum([[1, 2], [3]])"], 2, "a ragged array")
case("index-past-the-end", ["x[3]", "--at", "x=[1,2,3]"], 2, "index 3 is out of range for x (3)")
case("index-computed", ["x[i]", "--at", "x=[1,2],i=0"], 2, "computed indices are not supported")
case("index-huge", ["x[99999999999999999999999]", "--at", "x=[1]"], 2, "out of range")
case("slice-step-0", ["sum(x[::0])", "--at", "x=[1]"], 2, "a step that is not 0")
case("labels-not-integers", ["cross_entropy(S, y)", "--at", "S=[[1,2]],y=[0.5]"], 2,
     "y[0] = 0.5 is not a class label")
case("labels-out-of-range", ["cross_entropy(S, y)", "--at", "S=[[1,2]],y=[7]"], 2,
     "labelled 0 to 1")
case("inv-singular", ["sum(inv(A))", "--at", "A=[[1,2],[2,4]]"], 2, "A is singular")
case("matmul-mismatch", ["sum(W @ x)", "--at", "W=[[1,2,3]],x=[1,2]"], 2,
     "cannot multiply W (1×3) by x (2): 3 ≠ 2")
case("reshape-wrong-size", ["sum(reshape(x, 4))", "--at", "x=[1,2,3]"], 2,
     "cannot reshape x (3) to 4")
case("axis-past-the-end", ["sum(sum(X, 5))", "--at", "X=[[1]]"], 2, "along axis 5")
case("softmax-overflow-free", ["logsumexp(x)", "--at", "x=[1000,1000]", "--format", "plain"],
     0, "f = 1000.6931471805599\ndf/dx = [0.5, 0.5]")

# --- Huge numbers ---------------------------------------------------------------------------
case("literal-1e999999", ["1e999999"], 2, "too large for float64")
case("tower-9^9^9^9", ["9^9^9^9"], 2, "the limit is 100,000: --max-digits")
case(
    "tower-2^2^2^2^2^2",
    ["2^2^2^2^2^2"],
    2,
    "--max-digits",
)
case(
    "tower-2^2^2^2^2-symbolic",
    ["2^2^2^2^2"],
    0,
    "f =",
)
case("tower-10^10^10", ["10^10^10"], 2, "about 1.0e+10 digits")
case("tower-10^10^10-exact-no-point", ["10^10^10", "--exact"], 2, "--exact needs a point")
case("tower-10^10^10-exact-at", ["x*10^10^10", "--exact", "--at", "x=1"], 2, "overflows")

# --- Syntax garbage -------------------------------------------------------------------------
case("truncated-plus", ["x+"], 2, "found the end of the input")
case("close-open", [")("], 2, "found ')'")
case("lone-comma", [","], 2, "found ','")
case("only-semicolons", [";;;"], 2, "the program is empty")
case("empty-program", [""], 2, "the program is empty")
case("only-comment", ["# hi"], 2, "the program is empty")
case("assign-function-name", ["sin = 3"], 2, "sin is a function and cannot be assigned")
case("assign-constant-e", ["e = 2; e*x", "--at", "x=3", "--format", "plain"], 0, "f = 6")
case("at-shadows-pi", ["pi*x", "--at", "x=1,pi=3", "--format", "plain"], 0, "df/dpi = 1")
case("call-unknown-f", ["f(x)"], 2, "f is not a function")
case("call-unknown-foo", ["foo(1)"], 2, "foo is not a function")


# --- Size and depth limits (inputs generated at run time) -----------------------------------
def _nest(depth: int) -> bytes:
    return b"(" * depth + b"x" + b")" * depth


case("nest-100000-ok", ["-", "--at", "x=1", "--format", "plain"], 0, "df/dx = 1",
     stdin=lambda: _nest(100_000))
case("nest-100001", ["-f", "deep.gc", "--at", "x=1"], 2, "--max-depth",
     files={"deep.gc": lambda: _nest(100_001)})
case("size-10MB", ["-f", "big.gc", "--at", "x=1"], 2, "the limit is 5,000,000",
     files={"big.gc": lambda: b"x+" * 5_000_000})

# --- Bytes that are not text ----------------------------------------------------------------
case("control-char-in-program", ["x+\x01y"], 2, "unexpected character '\\x01'")
case("nul-in-file", ["-f", "nul.gc", "--at", "x=1,y=2"], 2, "unexpected character '\\x00'",
     files={"nul.gc": b"x+\x00y"})
case("nul-in-file-echoed-raw", ["-f", "nul.gc", "--at", "x=1,y=2"], 2, "'\\x00'",
     files={"nul.gc": b"x+\x00y"}, forbid=("\x00",))
case("escape-sequence-echoed-raw", ["x+\x1b]0;pwned\x07"], 2, "unexpected character",
     forbid=("\x1b",))
case("escape-in-comment-echoed-raw", ["x # \x1b[31mred", "--at", "x=1"], 0, "f = 1",
     forbid=("\x1b",))
case("invalid-utf8-file", ["-f", "bad.gc", "--at", "x=1"], 2, "bad.gc is not UTF-8 text",
     files={"bad.gc": b"x+\xff\xfey"})
case("invalid-utf8-stdin", ["-", "--at", "x=1"], 2, "standard input is not UTF-8 text",
     stdin=b"x+\xff\xfey")
case("rlo-in-name", ["a\u202eb"], 2, "unexpected character '\\u202e'")
case("rlo-after-plus", ["x+\u202ey", "--at", "x=1,y=2"], 2, "'\\u202e'")

# --- Unicode confusables --------------------------------------------------------------------
case("cyrillic-x-as-variable", ["\u0445^2", "--at", "\u0445=3", "--format", "plain"], 0,
     "= 6")
case("cyrillic-x-vs-latin", ["\u0445+1", "--at", "x=1"], 2, "U+0445")
case("fullwidth-x-vs-latin", ["\uff58+1", "--at", "x=1"], 2, "U+FF58")
case("greek-question-mark", ["x=1\u037e x"], 2, "U+037E")

# --- Comments, continuations, line endings --------------------------------------------------
case("comment-control-char", ["x # c\x07omment", "--at", "x=1", "--format", "plain"], 0,
     "df/dx = 1")
case("backslash-continuation-at-end", ["x+\\"], 2, "unexpected character '\\\\'")
case("backslash-continuation-joins-lines", ["x +\\\ny", "--at", "x=1,y=2", "--format", "plain"],
     0, "df/dy = 1")
case("backslash-continuation-at-end-of-file", ["-f", "c.gc", "--at", "x=1"], 2, "x +\\",
     files={"c.gc": b"x +\\\n"})
case("crlf-statements", ["-f", "crlf.gc", "--at", "x=1,y=2", "--format", "plain"], 0,
     "f = 6", files={"crlf.gc": b"q = x + y\r\nf = q*2\r\n"})
case("crlf-inside-parens", ["(x +\r\ny)", "--at", "x=1,y=2", "--format", "plain"], 0,
     "df/dy = 1")
case("crlf-split-statement", ["x +\r\ny"], 2, "found the end of the line")

# --- --at and option values -----------------------------------------------------------------
case("at-nan", ["x^2", "--at", "x=nan"], 2, "must be a finite number")
case("at-inf", ["x^2", "--at", "x=inf"], 2, "must be a finite number")
case("at-empty-value", ["x^2", "--at", "x="], 2, "no value for x")
case("at-duplicate", ["x^2", "--at", "x=1,x=2"], 2, "x is given twice")
case("at-1e999", ["x^2", "--at", "x=1e999"], 2, "too large for float64")
case("at-missing-value", ["x^2", "--at"], 2, "'--at' requires an argument")
case("digits-1000", ["x", "--at", "x=1", "--digits", "1000"], 2, "1<=x<=17")
case("precision-100000", ["x", "--at", "x=1", "--precision", "100000"], 2, "1<=x<=10000")
case("check-timeout-negative", ["x", "--at", "x=1", "--check-timeout", "-1"], 2,
     "0<=x<=86400")
case("format-nope", ["x", "--format", "nope"], 2, "'nope' is not one of")


# --- Arithmetic edge cases ------------------------------------------------------------------
_BIG = "+".join(["x*y"] * 10)
case("max-nodes-3", [_BIG, "--max-nodes", "3", "--at", "x=1,y=1"], 2,
     "the program has more than 3 nodes")
case("max-nodes-0-lifts", [_BIG, "--max-nodes", "0", "--at", "x=1,y=1", "--format", "plain"],
     0, "df/dx = 10")
case("huge-exponent", ["x^1e308", "--at", "x=2"], 2, "beyond the float64 range")
case("zero-to-minus-one", ["0^-1"], 2, "0^-1 is undefined")
case("log-zero", ["log(0)"], 2, "log(0) is undefined")
case("sqrt-minus-one", ["sqrt(-1)"], 2, "sqrt(-1) is undefined")
case("acos-two", ["acos(2)"], 2, "acos(2) is undefined")
case("atanh-one", ["atanh(1)"], 2, "atanh(1) is undefined")
case("division-by-x-minus-x", ["1/(x-x)", "--at", "x=1"], 2, "needs a nonzero denominator")
case("sin-nested-5000-at", ["-f", "sin.gc", "--at", "x=1", "--format", "plain"], 0,
     "df/dx = ", files={"sin.gc": lambda: b"sin(" * 5000 + b"x" + b")" * 5000})
case("sin-nested-5000-symbolic", ["-f", "sin.gc"], 2, "too deep for SymPy",
     files={"sin.gc": lambda: b"sin(" * 5000 + b"x" + b")" * 5000})
case("statements-100000", ["-f", "many.gc", "--at", "x=1", "--no-check", "--format", "plain"],
     0, "x = 300001", files={"many.gc": lambda: b"x = x + 3\n" * 100_000})
case("minus-signs-1000000", ["-f", "minus.gc", "--at", "x=1"], 2,
     "more than 1,000,000 nodes", files={"minus.gc": lambda: b"-" * 1_000_000 + b"x"})

# --- Points files ---------------------------------------------------------------------------
_PTS = ["x*y", "--points", "p.csv", "--format", "csv"]
case("points-nul", _PTS, 2, "is not a number: '\\x004'", streamed=True,
     files={"p.csv": b"x,y\n1,2\n3,\x004\n"})
case("points-invalid-utf8", _PTS, 2, "p.csv is not UTF-8 text",
     files={"p.csv": b"x,y\n1,\xff2\n"})
case("points-200KB-field-quoted", _PTS, 2, "field larger than field limit (131072)",
     streamed=True, files={"p.csv": lambda: b'x,y\n1,"' + b"1" * 200_000 + b'"\n'})
case("points-200KB-field", _PTS, 2, "field larger than field limit", streamed=True,
     files={"p.csv": lambda: b"x,y\n1," + b"1" * 200_000 + b"\n"})
case("points-duplicate-header", _PTS, 2, "the column x appears twice",
     files={"p.csv": b"x,x\n1,2\n"})
case("points-empty-file", _PTS, 2, "p.csv is empty", files={"p.csv": b""})
case("points-header-only", _PTS, 0, "x,y,value,df/dx,df/dy,error", files={"p.csv": b"x,y\n"})
case("points-formula-injection", [*_PTS, "--keep-columns"], 0, "=cmd|' /C calc'!A0,2.0",
     files={"p.csv": b"x,y,note\n1,2,=cmd|' /C calc'!A0\n"})
case("points-1e999", _PTS, 2, "must be finite", streamed=True,
     files={"p.csv": b"x,y\n1e999,2\n3,4\n"})
case("points-1e999-jsonl", ["x*y", "--points", "p.csv", "--format", "jsonl"], 2,
     "must be finite", streamed=True, forbid=("Infinity",),
     files={"p.csv": b"x,y\n1e999,2\n3,4\n"})
case("points-missing-file", ["x*y", "--points", "missing.csv"], 2,
     "cannot read missing.csv")
case("points-directory", ["x*y", "--points", "d"], 2, "is a directory", files={"d": None})
case("points-stdin-tsv", ["x*y", "--points", "-", "--format", "tsv"], 0, "1\t2\t2.0\t2.0\t1.0",
     stdin=b"x\ty\n1\t2\n")
case("points-stdin-wrong-columns", ["x*y", "--points", "-"], 2,
     "standard input has no column for x, y", stdin=b"a,b\n1,2\n")


# --- Unbounded and odd sources --------------------------------------------------------------
case("stdin-12MB", ["-"], 2, "the limit is 5,000,000", stdin=lambda: b"x+" * 6_000_000)
case("file-dev-zero", ["-f", "/dev/zero"], 2, "the limit is 5,000,000", limit_memory=True)
case("stdin-dev-zero", ["-"], 2, "the limit is 5,000,000", limit_memory=True,
     stdin_path="/dev/zero")
case("file-missing", ["-f", "nope.gc"], 2, "'nope.gc': No such file or directory")
case("file-directory", ["-f", "d"], 2, "'d': Is a directory", files={"d": None})
case("file-utf8-bom", ["-f", "bom.gc", "--at", "x=3", "--format", "plain"], 0, "df/dx = 6",
     files={"bom.gc": b"\xef\xbb\xbfx^2"})
case("file-utf16", ["-f", "u16.gc", "--at", "x=3"], 2, "u16.gc is not UTF-8 text",
     files={"u16.gc": "x^2".encode("utf-16")})

# --- Output files: only the ones named ------------------------------------------------------
case("graph-dot-named", ["x*y", "--at", "x=1,y=2", "--graph", "g.dot", "--format", "plain"], 0,
     "df/dx = 2", outputs=("g.dot",))
case("graph-missing-dir", ["x", "--at", "x=1", "--graph", "nodir/g.dot"], 2,
     "nodir/g.dot: No such file or directory")

# --- descend --------------------------------------------------------------------------------
case("descend-diverges", ["descend", "x^2", "--from", "x=1", "--lr", "10"], 1,
     "diverged at step")
case("descend-leaves-domain", ["descend", "log(x)", "--from", "x=1", "--lr", "10"], 1,
     "the program is undefined")
case("descend-unknown-variable", ["descend", "x^2", "--from", "y=0"], 2,
     "no variable named y")
case("descend-from-nan", ["descend", "x^2", "--from", "x=nan"], 2, "must be a finite number")
case("descend-negative-lr", ["descend", "x^2", "--from", "x=0", "--lr", "-1"], 2,
     "--lr must be a finite number")
case("descend-negative-steps", ["descend", "x^2", "--from", "x=0", "--steps", "-5"], 2,
     "'--steps'")
case("descend-trajectory-named", ["descend", "x^2", "--from", "x=1", "--steps", "3",
                                  "--trajectory", "t.csv", "--format", "json"], 0,
     '"reason": "reached --steps 3"', outputs=("t.csv",))
case("descend-trajectory-missing-dir", ["descend", "x^2", "--from", "x=1", "--trajectory",
                                        "nodir/t.csv"], 2, "cannot write nodir/t.csv")

# --- fit ------------------------------------------------------------------------------------
_DATA = {"d.csv": b"x,y\n1,2\n2,4\n3,6\n"}
_FIT = ["fit", "(w*x-y)^2", "--data", "d.csv"]
case("fit-ok", [*_FIT, "--params", "w=0", "--epochs", "5"], 0, "stopped: ran 5 epochs",
     files=_DATA)
case("fit-diverges", [*_FIT, "--params", "w=0", "--lr", "100", "--epochs", "50"], 1,
     "diverged in epoch", files=_DATA)
case("fit-unknown-param", [*_FIT, "--params", "w=0,v=1"], 2, "no variable named v",
     files=_DATA)
case("fit-param-tilde-abc", [*_FIT, "--params", "w=~abc"], 2, "~abc is not a standard deviation",
     files=_DATA)
case("fit-param-negative-std", [*_FIT, "--params", "w=~-1"], 2, "must be ≥ 0", files=_DATA)
case("fit-param-is-column", [*_FIT, "--params", "x=0"], 2,
     "x is given both by --params and by a column", files=_DATA)
case("fit-data-1e999", [*_FIT, "--params", "w=0"], 2, "must be finite, not inf",
     files={"d.csv": b"x,y\n1,2\n1e999,4\n"})
case("fit-data-missing", ["fit", "(w*x-y)^2", "--data", "nope.csv", "--params", "w=0"], 2,
     "cannot read nope.csv")
case("fit-batch-size-0", [*_FIT, "--params", "w=0", "--batch-size", "0"], 2,
     "'--batch-size'", files=_DATA)
case("fit-save-missing-dir", [*_FIT, "--params", "w=0", "--save", "nodir/s.json"], 2,
     "cannot write nodir/s.json", files=_DATA)


# --- Hostile option values ------------------------------------------------------------------
case("at-value-tower", ["x", "--at", "x=9^9^9^9"], 2, "beyond the float64 range")
case("at-value-import", ["x", "--at", "x=__import__('os')"], 2, "names start with a letter")
case("at-value-log-zero", ["x", "--at", "x=log(0)"], 2, "log(0) is undefined")
case("at-unknown-variable", ["x", "--at", "x=1,y=2"], 2, "no variable named y")
case("at-missing-variable", ["x*y", "--at", "x=1"], 2, "no value for y")
case("expect-import", ["x", "--at", "x=1", "--expect", "f=__import__('os')"], 2,
     "--expect f: unexpected character '_'")
case("expect-tower", ["x", "--at", "x=1", "--expect", "df/dx=9^9^9^9"], 2,
     "beyond the float64 range")
case("expect-tol-nan", ["x", "--at", "x=1", "--tol", "nan", "--expect", "f=2"], 2,
     "--tol takes REL or REL,ABS")
case("tol-nope-without-expect", ["x", "--at", "x=1", "--tol", "nope"], 2,
     "--tol is the tolerance of --expect answers")
case("wrt-unknown", ["x", "--at", "x=1", "--wrt", "nope"], 2,
     "cannot differentiate with respect to nope")
case("output-unknown", ["x", "--at", "x=1", "-o", "nope"], 2, "no statement is named 'nope'")
case("chunk-size-0", ["x", "--points", "-", "--chunk-size", "0"], 2, "'--chunk-size'")

# --- Long tokens: the message should stay short, as the program's echo does -----------------
case("long-number-in-program", ["1" * 100_000], 2, "too large for float64", max_err=10_000)
case("long-name-called", ["x" * 100_000 + "(1)"], 2, "is not a function", max_err=10_000)
case("long-number-in-at", ["x", "--at", "x=" + "1" * 100_000], 2, "too large for float64",
     max_err=10_000)


# -------------------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GRADCALC_DEBUG", "FORCE_COLOR", "NO_COLOR")
    }
    env["CI"] = "true"
    return env


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def _param(c: Case):
    marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
    return pytest.param(c, id=c.name, marks=marks)


def test_case_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 70


@pytest.mark.parametrize("c", [_param(c) for c in CASES])
def test_hostile(c: Case, tmp_path: Path) -> None:
    assert GRADCALC, "the gradcalc console script is not installed"
    for name, content in c.files.items():
        path = tmp_path / name
        if content is None:
            path.mkdir()
        else:
            path.write_bytes(_data(content))
    before = {p.name for p in tmp_path.iterdir()}
    stdin = {"input": _data(c.stdin) if c.stdin is not None else b""}
    with open(c.stdin_path or os.devnull, "rb") as source:
        if c.stdin_path:
            stdin = {"stdin": source}
        proc = subprocess.run(
            [GRADCALC, *c.argv],
            cwd=tmp_path,
            capture_output=True,
            timeout=30,
            env=_env(),
            preexec_fn=_limit_memory if c.limit_memory else None,
            **stdin,
        )
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    after = {p.name for p in tmp_path.iterdir()}

    assert "Traceback" not in err, err
    assert proc.returncode != 3, err
    assert proc.returncode == c.code, f"exit {proc.returncode}\nstdout: {out}\nstderr: {err}"
    if c.code == 2 and not c.streamed:
        assert out == "", out
        assert err.startswith("error:"), err
    if c.code == 2 and c.streamed:
        assert "\nerror:" in "\n" + err, err
    where = out if c.code == 0 else out + err if c.streamed else err
    assert c.expect in where, f"{c.expect!r} not in:\n{where}"
    if c.max_err is not None:
        assert len(err) <= c.max_err, f"stderr is {len(err):,} characters long"
    for bad in c.forbid:
        assert bad not in out + err, f"{bad!r} in the output"
    assert after - before <= set(c.outputs), f"unexpected files: {sorted(after - before)}"
