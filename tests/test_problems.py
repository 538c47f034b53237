"""problems.py on its own: loading a problem file (its keys and their types), running it (each
problem's report, in the file's own terms) and the score, without going through the command line."""

from pathlib import Path

import pytest

from gradcalc.errors import UsageError
from gradcalc.problems import ProblemReport, Score, load, run, score

EXAMPLE = str(Path(__file__).parent.parent / "examples" / "homework.toml")


@pytest.fixture
def write(tmp_path):
    """Write a problem file; return its path."""
    def write(text: str) -> str:
        path = tmp_path / "hw.toml"
        path.write_text(text, encoding="utf-8")
        return str(path)
    return write


def load_error(path: str) -> str:
    with pytest.raises(UsageError) as info:
        load(path)
    return info.value.render().replace(path, "FILE")


def one(write, body: str) -> ProblemReport:
    (report,) = run(load(write("[[problem]]\n" + body)))
    return report


# --- load --------------------------------------------------------------------------------------

def test_the_example_loads():
    problems = load(EXAMPLE)
    assert [p["program"] for p in problems] == [
        "q = x + y; f = z*q", "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))", "sin(x^2)",
        "b = a + a; c = b*b", "x^3 - 3*x + y^2"]


@pytest.mark.parametrize("text, message", [
    ('[[problem]]\nprogram = "x"\nexpectt = "f=1"\n',
     "error: FILE: problem 1 has an unknown key 'expectt'\n"
     "hint: did you mean expect? a problem's keys: name, program, at, expect, tol"),
    ('[[problem]]\nprogram = "x"\nexpect = "f=1"\n[[problem]]\nprogram = "x"\nexpect = "f=1"\n'
     'colour = "red"\n',
     "error: FILE: problem 2 has an unknown key 'colour'\n"
     "hint: a problem's keys: name, program, at, expect, tol"),
    ('[[problem]]\nprogram = "x"\nExpect = "f=1"\n',
     "error: FILE: problem 1 has an unknown key 'Expect'\n"
     "hint: did you mean expect? a problem's keys: name, program, at, expect, tol"),
    ('[[problem]]\nprogram = "x"\nexpect = "f=1"\npoint = "x=1"\n',
     "error: FILE: problem 1 has an unknown key 'point'\n"
     "hint: did you mean at? a problem's keys: name, program, at, expect, tol"),
    ('[[problem]]\nprogram = "x"\nanswers = "f=1"\n',
     "error: FILE: problem 1 has an unknown key 'answers'\n"
     "hint: did you mean expect? a problem's keys: name, program, at, expect, tol"),
    ('[[problems]]\nprogram = "x"\nexpect = "f=1"\n',
     "error: FILE has an unknown key 'problems'\n"
     "hint: did you mean problem? problems are [[problem]] tables"),
    ('title = "week 3"\n[[problem]]\nprogram = "x"\nexpect = "f=1"\n',
     "error: FILE has an unknown key 'title'\nhint: problems are [[problem]] tables"),
])
def test_an_unknown_key_is_named_with_the_closest_known_one(write, text, message):
    assert load_error(write(text)) == message


@pytest.mark.parametrize("body, message", [
    ('expect = "f=1"\n', 'error: FILE: problem 1 has no program = "..."'),
    ('program = 3\nexpect = "f=1"\n', 'error: FILE: problem 1 has no program = "..."'),
    ('program = "x"\n', "error: FILE: problem 1: expect must be a list of strings or one string\n"
                        'hint: write expect = ["f = -12", "df/dx = -4"]'),
    ('program = "x"\nexpect = 5\n',
     "error: FILE: problem 1: expect must be a list of strings or one string\n"
     'hint: write expect = ["f = -12", "df/dx = -4"]'),
    ('program = "x"\nexpect = []\n', "error: FILE: problem 1 has no expect = [...]"),
    ('program = "x"\nexpect = " , "\n', "error: FILE: problem 1 has no expect = [...]"),
    ('program = "x"\nexpect = "f=1"\nat = 1\n',
     'error: FILE: problem 1: at must be a string\nhint: write at = "x=1, y=2"'),
    ('program = "x"\nexpect = "f=1"\nat = {x = 1}\n',
     'error: FILE: problem 1: at must be a string\nhint: write at = "x=1, y=2"'),
    ('program = "x"\nexpect = "f=1"\ntol = true\n',
     "error: FILE: problem 1: tol must be a string or a number\n"
     'hint: write tol = "REL" or "REL,ABS", e.g. "1e-3"'),
])
def test_keys_of_the_wrong_type(write, body, message):
    assert load_error(write("[[problem]]\n" + body)) == message


def test_files_that_are_not_problem_sets(write, tmp_path):
    assert load_error(write("problem = 3\n")) == (
        "error: FILE has no [[problem]] tables\nhint: see examples/homework.toml for the format")
    assert load_error(write("problem = [1]\n")) == (
        "error: FILE: problem 1 is not a table\nhint: write [[problem]]")
    assert load_error(write("this is = not [toml")).startswith("error: FILE is not valid TOML: ")
    assert load_error(str(tmp_path / "none.toml")) == "error: FILE: No such file or directory"


# --- run ---------------------------------------------------------------------------------------

