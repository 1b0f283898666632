"""Write the SYNTHETIC reference set to disk (the demo's lab files).

Layout of ``out_dir`` (every file says SYNTHETIC):

- ``stones.csv``: reference stones; first line ``# SYNTHETIC ...`` (ingest
  reads it as the synthetic mark), ``notes`` = SYNTHETIC. The FTIR numbers
  are *not* in the table by default: they come from the spectra through the
  real FTIR path (``ftir_in_table=True`` adds them);
- ``spectra/<sample_id>.jdx``: JCAMP-DX 5.01 absorbance spectra of every
  reference stone with FTIR, from :func:`footprint.spectra.simulate_ftir`;
- ``images/<sample_id>.png``: pictures of a subset of reference stones;
- ``parcels_stones.csv`` + ``parcels.csv``: a month of test export parcels
  (stones with ``parcel_id``; the parcels sheet with exactly
  :data:`PARCEL_SHEET_COLUMNS`: declared zone, KP certificate, exporter,
  declared value, cleaning state, as ``footprint classify --parcels`` reads);
- ``parcels_truth.csv``: per parcel, the export date, stone count, carats and
  the truth (kind, zone, site, foreign zone/site/fraction);
  ``parcels_spectra/`` and ``parcels_images/`` hold their spectra and pictures
  (kept apart so a reference ``db add`` of ``spectra/`` sees only reference stones);
- ``truth.csv``: true values of every stone (reference and parcels): zone,
  site, complete field values before missingness, and the FTIR simulation
  settings (thickness, platelet position);
- ``site_weights.csv``: each reference site's share of its zone's production
  (``zone, site, weight``), the prior of the site mixture
  (``footprint train --site-weights``);
- ``README.txt``: what the files are and how they were made.
"""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InputError, Problem
from ._generate import (
    BUNDLED_LOTS_PER_SITE,
    BUNDLED_STONES_PER_LOT,
    FTIR_COLUMNS,
    _generate_parcels,
    _generate_reference,
)
from ._jcamp import jcamp_text
from ._params import SynthParams, load_params
from ._photos import draw_stone_png

__all__ = ["PARCEL_SHEET_COLUMNS", "write_parcel_set", "write_reference_set"]

#: Columns of ``parcels.csv`` (what ``footprint classify --parcels`` accepts).
PARCEL_SHEET_COLUMNS = ("parcel_id", "declared_zone", "kp_certificate", "exporter", "declared_value_usd",
                        "cleaning_state")

log = logging.getLogger(__name__)

_MARK = "SYNTHETIC"
_OWNED_DIRS = ("spectra", "images", "parcels_spectra", "parcels_images")
_OWNED_FILES = ("stones.csv", "truth.csv", "parcels_stones.csv", "parcels.csv", "parcels_truth.csv",
                "site_weights.csv")
_IDENTITY = ("sample_id", "zone", "site", "country", "lot_id", "collected_on", "lab", "cleaning_state",
             "custody_ref", "notes")


def _prepare(out: Path) -> None:
    """Create ``out``, or clear a previous SYNTHETIC set there; refuse a foreign folder."""
    if out.exists() and any(out.iterdir()):
        readme = out / "README.txt"
        ours = readme.is_file() and readme.read_text("utf-8", errors="replace").startswith(_MARK)
        if not ours:
            raise InputError(f"{out} is not empty and holds no SYNTHETIC reference set", [
                Problem(str(out), None, None, None,
                        "give an empty or new folder (a previous synth output folder is overwritten)")])
        for name in _OWNED_DIRS:
            shutil.rmtree(out / name, ignore_errors=True)
        for name in _OWNED_FILES:
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _thickness_mm(mass_ct: np.ndarray) -> np.ndarray:
    """Optical path ~0.8 x equivalent-sphere diameter, kept to 0.5-3 mm (estimate)."""
    d_mm = 10.0 * (6.0 * mass_ct * 0.2 / (math.pi * 3.515)) ** (1.0 / 3.0)
    return np.clip(0.8 * d_mm, 0.5, 3.0)


