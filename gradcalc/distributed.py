"""Many points on a Dask cluster: the batch engine (vector.py) mapped over the partitions of a
dask.dataframe, for datasets larger than one machine.

    import dask.dataframe as dd
    import gradcalc.distributed

    points = dd.read_parquet("data/*.parquet")
    result = gradcalc.distributed.gradient("z*(x+y)", points)   # a lazy dask.dataframe
    result.to_parquet("out/")

The result has the columns of the command line's CSV output: the program's variables, any kept
columns, ``value``, ``d<out>/d<var>`` for each partial, and ``error`` (missing where the point was
computed; else why not, the message a single-point run gives). Its partitions are the input's, row
for row, with the input's index. Every number is the float a single-point run gives, bit for bit,
when the workers' NumPy runs without its SIMD math, as gradcalc imports it: the workers of
``local_cluster()`` (and of ``--scheduler local``) do; start others with ``environment()`` set;
``simd_workers(client)`` names those that do not.

Dask is an optional extra (``pip install 'gradcalc[distributed]'``), imported here only. The
program travels to the workers as text and is parsed there by gradcalc's own parser; the data
files are read by the workers themselves, with the Parquet reader's refusals (columnar.py).

The command line (``--points 'data/*.parquet' --scheduler local|tcp://HOST:PORT --save-points
DIR/``) uses ``run_files``: one partition per file (a file over PART_ROWS rows is cut between its
row groups), each read, computed and written as DIR/part.NNNNN.parquet by one task. A part is
written under a hidden temporary name and renamed when whole, so a task that Dask runs again
after its worker died (or twice) leaves one complete part: no row is lost or doubled.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

from .errors import UsageError
from .lazy import numpy
from .records import field, record

HINT = "pip install 'gradcalc[distributed]'"
PART_ROWS = 1_000_000     # most rows of one partition (a file is cut between row groups)
HIDDEN = ("__file", "__row", "__malformed", "__kinks")   # the command line's bookkeeping


def dask(what: str = "the Dask path"):
    """dask.dataframe, imported now (after gradcalc's NumPy); else how to install it."""
    numpy()
    try:
        import dask.dataframe as dd
        import distributed  # noqa: F401
        import pandas  # noqa: F401
    except ImportError:
        raise UsageError(f"{what} needs Dask (dask[distributed,dataframe]), which is not "
                         "installed", hint=HINT) from None
    return dd


@record(frozen=True)
class Job:
    """What every partition's task needs: the program as text (parsed on the worker), the
    variables read from columns, the values fixed for every row, the partials asked for."""

    source: str
    limits: Any
    names: tuple[str, ...]
    fixed: tuple[tuple[str, float], ...]
    wrt: tuple[str, ...]
    output: str | None
    out_name: str
    keep: tuple[str, ...] = ()
    provenance: bool = False     # the command line's hidden columns (HIDDEN)
    fast_math: bool = False      # the workers' batches with fastmath.py's kernels (where built)

    def columns(self) -> list[str]:
        return [*self.names, *self.keep, "value", *(f"d{self.out_name}/d{w}" for w in self.wrt),
                "error"]


def gradient(program, dataframe, *, wrt: Sequence[str] | None = None, output: str | None = None,
             at: dict | None = None, keep: Sequence[str] = (), limits=None,
             fast_math: bool = False):
    """Value and gradient of ``program`` (text or a ``gradcalc.Function``) at every row of the
    dask.dataframe ``dataframe`` (a column per variable): a lazy dask.dataframe with the CSV
    output's columns (see the module's help), partition for partition. ``at`` fixes variables
    for every row; ``keep`` copies (numeric) columns along. A row where the program is undefined
    (log of a negative) or a value is missing or not finite has NaN results and its reason in
    ``error``; the others are computed. Columns must be numeric: text, categories, objects are
    refused before anything runs. ``fast_math``: as ``Function.gradient``'s, on each worker
    (a worker whose gradcalc has no kernels computes exactly)."""
    job = _job(program, dict(dataframe.dtypes.items()), at, wrt, output, keep, limits, fast_math)
    return dataframe.map_partitions(_partition, job, meta=_meta(job), align_dataframes=False)


def _job(program, dtypes: dict, at, wrt, output, keep, limits, fast_math: bool = False) -> Job:
    """The job for a dataframe whose columns have ``dtypes`` (name -> dtype), checked."""
    from .function import Function
    from .syntax import DEFAULT_LIMITS

    limits = DEFAULT_LIMITS if limits is None else limits
    source = program.source if isinstance(program, Function) else program
    fn = Function(source, limits)   # a parse error is said here, not on every worker
    columns = list(dtypes)
    fixed = {k: float(v) for k, v in (at or {}).items()}
    names = [v for v in fn.variables if v not in fixed]
    missing = [v for v in names if v not in columns]
    if missing:
        raise UsageError(f"the dataframe has no column for {', '.join(missing)}",
                         hint=f"its columns: {', '.join(map(str, columns))}")
    both = [k for k in fixed if k in columns]
    if both:
        raise UsageError(f"{', '.join(both)} is given both by at= and by a column",
                         hint="drop one of them")
    for name in [*names, *keep]:
        if name not in columns:
            raise UsageError(f"the dataframe has no column {name} to keep")
        kind = getattr(dtypes[name], "kind", "O")
        if kind not in "iufb":
            raise UsageError(f"the column {name} holds {dtypes[name]} values; gradcalc "
                             "reads only numeric columns (integers, floats, booleans)")
    _t, out_name, _p, wrt_names, _notes = fn.resolve(dict.fromkeys([*names, *fixed], 0.0),
                                                      output, wrt)
    return Job(source, limits, tuple(names), tuple(fixed.items()), tuple(wrt_names), output,
               out_name, tuple(keep), fast_math=fast_math)


def _meta(job: Job):
    """The result's empty frame: its columns and their types."""
    import pandas as pd

    np = numpy()
    data: dict[str, Any] = {c: np.empty(0) for c in job.columns()[:-1]}
    data["error"] = pd.array([], dtype=pd.StringDtype())
    if job.provenance:
        data.update({"__file": np.empty(0, np.int32), "__row": np.empty(0, np.int64),
                     "__malformed": np.empty(0, bool),
                     "__kinks": pd.array([], dtype=pd.StringDtype())})
    return pd.DataFrame(data)


@functools.lru_cache(maxsize=16)
def _function(source: str, limits):
    """The program, parsed once per worker process."""
    from .function import Function

    return Function(source, limits)


def _partition(frame, job: Job):
    """One partition: the batch engine over its rows, as a frame of the result's columns."""
    import pandas as pd

    from .report import _compute

    np = numpy()
    fn = _function(job.source, job.limits)
    n = len(frame)
    if "__invalid" in frame.columns:   # read by gradcalc (columnar.numbers): its reasons
        reasons = frame["__invalid"]
        invalid = {k: reasons.iat[k] for k in np.flatnonzero(reasons.notna().to_numpy(bool))}
        columns = {v: frame[v].to_numpy(np.float64) for v in job.names}
    else:
        invalid = {}
        columns = {v: _column(frame[v], v, invalid) for v in job.names}
    invalid = dict(sorted(invalid.items()))
    given = {**columns, **{k: np.full(n, x) for k, x in job.fixed}}
    batch = _compute(fn, given, list(job.wrt), job.output, invalid, job.fast_math)
    data: dict[str, Any] = dict(columns)
    for e in job.keep:
        data[e] = frame[e].to_numpy(np.float64, na_value=np.nan)
    data["value"] = np.asarray(batch.value, dtype=np.float64)
    for w in job.wrt:
        data[f"d{job.out_name}/d{w}"] = np.asarray(batch.gradient[w], dtype=np.float64)
    errors = np.full(n, None, dtype=object)
    for k, why in batch.errors.items():
        errors[k] = why
    data["error"] = pd.array(errors, dtype=pd.StringDtype())
    if job.provenance:
        data["__file"] = frame["__file"].to_numpy(np.int32)
        data["__row"] = frame["__row"].to_numpy(np.int64)
        malformed = np.zeros(n, dtype=bool)
        malformed[list(invalid)] = True
        data["__malformed"] = malformed
        kinks = np.full(n, None, dtype=object)
        for message, rows in batch.kinks:
            for k in rows:
                kinks[k] = message if kinks[k] is None else f"{kinks[k]}\n{message}"
        data["__kinks"] = pd.array(kinks, dtype=pd.StringDtype())
    return pd.DataFrame(data, index=frame.index)


def _column(series, name: str, invalid: dict[int, str]):
    """A dataframe column as float64: a missing value (NA of a nullable type) or a value not
    finite is noted in ``invalid`` as a points file's would be."""
    np = numpy()
    values = series.to_numpy(np.float64, na_value=np.nan)
    if not isinstance(series.dtype, np.dtype):   # a nullable type: NA is a missing value
        for k in np.flatnonzero(series.isna().to_numpy(bool)).tolist():
            invalid.setdefault(k, f"no value for {name}")
    finite = np.isfinite(values)
    if not finite.all():
        for k in np.flatnonzero(~finite).tolist():
            invalid.setdefault(k, f"the value of {name} must be finite, not {values[k]}")
    return values


# --- the command line: files in, a directory of parts out -------------------------------------

@record
class Outcome:
    """What the cluster reports back: rows in all, and the rows (numbered across the files,
    0-based) that failed, were malformed, or passed a kink (message -> rows)."""

    total: int = 0
    failed: list[int] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)
    kinks: dict[str, list[int]] = field(default_factory=dict)
    parts: int = 0
    simd: list[str] = field(default_factory=list)    # workers whose NumPy has SIMD math on


