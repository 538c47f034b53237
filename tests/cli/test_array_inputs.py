"""Array inputs through the command line (issue 15): --at W=@w.npy, @f.npz:W, @w.csv, the
constructors zeros/ones/eye/randn/rand with --seed, --max-elements and --save-gradients. Values
are compared with closed forms and NumPy's own draws; hostile files are refused with the file,
the reason and a caret, exit 2."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gradcalc.arrays_io import Draws
from gradcalc.cli import main
from gradcalc.errors import UsageError
from gradcalc.points import parse_point

W = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, 0.5]])
X = np.array([1.0, -1.0, 2.0])


def run(args):
    return CliRunner().invoke(main, args)


def gradient(args) -> dict:
    r = run([*args, "--format", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def refused(args) -> str:
    r = run(args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.stdout == ""
    return r.stderr


def linear_layer_checked(out, w=W, x=X):
    """sum(W @ x): the value 1ᵀWx, dW = outer(1, x), dx = Wᵀ1."""
    assert out["value"] == pytest.approx(float(np.ones(len(w)) @ w @ x), rel=1e-15)
    assert np.array_equal(out["gradient"]["W"], np.outer(np.ones(len(w)), x))
    assert np.allclose(out["gradient"]["x"], w.T @ np.ones(len(w)), rtol=1e-15, atol=0)
    assert out["shapes"]["W"] == list(w.shape)


# --- files ------------------------------------------------------------------------------------

def test_an_npy_file_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("w1.npy", W)
    out = gradient(["sum(W @ x)", "--at", "W=@w1.npy,x=[1,-1,2]"])
    linear_layer_checked(out)
    assert out["point"]["W"] == W.tolist() and out["check"]["status"] == "agree"


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint16, np.float32, np.float16])
def test_integers_and_small_floats_become_float64(tmp_path, dtype):
    np.save(tmp_path / "w.npy", W.astype(dtype) if dtype != np.uint16 else np.abs(W) * 2)
    expected = (W.astype(dtype) if dtype != np.uint16 else np.abs(W) * 2).astype(np.float64)
    out = gradient(["sum(W @ x)", "--at", f"W=@{tmp_path / 'w.npy'},x=[1,-1,2]"])
    assert out["point"]["W"] == expected.tolist()
    linear_layer_checked(out, expected)


def test_a_bool_npy_and_a_fortran_ordered_one(tmp_path):
    np.save(tmp_path / "b.npy", np.array([True, False, True]))
    out = gradient(["sum(b*x)", "--at", f"b=@{tmp_path / 'b.npy'},x=[1,-1,2]", "--wrt", "x"])
    assert out["gradient"]["x"] == [1.0, 0.0, 1.0]
    np.save(tmp_path / "f.npy", np.asfortranarray(W))
    out = gradient(["sum(W @ x)", "--at", f"W=@{tmp_path / 'f.npy'},x=[1,-1,2]"])
    assert out["point"]["W"] == W.tolist()


def test_an_npz_member_by_name_by_the_variables_name_or_the_only_one(tmp_path):
    np.savez(tmp_path / "f.npz", weights=W, W=2 * W, x=X)
    f = tmp_path / "f.npz"
    out = gradient(["sum(W @ x)", "--at", f"W=@{f}:weights,x=@{f}:x"])
    linear_layer_checked(out)
    out = gradient(["sum(W @ x)", "--at", f"W=@{f},x=@{f}"])     # the member named W, and x
    linear_layer_checked(out, 2 * W)
    np.savez_compressed(tmp_path / "one.npz", only=W)
    out = gradient(["sum(W @ x)", "--at", f"W=@{tmp_path / 'one.npz'},x=[1,-1,2]"])
    linear_layer_checked(out)


def test_a_csv_matrix_a_whitespace_txt_and_a_one_row_vector(tmp_path):
    (tmp_path / "w.csv").write_text("1, 2, -1\n3,4,0.5\n")
    (tmp_path / "w.txt").write_text("# weights\n1 2\t-1\n\n3   4 0.5  # row 2\n")
    (tmp_path / "x.csv").write_text("1,-1,2\n")
    (tmp_path / "xcol.txt").write_text("1\n-1\n2\n")
    for w, x in (("w.csv", "x.csv"), ("w.txt", "xcol.txt")):
        out = gradient(["sum(W @ x)", "--at", f"W=@{tmp_path / w},x=@{tmp_path / x}"])
        linear_layer_checked(out)
        assert out["shapes"] == {"W": [2, 3], "x": [3]}


def test_a_file_of_one_number_is_a_scalar(tmp_path):
    (tmp_path / "c.txt").write_text("2.5\n")
    out = gradient(["sum(c*x)", "--at", f"c=@{tmp_path / 'c.txt'},x=[1,2]"])
    assert out["point"]["c"] == 2.5 and out["gradient"] == {"c": 3.0, "x": [2.5, 2.5]}


# --- constructors and --seed ------------------------------------------------------------------

def test_randn_draws_numpys_default_rng_in_the_order_written():
    out = gradient(["sum(A*B) + sum(u)", "--at", "A=randn(2,3),u=rand(4),B=randn(2,3)",
                    "--seed", "7"])
    rng = np.random.default_rng(7)
    a, u, b = rng.standard_normal((2, 3)), rng.random(4), rng.standard_normal((2, 3))
    assert out["point"] == {"A": a.tolist(), "u": u.tolist(), "B": b.tolist()}
    assert out["gradient"]["A"] == b.tolist() and out["gradient"]["B"] == a.tolist()
    assert not np.array_equal(a, b)


def test_the_default_seed_is_0_runs_repeat_and_seeds_differ():
    args = ["sum(W@x)", "--at", "W=randn(3,2),x=randn(2)", "--no-check"]
    first, again = gradient(args), gradient(args)
    assert first == again
    rng = np.random.default_rng(0)
    assert first["point"]["W"] == rng.standard_normal((3, 2)).tolist()
    assert first == gradient([*args, "--seed", "0"])
    other = gradient([*args, "--seed", "1"])
    assert other["point"]["W"] != first["point"]["W"]
    assert other["point"]["W"] == np.random.default_rng(1).standard_normal((3, 2)).tolist()


def test_zeros_ones_eye_and_scaled_constructors():
    out = gradient(["sum(I@x) + sum(Z) + sum(O*S)", "--at",
                    "I=eye(3),x=ones(3),Z=zeros(2,3),O=ones(2),S=0.01*randn(2)", "--no-check"])
    assert out["point"]["I"] == np.eye(3).tolist() and out["point"]["x"] == [1.0] * 3
    assert out["point"]["Z"] == np.zeros((2, 3)).tolist()
    assert out["point"]["S"] == (0.01 * np.random.default_rng(0).standard_normal(2)).tolist()
    assert out["gradient"]["x"] == [1.0, 1.0, 1.0] and out["gradient"]["Z"] == [[1.0] * 3] * 2
    neg = gradient(["sum(N) + sum(M) + sum(Q)", "--at",
                    "N=-ones(2,2),M=-2*ones(2),Q=pi/4 * zeros(1)", "--no-check", "--wrt", "N"])
    assert neg["point"]["N"] == [[-1.0, -1.0], [-1.0, -1.0]] and neg["point"]["M"] == [-2, -2]
    assert neg["point"]["Q"] == [0.0]   # never -0.0


# --- --max-elements ---------------------------------------------------------------------------

def test_an_array_over_the_limit_is_refused_before_it_is_made():
    # 10^10 entries would be 80 GB: the refusal comes from the shape alone
    err = refused(["sum(W)", "--at", "W=randn(100000,100000)"])
    assert err == ("error: W (100000×100000) has 10,000,000,000 entries, more than "
                   "--max-elements allows (10,000,000)\n"
                   "  W=randn(100000,100000)\n"
                   "    ^^^^^^^^^^^^^^^^^^^^\n"
                   "hint: raise the limit: --max-elements 10000000000 (0: no limit)\n")


def test_the_limit_holds_for_files_and_literals_and_can_be_raised(tmp_path):
    np.save(tmp_path / "w.npy", W)
    (tmp_path / "w.csv").write_text("1,2,-1\n3,4,0.5\n")
    for value in (f"@{tmp_path / 'w.npy'}", "[[1,2,-1],[3,4,0.5]]", "ones(2,3)"):
        err = refused(["sum(W)", "--at", f"W={value}", "--max-elements", "5"])
        assert "W (2×3) has 6 entries, more than --max-elements allows (5)" in err
        assert "hint: raise the limit: --max-elements 6" in err
        for limit in ("6", "0"):
            assert gradient(["sum(W)", "--at", f"W={value}", "--max-elements", limit])[
                "gradient"]["W"] == [[1.0] * 3] * 2
    err = refused(["sum(W)", "--at", f"W=@{tmp_path / 'w.csv'}", "--max-elements", "5"])
    assert "has more entries than --max-elements allows (5): 2×3 by line 2" in err


def test_an_npy_header_claiming_a_huge_array_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.npy"
    with path.open("wb") as f:   # a header only: 10^12 float64 entries, no data
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    err = refused(["sum(W)", "--at", f"W=@{path}"])
    assert "W (1000000×1000000) has 1,000,000,000,000 entries" in err
    err = refused(["sum(W)", "--at", f"W=@{path}", "--max-elements", "0"])
    assert err.startswith(f"error: {path} is cut short: its header promises a 1000000×1000000 "
                          "array of float64 (8,000,000,000,000 bytes), but 0 bytes follow it")


# --- --save-gradients -------------------------------------------------------------------------

def test_saved_gradients_equal_the_json_ones(tmp_path):
    target = tmp_path / "out" / "grads"   # made, parents too
    args = ["sum((W@x + b)^2)", "--at", "W=randn(4,3),x=randn(3),b=0.1*ones(4)"]
    r = run([*args, "--format", "json", "--save-gradients", str(target)])
    assert r.exit_code == 0 and r.stderr == f"wrote 3 gradients to {target}\n"
    out = json.loads(r.stdout)
    assert sorted(p.name for p in target.iterdir()) == ["W.npy", "b.npy", "x.npy"]
    for name, g in out["gradient"].items():
        saved = np.load(target / f"{name}.npy", allow_pickle=False)
        assert saved.dtype == np.float64 and saved.shape == tuple(out["shapes"][name])
        assert saved.tolist() == g
    w, x, b = (np.array(out["point"][k]) for k in "Wxb")
    assert np.allclose(np.load(target / "W.npy"), 2 * np.outer(w @ x + b, x), rtol=1e-14)


def test_save_gradients_with_wrt_a_scalar_and_quiet(tmp_path):
    r = run(["sum(c*x)", "--at", "c=2,x=[1,2]", "--wrt", "c", "--quiet",
             "--save-gradients", str(tmp_path)])
    assert r.exit_code == 0 and r.stderr == "" and [p.name for p in tmp_path.iterdir()] == [
        "c.npy"]
    saved = np.load(tmp_path / "c.npy")
    assert saved.shape == () and float(saved) == 3.0


def test_the_summary_of_a_big_gradient_points_to_save_gradients():
    r = run(["sum(x^2)", "--at", "x=ones(50)", "--no-check"])
    assert r.exit_code == 0
    lines = r.stdout.replace("\n", " ")
    assert "(every entry: --format json)" in lines      # the input's summary
    assert "(every entry: --format json or --save-gradients DIR)" in " ".join(lines.split())


@pytest.mark.parametrize("args, message", [
    (["x^2", "--at", "x=1", "--save-gradients", "g"], "writes the gradients of array inputs"),
    (["sum(x)", "--at", "x=[1]", "--at", "x=[2]", "--save-gradients", "g"],
     "writes the gradient of an array program at one point"),
    (["sum(x)", "--at", "x=[1]", "--hessian", "--save-gradients", "g"],
     "writes the gradient of an array program at one point"),
])
def test_save_gradients_elsewhere_is_refused(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert message in refused(args) and not (tmp_path / "g").exists()


def test_a_file_in_the_way_of_the_directory(tmp_path):
    (tmp_path / "g").write_text("")
    err = refused(["sum(x)", "--at", "x=[1,2]", "--save-gradients", str(tmp_path / "g")])
    assert "a file of that name is in the way" in err


# --- hostile and mistaken inputs --------------------------------------------------------------

class _Trap:
    """Unpickling this touches a marker file: proof that a loader ran pickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_pickled_object_array_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "evil.npy"
    np.save(path, np.array([_Trap(marker), 1], dtype=object), allow_pickle=True)
    err = refused(["sum(W)", "--at", f"W=@{path}"])
    assert f"{path} holds Python objects (dtype object), not numbers" in err
    assert "never unpickles" in err and not marker.exists()
    with path.open("rb") as f:   # the trap is live: pickle would have sprung it
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        pickle.load(f)
    assert marker.exists()


