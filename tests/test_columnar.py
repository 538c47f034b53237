"""Parquet and Arrow IPC points (issue 18, "Beyond one machine"): --points FILE.parquet (a glob of
them), --save-points FILE (.parquet, .arrow/.feather, .csv, .tsv), float64 in and out bit for bit,
per-row errors with file and row, and the refusals that keep a columnar file data, never code.
Through the real console script, as a shell script runs it."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import pytest

from gradcalc.function import Function
from gradcalc.lazy import numpy

from .cli.test_many_points import EXE, SOURCE, run

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
feather = pytest.importorskip("pyarrow.feather")
np = numpy()


def points(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    xs, ys, zs = rng.uniform(-2.0, 2.0, (3, n))
    return {"x": xs, "y": ys, "z": zs}


def bits(a) -> list:
    """Floats as their bit patterns (so -0.0 and 0.0, and every last bit, count)."""
    return np.asarray(a, dtype=np.float64).view(np.int64).tolist()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """One Parquet file of 30,000 rows in 3 row groups (streamed by row group, read in chunks
    of 25,000 rows across them), and the engine's numbers for it."""
    root = tmp_path_factory.mktemp("columnar")
    p = points(30_000)
    pq.write_table(pa.table(p), root / "p.parquet", row_group_size=10_000)
    b = Function(SOURCE).gradient(p)
    return root, p, b


def test_parquet_in_parquet_out_keeps_every_bit(dataset, tmp_path):
    root, p, b = dataset
    out = tmp_path / "out.parquet"
    code, stdout, err = run(SOURCE, "--points", str(root / "p.parquet"), "--save-points",
                            str(out))
    assert code == 0, err
    assert stdout == ""
    assert "check: sympy agrees at 5 sampled points of 30000" in err
    assert "wrote 30,000 rows to" in err
    t = pq.read_table(out)
    assert t.column_names == ["x", "y", "z", "value", "df/dx", "df/dy", "df/dz", "error"]
    assert all(t.schema.field(c).type == pa.float64() for c in t.column_names[:-1])
    for k in "xyz":
        assert bits(t.column(k).to_numpy()) == bits(p[k])
    assert bits(t.column("value").to_numpy()) == bits(b.value)
    for k in "xyz":
        assert bits(t.column(f"df/d{k}").to_numpy()) == bits(b.gradient[k])
    assert t.column("error").null_count == 30_000
    fn = Function(SOURCE)   # and the single-point path, at a few rows
    for k in (0, 9_999, 10_000, 25_000, 29_999):
        r = fn.gradient({v: float(p[v][k]) for v in "xyz"})
        assert t.column("value")[k].as_py() == r.value
        assert [t.column(f"df/d{v}")[k].as_py() for v in "xyz"] == [r.gradient[v] for v in "xyz"]


def test_parquet_in_csv_out_is_the_csv_paths_text(dataset, tmp_path):
    root, p, _b = dataset
    code, out, err = run(SOURCE, "--points", str(root / "p.parquet"), "--format", "csv",
                         "--no-check")
    assert code == 0, err
    with open(tmp_path / "p.csv", "w") as f:
        f.write("x,y,z\n")
        f.writelines(f"{p['x'][k]!r},{p['y'][k]!r},{p['z'][k]!r}\n".replace("np.float64(", "")
                     .replace(")", "") for k in range(len(p["x"])))
    code2, out2, _ = run(SOURCE, "--points", str(tmp_path / "p.csv"), "--format", "csv",
                         "--no-check")
    assert code2 == 0
    assert out == out2
    saved = tmp_path / "saved.csv"
    code3, stdout, _ = run(SOURCE, "--points", str(root / "p.parquet"), "--save-points",
                           str(saved), "--no-check")
    assert (code3, stdout) == (0, "")
    assert saved.read_text() == out


