"""quick.py reads the gradient command's common command lines without click: on every command
line it reads, it must give exactly the Options click gives; every other one it leaves to click
(issue 18: start-up time)."""

import os
import random
import subprocess
import sys

import click
import pytest

from gradcalc.cli.gradient import gradient_command
from gradcalc.cli.options import DEFAULTS, Options
from gradcalc.cli.quick import OPTIONS, read
from gradcalc.records import replace

PROGRAMS = ["z*(x+y)", "-", "x^2", "-x^2", "", "check", "sin(x)*y"]
VALUES = {
    "flag": [None, "=1"],
    "text": ["f", "x,y", "-x", "", "x=-2,y=5", "--at", "q", "=", "a=b"],
    "texts": ["x=-2,y=5,z=-4", "x=1", "-x=1", "", "x=1,y=2", "f=-12", "W=[[1,2],[3,4]]"],
    "format": ["json", "csv", "table", "plain", "yaml", "JSON", "tsv", "jsonl", "latex"],
    "digits": ["3", "1", "17", "0", "18", "05", " 5", "x", "-1", "\u0663", "99999999999"],
    "rows": ["1", "100", "10000000", "10000001", "0", "2.5"],
    "path": ["-", "points.csv", "missing.csv", "adir", ""],
}
OTHERS = ["--help", "-h", "--version", "--", "--max-nodes", "10", "-f", "--unknown", "-qo",
          "-of", "--check-timeout", "1", "--rankdir", "LR", "--seed", "3", "--no-check=1"]


def click_options(args) -> Options | None:
    """What click makes of the gradient command's arguments (None: a usage error)."""
    try:
        ctx = gradient_command.make_context("gradcalc", list(args), resilient_parsing=False)
    except (click.UsageError, click.exceptions.Exit):
        return None
    return Options(**ctx.params)


def generated(rng: random.Random) -> list[str]:
    args: list[str] = []
    if rng.random() < 0.9:
        args.append(rng.choice(PROGRAMS))
    for _ in range(rng.randrange(0, 6)):
        if rng.random() < 0.05:
            args.append(rng.choice(OTHERS))
            continue
        name = rng.choice(list(OPTIONS))
        kind = OPTIONS[name][1]
        value = rng.choice(VALUES[kind])
        if value is None:
            args.append(name)
        elif value.startswith("="):
            args.append(name + value)
        elif rng.random() < 0.3 and name.startswith("--"):
            args.append(f"{name}={value}")
        else:
            args += [name, value]
    if rng.random() < 0.3:
        rng.shuffle(args)
    return args


@pytest.fixture
def place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "points.csv").write_text("x,y\n1,2\n")
    (tmp_path / "adir").mkdir()
    monkeypatch.delenv("GRADCALC_NO_CHECK", raising=False)
    return tmp_path


@pytest.mark.parametrize("env", [None, "1"])
def test_quick_reads_what_click_reads(place, monkeypatch, env):
    if env is not None:
        monkeypatch.setenv("GRADCALC_NO_CHECK", env)
    rng = random.Random(18 + (env == "1"))
    read_here = 0
    for _ in range(3000):
        args = generated(rng)
        quick = read(args, os.environ)
        if quick is None:
            continue
        read_here += 1
        assert quick == click_options(args), args
    assert read_here > 600   # the test compares many command lines, not a few


@pytest.mark.parametrize("args", [
    ["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--no-check"],
    ["--at=x=1", "--format=json", "-q", "x^2", "--digits", "3"],
    ["sin(x)", "--points", "points.csv", "--keep-columns", "--chunk-size", "10", "-o", "f"],
    ["-"],
])
def test_quick_reads_these(place, args):
    assert read(args, os.environ) is not None
    assert read(args, os.environ) == click_options(args)


@pytest.mark.parametrize("args", [
    [], ["--help"], ["-h"], ["--version"], ["check", "x.toml"], ["--", "check"], ["-x^2"],
    ["x", "--digits", "18"], ["x", "--format", "yaml"], ["x", "--points", "adir"],
    ["x", "--at"], ["x", "y"], ["x", "--max-nodes", "10"], ["x", "-of"], ["x", "--steps=1"],
    ["x", "--wrt", "-y"], ["x", "-f", "p.gc"],
])
def test_click_reads_the_others(place, args):
    assert read(args, os.environ) is None


def test_quick_leaves_other_spellings_of_the_environment_variable_to_click(place):
    assert read(["x"], {"GRADCALC_NO_CHECK": "true"}) is None
    assert read(["x"], {"GRADCALC_NO_CHECK": "0"}) is None   # click 8.2.0 and 8.2.1 read it True
    assert read(["x"], {"_GRADCALC_COMPLETE": "bash_source"}) is None
    assert read(["x"], {"GRADCALC_NO_CHECK": "1"}) == replace(DEFAULTS, program="x",
                                                              no_check=True)


