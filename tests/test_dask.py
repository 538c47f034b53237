"""The Dask path (issue 18, "Beyond one machine"): gradcalc.distributed.gradient over a
dask.dataframe's partitions, and the command line's --scheduler, against a real dask.distributed
LocalCluster with two worker processes (one shared by the module: starting one takes seconds).
Every value and partial is compared with the single-process path, bit for bit; failures on a worker
are reported with file and row; a worker killed mid-run loses and doubles no row."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from gradcalc.errors import UsageError
from gradcalc.function import Function
from gradcalc.lazy import numpy

from .cli.test_many_points import SOURCE, run

np = numpy()   # gradcalc's NumPy first (no SIMD math), as in the workers
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

from gradcalc import distributed as gd  # noqa: E402


def bits(a) -> list:
    return np.asarray(a, dtype=np.float64).view(np.int64).tolist()


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client

    c = gd.local_cluster(2)
    client = Client(c)
    yield c, client
    client.close()
    c.close()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """4 Parquet files × 25,000 rows (row groups of 10,000), and the engine's numbers for all
    100,000 rows computed here, in one process."""
    root = tmp_path_factory.mktemp("dataset")
    rng = np.random.default_rng(18)
    whole = {k: [] for k in "xyz"}
    for i in range(4):
        p = dict(zip("xyz", rng.uniform(-2.0, 2.0, (3, 25_000)), strict=True))
        pq.write_table(pa.table(p), root / f"part{i}.parquet", row_group_size=10_000)
        for k in "xyz":
            whole[k].append(p[k])
    whole = {k: np.concatenate(v) for k, v in whole.items()}
    return root, whole, Function(SOURCE).gradient(whole)


def parts_table(directory):
    names = sorted(n for n in os.listdir(directory))
    assert all(n.startswith("part.") and n.endswith(".parquet") for n in names), names
    return pa.concat_tables([pq.read_table(os.path.join(directory, n)) for n in names]), names


def test_the_workers_numpy_is_gradcalcs(cluster):
    _c, client = cluster
    assert gd.simd_workers(client) == []
    assert len(client.run(os.getpid)) == 2


def test_gradient_of_a_dataframe_equals_the_single_process_path(cluster, dataset):
    root, whole, b = dataset
    frame = dd.read_parquet(sorted(str(p) for p in root.glob("*.parquet")))
    result = gd.gradient(SOURCE, frame)
    assert result.npartitions == frame.npartitions
    got = result.compute()
    assert list(got.columns) == ["x", "y", "z", "value", "df/dx", "df/dy", "df/dz", "error"]
    assert len(got) == 100_000
    for k in "xyz":
        assert bits(got[k]) == bits(whole[k])
        assert bits(got[f"df/d{k}"]) == bits(b.gradient[k])
    assert bits(got["value"]) == bits(b.value)
    assert got["error"].isna().all()
    fn = Function(SOURCE)   # and single-point runs, at a few rows
    for k in (0, 24_999, 25_000, 99_999):
        r = fn.gradient({v: float(whole[v][k]) for v in "xyz"})
        assert got["value"].iat[k] == r.value
        assert [got[f"df/d{v}"].iat[k] for v in "xyz"] == [r.gradient[v] for v in "xyz"]


def test_fixed_values_kept_columns_and_errors_in_rows(cluster):
    frame = pd.DataFrame({"x": pd.array([1.0, -1.0, None, 2.0, np.inf], dtype="Float64"),
                          "w": [1, 2, 3, 4, 5]})
    got = gd.gradient("log(x)*y", dd.from_pandas(frame, npartitions=2), at={"y": 2.0},
                      keep=["w"]).compute()
    assert list(got.columns) == ["x", "w", "value", "df/dx", "df/dy", "error"]
    assert got["w"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert got["value"].iat[0] == 0.0 and got["df/dx"].iat[0] == 2.0
    errors = [None if pd.isna(e) else e for e in got["error"]]
    assert errors[1:] == ["log(x) is undefined: it needs x > 0, but x = -1", "no value for x",
                          None, "the value of x must be finite, not inf"]
    assert got["value"].iat[3] == 2 * np.log(2.0)


def test_a_text_column_is_refused_before_anything_runs(cluster):
    frame = dd.from_pandas(pd.DataFrame({"x": ["1", "2"], "y": [1.0, 2.0]}), npartitions=1)
    with pytest.raises(UsageError, match="the column x holds .* values; gradcalc reads only "
                                         "numeric columns"):
        gd.gradient("x*y", frame)
    with pytest.raises(UsageError, match="no column for x, z"):
        gd.gradient("x*y*z", frame[["y"]])


def test_the_command_line_on_the_cluster_equals_one_process(cluster, dataset, tmp_path):
    c, _client = cluster
    root, _whole, _b = dataset
    glob = str(root / "*.parquet")
    code, out, err = run(SOURCE, "--points", glob, "--scheduler", c.scheduler_address,
                         "--save-points", str(tmp_path / "out") + "/")
    assert (code, out) == (0, ""), err
    assert "wrote 100,000 rows to" in err and "(4 parts)" in err
    assert "check: sympy agrees at 5 sampled points of 100000" in err
    code1, _, err1 = run(SOURCE, "--points", glob, "--save-points", str(tmp_path / "one.parquet"))
    assert code1 == 0
    assert err.splitlines()[:-1] == err1.splitlines()[:-1]
    table, names = parts_table(tmp_path / "out")
    assert names == [f"part.{i:05d}.parquet" for i in range(4)]
    one = pq.read_table(tmp_path / "one.parquet")
    assert table.schema.equals(one.schema)
    assert table.equals(one)
    for c_ in one.column_names[:-1]:
        assert bits(table.column(c_).to_numpy()) == bits(one.column(c_).to_numpy())


def test_fast_math_on_the_workers_is_fast_math_in_one_process(cluster, dataset, tmp_path):
    """fast_math=True (--fast-math) reaches the workers: their numbers are the one-process
    fast batch's, bit for bit (the same kernels), and within a few ulp of the exact ones."""
    from gradcalc import fastmath

    c, _client = cluster
    root, whole, exact = dataset
    fast = Function(SOURCE).gradient(whole, fast_math=True)
    frame = dd.read_parquet(sorted(str(p) for p in root.glob("*.parquet")))
    got = gd.gradient(SOURCE, frame, fast_math=True).compute()
    assert bits(got["value"]) == bits(fast.value)
    for k in "xyz":
        assert bits(got[f"df/d{k}"]) == bits(fast.gradient[k])
    differ = np.asarray(fast.value) != np.asarray(exact.value)
    assert differ.any() == fastmath.available()
    assert np.allclose(fast.value, exact.value, rtol=1e-13, atol=1e-15)
    code, out, err = run(SOURCE, "--points", str(root / "*.parquet"), "--scheduler",
                         c.scheduler_address, "--save-points", str(tmp_path / "out") + "/",
                         "--fast-math", "--no-check")
    assert (code, out) == (0, ""), err
    table, _names = parts_table(tmp_path / "out")
    assert bits(table.column("value").to_numpy()) == bits(fast.value)
    assert bits(table.column("df/dz").to_numpy()) == bits(fast.gradient["z"])