@pytest.mark.parametrize("suffix", [".feather", ".arrow"])
def test_arrow_ipc_in_and_out(tmp_path, suffix):
    p = points(2_000, seed=3)
    feather.write_feather(pa.table(p), tmp_path / f"p{suffix}", chunksize=700)
    out = tmp_path / f"out{suffix}"
    code, _, err = run(SOURCE, "--points", str(tmp_path / f"p{suffix}"), "--save-points",
                       str(out), "--no-check")
    assert code == 0, err
    t = feather.read_table(out)
    b = Function(SOURCE).gradient(p)
    assert bits(t.column("value").to_numpy()) == bits(b.value)
    assert bits(t.column("df/dz").to_numpy()) == bits(b.gradient["z"])


def test_arrow_stream_format_is_read_too(tmp_path):
    table = pa.table({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    with pa.OSFile(str(tmp_path / "s.arrow"), "wb") as sink, \
            pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    code, out, err = run("x*y", "--points", str(tmp_path / "s.arrow"), "--format", "csv",
                         "--no-check")
    assert code == 0, err
    assert out.splitlines()[1:] == ["1.0,3.0,3.0,3.0,1.0,", "2.0,4.0,8.0,4.0,2.0,"]


def test_integers_and_booleans_are_read_as_float64(tmp_path):
    pq.write_table(pa.table({"x": pa.array([1, -3, 2**40], pa.int64()),
                             "y": pa.array([True, False, True]),
                             "z": pa.array([1.5, 2.5, 3.5], pa.float32())}), tmp_path / "t.parquet")
    code, out, err = run("x*y + z", "--points", str(tmp_path / "t.parquet"), "--format", "csv",
                         "--no-check")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["x"] for r in rows] == ["1.0", "-3.0", "1099511627776.0"]
    assert [r["y"] for r in rows] == ["1.0", "0.0", "1.0"]
    assert [r["value"] for r in rows] == ["2.5", "2.5", "1099511627779.5"]


def test_missing_and_undefined_rows_are_reported_in_their_rows(tmp_path):
    pq.write_table(pa.table({"x": [1.0, -1.0, None, float("nan"), 2.0],
                             "y": [2.0, 3.0, 4.0, 5.0, float("inf")]}), tmp_path / "b.parquet")
    out = tmp_path / "out.parquet"
    code, _, err = run("log(x)*y", "--points", str(tmp_path / "b.parquet"), "--save-points",
                       str(out), "--no-check")
    assert code == 2   # a malformed row (as a points file's)
    assert "error: 1 of 5 points could not be computed (row 2); their rows say why" in err
    assert "error: 3 rows of the points file are malformed (rows 3, 4, 5)" in err
    t = pq.read_table(out).to_pydict()
    assert t["error"] == [None, "log(x) is undefined: it needs x > 0, but x = -1",
                          "no value for x", "the value of x must be finite, not nan",
                          "the value of y must be finite, not inf"]
    assert t["value"] == [0.0, None, None, None, None]
    assert t["x"] == [1.0, -1.0, None, None, 2.0]


def test_several_files_are_one_points_file_with_rows_located(tmp_path):
    pq.write_table(pa.table({"x": [1.0, 2.0], "y": [1.0, 1.0]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"x": [3.0, -1.0, 0.0], "y": [1.0, 1.0, 1.0]}),
                   tmp_path / "b.parquet")
    code, out, err = run("log(x)*y", "--points", str(tmp_path / "*.parquet"), "--format", "csv",
                         "--no-check")
    assert code == 1
    assert len(out.splitlines()) == 6
    assert f"error: 2 of 5 points could not be computed ({tmp_path}/b.parquet rows 2, 3)" in err


@pytest.mark.parametrize("column, why", [
    (pa.array(["1", "2"]), "text"),
    (pa.array([[1.0], [2.0]]), "nested values (list<"),
    (pa.array([1.0, 2.0]).dictionary_encode(), "dictionary-encoded values"),
    (pa.array([b"\x80\x04K\x01.", b"\x80\x04K\x02."]), "binary data"),
    (pa.array([{"a": 1.0}, {"a": 2.0}]), "nested values (struct<a: double>"),
    (pa.array([1, 2], pa.decimal128(5, 2)), "decimal numbers"),
])
def test_non_numeric_columns_are_refused_by_file_and_column(tmp_path, column, why):
    # Arrow IPC keeps every type as written (Parquet reads dictionary-encoded numbers back as
    # plain numbers); the string, list and binary cases are checked in Parquet too
    name = "bad.feather" if "dictionary" in why else "bad.parquet"
    table = pa.table({"x": [1.0, 2.0], "y": column})
    if name.endswith(".feather"):
        feather.write_feather(table, tmp_path / name)
    else:
        pq.write_table(table, tmp_path / name)
    code, out, err = run("x*y", "--points", str(tmp_path / name), "--format", "csv")
    assert (code, out) == (2, "")
    assert f"error: {tmp_path}/{name}: the column y holds {why}" in err
    assert "reads only numeric columns" in err
    assert "Traceback" not in err


def test_extension_type_columns_are_refused(tmp_path):
    class Tagged(pa.ExtensionType):
        def __init__(self):
            super().__init__(pa.float64(), "gradcalc.test.tagged")

        def __arrow_ext_serialize__(self):
            return b""

        @classmethod
        def __arrow_ext_deserialize__(cls, storage_type, serialized):
            return cls()

    ext = Tagged()
    storage = pa.array([1.0, 2.0])
    pa.register_extension_type(ext)
    try:
        table = pa.table({"x": [1.0, 2.0], "y": pa.ExtensionArray.from_storage(ext, storage)})
        feather.write_feather(table, tmp_path / "ext.feather")
        pq.write_table(table, tmp_path / "ext.parquet")
    finally:
        pa.unregister_extension_type("gradcalc.test.tagged")
    # gradcalc never registers such a type: it arrives as its storage (float64) tagged with the
    # extension's name, and is refused all the same, in Parquet and in Arrow IPC
    for name in ("ext.feather", "ext.parquet"):
        code, out, err = run("x*y", "--points", str(tmp_path / name), "--format", "csv",
                             "--no-check")
        assert (code, out) == (2, "")
        assert (f"{tmp_path}/{name}: the column y holds values of the extension type "
                "gradcalc.test.tagged") in err


def test_a_string_column_not_used_is_ignored_but_not_kept(tmp_path):
    pq.write_table(pa.table({"x": [1.0, 2.0], "name": ["a", "b"]}), tmp_path / "n.parquet")
    code, out, _ = run("x^2", "--points", str(tmp_path / "n.parquet"), "--format", "csv",
                       "--no-check")
    assert code == 0 and out.splitlines()[0] == "x,value,df/dx,error"
    code, out, err = run("x^2", "--points", str(tmp_path / "n.parquet"), "--format", "csv",
                         "--keep-columns", "--no-check")
    assert (code, out) == (2, "")
    assert "the column name holds text" in err


def test_numeric_kept_columns_stay_float64(tmp_path):
    pq.write_table(pa.table({"x": [1.0, 2.0], "w": [0.1, None]}), tmp_path / "k.parquet")
    out = tmp_path / "o.parquet"
    code, _, err = run("x^2", "--points", str(tmp_path / "k.parquet"), "--keep-columns",
                       "--save-points", str(out), "--no-check")
    assert code == 0, err
    t = pq.read_table(out)
    assert t.column_names == ["x", "w", "value", "df/dx", "error"]
    assert t.column("w").to_pylist() == [0.1, None]


@pytest.mark.parametrize("content, what", [(b"x,y\n1,2\n", "Parquet"),
                                           (b"PAR1garbage", "Parquet"), (b"", "Parquet")])
def test_a_file_that_is_not_parquet_is_refused(tmp_path, content, what):
    (tmp_path / "fake.parquet").write_bytes(content)
    code, out, err = run("x*y", "--points", str(tmp_path / "fake.parquet"), "--format", "csv")
    assert (code, out) == (2, "")
    assert f"is not a {what} file" in err
    assert "Traceback" not in err


def test_not_arrow_is_refused(tmp_path):
    (tmp_path / "fake.feather").write_bytes(b"\x00" * 64)
    code, _, err = run("x*y", "--points", str(tmp_path / "fake.feather"))
    assert code == 2 and "is not a Arrow IPC (Feather) file" in err


def test_missing_column_and_glob_messages(tmp_path):
    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "a.parquet")
    code, _, err = run("x*y", "--points", str(tmp_path / "a.parquet"))
    assert code == 2 and "a.parquet has no column for y" in err
    code, _, err = run("x*y", "--points", str(tmp_path / "nothing*.parquet"))
    assert code == 2 and "no file matches" in err


