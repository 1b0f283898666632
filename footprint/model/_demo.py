"""The demo model: trained on the bundled SYNTHETIC reference set, reproducibly.

``build_demo_model(out_dir)`` writes the bundled synthetic lab files
(:func:`footprint.synth.write_reference_set`, seed 0), loads them into a fresh
reference store (stones, FTIR spectra, photos) and trains a model with seed 0
and the set's site production shares (``site_weights.csv``).
The same code and seed give the same model: the manifest's ``fingerprint``
(a hash of the model's behaviour) is identical run to run, which the tests
check against the committed ``models/demo-synthetic``.

Run ``python -m footprint.model._demo models/demo-synthetic`` to rebuild it.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["DEMO_SEED", "build_demo_model"]

logger = logging.getLogger(__name__)

#: Seed of the bundled synthetic set and of the demo model's training.
DEMO_SEED = 0


def build_demo_model(out_dir: str | Path, *, work_dir: str | Path | None = None,
                     evaluate: bool = False) -> Any:
    """Build the bundled SYNTHETIC store and train the demo model into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Model directory to write.
    work_dir : str or Path, optional
        Where the lab files and the store go (default: a temporary folder,
        removed afterwards).
    evaluate : bool
        Record held-out evaluation figures in the manifest.

    Returns
    -------
    FootprintModel
    """
    from .. import db
    from ..synth import write_reference_set
    from ._train import read_site_weights
    from ._workflow import train

    with tempfile.TemporaryDirectory(prefix="footprint-demo-") as tmp:
        work = Path(work_dir) if work_dir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        files = write_reference_set(work / "set", seed=DEMO_SEED)
        store = work / "reference.h5"
        if store.exists():
            store.unlink()
        db.init(store, by="demo")
        db.add(store, stones=files["stones"], spectra=files["spectra"], images=files["images"], by="demo",
               n_jobs=1)
        config = {"site_weights": read_site_weights(files["site_weights"])}
        model = train(store, config=config, seed=DEMO_SEED, evaluate=evaluate)
        # A store path inside a temporary folder means nothing to a reader of the manifest.
        if work_dir is None:
            model.manifest["source"]["store"] = None
        model.manifest["source"]["description"] = (
            "bundled SYNTHETIC reference set (footprint.synth.write_reference_set, seed 0)")
        model.save(out_dir)
        return model


if __name__ == "__main__":  # pragma: no cover - a maintenance entry point
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    target = sys.argv[1] if len(sys.argv) > 1 else "models/demo-synthetic"
    built = build_demo_model(target, evaluate=True)
    print(f"demo model written to {target} (fingerprint {built.manifest['fingerprint'][:16]}...)")
