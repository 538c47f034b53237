"""--format json and jsonl hold to the schema shipped in docs/schema.json (issue 14: one point
and several points carry the same keys; an error is an object too)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcalc.cli import main

jsonschema = pytest.importorskip("jsonschema")
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "schema.json").read_text())
SEED = ["z*(x+y)", "--at", "x=-2,y=5,z=-4"]


def validated(args, code=0, input=None):
    r = CliRunner().invoke(main, args, input=input)
    assert r.exit_code == code, r.output
    obj = json.loads(r.stdout)
    jsonschema.validate(obj, SCHEMA)
    return obj


@pytest.mark.parametrize("args", [
    SEED,
    [*SEED, "--steps"],
    [*SEED, "--no-check"],
    ["x^2*y", "--at", "x=1/3,y=3", "--exact"],
    ["x^2*y", "--at", "x=1/3,y=3", "--precision", "30"],
    [*SEED, "--expect", "f=-12,df/dx=-4"],
    [*SEED, "--direction", "x=1,y=0,z=0"],
    ["sqrt(x)^2", "--at", "x=0"],
])
def test_one_point(args):
    obj = validated([*args, "--format", "json"])
    assert obj["error"] is None and obj["output"] == "f"


def test_an_undetermined_partial_is_null_and_exit_1():
    obj = validated(["sqrt(x^2)", "--at", "x=0", "--format", "json"], code=1)
    assert obj["gradient"] == {"x": None}


def test_symbolic():
    obj = validated(["x*y", "--expect", "df/dx=y", "--format", "json"])
    assert obj["gradient"] == {"x": "y", "y": "x"} and obj["point"] is None


def test_several_points_carry_the_same_keys_as_one():
    one = validated([*SEED, "--format", "json"])
    rows = validated([*SEED, "--at", "x=1,y=2,z=3", "--format", "json"])
    assert len(rows) == 2 and rows[0]["value"] == one["value"] == -12.0
    shared = {"output", "point", "value", "gradient", "error", "check", "warnings"}
    assert shared <= set(one) and shared <= set(rows[0])
    assert rows[1]["gradient"] == {"x": 3.0, "y": 3.0, "z": 3.0}


def test_jsonl_rows_with_an_error_and_a_warning(tmp_path):
    (tmp_path / "p.csv").write_text("x,y\n1,2\n-1,2\n0,1\n")
    r = CliRunner().invoke(main, ["log(x)*y + abs(x)", "--points", str(tmp_path / "p.csv"),
                                  "--format", "jsonl", "--no-check"])
    assert r.exit_code == 1
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    for row in rows:
        jsonschema.validate([row], SCHEMA)
    assert rows[0]["error"] is None and rows[0]["value"] == 1.0
    assert rows[1]["value"] is None and "log(x) is undefined" in rows[1]["error"]
    assert rows[2]["value"] is None   # log(0)


def test_a_kink_in_a_row_is_that_rows_warning():
    rows = validated(["abs(x)", "--at", "x=0", "--at", "x=1", "--format", "json", "--no-check"])
    assert rows[0]["warnings"] and "not differentiable" in rows[0]["warnings"][0]
    assert rows[1]["warnings"] == []


@pytest.mark.parametrize("args, message", [
    (["x+", "--format", "json"], "expected a number, a name or '('"),
    (["log(x)", "--at", "x=-1", "--format", "json"], "log(x) is undefined"),
    (["x", "--at", "y=1", "--format", "json"], "no variable named y"),
])
def test_an_error_is_an_object_on_stdout(args, message):
    obj = validated(args, code=2)
    assert message in obj["error"] and obj["exit_code"] == 2 and obj["output"] is None


def test_an_infinite_local_derivative_is_strict_json():
    """sqrt(x^2) at 0 meets 0·∞ on the way: its --steps rows say "Infinity" as a string, which
    JSON.parse and jq read (a bare Infinity they refuse)."""
    r = CliRunner().invoke(main, ["sqrt(x^2)", "--at", "x=0", "--format", "json", "--steps"])
    def refuse(name):
        raise AssertionError(f"bare {name} in the JSON")
    obj = json.loads(r.stdout, parse_constant=refuse)
    assert "Infinity" in json.dumps(obj)


def test_save_points_and_scheduler_need_a_points_file():
    r = CliRunner().invoke(main, ["x*y", "--at", "x=1,y=2", "--save-points", "o.csv"])
    assert r.exit_code == 2 and "--save-points works with many points" in r.stderr
