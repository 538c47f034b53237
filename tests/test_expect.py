"""--expect: checking a student's answers, numbers and expressions."""

import json

import pytest
from click.testing import CliRunner

import gradcalc
from gradcalc.cli import main
from gradcalc.errors import UsageError
from gradcalc.expect import check_answers, split_answers

SEED = ["q = x + y; f = z*q", "--at", "x=-2,y=5,z=-4"]


def verdicts(src, answers, point=None, tol=None):
    f = gradcalc.parse(src)
    return {v.expectation.label: v for v in
            check_answers(f, split_answers(answers, f.output), point, tol)}


def test_the_issue_example_flags_exactly_q_and_dfdz():
    r = CliRunner().invoke(main, [*SEED, "--expect", "q=-3,f=-12,df/dz=-3", "--format", "json"])
    assert r.exit_code == 1
    got = {e["name"]: (e["ok"], e["correct"]) for e in json.loads(r.stdout)["expect"]}
    assert got == {"q": (False, "3"), "f": (True, "-12"), "df/dz": (False, "3")}


def test_all_right_exits_0():
    r = CliRunner().invoke(main, [*SEED, "--expect", "q=3", "--expect", "df/dx=-4,d/dz=3,df/dq=-4",
                                  "--format", "plain", "--no-check"])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[-4:] == ["right: q = 3", "right: df/dx = -4", "right: d/dz = 3",
                                          "right: df/dq = -4"]


def test_symbolic_answers_with_a_counterexample():
    v = verdicts("sin(x^2)", "df/dx=2*x*cos(x^2)")
    assert v["df/dx"].ok is True
    v = verdicts("sin(x^2)", "df/dx=2*cos(x^2)")
    assert v["df/dx"].ok is False
    assert v["df/dx"].correct == "2*x*cos(x^2)"
    assert v["df/dx"].counterexample.startswith("differs at x = ")


def test_equivalent_forms_are_accepted():
    v = verdicts("log(x^2)", "df/dx=2/x")
    assert v["df/dx"].ok is True and v["df/dx"].how in ("identical", "simplify")
    v = verdicts("sigmoid(x)", "df/dx=exp(-x)/(1+exp(-x))^2", {"x": 0.3})
    assert v["df/dx"].ok is True


def test_decimals_are_as_precise_as_written():
    src = "1/(1+exp(-(w0*x0 + w1*x1 + w2)))"
    pt = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    v = verdicts(src, "f=0.73,df/dw0=-0.1966,df/dx1=-0.58,df/dx0=0.393224", pt)
    assert [v[k].ok for k in ("f", "df/dw0", "df/dx1", "df/dx0")] == [True, True, False, True]
    assert v["df/dw0"].how == "to ±5e-05, the digits written"


def test_integers_and_fractions_are_exact():
    v = verdicts("x^2*y", "df/dx=2,df/dy=1/9,f=1/3", {"x": 1 / 3, "y": 3})
    assert all(x.ok for x in v.values())
    v = verdicts("x^2*y", "df/dy=0.1", {"x": 1 / 3, "y": 3})
    assert v["df/dy"].ok is True           # 0.1111 to one decimal
    v = verdicts("2.4*x", "df/dx=2", {"x": 1})
    assert v["df/dx"].ok is False          # "2" means 2, not 2.4 rounded


def test_explicit_tolerance():
    v = verdicts("x^2", "df/dx=2.01", {"x": 1}, tol=(1e-2, 0.0))
    assert v["df/dx"].ok is True
    v = verdicts("x^2", "df/dx=2.01", {"x": 1}, tol=(1e-3, 0.0))
    assert v["df/dx"].ok is False


def test_bad_answers_exit_2_with_a_caret():
    r = CliRunner().invoke(main, [*SEED, "--expect", "f=-12,df/dx=2*("])
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert lines[0].startswith("error: --expect df/dx: expected a number")
    assert lines[2].index("^") - lines[1].index("f=") == len("f=-12,df/dx=2*(")
    for bad, message in [("g=2", "no statement g"), ("df/dw=1", "the program has no w"),
                         ("df/dx=2*w", "the answer uses w"), ("f", "needs name=answer")]:
        with pytest.raises(UsageError, match=message):
            verdicts("q = x + y; f = z*q", bad, {"x": -2, "y": 5, "z": -4})


