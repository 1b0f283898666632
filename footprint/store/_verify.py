"""Verify a reference store: every dataset against its checksum-backed structure and the audit log."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._types import sha256_hex
from ._format import (
    _IMAGE_COLS,
    _STONE_META,
    _read,
    _table_len,
    grid_for,
)

if TYPE_CHECKING:
    from ._store import ReferenceStore

__all__ = ["verify_parts"]

logger = logging.getLogger(__name__)


def _verify_stones(store: ReferenceStore, problems: list[str], checked: dict[str, int]) -> None:
    group = store._f["stones"]
    n = store._stone_rows()
    checked["stone_versions"] = n
    fields = store.fields()
    for name in [f.name for f in fields] + list(_STONE_META):
        if name not in group:
            problems.append(f"stones: column '{name}' missing")
        elif group[name].shape[0] != n:
            problems.append(f"stones: column '{name}' has {group[name].shape[0]} rows, expected {n}")
    if problems or not n:
        return
    hist = store.stones(history=True)
    if (hist["sample_id"].isna()).any():
        problems.append("stones: a record has an empty sample_id")
    for fld in fields:
        col = hist[fld.name]
        if fld.kind == "category":
            bad = set(col.dropna().unique()) - set(fld.vocabulary)
            if bad:
                problems.append(f"stones: field '{fld.name}' holds words outside its vocabulary: "
                                f"{sorted(bad)[:5]}")
        elif fld.kind in ("number", "integer"):
            for value in col.dropna().unique():
                rule = fld.check(float(value))
                if rule:
                    problems.append(f"stones: field '{fld.name}' value {value!r}: {rule}")
                    break
    versions = hist.groupby("sample_id", sort=False)["_version"].agg(list)
    for sid, seq in versions.items():
        if list(seq) != list(range(1, len(seq) + 1)):
            problems.append(f"stones: '{sid}' has versions {list(seq)}, expected 1..{len(seq)}")
    no_reason = hist[(hist["_version"] > 1) & hist["_reason"].isna()]
    for sid in no_reason["sample_id"].head(10):
        problems.append(f"stones: '{sid}' has a replaced version without a reason")


def _check_blob(where: str, what: str, stone_exists: bool, blob: np.ndarray, offset: int, length: int,
                sha256: str, problems: list[str]) -> None:
    """Check one stored record's stone and its bytes (in range, matching their sha256)."""
    if not stone_exists:
        problems.append(f"{where}: points to a stone that does not exist")
    if offset < 0 or offset + length > blob.size:
        problems.append(f"{where}: {what} out of range")
    elif sha256_hex(blob[offset:offset + length].tobytes()) != sha256:
        problems.append(f"{where}: {what} do not match their sha256 {sha256}")


def _verify_spectra(store: ReferenceStore, ids: set[str], problems: list[str],
                    checked: dict[str, int]) -> None:
    table = store._spectra_table()
    checked["spectra"] = len(table)
    if not len(table):
        return
    data = store._f["spectra_data"]
    raw = data["raw"][()]
    n_x, n_y = data["x"].shape[0], data["y"].shape[0]
    for row in table.itertuples(index=False):
        where = f"spectrum of '{row.sample_id}' ({row.source})"
        _check_blob(where, "raw bytes", row.sample_id in ids, raw, int(row.raw_offset), int(row.raw_length),
                    row.sha256, problems)
        if int(row.x_offset) + int(row.n_points) > n_x or int(row.y_offset) + int(row.n_points) > n_y:
            problems.append(f"{where}: parsed values out of range")
    for kind in store._f["resampled"]:
        group = store._f["resampled"][kind]
        rows = group["spectrum_row"][()]
        if rows.size and (rows.min() < 0 or rows.max() >= len(table)):
            problems.append(f"resampled/{kind}: points to a spectrum that does not exist")
        elif rows.size and not (table["kind"].to_numpy()[rows] == kind).all():
            problems.append(f"resampled/{kind}: a row comes from a spectrum of another kind")
        if group["values"].shape[0] != rows.size:
            problems.append(f"resampled/{kind}: values and spectrum_row differ in length")
        grid = grid_for(kind)
        if grid is not None and not np.array_equal(group["grid"][()], grid):
            problems.append(f"resampled/{kind}: grid differs from the documented grid")


def _verify_images(store: ReferenceStore, ids: set[str], problems: list[str],
                   checked: dict[str, int]) -> None:
    group = store._f["images"]
    n = _table_len(group)
    checked["images"] = n
    if not n:
        return
    blob = store._f["images_data/bytes"][()]
    for row in pd.DataFrame({c: _read(group, c) for c in _IMAGE_COLS}).itertuples(index=False):
        where = f"image of '{row.sample_id}' ({row.source})"
        _check_blob(where, "bytes", row.sample_id in ids, blob, int(row.offset), int(row.length), row.sha256,
                    problems)


def _verify_derived(store: ReferenceStore, problems: list[str], checked: dict[str, int]) -> None:
    derived = store.derived_ftir()
    checked["derived_ftir"] = len(derived)
    if not len(derived):
        return
    spectra = store._spectra_table(("sample_id", "sha256"))
    known = set(zip(spectra["sample_id"], spectra["sha256"], strict=True))
    for sid, sha in zip(derived["sample_id"], derived["spectrum_sha256"], strict=True):
        if (sid, sha) not in known:
            problems.append(f"derived_ftir: row for '{sid}' points to no stored spectrum ({sha})")


def _verify_audit(store: ReferenceStore, problems: list[str], checked: dict[str, int]) -> None:
    entries = store.audit_log()
    checked["audit_entries"] = len(entries)
    seqs = [e.get("seq") for e in entries]
    if seqs != list(range(len(entries))):
        problems.append(f"audit: sequence numbers are {seqs[:10]}..., expected 0, 1, 2, ...")
    tables = {"stones": store._f["stones"], "spectra": store._f["spectra"],
              "images": store._f["images"], "derived_ftir": store._f["derived_ftir"]}
    for name, group in tables.items():
        batches = group["_batch"][()] if _table_len(group) else np.empty(0, dtype=np.int64)
        actual = pd.Series(batches).value_counts().to_dict()
        for entry in entries:
            claimed = int(entry.get("rows", {}).get(name, 0))
            got = int(actual.pop(entry["seq"], 0))
            if claimed != got:
                problems.append(f"audit: batch {entry['seq']} claims {claimed} {name} rows, "
                                f"the table holds {got}")
        for seq, count in actual.items():
            problems.append(f"audit: {count} {name} rows come from batch {seq}, which has no entry")

# -- writing ------------------------------------------------------------


def verify_parts(store: ReferenceStore, problems: list[str], checked: dict[str, int]) -> None:
    """Check stones, spectra, images, derived values and the audit log; append problems found."""
    _verify_stones(store, problems, checked)
    ids = store.sample_ids()
    _verify_spectra(store, ids, problems, checked)
    _verify_images(store, ids, problems, checked)
    _verify_derived(store, problems, checked)
    _verify_audit(store, problems, checked)
