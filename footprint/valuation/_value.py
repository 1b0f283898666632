"""Expected parcel values from a price book, against the declared values.

Per cell (size class x quality x colour) the expected value is ``carats x
usd_per_ct`` with the interval ``carats x low`` to ``carats x high``; a cell
with no carats uses ``n_stones x`` the class's carats per stone (its low and
high mass at the interval ends). A cell of unknown quality or colour is
priced as the parcel's described cells of the same size class. A parcel described by a subsample
(``total_carats`` above the described carats in the parcels file) is scaled
by ``total / described``. Stones with neither a mass nor a size class cannot
be valued one by one: they are counted (``n_unvalued``) and priced from the
parcel's valued stones (``carats_estimated`` says so: real lab sheets always
miss some masses, and a check that gives up on every such parcel checks
nothing). When the parcels file gives ``total_carats`` they weigh what the
valued stones leave of it, at the valued stones' US$/ct; otherwise each is
priced at the valued stones' mean value per stone (missing at random, an
assumption). When more than :data:`MAX_UNVALUED_SHARE` of the stones are
unvalued, or the valued stones already weigh the total, the check says
``incomplete`` rather than compare a guess with the declared value.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._io import guard_outputs, write_csv
from ..exceptions import InputError, Problem
from ._price_book import PriceBook

__all__ = ["FLAGS", "VALUE_COLUMNS", "cells_from_stones", "value_files", "value_parcels"]

#: Output columns of :func:`value_parcels`.
VALUE_COLUMNS = (
    "parcel_id",
    "n_stones",
    "carats",
    "carats_estimated",
    "total_carats",
    "n_unvalued",
    "expected_value_usd",
    "expected_value_lo",
    "expected_value_hi",
    "expected_usd_per_ct",
    "declared_value_usd",
    "declared_usd_per_ct",
    "value_ratio",
    "value_flag",
    "valuation_method",
)
#: Above this share of unvalued stones a parcel's value is not extrapolated: the check says "incomplete".
MAX_UNVALUED_SHARE = 0.2

#: value_flag words.
FLAGS = {
    "inside": "declared value inside the expected interval",
    "under": "declared value below the expected interval",
    "over": "declared value above the expected interval",
    "not_declared": "no declared value",
    "incomplete": "too many stones could not be valued (no mass, no size class or no price row), or the "
                  "parcel's total carats are below what its valued stones weigh",
}


def cells_from_stones(stones: pd.DataFrame) -> pd.DataFrame:
    """Gather stones (one row each) into cells: parcel x size class x quality x colour.

    A stone's size class is its ``sieve_class``, or for a stone with a mass
    and no sieve the DTC sieve its mass falls on (footprint/data/size_classes.csv).
    Assortment rows (with ``n_stones`` and ``carats``) are returned as they are.

    Returns
    -------
    DataFrame
        parcel_id, size_class (None: unknown), quality, colour, n_stones, carats
        (NaN when some stone of the cell has no mass), mass_ct (mean per stone).
    """
    cols = ["parcel_id", "size_class", "quality", "colour", "n_stones", "carats", "mass_ct"]
    if "size_class" in stones.columns and "n_stones" in stones.columns:
        is_cell = (stones["size_class"].notna() & stones["n_stones"].notna()).to_numpy()
        cells = stones[is_cell].reindex(columns=cols)
        if is_cell.all():
            return cells
        # A mixed batch: stone rows are gathered into cells of their own, parcel order kept.
        rest = cells_from_stones(stones[~is_cell].drop(columns=["size_class", "n_stones", "carats"]))
        return pd.concat([rest, cells], ignore_index=True)
    from ..ingest import size_table

    mass = (
        pd.to_numeric(stones.get("mass_ct"), errors="coerce")
        if "mass_ct" in stones
        else pd.Series(np.nan, index=stones.index)
    )
    sieve = (
        stones["sieve_class"]
        if "sieve_class" in stones
        else pd.Series(None, index=stones.index, dtype=object)
    )
    size = sieve.astype(object).where(sieve.notna(), None)
    need = size.isna() & mass.notna() & (mass > 0)
    if need.any():
        size = size.copy()
        table = size_table()  # the sieve whose carat range holds the mass (ingest.sieve_for_carats)
        k = np.clip(
            np.searchsorted(table["ct_low"], mass[need].to_numpy(), side="right") - 1,
            0,
            len(table["ct_low"]) - 1,
        )
        size[need] = [f"dtc:+{int(n)}" for n in table["dtc_sieve"][k]]
    frame = pd.DataFrame(
        {
            "parcel_id": stones["parcel_id"].astype(str),
            "size_class": size.fillna("?"),
            "quality": stones["quality"].astype(object).fillna("?") if "quality" in stones else "?",
            "colour": stones["colour"].astype(object).fillna("?") if "colour" in stones else "?",
            "mass": mass,
            "has_mass": mass.notna(),
        }
    )
    grouped = frame.groupby(["parcel_id", "size_class", "quality", "colour"], sort=False)
    cells = grouped.agg(
        n_stones=("mass", "size"), carats=("mass", "sum"), n_mass=("has_mass", "sum")
    ).reset_index()
    cells.loc[cells["n_mass"] < cells["n_stones"], "carats"] = np.nan
    cells = cells.drop(columns="n_mass")
    for name in ("size_class", "quality", "colour"):
        cells[name] = cells[name].where(cells[name] != "?", None)
    cells["mass_ct"] = cells["carats"] / cells["n_stones"]
    return cells


@functools.lru_cache(maxsize=4096)
def _size(label: str) -> Any:
    from ..ingest import parse_size_class

    return parse_size_class(label)


def _cell_values(cells: pd.DataFrame, book: PriceBook) -> pd.DataFrame:
    mid = np.full(len(cells), np.nan)
    lo = np.full(len(cells), np.nan)
    hi = np.full(len(cells), np.nan)
    ct = np.full(len(cells), np.nan)
    ct_lo = np.full(len(cells), np.nan)
    ct_hi = np.full(len(cells), np.nan)
    for i, rec in enumerate(
        cells[["size_class", "quality", "colour", "n_stones", "carats"]].itertuples(index=False)
    ):
        label, quality, colour, n, carats = rec
        size = _size(label) if isinstance(label, str) else None
        if carats == carats and carats > 0:
            per_stone = carats / n
            ct[i] = ct_lo[i] = ct_hi[i] = carats
        elif size is not None:
            per_stone = size.ct_nominal
            ct[i], ct_lo[i] = n * size.ct_nominal, n * size.ct_low
            ct_hi[i] = n * (size.ct_high if math.isfinite(size.ct_high) else 2 * size.ct_nominal)
        else:
            continue
        price = book.price(
            per_stone,
            quality if isinstance(quality, str) else None,
            colour if isinstance(colour, str) else None,
            size.label if size else None,
        )
        mid[i], lo[i], hi[i] = ct[i] * price[0], ct_lo[i] * price[1], ct_hi[i] * price[2]
    out = pd.DataFrame(
        {
            "parcel_id": cells["parcel_id"].astype(str).to_numpy(),
            "n": cells["n_stones"].to_numpy(),
            "ct": ct,
            "estimated": ~np.isfinite(cells["carats"].to_numpy(dtype=float)),
            "mid": mid,
            "lo": lo,
            "hi": hi,
        }
    )
    # A cell of unknown quality or colour: priced as the parcel's described cells of the same size
    # class (their US$/ct and band), which is nearer the truth than the book-wide average over
    # qualities (gem to industrial differ 30-fold); the book average only when the parcel has none.
    unknown = (cells["quality"].isna() | cells["colour"].isna()).to_numpy() & np.isfinite(ct)
    if unknown.any():
        size = cells["size_class"].astype(object).fillna("").to_numpy()
        known = ~unknown & np.isfinite(mid)
        frame = pd.DataFrame(
            {
                "p": out["parcel_id"],
                "s": size,
                "ct": np.where(known, ct, 0.0),
                "mid": np.where(known, mid, 0.0),
                "lo": np.where(known, lo, 0.0),
                "hi": np.where(known, hi, 0.0),
            }
        )
        sums = frame.groupby(["p", "s"]).sum()
        for j in np.flatnonzero(unknown).tolist():
            key = (out["parcel_id"].iat[j], size[j])
            if key in sums.index and sums.at[key, "ct"] > 0:
                row = sums.loc[key]
                mid[j] = ct[j] * row["mid"] / row["ct"]
                lo[j] = ct_lo[j] * row["lo"] / row["ct"]
                hi[j] = ct_hi[j] * row["hi"] / row["ct"]
        out["mid"], out["lo"], out["hi"] = mid, lo, hi
    out["unvalued"] = np.where(np.isfinite(mid), 0, out["n"])
    return out


def value_parcels(
    cells: pd.DataFrame,
    book: PriceBook,
    parcels: pd.DataFrame | None = None,
    *,
    sampling: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Compare expected and declared value, per parcel.

    Parameters
    ----------
    cells : DataFrame
        :func:`cells_from_stones` output (or assortment cells).
    book : PriceBook
        The price book (already :meth:`PriceBook.as_of` the valuation date).
    parcels : DataFrame, optional
        The parcels file: ``declared_value_usd``, ``valuation_method``,
        ``total_carats``.
    sampling : mapping, optional
        parcel_id -> sampling weight (``total_carats / described_carats``).

    Returns
    -------
    DataFrame
        :data:`VALUE_COLUMNS`, one row per parcel in order of appearance.
    """
    values = _cell_values(cells, book)
    grouped = values.groupby("parcel_id", sort=False)
    out = grouped.agg(
        n_stones=("n", "sum"),
        carats=("ct", "sum"),
        carats_estimated=("estimated", "any"),
        n_unvalued=("unvalued", "sum"),
        expected_value_usd=("mid", "sum"),
        expected_value_lo=("lo", "sum"),
        expected_value_hi=("hi", "sum"),
    ).reset_index()
    weight = out["parcel_id"].map(dict(sampling or {})).fillna(1.0).to_numpy(dtype=float)
    for name in ("expected_value_usd", "expected_value_lo", "expected_value_hi"):
        out[name] = out[name] * weight
    info: dict[str, dict[str, Any]] = {}
    if parcels is not None and len(parcels):
        info = {str(r["parcel_id"]): r for r in parcels.to_dict("records")}

    def get(pid: str, name: str) -> Any:
        value = info.get(pid, {}).get(name)
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else value

    out["total_carats"] = [get(p, "total_carats") for p in out["parcel_id"]]
    out["total_carats"] = out["total_carats"].astype(float)
    completed = _complete_from_total(out, weight)
    scaled_ct = np.where(np.isfinite(out["total_carats"]), out["total_carats"], out["carats"] * weight)
    declared = np.array([get(p, "declared_value_usd") for p in out["parcel_id"]], dtype=float)
    out["declared_value_usd"] = declared
    with np.errstate(divide="ignore", invalid="ignore"):
        out["expected_usd_per_ct"] = out["expected_value_usd"] / scaled_ct
        out["declared_usd_per_ct"] = declared / scaled_ct
        out["value_ratio"] = declared / out["expected_value_usd"].to_numpy()
    flag = np.where(
        declared < out["expected_value_lo"],
        "under",
        np.where(declared > out["expected_value_hi"], "over", "inside"),
    ).astype(object)
    flag[~np.isfinite(declared)] = "not_declared"
    flag[((out["n_unvalued"] > 0).to_numpy() & ~completed)] = "incomplete"
    out["value_flag"] = flag
    out["valuation_method"] = [get(p, "valuation_method") for p in out["parcel_id"]]
    return out.reindex(columns=list(VALUE_COLUMNS))