def test_a_pickled_npz_member_is_refused_too(tmp_path):
    marker = tmp_path / "unpickled"
    np.savez(tmp_path / "e.npz", W=np.array([_Trap(marker)], dtype=object))
    err = refused(["sum(W)", "--at", f"W=@{tmp_path / 'e.npz'}:W"])
    assert "e.npz:W holds Python objects (dtype object)" in err and not marker.exists()


@pytest.mark.parametrize("array, said", [
    (np.array(["a", "bc"]), "holds text (dtype <U2), not numbers"),
    (np.array([b"a"]), "holds bytes (dtype |S1), not numbers"),
    (np.array([1 + 2j]), "holds complex numbers (dtype complex128), not numbers"),
    (np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]), "holds records (a structured array)"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), "holds dates"),
])
def test_arrays_that_are_not_numbers(tmp_path, array, said):
    np.save(tmp_path / "w.npy", array)
    err = refused(["sum(W)", "--at", f"W=@{tmp_path / 'w.npy'}"])
    assert said in err and "hint: save an array of numbers" in err


def test_missing_files_and_members_with_a_caret(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert refused(["sum(W@x)", "--at", "W=@nope.npy,x=[1,2]"]) == (
        "error: no file nope.npy\n"
        "  W=@nope.npy,x=[1,2]\n"
        "     ^^^^^^^^\n"
        f"hint: a path is relative to the working directory, {tmp_path}\n")
    np.savez("f.npz", W=W, b=X)
    assert refused(["sum(W@x)", "--at", "W=@f.npz:Q,x=[1,2]"]) == (
        "error: f.npz has no member Q; its members: W, b\n"
        "  W=@f.npz:Q,x=[1,2]\n"
        "           ^\n"
        "hint: write W=@f.npz:W\n")
    assert "f.npz has no member named V; its members: W, b" in refused(
        ["sum(V)", "--at", "V=@f.npz"])
    (tmp_path / "d").mkdir()
    assert "d is not a regular file" in refused(["sum(W)", "--at", "W=@d"])
    assert "/dev/zero is not a regular file" in refused(["sum(W)", "--at", "W=@/dev/zero"])
    np.save("w.npy", W)
    assert ":W' names a member of an .npz archive" in refused(["sum(W)", "--at", "W=@w.npy:W"])
    assert "no file after @" in refused(["sum(W)", "--at", "W=@"])
    assert "no member after ':' in the value of W" in refused(["sum(W)", "--at", "W=@f.npz:"])
    assert "no file before ':' in the value of W" in refused(["sum(W)", "--at", "W=@:W"])
    long = "a/" * 3000   # beyond the system's limit for a path: refused, not a traceback
    assert "error: no file a/a/" in refused(["sum(W)", "--at", f"W=@{long}x.npy:W"])
    assert "error: no file a/a/" in refused(["sum(W)", "--at", f"W=@{long}x.npy"])


@pytest.mark.parametrize("text, message", [
    ("1,2\n3\n", "w.csv, line 2 has 1 number, but line 1 has 2: a ragged matrix"),
    ("1,2\n\n# c\n3,4,5\n", "w.csv, line 4 has 3 numbers, but line 1 has 2: a ragged matrix"),
    ("1,2\n3,abc\n", "w.csv, line 2: field 2, 'abc', is not a number"),
    ("1,,2\n", "w.csv, line 1: field 2 is empty"),
    ("1;2\n", "w.csv, line 1: field 1, '1;2', is not a number"),
    ("secret:" + "x" * 100 + "\n", "line 1: field 1, 'secret:xxxxxxxxxxxxx…', is not a number"),
    ("# nothing\n\n", "w.csv holds no numbers"),
    ("1,2\n3,nan\n", "w.csv: entry [1, 1] is nan; every entry must be finite"),
    ("1,-inf,3\n", "w.csv: entry [1] is -inf; every entry must be finite"),
    ("1,1e999\n", "w.csv: entry [1] is inf; every entry must be finite"),
])
def test_bad_text_matrices_name_the_file_and_line(tmp_path, text, message):
    (tmp_path / "w.csv").write_text(text)
    err = refused(["sum(W)", "--at", f"W=@{tmp_path / 'w.csv'}"])
    assert message in err.replace(str(tmp_path) + "/", "")


def test_binary_garbage_and_a_truncated_npy(tmp_path):
    (tmp_path / "g.bin").write_bytes(b"\x00\xff\xfe garbage")
    assert "is not a .npy or .npz file, nor a text file of numbers" in refused(
        ["sum(W)", "--at", f"W=@{tmp_path / 'g.bin'}"])
    np.save(tmp_path / "t.npy", np.arange(100.0))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-8])
    assert f"{tmp_path / 't.npy'} is cut short" in refused(
        ["sum(W)", "--at", f"W=@{tmp_path / 't.npy'}"])
    (tmp_path / "h.npy").write_bytes(data[:20])   # inside the header
    assert f"cannot read {tmp_path / 'h.npy'}" in refused(
        ["sum(W)", "--at", f"W=@{tmp_path / 'h.npy'}"])
    (tmp_path / "z.npz").write_bytes(b"PK\x03\x04 not really")
    assert "is not a valid .npz archive" in refused(
        ["sum(W)", "--at", f"W=@{tmp_path / 'z.npz'}"])


