"""What every command shares: the settings of one run (passed along, never module-level), the
one guard that turns errors into exit codes, reading the program, and ``echo``. No click here:
the gradient command's common runs never import it (``quick.py``; click_base.py has the click
classes).

Exit codes: 0 ok; 1 the answer failed (the check disagreed, a partial is undetermined, an
answer is wrong, some of many points failed); 2 bad input or usage; 3 a bug in gradcalc.
"""

from __future__ import annotations

import functools
import os
import sys

from ..errors import GradcalcError, UsageError
from ..records import record
from ..syntax import DEFAULT_LIMITS, Limits


@record(frozen=True)
class Settings:
    """How this run talks to the user: --quiet, --no-color, the --max-* limits."""

    quiet: bool = False
    color: bool = True
    limits: Limits = DEFAULT_LIMITS
    memory: int | None = None       # --max-memory, MB

    def note(self, text: str) -> None:
        """A warning or note on standard error, unless --quiet."""
        if not self.quiet:
            echo(text, err=True)

    def console(self, stderr: bool = False):
        # rich honours NO_COLOR and colours only terminals
        return _console_class()(highlight=False, no_color=not self.color or None, stderr=stderr)

    def read_program(self, program: str | None, file) -> str:
        """The program from the argument, -f FILE, or standard input ('-')."""
        if file is not None and program is not None:
            raise UsageError("give the program either as an argument or with -f, not both")
        if file is not None:
            return _decode(self._read_bounded(file, file.name), file.name)
        if program is None:
            hint = 'try: gradcalc "z*(x+y)" --at x=-2,y=5,z=-4'
            if _piped():
                hint = "a program is piped in: give '-' as the program to read it"
            raise UsageError("no program given", hint=hint)
        if program == "-":
            return _decode(self._read_bounded(sys.stdin.buffer, "standard input"),
                           "standard input")
        return program

    def _read_bounded(self, stream, where: str) -> bytes:
        """All of a program file, or an error as soon as it is longer than --max-size allows
        (it may be /dev/zero)."""
        size = self.limits.size
        if size is None:
            return stream.read()
        data = stream.read(4 * size + 1)   # a character is at most 4 bytes of UTF-8
        if len(data) > 4 * size or len(data.decode("utf-8", "replace")) > size:
            raise UsageError(f"{where} holds more than {size:,} characters; the limit is "
                             f"{size:,}", hint="raise the limit with --max-size N")
        return data


def _piped() -> bool:
    """Whether standard input is a pipe (echo "x^2" | gradcalc ...), not a terminal or nothing."""
    import stat

    try:
        return stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):   # no real file behind it (a test runner)
        return False


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where} is not UTF-8 text (byte {exc.start}: "
                         f"{data[exc.start:exc.start + 1]!r})") from None