def run_files(files, job: Job, directory: str, scheduler: str, workers: int | None = None,
              rows: int = PART_ROWS) -> Outcome:
    """Every row of ``files`` (a columnar.ColumnarFiles, checked) computed on the cluster at
    ``scheduler`` ('local': one started here and stopped after), written to ``directory`` (new
    or empty) one part per partition; the rows' outcomes gathered."""
    dd = dask("--scheduler")
    from .columnar import pyarrow

    pyarrow("--scheduler")
    parts = [p for s in files.sources for p in s.parts(rows)]
    index = {p: n for n, p in enumerate(files.paths)}
    paths = [os.path.abspath(p.path) for p in parts]
    numbers = [index[p.path] for p in parts]
    directory = os.path.abspath(directory)
    read = Read(tuple(files.variables), tuple(files.extras if files.keep else ()))
    frame = dd.from_map(_read_part, parts, paths, numbers, read=read, meta=read.meta(),
                        enforce_metadata=False)
    computed = frame.map_partitions(_partition, job, meta=_meta(job), align_dataframes=False)
    notes = computed.map_partitions(_write_part, job, directory, _notes_meta(),
                                    meta=_notes_meta(), align_dataframes=False)
    with _client(scheduler, workers) as client:
        simd = simd_workers(client)
        try:
            table = client.compute(notes).result()
        except Exception as exc:   # noqa: BLE001 (the cluster's failures, said as ours)
            raise _cluster_error(exc) from None
    _tidy(directory)
    return _outcome(table, files, len(parts), simd)