def test_save_points_options_are_checked(tmp_path):
    code, _, err = run("x", "--at", "x=1", "--at", "x=2", "--save-points", str(tmp_path / "o.x"))
    assert code == 2 and "end it with .parquet, .arrow (.feather), .csv or .tsv" in err
    code, _, err = run("x", "--at", "x=1", "--at", "x=2", "--save-points", str(tmp_path) + "/")
    assert code == 2 and "a directory of parts is written with --scheduler" in err
    code, _, err = run("x", "--at", "x=1", "--at", "x=2", "--save-points",
                       str(tmp_path / "o.csv"), "--format", "json")
    assert code == 2 and "--format is for standard output" in err
    code, _, err = run("x", "--at", "x=1", "--at", "x=2", "--scheduler", "local",
                       "--save-points", str(tmp_path / "d"))
    assert code == 2 and "--scheduler computes points from Parquet or Arrow files" in err
    assert not (tmp_path / "d").exists()


def test_repeated_at_points_saved_as_parquet(tmp_path):
    out = tmp_path / "o.parquet"
    code, stdout, err = run("z*(x+y)", "--at", "x=-2,y=5,z=-4", "--at", "x=1,y=2,z=3",
                            "--save-points", str(out), "--no-check")
    assert (code, stdout) == (0, ""), err
    assert pq.read_table(out).to_pydict()["value"] == [-12.0, 9.0]


