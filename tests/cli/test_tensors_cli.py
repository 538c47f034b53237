"""Arrays through the command line (issue 15, first slice): values and gradients against closed
forms computed with NumPy, nested lists in JSON, the numerical check, shape errors."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from gradcalc.cli import main

W = [[1.0, 2.0], [3.0, 4.0]]
X = [1.0, -1.0]
B = [0.5, 0.0]
AT = "W=[[1,2],[3,4]],x=[1,-1],b=[0.5,0]"


def run(args):
    return CliRunner().invoke(main, args)


def test_a_linear_layers_squared_norm_against_its_closed_form():
    r = run(["sum((W@x + b)^2)", "--at", AT, "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    w, x, b = np.array(W), np.array(X), np.array(B)
    h = w @ x + b
    assert out["value"] == float(h @ h) == 1.25
    assert out["gradient"] == {"W": (2 * np.outer(h, x)).tolist(), "x": (2 * w.T @ h).tolist(),
                               "b": (2 * h).tolist()}
    assert out["shapes"] == {"W": [2, 2], "x": [2], "b": [2]}
    assert out["check"]["method"] == "sympy"   # 8 entries: SymPy's, entry by entry
    assert out["check"]["status"] == "agree" and out["check"]["entries"] == 8
    assert max(out["check"]["rel_error"].values()) < 1e-8 and out["error"] is None


def test_linear_regression_gradient_is_2_xt_residual_over_n():
    at = "X=[[1,2],[3,4],[5,6]],w=[0.5,-1],y=[1,2,3]"
    r = run(["mean((X@w - y)^2)", "--at", at, "--format", "json", "--no-check"])
    out = json.loads(r.stdout)
    x, w, y = np.array([[1, 2], [3, 4], [5, 6.0]]), np.array([0.5, -1]), np.array([1, 2, 3.0])
    res = x @ w - y
    assert out["value"] == pytest.approx(float(res @ res / 3), rel=1e-15)
    assert np.allclose(out["gradient"]["w"], 2 * x.T @ res / 3, rtol=1e-15, atol=0)
    assert out["check"] == {"method": "none", "status": "skipped"}


def test_the_table_shows_small_arrays_whole_and_the_check():
    r = run(["sum((W@x + b)^2)", "--at", AT])
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    i = lines.index(next(line for line in lines if line.startswith("∂f/∂W (2×2)")))
    assert "✓ SymPy, entry by entry (4 entries)" in lines[i]
    assert lines[i + 1:i + 3] == ["  [[-1,  1],", "   [-2,  2]]"]
    assert "∂f/∂x (2)" in r.stdout and "  [ -7, -10]" in lines
    assert "✓ SymPy agrees, entry by entry" in r.stdout


def test_a_big_array_is_summarised_never_cut():
    at = "x=[" + ",".join(str(k / 7) for k in range(50)) + "]"
    r = run(["sum(x^2)", "--at", at, "--no-check"])
    assert r.exit_code == 0 and "…" not in r.stdout
    assert "50: min 0, max 14, norm" in r.stdout and "(every entry: --format json)" in r.stdout
    plain = run(["sum(x^2)", "--at", at, "--no-check", "--format", "plain"]).stdout
    assert plain.splitlines()[1].count(",") == 49     # plain keeps every entry


def test_plain():
    r = run(["sum((W@x + b)^2)", "--at", AT, "--format", "plain"])
    assert (r.exit_code, r.stdout) == (0, "f = 1.25\ndf/dW = [[-1, 1], [-2, 2]]\n"
                                          "df/dx = [-7, -10]\ndf/db = [-1, -2]\n"
                                          "check = SymPy agrees, entry by entry (8 entries)\n")


@pytest.mark.parametrize("args, message", [
    (["sum(W@x)", "--at", "W=[[1,2,3],[4,5,6]],x=[1,2]"], "cannot multiply W (2×3) by x (2)"),
    (["W@x", "--at", "W=[[1,2],[3,4]],x=[1,2]"], "is not a scalar"),
    (["sum(log(x))", "--at", "x=[1,-1]"], "log(x) is undefined at entry [1]"),
    (["sum(x)", "--at", "x=[[1,2],[3]]"], "ragged"),
    (["sum(x)"], "arrays need a point"),
    (["sum(x)", "--at", "x=[1,2]", "--tree"], "without --tree"),
    (["sum(x)", "--at", "x=[1,2]", "--format", "csv"], "--format csv does not carry"),
])
def test_bad_array_input_is_exit_2_with_a_message(args, message):
    r = run(args)
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output


def test_the_array_json_holds_to_the_schema():
    from pathlib import Path

    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).parents[2] / "docs" / "schema.json").read_text())
    for extra in ([], ["--no-check"]):
        r = run(["sum((W@x + b)^2)", "--at", AT, "--format", "json", *extra])
        jsonschema.validate(json.loads(r.stdout), schema)


# --- --jacobian: an array output, one backward pass per entry --------------------------------
def test_the_jacobian_of_a_linear_layer_is_w_and_the_identity():
    r = run(["W@x + b", "--at", AT, "--jacobian", "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    w, x = np.array(W), np.array(X)
    assert out["value"] == (w @ x + np.array(B)).tolist()
    assert out["gradient"]["x"] == W and out["gradient"]["b"] == [[1.0, 0.0], [0.0, 1.0]]
    # ∂f_i/∂W_jk = δ_ij x_k: the output's axis, then W's two
    assert np.array(out["gradient"]["W"]).tolist() == np.einsum(
        "ij,k->ijk", np.eye(2), x).tolist()
    assert out["check"]["method"] == "numerical" and out["check"]["status"] == "agree"
    from pathlib import Path

    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(out, json.loads(
        (Path(__file__).parents[2] / "docs" / "schema.json").read_text()))


def test_the_jacobian_of_softmax_is_diag_s_minus_s_st():
    s = np.array([1.0, 2.0, 3.0])
    p = np.exp(s) / np.exp(s).sum()
    r = run(["softmax(s)", "--at", "s=[1,2,3]", "--jacobian", "--format", "json"])
    assert r.exit_code == 0, r.output
    np.testing.assert_allclose(json.loads(r.stdout)["gradient"]["s"],
                               np.diag(p) - np.outer(p, p), rtol=1e-13, atol=1e-17)


def test_an_array_output_without_jacobian_says_how_to_ask_and_too_big_a_jacobian_is_refused():
    r = run(["softmax(s)", "--at", "s=[1,2,3]"])
    assert r.exit_code == 2
    assert "f is not a scalar but a 3 array" in r.stderr
    assert "reduce it, e.g. sum(softmax(s)) or mean(...), or ask for --jacobian" in r.stderr
    r = run(["x + 0", "--at", "x=zeros(1001)", "--jacobian"])
    assert r.exit_code == 2 and "f has 1,001 entries" in r.stderr
    r = run(["x * 2", "--at", "x=[1,2]", "--jacobian", "--steps"])
    assert r.exit_code == 2 and "--steps" in r.stderr


@pytest.mark.parametrize("width", [60, 200])
def test_arrays_fit_the_terminal_and_every_number_is_printed(width):
    w1 = np.arange(1, 21).reshape(4, 5) * -0.123456789
    at = "X=[[1,2,3,4],[5,6,7,8]],W1=" + json.dumps(w1.tolist()) + ",b1=[1,2,3,4,5]"
    r = CliRunner(env={"COLUMNS": str(width)}).invoke(main, ["sum(relu(X @ W1 + b1))", "--at", at])
    assert r.exit_code == 0, r.output
    assert max(len(line) for line in r.stdout.splitlines()) <= width
    assert "…" not in r.stdout
    for v in w1.ravel():   # every entry of W1, at the table's 6 digits, row after row
        assert f"{v:.6g}" in r.stdout