@record(frozen=True)
class Read:
    """The columns a partition's task reads from its file."""

    variables: tuple[str, ...]
    keep: tuple[str, ...]

    def meta(self):
        import pandas as pd

        np = numpy()
        data: dict[str, Any] = {c: np.empty(0) for c in (*self.variables, *self.keep)}
        data.update({"__invalid": pd.array([], dtype=pd.StringDtype()),
                     "__file": np.empty(0, np.int32), "__row": np.empty(0, np.int64)})
        return pd.DataFrame(data)


def _read_part(part, path: str, number: int, read: Read):
    """A partition's rows from its file (on the worker): the variables as float64 with the
    reasons of malformed rows (the single-process reader's), kept columns, and where each row
    comes from."""
    import pandas as pd

    from .columnar import Source, numbers
    from .points import CHUNK

    np = numpy()
    source = Source(path)
    columns = [*read.variables, *read.keep]
    source.check(columns)
    pieces: dict[str, list] = {c: [] for c in columns}
    invalid: dict[int, str] = {}
    done = 0
    for batch in source.batches(columns, CHUNK, part.first, part.stop):
        found: dict[int, str] = {}
        for c in read.variables:
            pieces[c].append(numbers(c, batch.column(c), found))
        for c in read.keep:
            pieces[c].append(numbers(c, batch.column(c), {}))
        invalid.update((done + k, why) for k, why in found.items())
        done += batch.num_rows
    data: dict[str, Any] = {c: np.concatenate(v) if v else np.empty(0)
                            for c, v in pieces.items()}
    reasons = np.full(done, None, dtype=object)
    for k, why in invalid.items():
        reasons[k] = why
    data["__invalid"] = pd.array(reasons, dtype=pd.StringDtype())
    data["__file"] = np.full(done, number, dtype=np.int32)
    data["__row"] = np.arange(part.row, part.row + done, dtype=np.int64)
    return pd.DataFrame(data)


