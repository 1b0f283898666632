"""Origin assessment: calibrated stone model, site-aware parcel likelihoods, verdicts.

- :func:`train` / :func:`train_frames` learn a :class:`FootprintModel` from a
  reference store or from frames;
- :meth:`FootprintModel.assess` / :meth:`FootprintModel.assess_batch` assess
  parcels (posterior per zone, log10 LR, foreign fraction with interval,
  unknown-origin p-value, verdict);
- :func:`evaluate` measures everything on held-out lots;
- :func:`build_demo_model` rebuilds ``models/demo-synthetic`` from the bundled
  SYNTHETIC set (reproducible: same behaviour fingerprint);
- :class:`StoneClassifier` and :class:`NoveltyScorer` are the scikit-learn
  estimators underneath.
"""

from ._demo import build_demo_model
from ._evaluate import evaluate, evaluate_frames
from ._footprint import FootprintModel, ParcelAssessment
from ._novelty import NoveltyScorer
from ._stone import StoneClassifier
from ._train import DEFAULT_CONFIG, train, train_frames
from ._verdict import VERDICTS, load_thresholds

__all__ = [
    "DEFAULT_CONFIG",
    "VERDICTS",
    "FootprintModel",
    "NoveltyScorer",
    "ParcelAssessment",
    "StoneClassifier",
    "build_demo_model",
    "evaluate",
    "evaluate_frames",
    "load_thresholds",
    "train",
    "train_frames",
]
