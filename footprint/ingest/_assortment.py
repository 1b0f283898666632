"""Assortments: parcels (or reference lots) described as carats and stones per size class.

An assortment file has one row per **cell**: a parcel (``parcel_id``; for
reference lots ``lot_id``), a size class (see :mod:`._size_class`), the
number of stones ``n_stones`` and, optionally, their ``carats``, plus any
categorical schema field (``quality``, ``colour``, ``morphology``,
``fluorescence``, ...) shared by the cell's stones; reference lots also give
``zone`` (and ``site``). Example::

    parcel_id,size_class,quality,colour,n_stones,carats
    P-001,dtc:+11,gem,colourless,120,21.6
    P-001,gr:4,near_gem,light_yellow,3,3.1

Each cell becomes ONE row of the stone table, standing for ``n_stones``
identical stones (``stone_weight``; the model adds its evidence that many
times, :meth:`footprint.model.FootprintModel.assess_batch` ``weights``):

- ``mass_ct`` is the cell's mean mass per stone (``carats / n_stones``); with
  no carats, grainer and carat classes give their nominal mass and sieve
  classes give no mass (the model then reads the sieve, as for a stone with
  no mass);
- ``sieve_class`` is the cell's sieve for ``dtc`` and ``mm`` classes.

Every cell is checked through the ingest layer: the categorical fields by the
same steps (and messages) as a stone table; ``size_class``, ``n_stones`` and
``carats`` here; a mean mass per stone outside the carat range of a grainer
or carat class is an error, outside a sieve's (ESTIMATED) range by more than
a factor of two a warning. Problems name file, row and field.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._schema import Field, get_field
from ..exceptions import Problem, SchemaError
from ._size_class import parse_size_class
from ._table import _numeric_header, _read_raw, _validate
from ._validate import ProcessingReport, parse_number

__all__ = [
    "ASSORTMENT_COLUMNS",
    "expand_reference_cells",
    "read_assortment",
    "row_weights",
    "sampling_weights",
]

logger = logging.getLogger(__name__)

#: The assortment's own columns (the rest are schema fields).
ASSORTMENT_COLUMNS = ("parcel_id", "size_class", "n_stones", "carats")
_SYNONYMS = {
    "parcel_id": {"parcel id", "parcel", "parcel no", "parcel number", "parcelid"},
    "size_class": {"size class", "size", "sieve", "sieve class", "sieve size", "size_class"},
    "n_stones": {"n stones", "stones", "stone count", "count", "number of stones", "pcs", "nstones"},
    "carats": {"carats", "ct", "carat", "weight", "weight ct", "weight (ct)", "carats (ct)", "total ct"},
}
#: Schema kinds a cell may carry (numbers are per stone, not per cell).
_CELL_KINDS = ("category", "text", "boolean", "integer", "date")
_NOT_IN_CELLS = {
    "mass_ct": "give the cell's total 'carats' instead",
    "sieve_class": "give the cell's 'size_class' instead",
}
#: A sieve cell's mean mass may lie this factor outside the (estimated) sieve range before a warning.
_SIEVE_SLACK = 2.0
#: Relative tolerance on grainer / carat class bounds (rounding of recorded carats).
_CLASS_TOLERANCE = 0.02


def _squash(text: str) -> str:
    return re.sub(r"[\s_\-\.]+", " ", text.strip().lower()).strip()


def _shown(value: Any) -> Any:
    """Return a cell as messages show it (numbers read by pandas as plain Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def _own_column(header: str, reference: bool) -> str | None:
    key = _squash(header)
    for name, words in _SYNONYMS.items():
        if name == "parcel_id" and reference:
            continue
        if key == _squash(name) or key in {_squash(w) for w in words}:
            return name
    return None


def read_assortment(
    path: str | os.PathLike[str],
    *,
    reference: bool = False,
    extra_fields: Sequence[Field] = (),
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read and validate an assortment file (CSV or XLSX) into weighted stone rows.

    Parameters
    ----------
    path : path-like
        The assortment (see the module notes for its columns).
    reference : bool
        Reference lots (``lot_id`` and ``zone`` required) rather than parcels
        to classify (``parcel_id`` required).
    extra_fields : sequence of Field
        Custom fields of the store.
    sheet : str or int, optional
        XLSX sheet.

    Returns
    -------
    DataFrame
        One row per cell, in file order grouped by parcel (first appearance):
        every schema field as :func:`read_stones_table` gives them (``sample_id``
        ``<parcel>/cell<row>``), plus ``parcel_id`` (classify) , ``size_class``
        (normalised), ``size_system``, ``n_stones`` (int), ``carats`` (float,
        NaN = not given) and ``stone_weight`` (= ``n_stones``). ``attrs``
        holds ``file``, ``synthetic``, ``assortment`` (True) and ``warnings``.

    Raises
    ------
    SchemaError
        Listing every problem (file, 1-based data row, field, value, rule).
    """
    file = os.fspath(path)
    report = ProcessingReport()
    raw, comments, delimiter = _read_raw(
        Path(path), file, sheet, report, _numeric_header(tuple(extra_fields))
    )
    raw.columns = [str(c) for c in raw.columns]
    problems: list[Problem] = []
    own: dict[str, str] = {}
    for header in raw.columns:
        name = _own_column(header, reference)
        if name is None:
            continue
        if name in own:
            problems.append(
                Problem(file, 0, header, None, f"second column for '{name}' (first: '{own[name]}')")
            )
        own[name] = header
    required = [c for c in ASSORTMENT_COLUMNS if c not in ("carats", "parcel_id")] + (
        [] if reference else ["parcel_id"]
    )
    for name in required:
        if name not in own:
            problems.append(Problem(file, 0, name, None, "column required in an assortment file"))
    rest = raw.drop(columns=list(own.values()))
    from .._schema import canonical_column

    for header in rest.columns:
        canon = canonical_column(header, extra_fields)
        if canon is None or canon in (
            "zone",
            "site",
            "lot_id",
            "country",
            "lab",
            "collected_on",
            "notes",
            "custody_ref",
            "cleaning_state",
        ):
            continue  # unknown columns are reported by the stone-table steps
        if canon in _NOT_IN_CELLS:
            problems.append(Problem(file, 0, header, None, f"not a cell column: {_NOT_IN_CELLS[canon]}"))
        elif get_field(canon, extra_fields).kind not in _CELL_KINDS:
            problems.append(
                Problem(
                    file,
                    0,
                    header,
                    None,
                    "per-stone measurements cannot describe a whole cell; describe such "
                    "stones one by one in a stones file",
                )
            )
    if reference and "lot_id" not in {canonical_column(h, extra_fields) for h in rest.columns}:
        problems.append(Problem(file, 0, "lot_id", None, "column required in a reference assortment"))
    if problems:
        raise SchemaError(f"{file}: the assortment file breaks its format", problems)

    n = len(raw)
    keys = raw[own["parcel_id"]].astype(str).str.strip().to_numpy() if not reference else None
    rest = rest.copy()
    rest.insert(0, "sample_id", [f"cell{i + 1}" for i in range(n)])
    kept = ("parcel_id",) if not reference else ()
    if not reference:
        rest["parcel_id"] = keys
    table_log = logging.getLogger(_validate.__module__)
    level = table_log.level
    table_log.setLevel(max(level, logging.WARNING))  # its "read N stones" would count cells as stones
    try:
        frame, _ = _validate(
            rest,
            comments,
            delimiter,
            file,
            report,
            extra_fields=extra_fields,
            reference=reference,
            keep_columns=kept,
            text_cells=Path(path).suffix.lower() not in (".xlsx", ".xlsm"),
        )
    except SchemaError as exc:
        problems.extend(exc.problems)
        frame = None
    finally:
        table_log.setLevel(level)
    sizes: list[Any] = [None] * n
    counts = np.zeros(n, dtype=np.int64)
    carats = np.full(n, np.nan)
    warnings: list[str] = []
    comma = delimiter == ";"
    for i in range(n):
        row = i + 1
        if keys is not None and not keys[i]:
            problems.append(Problem(file, row, "parcel_id", "", "required"))
        cell = raw[own["size_class"]].iloc[i]
        try:
            sizes[i] = parse_size_class(cell)
        except SchemaError as exc:
            problems.append(Problem(file, row, "size_class", cell, str(exc)))
        cell = raw[own["n_stones"]].iloc[i]
        try:
            value = parse_number(cell, decimal_comma=comma)
            if not (value >= 1 and float(value).is_integer()):
                raise ValueError
            counts[i] = int(value)
        except ValueError:
            problems.append(Problem(file, row, "n_stones", cell, "must be a whole number >= 1"))
        if "carats" in own:
            cell = raw[own["carats"]].iloc[i]
            try:
                carats[i] = parse_number(cell, decimal_comma=comma)
                if not (np.isnan(carats[i]) or carats[i] > 0):
                    raise ValueError
            except ValueError:
                problems.append(
                    Problem(file, row, "carats", _shown(cell), "must be a number > 0 (blank if not weighed)")
                )
                carats[i] = np.nan
        size = sizes[i]
        if size is not None and counts[i] >= 1 and np.isfinite(carats[i]):
            mean = carats[i] / counts[i]
            if size.sieve is None and not size.contains(mean, _CLASS_TOLERANCE):
                problems.append(
                    Problem(
                        file,
                        row,
                        "carats",
                        _shown(carats[i]),
                        f"{mean:.4g} ct per stone is outside size class {size.label} "
                        f"({size.ct_low:g}-{size.ct_high:g} ct per stone)",
                    )
                )
            elif (
                size.sieve is not None
                and not size.ct_low / _SIEVE_SLACK <= mean <= size.ct_high * _SIEVE_SLACK
            ):
                warnings.append(
                    f"{file}: row {row}: {mean:.4g} ct per stone is far from sieve {size.label} "
                    f"({size.ct_low:.3g}-{size.ct_high:.3g} ct, footprint/data/size_classes.csv); "
                    "check the sieve system"
                )
    if problems:
        ordered = sorted(dict.fromkeys(problems), key=lambda p: -1 if p.row is None else p.row)
        raise SchemaError(f"{file}: the assortment file breaks the schema", ordered)
    assert frame is not None
    synthetic = bool(frame.attrs.get("synthetic", False))
    nominal = np.array([s.ct_nominal if s.sieve is None else np.nan for s in sizes])
    mean_mass = np.where(np.isfinite(carats), carats / counts, nominal)
    frame["mass_ct"] = mean_mass
    frame["sieve_class"] = pd.Series([s.sieve for s in sizes], index=frame.index, dtype=object)
    ident = frame["parcel_id"] if not reference else frame["lot_id"]
    frame["sample_id"] = [f"{p}/cell{i + 1}" for i, p in enumerate(ident.astype(str))]
    frame["size_class"] = [s.label for s in sizes]
    frame["size_system"] = [s.system for s in sizes]
    frame["n_stones"] = counts
    frame["carats"] = carats
    frame["stone_weight"] = counts.astype(float)
    # Cells of one parcel together, parcels in order of first appearance (stable).
    codes, _ = pd.factorize(ident.astype(str), sort=False)
    frame = frame.iloc[np.argsort(codes, kind="stable")].reset_index(drop=True)
    frame.attrs.update(file=file, synthetic=synthetic, assortment=True, warnings=warnings)
    for message in warnings:
        logger.warning(message)
    logger.info(
        "read %d assortment cells (%d stones) of %d %s from %s",
        n,
        int(counts.sum()),
        int(codes.max() + 1) if n else 0,
        "lots" if reference else "parcels",
        file,
    )
    return frame


def sampling_weights(
    cells: pd.DataFrame, parcels: pd.DataFrame | None, *, file: str | None = None
) -> tuple[pd.Series, list[Problem]]:
    """Per parcel, the weight of each described stone: ``total_carats / described_carats``.

    Parameters
    ----------
    cells : DataFrame
        Stone rows (cells or stones) with ``parcel_id``, ``mass_ct`` and
        ``stone_weight`` (stones: 1).
    parcels : DataFrame, optional
        The parcels file with ``total_carats`` and ``described_carats``
        (either may be missing; described defaults to the carats of the
        described cells or stones, which must then all have a mass).
    file : str, optional
        The parcels file's name, for messages.

    Returns
    -------
    weights : Series
        parcel_id -> sampling weight (1.0 when the parcel was described whole).
    problems : list of Problem
        Parcels whose figures do not add up (total below described, or no
        described carats to scale from).
    """
    out: dict[str, float] = {}
    problems: list[Problem] = []
    if parcels is None or "total_carats" not in parcels.columns:
        return pd.Series(out, dtype=float), problems
    mass = pd.to_numeric(cells["mass_ct"], errors="coerce") * cells["stone_weight"]
    described = mass.groupby(cells["parcel_id"].astype(str)).sum(min_count=1)
    missing = mass.isna().groupby(cells["parcel_id"].astype(str)).any()
    for k, rec in zip(parcels.index, parcels.to_dict("records"), strict=True):
        k = int(k) if isinstance(k, (int, np.integer)) else 0
        pid = str(rec["parcel_id"])
        total = rec.get("total_carats")
        if total is None or not np.isfinite(total) or pid not in described.index:
            continue
        given = rec.get("described_carats")
        if given is not None and np.isfinite(given):
            base = float(given)
        elif bool(missing.get(pid, True)):
            problems.append(
                Problem(
                    file,
                    k + 1,
                    "described_carats",
                    None,
                    "needed with total_carats when some described stones or cells have no carats",
                )
            )
            continue
        else:
            base = float(described[pid])
        if total < base * (1 - 1e-6):
            problems.append(
                Problem(file, k + 1, "total_carats", total, f"less than the described carats ({base:g} ct)")
            )
            continue
        out[pid] = float(total) / base
    return pd.Series(out, dtype=float), problems


def row_weights(
    stones: pd.DataFrame, parcels: pd.DataFrame | None, file: str | None = None
) -> tuple[np.ndarray | None, dict[str, float], list[Problem]]:
    """Weights for :meth:`FootprintModel.assess_batch`, and each subsampled parcel's sampling weight.

    Assortment rows stand for ``stone_weight`` stones (stone rows, also in a
    mixed batch, for one): that is the evidence weight, exact (a cell of n
    stones adds what n such stones would).

    A parcel described by a subsample (parcels file ``total_carats`` above
    the described carats) has the sampling weight ``total / described``
    (:func:`sampling_weights`), returned per parcel for
    :meth:`FootprintModel.assess_batch` ``sampling``: the zone evidence
    estimates the full parcel's (``total / described`` times the described
    stones' log-likelihoods, tempered at the full size), while the tests and
    the foreign fraction keep the sampling error of the described stones
    (read at their count; not the inflated weights, which would pretend to
    four times the information of a 25 % subsample and made the
    unknown-origin tests read the amplified sampling noise as a misfit).
    It also scales what is *counted* (stones and carats of the whole parcel,
    its expected value).

    Returns
    -------
    weights : ndarray or None
        Stones per row; None when every row is one stone (the unweighted path).
    sampling : dict
        parcel_id -> sampling weight, for the parcels that have one (not 1).
    problems : list of Problem
        Parcels-file rows whose carats do not add up.
    """
    has_cells = "stone_weight" in stones.columns
    base = np.ones(len(stones))
    if has_cells:
        given = pd.to_numeric(stones["stone_weight"], errors="coerce").to_numpy(dtype=float)
        base = np.where(np.isfinite(given), given, 1.0)
    frame = pd.DataFrame(
        {
            "parcel_id": stones["parcel_id"].astype(str).to_numpy(),
            "mass_ct": pd.to_numeric(stones["mass_ct"], errors="coerce").to_numpy(dtype=float)
            if "mass_ct" in stones.columns
            else np.nan,
            "stone_weight": base,
        }
    )
    sampling, problems = sampling_weights(frame, parcels, file=file)
    sampling = sampling[sampling != 1.0]
    return (base if has_cells else None), {str(k): float(v) for k, v in sampling.items()}, problems


def expand_reference_cells(cells: pd.DataFrame, extra_fields: Sequence[Field] = ()) -> pd.DataFrame:
    """Expand reference lots described by assortment into the store's stone records (one per stone).

    The reference store and the training reader take stones, not weighted
    cells (a weighted training path does not exist yet), so each cell of
    ``n`` stones becomes ``n`` records ``<lot>/cell<row>-<k>`` with the cell's
    fields. A cell's carats are split evenly: ``mass_ct`` is the cell's mean
    mass per stone (``carats / n_stones``; empty when the cell gives no
    carats, a grainer or carat class's nominal mass is not stored as a
    measurement), which is also what an assessed assortment cell brings as
    evidence. No stone of a cell was weighed on its own, so every record says
    so in ``notes``: ``assortment cell <id>: <n> stones, <c> ct, size class
    <class>; mass_ct is the cell's mean per stone`` (a lab can tell these
    records from stones weighed one by one, and select them on
    ``notes``). The size is the cell's sieve class (a grainer or carat class
    becomes the DTC sieve of its mean mass per stone,
    ``footprint/data/size_classes.csv``).

    Parameters
    ----------
    cells : DataFrame
        :func:`read_assortment` output with ``reference=True``.
    extra_fields : sequence of Field
        The store's custom fields (their columns are kept).

    Returns
    -------
    DataFrame
        Every schema (+ custom) column, one row per stone.
    """
    from .._schema import FIELDS
    from ._size_class import sieve_for_carats

    names = [f.name for f in FIELDS] + [f.name for f in extra_fields]
    counts = cells["n_stones"].to_numpy(dtype=np.int64)
    rows = cells.loc[cells.index.repeat(counts)].reset_index(drop=True)
    within = np.concatenate([np.arange(1, n + 1) for n in counts]) if len(counts) else np.zeros(0, int)
    rows["sample_id"] = [f"{cell}-{k}" for cell, k in zip(rows["sample_id"], within, strict=True)]
    mean = rows["mass_ct"].to_numpy(dtype=float)
    sieve = rows["sieve_class"].astype(object).to_numpy().copy()
    for i in np.flatnonzero(pd.isna(sieve)):
        if np.isfinite(mean[i]):
            sieve[i] = sieve_for_carats(float(mean[i]))
    rows["sieve_class"] = pd.Series(sieve, dtype=object)
    carats = rows["carats"].to_numpy(dtype=float)
    notes = [
        f"assortment cell {cid}: {n} stones"
        + (f", {c:g} ct" if np.isfinite(c) else "")
        + f", size class {size}"
        + ("; mass_ct is the cell's mean per stone" if np.isfinite(c) else "; no mass (cell not weighed)")
        for cid, n, c, size in zip(
            rows["sample_id"].str.rsplit("-", n=1).str[0],
            rows["n_stones"],
            carats,
            rows["size_class"],
            strict=True,
        )
    ]
    rows["notes"] = [
        f"{old}; {new}" if isinstance(old, str) and old else new
        for old, new in zip(rows["notes"], notes, strict=True)
    ]
    counts_rows = rows["n_stones"].to_numpy(dtype=float)
    weighed = np.isfinite(carats) & (counts_rows > 0)
    rows["mass_ct"] = np.where(weighed, carats / np.maximum(counts_rows, 1), np.nan)
    out = rows.reindex(columns=names)
    out.attrs.update(cells.attrs)
    return out