# --- --exact ------------------------------------------------------------------------------------

def test_exact_mode_gives_exact_values():
    r = CliRunner().invoke(main, ["x^2*y", "--at", "x=1/3,y=3", "--exact", "--format", "plain",
                                  "--no-check"])
    assert (r.exit_code, r.stdout) == (0, "f = 1/3\ndf/dx = 2\ndf/dy = 1/9\n")
    r = CliRunner().invoke(main, ["sin(x)*y", "--at", "x=pi/4,y=sqrt(2)", "--exact", "--format",
                                  "json", "--no-check"])
    out = json.loads(r.stdout)
    assert out["exact"] == {"value": "1", "gradient": {"x": "1", "y": "sqrt(2)/2"}}
    assert out["value"] == pytest.approx(1.0)


def test_exact_table_shows_exact_and_decimal():
    r = CliRunner(env={"COLUMNS": "120"}).invoke(main, ["x^2*y", "--at", "x=1/3,y=3", "--exact"])
    assert "at      x = 1/3 ≈ 0.333333, y = 3" in r.stdout
    assert "1/9 ≈ 0.111111" in r.stdout


def test_exact_mode_refuses_enormous_numbers_quickly():
    import time

    start = time.perf_counter()
    r = CliRunner().invoke(main, ["9^9^9^9*x", "--at", "x=1", "--exact"])
    assert time.perf_counter() - start < 5
    assert r.exit_code == 2
    assert "error:" in r.stderr


# --- --format latex -------------------------------------------------------------------------------

def test_latex_with_a_point():
    r = CliRunner().invoke(main, ["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--format", "latex",
                                  "--no-check"])
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [
        "% at x = -2, y = 5, z = -4",
        r"\begin{align*}",
        r"f &= z \left(x + y\right) = -12 \\",
        r"\frac{\partial f}{\partial x} &= z = -4 \\",
        r"\frac{\partial f}{\partial y} &= z = -4 \\",
        r"\frac{\partial f}{\partial z} &= x + y = 3",
        r"\end{align*}",
    ]


def test_latex_symbolic():
    r = CliRunner().invoke(main, ["x^2*sin(w1)", "--format", "latex"])
    assert r.exit_code == 0
    assert r"\frac{\partial f}{\partial w_{1}} &= x^{2} \cos{\left(w_{1} \right)}" in r.stdout


# --- --precision ----------------------------------------------------------------------------------

def test_precision_digits():
    r = CliRunner().invoke(main, ["sqrt(x)", "--at", "x=2", "--precision", "50", "--format",
                                  "plain", "--no-check"])
    assert r.exit_code == 0
    assert r.stdout == ("f = 1.4142135623730950488016887242096980785696718753769\n"
                        "df/dx = 0.35355339059327376220042218105242451964241796884424\n")


def test_precision_on_the_neuron_agrees_with_exact_arithmetic():
    import sympy

    src = "1/(1+exp(-(w0*x0 + w1*x1 + w2)))"
    r = CliRunner().invoke(main, [src, "--at", "w0=2,x0=-1,w1=-3,x1=-2,w2=-3", "--precision",
                                  "40", "--format", "json", "--no-check"])
    out = json.loads(r.stdout)["precision"]
    s = 1 / (1 + sympy.exp(-1))
    assert out["value"] == str(sympy.N(s, 40))
    assert out["gradient"]["w2"] == str(sympy.N(s * (1 - s), 40))


def test_precision_literals_are_decimal():
    r = CliRunner().invoke(main, ["0.1*x", "--at", "x=1/3", "--precision", "30", "--format",
                                  "plain", "--no-check"])
    assert r.stdout == "f = 0.0333333333333333333333333333333\ndf/dx = 0.1\n"


# --- gradcalc check FILE.toml ----------------------------------------------------------------

EXAMPLE = str(__import__("pathlib").Path(__file__).parent.parent / "examples" / "homework.toml")


def run_check(args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "gradcalc", "check", *args], capture_output=True,
                          text=True)