def _notes_meta():
    import pandas as pd

    np = numpy()
    return pd.DataFrame({"file": np.empty(0, np.int32), "row": np.empty(0, np.int64),
                         "kind": pd.array([], dtype=pd.StringDtype()),
                         "message": pd.array([], dtype=pd.StringDtype())})


def _write_part(frame, job: Job, directory: str, meta, partition_info=None):
    """Write a partition's rows to directory/part.NNNNN.parquet (whole or not at all: a hidden
    temporary name, then a rename), and return its notes: a row count, then one note per
    failed, malformed or kink row."""
    import uuid

    import pandas as pd

    from .columnar import pyarrow, schema

    pa = pyarrow("--save-points")
    number = (partition_info or {}).get("number", 0)
    name = os.path.join(directory, f"part.{number:05d}.parquet")
    temporary = os.path.join(directory, f".part.{number:05d}.{uuid.uuid4().hex}.tmp")
    wanted = schema(pa, list(job.names), list(job.keep), frozenset(job.keep), job.out_name,
                    list(job.wrt))
    table = pa.Table.from_pandas(frame[job.columns()], schema=wanted, preserve_index=False)
    table = table.replace_schema_metadata(None)
    try:
        pa.parquet.write_table(table, temporary)
        os.replace(temporary, name)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    files = frame["__file"].to_numpy()
    notes = [(int(files[0]) if len(files) else -1, len(frame), "rows", "")]
    errors = frame["error"]
    for k in (~errors.isna()).to_numpy(bool).nonzero()[0].tolist():
        kind = "malformed" if frame["__malformed"].iat[k] else "failed"
        notes.append((int(files[k]), int(frame["__row"].iat[k]), kind, errors.iat[k]))
    kinks = frame["__kinks"]
    for k in (~kinks.isna()).to_numpy(bool).nonzero()[0].tolist():
        for message in kinks.iat[k].split("\n"):
            notes.append((int(files[k]), int(frame["__row"].iat[k]), "kink", message))
    out = pd.DataFrame(notes, columns=list(meta.columns))
    return out.astype(meta.dtypes.to_dict())


