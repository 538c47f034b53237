"""Running a command with its standard error on a pseudo-terminal (progress bars show only on a
terminal), standard output on a pipe."""

from __future__ import annotations

import os
import subprocess
import threading


def run_with_terminal_stderr(args, timeout: float = 300) -> tuple[int, bytes, bytes]:
    """(exit code, standard output, what the terminal on standard error received). The terminal
    is drained in a thread while standard output is read: a child writing more progress than
    the terminal's buffer holds must not block."""
    import pty

    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave,
                         env={**os.environ, "COLUMNS": "80"})
    os.close(slave)
    shown: list[bytes] = []

    def drain():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # the other side is closed
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out = p.stdout.read()
    code = p.wait(timeout=timeout)
    reader.join(timeout)
    os.close(master)
    return code, out, b"".join(shown)
