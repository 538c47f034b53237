"""One error family. Each error carries the source text and the span it is about, so the CLI can
print the input with a caret under the offending spot."""

from __future__ import annotations


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
        col, width = start - line_start, end - start
        if len(line) > 100:
            lo = max(0, col - 40)
            hi = min(len(line), col + max(width, 1) + 40)
            shown = ("…" if lo else "") + line[lo:hi] + ("…" if hi < len(line) else "")
            col = col - lo + (1 if lo else 0)
            width = min(width, hi - (start - line_start))
            line = shown
        pad = " " * (len(prefix) + col)
        return f"  {prefix}{line}\n  {pad}{'^' * max(1, width)}"

    def render(self) -> str:
        parts = [f"error: {self.message}"]
        ex = self.excerpt()
        if ex:
            parts.append(ex)
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class ParseError(GradcalcError):
    """The text is not a valid gradcalc program."""


class EvaluationError(GradcalcError):
    """A value or derivative is undefined or not finite at the given point."""

    overflow = False   # True when the value exists but is beyond float64's range


class UsageError(GradcalcError):
    """A valid program asked for something it cannot give (missing values, unknown names)."""