def _complete_from_total(out: pd.DataFrame, weight: np.ndarray) -> np.ndarray:
    """Price the unvalued stones from the parcel's valued ones, in place; return where it was done.

    With ``total_carats``: they weigh what the valued stones leave of it, at
    the valued stones' US$/ct (mid, low and high ends alike). Without: each
    is worth the valued stones' mean value per stone. Only for parcels
    described in full (no subsample weight), with at most
    :data:`MAX_UNVALUED_SHARE` of their stones unvalued.
    """
    n = out["n_stones"].to_numpy(dtype=float)
    unvalued = out["n_unvalued"].to_numpy(dtype=float)
    valued_ct = out["carats"].to_numpy(dtype=float)
    total = out["total_carats"].to_numpy(dtype=float)
    left = total - valued_ct
    has_total = np.isfinite(total)
    eligible = ((unvalued > 0) & (unvalued <= MAX_UNVALUED_SHARE * n) & (weight == 1.0) & (valued_ct > 0)
                & (~has_total | (left > 0)))
    per_carat = np.where(has_total, left / np.where(valued_ct > 0, valued_ct, 1.0), 0.0)
    per_stone = unvalued / np.maximum(n - unvalued, 1.0)
    share = np.where(eligible, np.where(has_total, per_carat, per_stone), 0.0)
    for name in ("expected_value_usd", "expected_value_lo", "expected_value_hi"):
        out[name] = out[name].to_numpy(dtype=float) * (1.0 + share)
    out["carats"] = valued_ct * (1.0 + share)
    out["carats_estimated"] = out["carats_estimated"].to_numpy(dtype=bool) | eligible
    return eligible