def _write_spectra(truth: pd.DataFrame, has_ftir: np.ndarray, folder: Path, seed: int) -> pd.DataFrame:
    """Simulate and write one JCAMP-DX file per stone with FTIR; return the simulation settings."""
    from ..spectra import simulate_ftir

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in np.flatnonzero(has_ftir):
        stone = truth.iloc[i]
        rng = np.random.default_rng([seed, int(i)])
        thickness = float(_thickness_mm(np.array([stone["mass_ct"]]))[0])
        position = float(np.clip(1365.0 + 3.0 * rng.standard_normal(), 1358.0, 1380.0))
        baseline = (rng.uniform(0.02, 0.3), rng.uniform(-0.05, 0.1), rng.uniform(0.0, 0.03))
        noise = 0.002 * rng.uniform(0.5, 2.0)
        x, y = simulate_ftir(float(stone["n_a_ppm"]), float(stone["n_b_ppm"]), 0.0,
                             platelet_area_cm2=float(stone["platelet_area_cm2"]),
                             platelet_position_cm1=position,
                             h3107_area_cm2=float(stone["h3107_area_cm2"]), thickness_mm=thickness,
                             baseline=baseline, noise_sd=noise, rng=rng)
        sample_id = str(stone["sample_id"])
        text = jcamp_text(x, y, sample_id=sample_id, extra={"PATH LENGTH MM": f"{thickness:.4f}"})
        (folder / f"{sample_id}.jdx").write_text(text, encoding="ascii", newline="\n")
        rows.append({"sample_id": sample_id, "ftir_thickness_mm": thickness,
                     "ftir_platelet_position_cm1": position, "ftir_noise_sd": noise})
    return pd.DataFrame(rows, columns=["sample_id", "ftir_thickness_mm", "ftir_platelet_position_cm1",
                                       "ftir_noise_sd"])


