"""LaTeX for a handout: the function and its partials as an align* block, with the values at the
point, and the backprop walkthrough as two tabulars.

The output is a fragment to paste into a document that loads amsmath (for align*, \\text and the
\\operatorname SymPy prints); the tables add no package of their own (no booktabs).
Every name goes through ``latex_name`` and every number through ``latex_number`` (or
``latex_value`` for exact and mpmath ones), so the block and the tables spell them the same way.
"""

from __future__ import annotations

import re
import unicodedata
from functools import partial

from ..numfmt import fmt

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
          "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi",
          "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon",
          "Phi", "Psi", "Omega"}
_FUNCTIONS = {"exp", "log", "ln", "sin", "cos", "tan", "sec", "csc", "cot", "sinh", "cosh",
              "tanh", "max", "min"}                    # LaTeX has a command of the same name
_INFIX = {"*": r"\cdot"}                                # where LaTeX spells an operator otherwise
_ARC = {"asin": r"\arcsin", "acos": r"\arccos", "atan": r"\arctan"}
_TEXT = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
         "%": r"\%", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
         "<": "$<$", ">": "$>$", "|": "$|$", "∂": r"$\partial$", "·": r"$\cdot$",
         "∞": r"$\infty$", "→": r"$\to$", "×": r"$\times$", "−": "$-$", "≤": r"$\le$",
         "≥": r"$\ge$", "≠": r"$\ne$"}
UNDETERMINED = r"\text{undetermined}"


def latex_text(text: str) -> str:
    """Text for text mode: TeX's special characters escaped (w_1 is w\\_1), and the math signs
    gradcalc's messages use (∂, ·, ∞, →) as math, which plain LaTeX cannot typeset as text."""
    escaped = "".join(_TEXT.get(ch, ch) for ch in text)
    return re.sub(r"(?<!\\)\$\$", "", escaped)   # ∞· is $\infty\cdot$, not $\infty$$\cdot$


def _word(word: str) -> str | None:
    """One letter as itself, a Greek name or letter as its command, a longer word in \\mathit (so
    'loss' is not spaced as the product l·o·s·s); None if it is none of these."""
    if word in _GREEK:
        return "\\" + word
    if len(word) == 1 and not word.isascii():
        parts = unicodedata.name(word, "").split()
        if parts[:1] == ["GREEK"] and len(parts) == 4:
            greek = parts[3].lower().replace("lamda", "lambda")
            greek = greek.capitalize() if parts[1] == "CAPITAL" else greek
            return "\\" + greek if greek in _GREEK else None
        return None
    if word.isascii() and word.isalpha():
        return word if len(word) == 1 else rf"\mathit{{{word}}}"
    return None


def latex_name(name: str) -> str:
    """A variable or node name in math mode: w_1 and w1 as w_{1}, theta_0 as \\theta_{0}, x_in as
    x_{\\mathit{in}}, c' keeps its prime. A name that fits no such pattern (a_b_c, x1_2) is
    written out whole, underscores escaped, rather than guessed at (SymPy prints x__y as x^{y})."""
    core = name.rstrip("'")
    primes = name[len(core):]
    m = re.fullmatch(r"([^\W\d_]+)(?:(\d+)|_([^\W_]+))?", core)
    base = _word(m.group(1)) if m else None
    if m is None or base is None:
        return rf"\mathit{{{latex_text(core)}}}{primes}"
    sub = m.group(2) or m.group(3)
    if sub is None:
        return base + primes
    if not sub.isdigit():
        sub = _word(sub)
        if sub is None:
            return rf"\mathit{{{latex_text(core)}}}{primes}"
    return f"{base}_{{{sub}}}{primes}"


def _scientific(text: str) -> str:
    """A decimal numeral with LaTeX's exponent: 1.5e-08 is 1.5 \\times 10^{-8}."""
    m = re.fullmatch(r"(-?[\d.]+)[eE]([+-]?\d+)", text)
    if m is None:
        return text
    mantissa = m.group(1)[:-2] if m.group(1).endswith(".0") else m.group(1)
    return rf"{mantissa} \times 10^{{{int(m.group(2))}}}"


def latex_number(value: float | None, digits: int | None = None) -> str:
    """A float at ``digits`` significant digits (6 by default, as the tables: 0.49999999999999994
    is 0.5); None is a partial nothing could determine."""
    if value is None:
        return UNDETERMINED
    if value != value:
        return r"\mathrm{NaN}"
    if value in (float("inf"), float("-inf")):
        return r"\infty" if value > 0 else r"-\infty"
    return _scientific(fmt(value, digits or 6))


def latex_value(value, digits: int | None = None) -> str:
    """An exact SymPy number as LaTeX (\\frac{1}{3}, \\sqrt{2}), or an mpmath one (--precision) at
    ``digits`` significant digits; None is undetermined."""
    if value is None:
        return UNDETERMINED
    if hasattr(value, "_mpf_"):
        import mpmath

        if not mpmath.isfinite(value):
            return latex_number(float(value))
        return _scientific(_mp_text(value, digits))
    import sympy

    return sympy.latex(value)


