"""Atheris target: the command line, in-process (CliRunner), on a fuzzed program and options.

An input is PROGRAM[NUL CONTROL]: the program, decoded as UTF-8 (errors="replace"), then after an
optional NUL byte the bytes that choose the options (--format, up to three --at points, --wrt,
-o, a few flags); without them the options are derived from the program's bytes. The points give
the program's names (or stand-ins) awkward values, or are fuzzed text outright.

A finding is: an exit code outside {0, 1, 2} (3 is gradcalc's "internal error"), the word
"Traceback" anywhere in the output, an exception escaping the command, or (json/jsonl, exit 0)
output that is not strict JSON (NaN or Infinity printed as an answer).

Run: ``python fuzz/fuzz_cli.py fuzz/corpus/cli fuzz/seeds -max_total_time=60``
(see fuzz/README.md). Replay one input: ``python fuzz/fuzz_cli.py path/to/crash-file``, which
prints the argument list it ran. Set FUZZ_CLI_EXIT1_LOG=FILE to append the single-point runs
that exit 1 (the cross-check disagreed) to FILE for review: not findings by themselves.
"""

from __future__ import annotations

import json
import os
import random
import sys
import traceback
import zlib

import atheris
from watchdog import one_input

# SymPy is imported up front, outside any deadline: a deadline that fires in the middle of
# `import sympy` leaves a half-imported SymPy behind, and every later input in the process then
# fails (finding F3 in findings/README.md). FUZZ_COLD_SYMPY=1 leaves the import to gradcalc.
if not os.environ.get("FUZZ_COLD_SYMPY"):
    import sympy  # noqa: F401

with atheris.instrument_imports(include=["gradcalc"]):
    from click.testing import CliRunner

    from gradcalc.cli import main
    from gradcalc.errors import GradcalcError
    from gradcalc.function import Function

FORMATS = (None, "table", "json", "jsonl", "csv", "tsv", "plain", "latex")
VALUES = ("0.5", "2", "-1.5", "3", "0.3", "-0.7", "1.25", "pi/4", "-2", "1", "0", "-1", "pi",
          "pi/2", "-pi/4", "e", "1e-300", "1e300", "709", "710", "-0", "1/3", "2^0.5", "1e16")
HOSTILE = ("nan", "inf", "", "x", "1e999", "1/0", "sqrt(-1)", "--1", "0x10", "1_0")
NAMES = ("x", "y", "z", "q", "f", "pi", "e", "sin", "")

ALLOWED = {0, 1, 2}
RUNNER = CliRunner()
EXIT1_LOG = os.environ.get("FUZZ_CLI_EXIT1_LOG")
# Internal errors already recorded as findings, to let a long run go on past them:
# FUZZ_IGNORE=MemoryError,RecursionError (exception class names, comma-separated).
IGNORE = tuple(n for n in os.environ.get("FUZZ_IGNORE", "").split(",") if n)


def names_in(program: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(variables, assigned names) of the program, or fuzzed stand-ins when it does not parse."""
    try:
        fn = Function(program)
        return fn.variables or NAMES[:3], fn.names
    except GradcalcError:
        return NAMES, ()


class Control:
    """Option choices: the bytes after the first NUL of the input, then (when those run out, or
    there is no NUL) bytes derived from the whole input, so a plain program file still gets
    varied options and every input replays exactly."""

    def __init__(self, data: bytes, explicit: bytes):
        self.buf = explicit + random.Random(zlib.crc32(data)).randbytes(64)
        self.pos = 0

    def byte(self) -> int:
        b = self.buf[self.pos % len(self.buf)]
        self.pos += 1
        return b

    def text(self) -> str:
        n = self.byte() % 13
        raw = self.buf[self.pos:self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")


def value(c: Control) -> str:
    """Mostly a well-formed number (awkward ones included), one time in sixteen hostile text."""
    b = c.byte()
    return HOSTILE[b % len(HOSTILE)] if b >= 240 else VALUES[b % len(VALUES)]


def build_args(data: bytes) -> list[str]:
    program_bytes, _nul, explicit = data.partition(b"\0")
    program = program_bytes.decode("utf-8", errors="replace")
    c = Control(data, explicit)
    flags = c.byte()
    fmt = FORMATS[c.byte() % len(FORMATS)]
    n_at = (0, 1, 1, 1, 1, 1, 2, 3)[c.byte() % 8]
    at_specs = [c.byte() for _ in range(n_at)]
    wrt_spec = c.byte()
    raw_text = c.text()   # text for a raw --at / --wrt
    variables, assigned = names_in(program)

    args = [program]
    if fmt:
        args += ["--format", fmt]
    for kind in at_specs:
        if kind % 16 == 15:
            args += ["--at", raw_text]
            continue
        parts = []
        for i, name in enumerate(variables):
            if kind >> 4 == 15 and i == len(variables) - 1:
                break   # leave one variable out
            parts.append(f"{name}={value(c)}")
        if kind >> 4 == 14:
            parts.append(f"{NAMES[c.byte() % len(NAMES)]}={value(c)}")
        args += ["--at", ",".join(parts)]
    if wrt_spec % 8 in (1, 2):
        args += ["--wrt", ",".join(variables[: 1 + wrt_spec // 8 % len(variables)])]
    elif wrt_spec % 8 == 3:
        args += ["--wrt", ",".join((*assigned, *variables)) or raw_text]
    elif wrt_spec % 8 == 4:
        args += ["--wrt", raw_text]
    if flags & 1:
        args.append("--no-check")
    else:
        args += ["--check-timeout", "1"]
    if flags % 8 == 2:
        args.append("--steps")
    if flags % 8 == 4:
        args.append("--tree")
    if flags & 8 and assigned:
        args += ["-o", assigned[(flags >> 5) % len(assigned)]]
    if flags & 16:
        args += ["--digits", str(1 + (flags >> 5) * 2)]
    return args


def _strict_json(text: str) -> None:
    def reject(name):
        raise ValueError(f"non-finite number {name} in JSON output")
    json.loads(text, parse_constant=reject)


def check_input(data: bytes) -> None:
    args = build_args(data)
    result = RUNNER.invoke(main, args, catch_exceptions=True)
    out = result.output + (result.stderr or "")
    where = f"args={args!r}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        if type(result.exception).__name__ in IGNORE:
            return
        trace = "".join(traceback.format_exception(*result.exc_info))
        raise AssertionError(f"exception escaped the command: {result.exception!r} {where}\n"
                             f"{trace}")
    if result.exit_code == 3 and any(f"({name}:" in out for name in IGNORE):
        return   # a known internal error (see IGNORE)
    if result.exit_code not in ALLOWED:
        raise AssertionError(f"exit code {result.exit_code} {where}\n{out}")
    if "Traceback" in out:
        raise AssertionError(f"'Traceback' in the output {where}\n{out}")
    if result.exit_code == 0 and args[1:3] == ["--format", "json"]:
        _strict_json(result.stdout)
    if result.exit_code == 0 and args[1:3] == ["--format", "jsonl"]:
        for line in result.stdout.splitlines():
            _strict_json(line)
    if result.exit_code == 1 and EXIT1_LOG and args.count("--at") == 1:
        with open(EXIT1_LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(args, ensure_ascii=False) + "\n")


HANG_SECONDS = 60.0
TestOneInput = one_input(check_input, HANG_SECONDS)


def main_() -> None:
    if len(sys.argv) == 2 and os.path.isfile(sys.argv[1]):   # replay: show what is run
        with open(sys.argv[1], "rb") as fh:
            print("args:", build_args(fh.read()))
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main_()