def _write_images(observed: pd.DataFrame, chosen: np.ndarray, folder: Path, seed: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i in np.flatnonzero(chosen):
        stone = observed.iloc[i]
        sample_id = str(stone["sample_id"])
        png = draw_stone_png(stone["morphology"], stone["colour"], seed=seed * 100_003 + int(i),
                             label=sample_id)
        (folder / f"{sample_id}.png").write_bytes(png)
        written.append(sample_id)
    return written


def _sieve_text(value: str | None) -> str | None:
    """'dtc:+11' -> '+11', 'mm:2.60' -> '2.60 mm' (as labs write them)."""
    if value is None:
        return None
    system, _, number = str(value).partition(":")
    return number if system == "dtc" else f"{number} mm"


def _to_file_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Render values as a lab would type them: sieve '+11' or '2.60 mm', booleans true/false."""
    out = frame.copy()
    if "sieve_class" in out:
        out["sieve_class"] = out["sieve_class"].map(_sieve_text)
    if "coating" in out:
        out["coating"] = out["coating"].map(lambda v: "" if pd.isna(v) else ("true" if v else "false"))
    return out


def _write_csv(frame: pd.DataFrame, path: Path, first_line: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(f"# {first_line}\n")
        frame.to_csv(fh, index=False, lineterminator="\n")


def _write_stone_files(out: Path, stones: pd.DataFrame, truth: pd.DataFrame, seeds: list[int], *, prefix: str,
                       what: str, photo_fraction: float, ftir_in_table: bool,
                       tag: str) -> tuple[np.ndarray, pd.DataFrame, list[str]]:
    """Write one stone table (``<prefix>stones.csv``) with its spectra and photos.

    ``seeds[1]`` drives the spectra, ``seeds[2]`` which stones are photographed
    and ``seeds[3]`` the photos. Returns which stones have FTIR, the spectra's
    truth and the photographed stones.
    """
    has_ftir = stones["n_total_ppm"].notna().to_numpy()
    sims = _write_spectra(truth, has_ftir, out / f"{prefix}spectra", seeds[1])
    chosen = np.random.default_rng(seeds[2]).random(len(stones)) < photo_fraction
    images = _write_images(stones, chosen, out / f"{prefix}images", seeds[3])
    columns = [c for c in stones.columns if ftir_in_table or c not in FTIR_COLUMNS]
    _write_csv(_to_file_frame(stones[columns]), out / f"{prefix}stones.csv",
               f"SYNTHETIC {what} stones from footprint synth ({tag}); not real data")
    return has_ftir, sims, images


def _write_parcels(out: Path, params: SynthParams, seeds: list[int], *, n_parcels: int,
                   size_range: tuple[int, int], month: str, photo_fraction: float, ftir_in_table: bool,
                   tag: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Write the parcel files; return the parcel stones' truth and counts."""
    stones, parcels, truth = _generate_parcels(params, seed=seeds[0], n_parcels=n_parcels,
                                               size_range=size_range, month=month)
    has_ftir, sims, images = _write_stone_files(out, stones, truth, seeds, prefix="parcels_", what="parcel",
                                                photo_fraction=photo_fraction, ftir_in_table=ftir_in_table,
                                                tag=tag)
    _write_csv(parcels[list(PARCEL_SHEET_COLUMNS)], out / "parcels.csv",
               f"SYNTHETIC export parcels from footprint synth ({tag}); not real data")
    rest = ["parcel_id", *[c for c in parcels.columns if c not in PARCEL_SHEET_COLUMNS]]
    _write_csv(parcels[rest], out / "parcels_truth.csv",
               f"SYNTHETIC parcel truth from footprint synth ({tag}): the answers, kept aside")
    truth = truth.assign(set="parcel").merge(sims, on="sample_id", how="left")
    truth["has_image"] = truth["sample_id"].isin(set(images))
    counts = {"n_parcels": len(parcels), "n_parcel_stones": len(stones),
              "n_parcel_spectra": int(has_ftir.sum()), "n_parcel_images": len(images)}
    return truth, counts


def _write_site_weights(params: SynthParams, path: Path, tag: str) -> None:
    """Write the reference sites' production shares (the generator's site weights)."""
    rows = [{"zone": zone, "site": site.site, "weight": site.weight}
            for zone in params.reference_zones for site in params.zone_sites(zone)]
    _write_csv(pd.DataFrame(rows, columns=["zone", "site", "weight"]), path,
               f"SYNTHETIC site production shares from footprint synth ({tag}); estimates, not real data")


def _finish_truth(truth: pd.DataFrame, path: Path, tag: str) -> None:
    truth = truth.copy()
    truth["has_ftir_file"] = truth["ftir_thickness_mm"].notna()
    _write_csv(_to_file_frame(truth), path,
               f"SYNTHETIC truth from footprint synth ({tag}): complete true values of every stone")


def write_reference_set(out_dir: str | Path, *, seed: int = 0, params: SynthParams | None = None,
                        lots_per_site: int = BUNDLED_LOTS_PER_SITE,
                        stones_per_lot: int = BUNDLED_STONES_PER_LOT, photo_fraction: float = 0.10,
                        n_parcels: int = 30, parcel_size_range: tuple[int, int] = (1, 100),
                        month: str = "2024-06", ftir_in_table: bool = False,
                        lot_sd: float = 0.0) -> dict[str, Any]:
    """Write the SYNTHETIC reference set and test parcels as lab files.

    Parameters
    ----------
    out_dir : str or Path
        Output folder: new, empty, or holding a previous SYNTHETIC set (its
        spectra and images folders are replaced).
    seed : int, default=0
        Master seed; the same seed and sizes give byte-identical files.
    params : SynthParams, optional
        Generator parameters; default the bundled ones.
    lots_per_site, stones_per_lot : int
        Reference sizes: lots at every CAR-West and CAR-East site, stones per lot
        (default: the bundled set, 120 lots of 40 stones).
    photo_fraction : float, default=0.10
        Share of stones (reference and parcels) that get a picture.
    n_parcels : int, default=30
        Test export parcels (a month's worth); 0 writes no parcel files.
    parcel_size_range : (int, int), default=(1, 100)
        Smallest and largest parcel, stones.
    month : str, default="2024-06"
        Export month of the parcels.
    ftir_in_table : bool, default=False
        Also put the true FTIR values in the stone tables (normally they come
        from the spectra).
    lot_sd : float, default=0.0
        Lot-to-lot variation of the reference lots (:func:`._lots.lot_site`;
        0 = the bundled set, every lot drawn from its site's density).

    Returns
    -------
    dict
        Paths (``stones``, ``spectra``, ``images``, ``truth``,
        ``parcels_stones``, ``parcels``, ``parcels_truth``, ``parcels_spectra``,
        ``parcels_images``, ``readme``) and counts (``n_stones``,
        ``n_spectra``, ``n_images``, ``n_parcels``, ``n_parcel_stones``, ...).

    Raises
    ------
    InputError
        If ``out_dir`` is a non-empty folder that is not a previous synth output.
    """
    params = load_params() if params is None else params
    out = Path(out_dir)
    _prepare(out)
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(8)]
    tag = f"seed={seed}, params sha256={params.sha256[:16]}"
    observed, truth = _generate_reference(params, seed=seeds[0], lots_per_site=lots_per_site,
                                          stones_per_lot=stones_per_lot, lot_sd=lot_sd)
    has_ftir, sims, images = _write_stone_files(out, observed, truth, seeds, prefix="", what="reference",
                                                photo_fraction=photo_fraction, ftir_in_table=ftir_in_table,
                                                tag=tag)
    truth = truth.assign(set="reference", parcel_id=None).merge(sims, on="sample_id", how="left")
    truth["has_image"] = truth["sample_id"].isin(set(images))
    counts = {"n_stones": len(observed), "n_spectra": int(has_ftir.sum()), "n_images": len(images)}
    if n_parcels > 0:
        p_truth, p_counts = _write_parcels(out, params, seeds[4:8], n_parcels=n_parcels,
                                           size_range=parcel_size_range, month=month,
                                           photo_fraction=photo_fraction, ftir_in_table=ftir_in_table,
                                           tag=tag)
        truth = pd.concat([truth, p_truth], ignore_index=True)
        counts.update(p_counts)
    _finish_truth(truth, out / "truth.csv", tag)
    _write_site_weights(params, out / "site_weights.csv", tag)
    (out / "README.txt").write_text(_readme(seed, params, lots_per_site, stones_per_lot, counts, lot_sd),
                                    encoding="utf-8", newline="\n")
    log.info("wrote SYNTHETIC reference set to %s: %s", out, counts)
    return {**_paths(out), **counts}


