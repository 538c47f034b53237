"""SymPy expressions printed in gradcalc's notation, and tidied for display."""

from __future__ import annotations

from .deadline import Timeout, deadline


def sstr(expr) -> str:
    """A SymPy expression in gradcalc's own notation (^ for powers, e for Euler's number).

    A piecewise expression (relu's slope, abs's sign at a kink) prints as cases on one line, as
    in a textbook: ``{1 if x > 0; 0 otherwise}``, ``{x if x > 0; 0 otherwise}``, with ``and`` and
    ``or`` joining conditions (never Python's ``1 if x > 0 else 0`` or SymPy's ``&``)."""
    import sympy

    class _Printer(sympy.printing.str.StrPrinter):
        def _print_Exp1(self, expr):
            return "e"

        def _print_Piecewise(self, expr):
            cases = []
            for value, cond in expr.args:
                if cond == sympy.true:
                    cases.append(f"{self._print(value)} otherwise")
                    break
                cases.append(f"{self._print(value)} if {self._print(cond)}")
            return "{" + "; ".join(cases) + "}"

        def _print_And(self, expr):
            return " and ".join(self._joined(a) for a in expr.args)

        def _print_Or(self, expr):
            return " or ".join(self._joined(a) for a in expr.args)

        def _joined(self, arg):
            text = self._print(arg)
            return f"({text})" if isinstance(arg, (sympy.And, sympy.Or)) else text

    return _Printer({"order": None}).doprint(expr).replace("**", "^")


def tidy(expr, seconds: float = 0.5):
    """A simpler form of a symbolic derivative for display, when SymPy finds one within
    ``seconds`` that is shorter and brings in no new functions (simplify likes to turn exp into
    cosh)."""
    import sympy

    if sympy.count_ops(expr) > 80:
        return expr
    try:
        with deadline(seconds):
            simpler = sympy.simplify(expr)
    except Timeout:
        return expr
    def funcs(e):
        return {f.func for f in e.atoms(sympy.Function)}
    if funcs(simpler) - funcs(expr) or sympy.count_ops(simpler) >= sympy.count_ops(expr):
        return expr
    return simpler
