"""Text -> Graph: a tokenizer and an operator-precedence parser with explicit stacks.

The parser never recurses, so a 100,000-term sum or a 100,000-statement program parses like a short
one. It builds the tape directly and keeps every node's source span for error carets. A fast path
(``_fast_program``) reads the common part of the language in one pass and hands the rest of a
program, from the first statement it does not read, to the full parser (``_Parser``).

Grammar, loosely: program = statement {(';' | newline) statement}; statement = [name ('=' | '+=' |
'-=' | '*=' | '/=')] expr. Precedence, low to high: '+ -' < '* /' and implicit multiplication <
unary '- +' < '^' / '**' (right-associative, so -x^2 is -(x^2) and 2^-1 works).

Textbook notation: juxtaposition multiplies (2x, 2 sin(x), (x+1)(x-1), 2x y, and x(x+1) when x
reads as a variable: see ``_Parser.reads_as_product`` and ``_Parser.juxtapose``), and sin^2(x) is
sin(x)^2. Readings a user may not expect (x(x+1), sin^2(x), 1/2x, x^-1/2) leave a note in
``Graph.warnings``.
"""

from __future__ import annotations

import gc
import itertools
import math
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from .errors import ParseError, describe
from .graph import Graph, Node
from .ops import FUNCTIONS, TENSOR_NAMES, arity_text, lookup_call
from .records import record

CONSTANTS = {"pi": math.pi, "e": math.e}


@record(frozen=True)
class Limits:
    """What one program may cost. Text from a source nobody controls must not take unbounded time
    or memory; each bound can be raised (the command line's --max-* options), or lifted with
    None."""

    size: int | None = 5_000_000     # characters of program text
    nodes: int | None = 1_000_000    # tape nodes (about 600 bytes of memory each)
    depth: int | None = 100_000      # nesting of parentheses, calls and |bars|
    digits: int | None = 100_000     # digits of one exact number (--exact)


DEFAULT_LIMITS = Limits()
NO_LIMITS = Limits(None, None, None, None)

# One match per token: (leading blanks, number, name, operator, anything else). "Anything else" is a
# comment, a line continuation, or a character the language does not have.
_TOKEN = re.compile(r"""
    ([ \t\r\f\v]*)
    (?: ((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | ([^\W\d_]\w*)
      | (\*\*|[-+*/]=|[=!<>]=|[-+*/^(),|=;\n@\[\]:'<>]|\.(?=[^\W\d_]))
      | (\#[^\n]*|\\\r?\n|.) )
""", re.VERBOSE)

