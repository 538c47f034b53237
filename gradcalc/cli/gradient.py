"""The gradient command (the default): options in, a request, a report, one format out."""

from __future__ import annotations

import click

from .. import __version__, formats
from .click_base import Command, own_process
from .dispatch import start
from .options import DEFAULTS, Options

EXAMPLES = """
\b
Examples:
  gradcalc "z*(x+y)" --at x=-2,y=5,z=-4
  gradcalc "q = x + y; f = z*q" --at x=-2,y=5,z=-4 --wrt x,q
  gradcalc "1/(1+exp(-(w0*x0 + w1*x1 + w2)))" --at w0=2,x0=-1,w1=-3,x1=-2,w2=-3
  gradcalc "x^2*sin(y)"                  # no point: the symbolic gradient
  gradcalc "-x^2" --at x=3 --format json
  gradcalc -f model.gc --at x=1 --output loss
  echo "sin(x)^2" | gradcalc - --at x=pi/4
  gradcalc "q = x + y; f = z*q" --at x=-2,y=5,z=-4 --steps --graph graph.svg
  gradcalc "q = x + y; f = z*q" --at x=-2,y=5,z=-4 --html walk.html
  gradcalc "sin(x^2)" --expect "df/dx=2*x*cos(x^2)"
  gradcalc "x^2*y" --at x=1/3,y=3 --exact
  gradcalc "sum(W@x)" --at "W=@w.npy,x=randn(3)" --save-gradients out
  gradcalc check examples/homework.toml        # a whole problem set, with a score
  gradcalc "z*(x+y)" --at x=-2,y=5,z=-4 --at x=1,y=2,z=3 --format csv
  gradcalc "w*x + b" --points data.csv --at w=0.5,b=1 --format jsonl
  producer | gradcalc -f model.gc --points - --format csv > gradients.csv
  gradcalc descend "(x-3)^2 + (y+1)^2" --from x=0,y=0 --lr 0.1   # see gradcalc descend -h
  gradcalc fit -f examples/line.gc --data examples/line.csv --params w=0,b=0   # gradcalc fit -h

\b
Exit codes: 0 ok, 1 the cross-check disagreed, an answer is wrong or some of many
points could not be computed, 2 bad input, 3 internal error.
"""


class _Command(Command):
    """The gradient command; a program may start with '-' ("-x^2") without needing '--'."""

    def format_usage(self, ctx, formatter):
        # the default command: its usage is gradcalc's own, without a command name
        pieces = self.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.find_root().info_name or "gradcalc", " ".join(pieces))

    def parse_args(self, ctx, args):
        options = [p for p in self.get_params(ctx) if isinstance(p, click.Option)]
        known = {n for p in options for n in p.opts}
        takes_value = {n for p in options if not p.is_flag for n in p.opts}

        def is_option(arg):
            # --at=x=1 and -fprog.gc are options too, but -omega^2 and -f*x are programs
            return (arg in known or arg.split("=", 1)[0] in known
                    or (arg[:2] in takes_value and not arg.startswith("--")
                        and not any(ch in arg[2:] for ch in "^*+-/()|, ")))

        if "--" not in args:
            for k, arg in enumerate(args):
                # '--anything' is always an option (a misspelt one is click's to report)
                if (arg.startswith("-") and len(arg) > 1 and not arg.startswith("--")
                        and not is_option(arg) and (k == 0 or args[k - 1] not in takes_value)):
                    # A program such as "-x^2": move it behind '--' so click reads it as one.
                    args = args[:k] + args[k + 1:] + ["--", arg]
                    break
        return super().parse_args(ctx, args)


