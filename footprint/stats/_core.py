"""Shared core of the screening checks: finding columns, severities, thresholds, working data, helpers."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Columns of ANOMALIES.csv, in order.
ANOMALY_COLUMNS: tuple[str, ...] = (
    "participant",
    "period",
    "check",
    "partner",
    "observed",
    "expected",
    "score",
    "severity",
    "detail",
)


#: Score thresholds per check: ``(medium, high)``; below ``medium`` a flag is ``low``.
#: Overrides: mirror with one side reporting nothing, and certificates with zero
#: certificates for carats, are ``high``; missing when the participant reported
#: nothing at all that period is at least ``medium``.
SEVERITY_RULES: dict[str, tuple[float, float]] = {
    "mirror": (10.0, 20.0),  # robust z (noise units): ~2x and ~4x the flag threshold
    "unit_value": (8.0, 16.0),  # robust z against own history
    "balance": (0.5, 1.0),  # relative excess: exports 1.5x / 2x the supply
    "jump": (10.0, 20.0),  # change in noise units
    "missing": (0.2, 0.5),  # share of normal trade unreported
    "certificates": (2.0, 3.0),  # doublings: 4x / 8x off
}


@dataclass(frozen=True)
class Settings:
    """Thresholds of the checks (defaults are ESTIMATES: the KP publishes none).

    Every field is documented in the module docstring of
    :mod:`footprint.stats._checks`; the values used are written into every
    report.
    """

    mirror_z: float = 5.0
    mirror_min_rel: float = 0.15
    mirror_min_ct: float = 50.0
    mirror_min_usd: float = 25_000.0
    mirror_noise_floor: float = 0.05
    uv_z: float = 4.0
    uv_partner_z: float = 3.0
    uv_min_ratio: float = 1.3
    uv_min_ct: float = 100.0
    uv_noise_floor: float = 0.10
    uv_neighbours: int = 4
    stock_tolerance: float = 0.25
    balance_min_ct: float = 1000.0
    jump_z: float = 5.0
    jump_min_ratio: float = 1.6
    jump_noise_floor: float = 0.05
    jump_penalty: float = 3.0
    jump_min_points: int = 4
    missing_min_ct: float = 100.0
    cert_min_ratio: float = 5.0
    cert_z: float = 5.0
    cert_abs: int = 3
    cert_rel: float = 0.3
    cert_noise_floor: float = 0.5

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as a plain dict (for reports and JSON)."""
        return asdict(self)


@dataclass
class StatsData:
    """Validated production and trade tables plus derived lookups (see :func:`prepare`)."""

    production: pd.DataFrame
    trade: pd.DataFrame
    coverage: Any = None
    mirror: pd.DataFrame | None = None
    totals: pd.DataFrame | None = None
    synthetic: bool = False
    cache: dict[str, Any] = field(default_factory=dict)


_NUM = ["carats", "value_usd", "certificates"]


def _robust(values: np.ndarray, floor: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) < 3:
        return 0.0, floor
    centre = float(np.median(values))
    scale = float(1.4826 * np.median(np.abs(values - centre)))
    return centre, max(scale, floor)


def _group_codes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Integer group number of each row for the combination of ``columns`` (no tuples built)."""
    key = np.zeros(len(frame), dtype=np.int64)
    for col in columns:
        values = frame[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes, size = values.cat.codes.to_numpy().astype(np.int64), len(values.cat.categories)
        else:
            codes, uniques = pd.factorize(values.to_numpy())
            size = len(uniques)
        key = key * (size + 1) + codes
    return pd.factorize(key)[0]


def _med(values: np.ndarray) -> float:
    """Median of a short array (faster than numpy's for a handful of values)."""
    ordered = sorted(values.tolist())
    n = len(ordered)
    if n == 0:
        return math.nan
    mid = n // 2
    return float(ordered[mid]) if n % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def _lr(a: np.ndarray, b: np.ndarray, c: float) -> np.ndarray:
    return np.log((a + c) / (b + c))


def _severity(check: str, score: float) -> str:
    medium, high = SEVERITY_RULES[check]
    return "high" if score >= high else "medium" if score >= medium else "low"


def _finding(
    participant: str,
    period: str,
    check: str,
    partner: str,
    observed: float,
    expected: float,
    score: float,
    detail: str,
    flow: str,
    severity: str | None = None,
) -> dict[str, Any]:
    score = float(min(score, 999.0)) if math.isfinite(score) else 999.0
    return {
        "participant": participant,
        "period": period,
        "check": check,
        "partner": partner,
        "observed": float(observed),
        "expected": float(expected),
        "score": round(score, 3),
        "severity": severity or _severity(check, score),
        "detail": detail,
        "flow": flow,
    }


def _fmt(x: float, unit: str) -> str:
    if not np.isfinite(x):
        return "n/a"
    if unit == "US$/ct":
        return f"{x:,.1f} US$/ct"
    if unit == "US$":
        return f"US$ {x:,.0f}"
    return f"{x:,.0f} {unit}"


def _sample(mask: np.ndarray, limit: int = 50_000) -> np.ndarray:
    """Positions of ``mask``, thinned to at most ``limit`` evenly spaced ones (for robust scales)."""
    pos = np.flatnonzero(mask)
    return pos if len(pos) <= limit else pos[:: int(math.ceil(len(pos) / limit))]
