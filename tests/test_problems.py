"""problems.py on its own: loading a problem file (its keys and their types)."""

from pathlib import Path

import pytest

from gradcalc.errors import UsageError
from gradcalc.problems import load

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