@click.command("gradient", cls=_Command, epilog=EXAMPLES, context_settings={
    "help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("program", required=False)
@click.option("-f", "--file", type=click.File("rb"),
              help="Read the program from FILE.")
@click.option("--at", "at", metavar="POINT", multiple=True,
              help="The point: x=-2,y=5 (values may be constant expressions: x=pi/4). "
                   "Repeat it for several points. Without it (and --points), print the "
                   "symbolic gradient. Arrays (at one point): W=[[1,2],[3,4]], a file "
                   "W=@w.npy, @f.npz:W or @w.csv, or W=zeros(m,n), ones(n), eye(n), "
                   "randn(m,n), rand(m,n), scaled as 0.01*randn(3,4).")
@click.option("--points", "points_file", metavar="FILE",
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Read points from a CSV or TSV file whose header names the variables "
                   "('-': standard input), one point per row, or from Parquet or Arrow files "
                   "(a name or a quoted glob: 'data/*.parquet'). With --at, the "
                   "values it gives hold for every row.")
@click.option("--keep-columns", is_flag=True,
              help="Copy the points file's other columns to the output (default: drop them).")
@click.option("--chunk-size", type=click.IntRange(1, 10_000_000), default=None, metavar="ROWS",
              help="Rows of a points file computed at a time (default 25000): memory stays "
                   "bounded by this, not by the file.")
@click.option("--save-points", metavar="FILE|DIR/",
              help="Write the rows to FILE instead of standard output, in the format its name "
                   "says: .parquet, .arrow/.feather (pip install 'gradcalc[data]'), .csv, .tsv. "
                   "With --scheduler, a new directory DIR/: one Parquet file per partition.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Compute the points (Parquet or Arrow files: --points 'data/*.parquet') on a "
                   "Dask cluster: tcp://HOST:PORT, or 'local' for a cluster of this machine's "
                   "cores started and stopped by gradcalc (pip install "
                   "'gradcalc[distributed]'). Needs --save-points DIR/.")
@click.option("--wrt", metavar="NAMES",
              help="Differentiate with respect to these (inputs or named statements); "
                   "default: every input.")
@click.option("-o", "--output", "output", metavar="NAME",
              help="Differentiate this named statement instead of the last one; several "
                   "(u,v) give one gradient each, or with --jacobian their Jacobian matrix.")
@click.option("--jacobian", is_flag=True,
              help="With -o u,v: the matrix ∂(outputs)/∂(variables), and its determinant when "
                   "square.")
@click.option("--format", "fmt",
              type=click.Choice(formats.names()),
              default=DEFAULTS.fmt, show_default=True,
              help="Output format. json: one object (an array for several points); jsonl: an "
                   "object per point per line; csv/tsv: a header row, then a row per point.")
@click.option("--digits", type=click.IntRange(1, 17), default=None,
              help="Significant digits shown (default: 6 in tables, full precision otherwise).")
@click.option("--check-timeout", type=click.FloatRange(0, 86400), default=DEFAULTS.check_timeout,
              show_default=True,
              metavar="SECONDS", help="Time allowed for SymPy before falling back to central "
                                      "differences.")
@click.option("--no-check", is_flag=True, envvar="GRADCALC_NO_CHECK",
              help="Skip the cross-check (and never import SymPy). GRADCALC_NO_CHECK=1 in the "
                   "environment does the same, for scripts.")
@click.option("--fast-math", is_flag=True,
              help="Many points (--points, several --at): sin, cos, exp, expm1 and log from "
                   "gradcalc's vector kernels, several times faster, each within 2 ulp of the "
                   "exact result, but not always the float a single-point run prints.")
@click.option("--no-symbolic", is_flag=True,
              help="Hide the SymPy formula column of the table (the check still runs).")
@click.option("--steps", is_flag=True,
              help="Show the backprop walkthrough: the forward pass node by node, the backward "
                   "pass edge by edge (upstream × local = downstream).")
@click.option("--graph", "graph_file", metavar="FILE",
              help="Draw the computational graph with values and gradients to FILE (.dot, or "
                   ".svg/.png/.pdf with Graphviz).")
@click.option("--html", "html_file", metavar="FILE",
              help="Write FILE.html: one self-contained page (no network) that steps through "
                   "the forward and backward passes in a browser, with the graph, each node's "
                   "chain rule, the gradient check and a descent step (one scalar point).")
@click.option("--rankdir", type=click.Choice(["auto", "LR", "TB"], case_sensitive=False),
              default=DEFAULTS.rankdir, show_default=True,
              help="Which way --graph draws: LR (inputs left, output right), TB (top to "
                   "bottom), or auto (whichever fits a 16:9 screen better).")
@click.option("--tree", is_flag=True, help="Show the graph as a tree in the terminal.")
@click.option("--hessian", is_flag=True,
              help="Second partials: the Hessian at the point, its eigenvalues and the "
                   "second-derivative test (minimum, maximum, saddle); symbolic without --at.")
@click.option("--direction", metavar="x=1,y=2",
              help="The directional derivative ∇f·v along v, by one forward pass of tangents "
                   "(forward mode); with --steps, the forward-mode walkthrough.")
@click.option("--implicit", metavar="Y",
              help="The program is an equation F(x, y) = 0 (left = right): dy/dx = -F_x/F_y "
                   "at the point, or symbolically (with --order 2, d²y/dx² too).")
@click.option("--order", type=int, default=None, metavar="N",
              help="Every distinct partial of order N (2: the Hessian's upper triangle), at the "
                   "point or symbolically.")
@click.option("--expect", "expect", metavar="ANSWERS", multiple=True,
              help="Check answers: f=-12,q=3,df/dz=3 (numbers, or expressions such as "
                   "df/dx=2*x*z, checked for equivalence). Exit 1 if any is wrong.")
@click.option("--exact", is_flag=True,
              help="Also compute the value and gradient exactly (x=1/3 stays 1/3) with SymPy.")
@click.option("--precision", type=click.IntRange(1, 10_000), metavar="DIGITS",
              help="Also compute the value and gradient with mpmath at DIGITS significant digits.")
@click.option("--tol", metavar="REL[,ABS]",
              help="Tolerance for numeric answers (default: as precise as the digits written).")
@click.option("--max-size", type=click.IntRange(0), default=DEFAULTS.max_size, show_default=True,
              metavar="CHARS", help="Longest program accepted (0: no limit).")
@click.option("--max-nodes", type=click.IntRange(0), default=DEFAULTS.max_nodes, show_default=True,
              metavar="N", help="Most graph nodes a program may have (0: no limit).")
@click.option("--max-depth", type=click.IntRange(0), default=DEFAULTS.max_depth, show_default=True,
              metavar="N", help="Deepest nesting of parentheses and calls (0: no limit).")
@click.option("--max-digits", type=click.IntRange(0), default=DEFAULTS.max_digits,
              show_default=True,
              metavar="N", help="Most digits of one exact number with --exact (0: no limit).")
@click.option("--max-memory", type=click.IntRange(0), default=DEFAULTS.max_memory,
              show_default=True,
              metavar="MB", help="Most memory the process may take (0: no limit).")
@click.option("--max-elements", type=click.IntRange(0), default=DEFAULTS.max_elements,
              show_default=True,
              metavar="N", help="Most entries of one input array (--at W=@w.npy, "
                                "randn(m, n)...), refused before any arithmetic (0: no limit).")
@click.option("--seed", type=click.IntRange(0), default=DEFAULTS.seed,
              show_default=True, metavar="N",
              help="Seed of randn(...) and rand(...) in --at values: the same seed gives the "
                   "same numbers on every run.")
@click.option("--save-gradients", metavar="DIR",
              help="Write the gradient of an array program to DIR/<name>.npy, one file per "
                   "input (float64, the input's shape); DIR is made if missing.")
@click.option("-q", "--quiet", is_flag=True, help="Silence warnings and notes (errors still "
                                                  "go to standard error).")
@click.option("--no-color", is_flag=True, help="No colour, even on a terminal (as NO_COLOR=1).")
@click.version_option(__version__, "--version", prog_name="gradcalc")
@click.pass_context
def gradient_command(ctx, **options):
    """Gradient of PROGRAM by reverse-mode automatic differentiation, cross-checked by SymPy.

    PROGRAM is an expression such as "z*(x+y)", or statements "q = x + y; f = z*q" separated by
    ';' or newlines. Use '-' to read it from standard input.
    """
    return start(Options(**options), own_process(ctx))
