"""The shared benchmark workload (../shared/DESIGN.md): a random program of n statements over 10
inputs, each statement reading the previous value and one random earlier value or input, with ops
chosen so values stay in [0, 1] and gradients stay finite."""

from __future__ import annotations

import random

INPUTS = [f"x{k}" for k in range(10)]


def program(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    names = list(INPUTS)
    lines = []
    prev = "x0"
    for k in range(n):
        other = rng.choice(names)
        kind = rng.randrange(4)
        if kind == 0:
            rhs = f"({prev} + {other})*0.5"
        elif kind == 1:
            rhs = f"1 - {prev}*{other}"
        elif kind == 2:
            rhs = f"{prev}*{prev}"
        else:
            rhs = f"relu({prev} - 0.5)"
        name = f"v{k}"
        lines.append(f"{name} = {rhs}")
        names.append(name)
        prev = name
    return "\n".join(lines)


def point(seed: int = 1) -> dict[str, float]:
    rng = random.Random(seed)
    return {x: rng.uniform(0.2, 0.9) for x in INPUTS}