def test_nan_in_an_npy_names_the_first_bad_index(tmp_path):
    np.save(tmp_path / "w.npy", np.array([[1, 2, 3], [4, np.inf, np.nan]]))
    err = refused(["sum(W)", "--at", f"W=@{tmp_path / 'w.npy'}"])
    assert "w.npy: entry [1, 1] is inf; every entry must be finite" in err
    np.save(tmp_path / "e.npy", np.zeros((0, 3)))
    assert "holds an empty array" in refused(["sum(W)", "--at", f"W=@{tmp_path / 'e.npy'}"])


@pytest.mark.parametrize("value, message, part", [
    ("eye(0)", "a size is at least 1, not 0: arrays are never empty", "0"),
    ("zeros(-1)", "a size is a whole number ≥ 1, not -1", "-1"),
    ("randn(2.5)", "a size is a whole number ≥ 1, not 2.5", "2.5"),
    ("randn(1,2,3)", "randn takes at most two sizes (a vector or a matrix)", "3"),
    ("eye(2,2)", "eye takes one size: eye(n) is the n×n identity", "2"),
    ("zeros()", "zeros needs one or two sizes", "()"),
    ("rand(2,)", "a size of rand is missing", ")"),
    ("ones(n)", "a size is a whole number ≥ 1, not n", "n"),
    ("ones( 2 , 0 )", "a size is at least 1, not 0: arrays are never empty", "0"),
    ("1+randn(2)", "randn(...) stands alone in a value, or scaled by a constant", "randn"),
    ("randn(2)*2", "randn(...) stands alone in a value, or scaled by a constant", "randn"),
    ("x*randn(2)", "the scale of W must be a constant number", "x"),
    ("[1,2]*ones(2)", "the scale of W must be a constant number", "[1,2]"),
    ("randn(2)+zeros(2)", "the value of W makes two arrays: one constructor per value",
     "zeros"),
    ("+-randn(2)", "randn(...) stands alone in a value, or scaled by a constant", "randn"),
    ("zeros(" + "9" * 40 + ")", "a size of 40 digits is beyond any array", "9" * 40),
])
def test_bad_constructors_with_a_caret(value, message, part):
    err = refused(["sum(W)", "--at", f"W={value}"]).splitlines()
    caret = " " * (len("  W=") + value.rindex(part)) + "^" * len(part)
    assert err[:3] == [f"error: {message}", f"  W={value}", caret]


