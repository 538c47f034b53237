"""SymPy expressions printed in gradcalc's notation, and tidied for display."""

from __future__ import annotations

from .deadline import Timeout, deadline


def sstr(expr) -> str:
    """A SymPy expression in gradcalc's own notation (^ for powers, e for Euler's number)."""
    import sympy

    class _Printer(sympy.printing.str.StrPrinter):
        def _print_Exp1(self, expr):
            return "e"

        def _print_Piecewise(self, expr):
            # Piecewise((1, x > 0), (0, True)) -> (1 if x > 0 else 0)
            parts = []
            for value, cond in expr.args:
                if cond == sympy.true:
                    parts.append(self._print(value))
                    break
                parts.append(f"{self._print(value)} if {self._print(cond)} else")
            return "(" + " ".join(parts) + ")"

    return _Printer({"order": None}).doprint(expr).replace("**", "^")


def tidy(expr):
    """A simpler form of a symbolic derivative for display, when SymPy finds one quickly that is
    shorter and brings in no new functions (simplify likes to turn exp into cosh)."""
    import sympy

    if sympy.count_ops(expr) > 80:
        return expr
    try:
        with deadline(0.5):
            simpler = sympy.simplify(expr)
    except Timeout:
        return expr
    def funcs(e):
        return {f.func for f in e.atoms(sympy.Function)}
    if funcs(simpler) - funcs(expr) or sympy.count_ops(simpler) >= sympy.count_ops(expr):
        return expr
    return simpler
