"""Atheris target: the console script's own reading of the command line against click's
(differential).

``cli/quick.py`` reads the gradient command's common command lines without click; on every
command line it reads it must give exactly the Options click gives, and it must leave to click
(None) every one it cannot read so. A finding is a difference, or an exception from ``read``.

An input is the arguments separated by NUL bytes, decoded as UTF-8 with errors replaced; when
its first byte is 1 or 2, GRADCALC_NO_CHECK is set to "1" or "0" first. The seeds' option names
come from fuzz/gradcalc.dict.

Run: ``python fuzz/fuzz_quick.py fuzz/corpus/quick fuzz/seeds -max_total_time=60``
"""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports(include=["gradcalc"]):
    import click

    from gradcalc.cli.gradient import gradient_command
    from gradcalc.cli.options import Options
    from gradcalc.cli.quick import read



def _place() -> None:
    """Work in a directory where --points finds a file, a directory and nothing (made at the
    first input: libFuzzer reads its corpus and dictionary paths before)."""
    place = tempfile.mkdtemp(prefix="fuzz-quick-")
    os.makedirs(os.path.join(place, "adir"))
    with open(os.path.join(place, "points.csv"), "w") as f:
        f.write("x\n1\n")
    os.chdir(place)


def by_click(args: list[str]) -> Options | None:
    try:
        ctx = gradient_command.make_context("gradcalc", list(args))
    except (click.UsageError, click.exceptions.Exit):
        return None
    return Options(**ctx.params)


_PLACED: list[bool] = []


def test_one_input(data: bytes) -> None:
    if not _PLACED:
        _place()
        _PLACED.append(True)
    os.environ.pop("GRADCALC_NO_CHECK", None)
    if data[:1] in (b"\x01", b"\x02"):
        os.environ["GRADCALC_NO_CHECK"] = "1" if data[:1] == b"\x01" else "0"
        data = data[1:]
    args = data.decode("utf-8", errors="replace").split("\x00") if data else []
    quick = read(args, os.environ)
    if quick is not None and quick != by_click(args):
        raise AssertionError(f"quick.read and click differ on {args!r}:\n{quick}\n"
                             f"{by_click(args)}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
