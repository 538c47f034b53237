"""The command line, through click's runner and through the installed console script."""

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gradcalc import __version__, ops, records
from gradcalc.cli import main

SEED = ["z*(x+y)", "--at", "x=-2,y=5,z=-4"]


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input)


def as_json(args, input=None):
    r = run([*args, "--format", "json"], input)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_seed_example_json():
    out = as_json(SEED)
    assert out["output"] == "f"
    assert out["point"] == {"x": -2.0, "y": 5.0, "z": -4.0}
    assert out["value"] == -12.0
    assert out["gradient"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert out["check"]["method"] == "sympy"
    assert out["check"]["status"] == "agree"
    assert out["check"]["partials"]["z"] == {"status": "agree", "symbolic": "x + y", "value": 3.0}
    assert out["warnings"] == []


def test_json_keeps_full_precision():
    out = as_json(["1/(1+exp(-(w0*x0 + w1*x1 + w2)))", "--at", "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"])
    assert out["value"] == 0.7310585786300049
    assert out["gradient"]["w0"] == -0.19661193324148188


def test_seed_example_table():
    r = run(SEED)
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert "f = -12" in lines
    rows = {line.split()[0]: line.split() for line in lines if line.split()[:1] in (["x"],
                                                                                    ["y"], ["z"])}
    assert rows["x"][:3] == ["x", "-2", "-4"]
    assert rows["y"][:3] == ["y", "5", "-4"]
    assert rows["z"][:5] == ["z", "-4", "3", "x", "+"]
    assert all(row[-1] == "✓" for row in rows.values())
    assert "SymPy agrees" in r.stdout


def test_plain_format_and_digits():
    r = run([*SEED, "--format", "plain"])
    assert r.stdout == "f = -12\ndf/dx = -4\ndf/dy = -4\ndf/dz = 3\n"
    r = run(["sin(x)", "--at", "x=1", "--format", "plain", "--digits", "3", "--no-check"])
    assert r.stdout == "f = 0.841\ndf/dx = 0.54\n"


def test_table_digits():
    r = run(["sin(x)", "--at", "x=1", "--digits", "3", "--no-check"])
    assert "f = 0.841" in r.stdout
    assert "0.54" in r.stdout


def test_program_statements_and_wrt():
    out = as_json(["q = x + y; f = z*q", "--at", "x=-2,y=5,z=-4", "--wrt", "x,q"])
    assert out["gradient"] == {"x": -4.0, "q": -4.0}
    assert out["check"]["partials"]["q"]["value"] == -4.0


def test_output_option():
    out = as_json(["a = x*y\nb = a + 1", "--at", "x=2,y=3", "--output", "a"])
    assert (out["output"], out["value"], out["gradient"]) == ("a", 6.0, {"x": 3.0, "y": 2.0})


def test_leading_minus_needs_no_double_dash():
    out = as_json(["-x^2", "--at", "x=3"])
    assert (out["value"], out["gradient"]) == (-9.0, {"x": -6.0})
    out = as_json(["--at", "x=3", "-x^2"])
    assert out["value"] == -9.0
    r = run(["--at", "x=3", "--format", "plain", "--no-check", "--", "-x"])
    assert r.stdout == "f = -3\ndf/dx = -1\n"


def test_program_from_file_and_stdin(tmp_path):
    prog = tmp_path / "model.gc"
    prog.write_text("# a neuron\nq = x + y\nf = z*q\n", encoding="utf-8")
    assert as_json(["-f", str(prog), "--at", "x=-2,y=5,z=-4"])["value"] == -12.0
    assert as_json(["-", "--at", "x=-2,y=5,z=-4"], input="z*(x+y)\n")["value"] == -12.0


def test_at_values_may_be_constant_expressions():
    out = as_json(["sin(x)^2", "--at", "x=pi/4"])
    assert out["point"]["x"] == pytest.approx(0.7853981633974483)
    assert out["gradient"]["x"] == pytest.approx(1.0)


def test_symbolic_mode():
    r = run(["x^2*sin(y)", "--format", "json"])
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["point"] is None
    assert out["expression"] == "x^2*sin(y)"
    assert out["gradient"] == {"x": "2*x*sin(y)", "y": "x^2*cos(y)"}
    assert out["check"]["status"] == "agree"
    r = run(["x^2*sin(y)", "--format", "plain"])
    assert r.stdout == "f = x^2*sin(y)\ndf/dx = 2*x*sin(y)\ndf/dy = x^2*cos(y)\n"


def test_no_check():
    out = as_json([*SEED, "--no-check"])
    assert out["check"] == {"method": "none", "status": "skipped", "seconds": 0.0,
                            "reason": "--no-check", "partials": {}, "value": None,
                            "value_status": "skipped", "counts": {}}


def test_warnings_go_to_stderr():
    r = run(["relu(x)", "--at", "x=0", "--format", "json"])
    assert r.exit_code == 0
    assert "warning: relu(x) is not differentiable" in r.stderr
    assert json.loads(r.stdout)["warnings"][0].startswith("relu(x) is not differentiable")


@pytest.mark.parametrize("args, message", [
    (["maximum(x)", "--at", "x=1"], "error: maximum is not a function gradcalc knows"),
    (["log(x)", "--at", "x=-1"], "error: log(x) is undefined: it needs x > 0, but x = -1"),
    (["a*b + c", "--at", "b=1"], "error: no value for a, c"),
    (["x", "--at", "x=1,y"], "error: --at needs name=value"),
    (["x", "--at", "x=1", "--output", "g"], "error: no statement is named 'g'"),
    (["x", "--at", "x=(1"], "error: '(' is never closed"),
    (["x", "--at", "x=y+1"], "error: the value of x may not use variables"),
    ([], "error: no program given"),
])
def test_bad_input_exits_2_with_a_message(args, message):
    r = run(args)
    assert r.exit_code == 2
    assert message in r.stderr
    assert r.stdout == ""
    assert "Traceback" not in r.stderr


def test_caret_under_the_offending_spot():
    r = run(["q = x + y; f = z*log(q)", "--at", "x=-2,y=1,z=1"])
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    src_line = next(k for k, line in enumerate(lines) if "f = z*log(q)" in line)
    col = lines[src_line].index("log(q)")
    assert lines[src_line + 1].index("^") == col
    assert lines[src_line + 1].count("^") == len("log(q)")


def test_caret_in_the_at_option():
    r = run(["x", "--at", "x=2*(3+"])
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert lines[1].strip() == "x=2*(3+"
    assert lines[2].index("^") - lines[1].index("x=") == len("x=2*(3+")


def test_bad_option_exits_2():
    assert run([*SEED, "--format", "bogus"]).exit_code == 2
    assert run([*SEED, "--digits", "0"]).exit_code == 2


def test_disagreement_exits_1(monkeypatch):
    wrong = records.replace(ops.REGISTRY["mul"], partials=(
        lambda D, x, y, out: y, lambda D, x, y, out: 2 * x))
    monkeypatch.setitem(ops.REGISTRY, "mul", wrong)
    r = run([*SEED, "--format", "json"])
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["check"]["status"] == "disagree"
    # the broken rule is d(z*q)/dq, so x and y (through q) are wrong and z is right
    assert out["check"]["partials"]["x"]["status"] == "disagree"
    assert out["check"]["partials"]["z"]["status"] == "agree"
    assert "the cross-check disagrees on x, y" in r.stderr


def test_version_and_help():
    r = run(["--version"])
    assert r.exit_code == 0 and __version__ in r.stdout
    r = run(["--help"])
    assert r.exit_code == 0
    assert 'gradcalc "z*(x+y)" --at x=-2,y=5,z=-4' in r.stdout
    assert "Exit codes" in r.stdout


# --- the real console script, in a subprocess ---------------------------------------------------

def _script():
    exe = shutil.which("gradcalc", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe, "the gradcalc console script is not installed next to this Python"
    return exe


def test_console_script_seed_example():
    p = subprocess.run([_script(), *SEED, "--format", "plain"], capture_output=True, text=True)
    assert p.returncode == 0
    assert p.stdout == "f = -12\ndf/dx = -4\ndf/dy = -4\ndf/dz = 3\n"


def test_console_script_table_on_a_pipe_has_no_colour_codes():
    p = subprocess.run([_script(), *SEED], capture_output=True, text=True)
    assert p.returncode == 0
    assert "\x1b[" not in p.stdout
    assert "f = -12" in p.stdout


def test_console_script_error_and_stdin():
    p = subprocess.run([_script(), "-", "--at", "x=0"], input="1/x", capture_output=True,
                       text=True)
    assert p.returncode == 2
    assert p.stderr.splitlines()[:3] == ["error: 1/x is undefined: it needs a nonzero "
                                         "denominator, but x = 0",
                                         "  1/x", "  ^^^"]
    assert "Traceback" not in p.stderr


def test_python_dash_m():
    p = subprocess.run([sys.executable, "-m", "gradcalc", "-x^2", "--at", "x=3", "--format",
                        "plain", "--no-check"], capture_output=True, text=True)
    assert (p.returncode, p.stdout) == (0, "f = -9\ndf/dx = -6\n")


def test_no_check_never_imports_sympy():
    code = ("import sys\nfrom gradcalc.cli import main\n"
            "try:\n    main(['z*(x+y)', '--at', 'x=-2,y=5,z=-4', '--no-check'])\n"
            "except SystemExit as e:\n    assert e.code == 0\n"
            "print('sympy' in sys.modules, 'numpy' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.stdout.strip().splitlines()[-1] == "False False", p.stderr


def test_a_few_points_do_not_import_numpy_and_many_do():
    code = ("import sys\nfrom gradcalc.cli import main\n"
            "try:\n    main(['x*y', *sys.argv[1:], '--no-check', '--format', 'csv'])\n"
            "except SystemExit as e:\n    assert e.code == 0\n"
            "print('numpy' in sys.modules)")
    few = ["--at", "x=1,y=2", "--at", "x=3,y=4"]
    many = [a for k in range(100) for a in ("--at", f"x={k},y=1")]
    for args, imported in ((few, "False"), (many, "True")):
        p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        assert p.stdout.strip().splitlines()[-1] == imported, p.stderr


def test_symbolic_mode_on_a_too_deep_program_is_a_clean_error():
    r = run(["sin(" * 3000 + "x" + ")" * 3000])
    assert r.exit_code == 2
    assert "error: the symbolic gradient is too deep for SymPy" in r.stderr
    assert "--at" in r.stderr


def test_symbolic_mode_on_an_exploding_program_is_bounded():
    prog = "a0 = x; " + "; ".join(f"a{k} = sin(a{k-1}) + cos(a{k-1})" for k in range(1, 40))
    r = run([prog, "--check-timeout", "0.5"])
    assert r.exit_code == 2
    assert "error: the symbolic gradient did not finish in time" in r.stderr


def test_a_bug_is_reported_without_a_traceback(monkeypatch):
    import gradcalc.cli.point

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(gradcalc.cli.point, "point", broken)
    r = run(SEED)
    assert r.exit_code == 3
    assert "internal error (RuntimeError: boom)" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args, expected", [
    (["-omega^2", "--at", "omega=1"], "f = -1\ndf/domega = -2\n"),
    (["-f*x", "--at", "f=1,x=2"], "out = -2\ndout/df = -2\ndout/dx = -1\n"),
])
def test_programs_that_look_like_short_options(args, expected):
    r = run([*args, "--format", "plain", "--no-check"])
    assert (r.exit_code, r.stdout) == (0, expected)


def test_digits_apply_to_integers():
    r = run(["1111*x", "--at", "x=1111", "--digits", "2", "--format", "plain", "--no-check"])
    assert r.stdout == "f = 1.2e+06\ndf/dx = 1.1e+03\n"
