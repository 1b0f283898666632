"""Plan a batch against the stored data: new, unchanged and replaced records, before anything is written."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._batch import DERIVED_FTIR_COLUMNS, Batch
from .._schema import Field
from .._types import Spectrum
from ..exceptions import (
    DuplicateRecordError,
    InputError,
    Problem,
    SchemaError,
    SpectrumError,
)
from ._format import (
    _DISCREPANCY_ABS,
    _DISCREPANCY_REL,
    GRIDS,
    _encode_stone_column,
    _encode_text,
    _Plan,
    _read,
    _same,
    _table_len,
    grid_for,
)
from ._write import (
    _check_values,
    _empty_storage,
)

if TYPE_CHECKING:
    from ._store import ReferenceStore

__all__ = ["plan_batch"]

logger = logging.getLogger(__name__)


def _canonical(spectrum: Spectrum) -> Any:
    """Convert to the kind's canonical units (footprint.spectra.to_canonical)."""
    from ..spectra import to_canonical

    return to_canonical(spectrum)


def _resample(spectrum: Spectrum, grid: np.ndarray) -> tuple[np.ndarray, list[str]]:
    canon = _canonical(spectrum)
    x = np.asarray(canon.x, dtype=np.float64)
    y = np.asarray(canon.y, dtype=np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.size < 2:
        raise SpectrumError("spectrum has fewer than two finite points",
                            [Problem(spectrum.source, None, "x", x.size, "needs >= 2 finite points")])
    order = np.argsort(x, kind="stable")
    values = np.interp(grid, x[order], y[order], left=np.nan, right=np.nan)
    steps = [*list(getattr(canon, "steps", [])), "linear interpolation onto the common grid, NaN outside"]
    return values.astype(np.float32), steps


# ---------------------------------------------------------------------------
# the store
# ---------------------------------------------------------------------------


def plan_batch(store: ReferenceStore, batch: Batch) -> _Plan:
    plan = _Plan()
    stones_file = next((s.path for s in batch.sources if s.role == "stones"), None)
    batch_ids = _plan_stones(store, batch, plan, stones_file)
    known = store.sample_ids() | batch_ids
    _plan_spectra(store, batch, plan, known)
    _plan_derived(store, batch, plan)
    _plan_images(store, batch, plan, known)
    return plan


def _plan_stones(store: ReferenceStore, batch: Batch, plan: _Plan, file: str | None) -> set[str]:
    stones = batch.stones if batch.stones is not None else pd.DataFrame({"sample_id": []})
    fields = {f.name: f for f in store.fields()}
    problems = [Problem(file, None, col, None, "not a schema field nor a registered custom field "
                        "(register it with `footprint db fields --add`)")
                for col in stones.columns if col not in fields]
    if "sample_id" not in stones.columns:
        problems.append(Problem(file, None, "sample_id", None, "column is required"))
    if problems:
        raise SchemaError("the batch has columns the store does not know", problems)
    ids = stones["sample_id"]
    empty = ids.isna().to_numpy() | (ids.astype(str).str.strip() == "").to_numpy()
    bad = [Problem(file, int(i) + 1, "sample_id", ids.iloc[i], "required, must not be empty")
           for i in np.flatnonzero(empty)]
    dup = ids[ids.duplicated(keep=False) & ids.notna()]
    bad += [Problem(file, int(i) + 1, "sample_id", v, "appears more than once in the batch")
            for i, v in zip(np.flatnonzero(ids.duplicated(keep=False) & ids.notna()), dup, strict=True)]
    if bad:
        raise InputError("the batch's sample_ids are not usable", bad)
    stones = stones.reset_index(drop=True)
    _check_values(stones, fields, file)
    encoded = {name: (_encode_stone_column(fld, stones[name]) if name in stones.columns
                      else _empty_storage(fld, len(stones)))
               for name, fld in fields.items()}
    new_ids = stones["sample_id"].astype(str).to_numpy(dtype=object)
    status = np.zeros(len(stones), dtype=np.int8)  # 0 new, 1 unchanged, 2 changed
    version = np.ones(len(stones), dtype=np.int64)
    if store._stone_rows() and len(stones):
        _compare(store, new_ids, encoded, fields, status, version)
    changed = np.flatnonzero(status == 2)
    if changed.size and not batch.replace:
        raise DuplicateRecordError(
            "records differ from the stored ones under the same sample_id", [
                Problem(file, int(i) + 1, "sample_id", new_ids[i],
                        "a different record already exists; use --replace --reason TEXT "
                        "to store a corrected version") for i in changed])
    keep = status != 1
    plan.stones = {name: arr[keep] for name, arr in encoded.items()}
    plan.stones["_version"] = version[keep]
    reason = batch.reason if batch.replace else None
    plan.stones["_reason"] = _encode_text([reason if s == 2 else None for s in status[keep]])
    plan.counts.update(stones_added=int((status == 0).sum()), stones_unchanged=int((status == 1).sum()),
                       stones_replaced=int(changed.size))
    return set(new_ids.tolist())


def _compare(store: ReferenceStore, new_ids: np.ndarray, encoded: dict[str, np.ndarray],
             fields: dict[str, Field], status: np.ndarray, version: np.ndarray) -> None:
    """Mark rows of the batch unchanged (1) or changed (2) against the latest stored versions."""
    group = store._f["stones"]
    ids, latest = store._latest_mask()
    rows = np.flatnonzero(latest)
    index = pd.Index(ids[rows])
    pos = index.get_indexer(new_ids)
    present = np.flatnonzero(pos >= 0)
    if not present.size:
        return
    stored_rows = rows[pos[present]]
    same = np.ones(present.size, dtype=bool)
    for name in fields:
        stored = group[name][()][stored_rows]
        same &= _same(stored, encoded[name][present])
    status[present] = np.where(same, 1, 2)
    version[present] = group["_version"][()][stored_rows] + 1


def _plan_spectra(store: ReferenceStore, batch: Batch, plan: _Plan, known: set[str]) -> None:
    stored = store._spectra_table(("sample_id", "sha256"))
    existing = set(zip(stored["sample_id"], stored["sha256"], strict=True))
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    added = unchanged = 0
    grid_cache = {kind: grid_for(kind) for kind in GRIDS}
    for spec in batch.spectra:
        if spec.sample_id is None or spec.sample_id not in known:
            problems.append(Problem(spec.source, None, "sample_id", spec.sample_id,
                                    "spectrum of a stone that is neither in the batch nor the store"))
            continue
        if not spec.kind:
            problems.append(Problem(spec.source, None, "kind", spec.kind, "spectrum kind is not set"))
            continue
        key = (spec.sample_id, spec.sha256)
        if key in existing or key in seen:
            unchanged += 1
            continue
        seen.add(key)
        grid = grid_cache.get(spec.kind)
        values: np.ndarray | None = None
        steps: list[str] = []
        if grid is not None:
            try:
                values, steps = _resample(spec, grid)
            except SpectrumError as exc:
                problems += exc.problems or [Problem(spec.source, None, "x_unit", spec.x_unit, str(exc))]
                continue
        else:
            batch.report.warnings.append(
                f"{spec.source}: no common grid for kind '{spec.kind}'; kept raw only")
        plan.spectra.append((spec, values, steps))
        added += 1
    if problems:
        raise SpectrumError("spectra cannot be stored", problems)
    plan.counts.update(spectra_added=added, spectra_unchanged=unchanged)


def _plan_derived(store: ReferenceStore, batch: Batch, plan: _Plan) -> None:
    derived = batch.derived_ftir
    plan.counts["derived_added"] = 0
    if derived is None or not len(derived):
        return
    missing = [c for c in DERIVED_FTIR_COLUMNS if c not in derived.columns]
    if missing:
        raise InputError(f"derived FTIR table lacks columns {missing}")
    # rows for spectra landing now, and for stored spectra that have no derived row yet
    # (added earlier without derivation); never a second row for the same spectrum
    targets = {(s.sample_id, s.sha256) for s, _, _ in plan.spectra}
    stored = store._spectra_table(("sample_id", "sha256"))
    targets |= set(zip(stored["sample_id"], stored["sha256"], strict=True))
    have = store.derived_ftir()
    targets -= set(zip(have["sample_id"], have["spectrum_sha256"], strict=True))
    keys = list(zip(derived["sample_id"], derived["spectrum_sha256"], strict=True))
    rows = np.array([key in targets for key in keys], dtype=bool)
    rows &= ~pd.Series(keys, dtype=object).duplicated().to_numpy()
    plan.derived = derived.loc[rows, list(DERIVED_FTIR_COLUMNS)].reset_index(drop=True)
    plan.counts["derived_added"] = len(plan.derived)
    _warn_discrepancies(store, batch, plan.derived)


def _warn_discrepancies(store: ReferenceStore, batch: Batch, derived: pd.DataFrame) -> None:
    """Warn where derived FTIR values disagree with the lab's own figures (both are kept)."""
    ids = derived["sample_id"].astype(str)
    columns = list(_DISCREPANCY_ABS)
    frames = []
    if batch.stones is not None and len(batch.stones):
        frames.append(batch.stones.set_index("sample_id").reindex(columns=columns))
    in_batch = set(frames[0].index) if frames else set()
    if store._stone_rows() and not set(ids) <= in_batch:
        stored = store.stones().set_index("sample_id").reindex(columns=columns)
        frames.append(stored[~stored.index.isin(in_batch)])
    if not frames:
        return
    lab = pd.concat(frames)
    messages = []
    for col, tol in _DISCREPANCY_ABS.items():
        lab_v = pd.to_numeric(lab[col].reindex(ids)).to_numpy(dtype=np.float64, na_value=np.nan)
        ftir_v = pd.to_numeric(derived[col]).to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = np.abs(lab_v - ftir_v) > np.maximum(tol, _DISCREPANCY_REL * np.abs(lab_v))
        messages += [(i, f"{ids.iloc[i]}: {col} from the lab is {lab_v[i]:g}, the FTIR derivation "
                         f"gives {ftir_v[i]:g}; both kept, please check") for i in np.flatnonzero(bad)]
    messages.sort(key=lambda m: m[0])
    batch.report.warnings += [m for _, m in messages[:50]]
    if len(messages) > 50:
        batch.report.warnings.append(f"... and {len(messages) - 50} more lab/FTIR discrepancies")


def _plan_images(store: ReferenceStore, batch: Batch, plan: _Plan, known: set[str]) -> None:
    existing: set[tuple[str, str, str]] = set()
    group = store._f["images"]
    if _table_len(group):
        existing = set(zip(_read(group, "sample_id"), _read(group, "view"), _read(group, "sha256"),
                           strict=True))
    problems = []
    unchanged = 0
    for img in batch.images:
        if img.sample_id not in known:
            problems.append(Problem(img.source, None, "sample_id", img.sample_id,
                                    "image of a stone that is neither in the batch nor the store"))
            continue
        key = (img.sample_id, img.view, img.sha256)
        if key in existing:
            unchanged += 1
            continue
        existing.add(key)
        plan.images.append(img)
    if problems:
        raise InputError("images cannot be stored", problems)
    plan.counts.update(images_added=len(plan.images), images_unchanged=unchanged)


# ---------------------------------------------------------------------------
# helpers of the writer
# ---------------------------------------------------------------------------
