"""What the benchmark scripts share: a rate's binomial standard error and the PASS/MISS lines of targets.

Each ``bench_*.py`` runs as a script (``python benchmarks/bench_x.py`` or through ``run.py``), so this
module sits beside them and is imported by name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

#: One target: its name, the measured value, the target as text, and whether the value meets it.
Check = tuple[str, float, str, bool]


def binomial_se(p: float, n: int) -> float:
    """Standard error of a rate ``p`` measured on ``n`` draws (never exactly 0, n at least 1)."""
    return math.sqrt(max(p * (1 - p), 1e-12) / max(n, 1))


def check_line(check: Check, digits: int = 3) -> str:
    """``"  PASS  name: value (target ...)"`` (or MISS) for one target."""
    name, value, target, ok = check
    return f"  {'PASS' if ok else 'MISS'}  {name}: {value:.{digits}f} (target {target})"


def print_checks(title: str, checks: Iterable[Check], digits: int = 3) -> None:
    """Print the title line, then one PASS/MISS line per target."""
    print(title)
    for check in checks:
        print(check_line(check, digits))