def test_problem_set_example_report_and_score():
    p = run_check([EXAMPLE, "--format", "json"])
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert (out["right"], out["total"]) == (18, 20)
    wrong = [(prob["name"], a["name"], a["correct"]) for prob in out["problems"]
             for a in prob["answers"] if not a["ok"]]
    assert wrong == [("Chain rule warm-up (CS231n)", "df/dz", "3"), ("Shared node", "dc/da", "12")]


def test_problem_set_all_right_and_broken_problems(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[[problem]]\nprogram = "x^2"\nat = "x=3"\nexpect = "f=9, df/dx=6"\n')
    p = run_check([str(good), "--format", "plain"])
    assert (p.returncode, p.stdout.splitlines()[-1]) == (0, "score: 2 of 2 answers right")
    broken = tmp_path / "broken.toml"
    broken.write_text('[[problem]]\nprogram = "(x"\nexpect = "f=1"\n'
                      '[[problem]]\nprogram = "x^2"\nat = "x=1"\nexpect = ["df/dx = 2"]\n')
    p = run_check([str(broken), "--format", "json"])
    assert p.returncode == 2
    out = json.loads(p.stdout)
    assert out["problems"][0]["error"].startswith("error: '(' is never closed")
    assert out["problems"][1]["right"] == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = not [toml")
    p = run_check([str(bad)])
    assert p.returncode == 2 and "is not valid TOML" in p.stderr


def test_latex_carries_the_answers():
    r = CliRunner().invoke(main, ["sin(x^2)", "--format", "latex", "--expect",
                                  "df/dx=2*cos(x^2)"])
    assert r.exit_code == 1
    assert r.stdout.splitlines()[-1].startswith(
        "% WRONG: df/dx = 2*cos(x^2) (correct: 2*x*cos(x^2)); differs at x = ")



# --- second acceptance review: verdicts that were wrong -------------------------------------------

@pytest.mark.parametrize("src, answer, at, ok", [
    ("relu(x-5)", "df/dx=0", None, False),            # differs only past 5
    ("relu(x-1000)", "df/dx=0", None, False),         # ... or past 1000
    ("x^2", "df/dx=2*x+relu(x-4)", {"x": 5}, False),  # wrong at the user's own point
    ("log(x)", "df/dx=1/abs(x)", None, True),         # right wherever log(x) is defined
    ("x", "f=1+1e-10*x", None, False),                # tight tolerance for expressions
    ("q = x + y; f = z*q", "df/dz=q", None, True),    # an answer may name a statement
    ("x", "f=2e-3", {"x": 0.0024}, True),             # 2e-3 is as precise as 0.002
])
def test_symbolic_verdicts(src, answer, at, ok):
    assert verdicts(src, answer, at)[answer.split("=")[0]].ok is ok


def test_exact_and_precision_print_every_digit():
    r = CliRunner().invoke(main, ["x^10000", "--at", "x=1/3", "--exact", "--format", "plain",
                                  "--no-check"])
    assert r.exit_code == 0 and len(r.stdout) > 9000
    r = CliRunner().invoke(main, ["x", "--at", "x=1/3", "--precision", "5000", "--format",
                                  "plain", "--no-check"])
    assert r.exit_code == 0 and r.stdout.startswith("f = 0.3333") and len(r.stdout) > 5000


def test_exact_needs_a_point():
    r = CliRunner().invoke(main, ["x^2", "--exact"])
    assert r.exit_code == 2 and "--exact needs a point" in r.stderr


def test_problem_file_that_is_not_utf8(tmp_path):
    bad = tmp_path / "g.toml"
    bad.write_bytes(b"\xff\xfe")
    p = run_check([str(bad)])
    assert p.returncode == 2 and "is not valid TOML" in p.stderr
    tol = tmp_path / "tol.toml"
    tol.write_text('[[problem]]\nprogram = "x"\nat = "x=1"\nexpect = "f=1"\ntol = "abc"\n')
    p = run_check([str(tol), "--format", "plain"])
    assert p.returncode == 2 and "write tol = " in p.stdout


# --- a wrong expression carries numbers; where the answers came from -----------------------------

def test_a_wrong_expression_at_the_users_point_carries_the_two_values_there():
    v = verdicts("x^2", "df/dx=2*x+relu(x-4)", {"x": 5})["df/dx"]
    assert (v.ok, v.how, v.counterexample) == (False, "the point", "differs at x = 5")
    assert (v.differs_at, v.yours_there, v.correct_there) == ({"x": 5.0}, 11.0, 10.0)


def test_a_wrong_expression_at_a_random_point_carries_the_two_values_there():
    v = verdicts("x^2*y", "df/dx=2*x")["df/dx"]
    assert (v.ok, v.how) == (False, "random points")
    assert v.counterexample == "differs at x = -0.01, y = -0.07"
    assert v.differs_at == {"x": -0.01, "y": -0.07}
    assert v.yours_there == -0.02
    assert v.correct_there == pytest.approx(2 * -0.01 * -0.07, rel=1e-15)


def test_right_and_numeric_verdicts_carry_no_counterexample():
    v = verdicts("sin(x^2)", "df/dx=2*x*cos(x^2)")["df/dx"]
    w = verdicts("x^2", "df/dx=3", {"x": 1})["df/dx"]
    for x in (v, w):
        assert (x.counterexample, x.differs_at, x.yours_there, x.correct_there) == (
            None, None, None, None)


def answers_error(src, text, point=None, **kw) -> str:
    f = gradcalc.parse(src)
    with pytest.raises(UsageError) as info:
        check_answers(f, split_answers(text, f.output, "expect"), point, **kw)
    return info.value.render()


@pytest.mark.parametrize("src, text, message", [
    ("x^2", "f", "error: expect needs name=answer, not 'f'\n  f\n  ^\n"
                 'hint: write expect = ["f = -12", "df/dx = -4"]'),
    ("x^2", "2f=1", "error: expect: '2f' is neither a name nor a partial like df/dx\n"
                    "  2f=1\n  ^^"),
    ("x^2", "g=1", "error: expect g: the program has no statement g\n"
                   "hint: statements: f; variables: x"),
    ("x^2", "df/dx=2*(", "error: expect df/dx: expected a number, a name or '(' but found the "
                         "end of the input\n  df/dx=2*(\n           ^"),
    ("x^2", "df/dx=2*w", "error: expect df/dx=2*w: the answer uses w, which the program does "
                         "not have"),
    ("x^2*y", "f''=1", "error: expect f'': primes mean the derivative in the one variable, but "
                       "the program has 2\nhint: write d2f/dxdy instead"),
    ("x^2*y", "d3f/dx2=1", "error: expect d3f/dx2: the order (3) and the variables below (2) "
                           "do not match"),
])
def test_messages_name_the_problem_files_key(src, text, message):
    assert answers_error(src, text, {"x": 1.0, "y": 1.0}) == message


def test_the_command_lines_wording_is_the_default():
    with pytest.raises(UsageError, match="^--expect needs name=answer") as info:
        split_answers("f", "f")
    assert info.value.hint == "write --expect f=-12,df/dx=-4"
    f = gradcalc.parse("x^2")
    (e,) = split_answers("g=1", "f")
    with pytest.raises(UsageError, match="^--expect g: the program has no statement g$"):
        check_answers(f, [e], {"x": 1.0})


def test_a_number_without_a_point_names_the_answer_and_the_key():
    assert answers_error("x^2+y", "df/dx=2*x, f=9", point_option="at") == (
        "error: expect f = 9: a number needs a point, and there is no at\n"
        "  df/dx=2*x, f=9\n"
        "               ^\n"
        'hint: add at = "x=1, y=1", or answer with an expression in x, y')
    assert answers_error("x^3", "d2f/dx2=6", point_option="at").splitlines()[0] == (
        "error: expect d2f/dx2 = 6: a number needs a point, and there is no at")


def test_a_number_without_a_point_is_fine_where_the_answer_is_constant():
    f = gradcalc.parse("3*x")
    got = check_answers(f, split_answers("df/dx=3, d2f/dx2=1", "f", "expect"), None,
                        point_option="at")
    assert [(v.ok, v.correct) for v in got] == [(True, "3"), (False, "0")]


def test_on_the_command_line_a_number_without_a_point_is_compared_as_a_function():
    v = verdicts("x^2", "f=9")["f"]
    assert (v.ok, v.differs_at, v.yours_there, v.correct_there) == (
        False, {"x": -0.01}, 9.0, pytest.approx(1e-4, rel=1e-12))
