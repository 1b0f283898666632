"""Origin assessment: calibrated stone model, site-aware parcel likelihoods, verdicts.

- :func:`train` / :func:`train_frames` learn a :class:`FootprintModel` from a
  reference store or from frames;
- :meth:`FootprintModel.assess` / :meth:`FootprintModel.assess_batch` assess
  parcels (posterior per zone, log10 LR, foreign fraction with interval,
  unknown-origin p-value, verdict);
- :func:`evaluate` measures everything on held-out lots;
- :func:`explain_fields` gives the per-field evidence of assessed parcels
  (which fields move the evidence most);
- :func:`read_site_weights` reads sites' production shares (the prior of the
  site mixture, ``config={"site_weights": ...}``);
- :func:`build_demo_model` rebuilds ``models/demo-synthetic`` from the bundled
  SYNTHETIC set (reproducible: same behaviour fingerprint);
- :class:`StoneClassifier` and :class:`NoveltyScorer` are the scikit-learn
  estimators underneath.

Names are imported on first use (PEP 562): ``classify`` needs only
:class:`FootprintModel`, not the training and evaluation code (and scipy.stats
behind it), and every forked worker and CLI start-up pays for what it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_namespace

_WHERE = {
    "DEFAULT_CONFIG": "._train",
    "VERDICTS": "._verdict",
    "FootprintModel": "._footprint",
    "NoveltyScorer": "._novelty",
    "ParcelAssessment": "._assessment",
    "StoneClassifier": "._stone",
    "build_demo_model": "._demo",
    "evaluate": "._evaluate",
    "evaluate_frames": "._evaluate",
    "explain_fields": "._explain",
    "load_thresholds": "._verdict",
    "mixed_alpha_at": "._verdict",
    "unknown_alphas": "._verdict",
    "read_site_weights": "._train",
    "train": "._workflow",
    "train_frames": "._train",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ does this lazily
    from ._assessment import ParcelAssessment as ParcelAssessment
    from ._demo import build_demo_model as build_demo_model
    from ._evaluate import evaluate as evaluate
    from ._evaluate import evaluate_frames as evaluate_frames
    from ._explain import explain_fields as explain_fields
    from ._footprint import FootprintModel as FootprintModel
    from ._novelty import NoveltyScorer as NoveltyScorer
    from ._stone import StoneClassifier as StoneClassifier
    from ._train import DEFAULT_CONFIG as DEFAULT_CONFIG
    from ._train import read_site_weights as read_site_weights
    from ._train import train_frames as train_frames
    from ._verdict import VERDICTS as VERDICTS
    from ._verdict import load_thresholds as load_thresholds
    from ._verdict import mixed_alpha_at as mixed_alpha_at
    from ._verdict import unknown_alphas as unknown_alphas
    from ._workflow import train as train


# The one listing of the public API is _WHERE; the TYPE_CHECKING block mirrors it for static tools
# (tests/test_api.py fails when the two differ).
__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_namespace(__name__, _WHERE, __all__)
