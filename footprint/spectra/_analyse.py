"""FTIR spectra to nitrogen features: the processing steps, the features table and its recipe, file batches.

The fit itself (method, preparation, least-squares design) is in :mod:`._ftir`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._batch import DERIVED_FTIR_COLUMNS
from .._types import Spectrum
from ..exceptions import Problem, SpectrumError
from ._components import COMPONENT_NAMES, PPM_PER_CM1
from ._ftir import (
    FEATURE_COLUMNS,
    RECIPE_VERSION,
    FTIRMethod,
    PreparedSpectrum,
    _design,
    _diamond_type,
    _platelet_present,
    _refusal,
    fit_grid,
    prepare_spectrum,
)
from ._peaks import pseudo_voigt

__all__ = ["analyse_files", "analyse_spectra", "derive_ftir_features", "expand_paths", "fit_details"]

logger = logging.getLogger(__name__)


def _versions() -> dict[str, str]:
    out = {}
    for package in ("footprint", "numpy", "scipy", "pybaselines", "pandas"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out


@functools.lru_cache(maxsize=8)
def _base_recipe(method: FTIRMethod) -> str:
    recipe = {"version": RECIPE_VERSION,
              "method": "QUIDDIT-style batch fit (Speich & Kohn 2020 component spectra)",
              "steps": list(_STEP_NAMES), "parameters": method.to_dict(), "versions": _versions()}
    return json.dumps(recipe)


def _recipe(base: str, conversions: tuple[str, ...]) -> str:
    """Return the recipe JSON: the method's (``base``) plus this spectrum's unit conversions."""
    return base[:-1] + ', "conversions": ' + json.dumps(list(conversions)) + "}"


_STEP_NAMES = ("require_canonical", "require_mid_ir_range", "harmonize_grid", "require_two_phonon",
               "derive_baseline (pybaselines Baseline.poly, weighted)", "derive_absorption_coefficient",
               "derive_nitrogen (exact NNLS: C, A, X, B, D + offset)",
               "derive_platelet (pseudo-Voigt + constant, alternated with derive_nitrogen)",
               "derive_h3107 (pseudo-Voigt + local straight baseline)", "derive_flags", "derive_type")


def _features(fit: dict[str, Any], prepared: list[PreparedSpectrum], method: FTIRMethod) -> pd.DataFrame:
    """Turn one :func:`fit_grid` result into feature rows (accepted spectra only)."""
    coef = fit["coef"]
    c, a, x_coef, b, d_coef = (coef[:, i] for i in range(5))
    n_c, n_a, n_b = PPM_PER_CM1["C"] * c, PPM_PER_CM1["A"] * a, PPM_PER_CM1["B"] * b
    total = n_c + n_a + n_b
    with np.errstate(divide="ignore", invalid="ignore"):
        b_percent = np.where(n_a + n_b > 0, 100.0 * n_b / (n_a + n_b), np.nan)
    detected = _platelet_present({"area": fit["platelet_area"], "area_se": fit["platelet_area_se"],
                                  "position": fit["platelet_position"]}, method)
    h3107 = fit["h3107_area"]
    flags = []
    for i in range(coef.shape[0]):
        row = []
        if fit["one_phonon_max_absorbance"][i] > method.saturation_absorbance:
            row.append("saturated")
        if fit["noise_cm1"][i] > method.noisy_cm1:
            row.append("noisy")
        if (fit["fit_residual"][i] > method.poor_fit_noise_ratio * fit["noise_cm1"][i]
                and fit["fit_residual"][i] > method.poor_fit_signal_fraction * fit["one_phonon_peak_cm1"][i]):
            row.append("poor_fit")
        if np.isnan(h3107[i]):
            row.append("no_3107_coverage")
        flags.append(";".join(row))
    base = _base_recipe(method)
    cache: dict[tuple[str, ...], str] = {}
    recipes = []
    for j in fit["accepted"]:
        key = tuple(prepared[j].steps)
        if key not in cache:
            cache[key] = _recipe(base, key)
        recipes.append(cache[key])
    rows = [prepared[j] for j in fit["accepted"]]
    return pd.DataFrame({
        "sample_id": [p.sample_id for p in rows],
        "spectrum_sha256": [p.sha256 for p in rows],
        "n_c_ppm": n_c, "n_a_ppm": n_a, "n_b_ppm": n_b, "n_total_ppm": total, "n_b_percent": b_percent,
        "diamond_type": _diamond_type(n_c, n_a, n_b, method),
        "platelet_position_cm1": np.where(detected, fit["platelet_position"], np.nan),
        "platelet_area_cm2": np.where(detected, fit["platelet_area"], 0.0),
        "platelet_width_cm1": np.where(detected, fit["platelet_fwhm"], np.nan),
        "h3107_area_cm2": h3107,
        "fit_residual": fit["fit_residual"],
        "flags": flags,
        "recipe": recipes,
        "source": [p.source for p in rows],
        "thickness_mm_est": fit["scale"] * np.log(10.0) * 10.0,
        "x_coef": x_coef, "d_coef": d_coef, "noise_cm1": fit["noise_cm1"],
        "one_phonon_max_absorbance": fit["one_phonon_max_absorbance"],
    }, columns=list(FEATURE_COLUMNS))


def _prepare_one(spectrum: Spectrum, method: FTIRMethod) -> PreparedSpectrum | SpectrumError:
    try:
        return prepare_spectrum(spectrum, method)
    except SpectrumError as exc:
        return exc


def _fit_prepared(prepared: list[PreparedSpectrum | SpectrumError], method: FTIRMethod, n_jobs: int,
                  chunk_size: int) -> tuple[pd.DataFrame, list[Problem]]:
    """Fit every prepared spectrum, grouped by coverage class and chunked; keep input order."""
    problems: list[Problem] = []
    groups: dict[float, list[int]] = {}
    for i, item in enumerate(prepared):
        if isinstance(item, SpectrumError):
            problems.extend(item.problems)
        else:
            groups.setdefault(item.upper_cm1, []).append(i)
    # Chunks are cut the same way whatever n_jobs is: batched BLAS sums can differ in the last
    # bits with the batch's composition, and the same files must give the same numbers on a
    # laptop and on a 64-core server (stores and model fingerprints depend on it).
    tasks = [(upper, members[start:start + chunk_size])
             for upper, members in groups.items() for start in range(0, len(members), chunk_size)]

    def run(task: tuple[float, list[int]]) -> tuple[pd.DataFrame, list[Problem]]:
        upper, members = task
        items: list[PreparedSpectrum] = [prepared[i] for i in members]  # type: ignore[misc]
        fit = fit_grid(np.stack([p.y for p in items]), upper, method,
                       noise=np.array([p.noise_abs for p in items]))
        refused = [Problem(file=items[j].source, row=None, field="y", value="1800-2700 cm-1", rule=reason)
                   for j, reason in enumerate(fit["refused"]) if reason is not None]
        if fit["accepted"].size == 0:
            return pd.DataFrame(columns=list(FEATURE_COLUMNS)), refused
        frame = _features(fit, items, method)
        frame.index = pd.Index([members[j] for j in fit["accepted"]], name="input_index")
        return frame, refused

    from threadpoolctl import threadpool_limits

    # One BLAS thread: the matrices are thin (a handful of columns), so BLAS threads only
    # spin, and with several fit threads they would oversubscribe the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        if n_jobs == 1 or len(tasks) <= 1:
            results = [run(t) for t in tasks]
        else:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(run)(t) for t in tasks)
    for _, refused in results:
        problems.extend(refused)
    frames = [r[0] for r in results if len(r[0])]
    if frames:
        features = pd.concat(frames).sort_index()
    else:
        features = pd.DataFrame(columns=list(FEATURE_COLUMNS), index=pd.Index([], name="input_index"))
    logger.info("FTIR: %d spectra fitted, %d refused", len(features), len(problems))
    return features, problems


def analyse_spectra(spectra: list[Spectrum], *, n_jobs: int = 1, method: FTIRMethod | None = None,
                    chunk_size: int = 512) -> tuple[pd.DataFrame, list[Problem]]:
    """Derive nitrogen features for many spectra, keeping going past refused ones.

    Parameters
    ----------
    spectra : list of Spectrum
        FTIR spectra (any supported units and axis direction).
    n_jobs : int, default=1
        Threads for the batched fit (numpy releases the GIL in its products).
    method : FTIRMethod, optional
        Method parameters.
    chunk_size : int, default=512
        Spectra per batched fit (bounds memory).

    Returns
    -------
    features : DataFrame
        :data:`FEATURE_COLUMNS`, one row per accepted spectrum, in input order; the
        ``input_index`` index gives each row's position in ``spectra``.
    problems : list of Problem
        One per refused spectrum (file, field, value, rule).
    """
    method = method or FTIRMethod()
    prepared = [_prepare_one(s, method) for s in spectra]
    return _fit_prepared(prepared, method, n_jobs, chunk_size)


def _read_and_prepare(paths: list[str], method: FTIRMethod) -> list[PreparedSpectrum | SpectrumError]:
    """Worker: read and prepare a chunk of files (only small results travel back)."""
    from ..ingest import read_spectrum

    out: list[PreparedSpectrum | SpectrumError] = []
    for path in paths:
        # A two-column CSV carries no kind of its own; JCAMP-DX files say theirs.
        kind = "ftir" if path.lower().endswith(".csv") else None
        try:
            out.append(prepare_spectrum(read_spectrum(path, kind=kind), method))
        except SpectrumError as exc:
            out.append(exc)
    return out


#: File suffixes taken from a folder.
SPECTRUM_SUFFIXES = (".jdx", ".dx", ".jcamp", ".jcm")


def expand_paths(paths: list[str | Path]) -> list[str]:
    """Expand folders into their JCAMP-DX files (sorted); keep files as given."""
    files: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(str(p) for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in SPECTRUM_SUFFIXES)
        else:
            files.append(str(path))
    return files


def _process_backend() -> str:
    """Pick the joblib process backend for reading files.

    Forked workers inherit the already imported modules (about 0.7 CPU-seconds of
    imports per worker saved, a quarter of the work for 1,000 files). From Python
    3.12 forking a process that has threads (BLAS starts some) warns, so loky's
    fresh workers are used there, and wherever fork is not the start method.
    """
    import multiprocessing
    import sys

    if sys.version_info < (3, 12) and multiprocessing.get_start_method(allow_none=True) in (None, "fork") \
            and sys.platform.startswith("linux"):
        return "multiprocessing"
    return "loky"


def analyse_files(paths: list[str | Path], *, n_jobs: int = -1, method: FTIRMethod | None = None,
                  min_parallel: int = 32) -> tuple[pd.DataFrame, list[Problem], list[str]]:
    """Read FTIR spectrum files (in parallel processes) and derive their features.

    Parameters
    ----------
    paths : list of path-like
        Files (JCAMP-DX, or two-column ``x,y`` CSV), or folders of
        ``.jdx``/``.dx``/``.jcamp``/``.jcm`` files.
    n_jobs : int, default=-1
        Worker processes for reading (-1: all cores).
    method : FTIRMethod, optional
        Method parameters.
    min_parallel : int, default=32
        Fewer files than this are read in this process (workers cost more to start).

    Returns
    -------
    features : DataFrame
        :data:`FEATURE_COLUMNS` of the accepted files; index = position in ``files``.
    problems : list of Problem
        One or more per refused file.
    files : list of str
        The files read, in order.
    """
    method = method or FTIRMethod()
    files = expand_paths(paths)
    workers = n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    if workers == 1 or len(files) < min_parallel:
        prepared = _read_and_prepare(files, method)
    else:
        from joblib import Parallel, delayed

        # Several chunks per worker balance the load; one chunk per task amortises pickling.
        n_chunks = min(len(files), workers * 4)
        size = -(-len(files) // n_chunks)
        chunks = [files[i:i + size] for i in range(0, len(files), size)]
        parts = Parallel(n_jobs=workers, backend=_process_backend())(
            delayed(_read_and_prepare)(chunk, method) for chunk in chunks)
        prepared = [item for part in parts for item in part]
    features, problems = _fit_prepared(prepared, method, 1, 4096)
    return features, problems, files


def fit_details(spectrum: Spectrum, method: FTIRMethod | None = None) -> dict[str, Any]:
    """Return one spectrum's fit, curve by curve, for plots.

    Returns
    -------
    dict
        ``x`` (grid, cm-1), ``absorption`` (corrected absorption coefficient, cm-1),
        ``intrinsic`` (scaled type IIa), ``components`` (name -> fitted curve, cm-1,
        intrinsic removed), ``offset``, ``platelet`` (fitted peak curve or zeros),
        ``fit`` (sum of components, offset and platelet), ``residual`` (one-phonon and
        platelet windows, NaN elsewhere) and ``features`` (one-row DataFrame).

    Raises
    ------
    SpectrumError
        When the spectrum is refused.
    """
    method = method or FTIRMethod()
    prepared = prepare_spectrum(spectrum, method)
    fit = fit_grid(prepared.y[None, :], prepared.upper_cm1, method, full=True,
                   noise=np.array([prepared.noise_abs]))
    if fit["refused"][0] is not None:
        raise _refusal(prepared.source, "y", "1800-2700 cm-1", fit["refused"][0])
    d = _design(method)
    features = _features(fit, [prepared], method)
    coef = fit["coef"][0]
    components = {name: coef[i] * d.comps[:, i] for i, name in enumerate(COMPONENT_NAMES)}
    row = features.iloc[0]
    platelet = np.zeros_like(d.x)
    if row["platelet_area_cm2"] > 0:
        platelet = row["platelet_area_cm2"] * pseudo_voigt(d.x, row["platelet_position_cm1"],
                                                          row["platelet_width_cm1"], method.platelet_eta)
    nitrogen = sum(components.values()) + coef[5]
    total = nitrogen + platelet
    window = d.one_phonon | d.platelet
    mu = fit["mu"][0]
    return {"x": d.x, "absorption": mu + d.iia, "intrinsic": d.iia, "nitrogen_absorption": mu,
            "components": components, "offset": coef[5], "platelet": platelet, "fit": total,
            "residual": np.where(window, mu - total, np.nan), "features": features}


def derive_ftir_features(spectra: list[Spectrum], *, n_jobs: int = 1) -> pd.DataFrame:
    """Derive the stored FTIR features, one row per spectrum (used by the store at ingest).

    Parameters
    ----------
    spectra : list of Spectrum
        FTIR spectra with ``sample_id`` set.
    n_jobs : int, default=1
        Parallel threads for the batched fit.

    Returns
    -------
    DataFrame
        Exactly :data:`footprint._batch.DERIVED_FTIR_COLUMNS`, in input order.

    Raises
    ------
    SpectrumError
        When any spectrum is not a usable diamond mid-IR spectrum; lists every one.
    """
    features, problems = analyse_spectra(spectra, n_jobs=n_jobs)
    if problems:
        raise SpectrumError("FTIR spectra that are not usable diamond mid-IR spectra", problems)
    return features.loc[:, list(DERIVED_FTIR_COLUMNS)].reset_index(drop=True)