def test_failures_on_a_worker_are_reported_with_file_and_row(cluster, tmp_path):
    c, _client = cluster
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0]}), data / "a.parquet")
    pq.write_table(pa.table({"x": [1.0, -2.0, None, 4.0], "y": [1.0, 2.0, 3.0, np.inf]}),
                   data / "b.parquet")
    pq.write_table(pa.table({"x": [0.0, 1.0], "y": [1.0, 0.0]}), data / "c.parquet")
    args = ["log(x)*y + abs(y)", "--points", str(data / "*.parquet"), "--no-check"]
    code, _, err = run(*args, "--scheduler", c.scheduler_address, "--save-points",
                       str(tmp_path / "out"))
    code1, _, err1 = run(*args, "--save-points", str(tmp_path / "one.parquet"))
    assert code == code1 == 2
    assert err.splitlines()[:-1] == err1.splitlines()[:-1]
    assert (f"error: 2 of 9 points could not be computed ({data}/b.parquet row 2; "
            f"{data}/c.parquet row 1); their rows say why") in err
    assert (f"error: 2 rows of the points file are malformed ({data}/b.parquet rows 3, 4); "
            "their rows say why") in err
    assert "warning: abs(y) is not differentiable at (0)" in err and "c.parquet row 2" in err
    table, _names = parts_table(tmp_path / "out")
    assert table.equals(pq.read_table(tmp_path / "one.parquet"))
    assert table.column("error").to_pylist()[3:7] == [
        None, "log(x) is undefined: it needs x > 0, but x = -2", "no value for x",
        "the value of y must be finite, not inf"]


