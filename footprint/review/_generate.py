"""SYNTHETIC months of exports with known drifts, and certificates for SYNTHETIC parcels.

:func:`write_export_months` writes twelve (by default) months of export
parcels from several exporters, each month a folder with the stones file,
the parcels sheet, the certificates and the results of the real
``footprint classify`` run on them (with its audit), ready for
``footprint review add``. Drifts are injected in known months and exporters
(``drifts.json`` lists them): a 40 % drop in US$/ct, a shift of the size
distribution (coarser goods), and one exporter's parcels topped up with 20 %
foreign stones. Everything is labelled SYNTHETIC; all figures not taken from
the generator parameters (``footprint/data/synth_params.json``) are
estimates stated here.

:func:`synth_certificates` writes certificates for the parcels of
``footprint synth reference/parcels`` (the demo month).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import atomic_write_bytes, write_csv
from ..exceptions import InputError, Problem

__all__ = ["DEFAULT_DRIFTS", "EXPORTERS", "synth_certificates", "write_export_months"]

#: SYNTHETIC buying houses of the generated months.
EXPORTERS = (
    "Bureau d'achat Alpha (SYNTHETIC)",
    "Bureau d'achat Bravo (SYNTHETIC)",
    "Comptoir Charlie (SYNTHETIC)",
    "Comptoir Delta (SYNTHETIC)",
)
#: Drifts injected by default: (month index from 0, exporter index, kind, size).
DEFAULT_DRIFTS: tuple[dict[str, Any], ...] = (
    {"month": 6, "exporter": 1, "kind": "price_drop", "size": 0.40},
    {"month": 8, "exporter": 2, "kind": "size_shift", "size": 0.8},
    {
        "month": 10,
        "exporter": 0,
        "kind": "top_up",
        "size": 0.20,
        "foreign_zone": "DRC-Kasai",
    },
)
#: Parcel-to-parcel spread of one exporter's US$/ct within a month (ln units; estimate).
PRICE_SD_LN = 0.08
#: Spread of the exporters' price levels (ln units; estimate).
EXPORTER_PRICE_SD_LN = 0.10
#: Days a SYNTHETIC certificate stays valid after issue (illustrative).
VALIDITY_DAYS = 60
_SYNTHETIC_HEADER = "# SYNTHETIC {what} from footprint review synth-months (seed={seed}); not real data\n"


def _month(first: str, k: int) -> tuple[int, int]:
    y, m = (int(v) for v in first.split("-"))
    m0 = y * 12 + (m - 1) + k
    return m0 // 12, m0 % 12 + 1


def _parcel_stones(
    rng: np.random.Generator,
    params: Any,
    site: Any,
    n: int,
    *,
    shift: float = 0.0,
    foreign: tuple[Any, int] | None = None,
) -> pd.DataFrame:
    from ..synth import sample_site_stones

    if shift:
        # coarser goods: draw 5n stones and keep n with weights mass**shift (an exponential tilt of ln mass,
        # shifting its mean by about shift * sigma**2)
        pool = sample_site_stones(site, params, 5 * n, rng)
        w = pool["mass_ct"].to_numpy() ** shift
        keep = rng.choice(len(pool), size=n, replace=False, p=w / w.sum())
        own = pool.iloc[np.sort(keep)].reset_index(drop=True)
    else:
        own = sample_site_stones(site, params, n, rng)
    if foreign is not None:
        fsite, n_f = foreign
        own = pd.concat([own.iloc[: n - n_f], sample_site_stones(fsite, params, n_f, rng)], ignore_index=True)
        own = own.iloc[rng.permutation(len(own))].reset_index(drop=True)
    return own


def write_export_months(
    out_dir: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    n_months: int = 12,
    first_month: str = "2024-01",
    parcels_per_month: int = 4,
    size_range: tuple[int, int] = (150, 250),
    drifts: Sequence[dict[str, Any]] = DEFAULT_DRIFTS,
    params: Any = None,
) -> dict[str, Any]:
    """Write SYNTHETIC monthly exports of :data:`EXPORTERS`, classified by the model in ``model_dir``.

    Parameters
    ----------
    out_dir : path
        Folder to write (one sub-folder per month, ``YYYY-MM``).
    model_dir : path
        A trained model directory; every month is classified with it by
        :func:`footprint.classify` (results, audit).
    seed : int
        Random seed.
    n_months, first_month : int, str
        How many months from which ``YYYY-MM``.
    parcels_per_month : int
        Parcels per exporter and month.
    size_range : (int, int)
        Stones per parcel, drawn uniformly.
    drifts : sequence of dict
        ``month`` (index), ``exporter`` (index), ``kind`` (``price_drop``,
        ``size_shift``, ``top_up``), ``size`` (fraction of the price lost,
        tilt of ln mass, foreign share), ``foreign_zone`` (and optionally
        ``foreign_site``) for a top-up (default: a DRC-Kasai-like site drawn for each parcel).
    params : SynthParams, optional
        Generator parameters (default the bundled ones).

    Returns
    -------
    dict
        ``months`` (folder, month, check date per month), ``drifts`` (with
        month and exporter names), ``n_parcels``, ``n_stones``.
    """
    from ..classify import classify
    from ..model import FootprintModel
    from ..synth import apply_missingness, load_params

    FootprintModel.load(Path(model_dir))  # a bad model fails here, before any folder is made
    params = params or load_params()
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    west = [s for s in params.sites if s.zone == "CAR-West"]
    n_exp = len(EXPORTERS)
    # each exporter buys mostly from two or three sites (estimate): its own site weights
    site_w = rng.dirichlet(np.full(len(west), 0.8), size=n_exp)
    price_level = 227.0 * np.exp(EXPORTER_PRICE_SD_LN * rng.standard_normal(n_exp))
    plan = {(d["month"], d["exporter"]): d for d in drifts}
    for d in drifts:
        if not (0 <= d["month"] < n_months and 0 <= d["exporter"] < n_exp):
            raise InputError(
                "drift outside the generated months or exporters",
                [Problem(None, None, "drifts", d, f"month < {n_months}, exporter < {n_exp}")],
            )
    months, n_total, n_stones_total = [], 0, 0
    for k in range(n_months):
        year, mon = _month(first_month, k)
        label = f"{year:04d}-{mon:02d}"
        folder = out / label
        folder.mkdir(exist_ok=True)
        stones, sheet, certs, truth = [], [], [], []
        for e, exporter in enumerate(EXPORTERS):
            drift = plan.get((k, e))
            for j in range(parcels_per_month):
                site = west[int(rng.choice(len(west), p=site_w[e]))]
                n = int(rng.integers(size_range[0], size_range[1] + 1))
                foreign = None
                if drift and drift["kind"] == "top_up":
                    fsites = [
                        s
                        for s in params.sites
                        if s.zone == drift.get("foreign_zone", "DRC-Kasai")
                        and drift.get("foreign_site") in (None, s.site)
                    ]
                    foreign = (fsites[int(rng.integers(len(fsites)))], int(round(drift["size"] * n)))
                shift = drift["size"] if drift and drift["kind"] == "size_shift" else 0.0
                true = _parcel_stones(rng, params, site, n, shift=shift, foreign=foreign)
                obs = apply_missingness(true, params, rng)
                obs["mass_ct"] = true["mass_ct"].to_numpy()  # exported stones are all weighed
                pid = f"SYN-M{year:04d}{mon:02d}-E{e + 1}-{j + 1:02d}"
                obs.insert(0, "sample_id", [f"{pid}-{i:03d}" for i in range(1, n + 1)])
                obs.insert(0, "parcel_id", pid)
                obs = obs.assign(country="CAF", notes="SYNTHETIC")
                stones.append(obs)
                carats = round(float(true["mass_ct"].sum()), 2)
                price = price_level[e] * np.exp(PRICE_SD_LN * rng.standard_normal())
                if drift and drift["kind"] == "price_drop":
                    price *= 1.0 - drift["size"]
                value = round(carats * price, 2)
                cert = f"CF-SYN-{year:04d}{mon:02d}-{e + 1}{j + 1:02d}"
                issued = _dt.date(year, mon, int(rng.integers(1, 26)))
                sheet.append(
                    {
                        "parcel_id": pid,
                        "declared_zone": "CAR-West",
                        "kp_certificate": cert,
                        "exporter": exporter,
                        "declared_value_usd": value,
                        "cleaning_state": "acid_rinsed",
                    }
                )
                certs.append(
                    {
                        "kp_certificate": cert,
                        "issued_on": issued.isoformat(),
                        "expires_on": (issued + _dt.timedelta(days=VALIDITY_DAYS)).isoformat(),
                        "exporter": exporter,
                        "importer_country": ("BE", "AE")[j % 2],
                        "hs_code": "7102.10",
                        "carats": carats,
                        "n_stones": n,
                        "value_usd": value,
                        "declared_origin": site.site,
                    }
                )
                truth.append(
                    {
                        "parcel_id": pid,
                        "exporter": exporter,
                        "site": site.site,
                        "drift": drift["kind"] if drift else "",
                        "foreign_stones": foreign[1] if foreign else 0,
                    }
                )
                n_total += 1
                n_stones_total += n
        _write(folder / "stones.csv", pd.concat(stones, ignore_index=True), "parcel stones", seed)
        _write(folder / "parcels.csv", pd.DataFrame(sheet), "parcels sheet", seed)
        _write(folder / "certificates.csv", pd.DataFrame(certs), "KP certificates", seed)
        _write(folder / "truth.csv", pd.DataFrame(truth), "truth (kept aside)", seed)
        classify(
            model_dir,
            folder / "stones.csv",
            folder / "results.csv",
            parcels=folder / "parcels.csv",
            command="footprint review synth-months",
        )
        last = _dt.date(year + (mon == 12), mon % 12 + 1, 1) - _dt.timedelta(days=1)
        months.append({"month": label, "folder": str(folder), "checked_on": last.isoformat()})
    injected = [
        {**d, "month": months[d["month"]]["month"], "exporter": EXPORTERS[d["exporter"]]} for d in drifts
    ]
    summary = {
        "synthetic": True,
        "seed": seed,
        "months": months,
        "drifts": injected,
        "n_parcels": n_total,
        "n_stones": n_stones_total,
        "exporters": list(EXPORTERS),
    }
    text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
    atomic_write_bytes(out / "drifts.json", text.encode("utf-8"))
    return summary


def _write(path: Path, frame: pd.DataFrame, what: str, seed: int | str) -> None:
    """Write a SYNTHETIC table atomically, spreadsheet-safe (:func:`footprint._io.write_csv`)."""
    comment = _SYNTHETIC_HEADER.format(what=what, seed=seed)[2:].rstrip("\n")
    write_csv(frame, path, comment=comment, lineterminator="\n")


def synth_certificates(
    parcels_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, seed: int = 0, non_compliant: int = 1
) -> dict[str, Any]:
    """Write SYNTHETIC certificates for the parcels of a ``footprint synth`` folder.

    Reads ``parcels.csv`` and ``parcels_truth.csv`` (export date, stones,
    carats): one certificate per parcel, carats and stones as counted, the
    parcel's value, HS 7102.10, declared origin the true site when it is a
    CAR-West site, else a CAR-West site drawn at random (what a launderer
    would declare); the first ``non_compliant`` parcels are declared from a
    western sub-prefecture that is not compliant (Amada-Gaza in the bundled
    list), so the compliance flag shows.
    """
    from ..ingest import read_plain_table
    from ..synth import load_params

    folder = Path(parcels_dir)
    sheet = read_plain_table(
        folder / "parcels.csv", required=("parcel_id", "kp_certificate", "exporter"), what="parcels sheet"
    ).frame
    truth = read_plain_table(
        folder / "parcels_truth.csv",
        required=("parcel_id", "export_date", "n_stones", "total_carats", "truth_site"),
        what="parcels truth",
    ).frame.set_index("parcel_id")
    west = [s.site for s in load_params().sites if s.zone == "CAR-West"]
    rng = np.random.default_rng(seed)
    rows = []
    for i, rec in enumerate(sheet.to_dict("records")):
        t = truth.loc[rec["parcel_id"]]
        issued = _dt.date.fromisoformat(t["export_date"])
        origin = t["truth_site"] if t["truth_site"] in west else west[int(rng.integers(len(west)))]
        if i < non_compliant:
            origin = "Amada-Gaza"
        value = float(rec.get("declared_value_usd") or 0) or round(float(t["total_carats"]) * 227.0, 2)
        rows.append(
            {
                "kp_certificate": rec["kp_certificate"],
                "issued_on": issued.isoformat(),
                "expires_on": (issued + _dt.timedelta(days=VALIDITY_DAYS)).isoformat(),
                "exporter": rec["exporter"],
                "importer_country": "BE",
                "hs_code": "7102.10",
                "carats": round(float(t["total_carats"]), 2),
                "n_stones": int(t["n_stones"]),
                "value_usd": round(value, 2),
                "declared_origin": origin,
                "parcel_id": rec["parcel_id"],
            }
        )
    _write(Path(out), pd.DataFrame(rows), "KP certificates", seed)
    return {"certificates": str(out), "n_certificates": len(rows), "synthetic": True}
