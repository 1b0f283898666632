"""Read what training and evaluation need from a reference store (or pass frames through)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import InputError, StoreError

__all__ = ["read_store"]


def read_store(source: Any) -> dict[str, Any]:
    """Return ``stones``, ``derived_ftir``, ``spectra`` (kind -> matrix), ``custom_fields``, ``source``.

    Parameters
    ----------
    source : str, Path, ReferenceStore or dict
        A store path (opened read-only), an open store, or an already-read
        mapping with the same keys (returned as it is).
    """
    if isinstance(source, dict):
        return source
    from ..store import ReferenceStore

    if isinstance(source, ReferenceStore):
        return _read(source)
    path = Path(source)
    if not path.exists():
        raise StoreError(f"{path}: no such reference store")
    with ReferenceStore.open(path, mode="r") as store:
        return _read(store)


def _read(store: Any) -> dict[str, Any]:
    stones = store.stones()
    derived = store.derived_ftir()
    info = store.info()
    spectra = {}
    for kind, count in sorted(info.get("spectra", {}).items()):
        if count:
            try:
                spectra[kind] = store.spectra_matrix(kind)
            except InputError:  # a kind without a common grid has no embedding
                continue
    custom = [f.name for f in store.custom_fields() if f.kind in ("number", "integer")]
    return {
        "stones": stones,
        "derived_ftir": derived if isinstance(derived, pd.DataFrame) and len(derived) else None,
        "spectra": spectra,
        "custom_fields": tuple(custom),
        "source": {"store": str(getattr(store, "path", "")), "content_hash": store.content_hash(),
                   "synthetic": bool(store.is_synthetic), "schema_version": info.get("schema_version")},
    }