def test_without_pyarrow_the_message_says_how_to_install_it(tmp_path):
    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "a.parquet")
    code = ("import sys; sys.modules['pyarrow'] = None; from gradcalc.cli import entry; "
            f"sys.argv = ['gradcalc', 'x^2', '--points', {str(tmp_path / 'a.parquet')!r}]; "
            "entry()")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "needs pyarrow, which is not installed" in p.stderr
    assert "hint: pip install 'gradcalc[data]'" in p.stderr


def test_without_dask_the_scheduler_says_how_to_install_it(tmp_path):
    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "a.parquet")
    code = ("import sys; sys.modules['dask'] = None; from gradcalc.cli import entry; "
            f"sys.argv = ['gradcalc', 'x^2', '--points', {str(tmp_path / 'a.parquet')!r}, "
            f"'--scheduler', 'local', '--save-points', {str(tmp_path / 'out')!r}]; entry()")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "--scheduler needs Dask (dask[distributed,dataframe]), which is not installed" in \
        p.stderr
    assert "hint: pip install 'gradcalc[distributed]'" in p.stderr


@pytest.mark.parametrize("args", [["x*y", "--at", "x=1,y=2"],
                                  ["x*y", "--at", "x=1,y=2", "--at", "x=2,y=3", "--format",
                                   "csv", "--no-check"], ["CSV"]])
def test_plain_runs_import_neither_pyarrow_nor_dask(args, tmp_path):
    if args == ["CSV"]:
        (tmp_path / "p.csv").write_text("x,y\n1,2\n3,4\n")
        args = ["x*y", "--points", str(tmp_path / "p.csv"), "--format", "csv"]
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "gradcalc", *args],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "GRADCALC_NO_CHECK": "1"})
    assert p.returncode == 0, p.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in p.stderr.splitlines()
                if line.startswith("import time:")}
    assert not imported & {"pyarrow", "dask", "distributed", "pandas"}


def test_console_script_exists():
    assert EXE