def test_the_example_runs_and_each_report_keeps_its_program_and_point():
    reports = run(load(EXAMPLE))
    assert [(r.name, r.right, r.answers, r.error) for r in reports] == [
        ("Chain rule warm-up (CS231n)", 5, 6, None),
        ("Sigmoid neuron", 6, 6, None),
        ("Symbolic derivative", 1, 1, None),
        ("Shared node", 2, 3, None),
        ("Classify the critical point (second derivatives)", 4, 4, None),
    ]
    assert [(r.program, r.at) for r in reports[2:4]] == [
        ("sin(x^2)", None), ("b = a + a; c = b*b", "a = 1.5")]
    (wrong,) = [v for v in reports[3].verdicts if not v.ok]
    assert (wrong.expectation.label, wrong.expectation.answer, wrong.correct) == (
        "dc/da", "6", "12")


def test_a_problem_that_cannot_run_keeps_its_texts_and_the_others_run(write):
    reports = run(load(write('[[problem]]\nname = "typo"\nprogram = "(x"\nat = "x=1"\n'
                             'expect = ["f = 1", "df/dx = 1"]\n'
                             '[[problem]]\nprogram = "x^2"\nat = "x=1"\nexpect = "df/dx = 2"\n')))
    assert [(r.name, r.program, r.at, r.answers, r.verdicts) for r in reports[:1]] == [
        ("typo", "(x", "x=1", 2, [])]
    assert reports[0].error.startswith("error: '(' is never closed")
    assert (reports[1].name, reports[1].right, reports[1].error) == ("problem 2", 1, None)


def test_a_number_without_a_point_says_a_point_is_needed(write):
    r = one(write, 'program = "x^2"\nexpect = ["df/dx = 2*x", "f = 9"]\n')
    assert r.error == ("error: expect f = 9: a number needs a point, and there is no at\n"
                       "  f = 9\n"
                       "      ^\n"
                       'hint: add at = "x=1", or answer with an expression in x')
    assert r.answers == 2


def test_without_a_point_a_constant_answer_and_an_expression_are_checked(write):
    r = one(write, 'program = "3*x^2"\nat = ""\nexpect = "df/dx = 6*x, d2f/dx2 = 6"\n')
    assert (r.at, r.error, [v.ok for v in r.verdicts]) == (None, None, [True, True])


@pytest.mark.parametrize("body, error", [
    ('program = "x*y"\nat = "x=1; y=2"\nexpect = "f=2"\n',
     "error: at entries are separated by commas\n  x=1; y=2\n     ^\n"
     'hint: write at = "x=1,y=2"'),
    ('program = "x*y"\nat = "x=1"\nexpect = "f=2"\n',
     "error: at gives no value for y\n"
     'hint: give every variable a value, e.g. at = "x=1, y=1"'),
    ('program = "x*y"\nat = "x=1,y=2"\nexpect = "f=2, df/dx"\n',
     "error: expect needs name=answer, not 'df/dx'\n  f=2, df/dx\n      ^^^^^^\n"
     'hint: write expect = ["f = -12", "df/dx = -4"]'),
    ('program = "x*y"\nat = "x=1,y=2"\nexpect = "g=2"\n',
     "error: expect g: the program has no statement g\nhint: statements: f; variables: x, y"),
    ('program = "x*y"\nat = "x=1,y=2"\nexpect = "f=2"\ntol = "much"\n',
     "error: write tol = \"REL\" or \"REL,ABS\", e.g. \"1e-3\", not 'much'"),
])
def test_messages_speak_of_the_files_keys(write, body, error):
    r = one(write, body)
    assert (r.error, r.verdicts) == (error, [])


def test_tol_may_be_a_toml_number(write):
    r = one(write, 'program = "x^2"\nat = "x=1"\nexpect = "df/dx = 2.01"\ntol = 0.01\n')
    assert [(v.ok, v.how) for v in r.verdicts] == [(True, "within rel 0.01, abs 0")]


# --- score -------------------------------------------------------------------------------------

def report(right: int, wrong: int = 0, error: str | None = None, answers: int = 0):
    """A report with ``right`` right and ``wrong`` wrong verdicts, or an error."""
    class V:
        def __init__(self, ok):
            self.ok = ok
    verdicts = [V(True)] * right + [V(False)] * wrong
    return ProblemReport("p", verdicts, error, answers=answers or len(verdicts))


def test_answers_of_problems_that_could_not_run_count_as_not_right():
    reports = [report(1), report(1), report(1), report(0, 1), report(0, 1),
               report(0, error="error: ...", answers=1), report(0, error="error: ...", answers=1)]
    s = score(reports)
    assert s == Score(right=3, total=7, could_not_run=2, not_checked=2)
    assert s.sentence == "3 of 7 answers right (2 not checked: 2 problems could not run)"


@pytest.mark.parametrize("reports, sentence", [
    ([report(2, 1)], "2 of 3 answers right"),
    ([report(1)], "1 of 1 answer right"),
    ([report(1), report(0, error="error: ...", answers=3)],
     "1 of 4 answers right (3 not checked: 1 problem could not run)"),
])
def test_score_sentences(reports, sentence):
    assert score(reports).sentence == sentence


def test_undecided_answers_count_in_the_total_as_not_right():
    assert score([report(1), ProblemReport("u", [type("V", (), {"ok": None})()], answers=1)]) == (
        Score(right=1, total=2, could_not_run=0, not_checked=0))


def test_the_score_of_a_file_with_a_broken_problem(write):
    reports = run(load(write('[[problem]]\nprogram = "x^2"\nat = "x=3"\nexpect = "f=9, df/dx=5"\n'
                             '[[problem]]\nprogram = "x^"\nexpect = ["f = 1", "df/dx = 2*x"]\n')))
    assert score(reports).sentence == (
        "1 of 4 answers right (2 not checked: 1 problem could not run)")
