"""Fixtures for the FTIR tests: SYNTHETIC spectra with known truth, a tiny JCAMP-DX writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from footprint.spectra import FTIRTruth


def _write_jdx(path: Path, x: np.ndarray, y: np.ndarray, *, xunits: str = "1/CM",
               yunits: str = "ABSORBANCE", data_type: str = "INFRARED SPECTRUM") -> Path:
    """Write an AFFN ``(X++(Y..Y))`` JCAMP-DX file (axis may ascend or descend)."""
    step = (x[-1] - x[0]) / (x.size - 1)
    lines = ["##TITLE=SYNTHETIC diamond FTIR test spectrum", "##JCAMP-DX=4.24",
             f"##DATA TYPE={data_type}", "##$SYNTHETIC=TRUE", f"##XUNITS={xunits}", f"##YUNITS={yunits}",
             "##XFACTOR=1", "##YFACTOR=1", f"##FIRSTX={x[0]:.10g}", f"##LASTX={x[-1]:.10g}",
             f"##DELTAX={step:.10g}", f"##NPOINTS={x.size}", "##XYDATA=(X++(Y..Y))"]
    for start in range(0, y.size, 8):
        lines.append(" ".join([f"{x[0] + start * step:.6f}", *(f"{v:.7g}" for v in y[start:start + 8])]))
    lines.append("##END=")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def write_jdx() -> Callable[..., Path]:
    """Return a function writing a JCAMP-DX file: ``write_jdx(path, x, y, xunits=, yunits=)``."""
    return _write_jdx


def random_truth(rng: np.random.Generator, *, noise_sd: float = 0.002) -> FTIRTruth:
    """Draw one realistic SYNTHETIC stone: log-normal N, Beta %B, thickness, baseline, peaks."""
    n_total = float(min(np.exp(rng.normal(np.log(250.0), 0.9)), 1500.0))
    b_fraction = float(rng.beta(2.0, 3.0))
    return FTIRTruth(
        n_a_ppm=n_total * (1 - b_fraction), n_b_ppm=n_total * b_fraction,
        platelet_area_cm2=float(rng.uniform(0.0, 10.0)), platelet_position_cm1=float(rng.uniform(1358, 1380)),
        platelet_fwhm_cm1=float(rng.uniform(6.0, 20.0)), h3107_area_cm2=float(rng.uniform(0.0, 5.0)),
        thickness_mm=float(rng.uniform(0.4, 2.0)),
        baseline=(float(rng.uniform(0.0, 0.5)), float(rng.uniform(-0.1, 0.3)),
                  float(rng.uniform(-0.05, 0.1))),
        noise_sd=noise_sd)


@pytest.fixture(scope="session")
def make_truth() -> Callable[..., FTIRTruth]:
    """Return :func:`random_truth`."""
    return random_truth
