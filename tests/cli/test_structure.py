"""The command line as a package (issue 14): the default command chosen by the first argument
alone, one guard for every command, the format registry, the header of a program file, and the
small things (GRADCALC_NO_CHECK, --no-symbolic, --rankdir, the hint about '-')."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gradcalc import formats
from gradcalc.cli import main

SEED = ["z*(x+y)", "--at", "x=-2,y=5,z=-4"]


def run(args, input=None, env=None):
    return CliRunner().invoke(main, args, input=input, env=env)


def test_a_program_named_like_a_command_goes_behind_dashes():
    r = run(["--", "check", "--at", "check=2", "--format", "plain", "--no-check"])
    assert (r.exit_code, r.stdout) == (0, "f = 2\ndf/dcheck = 1\n")


def test_the_first_argument_alone_chooses_the_command(tmp_path):
    problems = tmp_path / "p.toml"
    problems.write_text('[[problem]]\nprogram = "x^2"\nat = "x=3"\nexpect = "f=9"\n')
    r = run(["check", str(problems), "--format", "plain"])
    assert r.exit_code == 0 and r.stdout.splitlines()[-1] == "score: 1 of 1 answer right"
    # an option first: the gradient command, whatever comes after
    r = run(["--format", "plain", "--no-check", "--at", "fit=2", "fit"])
    assert (r.exit_code, r.stdout) == (0, "f = 2\ndf/dfit = 1\n")


def test_help_shows_the_gradient_command_as_gradcalc():
    r = CliRunner().invoke(main, ["--help"], prog_name="gradcalc")
    assert r.exit_code == 0 and "Usage: gradcalc [OPTIONS] [PROGRAM]" in r.stdout
    assert "gradcalc check examples/homework.toml" in r.stdout   # the other commands, named


@pytest.mark.parametrize("command, target", [
    (["check", "FILE"], "gradcalc.problems.load"),
    (["descend", "x^2", "--from", "x=1"], "gradcalc.optimize.descend"),
])
def test_a_bug_in_any_command_is_exit_3_without_a_traceback(monkeypatch, tmp_path, command,
                                                            target):
    module, name = target.rsplit(".", 1)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sys.modules[module] if module in sys.modules else
                        __import__(module, fromlist=[name]), name, broken)
    r = run([c if c != "FILE" else str(tmp_path / "p.toml") for c in command])
    assert r.exit_code == 3
    assert "internal error (RuntimeError: boom)" in r.stderr and "Traceback" not in r.output


def test_the_registry_lists_every_format_and_what_each_carries():
    assert formats.names() == ["table", "json", "jsonl", "csv", "tsv", "plain", "latex"]
    assert formats.get("csv").KINDS == {"point", "points"}
    with pytest.raises(Exception, match="--format latex does not carry several points"):
        formats.renderer("latex", "points")


def test_the_header_of_a_program_file_is_its_name_and_statements(tmp_path):
    prog = tmp_path / "model.gc"
    prog.write_text("# a comment line\nq = x + y   # sum\nf = z*q\n")
    r = run(["-f", str(prog), "--at", "x=-2,y=5,z=-4", "--no-check"])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[:3] == [f"program {prog}", "        q = x + y",
                                         "        f = z*q"]
    assert "comment" not in r.stdout


def test_GRADCALC_NO_CHECK_skips_the_check():
    r = run([*SEED, "--format", "json"], env={"GRADCALC_NO_CHECK": "1"})
    assert r.exit_code == 0 and json.loads(r.stdout)["check"]["method"] == "none"
    r = run([*SEED, "--format", "json"], env={"GRADCALC_NO_CHECK": "0"})
    assert json.loads(r.stdout)["check"]["method"] == "sympy"


def test_no_symbolic_hides_the_formula_column_but_keeps_the_marks():
    shown = run(SEED).stdout
    hidden = run([*SEED, "--no-symbolic"]).stdout
    assert "SymPy ∂f/∂var" in shown and "x + y" in shown
    assert "SymPy ∂f/∂var" not in hidden and "x + y" not in hidden
    assert hidden.count("✓") == shown.count("✓") == 4


@pytest.mark.parametrize("rankdir", ["LR", "TB", "tb"])
def test_rankdir(tmp_path, rankdir):
    r = run([*SEED, "--graph", str(tmp_path / "g.dot"), "--rankdir", rankdir, "--no-check"])
    assert r.exit_code == 0
    assert f"rankdir={rankdir.upper()}" in (tmp_path / "g.dot").read_text()


def test_a_piped_program_without_dash_gets_a_hint():
    p = subprocess.run([sys.executable, "-m", "gradcalc", "--at", "x=1"], input="x^2",
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr == ("error: no program given\nhint: a program is piped in: give '-' as "
                        "the program to read it\n")


def test_hints_name_the_option_typed(tmp_path):
    r = run(["descend", "x^2 + y^2", "--from", "x=1"])
    assert r.exit_code == 2 and r.stderr == (
        "error: --from gives no value for y\n"
        "hint: give every variable a value, e.g. --from x=1,y=1\n")
    r = run(["x*y", "--at", "x=1 y=2"])
    assert r.exit_code == 2 and r.stderr.startswith("error: --at entries are separated by commas")
    r = run(["fit", "(w*x - y)^2", "--data", "d.csv", "--params", "lp.json"])
    assert r.exit_code == 2 and "hint: to start from parameters --save wrote: --init lp.json" \
        in r.stderr


def test_fit_starts_from_saved_parameters(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n2,4\n3,6\n")
    saved = tmp_path / "p.json"
    saved.write_text(json.dumps({"params": {"w": 2.0}, "loss": 0.0}))
    r = run(["fit", "(w*x - y)^2", "--data", str(data), "--init", str(saved), "--epochs", "1",
             "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["initial"] == {"w": 2.0} and out["params"] == {"w": 2.0} and out["loss"] == 0.0
    assert out["initial_loss"] == 0.0 and out["warnings"] == []


def test_latex_through_the_command_line_honours_digits_exact_and_steps():
    r = run(["sin(pi/6)*x", "--at", "x=1", "--format", "latex", "--no-check"])
    assert r.exit_code == 0 and "0.49999999999999994" not in r.stdout
    assert r.stdout.splitlines()[2] == r"f &= \frac{x}{2} = 0.5 \\"
    r = run(["x^2*y", "--at", "x=1/3,y=3", "--format", "latex", "--exact", "--no-check"])
    assert r"\frac{\partial f}{\partial y} &= x^{2} = \frac{1}{9} \approx 0.111111" in r.stdout
    r = run(["q = x + y; f = z*q", "--at", "x=-2,y=5,z=-4", "--format", "latex", "--steps",
             "--no-check"])
    assert r.stdout.count(r"\begin{tabular}") == 2
    assert r"1 & $f \to z$ & $\partial(z \cdot q)/\partial z = q$ & $1 \times 3 = 3$ & $3$ \\" \
        in r.stdout
    r = run(["x/3", "--at", "x=1", "--format", "latex", "--digits", "3", "--no-check"])
    assert r"\frac{\partial f}{\partial x} &= \frac{1}{3} = 0.333" in r.stdout


def test_the_check_report_shows_programs_points_differences_and_an_honest_score(tmp_path):
    problems = tmp_path / "p.toml"
    problems.write_text(
        '[[problem]]\nname = "ok"\nprogram = "x^2"\nat = "x=3"\nexpect = ["f=9", "df/dx=6"]\n'
        '[[problem]]\nname = "wrong"\nprogram = "sin(x^2)"\nexpect = "df/dx = 2*x*sin(x^2)"\n'
        '[[problem]]\nname = "broken"\nprogram = "x^"\nexpect = ["f=1", "df/dx=2"]\n')
    r = run(["check", str(problems), "--format", "plain"])
    assert r.exit_code == 2
    lines = r.stdout.splitlines()
    assert lines[:3] == ["# 1. ok: 2 of 2 right", "# program: x^2", "# at: x=3"]
    assert "# at: no point (answers checked symbolically)" in lines
    wrong = next(line for line in lines if line.startswith("WRONG"))
    assert "differs at x = " in wrong and ": yours " in wrong and ", right " in wrong
    assert lines[-1] == "score: 2 of 5 answers right (2 not checked: 1 problem could not run)"
    obj = json.loads(run(["check", str(problems), "--format", "json"]).stdout)
    answer = obj["problems"][1]["answers"][0]
    x = answer["differs_at"]["x"]
    import math
    assert answer["yours_there"] == pytest.approx(2 * x * math.sin(x * x), rel=1e-9)
    assert answer["correct_there"] == pytest.approx(2 * x * math.cos(x * x), rel=1e-9)
    assert (obj["right"], obj["total"], obj["could_not_run"]) == (2, 5, 1)
    assert obj["problems"][0]["program"] == "x^2" and obj["problems"][0]["at"] == "x=3"