def _outcome(table, files, parts: int, simd: list[str]) -> Outcome:
    """The notes of every part, as rows numbered across the files."""
    out = Outcome(parts=parts, simd=simd)
    for f, row, kind, message in table.itertuples(index=False, name=None):
        if kind == "rows":
            out.total += int(row)
            continue
        at = files.starts[int(f)] + int(row)
        if kind == "kink":
            out.kinks.setdefault(message, []).append(at)
        else:
            (out.malformed if kind == "malformed" else out.failed).append(at)
    return out


def _tidy(directory: str) -> None:
    """Remove what a task killed mid-write left: its hidden temporary part (never a part)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name.startswith(".part.") and name.endswith(".tmp"):
            try:
                os.remove(os.path.join(directory, name))
            except OSError:
                pass


def _cluster_error(exc: Exception) -> Exception:
    """A failure on the cluster as gradcalc's error: a worker's own message (a file it cannot
    read), or what Dask said (a worker lost too often, gradcalc missing there)."""
    from .errors import GradcalcError

    if isinstance(exc, GradcalcError):
        return exc
    name = type(exc).__name__
    if name == "KilledWorker":
        return UsageError(f"the cluster lost a worker each time it computed a partition ({exc})",
                          hint="see the workers' logs; a partition may need more memory than a "
                               "worker has")
    if isinstance(exc, ModuleNotFoundError):
        return UsageError(f"a worker cannot import {exc.name}: gradcalc (with its distributed "
                          "extra) must be installed on every worker", hint=HINT)
    return UsageError(f"the cluster failed: {name}: {exc}")


def simd_math() -> bool:
    """Whether this process's NumPy runs its SIMD math kernels (whose last bit can differ from
    the C library's, and so from single-point runs)."""
    np = numpy()
    core = getattr(np, "_core", None) or np.core
    umath = core._multiarray_umath
    features = getattr(umath, "__cpu_features__", {})
    return any(features.get(t, False) for t in getattr(umath, "__cpu_dispatch__", ()))


def environment() -> dict[str, str]:
    """The environment a worker's process needs from its start for gradcalc's numbers (NumPy
    without its SIMD math): ``NPY_DISABLE_CPU_FEATURES=... dask worker tcp://...``."""
    from .lazy import _SIMD_TARGETS

    return {"NPY_DISABLE_CPU_FEATURES": _SIMD_TARGETS}


def simd_workers(client) -> list[str]:
    """The workers of ``client``'s cluster whose NumPy has its SIMD math on (their numbers may
    differ from single-point runs in the last bit)."""
    try:
        found = client.run(simd_math)
    except Exception as exc:   # noqa: BLE001
        raise _cluster_error(exc) from None
    return sorted(w for w, on in found.items() if on)


def local_cluster(n_workers: int | None = None, **options):
    """A dask.distributed LocalCluster of worker processes (one thread each by default) whose
    NumPy is gradcalc's: every number bit for bit a single-point run's. Close it when done."""
    import dask as _dask
    from distributed import LocalCluster

    dask("a local cluster")
    settings = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in environment().items()}
    options = {"threads_per_worker": 1, "processes": True, "dashboard_address": ":0",
               "silence_logs": _log_level(), **options}
    with _dask.config.set(settings):
        return LocalCluster(n_workers=n_workers or os.cpu_count() or 1, **options)


def _log_level() -> int:
    """The cluster's own log: quiet (gradcalc reports what failed), unless GRADCALC_DEBUG."""
    import logging

    return logging.INFO if os.environ.get("GRADCALC_DEBUG") else logging.CRITICAL


@contextmanager
def _client(scheduler: str, workers: int | None = None):
    """A client of the cluster at ``scheduler``, or of a local_cluster started now and closed
    after."""
    from distributed import Client

    if scheduler != "local":
        try:
            client = Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                             hint="give its address as tcp://HOST:PORT, or --scheduler local"
                             ) from None
        with client:
            yield client
        return
    cluster = local_cluster(workers)
    try:
        with Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        cluster.close()
