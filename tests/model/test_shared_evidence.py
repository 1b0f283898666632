"""The batch path that shares the per-field densities gives the classifier's own numbers exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from footprint.model import FootprintModel
from footprint.synth import generate_parcels, load_params

DEMO = Path(__file__).resolve().parents[2] / "models" / "demo-synthetic"


def test_shared_density_path_matches_the_classifier_with_pair_terms() -> None:
    model = FootprintModel.load(DEMO)
    assert model.classifier.pair_scores(np.zeros((0, model.classifier.n_features_in_))) is not None, \
        "the demo model models a categorical pair (colour x morphology): the case this test is about"
    stones, _ = generate_parcels(load_params(), seed=5, n_parcels=6, size_range=(20, 60))
    X = model.matrix(stones)
    assert model._shares_densities()
    log_p, sums, _, _ = model._stone_evidence(X)
    assert np.allclose(log_p, model.classifier.predict_log_proba(X), rtol=0, atol=1e-12)
    assert np.allclose(sums, model.novelty.site_sums(X), rtol=0, atol=1e-9)
