"""Content digests of the reference store, in a hash chain: what every commit wrote, sealed.

HDF5's fletcher32 checksums catch damaged chunks, not edits: a value
changed with h5py gets a fresh, valid checksum. So every commit (the store's
creation, each batch, each custom field) appends one *seal* to the
``/integrity`` group, recording

* ``datasets``: for every dataset that grew, the rows it gained
  (``[start, stop]``) and a SHA-256 of their logical values (text as UTF-8
  strings, so widening a text column does not change it; numbers as
  little-endian bytes);
* ``rows``: every dataset's row count after the commit;
* ``whole``: a SHA-256 of the whole content of datasets rewritten in place
  (``/meta/*``, e.g. the custom field definitions);
* ``attrs``: a SHA-256 of the attributes of every group and dataset (units,
  kinds, descriptions, format and schema versions);
* ``prev`` and ``chain``: the previous seal's ``chain`` and
  ``SHA-256(prev + this seal's canonical JSON)``, so no seal can be changed,
  dropped or reordered without breaking every later one.

:func:`verify_seals` recomputes all of it from the file and names what
changed (``stones/mass_ct: rows 1-3 written by commit 2 changed``), rows or
datasets that no commit wrote, and broken links of the chain.

A store written before seals existed has no ``/integrity`` group: it is
*legacy*. It still opens and verifies with the older checks; sealing it
(:func:`seal_legacy`, ``footprint db verify --seal``) runs those checks and
then records the current content as the first seal, so later edits are
caught. The seal says it vouches only for the content as found at that time.

The group ``/integrity`` itself is not covered by the digests (it holds
them); its seals are covered by the chain.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import h5py
import numpy as np

__all__ = [
    "INTEGRITY_GROUP",
    "LEGACY_MESSAGE",
    "audit_cell",
    "chain_head",
    "is_sealed",
    "seal",
    "seal_last_commit",
    "seal_legacy",
    "verify_seals",
]

INTEGRITY_GROUP = "integrity"
#: Groups whose datasets are rewritten in place rather than appended to.
_WHOLE_GROUPS = ("meta",)
_GENESIS = "0" * 64


def is_sealed(fh: h5py.File) -> bool:
    """Whether the store records content digests (False: a legacy store)."""
    return INTEGRITY_GROUP in fh and "record" in fh[INTEGRITY_GROUP]


def _walk(fh: h5py.File) -> tuple[dict[str, h5py.Dataset], dict[str, Any]]:
    """Return ``(datasets, objects)`` outside ``/integrity``; objects are the root, groups and datasets."""
    datasets: dict[str, h5py.Dataset] = {}
    objects: dict[str, Any] = {"/": fh}

    def visit(name: str, obj: Any) -> None:
        if name == INTEGRITY_GROUP or name.startswith(INTEGRITY_GROUP + "/"):
            return
        objects[name] = obj
        if isinstance(obj, h5py.Dataset):
            datasets[name] = obj

    fh.visititems(visit)
    return datasets, objects


def _rows_digest(ds: h5py.Dataset, start: int, stop: int) -> str:
    """SHA-256 of rows ``start:stop`` of a dataset, by logical value (independent of storage width)."""
    digest = hashlib.sha256()
    digest.update(f"{ds.ndim}:{ds.shape[1:]}:".encode())
    if ds.ndim == 0:
        values = np.asarray(ds[()])
    elif stop > start:
        values = ds[start:stop]
    else:
        values = np.empty((0, *ds.shape[1:]), dtype=ds.dtype)
    values = np.asarray(values)
    if values.dtype.kind in "SO":
        cells = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in values.ravel().tolist()]
        digest.update(b"text:")
        digest.update(np.array([len(c) for c in cells], dtype="<i8").tobytes())
        digest.update(b"".join(cells))
    else:
        digest.update(f"{values.dtype.kind}{values.dtype.itemsize}:".encode())
        digest.update(np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes())
    return digest.hexdigest()


def _attr_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_attr_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _attrs_digest(obj: Any) -> str:
    attrs = {str(k): _attr_value(v) for k, v in obj.attrs.items()}
    text = json.dumps(attrs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_whole(name: str, ds: h5py.Dataset) -> bool:
    return ds.ndim == 0 or name.split("/", 1)[0] in _WHOLE_GROUPS


def _records(fh: h5py.File) -> list[dict[str, Any]]:
    if not is_sealed(fh):
        return []
    raw = fh[INTEGRITY_GROUP]["record"][()]
    return [json.loads(r.decode("utf-8") if isinstance(r, bytes) else str(r)) for r in raw]


def _last_record(fh: h5py.File) -> dict[str, Any] | None:
    if not is_sealed(fh):
        return None
    ds = fh[INTEGRITY_GROUP]["record"]
    if not ds.shape[0]:
        return None
    raw = ds[-1]
    record: dict[str, Any] = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
    return record


def _canonical(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k != "chain"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _link(prev: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(prev.encode("ascii") + _canonical(record)).hexdigest()


def chain_head(fh: h5py.File) -> str | None:
    """Return the ``chain`` digest of the last seal (None for a legacy store)."""
    last = _last_record(fh)
    return str(last["chain"]) if last else None


def seal(fh: h5py.File, *, seq: int, kind: str, when_utc: str, by: str, note: str | None = None) -> str:
    """Append the seal of the commit just written into ``fh`` (a writable file); return its chain digest.

    Parameters
    ----------
    fh : h5py.File
        The store's private copy, after the commit's writes (audit row included).
    seq : int
        Audit sequence number of the commit.
    kind : str
        ``"init"``, ``"batch"``, ``"add_field"`` or ``"legacy_seal"``.
    when_utc, by : str
        When and by whom (as in the audit row).
    note : str, optional
        Free text kept in the seal (the legacy seal says what it vouches for).
    """
    previous: dict[str, Any] = _last_record(fh) or {"rows": {}, "chain": _GENESIS, "seal": -1}
    prev_rows: dict[str, int] = dict(previous.get("rows", {}))
    datasets, objects = _walk(fh)
    ranges: dict[str, list[Any]] = {}
    rows: dict[str, int] = {}
    whole: dict[str, str] = {}
    for name, ds in sorted(datasets.items()):
        if _is_whole(name, ds):
            whole[name] = _rows_digest(ds, 0, ds.shape[0] if ds.ndim else 0)
            continue
        n = int(ds.shape[0])
        start = int(prev_rows.get(name, 0))
        rows[name] = n
        if n != start or name not in prev_rows:
            if n < start:  # a commit never shrinks a table; record it so verify reports it
                start = 0
            ranges[name] = [start, n, _rows_digest(ds, start, n)]
    # A commit sets attributes only on what it creates (a widened text column is re-created with its
    # attributes unchanged), on in-place datasets, groups and the root: those are hashed again, the
    # others carried over from the previous seal (verify_seals hashes every object's attributes).
    attrs: dict[str, str] = dict(previous.get("attrs", {}))
    for name, obj in objects.items():
        if name not in attrs or name in whole or not isinstance(obj, h5py.Dataset):
            attrs[name] = _attrs_digest(obj)
    for name in set(attrs) - set(objects):
        del attrs[name]
    record: dict[str, Any] = {
        "seal": int(previous["seal"]) + 1, "seq": int(seq), "kind": kind, "when_utc": when_utc, "by": by,
        "datasets": ranges, "rows": rows, "whole": whole, "attrs": dict(sorted(attrs.items())),
        "prev": previous["chain"],
    }
    if note:
        record["note"] = note
    record["chain"] = _link(record["prev"], record)
    group = fh.require_group(INTEGRITY_GROUP)
    text = json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
    if "record" not in group:
        group.attrs["description"] = ("one seal per commit: content digests of what it wrote, in a hash "
                                      "chain (footprint/_integrity.py)")
        group.create_dataset("record", data=np.array([text], dtype=object),
                             dtype=h5py.string_dtype("utf-8"), maxshape=(None,), chunks=(64,))
    else:
        ds = group["record"]
        ds.resize((ds.shape[0] + 1,))
        ds[-1] = text
    return str(record["chain"])


def seal_legacy(fh: h5py.File, *, seq: int, when_utc: str, by: str) -> str:
    """Seal a legacy store's current content as its first seal; return the chain digest."""
    if is_sealed(fh):
        raise ValueError("the store is already sealed")
    return seal(fh, seq=seq, kind="legacy_seal", when_utc=when_utc, by=by,
                note="sealed an existing store written before content digests; vouches for its content "
                     "as found (after the older checks passed) at this time, not for its earlier history")