def test_a_refused_file_and_a_used_directory_are_said_before_the_cluster_runs(cluster, tmp_path):
    c, _client = cluster
    pq.write_table(pa.table({"x": ["1"], "y": [1.0]}), tmp_path / "t.parquet")
    code, _, err = run("x*y", "--points", str(tmp_path / "t.parquet"), "--scheduler",
                       c.scheduler_address, "--save-points", str(tmp_path / "out"))
    assert code == 2 and "the column x holds text" in err
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "mine.txt").write_text("keep me")
    code, _, err = run("x*y", "--points", str(tmp_path / "t.parquet"), "--scheduler",
                       c.scheduler_address, "--save-points", str(tmp_path / "used"))
    assert code == 2 and "must be a new or empty directory" in err
    assert (tmp_path / "used" / "mine.txt").read_text() == "keep me"


def test_a_killed_worker_loses_and_doubles_no_row(cluster, tmp_path):
    """60 partitions of a slow program on the two workers; once a few parts are written, one
    worker process is killed (SIGKILL). Dask reruns its tasks elsewhere (and those whose results
    died with it); every part is written once, whole, and equals the single-process rows."""
    from gradcalc.columnar import ColumnarFiles
    from gradcalc.syntax import DEFAULT_LIMITS

    c, client = cluster
    program = " + ".join(f"sin({k}*x + y)*exp(-z^2/{k}) + tanh(x*{k} - z)" for k in range(1, 31))
    rng = np.random.default_rng(7)
    p = dict(zip("xyz", rng.uniform(-2.0, 2.0, (3, 300_000)), strict=True))
    pq.write_table(pa.table(p), tmp_path / "big.parquet", row_group_size=5_000)
    fn = Function(program)
    files = ColumnarFiles([str(tmp_path / "big.parquet")], fn.variables)
    job = gd.Job(program, DEFAULT_LIMITS, ("x", "y", "z"), (), ("x", "y", "z"), None, "f",
                 provenance=True)
    out = tmp_path / "out"
    out.mkdir()
    before = set(client.run(os.getpid).values())
    killed: list = []

    def kill_one():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = [n for n in os.listdir(out) if n.startswith("part.")]
            if len(done) >= 4:
                pid = sorted(before)[0]
                os.kill(pid, signal.SIGKILL)
                killed.append((pid, len(done)))
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=kill_one)
    watcher.start()
    outcome = gd.run_files(files, job, str(out), c.scheduler_address, rows=5_000)
    watcher.join()
    assert killed and killed[0][1] < 60, "the worker was killed before the run ended"
    deadline = time.monotonic() + 60
    while len(client.run(os.getpid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)   # the nanny starts a new worker process
    after = set(client.run(os.getpid).values())
    assert killed[0][0] not in after
    assert (outcome.total, outcome.parts, outcome.failed, outcome.malformed) == (300_000, 60,
                                                                                  [], [])
    table, names = parts_table(out)
    assert names == [f"part.{i:05d}.parquet" for i in range(60)]   # no temporary left behind
    assert table.num_rows == 300_000
    b = fn.gradient(p)
    for k in "xyz":
        assert bits(table.column(k).to_numpy()) == bits(p[k])
        assert bits(table.column(f"df/d{k}").to_numpy()) == bits(b.gradient[k])
    assert bits(table.column("value").to_numpy()) == bits(b.value)


def test_scheduler_local_end_to_end(dataset, tmp_path):
    """--scheduler local: gradcalc starts a LocalCluster, computes, writes the parts, stops it."""
    root, _whole, _b = dataset
    glob = str(root / "part[01].parquet")
    code, out, err = run(SOURCE, "--points", glob, "--scheduler", "local", "--save-points",
                         str(tmp_path / "out"), "--no-check")
    assert (code, out) == (0, ""), err
    assert err.strip() == f"wrote 50,000 rows to {tmp_path / 'out'} (2 parts)"
    code1, _, _ = run(SOURCE, "--points", glob, "--save-points", str(tmp_path / "one.parquet"),
                      "--no-check")
    assert code1 == 0
    table, _names = parts_table(tmp_path / "out")
    assert table.equals(pq.read_table(tmp_path / "one.parquet"))


def test_gradcalc_dask_is_the_dask_path():
    """The issue's name, gradcalc.dask, gives the same functions (and imports no Dask)."""
    import subprocess
    import sys

    import gradcalc.dask
    import gradcalc.distributed

    assert gradcalc.dask.gradient is gradcalc.distributed.gradient
    assert gradcalc.dask.local_cluster is gradcalc.distributed.local_cluster
    code = "import sys, gradcalc.dask; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
