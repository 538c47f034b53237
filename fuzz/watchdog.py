"""The one-input wrapper both fuzz targets share: atheris's alarm off, a watchdog of our own.

atheris keeps SIGALRM armed (a repeating ITIMER_REAL, re-armed before every input, even with
-timeout=0). gradcalc's deadline() treats any armed timer as an outer deadline: it cuts its own
time to what is left of atheris's (spurious "did not finish in time") and re-arms atheris's
alarm, whose handler then goes off inside gradcalc (seen inside CliRunner's streams as
"UnsupportedOperation: fileno"). So the timer is saved and cleared, the input runs under
deadline(seconds), and the timer is put back.
"""

from __future__ import annotations

import signal


def one_input(check, seconds: float):
    """atheris's TestOneInput for ``check(data)``, with a hang of ``seconds`` a finding."""
    from gradcalc.deadline import Timeout, deadline

    def test_one_input(data: bytes) -> None:
        saved = signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            with deadline(seconds):
                check(data)
        except Timeout:
            raise AssertionError(f"hang: the input took over {seconds:.0f} s") from None
        finally:
            if saved[0]:
                signal.setitimer(signal.ITIMER_REAL, *saved)

    return test_one_input