# Friendly spellings people paste from documents.
_SYNONYMS = {"−": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/"}

_BINARY = {  # symbol -> (precedence, right-associative, op name)
    "+": (10, False, "add"), "-": (10, False, "sub"),
    "*": (20, False, "mul"), "/": (20, False, "div"),
    "^": (40, True, "pow"), "**": (40, True, "pow"),
    "@": (20, False, "matmul"),   # as Python: with * and /
    # comparisons, 1 or 0, below every arithmetic operator (x + 1 < y is (x + 1) < y)
    **{sym: (5, False, sym) for sym in ("<", ">", "<=", ">=", "==", "!=")},
}
_IMPLICIT = "·"          # the frame symbol of an implicit multiplication
_UNARY_PREC = 30
_COMPOUND = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div"}

# Frames on the operator stack: (kind, symbol, precedence, start, extra)
_BIN, _PRE, _PAREN, _CALL, _BAR, _BRACKET = range(6)
# Calls written as others: clamp(x, lo, hi) is min(max(x, lo), hi), with max's and min's
# slopes (and their conventions at a tie) rather than rules of its own.
_MACROS = {"clamp": 3}
_COMPARE = frozenset(("<", ">", "<=", ">=", "==", "!="))
_INTEGER = re.compile(r"-?\d+")

# One letter, optionally subscripted (x, w1, x_2, θ_i): a name that reads as a variable.
_VARIABLE_LIKE = re.compile(r"[^\W\d_](?:\d+|_\w+)?")
# f(x), g(x), h(x): the letters textbooks name functions with, so never read as products.
_FUNCTION_LETTERS = frozenset("fgh")
# 'd/dx(...)': a derivative written out; the name before '/' is d, or d and one letter (df/dx).
_D_OVER = re.compile(r"d[^\W\d_]?")

# Calls that ask for something gradcalc does not do, and the plain answer. (A name in the op
# registry is a call first: these only answer names no op is spelt as.)
_DIFFERENTIATE = ('gradcalc differentiates the program itself: write just the expression, '
                  'e.g. gradcalc "{expr}" --at {var}=2')
_REQUESTS = {
    **dict.fromkeys(("diff", "derivative", "deriv", "differentiate", "grad", "gradient", "d/d"),
                    _DIFFERENTIATE),
    **dict.fromkeys(("integrate", "integral", "int"),
                    "gradcalc does not compute integrals, only values and derivatives"),
    **dict.fromkeys(("limit", "lim"),
                    "gradcalc does not compute limits, only values and derivatives"),
}


def tokenize(source: str, begin: int = 0) -> list[tuple[str, str, int]]:
    """(kind, text, start) triples; kind is 'num', 'name', 'op' or 'end'. ``begin`` (a token's
    start) tokenizes the rest of the source from there, positions still counted from its start.

    The regex runs over slices of about 64 KiB cut after a newline, so its list of matches (five
    strings per token) never holds more than one slice: on a big program that list, not the
    tokens, was the peak of memory."""
    tokens: list[tuple[str, str, int]] = []
    append = tokens.append
    pos = begin
    for piece in _slices(source, begin):
        for blanks, num, name, op, other in _TOKEN.findall(piece):
            pos += len(blanks)
            if op:
                append(("op", op, pos))
                pos += len(op)
            elif name:
                if not name.isidentifier():
                    # the first character that cannot go on a name (or cannot start one:
                    # U+0E33 THAI SARA AM can only follow another letter)
                    _bad_character(source, pos + next(
                        (k for k, ch in enumerate(name) if not ("a" + ch).isidentifier()), 0))
                append(("name", name, pos))
                pos += len(name)
            elif num:
                append(("num", num, pos))
                pos += len(num)
            elif other:
                if other in _SYNONYMS:
                    append(("op", _SYNONYMS[other], pos))
                elif other[0] != "#" and other[:2] not in ("\\\n", "\\\r") \
                        and not other.isspace():   # (blanks at the very end)
                    _bad_character(source, pos)
                pos += len(other)
    append(("end", "", len(source)))
    return tokens


def _slices(source: str, start: int = 0, size: int = 1 << 16):
    """The source from ``start`` in consecutive pieces of about ``size`` characters, each ending
    just after a newline that no token spans (one not escaped by a line continuation,
    backslash-newline)."""
    while len(source) - start > size:
        cut = source.find("\n", start + size)
        while cut != -1 and (source[cut - 1] == "\\" or source[cut - 2:cut] == "\\\r"):
            cut = source.find("\n", cut + 1)
        if cut == -1:
            break
        yield source[start:cut + 1]
        start = cut + 1
    yield source[start:]


def _bad_character(source: str, pos: int):
    ch = source[pos]
    hint = None
    if ch in "²³¹":
        hint = "write powers with ^, e.g. x^2"
    elif ch == "_":
        hint = "names start with a letter"
    elif ch == "∂":
        hint = _DIFFERENTIATE.format(expr="x^3", var="x")
    elif ch == "∫":
        hint = _REQUESTS["integrate"]
    what = repr(ch) if ch.isascii() else f"{ch!r} ({describe(ch).split(' (', 1)[1]}"
    raise ParseError(f"unexpected character {what}", source, (pos, pos + 1), hint)


def _closest_functions(name: str) -> str:
    """The hint for an unknown function: the known names closest to it, else all of them (read
    from the op registry, so a new function is suggested as soon as it exists)."""
    import difflib  # only on this error path: it is slow to import

    close = difflib.get_close_matches(name.lower(), FUNCTIONS, n=3, cutoff=0.6)
    if len(close) == 1:
        return f"the closest function gradcalc knows is {close[0]}"
    if close:
        return f"the closest functions gradcalc knows: {', '.join(close)}"
    return f"the functions gradcalc knows: {', '.join(sorted(FUNCTIONS))}"


class _Parser:
    def __init__(self, source: str, limits: Limits):
        self.src = source
        self.graph = Graph(source)
        self.env = self.graph.names   # a name's node: the names assigned so far
        self.limits = limits
        self.max_nodes = limits.nodes if limits.nodes is not None else math.inf
        self.max_depth = limits.depth if limits.depth is not None else math.inf
        self.value_names: tuple[set, set] | None = None   # see values_and_targets
        self.noted: set[str] = set()                      # implicit readings already noted
        # keyword arguments of the calls being read: call's start -> {argument: (name, start)}
        self.keywords: dict[int, dict[int, tuple[str, int]]] = {}

    def too_many_nodes(self, start: int):
        self.error(f"the program has more than {self.limits.nodes:,} nodes", start,
                   hint="raise the limit with --max-nodes N (Limits(nodes=N) in Python)")

    def error(self, message, start, end=None, hint=None) -> NoReturn:
        raise ParseError(message, self.src, (start, end if end is not None else start + 1), hint)

    # --- names ---------------------------------------------------------------------------------
    def reference(self, name: str, start: int) -> int:
        idx = self.env.get(name)
        if idx is not None:
            return idx
        g = self.graph
        idx = g.inputs.get(name)
        if idx is None:
            idx = g.add(Node("input", (), CONSTANTS.get(name), name, (start, start + len(name))))
            g.inputs[name] = idx
        return idx

    # --- program -------------------------------------------------------------------------------
    def program(self, resume: _Resume | None = None) -> Graph:
        """Parse the whole program; or, with ``resume``, the rest of it from where the fast path
        (``_fast_program``) handed over, with its graph and names."""
        if resume is None:
            size = self.limits.size
            if size is not None and len(self.src) > size:
                raise ParseError(f"the program is {len(self.src):,} characters long; the limit "
                                 f"is {size:,}", self.src, (size, size + 1),
                                 hint="raise the limit with --max-size N (Limits(size=N) in "
                                      "Python)")
            toks = tokenize(self.src)
            last = None            # the name of the last statement
            bare_pending = None    # the span of an unnamed expression, which must come last
        else:
            self.graph = resume.graph
            self.env = self.graph.names
            toks = tokenize(self.src, resume.begin)
            last, bare_pending = resume.last, resume.bare
        self.toks = toks
        i = 0
        while True:
            if i > 65_536:   # let the tokens of parsed statements go: memory holds the graph
                toks = self.toks = toks[i - 1:]   # (and the token before, for lookbehind)
                i = 1
            kind, text, start = toks[i]
            if kind == "end":
                break
            if text in (";", "\n"):
                i += 1
                continue
            if bare_pending is not None:
                self.error("an expression without a name must be the last statement",
                           *bare_pending, hint="give it a name: v = ...")
            target = None
            if kind == "name" and toks[i + 1][1] in ("=", *_COMPOUND):
                target, op = text, toks[i + 1][1]
                if target in FUNCTIONS:
                    self.error(f"{target} is a function and cannot be assigned", start,
                               start + len(target), hint="choose another name")
                i += 2
            idx, i, span = self.expression(i)
            if target is None:
                bare_pending = span
                name = "f" if "f" not in self.graph.inputs else "out"   # 2*f: f is taken
            else:
                name = target
                if op != "=":
                    prev = self.reference(target, start)
                    idx = self.graph.add(Node(_COMPOUND[op], (prev, idx), None, None,
                                              (start, span[1])))
            self.env[name] = idx   # (and so self.graph.names)
            last = name
            if len(self.graph.nodes) > self.max_nodes:
                self.too_many_nodes(start)
        if last is None:
            raise ParseError("the program is empty", self.src, (0, max(1, len(self.src))),
                             hint='write an expression, e.g. "z*(x+y)"')
        self.graph.output = last
        return self.graph

    # --- expressions ---------------------------------------------------------------------------
    # Operator precedence with three explicit stacks, reset for each expression: ``operands``
    # (node, start, end), ``ops`` (frames, see _BIN...) and ``groups`` (indices into ops of the
    # open '(' 'call(' '|'). Each token is read either where an operand must start
    # (``operand``) or after one (``after_operand``); ``prev_kind`` says what ended the last
    # operand (num, name, ')' ), which decides what a juxtaposition means.

    def expression(self, i: int) -> tuple[int, int, tuple[int, int]]:
        """Parse one expression from token i; return (node, next token, span)."""
        self.operands: list[tuple[int, int, int]] = []
        self.ops: list[tuple] = []
        self.groups: list[int] = []
        self.expect = True
        self.prev_kind: str | None = None   # 'num', 'name' or ')'
        first_start = self.toks[i][2]
        operand, after_operand = self.operand, self.after_operand
        while True:
            if self.expect:
                i = operand(i)
                continue
            following = after_operand(i)
            if following is None:
                break
            i = following
        return self.finish_expression(i, first_start)

    def finish_expression(self, i: int, first_start: int):
        """Close the expression that ends at token i: every group must be closed."""
        if self.groups:
            frame = self.ops[self.groups[-1]]
            what = {_PAREN: "'('", _CALL: f"'{frame[1]}('", _BAR: "'|'",
                    _BRACKET: "'['"}[frame[0]]
            self.error(f"{what} is never closed", frame[3], frame[3] + len(frame[1]))
        ops, apply = self.ops, self.apply
        while ops:
            apply(ops.pop())
        node, _s, end = self.operands.pop()
        return node, i, (first_start, end)

    def operand(self, i: int) -> int:
        """Read token i where an operand must start; return the next token's index."""
        kind, text, start = self.toks[i]
        if kind == "num":
            self.number(text, start)
        elif kind == "name":
            return self.name(i)
        elif text == "(":
            self.open_group(start)
            self.ops.append((_PAREN, "(", 0, start, None))
        elif text == "|":
            self.open_group(start)
            self.ops.append((_BAR, "|", 0, start, None))
        elif text == "[":
            self.open_group(start)
            self.ops.append((_BRACKET, "[", 0, start, [0]))
        elif text in ("-", "+"):
            self.ops.append((_PRE, text, _UNARY_PREC, start, None))
        elif text == "\n" and self.groups:
            pass   # a line break inside brackets continues the expression
        else:
            self.no_operand(i)
        return i + 1

    def no_operand(self, i: int):
        """Raise the error for token i, which cannot start an operand."""
        toks, ops = self.toks, self.ops
        kind, text, start = toks[i]
        if text == ")" and ops and ops[-1][0] == _PAREN and ops[-1][4] is not None:
            self.unknown_function(ops[-1][4])    # x() is a call after all
        if text == ")" and ops and ops[-1][0] == _CALL:
            if toks[i - 1][1] == ",":
                self.error("expected an argument after ','", toks[i - 1][2], start + 1)
            name = ops[-1][1]
            needs = f"{_MACROS[name]} arguments" if name in _MACROS else arity_text(name)
            self.error(f"{name}() needs {needs}", ops[-1][3], start + 1)
        if text == "]" and ops and ops[-1][0] == _BRACKET:
            if toks[i - 1][1] == ",":
                self.error("expected an entry after ','", toks[i - 1][2], start + 1)
            self.error("an array needs at least one entry", ops[-1][3], start + 1)
        if kind == "end" and toks[i - 1][1] == "|" and ops[-1][0] == _BAR:
            self.error("'|' is never closed", toks[i - 1][2])
        what = "the end of the input" if kind == "end" else (
            "the end of the line" if text in ("\n", ";") else repr(text))
        self.error(f"expected a number, a name or '(' but found {what}", start,
                   start + max(1, len(text)))

    def number(self, text: str, start: int):
        """A literal as typed: one constant node."""
        try:
            value = float(text)
        except ValueError:  # pragma: no cover - the regex admits only floats
            self.error(f"bad number {text!r}", start, start + len(text))
        if math.isinf(value):
            self.error(f"the number {text} is too large for float64", start, start + len(text))
        end = start + len(text)
        nodes = self.graph.nodes
        nodes.append(Node("const", (), value, text, (start, end)))
        self.operands.append((len(nodes) - 1, start, end))
        self.expect, self.prev_kind = False, "num"

    def name(self, i: int) -> int:
        """A name where an operand starts: a call, or a variable; return the next token."""
        toks = self.toks
        _kind, text, start = toks[i]
        end = start + len(text)
        nxt = toks[i + 1]
        if nxt[1] == "=" and self.groups and self.ops[self.groups[-1]][0] == _CALL:
            frame = self.ops[self.groups[-1]]   # NAME=... as an argument: sum(X, axis=0)
            self.keywords.setdefault(frame[3], {})[frame[4][0]] = (text, start)
            return i + 2
        if text in FUNCTIONS or text in _MACROS:
            if nxt[1] != "(":
                return self.function_power(i)
            self.open_group(start)
            self.ops.append((_CALL, text, 0, start, [0]))
            return i + 2   # past '('
        if nxt[1] == "(":
            return self.implicit_call(i)
        self.operands.append((self.reference(text, start), start, end))
        self.expect, self.prev_kind = False, "name"
        return i + 1

    def function_power(self, i: int) -> int:
        """A function's name at token i without '(' after it. sin^2(x) is sin(x)^2: textbooks
        write powers of a function's value so, and no other reading is plausible. A negative
        power is refused, since sin^-1(x) is as often arcsin(x) as 1/sin(x); so is anything
        else (sin x, sin^2 x), with the hint to write what is meant."""
        toks = self.toks

        def tok(k):   # the end token stands in for any past the end ("abs^" at the end)
            return toks[min(k, len(toks) - 1)]

        _kind, name, start = toks[i]
        hint = None
        if tok(i + 1)[1] in ("^", "**"):
            power, after = tok(i + 2), tok(i + 3)
            if power[0] == "num" and power[1].isdigit() and after[1] == "(":
                self.open_group(start)
                self.ops.append((_CALL, name, 0, start, [0, i + 2]))   # [arguments, exponent]
                return i + 4
            if power[1] == "-" and after[1].isdigit() and tok(i + 4)[1] == "(":
                self.negative_function_power(i)
            exponent = power[1] if power[0] in ("num", "name") else "2"
            hint = f"to raise {name}(...) to a power, write {name}(...)^{exponent}"
        self.error(f"{name} is a function: call it as {name}(...)", start, start + len(name),
                   hint=hint)

    def negative_function_power(self, i: int):
        """Raise the error for sin^-1(x) (tokens: sin ^ - 1 ( at i): it is ambiguous."""
        toks = self.toks
        _kind, name, start = toks[i]
        n, paren = toks[i + 3], i + 4
        group = self.operand_text(paren)
        group = group if group != "…" else "(...)"
        power = f"{name}{group}^-{n[1]}"
        hint = f"write {power} for 1/{name}{group}" if n[1] == "1" else f"write {power}"
        if n[1] == "1" and "a" + name in FUNCTIONS:
            hint = f"write a{name}{group} for the inverse function, or {power} for 1/{name}{group}"
        self.error(f"{name}^-{n[1]} is ambiguous: a power, or the inverse function", start,
                   n[2] + len(n[1]), hint=hint)

    def reads_as_product(self, name: str) -> bool:
        """Whether ``name(...)``, where no function is spelt ``name``, is the product
        ``name*(...)`` (as ``2(x+1)`` is ``2*(x+1)``) rather than a call of an unknown function.

        It is a product when the name is a value: a constant (pi, e); a name the program assigns
        or uses without '(' after it anywhere (so ``rate = 2; rate(1+x)`` and ``k(x) + k``
        multiply); or a name that looks like a variable, one letter with an optional subscript of
        digits or after '_' (x, w1, x_2, θ_i), except f, g and h, which textbooks use for
        functions. Any other name is an unknown function: ``softmax(x)`` is an error that names
        the functions gradcalc has, never the product softmax*(x)."""
        if name in self.env or name in self.graph.inputs:
            return True
        if name in CONSTANTS or (_VARIABLE_LIKE.fullmatch(name) and name not in _FUNCTION_LETTERS):
            return True
        values, _targets = self.values_and_targets()
        return name in values

    def implicit_call(self, i: int) -> int:
        """NAME '(' at token i: the product NAME*(...) when the name reads as one (noted when
        the group closes), else the unknown-function error."""
        _kind, name, start = self.toks[i]
        if not self.reads_as_product(name):
            self.unknown_function(i)
        self.operands.append((self.reference(name, start), start, start + len(name)))
        paren = self.toks[i + 1][2]
        self.push_binary(_IMPLICIT, paren, i + 1)
        self.open_group(paren)
        self.ops.append((_PAREN, "(", 0, paren, i))   # extra: the name's token
        self.expect = True
        return i + 2

    def values_and_targets(self) -> tuple[set, set]:
        """The names the rest of the program uses as values (without '(' after them) and those
        it assigns: one scan of the tokens, made only when a name's reading depends on it."""
        if self.value_names is None:
            toks = self.toks
            values, targets = set(), set()
            for k, (kind, text, _start) in enumerate(toks):
                if kind == "name":
                    after = toks[k + 1][1]
                    if after != "(":
                        values.add(text)
                    if after == "=" or after in _COMPOUND:
                        targets.add(text)
            self.value_names = values, targets
        return self.value_names

    def unknown_function(self, i: int):
        """Raise the error for NAME '(' at token i, NAME no function: it says so, with the caret
        under the name, and the hint answers what the call asked for (a derivative, an integral,
        a limit) or names the closest functions gradcalc knows."""
        _kind, name, start = self.toks[i]
        end = start + len(name)
        d_over = self.derivative_notation(i)
        if d_over is not None:
            start = d_over
        request = "d/d" if d_over is not None else name.lower()
        hint = _REQUESTS.get(request)
        if hint is _DIFFERENTIATE:
            args = self.arguments(i + 1)
            variable = name[1:] if d_over is not None else None
            if args is not None and len(args) > 1 and args[1][1] - args[1][0] == 1:
                variable = self.toks[args[1][0]][1]    # diff(x^3, x)
            hint = self.differentiate_hint(args[0] if args else None, variable)
        elif hint is None and name in _FUNCTION_LETTERS:
            hint = (f"gradcalc has no functions of your own: write the expression itself "
                    f"(f = x^2, or just x^2); to multiply, write {self.product(i)}")
        elif hint is None:
            hint = _closest_functions(name)
        self.error(f"{self.src[start:end]} is not a function gradcalc knows", start, end,
                   hint=hint)

    def derivative_notation(self, k: int) -> int | None:
        """Where 'd/dx' starts when the name at token k is the dx of one, else None."""
        toks = self.toks
        name = toks[k][1]
        if (k >= 2 and len(name) > 1 and name[0] == "d" and toks[k - 1][1] == "/"
                and toks[k - 2][0] == "name" and _D_OVER.fullmatch(toks[k - 2][1])):
            return toks[k - 2][2]
        return None

    def differentiate_hint(self, tokens: tuple[int, int] | None, variable: str | None) -> str:
        """The hint for a derivative asked for in the text: run the expression itself. ``tokens``
        is the expression's token range [a, b) when there is one (the call's first argument)."""
        toks, expr = self.toks, ""
        if tokens is not None and tokens[1] > tokens[0]:
            expr = self.shown(toks[tokens[0]][2], toks[tokens[1]][2])
            if variable is None:     # the first name in it that is not a function
                variable = next((toks[k][1] for k in range(*tokens) if toks[k][0] == "name"
                                 and toks[k][1] not in FUNCTIONS), None)
        if not expr or '"' in expr:
            expr, variable = "x^3", "x"
        return _DIFFERENTIATE.format(expr=expr, var=variable or "x")

    def arguments(self, k: int, limit: int = 200) -> list[tuple[int, int]] | None:
        """The top-level arguments of the '(' at token k as token ranges [a, b); None when it is
        not closed within ``limit`` tokens (only messages use this: it must stay cheap)."""
        toks, depth, args, first = self.toks, 0, [], k + 1
        for j in range(k, min(len(toks) - 1, k + limit)):
            text = toks[j][1]
            if text == "(":
                depth += 1
            elif text == ")":
                depth -= 1
                if depth == 0:
                    args.append((first, j))
                    return args
            elif text == "," and depth == 1:
                args.append((first, j))
                first = j + 1
        return None

    def shown(self, start: int, end: int, limit: int = 60) -> str:
        """Source text for a message, on one line and at most about ``limit`` characters (its
        middle gives way), sliced without copying a long span."""
        if end - start > limit:
            half = limit // 2
            return (" ".join(self.src[start:start + half].split()) + "…"
                    + " ".join(self.src[end - half:end].split()))
        return " ".join(self.src[start:end].split())

    def after_operand(self, i: int) -> int | None:
        """Read token i after an operand: an operator, a closer, a comma or the end. Return the
        next token's index, or None where the expression ends."""
        kind, text, start = self.toks[i]
        if kind == "op" and text in _BINARY:
            if text == "@":
                self.graph.tensor = True
            self.push_binary(text, start, i + 1)
            self.expect = True
        elif text == ")":
            self.close_paren(start)
        elif text == "]":
            self.close_bracket(start)
        elif text == "[":
            return self.index(i)
        elif text == ".":
            return self.transpose(i)
        elif text == "'":
            self.postfix("transpose", None, start + 1)
        elif text == ",":
            self.comma(start)
        elif text == "|":
            self.bar_after_operand(start)
        elif kind == "name" or text == "(":
            self.juxtapose(i)
            return i           # re-read this token as an operand
        elif kind == "num":
            left = self.src[self.operands[-1][1]:self.operands[-1][2]]
            self.error(f"missing operator before {text}", start, start + len(text),
                       hint=f"write {left}*{text}")
        elif text == "\n" and self.groups:
            pass
        elif kind == "end" or text in (";", "\n"):
            return None
        elif text == "=" or text in _COMPOUND:
            self.error(f"unexpected '{text}'", start, start + len(text),
                       hint="an assignment is 'name = expression', one per statement")
        else:
            self.error(f"unexpected {text!r}", start, start + len(text))
        return i + 1

    def juxtapose(self, i: int):
        """An operand followed by a name or '(' at token i: an implicit multiplication (2x,
        2 sin(x), (x+1)(x-1)). Two names in a row multiply only when both read as values (see
        ``reads_as_value``): 2x y, 2pi x and 2x sin(x) are products, while in 'xy z' the name xy
        was likely meant as x*y, so it stays an error that says xy is one name."""
        _kind, text, start = self.toks[i]
        if self.prev_kind == "name":
            left = self.src[self.operands[-1][1]:self.operands[-1][2]]
            if not self.reads_as_value(left) or not (
                    text in FUNCTIONS or self.toks[i + 1][1] == "(" or self.reads_as_value(text)):
                self.missing_operator(i, left)
        self.push_binary(_IMPLICIT, start, i)
        self.expect = True

    def reads_as_value(self, name: str) -> bool:
        """Whether a name beside another one, 'a b', is surely a value, not a misspelt product:
        a constant, a name some statement assigns, or one letter with an optional subscript."""
        if name in self.env or name in CONSTANTS or _VARIABLE_LIKE.fullmatch(name):
            return True
        return name in self.values_and_targets()[1]

    def missing_operator(self, i: int, left: str):
        """Raise the error for two names in a row (left, then the name at token i)."""
        _kind, text, start = self.toks[i]
        d_over = self.derivative_notation(i - 1) if self.toks[i - 1][1] == left else None
        if d_over is not None:   # 'd/dx x^3'
            rest = self.statement_rest(i)
            self.error(f"{self.src[d_over:self.toks[i - 1][2] + len(left)]} is not a function "
                       f"gradcalc knows", d_over, self.toks[i - 1][2] + len(left),
                       hint=self.differentiate_hint(rest, left[1:]))
        self.error(f"missing operator between {left} and {text}", start, start + len(text),
                   hint=f"write {left}*{text} (xy is a single name)")

    def statement_rest(self, k: int, limit: int = 200) -> tuple[int, int] | None:
        """The tokens [k, j) up to the end of the statement, or None past ``limit`` tokens."""
        toks, depth = self.toks, 0
        for j in range(k, min(len(toks), k + limit)):
            kind, text, _start = toks[j]
            depth += (text == "(") - (text == ")")
            if kind == "end" or (depth <= 0 and text in (";", "\n")):
                return k, j
        return None

    def close_paren(self, start: int):
        """')' after an operand: it closes a group or a call."""
        groups = self.groups
        if not groups or self.ops[groups[-1]][0] in (_BAR, _BRACKET):
            self.error("unmatched ')'", start)
        frame = self.close_group()
        if frame[0] == _CALL:
            self.finish_call(frame, self.operands, start + 1)
        else:
            operands = self.operands
            node, _s, _e = operands.pop()
            operands.append((node, frame[3], start + 1))
            if frame[4] is not None:
                self.note_implicit_call(frame[4], start + 1)
        self.prev_kind = ")"

    def close_bracket(self, start: int):
        """']' after an operand: the array literal [a, b, ...] is one 'stack' node."""
        groups = self.groups
        if not groups or self.ops[groups[-1]][0] != _BRACKET:
            self.error("unmatched ']'", start)
        frame = self.close_group()
        operands = self.operands
        count = frame[4][0] + 1
        args = tuple(o[0] for o in operands[-count:])
        del operands[-count:]
        span = (frame[3], start + 1)
        operands.append((self.graph.add(Node("stack", args, None, None, span)), *span))
        self.graph.tensor = True
        self.prev_kind = ")"

    def transpose(self, i: int) -> int:
        """'.' after an operand at token i: X.T, the transpose (binds tighter than any operator:
        W.T @ x, -X.T); return the token after T."""
        toks = self.toks
        _kind, name, start = toks[i + 1]
        if name != "T":
            self.error(f"'.{name}' is not something gradcalc knows: only X.T (the transpose)",
                       toks[i][2], start + len(name))
        self.postfix("transpose", None, start + 1)
        return i + 2

    def postfix(self, op: str, param, end: int):
        """Apply ``op`` to the operand just read (X.T, X', x[1:3]), spanning to ``end``."""
        node, first, _end = self.operands.pop()
        span = (first, end)
        self.operands.append((self.graph.add(Node(op, (node,), param, None, span)), *span))
        self.graph.tensor = True
        self.prev_kind = ")"

    def index(self, i: int) -> int:
        """'[' after an operand at token i: x[0], W[:, 1], X[1:3, ::2]. Each position is a whole
        number or a slice of whole numbers, written in the program (0-based, negative from the
        end, as NumPy); return the token after ']'."""
        toks, part = self.toks, None
        parts: list = []
        key: list = []
        j = i + 1
        while True:
            kind, text, start = toks[j]
            if kind == "end" or text in (";", "\n"):
                self.error("'[' is never closed", toks[i][2], toks[i][2] + 1)
            if text in (",", "]"):
                if not parts and part is None:
                    self.error("expected an index (a whole number, or a slice such as 1:3)",
                               start, start + 1)
                if parts:
                    step = part if len(parts) == 2 else None
                    if len(parts) > 2 or step == 0:
                        self.error("a slice is start:stop or start:stop:step, with a step "
                                   "that is not 0", toks[i][2], start + 1)
                    key.append(slice(parts[0], parts[1] if len(parts) == 2 else part, step)
                               if len(parts) == 2 else slice(parts[0], part))
                else:
                    key.append(part)
                parts, part = [], None
                if text == "]":
                    break
            elif text == ":":
                parts.append(part)
                part = None
            else:
                part, j = self.index_number(j, part)
            j += 1
        self.postfix("index", tuple(key), toks[j][2] + 1)
        return j + 1

    def index_number(self, j: int, part) -> tuple[int, int]:
        """A whole number in an index at token j (with its sign); return it and its last token."""
        toks = self.toks
        kind, text, start = toks[j]
        sign = 1
        if text in ("-", "+") and toks[j + 1][0] == "num":
            sign = -1 if text == "-" else 1
            j += 1
            kind, text, _s = toks[j]
        if part is not None or kind != "num" or not _INTEGER.fullmatch(text):
            end = toks[j][2] + max(1, len(toks[j][1]))
            self.error("an index is a whole number or a slice such as 1:3, written in the "
                       "program", start, end,
                       hint="computed indices are not supported; x[0], W[:, 1], X[1:3, :]")
        return sign * int(text), j

    def note_implicit_call(self, k: int, end: int):
        """Note once per name that NAME(...) at token k, closed at ``end``, is a product."""
        _kind, name, start = self.toks[k]
        if name in self.noted:
            return
        self.noted.add(name)
        group = self.shown(self.toks[k + 1][2], end)
        self.graph.warnings.append(f"{self.shown(start, end)} is read as {name}*{group}, "
                                   f"a product: {name} is not a function")

    def comma(self, start: int):
        """',' after an operand: the next argument of the innermost call."""
        groups, ops = self.groups, self.ops
        if not groups or ops[groups[-1]][0] not in (_CALL, _BRACKET):
            if groups and ops[groups[-1]][0] == _PAREN and ops[groups[-1]][4] is not None:
                self.unknown_function(ops[groups[-1]][4])   # x(1, 2) is a call after all
            self.error("',' outside a function call", start)
        while ops[-1][0] <= _PRE:
            self.apply(ops.pop())
        ops[-1][4][0] += 1
        self.expect = True

    def bar_after_operand(self, start: int):
        """'|' after an operand closes the innermost |...|, or opens one multiplied in: x|y|."""
        groups = self.groups
        if groups and self.ops[groups[-1]][0] == _BAR:
            frame = self.close_group()
            operands = self.operands
            a = operands.pop()
            span = (frame[3], start + 1)
            operands.append((self.graph.add(Node("abs", (a[0],), None, None, span)), *span))
            self.prev_kind = ")"
        else:
            self.push_binary(_IMPLICIT, start, "|…|")
            self.open_group(start)
            self.ops.append((_BAR, "|", 0, start, None))
            self.expect = True

    def open_group(self, start: int):
        groups = self.groups
        groups.append(len(self.ops))
        if len(groups) > self.max_depth:
            self.error(f"the program nests parentheses, calls or |bars| more than "
                       f"{self.limits.depth:,} deep", start,
                       hint="raise the limit with --max-depth N (Limits(depth=N) in Python)")

    def close_group(self):
        """Apply the operators inside the innermost group; pop and return its frame."""
        ops, apply = self.ops, self.apply
        while ops and ops[-1][0] <= _PRE:
            apply(ops.pop())
        frame = ops.pop()
        self.groups.pop()
        return frame

    def push_binary(self, sym: str, start: int, follows: int | str = ""):
        """Push a binary operator, first applying those on the stack that bind tighter.
        ``follows`` is what an implicit multiplication multiplies by (a token index, or text), for
        the warning when it comes after a division."""
        prec, right, name = _BINARY.get(sym, (20, False, "mul"))
        ops = self.ops
        after_sign = False     # the frame applied last was a sign: x^-1 just had its -1
        while ops:
            top = ops[-1]
            if top[0] > _PRE:
                break
            tprec = top[2]
            if tprec > prec or (tprec == prec and not right):
                ops.pop()
                if sym == _IMPLICIT and top[1] == "/":
                    self.warn_implicit_after_division(follows)
                elif sym == "/" and after_sign and top[0] == _BIN and top[2] == 40:
                    self.warn_signed_power_divided(top[1], follows)
                after_sign = top[0] == _PRE
                self.apply(top)
            else:
                break
        ops.append((_BIN, sym, prec, start, name))

    def warn_implicit_after_division(self, follows: int | str):
        """1/2x is (1/2)*x, as in Python and most calculators, but easily meant as 1/(2x)."""
        operands = self.operands
        quotient = self.shown(operands[-2][1], operands[-1][2])
        if isinstance(follows, int):
            gap = " " if self.toks[follows][2] > operands[-1][2] else ""
            follows = self.operand_text(follows)
            whole = f"{quotient}{gap}{follows}"
        else:
            whole = f"{quotient}{follows}"
        self.graph.warnings.append(
            f"{whole} is read as ({quotient})*{follows}: implicit multiplication binds like * "
            f"(write the parentheses you mean)")

    def warn_signed_power_divided(self, caret: str, follows: int | str):
        """x^-1/2 is (x^-1)/2, as in Python, but a signed exponent followed by / reads like one
        fraction, x^(-1/2) (and e^-x^2/2 like a Gaussian's e^(-x^2/2)): the same trap as 1/2x."""
        operands = self.operands
        base = self.shown(operands[-2][1], operands[-2][2])
        exponent = self.shown(operands[-1][1], operands[-1][2])
        power = self.shown(operands[-2][1], operands[-1][2])
        divisor = self.operand_text(follows) if isinstance(follows, int) else follows
        self.graph.warnings.append(
            f"{power}/{divisor} is read as ({power})/{divisor}: a power binds tighter than / "
            f"(write {base}{caret}({exponent}/{divisor}) if you mean that)")

    def operand_text(self, k: int) -> str:
        """The text of the operand that starts at token k, for a message: a number, a name, a
        call or a bracketed group (shortened), or '…' where it is not short to find."""
        toks = self.toks
        kind, text, start = toks[k]
        if text == "(" or (kind == "name" and toks[k + 1][1] == "("):
            args = self.arguments(k + (text != "("), 60)
            return self.shown(start, toks[args[-1][1]][2] + 1) if args else "…"
        if kind in ("num", "name"):
            return self.shown(start, start + len(text))
        return "|…|" if text == "|" else "…"

    def apply(self, frame):
        """Pop a binary or prefix operator's operands and push its result."""
        kind, sym, _prec, fstart, extra = frame
        operands = self.operands
        nodes = self.graph.nodes
        if kind == _BIN:
            b = operands.pop()
            a = operands.pop()
            if extra in _COMPARE:
                operands.append((self.compare(extra, a[0], b[0], (a[1], b[2])), a[1], b[2]))
                return
            nodes.append(Node(extra, (a[0], b[0]), None, None, (a[1], b[2])))
            operands.append((len(nodes) - 1, a[1], b[2]))
            if len(nodes) > self.max_nodes:
                self.too_many_nodes(a[1])
            return
        a = operands.pop()   # prefix
        span = (fstart, a[2])
        if sym == "+":
            operands.append((a[0], *span))
            return
        node = nodes[a[0]]
        if (node.op == "const" and a[0] == len(nodes) - 1 and node.text is not None
                and node.span == (a[1], a[2])):
            # A literal just typed here (not a name bound to one, not "(3)") stays one
            # constant node when negated: -3.5, 2^-1, --3.
            text = node.text[1:] if node.text.startswith("-") else "-" + node.text
            nodes[-1] = Node("const", (), -node.value, text, span)
            operands.append((a[0], *span))
        else:
            operands.append((self.graph.add(Node("neg", (a[0],), None, None, span)), *span))

    def compare(self, sym: str, a: int, b: int, span: tuple[int, int]) -> int:
        """a < b as step(b - a), and so on: 1 or 0, with step's slope (0; at a tie, where the
        value jumps, a kink): every domain already has step, and its conventions hold."""
        add = self.graph.add
        lo, hi = (a, b) if sym in ("<", ">=", "==", "!=") else (b, a)
        above = add(Node("step", (add(Node("sub", (hi, lo), None, None, span)),), None, None,
                         span))   # 1 if hi > lo
        if sym in ("<", ">"):
            return above
        one = add(Node("const", (), 1.0, None, span))
        if sym in ("<=", ">="):   # not (lo > hi)... a <= b is 1 - (a > b)
            return add(Node("sub", (one, above), None, None, span))
        below = add(Node("step", (add(Node("sub", (lo, hi), None, None, span)),), None, None,
                         span))
        either = add(Node("add", (above, below), None, None, span))
        return either if sym == "!=" else add(Node("sub", (one, either), None, None, span))

    def product(self, i: int) -> str:
        """'x*(y+1)' for the tokens 'x ( y + 1 )' at i: the fix for a name used as a function."""
        toks, depth, k = self.toks, 0, i + 1
        while toks[k][0] != "end":
            depth += (toks[k][1] == "(") - (toks[k][1] == ")")
            if depth == 0:
                return f"{toks[i][1]}*{self.src[toks[i + 1][2]:toks[k][2] + 1]}"
            k += 1
        return f"{toks[i][1]}*(...)"

    def finish_call(self, frame, operands, end):
        _kind, name, _prec, start, count = frame
        nargs = count[0] + 1
        span = (start, end)
        keywords = self.keywords.pop(start, None)
        if keywords:
            node = self.keyword_call(name, nargs, keywords, operands, span)
            if len(count) > 1:
                node = self.power_of_call(node, count[1], span)
            operands.append((node, *span))
            return
        if name in _MACROS:
            node = self.macro(name, nargs, operands, span)
            if len(count) > 1:   # clamp^2(x, 0, 1)
                node = self.power_of_call(node, count[1], span)
            operands.append((node, *span))
            return
        op = lookup_call(name, nargs)
        param = None
        if op is None and nargs > 1 and 1 in FUNCTIONS[name] and FUNCTIONS[name][1].static:
            op = FUNCTIONS[name][1]   # sum(X, 0), reshape(x, 2, 3): fixed in the text
            param = self.static_arguments(op.static, operands[-nargs + 1:], name)
            del operands[-nargs + 1:]
            nargs = 1
        if op is None:
            self.error(f"{name}() takes {arity_text(name)}, not {nargs}", start, end)
        if op.static == "dims" and param is None:
            self.error(f"{name}() needs the new sizes after the array", start, end,
                       hint=f"e.g. {name}(x, 2, 3)")
        args = tuple(o[0] for o in operands[-nargs:])
        del operands[-nargs:]
        node = self.graph.add(Node(op.name, args, param, None, span))
        if op.name in TENSOR_NAMES:
            self.graph.tensor = True
        if len(count) > 1:
            node = self.power_of_call(node, count[1], span)
        operands.append((node, *span))

    def keyword_call(self, name: str, nargs: int, keywords: dict, operands, span) -> int:
        """A call with keyword arguments, after its positional ones: an axis (sum(X, axis=0),
        max(X, axis=1), softmax(S, axis=0)) or clamp's bounds (clamp(x, min=0), PyTorch's)."""
        first = min(keywords)
        if any(k not in keywords for k in range(first, nargs)):
            k = next(k for k in range(first, nargs) if k not in keywords)
            self.error("a positional argument after a keyword argument", operands[k - nargs][1],
                       operands[k - nargs][2])
        given = dict(zip((keywords[k][0] for k in range(first, nargs)), operands[first - nargs:],
                         strict=True))
        allowed = ("min", "max") if name == "clamp" else ("axis",) if (
            1 in FUNCTIONS.get(name, {}) and FUNCTIONS[name][1].static == "axis") else ()
        words = [keywords[k][0] for k in range(first, nargs)]
        for k in range(first, nargs):
            word, at = keywords[k]
            if word not in allowed or words.count(word) > 1:
                self.error(f"{name}() takes no keyword {word}" if word not in allowed else
                           f"{word} is given twice", at, at + len(word),
                           hint=f"its keywords: {', '.join(allowed)}" if allowed else
                           "write its arguments in order")
        if first != 1:
            self.error(f"{name}() takes one array before its keywords", *span)
        (x, *_), = operands[-nargs:-nargs + 1]
        del operands[-nargs:]
        g = self.graph
        if name == "clamp":   # clamp(x, min=lo, max=hi): max(x, lo), then min(., hi)
            if "min" in given:
                x = g.add(Node("max", (x, given["min"][0]), None, None, span))
            if "max" in given:
                x = g.add(Node("min", (x, given["max"][0]), None, None, span))
            return x
        op = FUNCTIONS[name][1]
        axis = self.static_arguments("axis", [given["axis"]], name)
        g.tensor = True
        return g.add(Node(op.name, (x,), axis, None, span))

    def static_arguments(self, kind: str, given: list, name: str):
        """The axis of sum(X, 0) or the sizes of reshape(x, 2, 3): whole numbers written in the
        program (their constant nodes stay on the tape, unused)."""
        if kind == "axis" and len(given) > 1:
            self.error(f"{name}() takes an array and at most one axis", given[1][1],
                       given[-1][2])
        numbers = []
        for k, a, b in given:
            node = self.graph.nodes[k]
            if node.op != "const" or node.text is None or not _INTEGER.fullmatch(node.text):
                what = "an axis" if kind == "axis" else "a size"
                self.error(f"{what} of {name}() is a whole number written in the program", a,
                           b, hint="e.g. sum(X, 0), softmax(S, 1), reshape(x, 2, 3)")
            numbers.append(int(node.text))
        return numbers[0] if kind == "axis" else tuple(numbers)

    def macro(self, name: str, nargs: int, operands, span) -> int:
        """clamp(x, lo, hi) as min(max(x, lo), hi)."""
        if nargs != _MACROS[name]:
            self.error(f"{name}() takes {_MACROS[name]} arguments, not {nargs}", span[0], span[1],
                       hint="clamp(x, lo, hi); for a lower bound only, max(x, lo)")
        (x, *_), (lo, *_), (hi, *_) = operands[-3:]
        del operands[-3:]
        low = self.graph.add(Node("max", (x, lo), None, None, span))
        return self.graph.add(Node("min", (low, hi), None, None, span))

    def power_of_call(self, call: int, k: int, span: tuple[int, int]) -> int:
        """sin^2(x): the call's node raised to the exponent at token k, noted once a spelling."""
        toks, g = self.toks, self.graph
        _kind, text, start = toks[k]
        value = float(text)
        if math.isinf(value):
            self.error(f"the number {text} is too large for float64", start, start + len(text))
        exponent = g.add(Node("const", (), value, text, (start, start + len(text))))
        node = g.add(Node("pow", (call, exponent), None, None, span))
        name, caret = toks[k - 2][1], toks[k - 1][1]
        if f"{name}{caret}{text}" not in self.noted:
            self.noted.add(f"{name}{caret}{text}")
            call_text = name + self.shown(toks[k + 1][2], span[1])
            g.warnings.append(f"{self.shown(*span)} is read as {call_text}{caret}{text}: a "
                              f"power of the function's value")
        return node


def split_top_level(text: str):
    """Split 'x=1,y=max(1,2),W=[[1,2],[3,4]]' at commas outside parentheses and brackets; yield
    (piece, offset)."""
    depth, start = 0, 0
    for k, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            yield text[start:k], start
            start = k + 1
    yield text[start:], start


# --- the fast path -------------------------------------------------------------------------------
# Most programs, and every big generated one, use a small part of the language: ASCII names and
# numbers, + - * / ^ **, signs, parentheses, calls of the registry's functions, assignments
# (= += -= *= /=), comments and line continuations. ``_fast_program`` reads that part in one pass
# over the source with no token list, building the same nodes as ``_Parser`` (same order, values,
# texts and spans). At the first statement with anything else (another token, implicit
# multiplication, a reading that warns, any error, a limit reached) it undoes that statement and
# hands the rest of the program, with the graph so far, to ``_Parser``, so every message and every
# rarer reading comes from one place. tests/test_fast_parse.py compares the two on random programs.
# gradcalc/_fastparse.c is this function in C, run instead where it is built (see _load_native).

# One match per token, blanks after it included (so a match starts where its token does), its
# last group says which token it is: an empty group after the token (which also keeps the regex's
# quick test of the token's first character). A name or a number takes the operator, ')', ',' or
# end of line after it into the same match, which halves the matches of a typical program.
# (No lookahead for '=' after an operator: '+=' read as '+' and '=' meets '=' where no '=' fits,
# and the fast path hands over, as it must.)
_SUFFIX = r"""(?: \)() | \n() | \+() | -() | \*(?!\*)() | /() | (?:\^|\*\*)() | ;() | ,() )"""
#               9 groups, in the order of the kinds _F_CLOSE ... _F_COMMA
_FAST_TOKEN = re.compile(r"""
    (?: ([A-Za-z]\w*)[ \t\r\f\v]*                   # 1 NAME
        (?: =() | ([-+*/])= | \(()                  # 2 NAME =, 3 NAME op=, 4 NAME (
          | """ + _SUFFIX + r""" )?                 # 5-13 NAME then ) newline + - * / ^ ; ,
      | ((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[ \t\r\f\v]*   # 14 number
        """ + _SUFFIX + r"""?                       # 15-23 number then ) newline ... ,
      | \(() | """ + _SUFFIX[3:-1] + r"""           # 24 ( 25 ) 26 newline 27 + 28 - 29 * 30 /
                                                    # 31 ^ ** 32 ; 33 ,
      | (?:\#[^\n]*|\\\r?\n|[ \t\r\f\v]+)()         # 34 comment, line continuation, blanks
      | .() )                                       # 35 OTHER: what the fast path does not read
    [ \t\r\f\v]*
""", re.VERBOSE | re.ASCII)
(_F_OPEN, _F_CLOSE, _F_NEWLINE, _F_PLUS, _F_MINUS, _F_TIMES, _F_DIVIDE, _F_POWER, _F_SEMI,
 _F_COMMA, _F_SKIP, _F_OTHER, _F_END) = range(24, 37)
_F_OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div",
          _F_PLUS: "add", _F_MINUS: "sub", _F_TIMES: "mul", _F_DIVIDE: "div"}