def write_parcel_set(out_dir: str | Path, *, seed: int = 1, params: SynthParams | None = None,
                     n_parcels: int = 30, parcel_size_range: tuple[int, int] = (1, 100),
                     month: str = "2024-06", photo_fraction: float = 0.10,
                     ftir_in_table: bool = False) -> dict[str, Any]:
    """Write only SYNTHETIC test parcels (``parcels_stones.csv``, ``parcels.csv``, spectra, pictures).

    Parameters are as for :func:`write_reference_set`; the stones' truth goes
    to ``truth.csv``.

    Returns
    -------
    dict
        Paths and counts, as :func:`write_reference_set`.
    """
    params = load_params() if params is None else params
    out = Path(out_dir)
    _prepare(out)
    seeds = [int(s) for s in np.random.SeedSequence([seed, 1]).generate_state(4)]
    tag = f"seed={seed}, params sha256={params.sha256[:16]}"
    truth, counts = _write_parcels(out, params, seeds, n_parcels=n_parcels, size_range=parcel_size_range,
                                   month=month, photo_fraction=photo_fraction, ftir_in_table=ftir_in_table,
                                   tag=tag)
    _finish_truth(truth, out / "truth.csv", tag)
    (out / "README.txt").write_text(_readme(seed, params, 0, 0, counts), encoding="utf-8", newline="\n")
    return {**_paths(out), **counts}


def _paths(out: Path) -> dict[str, Path]:
    names = (*_OWNED_FILES, "README.txt", *_OWNED_DIRS)
    return {name.split(".")[0].lower(): out / name for name in names if (out / name).exists()}


def _lot_note(lot_sd: float) -> str:
    """README words for the lot-to-lot variation (nothing for the bundled set, so its README is unchanged)."""
    return f" (lot-to-lot variation lot_sd={lot_sd:g}, an estimate)" if lot_sd > 0 else ""


def _readme(seed: int, params: SynthParams, lots: int, per_lot: int, counts: dict[str, int],
            lot_sd: float = 0.0) -> str:
    keys = ("n_stones", "n_spectra", "n_images", "n_parcels", "n_parcel_stones", "n_parcel_spectra",
            "n_parcel_images")
    counts = {k: counts.get(k, 0) for k in keys}
    return f"""SYNTHETIC DATA - NOT REAL DIAMONDS

This folder was written by `footprint synth reference` (footprint.synth.write_reference_set)
with seed {seed}, {lots} lots per site and {per_lot} stones per lot{_lot_note(lot_sd)}, from the generator
parameters with sha256 {params.sha256}. No public CAR stone-level data exists; every
parameter has a source or is marked "estimate" in footprint/data/synth_params.json.

stones.csv          {counts['n_stones']} reference stones (CAR-West, CAR-East), one site per lot
spectra/            {counts['n_spectra']} JCAMP-DX 5.01 FTIR spectra (##$SYNTHETIC=TRUE)
images/             {counts['n_images']} PNG pictures marked SYNTHETIC
parcels_stones.csv  {counts['n_parcel_stones']} stones of {counts['n_parcels']} test export parcels
parcels.csv         the parcels sheet (declared zone, KP certificate, exporter, value, cleaning)
parcels_truth.csv   per parcel: export date, stones, carats and the truth (kind, zone, site, mix,
                    declared value / price-book value)
parcels_spectra/    {counts['n_parcel_spectra']} spectra of parcel stones
parcels_images/     {counts['n_parcel_images']} pictures of parcel stones
truth.csv           complete true values of every stone (kept aside for checks)
site_weights.csv    each reference site's share of its zone's production (site-mixture prior)

Build a store from it:
  footprint db init DB.h5
  footprint db add DB.h5 --stones stones.csv --spectra spectra --images images --by demo
  footprint train DB.h5 --out MODEL --site-weights site_weights.csv
"""