def _console(args, via_click: bool, cwd, stdin=None):
    """(exit code, standard output, standard error, whether click was imported) of gradcalc run
    in a fresh process: through ``entry`` (the console script), or through click's group."""
    run = ("from gradcalc.cli import main\n"
           "try:\n    main.main(sys.argv[1:], prog_name='gradcalc', obj={'own_process': True})\n"
           "except SystemExit as e:\n    code = e.code\n") if via_click else (
           "from gradcalc.cli import entry\nsys.argv[0] = 'gradcalc'\n"
           "import os\nos._exit = lambda c: (_ for _ in ()).throw(SystemExit(c))\n"
           "try:\n    entry()\nexcept SystemExit as e:\n    code = e.code\n")
    code = ("import sys\ncode = 0\n" + run +
            "sys.stdout.flush()\nsys.stderr.write('\\nCLICK ' + str('click' in sys.modules))\n"
            "sys.stderr.flush()\nsys.exit(code)\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "GRADCALC_NO_CHECK")}
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       env=env, cwd=cwd, input=stdin, check=False)
    err, _, clicked = r.stderr.rpartition("\nCLICK ")
    return r.returncode, r.stdout, err, clicked == "True"


@pytest.mark.parametrize("args, stdin", [
    (["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--no-check"], None),
    (["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--at", "x=1,y=2,z=3", "--format", "csv",
      "--no-check"], None),
    (["x*y", "--points", "points.csv", "--format", "jsonl", "--no-check"], None),
    (["1/x", "--at", "x=0", "--no-check", "--format", "json"], None),   # exit 2, JSON error
    (["z*(x+", "--at", "x=1", "--no-check"], None),                     # exit 2, a caret
    (["-", "--at", "x=2", "--digits", "3", "--no-check"], "sqrt(x)"),
    (["relu(x)", "--at", "x=0", "--no-check"], None),                   # a warning
    (["relu(x)", "--at", "x=0", "--no-check", "-q"], None),
])
def test_the_console_script_prints_what_click_prints(place, args, stdin):
    quick = _console(args, False, place, stdin)
    by_click = _console(args, True, place, stdin)
    assert quick[:3] == by_click[:3]
    assert quick[3] is False and by_click[3] is True


def test_the_console_script_hands_the_rest_to_click(place):
    code, out, err, clicked = _console(["x", "--digits", "99"], False, place)
    assert code == 2 and clicked
    assert err.startswith("error: Invalid value for '--digits': 99 is not in the range")


def test_ctrl_c_is_a_new_line_and_exit_130_without_a_traceback(place):
    """Ctrl-C while the console script reads a points file (from a FIFO that never ends)."""
    import signal
    import time

    fifo = place / "endless"
    os.mkfifo(fifo)
    code = ("import sys\nfrom gradcalc.cli import entry\nsys.argv = ['gradcalc', 'x', "
            f"'--points', {str(fifo)!r}, '--no-check']\nentry()\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    with open(fifo, "w") as writer:
        writer.write("x\n1\n")
        writer.flush()
        time.sleep(1.0)   # the header and a row are read; the reader waits for more
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 130 and err == "\n"


def _theta_squared(encoding: str) -> subprocess.CompletedProcess:
    """``gradcalc 'θ^2' --at θ=1 --format plain`` through the console script, its output
    streams set to ``encoding`` (bytes captured)."""
    env = {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONUTF8": "0"}
    env.pop("GRADCALC_NO_CHECK", None)
    code = ("import sys\nfrom gradcalc.cli import entry\nsys.argv = ['gradcalc', '\u03b8^2', "
            "'--at', '\u03b8=1', '--no-check', '--format', 'plain']\nentry()\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, env=env,
                          check=False)


def test_echo_writes_utf8_where_the_stream_is_set_to_ascii(place):
    r = _theta_squared("ascii")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode("utf-8") == "f = 1\ndf/d\u03b8 = 2\n"


def test_an_output_encoding_without_a_character_is_bad_input_not_a_bug(place):
    """latin-1 has no θ: exit 2 and a plain message (it was 'internal error', exit 3)."""
    r = _theta_squared("latin-1")
    assert r.returncode == 2
    assert r.stderr.decode("latin-1").splitlines()[-2:] == [
        "error: the output's encoding (latin-1) cannot write '\\u03b8'",
        "hint: set PYTHONIOENCODING=utf-8, or use a UTF-8 locale"]
