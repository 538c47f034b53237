"""Whole-process time of the main job, against Python's own start-up and `import sympy`.

    python -m benchmarks.startup [--repeat 15]

Targets (issue 18, after issue 2's 120 ms and 100 ms): `gradcalc "z*(x+y)" --at x=-2,y=5,z=-4
--no-check` ≤ 80 ms (median); the default run (SymPy cross-check included) no more than 50 ms
above `python -c "import sympy"`. Wall time, and the CPU time of the process (user + system,
steadier on a shared machine). Uses the `gradcalc` console script installed next to this Python;
`python -X importtime -m gradcalc ...` shows what a run imports (tests/test_imports.py holds
what a --no-check run must not).

An editable install (``pip install -e``, as the benchmarks' own) adds a finder that Python's
start-up imports on every run (pathlib, importlib.util: about 25 ms here), which ``pip install
.`` users never pay. So when gradcalc is installed editable, every row runs in a throwaway
environment whose site-packages lists this one's and the project's directory as plain paths
(``plain_install``): the same code and packages, imported as a regular install imports them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time


def timed(cmd, repeat, cpu=None):
    """(min, median) wall ms of ``repeat`` runs; with a list ``cpu``, each run's CPU ms (user +
    system of the child) is appended to it. As users run it: with Python's bytecode cache (an
    environment that sets PYTHONDONTWRITEBYTECODE would compile every module on every run,
    which pip's installs never do), after one run that fills it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   env=env)
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                       env=env)
        times.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cpu is not None:
            cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                       * 1000)
    return min(times) * 1000, statistics.median(times) * 1000


SCRIPT = """#!{python}
import re
import sys
from gradcalc.cli import entry
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(entry())
"""   # the console script pip writes for ``gradcalc = gradcalc.cli:entry``


def editable() -> bool:
    """Whether gradcalc is installed editable (imported from outside site-packages)."""
    import gradcalc

    site = sysconfig.get_paths()["purelib"]
    return not os.path.abspath(gradcalc.__file__).startswith(os.path.abspath(site) + os.sep)


@contextlib.contextmanager
def plain_install():
    """(python, gradcalc console script) as a regular install runs them (see the docstring)."""
    if not editable():
        yield sys.executable, os.path.join(os.path.dirname(sys.executable), "gradcalc")
        return
    import gradcalc

    root = os.path.dirname(os.path.dirname(os.path.abspath(gradcalc.__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp], check=True)
        python = os.path.join(tmp, "bin", "python")
        site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                               "['purelib'])"], capture_output=True, text=True,
                              check=True).stdout.strip()
        with open(os.path.join(site, "gradcalc_bench.pth"), "w") as f:
            f.write(f"{root}\n{sysconfig.get_paths()['purelib']}\n")
        exe = os.path.join(tmp, "bin", "gradcalc")
        with open(exe, "w") as f:
            f.write(SCRIPT.format(python=python))
        os.chmod(exe, 0o755)
        yield python, exe


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    with plain_install() as (python, exe):
        _rows(python, exe, args.repeat)


def _rows(python: str, exe: str, repeat: int) -> None:
    seed = [exe, "z*(x+y)", "--at", "x=-2,y=5,z=-4"]
    rows = [
        ("python -c pass", [python, "-c", "pass"]),
        ("python -c 'import sympy'", [python, "-c", "import sympy"]),
        ("gradcalc seed --no-check (table)", seed + ["--no-check"]),
        ("gradcalc seed --no-check --format plain", seed + ["--no-check", "--format", "plain"]),
        ("gradcalc seed (default: table + SymPy)", seed),
        ("gradcalc seed --format json (SymPy)", seed + ["--format", "json"]),
    ]
    results = {}
    print(f"{'command':<42} {'min ms':>8} {'median ms':>10} {'CPU median':>11}")
    for label, cmd in rows:
        cpu: list[float] = []
        results[label] = (*timed(cmd, repeat, cpu), statistics.median(cpu))
        print(f"{label:<42} {results[label][0]:>8.0f} {results[label][1]:>10.0f} "
              f"{results[label][2]:>11.0f}")
    over = results["gradcalc seed (default: table + SymPy)"][1] - results[
        "python -c 'import sympy'"][1]
    print(f"\ndefault run minus `import sympy` (medians): {over:.0f} ms (target ≤ 50)")
    print(f"--no-check run (median): {results['gradcalc seed --no-check (table)'][1]:.0f} ms "
          "(target ≤ 80)")


if __name__ == "__main__":
    main()