@record
class _Resume:
    """Where the fast path handed over: the graph of the statements it read (its names are the
    parser's env), the start of a separator token before the first statement it did not read (or
    0), the name of the last statement read, and the span of an unnamed one (which must come
    last)."""

    graph: Graph
    begin: int
    last: str | None
    bare: tuple[int, int] | None


class _End:
    """The end of the source, as one more token."""

    lastindex = _F_END

    def __init__(self, pos: int):
        self.pos = pos

    def start(self) -> int:
        return self.pos


def _fast_sign(nodes: list[Node], frame: tuple, a: tuple[int, int, int]) -> tuple[int, int, int]:
    """Apply a sign, as ``_Parser.apply``: a literal just typed stays one constant node."""
    span = (frame[3], a[2])
    if frame[2] == "+":
        return (a[0], *span)
    node = nodes[a[0]]
    if (node.op == "const" and a[0] == len(nodes) - 1 and node.text is not None
            and node.span == (a[1], a[2])):
        text = node.text[1:] if node.text.startswith("-") else "-" + node.text
        nodes[-1] = Node("const", (), -node.value, text, span)
        return (a[0], *span)
    nodes.append(Node("neg", (a[0],), None, None, span))
    return (len(nodes) - 1, *span)


def _fast_program(source: str, limits: Limits) -> Graph | _Resume:  # noqa: C901, PLR0912, PLR0915
    """The graph of the whole program, or where ``_Parser`` must take over (see above).

    The stacks are ``_Parser.expression``'s: operands (node, start, end), and frames (kind,
    precedence, ...): a binary operator (0, prec, op), a sign (1, 30, sign, start), '(' (2, 0,
    start), a call (3, 0, start, name, commas), and two frames (4, 0) at the bottom (so that the
    stacks never empty, which would free and grow their lists each statement). Statements and
    expressions are read as _Parser reads them; every ``break`` leaves the loop at something the
    fast path does not read. (One flat loop on purpose: a call per token would cost a tenth of
    the time.)"""
    OPEN, CLOSE, NEWLINE, PLUS, MINUS, TIMES, DIVIDE, POWER, SEMI, COMMA, SKIP, _, END = range(
        24, 37)
    graph = Graph(source)
    nodes, inputs = graph.nodes, graph.inputs
    env = graph.names   # the names assigned so far are the statements' names
    new = nodes.append
    # (ints: comparing an int with math.inf takes the interpreter's slow path)
    max_nodes = limits.nodes if limits.nodes is not None else sys.maxsize
    max_depth = limits.depth if limits.depth is not None else sys.maxsize
    functions, macros, constants, binary = FUNCTIONS, _MACROS, CONSTANTS, _F_OPS
    calls: dict[tuple[str, int], tuple[str, bool]] = {}   # (name, arguments) -> (op, tensor)
    literals: dict[str, tuple[str, float]] = {}           # text -> (one copy of it, its value)
    operands: list[tuple[int, int, int]] = [(-1, 0, 0), (-1, 0, 0)]
    push, pop = operands.append, operands.pop
    ops: list[tuple] = [(4, 0), (4, 0)]
    push_op, pop_op = ops.append, ops.pop

    def apply_pending() -> None:
        """Apply the pending binary operators and signs down to the innermost open frame."""
        while ops[-1][0] < 2:
            frame = pop_op()
            if frame[0] == 0:
                b = pop()
                a = pop()
                new(Node(frame[2], (a[0], b[0]), None, None, (a[1], b[2])))
                push((len(nodes) - 1, a[1], b[2]))
            else:
                push(_fast_sign(nodes, frame, pop()))

    expect = True      # an operand must come next
    depth = 0          # open '(' and calls
    target: str | None = None
    compound: str | None = None
    target_start = 0
    last: str | None = None
    bare: tuple[int, int] | None = None
    tensor = False
    m: Any   # a match of _FAST_TOKEN, or the _End
    begin: Any = None   # a separator before the statement being read: its match
    begin_group = 0                  # and the group after it
    kept_nodes, kept_tensor = 0, False   # the graph before that statement
    complete = False   # the source was read to its end
    for m in itertools.chain(_FAST_TOKEN.finditer(source), (_End(len(source)),)):
        g = k = m.lastindex
        if expect:
            if k < 14:   # a name
                if k == 1 or k > 4:   # a value's name (and what follows it, k > 4)
                    text = m[1]
                    start = m.start()
                    idx = env.get(text)
                    if idx is None:
                        idx = inputs.get(text)
                        if idx is None:
                            if text in functions or text in macros:
                                break
                            idx = len(nodes)
                            new(Node("input", (), constants.get(text), text,
                                     (start, start + len(text))))
                            inputs[text] = idx
                    push((idx, start, start + len(text)))
                    expect = False
                    if k == 1:
                        continue
                    k += 20   # the kind of what follows: CLOSE ... COMMA
                elif k == 4:   # a call
                    text = m[1]
                    if text not in functions or text in macros:
                        break
                    depth += 1
                    if depth > max_depth:
                        break
                    push_op((3, 0, m.start(), text, 0))
                    continue
                else:   # an assignment's target
                    if ops[-1][0] != 4 or target is not None or bare is not None:
                        break
                    target = m[1]
                    if target in functions or target in macros:
                        break
                    target_start = m.start()
                    compound = binary[m[3]] if k == 3 else None
                    continue
            elif k < OPEN:   # a number (and what follows it, k > 14)
                text = m[14]
                start = m.start()
                literal = literals.get(text)
                if literal is None:
                    value = float(text)
                    if value == math.inf:
                        break
                    literal = literals[text] = (text, value)
                end = start + len(text)
                push((len(nodes), start, end))
                new(Node("const", (), literal[1], literal[0], (start, end)))
                expect = False
                if k == 14:
                    continue
                k += 10
            elif k == OPEN:
                depth += 1
                if depth > max_depth:
                    break
                push_op((2, 0, m.start()))
                continue
            elif k == MINUS or k == PLUS:
                push_op((1, 30, "-" if k == MINUS else "+", m.start()))
                continue
            elif k == SKIP or (k == NEWLINE and depth):
                continue
            elif ops[-1][0] != 4 or target is not None:   # an operand is missing
                break
            elif k == NEWLINE or k == SEMI:   # between statements
                begin, begin_group = m, g
                continue
            else:
                complete = k == END
                break
        # after an operand
        if k >= PLUS and k <= POWER:
            if k == POWER:
                push_op((0, 40, "pow"))   # right-associative: it applies nothing
            else:
                prec = 10 if k <= MINUS else 20
                after_sign = warns = False   # as _Parser.push_binary, where x^-1/2 warns
                while True:
                    frame = ops[-1]
                    if frame[0] > 1 or frame[1] < prec:
                        break
                    pop_op()
                    if frame[0] == 0:
                        if after_sign and frame[1] == 40 and k == DIVIDE:
                            warns = True
                            break
                        b = pop()
                        a = pop()
                        new(Node(frame[2], (a[0], b[0]), None, None, (a[1], b[2])))
                        push((len(nodes) - 1, a[1], b[2]))
                        after_sign = False
                    else:
                        push(_fast_sign(nodes, frame, pop()))
                        after_sign = True
                if warns or len(nodes) > max_nodes:
                    break
                push_op((0, prec, binary[k]))
            expect = True
            continue
        if k == CLOSE or k == COMMA:
            apply_pending()   # what is inside the group
            frame = ops[-1]
            if frame[0] == 4:   # no group is open
                break
            if k == COMMA:
                if frame[0] != 3:
                    break
                ops[-1] = (3, 0, frame[2], frame[3], frame[4] + 1)
                expect = True
                continue
            pop_op()
            depth -= 1
            end = m.start(g)   # (the group after the ')')
            if frame[0] == 2:
                a = pop()
                push((a[0], frame[2], end))
                continue
            nargs = frame[4] + 1
            call = calls.get((frame[3], nargs))
            if call is None:
                op = lookup_call(frame[3], nargs)
                if op is None or op.static == "dims":
                    break
                call = calls[frame[3], nargs] = (op.name, op.name in TENSOR_NAMES)
            if nargs == 1:
                args: tuple[int, ...] = (pop()[0],)
            else:
                args = tuple(o[0] for o in operands[-nargs:])
                del operands[-nargs:]
            push((len(nodes), frame[2], end))
            new(Node(call[0], args, None, None, (frame[2], end)))
            if call[1]:
                tensor = True
            if len(nodes) > max_nodes:
                break
            continue
        if k == SKIP or (k == NEWLINE and depth):
            continue
        if depth or not (k == NEWLINE or k == SEMI or k == END):
            break
        apply_pending()   # the end of a statement: what is left, as _Parser.finish_expression
        idx, first, end = pop()
        name = target
        if name is None:
            if bare is not None:
                break
            name = "f" if "f" not in inputs else "out"
        elif compound is not None:   # as _Parser.reference, then the operation
            prev = env.get(name)
            if prev is None:
                prev = inputs.get(name)
                if prev is None:
                    prev = len(nodes)
                    new(Node("input", (), constants.get(name), name,
                             (target_start, target_start + len(name))))
                    inputs[name] = prev
            new(Node(compound, (prev, idx), None, None, (target_start, end)))
            idx = len(nodes) - 1
        count = len(nodes)
        if count > max_nodes:
            break
        if target is None:
            bare = (first, end)
        env[name] = idx
        last, target = name, None
        kept_nodes, kept_tensor = count, tensor
        expect = True
        if k == END:
            complete = True
            break
        begin, begin_group = m, g
    if complete and last is not None:
        graph.tensor = tensor
        graph.output = last
        return graph
    # hand over: undo the statement being read
    del nodes[kept_nodes:]
    for name in [name for name, i in inputs.items() if i >= kept_nodes]:
        del inputs[name]
    graph.tensor = kept_tensor
    # (the separator is the character before the empty group after it)
    return _Resume(graph, begin.start(begin_group) - 1 if begin is not None else 0, last, bare)