def test_arrays_from_files_and_constructors_are_refused_where_arrays_are_not_taken(tmp_path):
    np.save(tmp_path / "w.npy", W)
    for value in (f"@{tmp_path / 'w.npy'}", "randn(2)"):
        err = refused(["x^2", "--at", f"x={value}", "--at", "x=1"])
        assert "x is an array: arrays work only for the value and gradient at one point" in err
    with pytest.raises(UsageError, match="exact values are not available for arrays"):
        parse_point("x=zeros(2)", exact=True)
    with pytest.raises(UsageError, match="x is an array"):
        parse_point("x=@nowhere.npy")   # refused by its form, not read


def test_a_json_error_for_scripts(tmp_path):
    r = run(["sum(W)", "--at", "W=eye(0)", "--format", "json"])
    assert r.exit_code == 2 and json.loads(r.stdout)["error"].startswith(
        "a size is at least 1")


# --- parse_point on its own -------------------------------------------------------------------

def test_parse_point_shares_one_generator_across_the_text():
    p = parse_point("a=randn(3),b=1,c=rand(2,2)", arrays=True, seed=5)
    rng = np.random.default_rng(5)
    assert p["a"].tolist() == rng.standard_normal(3).tolist() and p["b"] == 1.0
    assert p["c"].tolist() == rng.random((2, 2)).tolist()
    assert p["a"].dtype == np.float64
    d = Draws(3)
    assert d.rng is d.rng   # one generator, made once
