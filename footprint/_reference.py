"""Reference data for the classify report, read from the reference store.

The report draws each parcel against its reference footprints, lists the
reference set sizes and shows thumbnails of the nearest reference lots; all
of that comes from the store the model was trained on. The store is the one
given with ``--db``, else the path recorded in the model manifest; when
neither is available the report says so and leaves those panels out.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["manifest_store_hash", "manifest_store_path", "reference_for_report"]

#: Thumbnails kept per reference lot (the report shows up to three).
THUMBS_PER_LOT = 3


def _walk(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            items.extend(_walk(value, name + "."))
        else:
            items.append((name.lower(), value))
    return items


def _recorded(manifest: Mapping[str, Any], source_key: str, wanted: Callable[[str, str], bool]) -> str | None:
    """Return ``manifest["source"][source_key]``, else the first string in the manifest ``wanted`` accepts.

    ``wanted`` gets the dotted, lower-case key and the string value.
    """
    source = manifest.get("source")
    if isinstance(source, Mapping) and isinstance(source.get(source_key), str):
        return source[source_key]
    for key, value in _walk(manifest):
        if isinstance(value, str) and wanted(key, value):
            return value
    return None


def manifest_store_hash(manifest: Mapping[str, Any]) -> str | None:
    """Return the reference store's content hash recorded in a model manifest, if any."""
    return _recorded(manifest, "content_hash", lambda key, _value: "store" in key and "hash" in key)


def manifest_store_path(manifest: Mapping[str, Any]) -> str | None:
    """Return the reference store path recorded in a model manifest, if any."""
    return _recorded(
        manifest,
        "store",
        lambda key, value: (
            "store" in key and key.endswith(("path", "store")) and value.endswith((".h5", ".hdf5", ".fpdb"))
        ),
    )


def reference_for_report(
    db: str | os.PathLike[str] | None, model: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Collect reference footprints, sizes, lots and thumbnails for the report.

    Parameters
    ----------
    db : path or None
        Reference store; ``None`` uses the manifest's recorded path.
    model : FootprintModel
        The model (its manifest gives the store hash it was trained on).

    Returns
    -------
    reference : dict
        ``by_zone``, ``sizes``, ``lots``, ``thumbnails``, ``bands`` (the
        lot-to-lot variation of each zone, :func:`footprint._profile.lot_bands`);
        empty without a store.
    store_meta : dict
        ``path``, ``content_hash``, ``model_store_hash``, ``matches_model``,
        ``synthetic``.
    """
    from ._profile import lot_bands, lot_vectors, reference_sizes, summarise

    manifest = dict(getattr(model, "manifest", {}) or {})
    trained_on = manifest_store_hash(manifest)
    meta: dict[str, Any] = {"model_store_hash": trained_on}
    path = os.fspath(db) if db is not None else manifest_store_path(manifest)
    if path is None or not Path(path).exists():
        meta["path"] = path or "none"
        return {}, meta
    from ._features import reference_stones
    from .store import ReferenceStore

    with ReferenceStore.open(path, mode="r") as store:
        stones = reference_stones(store)
        content_hash = store.content_hash()
        synthetic = bool(store.is_synthetic)
        lots = lot_vectors(stones)
        wanted = {s for ids in lots["sample_ids"] for s in list(ids)[:THUMBS_PER_LOT]} if len(lots) else set()
        thumbnails: dict[str, str] = {}
        for record in sorted(store.images(), key=lambda r: (r.sample_id, r.view)):
            if record.sample_id in wanted and record.sample_id not in thumbnails:
                thumbnails[record.sample_id] = f"data:{record.mime_type};base64," + base64.b64encode(
                    record.data
                ).decode("ascii")
    meta.update(
        path=path,
        content_hash=content_hash,
        synthetic=synthetic,
        matches_model=(trained_on == content_hash) if trained_on else None,
    )
    by_zone = {str(z): summarise(g, label=str(z)) for z, g in stones.groupby("zone", sort=True)}
    reference = {"by_zone": by_zone, "sizes": reference_sizes(stones), "lots": lots, "thumbnails": thumbnails,
                 "bands": lot_bands(stones)}
    return reference, meta
