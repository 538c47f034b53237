"""One error family. Each error carries the source text and the span it is about, so the CLI can
print the input with a caret under the offending spot."""

from __future__ import annotations

import unicodedata

MESSAGE_LIMIT = 300   # characters of one message line: the input itself may be megabytes


def printable(text: str) -> str:
    """``text`` safe to echo to a terminal, one column per character kept: control characters
    become their Unicode pictures (ESC is ␛) and invisible format characters (right-to-left
    marks, zero-width joiners) become �, so neither can move the cursor, recolour the screen or
    reorder what is shown, and carets stay under the right spot."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == "\n" or ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x20:
            out.append(chr(0x2400 + ord(ch)))
        elif ch == "\x7f":
            out.append("\u2421")
        else:
            out.append("\ufffd")
    return "".join(out)


def describe(name: str) -> str:
    """A name, with its non-ASCII characters spelt out: 'х (U+0445 CYRILLIC SMALL LETTER HA)'
    tells it apart from the Latin x it looks like."""
    if name.isascii():
        return name
    odd = dict.fromkeys(ch for ch in name if not ch.isascii())
    return f"{name} (" + ", ".join(
        f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}" for ch in odd) + ")"


def _cut(line: str, limit: int = MESSAGE_LIMIT) -> str:
    """A message line of at most about ``limit`` characters: a middle part of a long one (a
    100,000-digit number quoted in it) gives way, its start and its end stay."""
    if len(line) <= limit:
        return line
    keep = limit // 2
    return f"{line[:keep]}…[{len(line) - 2 * keep:,} characters]…{line[-keep:]}"


class GradcalcError(Exception):
    """Bad input of any kind: the CLI prints it with a caret and exits 2."""

    def __init__(self, message: str, source: str | None = None,
                 span: tuple[int, int] | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.span = span
        self.hint = hint

    def excerpt(self) -> str:
        """The offending line of the source with carets under the span ('' without a span)."""
        if self.source is None or self.span is None:
            return ""
        start, end = self.span
        src = self.source
        text_end = len(src.rstrip())
        if start >= text_end > 0:   # the end of the input: point just after its last character
            start, end = text_end, text_end + 1
        line_start = src.rfind("\n", 0, start) + 1
        line_end = src.find("\n", start)
        if line_end == -1:
            line_end = len(src)
        line = src[line_start:line_end].replace("\t", " ")   # one column per character
        end = max(start + 1, min(end, line_end))
        prefix = ""
        if src.rstrip("\n").count("\n"):   # a program of several lines (not one + newline)
            prefix = f"line {src.count(chr(10), 0, start) + 1}: "
        # A very long line is cut to a window around the span so the caret stays readable.
        col, width = start - line_start, min(end - start, 60)
        if len(line) > 100:
            lo = max(0, col - 40)
            hi = min(len(line), col + max(width, 1) + 40)
            shown = ("…" if lo else "") + line[lo:hi] + ("…" if hi < len(line) else "")
            col = col - lo + (1 if lo else 0)
            width = min(width, hi - (start - line_start))
            line = shown
        pad = " " * (len(prefix) + col)
        return f"  {prefix}{printable(line)}\n  {pad}{'^' * max(1, width)}"

    def render(self) -> str:
        """The message, the excerpt with its caret, the hint: each safe for a terminal and of
        bounded length whatever the input."""
        parts = [f"error: {_cut(printable(self.message))}"]
        ex = self.excerpt()
        if ex:
            parts.append(ex)
        if self.hint:
            # (a hint may list every function: twice a message's length)
            parts.append(f"hint: {_cut(printable(self.hint), 2 * MESSAGE_LIMIT)}")
        return "\n".join(parts)


class ParseError(GradcalcError):
    """The text is not a valid gradcalc program."""


class EvaluationError(GradcalcError):
    """A value or derivative is undefined or not finite at the given point."""

    overflow = False   # True when the value exists but is beyond float64's range


class UsageError(GradcalcError):
    """A valid program asked for something it cannot give (missing values, unknown names)."""