def _mp_text(value, digits: int | None) -> str:
    """An mpmath number at ``digits`` significant digits, as --format plain prints it (3, not
    3.0)."""
    import mpmath

    text = mpmath.nstr(value, digits or 15, strip_zeros=True)
    return text[:-2] if text.endswith(".0") else text


def _expr(expr, names: dict | None = None) -> str:
    """A SymPy expression as LaTeX, its symbols spelt by ``latex_name`` (or by ``names``)."""
    import sympy

    spelt = {s: latex_name(s.name) for s in getattr(expr, "free_symbols", ())}
    return sympy.latex(expr, symbol_names={**spelt, **(names or {})})


def _shown(value: float | None, exact_value, digits: int | None, exact) -> str:
    """' = value' for one line of the block: the float at ``digits``, or the exact value (with
    its decimal, as the table shows them side by side), or the mpmath one at its own digits."""
    if exact is None:
        return f" = {latex_number(value, digits)}"
    if exact.digits is not None:
        return f" = {latex_value(exact_value, exact.digits)}"
    text = f" = {latex_value(exact_value)}"
    if exact_value is not None and not exact_value.is_Integer and value is not None:
        text += rf" \approx {latex_number(value, digits)}"
    return text


def _at(result, digits: int | None, exact) -> str:
    """The point, for the comment above the block: as typed when exact (x = 1/3)."""
    if exact is not None and exact.point is not None:
        if exact.digits is None:
            from ..printing import sstr

            return ", ".join(f"{k} = {sstr(v)}" for k, v in exact.point.items())
        return ", ".join(f"{k} = {_mp_text(v, exact.digits)}" for k, v in exact.point.items())
    return ", ".join(f"{k} = {fmt(v, digits)}" for k, v in result.point.items())


def latex_point(sym, result=None, digits: int | None = None, exact=None) -> str:
    """The function and each partial as an align* block a student can paste: the symbolic
    formula (``sym``, from ``Function.symbolic()``), then its value at the point of ``result``
    (floats at ``digits`` significant digits, 6 by default), or, given ``exact`` (from
    ``Function.symbolic(point)`` for --exact or ``precise`` for --precision), the exact value.
    Without ``result``, the formulas alone. A comment above the block names the point."""
    out = latex_name(sym.output)
    rows = [(out, sym.expression, None)]
    rows += [(rf"\frac{{\partial {out}}}{{\partial {latex_name(k)}}}", expr, k)
             for k, expr in sym.gradient.items()]
    lines = [] if result is None else [f"% at {_at(result, digits, exact)}"]
    lines.append(r"\begin{align*}")
    for n, (lhs, expr, name) in enumerate(rows):
        value = ""
        if result is not None:
            number = result.value if name is None else result.gradient[name]
            precise = exact and (exact.expression if name is None else exact.gradient[name])
            value = _shown(number, precise, digits, exact)
        end = " \\\\" if n < len(rows) - 1 else ""
        lines.append(f"{lhs} &= {_expr(expr)}{value}{end}")
    lines.append(r"\end{align*}")
    return "\n".join(lines)


def _literal(text: str) -> str:
    """A literal as typed (2, 0.5, 1e-3) in math mode."""
    try:
        float(text)
    except ValueError:
        return latex_name(text)
    return _scientific(text)


def _wrapped(text: str) -> str:
    """A number in parentheses where it would misread as a factor: (-4), (1.5 \\times 10^{-8})."""
    return f"({text})" if text.startswith("-") or r"\times" in text else text


def _call(op_name: str, call: str, args: list[str]) -> str:
    """A function node's definition: \\sin(t_{1}), \\sqrt{x}, \\log_{2}(x), \\left|x\\right|."""
    joined = ", ".join(args)
    if op_name == "sqrt":
        return rf"\sqrt{{{args[0]}}}"
    if op_name == "cbrt":
        return rf"\sqrt[3]{{{args[0]}}}"
    if op_name == "abs":
        return rf"\left|{args[0]}\right|"
    if op_name in ("log2", "log10"):
        return rf"\log_{{{op_name[3:]}}}({args[0]})"
    if op_name == "logb":
        return rf"\log_{{{args[1]}}}({args[0]})"
    if call in _FUNCTIONS:
        return rf"\{call}({joined})"
    if call in _ARC:
        return rf"{_ARC[call]}({joined})"
    return rf"\operatorname{{{call}}}({joined})"   # as SymPy spells erf, sign


