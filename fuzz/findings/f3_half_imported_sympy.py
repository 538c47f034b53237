"""F3: a deadline that fires during `import sympy` leaves SymPy half-imported for the process.

Run: python fuzz/findings/f3_half_imported_sympy.py [SECONDS]   (0.05-0.2 hit it on a quiet
machine; the import takes ~0.3 s). Prints the exit codes of three in-process CLI runs: the
first times out inside the import (exit 0, "could not check"), the next ones exit 3.
"""

import sys

from click.testing import CliRunner

from gradcalc.cli import main

runner = CliRunner()
timeout = sys.argv[1] if len(sys.argv) > 1 else "0.12"
for args in (["x^2", "--at", "x=1", "--check-timeout", timeout],
             ["sigm", "--format", "plain", "--no-check"],
             ["x^2", "--at", "x=1"]):
    r = runner.invoke(main, args)
    print(r.exit_code, args, r.output.strip().splitlines()[-1][:120])
