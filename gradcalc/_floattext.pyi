# Types of the C extension gradcalc/_floattext.c (for mypy; the module itself is compiled).
from typing import Any

K_MIN: int
K_MAX: int
E_MIN: int
E_MAX: int

def init(writing: bytes, reading: bytes) -> None: ...
def rows(data: Any, starts: Any, ends: Any, numbers: Any, sep: bytes, tail: bytes,
         lines: dict[int, bytes]) -> bytes: ...
def parse(data: Any, starts: Any, ends: Any, sep: int, width: int, wanted: Any,
          out: Any) -> bool: ...
