"""Model directories: a skops model file plus a manifest, verified on load.

Layout of a model directory::

    model.skops      the fitted pieces, saved with skops (never pickle)
    manifest.json    format, sha256 of model.skops, behaviour fingerprint,
                     store content hash, schema version, package versions,
                     zones, sites, classes, features, thresholds (versioned),
                     evaluation figures, SYNTHETIC flag

Loading checks, in order, and refuses with :class:`ModelIntegrityError`:
the manifest parses and has the expected format; the manifest's ``digest``
matches the manifest itself (tamper evidence over the whole artefact: the
digest covers every manifest entry, thresholds, fingerprint, recipe, source
store hash and the model file's sha256 among them, so editing any of them
or the model file is detected); the model file's sha256 matches; the
schema version matches this code's; the file holds no type outside
:data:`TRUSTED_TYPES` (an explicit allow-list: skops is never asked to
trust "everything"); the loaded zones, classes and features match the
manifest; and, when the caller gives one, the store's content hash matches.

The digest is a SHA-256 of the manifest's canonical JSON (sorted keys, no
spaces) without the ``digest`` entry. With the environment variable
``FOOTPRINT_MODEL_KEY`` set when saving, it is an HMAC-SHA256 under that key
instead (``digest_algorithm: hmac-sha256``), and loading needs the same key:
a plain hash detects any edit made without footprint, a keyed one also
resists someone who recomputes the hash after editing.

The model file's bytes are not reproducible run to run (skops records object
ids), so the manifest also carries ``fingerprint``: a hash of the model's
predictions on its own training data, equal for two trainings with the same
data and seed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._json import jsonable
from ._schema import SCHEMA_VERSION
from .exceptions import ModelIntegrityError

__all__ = [
    "KEY_ENV", "MANIFEST_FORMAT", "MODEL_FILE", "TRUSTED_TYPES", "jsonable", "load_model", "manifest_digest",
    "read_manifest", "save_model",
]

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = "footprint-model/1"
MODEL_FILE = "model.skops"
MANIFEST_FILE = "manifest.json"
#: Environment variable holding an optional key: the manifest digest becomes an HMAC under it.
KEY_ENV = "FOOTPRINT_MODEL_KEY"
#: Manifest entries the digest does not cover (the digest itself).
_UNSIGNED = ("digest", "digest_algorithm")

#: Every non-builtin type a footprint model file may hold. Anything else in a
#: file (a tampered or foreign model) is refused before it is constructed.
TRUSTED_TYPES: tuple[str, ...] = (
    "footprint._features.StoneFeatures",
    "footprint._features.SpectralEmbedding",
    "footprint.model._stone.StoneClassifier",
    "footprint.model._novelty.NoveltyScorer",
    "footprint.model._density.BinnedDensities",
    "footprint.model._joint.JointMixture",
    "footprint.model._joint._Mixtures",
    "sklearn.decomposition._pca.PCA",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "builtins.slice",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "numpy.bool_",
    "numpy.str_",
    "numpy.random._generator.Generator",
    "numpy.random._pcg64.PCG64",
    "numpy.random.mtrand.RandomState",
    "numpy.random.bit_generator.SeedSequence",
    "collections.OrderedDict",
    "builtins.bool",
    "builtins.float",
    "builtins.int",
    "builtins.str",
    "builtins.list",
    "builtins.dict",
    "builtins.tuple",
    "builtins.NoneType",
    "builtins.bytes",
    "numpy.core.multiarray._reconstruct",
)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k not in _UNSIGNED}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def manifest_digest(manifest: dict[str, Any], *, algorithm: str = "sha256", key: str | None = None) -> str:
    """Return the tamper-evidence digest of a manifest (every entry but the digest itself).

    Parameters
    ----------
    manifest : dict
        The manifest as written to (or read from) ``manifest.json``; it holds
        the model file's sha256, so the digest covers the model file too.
    algorithm : {"sha256", "hmac-sha256"}
        Plain SHA-256, or HMAC-SHA256 under ``key``.
    key : str, optional
        The key for ``"hmac-sha256"``.

    Returns
    -------
    str
        Lowercase hex digest.
    """
    import hmac

    data = _canonical(manifest)
    if algorithm == "hmac-sha256":
        if not key:
            raise ModelIntegrityError(f"the model's manifest is signed with a key; set {KEY_ENV} to load it")
        return hmac.new(key.encode("utf-8"), data, hashlib.sha256).hexdigest()
    if algorithm != "sha256":
        raise ModelIntegrityError(f"unknown manifest digest algorithm {algorithm!r}")
    return hashlib.sha256(data).hexdigest()


def _check_digest(manifest: dict[str, Any], path: Path) -> None:
    import hmac

    recorded = manifest.get("digest")
    if not isinstance(recorded, str) or not recorded:
        raise ModelIntegrityError(
            f"{path}: the manifest carries no digest (saved by a footprint older than 0.1 tamper evidence, "
            "or the digest was removed); refusing to load it - retrain, or re-save it with a footprint "
            "that signs manifests")
    algorithm = str(manifest.get("digest_algorithm", "sha256"))
    try:
        expected = manifest_digest(manifest, algorithm=algorithm, key=os.environ.get(KEY_ENV))
    except ValueError as exc:  # allow_nan=False: a NaN or inf typed into the manifest
        raise ModelIntegrityError(f"{path}: the manifest holds a value JSON does not allow ({exc})") from None
    if not hmac.compare_digest(expected, recorded):
        raise ModelIntegrityError(
            f"{path}: the manifest's digest does not match its content: the manifest (thresholds, "
            "fingerprint, recipe, hashes...) was changed after the model was saved; refusing to load it")


_SKOPS_IMPORT = threading.Lock()


def _skops_io() -> Any:
    """Return ``skops.io``, imported without scikit-learn's estimator discovery.

    On import, skops builds a default trust list of every public scikit-learn
    estimator with ``sklearn.utils.all_estimators``, which imports every
    scikit-learn module (and, through them, pytest and dask): over a CPU
    second that every ``classify`` run paid before its first stone.
    footprint never relies on that default: every type a model file holds
    must be in :data:`TRUSTED_TYPES` (see :func:`load_model`). So while this
    function first imports ``skops.io``, ``all_estimators`` answers with the
    scikit-learn estimators :data:`TRUSTED_TYPES` names only: skops's default
    list is then a subset of footprint's allow-list, and any other estimator
    in a file is reported untrusted and refused. Loading trusts nothing more
    than before (less, when this import comes first). If ``skops.io`` was
    already imported elsewhere, it is returned as it is.
    """
    loaded = sys.modules.get("skops.io")
    if loaded is not None:
        return loaded
    with _SKOPS_IMPORT:
        import sklearn.utils

        original = sklearn.utils.all_estimators
        sklearn.utils.all_estimators = _trusted_estimators
        try:
            import skops.io as sio
        finally:
            sklearn.utils.all_estimators = original
    return sio


def _trusted_estimators(type_filter: Any = None) -> list[tuple[str, type]]:
    """``all_estimators`` narrowed to the public scikit-learn estimators in :data:`TRUSTED_TYPES`."""
    import importlib

    from sklearn.base import BaseEstimator

    found = []
    for name in TRUSTED_TYPES:
        if not name.startswith("sklearn."):
            continue
        module, _, attr = name.rpartition(".")
        obj = getattr(importlib.import_module(module), attr, None)
        if isinstance(obj, type) and issubclass(obj, BaseEstimator) and not attr.startswith("_"):
            found.append((attr, obj))
    return sorted(found, key=lambda pair: pair[0])


def _versions() -> dict[str, str]:
    import numpy
    import pandas
    import scipy
    import sklearn
    import skops

    from ._version import __version__

    return {"footprint": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "pandas": pandas.__version__, "scikit-learn": sklearn.__version__,
            "skops": skops.__version__}


def save_model(model: Any, directory: str | Path) -> Path:
    """Write ``model`` (a FootprintModel) to ``directory``; return the directory.

    The model file is written first and the manifest last, each through a
    temporary file renamed into place, so a killed save never leaves a
    manifest that vouches for a half-written model.
    """
    sio = _skops_io()

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    data = sio.dumps(model.parts())
    _atomic_write(out / MODEL_FILE, data)
    manifest = dict(model.manifest)
    manifest.update({
        "format": MANIFEST_FORMAT,
        "model_file": MODEL_FILE,
        "model_sha256": hashlib.sha256(data).hexdigest(),
        "schema_version": SCHEMA_VERSION,
        "packages": _versions(),
        "saved_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "zones": list(model.zones),
        "sites": [list(s) for s in model.sites],
        "features": list(model.feature_names),
        "thresholds": dict(model.thresholds),
        "thresholds_version": str(model.thresholds.get("version", "")),
        "trusted_types": list(TRUSTED_TYPES),
    })
    if manifest.get("synthetic"):
        manifest["label"] = "SYNTHETIC: trained on synthetic reference data; not for real KP decisions"
    manifest = jsonable({k: v for k, v in manifest.items() if k not in _UNSIGNED})
    key = os.environ.get(KEY_ENV)
    algorithm = "hmac-sha256" if key else "sha256"
    manifest["digest"] = manifest_digest(manifest, algorithm=algorithm, key=key)
    manifest["digest_algorithm"] = algorithm
    text = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    _atomic_write(out / MANIFEST_FILE, text.encode("utf-8"))
    model.manifest = manifest
    logger.info("model saved to %s", out)
    return out


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a model directory is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """Read and check the manifest of a model directory (no model loading)."""
    path = Path(directory) / MANIFEST_FILE
    if not path.is_file():
        raise ModelIntegrityError(f"{directory}: not a footprint model directory (no {MANIFEST_FILE})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelIntegrityError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ModelIntegrityError(f"{path}: manifest format is not {MANIFEST_FORMAT}")
    return manifest


def load_model(directory: str | Path, build: Callable[..., Any], *, store_hash: str | None = None) -> Any:
    """Load a model directory, verifying it; return the model ``build`` makes of it.

    Parameters
    ----------
    directory : str or Path
        The model directory.
    build : callable
        ``build(parts, thresholds, manifest)`` makes the model from the loaded
        parts (``FootprintModel`` passes itself), so this module knows no model
        class and imports nothing above it.
    store_hash : str, optional
        Content hash of the store the caller means to use the model with; a
        model trained on other data is refused.

    Raises
    ------
    ModelIntegrityError
        Tampered, incomplete or mismatched model (see module docs).
    """
    sio = _skops_io()

    directory = Path(directory)
    manifest = read_manifest(directory)
    _check_digest(manifest, directory / MANIFEST_FILE)
    model_path = directory / str(manifest.get("model_file", MODEL_FILE))
    if not model_path.is_file():
        raise ModelIntegrityError(f"{model_path}: model file missing")
    actual = _sha256_file(model_path)
    if actual != manifest.get("model_sha256"):
        raise ModelIntegrityError(
            f"{model_path}: sha256 {actual[:16]}... does not match the manifest's "
            f"{str(manifest.get('model_sha256'))[:16]}...: the model file was changed after it was saved; "
            "refusing to load it")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise ModelIntegrityError(
            f"{directory}: model built for schema v{manifest.get('schema_version')}, this footprint reads "
            f"schema v{SCHEMA_VERSION}; retrain the model")
    if store_hash is not None:
        expected = manifest.get("source", {}).get("content_hash")
        if expected and expected != store_hash:
            raise ModelIntegrityError(
                f"{directory}: trained on store content {expected[:16]}..., not on this store "
                f"({store_hash[:16]}...); retrain or pass the matching store")
    data = model_path.read_bytes()
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # a damaged zip or schema: the file is not a model we wrote
        raise ModelIntegrityError(f"{model_path}: not a readable skops file ({exc})") from None
    foreign = sorted(untrusted - set(TRUSTED_TYPES))
    if foreign:
        raise ModelIntegrityError(
            f"{model_path}: holds types outside footprint's allow-list ({', '.join(foreign)}); "
            "refusing to load")
    parts = sio.loads(data, trusted=sorted(untrusted))
    packages = manifest.get("packages", {})
    import sklearn

    if packages.get("scikit-learn") and packages["scikit-learn"] != sklearn.__version__:
        logger.warning("model saved with scikit-learn %s, running %s: predictions may differ slightly",
                       packages["scikit-learn"], sklearn.__version__)
    model = build(parts, manifest.get("thresholds", {}), manifest)
    if list(model.zones) != list(manifest.get("zones", [])) or \
            [list(s) for s in model.sites] != [list(s) for s in manifest.get("sites", [])] or \
            list(model.feature_names) != list(manifest.get("features", [])):
        raise ModelIntegrityError(
            f"{directory}: the model's zones, sites or features differ from its manifest")
    return model