def _definition(tape, names: dict[int, str], i: int) -> str:
    """How node i is computed from its arguments, in math mode ('input' for an input): the
    graph's own structure, not SymPy's (which would reorder z·q as q z and fold x + x)."""
    from ..ops import REGISTRY

    node = tape.graph.nodes[i]
    if node.op == "input":
        return "input"
    op = REGISTRY[node.op]
    args = [_wrapped(names[j]) for j in node.args]
    if op.infix and len(args) == 1:
        return f"{op.infix}{args[0]}"
    if op.infix == "^":
        base = f"{{{args[0]}}}" if "'" in args[0] else args[0]   # c'^{2} is a double superscript
        return f"{base}^{{{names[node.args[1]]}}}"
    if op.infix:
        return f" {_INFIX.get(op.infix, op.infix)} ".join(args)
    return _call(node.op, op.calls[0], args)


def _local(walk, D, names: dict[int, str], defs: dict[int, str], edge, digits) -> str:
    """'\\partial(z \\cdot q)/\\partial z = q': the registry's rule for this edge, over the
    labels (the same rule, run on SymPy symbols, that steps.local_formula prints as text)."""
    import sympy

    from ..ops import REGISTRY

    node = walk.tape.graph.nodes[edge.source]
    op = REGISTRY[node.op]
    spelt, xs = {}, []
    for j in node.args:
        arg = walk.tape.graph.nodes[j]
        if arg.op == "const":
            xs.append(D.literal(arg.value, arg.text))
        else:
            xs.append(sympy.Symbol(walk.labels[j], real=True))
            spelt[xs[-1]] = names[j]
    if op.infix:   # an operator's output by value (x/y^2), a function's by name (sigmoid(t))
        out, of = op.value(D, *xs), f"({defs[edge.source]})"
    else:
        out, of = sympy.Dummy("out", real=True), f" {defs[edge.source]}"
        spelt[out] = defs[edge.source]
    try:
        rule = _expr(op.local(D, edge.arg, tuple(xs), out), spelt)
    except (TypeError, ValueError, ZeroDivisionError, IndexError):   # an op with only a VJP
        rule = latex_number(edge.local, digits)
    return rf"\partial{of}/\partial {names[edge.target]} = {rule}"


def _table(columns: str, title: str, header: list[str], rows: list[list[str]]) -> str:
    """A plain-LaTeX tabular (\\hline rules, no booktabs) with its title in the first row."""
    lines = [r"\noindent", rf"\begin{{tabular}}{{{columns}}}",
             rf"\multicolumn{{{len(columns)}}}{{l}}{{\textbf{{{title}}}}} \\", r"\hline",
             " & ".join(header) + r" \\", r"\hline"]
    lines += [" & ".join(row) + r" \\" for row in rows]
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)


def latex_steps(walk, digits: int | None = None) -> str:
    """The walkthrough (``steps.walkthrough``) as two tabulars for a handout: the forward pass
    (node, definition, value) and the backward pass, one row per edge (local gradient as a
    formula, upstream × local = downstream, and the running ∂f/∂target where paths meet), then
    the notes on partials reverse mode could not decide. Numbers at ``digits`` (6 by default)."""
    from ..domains import sympy_domain

    nodes = walk.tape.graph.nodes
    names = {i: _literal(t) if nodes[i].op == "const" else latex_name(t)
             for i, t in walk.labels.items()}
    defs = {i: _definition(walk.tape, names, i) for i in walk.labels if nodes[i].op != "const"}
    index = {walk.labels[i]: i for i in defs}
    n = partial(latex_number, digits=digits)
    forward = [[str(s.step), f"${names[index[s.node]]}$",
                "input" if s.definition == "input" else f"${defs[index[s.node]]}$",
                f"${n(s.value)}$"] for s in walk.forward]
    D, rows = sympy_domain(), []
    for s, e in zip(walk.backward, walk.edges, strict=True):
        total = f"${n(s.total)}$" + ("" if s.paths == 1 else f" (sum of {s.paths} paths)"
                                     if s.last else " (+ more)")
        rows.append([str(s.step), f"${names[e.source]} \\to {names[e.target]}$",
                     f"${_local(walk, D, names, defs, e, digits)}$",
                     rf"${_wrapped(n(s.upstream))} \times {_wrapped(n(s.local))} = "
                     rf"{n(s.downstream)}$", total])
    if not rows:
        rows = [[r"\multicolumn{5}{l}{no edges to walk (the output is a single node)}"]]
    out = latex_name(walk.output)
    parts = [_table("rllr", "Forward pass", ["step", "node", "definition", "value"], forward),
             r"\medskip",
             _table("rlllr", r"Backward pass (per edge): downstream = upstream $\times$ local",
                    ["step", "edge", "local gradient", r"upstream $\times$ local $=$ downstream",
                     rf"$\partial {out}/\partial$target"], rows)]
    parts += [r"\medskip" + "\n" + r"\noindent " + latex_text(note) for note in walk.notes]
    return "\n\n".join(parts)
