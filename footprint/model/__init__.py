"""Origin assessment: calibrated stone model, site-aware parcel likelihoods, verdicts.

- :func:`train` / :func:`train_frames` learn a :class:`FootprintModel` from a
  reference store or from frames;
- :meth:`FootprintModel.assess` / :meth:`FootprintModel.assess_batch` assess
  parcels (posterior per zone, log10 LR, foreign fraction with interval,
  unknown-origin p-value, verdict);
- :func:`evaluate` measures everything on held-out lots;
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
    "read_site_weights",
    "train",
    "train_frames",
]

_WHERE = {
    "DEFAULT_CONFIG": "._train",
    "VERDICTS": "._verdict",
    "FootprintModel": "._footprint",
    "NoveltyScorer": "._novelty",
    "ParcelAssessment": "._footprint",
    "StoneClassifier": "._stone",
    "build_demo_model": "._demo",
    "evaluate": "._evaluate",
    "evaluate_frames": "._evaluate",
    "load_thresholds": "._verdict",
    "read_site_weights": "._train",
    "train": "._workflow",
    "train_frames": "._train",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ does this lazily
    from ._demo import build_demo_model
    from ._evaluate import evaluate, evaluate_frames
    from ._footprint import FootprintModel, ParcelAssessment
    from ._novelty import NoveltyScorer
    from ._stone import StoneClassifier
    from ._train import DEFAULT_CONFIG, read_site_weights, train_frames
    from ._verdict import VERDICTS, load_thresholds
    from ._workflow import train


__getattr__, __dir__ = lazy_namespace(__name__, _WHERE, __all__)