def echo(message: str | bytes = "", nl: bool = True, err: bool = False) -> None:
    """Write a line to standard output (or error), as click.echo does with text and bytes, and
    flush it (so that errors and output keep their order). Bytes go to the stream's buffer."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:   # no standard stream (pythonw, or started with it closed)
        return
    if not isinstance(message, (bytes, bytearray)):
        text = message + "\n" if nl else message
        if not _ascii(stream):
            stream.write(text)
            stream.flush()
            return
        # a stream set to ASCII (PYTHONIOENCODING=ascii) is misconfigured: UTF-8, as click
        message, nl = text.encode("utf-8", "replace"), False
    stream.flush()
    stream.buffer.write(bytes(message) + b"\n" if nl else message)
    stream.buffer.flush()


def _ascii(stream) -> bool:
    """Whether a text stream encodes ASCII only (and has a binary buffer beneath it)."""
    import codecs

    try:
        ascii_only = codecs.lookup(getattr(stream, "encoding", None) or "ascii").name == "ascii"
    except LookupError:
        return False
    return ascii_only and getattr(stream, "buffer", None) is not None


def settings_of(own_process: bool, quiet: bool, no_color: bool, limits: Limits = DEFAULT_LIMITS,
                memory: int | None = None) -> Settings:
    """This run's settings; with --max-memory in a process of gradcalc's own (``entry``), the
    address space is bounded too."""
    if memory and own_process:
        _cap_memory(memory)
    return Settings(quiet, not no_color, limits, memory)


def guarded(run, settings: Settings | None = None) -> int:
    """Run a command; its errors become exit codes: bad input 2 (its message and caret on
    standard error), a closed pipe 0, a bug 3 (said plainly; GRADCALC_DEBUG=1 shows the
    traceback). No traceback ever reaches the user."""
    try:
        return run()
    except GradcalcError as exc:
        echo(exc.render(), err=True)
        return 2
    except BrokenPipeError:
        return 0
    except MemoryError:
        limit = settings.memory if settings is not None else None
        echo("error: out of memory" + (f" (the limit is {limit:,} MB: --max-memory)"
                                             if limit else ""), err=True)
        return 2
    except UnicodeEncodeError as exc:   # an output whose encoding lacks a character
        echo(f"error: the output's encoding ({exc.encoding}) cannot write "
             f"{ascii(exc.object[exc.start:exc.end])}", err=True)
        echo("hint: set PYTHONIOENCODING=utf-8, or use a UTF-8 locale", err=True)
        return 2
    except OSError as exc:   # e.g. writing to a full disk
        echo(f"error: {exc.strerror or exc}", err=True)
        return 2
    except Exception as exc:  # a bug
        if os.environ.get("GRADCALC_DEBUG"):
            raise
        echo(f"error: internal error ({type(exc).__name__}: {exc}). This is a bug in "
                   "gradcalc; please report it with the command you ran. "
                   "GRADCALC_DEBUG=1 shows the details.", err=True)
        return 3


@functools.cache
def _console_class():
    """rich's Console, but a closed pipe raises BrokenPipeError (``guarded`` makes it exit 0).
    Made on first use: rich is imported only when something is printed through it."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich's default exits 1, which here would mean "the check disagreed"
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise BrokenPipeError

    return _Console


def _cap_memory(megabytes: int) -> None:
    """Bound the process's address space: SymPy can build an integer of many gigabytes in one
    C call (e^3^(10^105) at a point) that no deadline interrupts; past the bound it raises
    MemoryError, which ends the run with a message instead of the machine's OOM killer."""
    try:
        import resource
    except ImportError:   # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or soft > want:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
        except (ValueError, OSError):
            pass


def title(file, source: str) -> str:
    """What the output's header calls the program: a file's name, then (when it is short) its
    statements without comments, a line each; or the program as typed."""
    if file is None:
        return source
    lines = [line.split("#")[0].rstrip() for line in source.splitlines()]
    lines = [line.strip() for line in lines if line.strip()]
    name = getattr(file, "name", "the file")
    if len(lines) <= 8 and all(len(line) <= 100 for line in lines):
        return "\n".join([name, *lines])
    return f"{name} ({len(lines)} statements)"


def warn(settings: Settings, warnings, check=None, result=None) -> None:
    """Warnings and notes on standard error (unless --quiet); a disagreement always."""
    for w in warnings:
        settings.note(f"warning: {w}")
    out = result.output if result is not None else "f"
    for name, d in (result.determined.items() if result is not None else ()):
        if d.value is None:
            settings.note(f"warning: ∂{out}/∂{name} is undetermined here: {d.note} ({d.why})")
        else:
            settings.note(f"note: ∂{out}/∂{name} is found by the {d.text}: {d.why}")
    if check is None:
        return
    for p in check.partials:
        if p.status == "ill-conditioned":
            settings.note(f"warning: ∂{out}/∂{p.name} is ill-conditioned here: {p.note}")
    if check.value_status == "ill-conditioned":
        settings.note(f"warning: the value of {out} is ill-conditioned here: SymPy's exact value "
                      "moves by more than the difference when the point moves by a few ulps")
    if check.status == "disagree":
        bad = [p.name for p in check.partials if p.status == "disagree"] or ["the value"]
        echo(f"error: the cross-check disagrees on {', '.join(bad)}", err=True)
