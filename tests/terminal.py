"""Running a command with its standard error on a pseudo-terminal (progress bars show only on a
terminal), standard output on a pipe."""

from __future__ import annotations

import os
import subprocess


def run_with_terminal_stderr(args, timeout: float = 300) -> tuple[int, bytes, bytes]:
    """(exit code, standard output, what the terminal on standard error received)."""
    import pty

    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave,
                         env={**os.environ, "COLUMNS": "80"})
    os.close(slave)
    out = p.stdout.read()
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:   # the other side is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return p.wait(timeout=timeout), out, shown
