"""Train on a reference store: the store-level entry point above training and evaluation.

:func:`train` reads the store, fits the model (:func:`~footprint.model.train_frames`)
and can record the held-out evaluation in the manifest; it lives here, not in
``_train``, so that ``_evaluate`` (which trains on folds) and ``_train`` do not
import each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._data import read_store
from ._evaluate import evaluate_frames
from ._footprint import FootprintModel
from ._train import train_frames

__all__ = ["train"]


def train(
    source: Any,
    *,
    out_dir: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
    seed: int = 0,
    evaluate: bool = False,
) -> FootprintModel:
    """Train a footprint model on a reference store.

    Parameters
    ----------
    source : str, Path or ReferenceStore
        The reference store (a path is opened read-only).
    out_dir : str or Path, optional
        Where to save the artefact (skops model + manifest.json).
    config : mapping, optional
        Overrides of :data:`DEFAULT_CONFIG`.
    seed : int
        Random seed.
    evaluate : bool
        Also run the held-out evaluation and record its figures in the manifest.

    Returns
    -------
    FootprintModel
    """
    data = read_store(source)
    model = train_frames(data["stones"], data["derived_ftir"], data["spectra"], config=config, seed=seed,
                         custom_fields=data["custom_fields"], source=data["source"])
    if evaluate:
        model.manifest["evaluation"] = evaluate_frames(data, config=config, seed=seed, summary_only=True)
    if out_dir is not None:
        model.save(out_dir)
    return model