def verify_seals(fh: h5py.File) -> tuple[list[str], dict[str, Any]]:
    """Recompute every seal from the file; return ``(problems, info)``.

    ``problems`` names each changed dataset with the commit that wrote the
    changed rows, rows and datasets no commit wrote, changed attributes, and
    broken links of the chain; ``info`` holds ``sealed`` (False: legacy),
    ``seals`` (count) and ``chain`` (the head digest).
    """
    records = _records(fh)
    if not records:
        return [], {"sealed": False, "seals": 0, "chain": None}
    problems: list[str] = []
    datasets, objects = _walk(fh)
    prev = _GENESIS
    expected_rows: dict[str, int] = {}
    for i, record in enumerate(records):
        label = f"commit {record.get('seq')} ({record.get('kind')}, {record.get('when_utc')})"
        if record.get("seal") != i or record.get("prev") != prev:
            problems.append(f"integrity: seal {i} does not follow seal {i - 1} "
                            "(the chain was cut or reordered)")
        if _link(str(record.get("prev")), record) != record.get("chain"):
            problems.append(f"integrity: seal {i} of {label} was altered (its chain digest does not match)")
        prev = str(record.get("chain"))
        for name, (start, stop, digest) in record.get("datasets", {}).items():
            ds = datasets.get(name)
            if ds is None:
                problems.append(f"{name}: dataset written by {label} is missing")
                continue
            if ds.shape[0] < stop:
                problems.append(f"{name}: rows {start + 1}-{stop} written by {label} are gone "
                                f"(the dataset has {ds.shape[0]} rows)")
                continue
            if _rows_digest(ds, start, stop) != digest:
                problems.append(f"{name}: {_rows_text(start, stop)} written by {label} changed")
        expected_rows = {str(k): int(v) for k, v in record.get("rows", {}).items()}
    last = records[-1]
    for name, ds in sorted(datasets.items()):
        if _is_whole(name, ds):
            recorded = last.get("whole", {}).get(name)
            if recorded is None:
                problems.append(f"{name}: dataset not written by any recorded commit")
            elif _rows_digest(ds, 0, ds.shape[0] if ds.ndim else 0) != recorded:
                problems.append(f"{name}: content changed since the last commit ({_last(last)})")
            continue
        if name not in expected_rows:
            problems.append(f"{name}: dataset not written by any recorded commit")
        elif ds.shape[0] > expected_rows[name]:
            problems.append(f"{name}: {ds.shape[0] - expected_rows[name]} row(s) added outside any recorded "
                            "commit")
    for name in sorted(set(last.get("whole", {})) - set(datasets)):
        problems.append(f"{name}: dataset removed after the last commit")
    attrs_now = {name: _attrs_digest(obj) for name, obj in objects.items()}
    attrs_then: dict[str, str] = last.get("attrs", {})
    for name in sorted(set(attrs_now) | set(attrs_then)):
        if name not in attrs_then:
            if name in datasets or name == "/":
                problems.append(f"{name}: attributes of an object no commit wrote")
        elif name not in attrs_now:
            if name not in datasets and name not in last.get("whole", {}):
                problems.append(f"{name}: group removed after the last commit")
        elif attrs_now[name] != attrs_then[name]:
            problems.append(f"{name}: attributes (units, kinds, descriptions or versions) changed since the "
                            f"last commit ({_last(last)})")
    return problems, {"sealed": True, "seals": len(records), "chain": prev}


def _rows_text(start: int, stop: int) -> str:
    return f"row {stop}" if stop - start == 1 else f"rows {start + 1}-{stop}"


def _last(record: dict[str, Any]) -> str:
    return f"commit {record.get('seq')}, {record.get('when_utc')}"


#: What ``verify`` says of a store without content seals.
LEGACY_MESSAGE = ("{path}: legacy store without content digests: edits made outside footprint cannot be "
                  "detected; seal it once with `footprint db verify {path} --seal`")


def audit_cell(fh: h5py.File, column: str) -> str:
    """Return ``column`` of the store's last audit row as text."""
    raw = fh["audit"][column][-1]
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


def seal_last_commit(fh: h5py.File) -> None:
    """Seal what the commit just written into ``fh`` changed (its audit row is the last one)."""
    seal(fh, seq=int(fh["audit"]["seq"][-1]), kind=audit_cell(fh, "kind"),
         when_utc=audit_cell(fh, "when_utc"), by=audit_cell(fh, "by"))