def _load_native() -> Callable[[str, Limits], Graph | _Resume] | None:
    """The same fast path in C (gradcalc/_fastparse.c, built by setup.py), if it is built."""
    try:
        from ._fastparse import fast_program, setup
    except ImportError:
        return None
    setup(Graph, Node, _Resume, FUNCTIONS, _MACROS, CONSTANTS, lookup_call, TENSOR_NAMES)
    return fast_program


# ``_fast_program`` above stays the reference and the fallback: the C version returns what it
# returns on every input (tests/test_native_parse.py, fuzz/fuzz_native_parse.py). NATIVE off
# runs the Python one (the tests switch it, as vector.FAST).
_native_program = _load_native()
NATIVE = _native_program is not None


def parse_graph(source: str, limits: Limits = DEFAULT_LIMITS) -> Graph:
    """Parse a program into its graph (a flat tape in topological order), within ``limits``."""
    # The parser allocates a few objects per token and none of them form cycles: pausing the
    # cyclic garbage collector saves its repeated scans of a growing heap (~20% on big programs).
    paused = gc.isenabled()
    gc.disable()
    graph = None
    try:
        if limits.size is not None and len(source) > limits.size:
            graph = _Parser(source, limits).program()   # (its message)
        else:
            fast = (_native_program if NATIVE and _native_program is not None
                    else _fast_program)(source, limits)
            graph = fast if isinstance(fast, Graph) else _Parser(source, limits).program(fast)
        return graph
    finally:
        if paused:
            if graph is not None and len(graph.nodes) > 10_000 and gc.get_freeze_count() == 0:
                # Every object of the graph is young to the collector, whose next young
                # collection would scan them all (a tenth of the parse again): move them to the
                # oldest generation unscanned (none of them is in a cycle). Not when the program
                # froze objects of its own: unfreeze would let them go.
                gc.freeze()
                gc.unfreeze()
            gc.enable()