def _iso_date(text: str) -> str:
    """Return ``text`` as an ISO date ``YYYY-MM-DD``, or raise :class:`InputError` naming the field."""
    import datetime as _dt
    import re

    value = text.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return _dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InputError(
            "bad valuation date",
            [Problem(None, None, "valuation_date", text, "must be a date YYYY-MM-DD")],
        ) from None


def value_files(
    price_book: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    stones: str | os.PathLike[str] | None = None,
    assortment: str | os.PathLike[str] | None = None,
    parcels: str | os.PathLike[str] | None = None,
    parcels_table: pd.DataFrame | None = None,
    valuation_date: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Value the parcels of a stones file or an assortment and write the table (``footprint value``).

    Parameters
    ----------
    price_book : path
        Price book CSV (:func:`read_price_book`).
    out : path
        Output CSV (:data:`VALUE_COLUMNS`); written atomically, never over an
        input, text cells spreadsheet-safe (:func:`footprint._io.write_csv`).
    stones, assortment : path
        Exactly one: a stones table or an assortment (read and checked by the ingest layer).
    parcels : path, optional
        The parcels file's path (for messages and the no-overwrite check).
    parcels_table : DataFrame, optional
        That file as read and checked (``footprint.ingest.read_parcels``,
        by the caller: the classify layer sits above this one):
        ``declared_value_usd``, ``valuation_method``, ``described_carats``,
        ``total_carats``.
    valuation_date : str, optional
        ISO date the price book is read at (default today).

    Returns
    -------
    table : DataFrame
        One row per parcel.
    meta : dict
        ``synthetic``, ``price_book``, ``valuation_date``, ``flags`` (counts).

    Raises
    ------
    InputError
        Bad inputs (file, row, field), both or neither of stones and
        assortment.
    OutputError
        ``out`` names an input, is a folder, or its folder does not exist.
    """
    from ..ingest import read_assortment, read_stones_table, row_weights
    from ._price_book import read_price_book

    if (stones is None) == (assortment is None):
        raise InputError(
            "value needs one input",
            [Problem(None, None, "stones", None, "give either STONES or --assortment, not both")],
        )
    guard_outputs(
        {"--out": out},
        {"--price-book": price_book, "STONES": stones, "--assortment": assortment, "--parcels": parcels},
    )
    if valuation_date is not None:
        valuation_date = _iso_date(valuation_date)
    book = read_price_book(price_book).as_of(valuation_date)
    if assortment is not None:
        frame = read_assortment(assortment)
    else:
        assert stones is not None
        frame, _ = read_stones_table(stones, reference=False, keep_columns=("parcel_id",))
        missing = frame["parcel_id"].isna()
        if missing.any():
            k = int(np.flatnonzero(missing.to_numpy())[0])
            raise InputError(
                f"{os.fspath(stones)}: every stone must name its parcel",
                [Problem(os.fspath(stones), k + 1, "parcel_id", "", "required")],
            )
    parcels_df = parcels_table
    _, sampling, problems = row_weights(
        frame, parcels_df, os.fspath(parcels) if parcels is not None else None
    )
    if problems:
        raise InputError("the parcels file's carats do not add up", problems)
    table = value_parcels(cells_from_stones(frame), book, parcels_df, sampling=sampling)
    synthetic = bool(book.synthetic or frame.attrs.get("synthetic"))
    comment = "SYNTHETIC: valued with synthetic data or a synthetic price book; not real values"
    write_csv(table, out, comment=comment if synthetic else None, float_format="%.6g", lineterminator="\n")
    meta = {
        "synthetic": synthetic,
        "price_book": book.name,
        "valuation_date": valuation_date,
        "flags": table["value_flag"].value_counts().sort_index().to_dict(),
    }
    return table, meta
